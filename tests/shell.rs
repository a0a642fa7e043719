//! `varmor-run --shell-init bash|zsh|fish`, loaded into the real shells: arguments reach
//! varmor-run exactly, exit statuses pass through, `command X` bypasses the wrap, the
//! first profile in lookup order wins a command; and, as root, a wrapped `curl` really
//! runs confined by nocurl against a test varmord.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_varmor-run");
const SHELLS: [&str; 3] = ["bash", "zsh", "fish"];

/// Arguments with spaces, quotes, an empty one, `$` and a glob: the same text is one
/// literal word each in bash, zsh and fish.
const ARGS: &str = r#"'a b' 'c"d' "e'f" '' '$HOME' '*' '--x=1'"#;
const ARGV: &[&str] = &["a b", "c\"d", "e'f", "", "$HOME", "*", "--x=1"];

fn write_exe(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A temp dir with a fake varmor-run (at a path with a space and a quote) that prints
/// its argv and exits $FAKE_EXIT, a real command `vt-echo`, and two user profiles.
struct Env {
    dir: tempfile::TempDir,
    fake: String,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::Builder::new()
            .prefix("varmor-shell")
            .tempdir()
            .unwrap();
        let p = dir.path();
        for d in ["home", "bin", "fake dir", "config/varmor/profiles.d"] {
            std::fs::create_dir_all(p.join(d)).unwrap();
        }
        let fake = p.join("fake dir/varmor'run");
        write_exe(
            &fake,
            "#!/bin/sh\nprintf '[%s]\\n' \"$@\"\nexit \"${FAKE_EXIT:-0}\"\n",
        );
        write_exe(
            &p.join("bin/vt-echo"),
            "#!/bin/sh\nprintf 'real vt-echo'\nprintf ' [%s]' \"$@\"\necho\nexit 7\n",
        );
        let profiles = p.join("config/varmor/profiles.d");
        std::fs::write(
            profiles.join("aa-first.yaml"),
            "description: t\ninclude: [base]\nwraps: [vt-echo, vt-two]\n",
        )
        .unwrap();
        std::fs::write(
            profiles.join("zz-second.yaml"),
            "description: t\nwraps: [vt-echo, \"bad name\", cd, vt-three]\n",
        )
        .unwrap();
        Env {
            fake: fake.display().to_string(),
            dir,
        }
    }

    /// `shell` running `script` with the fake launcher, our PATH and profiles.
    fn shell(&self, shell: &str, script: &str, launcher: &str, socket: Option<&Path>) -> Output {
        let p = self.dir.path();
        let mut c = Command::new(shell);
        match shell {
            "bash" => c.args(["--norc", "--noprofile", "-c", script]),
            "zsh" => c.args(["-f", "-c", script]),
            _ => c.args(["--no-config", "-c", script]),
        };
        c.env("HOME", p.join("home"))
            .env("XDG_CONFIG_HOME", p.join("config"))
            .env("VARMOR_RUN", launcher)
            .env("VT_BIN", BIN)
            .env_remove("FAKE_EXIT")
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    p.join("bin").display(),
                    std::env::var("PATH").unwrap()
                ),
            );
        if let Some(s) = socket {
            c.env("VARMOR_SOCKET", s);
        }
        c.current_dir(p).output().expect("start the shell")
    }
}

fn need_shell(shell: &str) -> bool {
    let found = Command::new(shell)
        .args(["-c", "exit 0"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found || std::env::var_os("CI").is_none(),
        "{shell} is missing (scripts/deps.sh installs it)"
    );
    if !found {
        eprintln!("SKIP {shell}: not installed (apt-get install {shell})");
    }
    found
}

fn load(shell: &str) -> &'static str {
    match shell {
        "fish" => "\"$VT_BIN\" --shell-init fish | source",
        "zsh" => "eval \"$(\"$VT_BIN\" --shell-init zsh)\"",
        _ => "eval \"$(\"$VT_BIN\" --shell-init bash)\"",
    }
}

#[test]
fn functions_pass_arguments_and_status_through() {
    let e = Env::new();
    for shell in SHELLS {
        if !need_shell(shell) {
            continue;
        }
        let (st, export) = match shell {
            "fish" => ("$status", "set -x FAKE_EXIT 42"),
            _ => ("$?", "export FAKE_EXIT=42"),
        };
        let script = format!(
            "{}\nvt-echo {ARGS}; echo \"rc={st}\"\nvt-two; echo \"rc={st}\"\n\
             command vt-echo 'x y'; echo \"rc={st}\"\n{export}\nvt-echo; echo \"rc={st}\"\n",
            load(shell)
        );
        let o = e.shell(shell, &script, &e.fake, None);
        let out = String::from_utf8_lossy(&o.stdout);
        let err = String::from_utf8_lossy(&o.stderr);
        let head = ["--profile", "aa-first", "--"];
        let mut want: Vec<String> = head
            .iter()
            .chain(&["vt-echo"])
            .chain(ARGV)
            .map(|a| format!("[{a}]"))
            .collect();
        want.push("rc=0".into());
        want.extend(head.iter().chain(&["vt-two"]).map(|a| format!("[{a}]")));
        want.push("rc=0".into());
        want.push("real vt-echo [x y]".into());
        want.push("rc=7".into());
        want.extend(head.iter().chain(&["vt-echo"]).map(|a| format!("[{a}]")));
        want.push("rc=42".into());
        let got: Vec<&str> = out.lines().collect();
        assert_eq!(got, want, "{shell}: stderr: {err}");
        assert!(err.is_empty(), "{shell}: stderr: {err}");
    }
}

#[test]
fn first_profile_wins_and_bad_names_are_skipped() {
    let e = Env::new();
    for shell in SHELLS {
        let o = Command::new(BIN)
            .args(["--shell-init", shell])
            .env("HOME", e.dir.path().join("home"))
            .env("XDG_CONFIG_HOME", e.dir.path().join("config"))
            .env("VARMOR_RUN", &e.fake)
            .output()
            .unwrap();
        assert!(o.status.success(), "{o:?}");
        let text = String::from_utf8(o.stdout).unwrap();
        assert!(
            text.contains("# Escape hatch: `command curl ...`"),
            "{text}"
        );
        assert!(
            text.contains("skipped `vt-echo`: already wrapped by profile aa-first"),
            "{text}"
        );
        assert!(text.contains("skipped `bad name`"), "{text}");
        assert!(text.contains("skipped `cd`"), "{text}");
        assert_eq!(text.matches("function vt-echo ").count(), 1, "{text}");
        // The shipped profiles' wraps are there too.
        assert!(text.contains("function curl "), "{text}");
        if need_shell(shell) {
            // Every function is defined, and vt-three comes from the second profile.
            let check = match shell {
                "fish" => "functions -q vt-echo vt-two vt-three curl wget; and echo defined",
                _ => "typeset -f vt-echo vt-two vt-three curl wget >/dev/null && echo defined",
            };
            let script = format!("{}\n{check}\nvt-three", load(shell));
            let o = e.shell(shell, &script, &e.fake, None);
            let out = String::from_utf8_lossy(&o.stdout);
            assert!(
                out.starts_with("defined\n[--profile]\n[zz-second]\n[--]\n[vt-three]\n"),
                "{shell}: {out} {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
    }
}

#[test]
fn wrapped_curl_is_confined_for_real() {
    if common::need_root("wrapped_curl_is_confined_for_real").is_none() || !need_shell("bash") {
        return;
    }
    let d = common::Daemon::start();
    let e = Env::new();
    // Only the shipped profiles: nocurl wraps curl.
    std::fs::remove_dir_all(e.dir.path().join("config/varmor")).unwrap();
    let script = format!(
        "{}\ncurl --version; echo \"rc=$?\"\ncommand curl --version >/dev/null; echo \"rc2=$?\"\n",
        load("bash")
    );
    let o = e.shell("bash", &script, BIN, Some(&d.socket));
    let out = common::stdout(&o);
    let err = common::stderr(&o);
    assert!(
        out.contains("rc2=0\n"),
        "unwrapped curl must run: {out} {err}"
    );
    assert!(!out.contains("rc=0\n"), "wrapped curl ran: {out} {err}");
    assert!(!out.contains("curl 7") && !out.contains("curl 8"), "{out}");
    assert!(err.contains("varmor: denied exec"), "no denial line: {err}");
    assert!(err.contains("profile nocurl"), "{err}");
}
