//! Step 5: Landlock. Always: signals and ptrace scoped to the sandbox (cgroup files are
//! kept unwritable by read-only mounts, src/launcher/cgroupfs.rs, or by a Landlock rule on
//! kernels without mount_setattr). On the compat backend also the parts
//! of file rules fanotify cannot see: create, delete, rename, link (and truncate where a
//! rule denies it without denying writes) on protected paths.
//!
//! Landlock grants rights by hierarchy, so "no create/delete/rename/link under P" is a
//! plan computed at launch from what exists (`plan`):
//! - every pattern is expanded over the filesystem (`/home/*/.ssh/**` becomes one
//!   *protected root* per existing home, `/home/alice/.ssh`, whether that exists or not);
//! - the existing directories on the way to a protected root (`/`, `/home`,
//!   `/home/alice`) and those where a wildcard component is expanded form the *chain*:
//!   no rule grants the withheld rights on them, so their direct entries lack them;
//! - everything hanging off the chain (siblings: `/usr`, `/home/alice/proj`, ...) gets a
//!   rule granting every right not withheld above it, and a protected root gets what is
//!   not withheld at or above it.
//!
//! On compat the direct entries of chain directories are not left stricter than the rule:
//! the launcher's seccomp notification filter sends name-changing calls to varmord, which
//! performs allowed ones itself in the chain (src/enforcer/compat/names/). On bpf-lsm the
//! LSM hooks enforce those rules exactly, so none of this is done there.
//!
//! The parts: `expand` (patterns over what exists), `plan` (the chain, the protected
//! roots and the beneath-rules), `rights` (profile accesses as Landlock rights, and the
//! notes telling where the sandbox is stricter), and `apply` below.

mod expand;
mod plan;
mod rights;
#[cfg(test)]
mod tests;

pub use expand::component_matches;
pub use plan::{Plan, Protection};
pub use rights::{name_rights, rights_text};

use std::ffi::CString;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use landlock::{
    AccessFs, BitFlags, PathBeneath, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope,
};

use super::error::LaunchError;
use crate::rules::RuleSet;

pub struct LandlockReport {
    pub status: String,
    /// Where the sandbox is stricter than its rules (one line each; empty when exact).
    pub notes: Vec<String>,
}

/// The rules of `plan` whose rights this kernel's Landlock lacks (one line each,
/// src/launcher/landlock_abi.rs): checked before anything is restricted.
pub fn check(plan: &Plan, rules: &RuleSet) -> Vec<String> {
    super::landlock_abi::unenforced(plan, rules, crate::probe::landlock_abi())
}

/// Which parts of the rules Landlock carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carry {
    /// compat: the file rules' name changes, plus the anti-escape part.
    Rules,
    /// bpf-lsm (its LSM hooks enforce file rules exactly): only the anti-escape part.
    AntiEscape,
}

impl Carry {
    pub fn for_backend(backend: crate::proto::Backend) -> Carry {
        match backend {
            crate::proto::Backend::Compat => Carry::Rules,
            crate::proto::Backend::BpfLsm => Carry::AntiEscape,
        }
    }
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
    let scopes_alone = plan.handled.is_empty() && crate::probe::landlock_abi() >= Some(6);
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
