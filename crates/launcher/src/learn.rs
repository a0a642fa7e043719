//! `varmor-run --learn OUT.yaml -- CMD`: runs CMD in a sandbox whose every file open, exec
//! and network access is audited and whose every DNS answer is reported (nothing denied; a
//! --profile given runs in complain mode on top), collects varmord's lines from a pipe,
//! and writes a profile draft (learn_draft.rs).

use super::side_error::LearnError;
use std::io::{BufRead, BufReader};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, pipe2, ForkResult};

use super::client::Lines;
use super::learn_draft::{draft, Access, Observed};
use super::run::{compile, confine_and_exec};
use varmor_core::cli::RunCli;
use varmor_core::profile::dns::Answering;
use varmor_core::rules::Mode;

/// The audit-everything rules a learning run adds to the profile. Allow-list mode with an
/// entry for every address denies nothing but sends the run's DNS to varmord's resolver,
/// which `learning_rules` tells to answer every name (the names the draft allows).
const LEARN_RULES: &str = "description: learning run
file:
  - audit: [read, write, append, exec]
    paths: [\"/**\"]
network:
  - audit: all
network_default: deny
network_allow:
  - addresses: [\"0.0.0.0/0\", \"::/0\"]
";

/// One line from varmord, parsed: `varmor: audit open(read) /etc/x by cat[12] — ...`.
pub fn parse_line(line: &str) -> Option<(Access, String)> {
    let rest = line.strip_prefix("varmor: ")?;
    let rest = ["audit ", "would deny (complain mode) ", "denied "]
        .iter()
        .find_map(|v| rest.strip_prefix(v))?;
    let (what, rest) = rest.split_once(' ')?;
    let body = rest.rsplit_once(" — profile").map_or(rest, |(b, _)| b);
    let (object, _who) = body.rsplit_once(" by ")?;
    let access = match what {
        "exec" => Access::Exec,
        "connect" => Access::Connect,
        "send" => Access::Send,
        "bind" => Access::Bind,
        "resolve" => Access::Resolve,
        w if w.starts_with("open(") => {
            let set = w.trim_start_matches("open(").trim_end_matches(')');
            let parts: Vec<&str> = set.split(',').collect();
            if parts == ["read", "write", "append"] {
                Access::OpenUnknown
            } else if parts.iter().any(|p| *p == "write" || *p == "append") {
                Access::Write
            } else {
                Access::Read
            }
        }
        _ => return None,
    };
    Some((access, object.to_string()))
}

fn learning_rules(
    cli: &RunCli,
    profile: Option<&str>,
    dir: &Path,
) -> Result<varmor_core::rules::RuleSet, LearnError> {
    let path = dir.join("learn.yaml");
    let mut yaml = LEARN_RULES.to_string();
    if let Some(p) = profile {
        let resolved = varmor_core::profile::lookup::resolve(p, None)?;
        yaml = yaml.replacen(
            "description: learning run\n",
            &format!(
                "description: learning run\ninclude: [\"{}\"]\n",
                resolved.display()
            ),
            1,
        );
    }
    std::fs::write(&path, yaml).map_err(|e| LearnError::sys(path.display().to_string(), e))?;
    let mut rules = compile(cli, &path.display().to_string()).map_err(Box::new)?;
    rules.mode = Mode::Complain;
    if let Some(a) = rules.net_allow.as_mut() {
        a.answering = Answering::Every;
    }
    rules.profile = format!("learn({})", profile.unwrap_or("-"));
    Ok(rules)
}

/// Runs the learning session; returns (draft text, the command's exit code).
pub fn learn(cli: &RunCli, out: &Path, profile: Option<&str>) -> Result<(String, u8), LearnError> {
    if cli.command.is_empty() {
        return Err(LearnError::NoCommand);
    }
    let tmp = tempfile::tempdir().map_err(|e| LearnError::sys("temporary directory", e))?;
    let rules = learning_rules(cli, profile, tmp.path())?;
    let (r, w): (OwnedFd, OwnedFd) =
        pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| LearnError::sys("pipe", e))?;
    // Closed by a successful execve; a byte in it says the command never ran (what the
    // sandbox opened before, e.g. looking the command up, is no sign either way).
    let (status_r, status_w): (OwnedFd, OwnedFd) =
        pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| LearnError::sys("pipe", e))?;
    // SAFETY: varmor-run is single-threaded here; the child only runs the launcher's own
    // flow (which ends in execve or _exit) and touches no lock another thread could hold.
    match unsafe { fork() }.map_err(|e| LearnError::sys("fork", e))? {
        ForkResult::Child => {
            drop(r);
            drop(status_r);
            let err = match confine_and_exec(cli, rules, Lines::Learn(w.as_raw_fd())) {
                Ok(never) => match never {},
                Err(e) => e,
            };
            let _ = nix::unistd::write(&status_w, b"x");
            varmor_core::say!("varmor-run: {err}");
            // SAFETY: _exit is async-signal-safe and skips the parent's atexit state.
            unsafe { libc::_exit(i32::from(err.exit_code())) }
        }
        ForkResult::Parent { child } => {
            drop(w);
            drop(status_w);
            // Ctrl-C is for the command; the draft is still written afterwards.
            // SAFETY: SIG_IGN installs no handler code.
            unsafe {
                libc::signal(libc::SIGINT, libc::SIG_IGN);
                libc::signal(libc::SIGQUIT, libc::SIG_IGN);
            }
            let mut seen = Observed::default();
            for line in BufReader::new(std::fs::File::from(r)).lines() {
                let Ok(line) = line else { break };
                if let Some((access, object)) = parse_line(&line) {
                    seen.add(access, object);
                }
            }
            let code = match waitpid(child, None) {
                Ok(WaitStatus::Exited(_, c)) => c as u8,
                Ok(WaitStatus::Signaled(_, s, _)) => 128 + s as u8,
                _ => 125,
            };
            let mut byte = [0u8; 1];
            let never_ran = matches!(nix::unistd::read(status_r.as_raw_fd(), &mut byte), Ok(1));
            if never_ran || seen.is_empty() {
                // The exec failed, or not even the command's own exec was seen.
                return Err(LearnError::DidNotRun(code));
            }
            let text = draft(&seen, &cli.command, profile);
            std::fs::write(out, &text)
                .map_err(|e| LearnError::sys(out.display().to_string(), e))?;
            Ok((seen.summary(out), code))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse() {
        let l = "varmor: audit open(read) /etc/a b by x by cat[12] — profile learn, rule file[0] (/t/learn.yaml:3)";
        assert_eq!(parse_line(l), Some((Access::Read, "/etc/a b by x".into())));
        let l = "varmor: would deny (complain mode) exec /usr/bin/curl by sh[3] — profile nocurl";
        assert_eq!(parse_line(l), Some((Access::Exec, "/usr/bin/curl".into())));
        let l = "varmor: audit connect 127.0.0.1:9 by python3[4] — profile learn";
        assert_eq!(parse_line(l), Some((Access::Connect, "127.0.0.1:9".into())));
        let l = "varmor: audit open(write,append) /tmp/o by sh[4] — profile learn";
        assert_eq!(parse_line(l), Some((Access::Write, "/tmp/o".into())));
        let l = "varmor: audit open(read,write,append) /usr/bin/dash by sh[4] — profile learn";
        assert_eq!(
            parse_line(l),
            Some((Access::OpenUnknown, "/usr/bin/dash".into()))
        );
        let l =
            "varmor: audit resolve a.example (A 10.0.0.1, 10.0.0.2) by curl[5] — profile learn(-)";
        assert_eq!(
            parse_line(l),
            Some((Access::Resolve, "a.example (A 10.0.0.1, 10.0.0.2)".into()))
        );
        assert_eq!(parse_line("varmor: 3 more lines suppressed"), None);
        assert_eq!(parse_line("something else"), None);
    }
}
