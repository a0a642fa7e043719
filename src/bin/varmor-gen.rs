//! varmor-gen: writes the generated documentation of the two programs from their clap
//! definitions (crates/core/src/cli.rs), so the man pages and completions cannot drift from the code.
//!
//! Usage: `varmor-gen [OUT_DIR]` (default: the checkout root). Writes
//!
//!   OUT_DIR/man/varmor-run.1, OUT_DIR/man/varmord.8                 (clap_mangen)
//!   OUT_DIR/completions/varmor-run.{bash,zsh,fish}, varmord.{...}   (clap_complete)
//!
//! man/varmor-profile.5 is hand-written and left alone. tests/generated.rs runs this
//! into a temporary directory and fails when a committed file differs.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;
use varmor_core::cli::{DaemonCli, RunCli, DEFAULT_PIN_DIR, DEFAULT_SOCKET};

/// One program to document: its command, man section, and the hand-written tail of its page.
struct Program {
    cmd: clap::Command,
    section: &'static str,
    manual: &'static str,
    tail: String,
}

fn programs() -> Vec<Program> {
    vec![
        Program {
            cmd: RunCli::command(),
            section: "1",
            manual: "User Commands",
            tail: format!(
                r#".SH FILES
.TP
\fI$XDG_CONFIG_HOME/varmor/profiles.d/NAME.yaml\fR
Your own profiles (\fI~/.config/varmor/profiles.d\fR when \fBXDG_CONFIG_HOME\fR is unset); looked up first.
.TP
\fI/etc/varmor/profiles.d/NAME.yaml\fR
The administrator's profiles.
.TP
\fI/usr/share/varmor/profiles.d/NAME.yaml\fR
The profiles shipped with varmor-run.
.TP
\fI{socket}\fR
The socket of \fBvarmord\fR(8) (\fB\-\-socket\fR, \fBVARMOR_SOCKET\fR).
.SH "SEE ALSO"
\fBvarmor-profile\fR(5), \fBvarmord\fR(8), \fBbwrap\fR(1), \fBfirejail\fR(1), \fBlandlock\fR(7), \fBseccomp\fR(2), \fBcapabilities\fR(7)
"#,
                socket = roff_escape(DEFAULT_SOCKET)
            ),
        },
        Program {
            cmd: DaemonCli::command(),
            section: "8",
            manual: "System Manager's Manual",
            tail: format!(
                r#".SH FILES
.TP
\fI{socket}\fR
The socket \fBvarmor-run\fR(1) connects to (mode 0666: any local user may confine itself, and only itself).
.TP
\fI{pin}\fR
Pinned BPF programs and maps (a bpffs mount).
.TP
\fI/etc/default/varmord\fR
Extra arguments (\fBVARMORD_ARGS\fR) for \fBvarmord.service\fR, the packaged unit, which
\fBvarmord.socket\fR starts on the first connection; varmord tells systemd when it is
ready (\fBType=notify\fR), and each denial is also a journal entry with the fields
\fBVARMOR_PROFILE\fR, \fBVARMOR_RULE\fR, \fBVARMOR_RULE_FILE\fR, \fBVARMOR_PATH\fR,
\fBVARMOR_PID\fR, \fBVARMOR_COMM\fR and \fBVARMOR_UID\fR
(\fBjournalctl \-u varmord VARMOR_PROFILE=nocurl\fR).
.SH "SEE ALSO"
\fBvarmor-run\fR(1), \fBvarmor-profile\fR(5), \fBfanotify\fR(7), \fBlandlock\fR(7), \fBbpf\fR(2), \fBsystemd.socket\fR(5), \fBjournalctl\fR(1)
"#,
                socket = roff_escape(DEFAULT_SOCKET),
                pin = roff_escape(DEFAULT_PIN_DIR)
            ),
        },
    ]
}

/// Escapes the characters roff treats specially inside running text.
fn roff_escape(s: &str) -> String {
    s.replace('\\', "\\e").replace('-', "\\-")
}

/// The man page of one program: clap_mangen's sections, its after-help under a proper
/// heading, then FILES and SEE ALSO.
fn man_page(p: &Program) -> std::io::Result<Vec<u8>> {
    let man = clap_mangen::Man::new(p.cmd.clone())
        .section(p.section)
        .manual(p.manual);
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    let mut extra = Vec::new();
    man.render_extra_section(&mut extra)?;
    let extra = String::from_utf8_lossy(&extra).replacen(
        ".SH EXTRA",
        ".SH \"EXAMPLES AND EXIT STATUS\"",
        1,
    );
    out.extend_from_slice(extra.as_bytes());
    man.render_version_section(&mut out)?;
    out.extend_from_slice(p.tail.as_bytes());
    Ok(out)
}

fn completion(cmd: &clap::Command, shell: Shell) -> Vec<u8> {
    let mut cmd = cmd.clone();
    let name = cmd.get_name().to_string();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, name, &mut out);
    out
}

/// Writes `bytes` to `path` unless it already holds exactly that; says which it did.
fn write(path: &Path, bytes: &[u8], log: &mut impl Write) -> std::io::Result<()> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        writeln!(log, "unchanged {}", path.display())?;
        return Ok(());
    }
    std::fs::write(path, bytes)?;
    writeln!(log, "wrote     {}", path.display())
}

fn generate(out_dir: &Path) -> std::io::Result<()> {
    let man_dir = out_dir.join("man");
    let comp_dir = out_dir.join("completions");
    std::fs::create_dir_all(&man_dir)?;
    std::fs::create_dir_all(&comp_dir)?;
    let mut log = std::io::stdout().lock();
    for p in programs() {
        let name = p.cmd.get_name().to_string();
        write(
            &man_dir.join(format!("{name}.{}", p.section)),
            &man_page(&p)?,
            &mut log,
        )?;
        for (shell, ext) in [
            (Shell::Bash, "bash"),
            (Shell::Zsh, "zsh"),
            (Shell::Fish, "fish"),
        ] {
            write(
                &comp_dir.join(format!("{name}.{ext}")),
                &completion(&p.cmd, shell),
                &mut log,
            )?;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let out_dir = match (args.next(), args.next()) {
        (None, _) => PathBuf::from(env!("CARGO_MANIFEST_DIR")),
        (Some(a), None) if a == "-h" || a == "--help" => {
            println!("usage: varmor-gen [OUT_DIR]\nwrites OUT_DIR/man/ and OUT_DIR/completions/ (default OUT_DIR: {})", env!("CARGO_MANIFEST_DIR"));
            return ExitCode::SUCCESS;
        }
        (Some(a), None) => PathBuf::from(a),
        (Some(_), Some(_)) => {
            varmor_core::say!("usage: varmor-gen [OUT_DIR]");
            return ExitCode::from(2);
        }
    };
    match generate(&out_dir) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            varmor_core::say!("varmor-gen: {}: {e}", out_dir.display());
            ExitCode::FAILURE
        }
    }
}
