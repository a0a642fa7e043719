//! Step 8: seccomp, built with libseccomp (no hand-written cBPF). Up to three filters are
//! stacked and the kernel takes the strictest answer of them:
//! 1 the always-on anti-escape filter (no new namespaces, no mounts, no BPF, no modules,
//!   no keyrings; clone3 answers ENOSYS so libc falls back to clone, whose flags are checked);
//! 2 the profile's `seccomp:` rules;  3 a Docker/OCI seccomp JSON profile.
//! Syscalls of a foreign architecture (i386, x32) kill the process.

use std::path::Path;

use libseccomp::{ScmpAction, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall};

use super::error::LaunchError;
use super::oci;
use varmor_core::profile::ptrace::PtraceScope;
use varmor_core::profile::seccomp::{ArgCond, ArgOp, SeccompAction, SyscallRule};
use varmor_core::rules::RuleSet;

fn serr(what: &str, source: libseccomp::error::SeccompError) -> LaunchError {
    LaunchError::Seccomp {
        what: what.to_string(),
        source,
    }
}

/// Filters built but not yet loaded (building can fail; loading changes the process).
pub struct Filters {
    /// The anti-escape filter: ours alone, it refuses nothing the launcher still calls
    /// (varmord's socket, Landlock, seccomp, close_range, execve), so it can go first.
    anti_escape: ScmpFilterContext,
    /// The profile's filter and an OCI file's: loaded last, after every launcher step.
    rest: Vec<ScmpFilterContext>,
}

const EPERM: i32 = libc::EPERM;

/// Denied whatever the profile says.
const ESCAPES: &[&str] = &[
    "unshare",
    "setns",
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "move_mount",
    "open_tree",
    "mount_setattr",
    "bpf",
    "perf_event_open",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "keyctl",
    "add_key",
    "request_key",
    "userfaultfd",
    // io_uring performs opens, connects and sends outside the syscall hooks' view.
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
];
/// Terminal ioctls that push input into the terminal the sandbox shares with its parent
/// (the shell would run it unconfined after the sandbox ends: CVE-2017-5226's kind).
const TIOCSTI: u64 = 0x5412;
const TIOCLINUX: u64 = 0x541C;
const PTRACE: &[&str] = &[
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "pidfd_getfd",
];
const CLONE_NEW: &[u64] = &[
    0x0002_0000,
    0x0200_0000,
    0x0400_0000,
    0x0800_0000,
    0x1000_0000,
    0x2000_0000,
    0x4000_0000,
];

fn sys(name: &str) -> Result<ScmpSyscall, LaunchError> {
    ScmpSyscall::from_name(name).map_err(|e| serr(&format!("unknown syscall `{name}`"), e))
}

fn add(
    f: &mut ScmpFilterContext,
    action: ScmpAction,
    name: &str,
    conds: &[ScmpArgCompare],
) -> Result<(), LaunchError> {
    let Ok(s) = ScmpSyscall::from_name(name) else {
        return Ok(());
    }; // absent on this arch
    let r = if conds.is_empty() {
        f.add_rule(action, s)
    } else {
        f.add_rule_conditional(action, s, conds)
    };
    r.map(drop)
        .map_err(|e| serr(&format!("rule for {name}"), e))
}

/// The anti-escape filter.
pub fn anti_escape(ptrace: PtraceScope, no_inet: bool) -> Result<ScmpFilterContext, LaunchError> {
    let mut f = ScmpFilterContext::new(ScmpAction::Allow).map_err(|e| serr("new filter", e))?;
    f.set_ctl_nnp(false).map_err(|e| serr("nnp", e))?;
    for name in ESCAPES.iter().chain(if ptrace == PtraceScope::All {
        PTRACE
    } else {
        &[]
    }) {
        add(&mut f, ScmpAction::Errno(EPERM), name, &[])?;
    }
    add(&mut f, ScmpAction::Errno(libc::ENOSYS), "clone3", &[])?;
    for req in [TIOCSTI, TIOCLINUX] {
        // The request is an unsigned int: compare its low 32 bits only.
        let low = ScmpArgCompare::new(1, ScmpCompareOp::MaskedEqual(0xffff_ffff), req);
        add(&mut f, ScmpAction::Errno(EPERM), "ioctl", &[low])?;
    }
    if no_inet {
        // Every connect, send and bind is denied: no IPv4/IPv6 socket is needed, and
        // none can listen() on an implicit port or receive.
        for family in [libc::AF_INET, libc::AF_INET6] {
            let fam = ScmpArgCompare::new(0, ScmpCompareOp::Equal, family as u64);
            add(&mut f, ScmpAction::Errno(EPERM), "socket", &[fam])?;
        }
    }
    for &flag in CLONE_NEW {
        add(
            &mut f,
            ScmpAction::Errno(EPERM),
            "clone",
            &[ScmpArgCompare::new(
                0,
                ScmpCompareOp::MaskedEqual(flag),
                flag,
            )],
        )?;
    }
    Ok(f)
}

pub fn action(a: SeccompAction) -> ScmpAction {
    match a {
        SeccompAction::Allow => ScmpAction::Allow,
        SeccompAction::Log => ScmpAction::Log,
        SeccompAction::Kill => ScmpAction::KillProcess,
        SeccompAction::Errno(n) => ScmpAction::Errno(i32::from(n)),
    }
}

fn compare(c: &ArgCond) -> ScmpArgCompare {
    let op = match c.op {
        ArgOp::Eq => ScmpCompareOp::Equal,
        ArgOp::Ne => ScmpCompareOp::NotEqual,
        ArgOp::Lt => ScmpCompareOp::Less,
        ArgOp::Le => ScmpCompareOp::LessOrEqual,
        ArgOp::Gt => ScmpCompareOp::Greater,
        ArgOp::Ge => ScmpCompareOp::GreaterEqual,
        ArgOp::MaskedEq => ScmpCompareOp::MaskedEqual(c.mask.unwrap_or(u64::MAX)),
    };
    ScmpArgCompare::new(u32::from(c.index), op, c.value)
}

/// A filter from a default action and rules; rules that repeat the default are skipped
/// (libseccomp refuses them).
pub fn build(
    default: SeccompAction,
    rules: &[SyscallRule],
    strict_names: bool,
) -> Result<ScmpFilterContext, LaunchError> {
    let def = action(default);
    let mut f = ScmpFilterContext::new(def).map_err(|e| serr("new filter", e))?;
    f.set_ctl_nnp(false).map_err(|e| serr("nnp", e))?;
    for r in rules.iter().filter(|r| action(r.action) != def) {
        let conds: Vec<_> = r.args.iter().map(compare).collect();
        for name in &r.names {
            if strict_names {
                sys(name)?;
            }
            add(&mut f, action(r.action), name, &conds)?;
        }
    }
    Ok(f)
}

/// Whether an enforced rule denies every direction to every address and port (`nonet`).
pub fn denies_all_network(rules: &RuleSet) -> bool {
    use varmor_core::profile::file::Action;
    use varmor_core::profile::net::Dirs;
    rules.mode == varmor_core::rules::Mode::Enforce
        && rules.net.iter().any(|r| {
            r.action == Action::Deny
                && r.dirs.bits() == Dirs::ALL.bits()
                && r.addrs.is_empty()
                && r.ports.is_empty()
        })
}

/// Builds every filter for `rules` (+ an OCI file); fails before anything is changed.
pub fn prepare(rules: &RuleSet, oci_file: Option<&Path>) -> Result<Filters, LaunchError> {
    let first = anti_escape(rules.ptrace, denies_all_network(rules))?;
    let mut v = Vec::new();
    let s = &rules.seccomp;
    if s.default.is_some() || !s.syscalls.is_empty() {
        v.push(build(
            s.default.unwrap_or(SeccompAction::Allow),
            &s.syscalls,
            true,
        )?);
    }
    if let Some(path) = oci_file {
        let oci = oci::load(path)?;
        if let Some(w) = oci.warning(path) {
            varmor_core::say!("{w}");
        }
        v.push(build(oci.default, &oci.rules, false)?);
    }
    Ok(Filters {
        anti_escape: first,
        rest: v,
    })
}

impl Filters {
    /// Loads the anti-escape filter (no_new_privs must already be set). The kernel's part
    /// of a load (checking and compiling the program) overlaps varmord's work this way.
    pub fn install_anti_escape(&self) -> Result<(), LaunchError> {
        self.anti_escape
            .load()
            .map_err(|e| serr("loading the anti-escape filter", e))
    }

    /// Loads the profile's and the OCI file's filters, last before execve.
    pub fn install_rest(self) -> Result<(), LaunchError> {
        for f in &self.rest {
            f.load().map_err(|e| serr("loading the filter", e))?;
        }
        Ok(())
    }
}

/// fchmodat2 (Linux 6.6), by number: this libseccomp may not know its name.
const FCHMODAT2: i32 = 452;

/// Loads the notification filter of the compat backend and returns its fd for varmord:
/// chmod calls (`chmod`: chmod rules; fchmodat2 answers ENOSYS so libc falls back to
/// fchmodat) and name-changing calls (`names`: create/delete/rename/link/truncate rules,
/// opens only with O_CREAT). The kernel allows one listener per process, so both share it.
pub fn install_notify(chmod: bool, names: bool) -> Result<std::os::fd::OwnedFd, LaunchError> {
    use std::os::fd::FromRawFd;
    let mut f = ScmpFilterContext::new(ScmpAction::Allow).map_err(|e| serr("new filter", e))?;
    f.set_ctl_nnp(false).map_err(|e| serr("nnp", e))?;
    if chmod {
        for name in varmor_kernel::enforcer::compat::chmod::CHMOD_SYSCALLS {
            add(&mut f, ScmpAction::Notify, name, &[])?;
        }
        f.add_rule(
            ScmpAction::Errno(libc::ENOSYS),
            ScmpSyscall::from(FCHMODAT2),
        )
        .map_err(|e| serr("rule for fchmodat2", e))?;
    }
    if names {
        for (name, cond) in varmor_kernel::enforcer::compat::names::NAME_SYSCALLS {
            let conds: Vec<ScmpArgCompare> = cond
                .iter()
                .map(|&(arg, flag)| {
                    ScmpArgCompare::new(arg, ScmpCompareOp::MaskedEqual(flag), flag)
                })
                .collect();
            add(&mut f, ScmpAction::Notify, name, &conds)?;
        }
    }
    f.load()
        .map_err(|e| serr("loading the notification filter", e))?;
    let fd = f
        .get_notify_fd()
        .map_err(|e| serr("notification filter fd", e))?;
    // SAFETY: libseccomp hands over a fresh fd that nothing else owns or closes.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
}
