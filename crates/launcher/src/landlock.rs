//! Step 5: Landlock. The launcher applies the plan of crates/kernel/src/enforcer/landlock/ (what the
//! domain withholds, and why) to itself before execve: signals and ptrace scoped to the
//! sandbox on every backend, and on compat the name changes of file rules fanotify cannot
//! see. Fails closed when the kernel would not enforce the domain.

use std::ffi::CString;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use landlock::{
    AccessFs, BitFlags, PathBeneath, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope,
};

use super::error::LaunchError;
use varmor_core::rules::RuleSet;
use varmor_kernel::enforcer::landlock::{kernel_abi, unenforced, Plan};

pub struct LandlockReport {
    pub status: String,
    /// Where the sandbox is stricter than its rules (one line each; empty when exact).
    pub notes: Vec<String>,
}

/// The rules of `plan` whose rights this kernel's Landlock lacks (one line each,
/// crates/kernel/src/enforcer/landlock/abi.rs): checked before anything is restricted.
pub fn check(plan: &Plan, rules: &RuleSet) -> Vec<String> {
    unenforced(plan, rules, kernel_abi())
}

/// An O_PATH descriptor that does not follow a final symlink.
fn o_path(p: &Path) -> Option<OwnedFd> {
    let c = CString::new(p.as_os_str().as_bytes()).ok()?;
    // SAFETY: c is NUL-terminated; the fd returned is owned below.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        )
    };
    // SAFETY: fd was just returned by open and nothing else owns it.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Applies the Landlock domain of `plan` (`Plan::new` at "/") to this process (before
/// execve). A plan that withholds no file right becomes a domain of scopes alone where
/// the kernel has them (ABI 6): opens then skip Landlock's path walk altogether.
pub fn apply(plan: &Plan, names: bool) -> Result<LandlockReport, LaunchError> {
    let root = Path::new("/");
    let lerr = LaunchError::Landlock;
    // Signals stay inside the domain too (Landlock ABI 6; dropped on older kernels): the
    // sandbox cannot kill varmord, its guard or anything else outside. So do abstract
    // sockets where the rules deny every one outside (a second hold besides the cgroup
    // connect_unix hook). Refusals are logged after execve too (ABI 7 audit records,
    // where audit is on).
    let scope = if plan.scope_abstract {
        Scope::Signal | Scope::AbstractUnixSocket
    } else {
        BitFlags::from(Scope::Signal)
    };
    let scopes_alone = plan.handled.is_empty() && kernel_abi() >= Some(6);
    // With nothing to withhold and no scopes, a domain that restricts nothing (Execute
    // handled, granted on /) still scopes ptrace.
    let handled = if plan.handled.is_empty() {
        BitFlags::from(AccessFs::Execute)
    } else {
        plan.handled
    };
    let attr = if scopes_alone {
        Ruleset::default().scope(scope).map_err(lerr)?
    } else {
        Ruleset::default()
            .handle_access(handled)
            .map_err(lerr)?
            .scope(scope)
            .map_err(lerr)?
    };
    let mut rs = attr
        .create()
        .map_err(lerr)?
        .log_new_exec(true)
        .map_err(lerr)?;
    if scopes_alone {
        return finish(rs.restrict_self().map_err(lerr)?, plan, names);
    }
    let mut grants = plan.grants(root);
    if plan.handled.is_empty() {
        grants = vec![(PathBuf::from("/"), handled)];
    }
    for (p, rights) in grants {
        let Some(fd) = o_path(&p) else { continue }; // vanished: stays denied
        let rights = rights & handled;
        if rights.is_empty() {
            continue;
        }
        rs = rs
            .add_rule(PathBeneath::new(fd, rights))
            .map_err(|source| LaunchError::LandlockRule { path: p, source })?;
    }
    finish(rs.restrict_self().map_err(lerr)?, plan, names)
}

fn finish(
    status: landlock::RestrictionStatus,
    plan: &Plan,
    names: bool,
) -> Result<LandlockReport, LaunchError> {
    if status.ruleset == RulesetStatus::NotEnforced {
        return Err(LaunchError::LandlockNotEnforced);
    }
    Ok(LandlockReport {
        status: format!("{:?}", status.ruleset),
        notes: plan.notes(names),
    })
}
