//! `varmor-run --profile P -- CMD`: the whole confinement flow, in bubblewrap's spirit of
//! small ordered steps. Fails closed: any step that fails stops the target from running.
//!
//! 1 compile the profile   2 fresh mount namespace (+ user namespace when unprivileged)
//! 3 varmord confines it   4 drop every capability, no_new_privs
//! 5 Landlock              6 seccomp (anti-escape + profile + OCI)   7 execve, same pid

use std::path::PathBuf;

use thiserror::Error;

use super::client::{self, ClientError, Lines};
use super::error::LaunchError;
use super::{exec, landlock, ns, privs, seccomp};
use crate::cli::RunCli;
use crate::profile::ProfileError;
use crate::rules::{Mode, RuleSet};

#[derive(Debug, Error)]
pub enum RunError {
    #[error("{0}")]
    Profile(#[from] ProfileError),
    #[error("{0}")]
    Daemon(#[from] ClientError),
    #[error("{0}")]
    Launch(#[from] LaunchError),
    #[error("no command given; usage: varmor-run --profile NAME -- CMD [ARGS...]")]
    NoCommand,
    #[error("profile `{profile}` cannot be fully enforced here:\n  {}\nrun with --allow-partial to accept this", .rules.join("\n  "))]
    Partial { profile: String, rules: Vec<String> },
}

impl RunError {
    /// 125 for launcher failures, 126/127 for a target that cannot run (like env(1)).
    pub fn exit_code(&self) -> u8 {
        match self {
            RunError::Launch(e) => e.exit_code(),
            _ => 125,
        }
    }
}

/// Runs the flow; returns only on failure (on success the process is the target).
pub fn run(cli: &RunCli, profile: &str) -> RunError {
    let lines = if cli.quiet {
        Lines::Quiet
    } else {
        Lines::Stderr
    };
    let rules = match compile(cli, profile) {
        Ok(r) => r,
        Err(e) => return e,
    };
    match confine_and_exec(cli, rules, lines) {
        Ok(never) => match never {},
        Err(e) => e,
    }
}

/// Step 1: the profile's rules, in complain mode with --complain.
pub fn compile(cli: &RunCli, profile: &str) -> Result<RuleSet, RunError> {
    let (mut rules, _file) = crate::profile::compile(profile)?;
    if cli.command.is_empty() {
        return Err(RunError::NoCommand);
    }
    if cli.complain {
        rules.mode = Mode::Complain;
    }
    Ok(rules)
}

/// Steps 2-7 for compiled `rules`, denial lines going to `lines`.
pub fn confine_and_exec(
    cli: &RunCli,
    rules: RuleSet,
    lines: Lines,
) -> Result<std::convert::Infallible, RunError> {
    // Seccomp input is read before anything changes, so a bad file changes nothing.
    let oci: Option<PathBuf> = cli
        .seccomp
        .clone()
        .or_else(|| rules.seccomp.oci.as_ref().map(PathBuf::from));
    let filters = seccomp::prepare(&rules, oci.as_deref())?;
    let mut wire = rules.clone();
    wire.seccomp = Default::default();

    let mnt_ns = ns::enter_sandbox_namespace()?;
    let (backend, notes) = client::confine(&cli.socket, mnt_ns, &wire, lines)?;
    let unenforced: Vec<String> = notes
        .iter()
        .filter(|n| n.starts_with("NOT ENFORCED"))
        .cloned()
        .collect();
    if !unenforced.is_empty() {
        if !cli.allow_partial {
            return Err(RunError::Partial {
                profile: rules.profile.clone(),
                rules: unenforced,
            });
        }
        for n in &unenforced {
            eprintln!("varmor-run: --allow-partial: {n}");
        }
    }
    privs::drop_all()?;
    let report = landlock::apply(&rules)?;
    if cli.allow_partial {
        for n in &report.notes {
            eprintln!("varmor-run: {n}");
        }
    }
    seccomp::install(filters)?;
    if backend == "compat" && crate::enforcer::compat::chmod::needed(&rules) {
        // chmod rules: varmord answers chmod calls through a notification filter.
        let notify = seccomp::install_chmod_notify()?;
        client::attach_chmod(&cli.socket, mnt_ns, &notify)?;
        drop(notify); // the target must never hold it
    }
    if !cli.keep_fds {
        // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only marks descriptors; nothing
        // this process still uses is closed before execve.
        unsafe { libc::close_range(3, u32::MAX, libc::CLOSE_RANGE_CLOEXEC as i32) };
    }
    Err(exec::exec(&cli.command).into())
}
