//! `varmor-run --profile P -- CMD`: the whole confinement flow, in bubblewrap's spirit of
//! small ordered steps. Fails closed: any step that fails stops the target from running.
//!
//! 1 compile the profile   2 fresh mount namespace (+ user namespace when unprivileged)
//! 3 drop every capability, no_new_privs   4 varmord confines the namespace (the
//! anti-escape seccomp filter loads meanwhile)   5 Landlock   6 seccomp (profile + OCI)
//! 7 execve, same pid

use std::path::PathBuf;

use thiserror::Error;

use super::client::{self, ClientError, Lines};
use super::error::LaunchError;
use super::{exec, landlock, ns, privs, seccomp};
use varmor_core::cli::RunCli;
use varmor_core::profile::ProfileError;
use varmor_core::rules::{Mode, RuleSet};

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
    super::timing::start();
    let rules = match compile(cli, profile) {
        Ok(r) => r,
        Err(e) => return e,
    };
    super::timing::mark("compile profile");
    match confine_and_exec(cli, rules, lines) {
        Ok(never) => match never {},
        Err(e) => e,
    }
}

/// Step 1: the profile's rules, in complain mode with --complain.
pub fn compile(cli: &RunCli, profile: &str) -> Result<RuleSet, RunError> {
    let (mut rules, _file) = varmor_core::profile::compile(profile)?;
    if cli.command.is_empty() {
        return Err(RunError::NoCommand);
    }
    if cli.complain {
        rules.mode = Mode::Complain;
    }
    Ok(rules)
}

/// The launcher talks to varmord again once its namespace is confined (attach_chmod), so
/// unix rules never cover varmord's own socket, as written and as resolved (a sandbox
/// could always reach varmord, which trusts no client's words: the status quo).
fn allow_own_varmord(rules: &mut RuleSet, socket: &std::path::Path) {
    use varmor_core::profile::unix::{UnixAction, UnixRule, UNIX_ALL};
    if rules.unix.is_empty() {
        return;
    }
    let mut names: Vec<String> = Vec::new();
    for p in [
        Some(socket.to_path_buf()),
        std::fs::canonicalize(socket).ok(),
    ]
    .into_iter()
    .flatten()
    {
        let s = p.display().to_string();
        if !names.contains(&s) {
            names.push(s);
        }
    }
    let paths: Vec<_> = names
        .iter()
        .filter_map(|n| varmor_core::profile::pattern::Pattern::parse(n).ok())
        .filter(|p| p.kind() == varmor_core::profile::pattern::PatternKind::Exact)
        .collect();
    if paths.is_empty() {
        return;
    }
    rules.origins.push(varmor_core::rules::Origin {
        profile: rules.profile.clone(),
        file: "<varmor-run>".into(),
        line: 0,
        label: "unix[varmord socket]".into(),
    });
    rules.unix.push(UnixRule {
        action: UnixAction::Allow,
        dirs: UNIX_ALL,
        paths,
        abstract_names: vec![],
        origin: (rules.origins.len() - 1) as u32,
        // An exemption: where unix rules cannot be enforced there is nothing to exempt.
        required: false,
    });
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
    super::timing::mark("build seccomp filters");
    let mut wire = rules.clone();
    wire.seccomp = Default::default();
    allow_own_varmord(&mut wire, &cli.socket);

    let mnt_ns = ns::enter_sandbox_namespace()?;
    let cgroups = super::cgroupfs::make_read_only()?;
    super::timing::mark("namespaces");
    // Privileges go before the rules arrive: on bpf-lsm a profile that denies
    // capabilities would otherwise refuse the launcher's own drop (PR_CAPBSET_DROP
    // needs CAP_SETPCAP), and nothing after this point needs one.
    privs::drop_all()?;
    super::timing::mark("drop privileges");
    // While varmord sets the rules up, the kernel takes the anti-escape filter.
    let asked = client::ask_confine(&cli.socket, mnt_ns, &wire, lines)?;
    filters.install_anti_escape()?;
    super::timing::mark("anti-escape seccomp");
    let granted = asked.granted()?;
    super::timing::mark("varmord confines");
    // Landlock carries on compat what fanotify cannot see (name changes on protected
    // paths); on bpf-lsm the LSM hooks enforce those exactly, so only the anti-escape part.
    let carry = varmor_kernel::enforcer::landlock::Carry::for_backend(granted.backend);
    if lines != Lines::Quiet {
        for n in &granted.unenforced_optional {
            varmor_core::say!(
                "varmor-run: NOT ENFORCED on this kernel (the rule says `required: false`): {n}"
            );
        }
    }
    // What this kernel's Landlock cannot carry is not enforced either. The plan is made
    // once, from the filesystem as it is now, for this check and for apply below.
    let plan = varmor_kernel::enforcer::landlock::Plan::with_cgroups(
        &rules,
        carry,
        cgroups,
        std::path::Path::new("/"),
    );
    let lacking = landlock::check(&plan, &rules);
    if !granted.unenforced.is_empty() || !lacking.is_empty() {
        let rules_not: Vec<String> = granted
            .unenforced
            .iter()
            .chain(&lacking)
            .map(|u| format!("NOT ENFORCED: {u}"))
            .collect();
        if !cli.allow_partial {
            return Err(RunError::Partial {
                profile: rules.profile.clone(),
                rules: rules_not,
            });
        }
        for n in &rules_not {
            varmor_core::say!("varmor-run: --allow-partial: {n}");
        }
    }
    let compat = granted.backend == varmor_core::proto::Backend::Compat;
    let chmod = compat && varmor_kernel::enforcer::compat::chmod::needed(&rules);
    let names = compat && varmor_kernel::enforcer::compat::names::needed(&rules);
    let report = landlock::apply(&plan, names)?;
    super::timing::mark("landlock");
    // Where the sandbox stays stricter than its rules: said once, at launch.
    if lines != Lines::Quiet {
        for n in &report.notes {
            varmor_core::say!("varmor-run: note: {n}");
        }
    }
    filters.install_rest()?;
    super::timing::mark("profile seccomp");
    if chmod || names {
        // varmord answers chmod and name-changing calls through a notification filter.
        let notify = seccomp::install_notify(chmod, names)?;
        client::attach_chmod(&cli.socket, mnt_ns, &notify)?;
        drop(notify); // the target must never hold it
    }
    if !cli.keep_fds {
        // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only marks descriptors; nothing
        // this process still uses is closed before execve.
        let r = unsafe { libc::close_range(3, u32::MAX, libc::CLOSE_RANGE_CLOEXEC as i32) };
        if r != 0 {
            // A descriptor left open would reach the target: never exec without it.
            return Err(RunError::Launch(LaunchError::Syscall {
                what: "close_range(3.., CLOSE_RANGE_CLOEXEC): keeping inherited descriptors from the target",
                source: std::io::Error::last_os_error(),
            }));
        }
    }
    super::timing::mark("fds, notify filter");
    Err(exec::exec(&cli.command).into())
}
