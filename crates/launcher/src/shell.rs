//! `varmor-run --shell-init SHELL`: shell functions that run each profile's `wraps:`
//! commands confined (`curl` becomes `varmor-run --profile nocurl -- curl "$@"`).
//!
//! Functions, not aliases, so every argument passes through exactly and the exit status
//! is the target's. The body calls `command varmor-run`, so a function can never call
//! itself, and varmor-run execs the real binary found on PATH. `command curl` bypasses
//! the function.

use std::fmt::Write;

use varmor_core::cli::Shell;
use varmor_core::profile::{lookup, parse_file};

/// The launcher the functions (and .desktop overrides) call: `$VARMOR_RUN` when set,
/// else `varmor-run` found on PATH.
pub fn program() -> String {
    std::env::var("VARMOR_RUN")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "varmor-run".into())
}

/// Words a function must never take over: shell keywords, and the builtins this
/// mechanism (or the shell itself) relies on.
const RESERVED: &[&str] = &[
    "if",
    "then",
    "else",
    "elif",
    "fi",
    "case",
    "esac",
    "for",
    "select",
    "while",
    "until",
    "do",
    "done",
    "in",
    "function",
    "time",
    "coproc",
    "begin",
    "end",
    "switch",
    "not",
    "and",
    "or",
    "return",
    "break",
    "continue",
    "command",
    "builtin",
    "exec",
    "eval",
    "source",
    "set",
    "cd",
    "exit",
    "alias",
    "unalias",
    "unset",
    "export",
    "local",
    "declare",
    "typeset",
    "functions",
    "emit",
    "status",
    "varmor-run",
    "varmord",
];

/// Why `cmd` cannot be wrapped, if it cannot.
fn bad_command(cmd: &str) -> Option<&'static str> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '+' | '-');
    if cmd.is_empty() || cmd.len() > 64 || !cmd.chars().all(ok_char) {
        return Some("not a command name (letters, digits, `_`, `.`, `+`, `-`; no path)");
    }
    if cmd.starts_with(['-', '.', '+']) {
        return Some("a command name cannot start with `-`, `.` or `+`");
    }
    if RESERVED.contains(&cmd) {
        return Some("a shell keyword or builtin, or varmor itself");
    }
    None
}

/// `s` as one bash/zsh word.
fn sh_quote(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_./+-:=@%,".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// `s` as one fish word (inside fish's single quotes only `\\` and `\'` are escapes).
fn fish_quote(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_./+-:=@%,".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\\', r"\\").replace('\'', r"\'"))
    }
}

/// One line of text fit for a `#` comment.
fn comment(s: &str) -> String {
    let one: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    format!("# {}\n", one.trim_end())
}

fn header(shell: Shell, prog: &str) -> String {
    let (name, load) = match shell {
        Shell::Bash => (
            "bash",
            "in ~/.bashrc: eval \"$(varmor-run --shell-init bash)\"",
        ),
        Shell::Zsh => (
            "zsh",
            "in ~/.zshrc: eval \"$(varmor-run --shell-init zsh)\"",
        ),
        Shell::Fish => (
            "fish",
            "in ~/.config/fish/config.fish: varmor-run --shell-init fish | source",
        ),
    };
    let mut s = comment(&format!(
        "varmor-run --shell-init {name}: each command a profile lists under `wraps:` runs confined by that profile."
    ));
    s += &comment(&format!("Load it {load}"));
    s += &comment(&format!(
        "Each function runs: {prog} --profile PROFILE -- COMMAND ARGS..."
    ));
    s += &comment(
        "Escape hatch: `command curl ...` runs the real, unconfined binary (bypasses the function).",
    );
    s
}

/// A function named `cmd` that runs `prog --profile profile -- cmd ARGS`.
fn function(shell: Shell, prog: &str, profile: &str, cmd: &str) -> String {
    match shell {
        Shell::Bash | Shell::Zsh => format!(
            "function {cmd} {{ command {} --profile {} -- {cmd} \"$@\"; }}\n",
            sh_quote(prog),
            sh_quote(profile)
        ),
        Shell::Fish => format!(
            "function {cmd} --description {}\n    command {} --profile {} -- {cmd} $argv\nend\n",
            fish_quote(&format!("{cmd}, confined by varmor-run profile {profile}")),
            fish_quote(prog),
            fish_quote(profile)
        ),
    }
}

/// The text to `eval` (bash, zsh) or `source` (fish) in `shell`'s rc file.
pub fn init_script(shell: Shell) -> String {
    let prog = program();
    let mut out = header(shell, &prog);
    // command -> profile that wraps it (first in lookup order wins)
    let mut taken: Vec<(String, String)> = Vec::new();
    for l in lookup::list().into_iter().filter(|l| !l.shadowed) {
        let pf = match parse_file(&l.path) {
            Ok(pf) => pf,
            Err(e) => {
                out += &comment(&format!("skipped profile {}: {e}", l.name));
                continue;
            }
        };
        if pf.raw.wraps.is_empty() {
            continue;
        }
        // By name when the name finds this very file, else by path.
        let by_name = lookup::resolve(&l.name, None).is_ok_and(|p| p == l.path);
        let profile = if by_name {
            l.name.clone()
        } else {
            l.path.display().to_string()
        };
        let _ = writeln!(out, "\n# profile {} ({})", l.name, l.path.display());
        for cmd in &pf.raw.wraps {
            if let Some(why) = bad_command(cmd) {
                out += &comment(&format!("skipped `{cmd}` ({}): {why}", l.path.display()));
            } else if let Some((_, by)) = taken.iter().find(|(c, _)| c == cmd) {
                out += &comment(&format!(
                    "skipped `{cmd}`: already wrapped by profile {by}, which comes first in lookup order"
                ));
            } else {
                out += &function(shell, &prog, &profile, cmd);
                taken.push((cmd.clone(), l.name.clone()));
            }
        }
    }
    if taken.is_empty() {
        out += &comment("no profile found lists commands under `wraps:`; nothing is wrapped");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(sh_quote("nocurl"), "nocurl");
        assert_eq!(sh_quote("/a b/it's"), r"'/a b/it'\''s'");
        assert_eq!(sh_quote(""), "''");
        assert_eq!(fish_quote(r"a'b\c"), r"'a\'b\\c'");
    }

    #[test]
    fn command_names() {
        assert!(bad_command("curl").is_none());
        assert!(bad_command("firefox-esr").is_none());
        assert!(bad_command("g++").is_none());
        for bad in [
            "",
            "/usr/bin/curl",
            "a b",
            "-x",
            "command",
            "cd",
            "$(x)",
            "a;b",
        ] {
            assert!(bad_command(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn functions() {
        assert_eq!(
            function(Shell::Bash, "varmor-run", "nocurl", "curl"),
            "function curl { command varmor-run --profile nocurl -- curl \"$@\"; }\n"
        );
        let f = function(Shell::Fish, "/x y/varmor-run", "nocurl", "curl");
        assert!(f.contains("command '/x y/varmor-run' --profile nocurl -- curl $argv\nend"));
    }
}
