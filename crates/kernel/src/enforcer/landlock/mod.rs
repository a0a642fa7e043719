//! The Landlock plan: what the launcher's Landlock domain withholds, computed from the
//! rules alone. The launcher applies it (crates/launcher/src/landlock.rs); compat's
//! name-change answers in varmord recompute it (crates/kernel/src/enforcer/compat/names/).
//! Always: signals and ptrace scoped to the sandbox, and cgroup files unwritable where no
//! read-only mount holds them. On the compat backend also the parts of file rules
//! fanotify cannot see: create, delete, rename, link (and truncate where a rule denies it
//! without denying writes) on protected paths.
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
//! performs allowed ones itself in the chain (compat/names/). On bpf-lsm the LSM hooks
//! enforce those rules exactly, so none of this is done there.
//!
//! The parts: `expand` (patterns over what exists), `plan` (the chain, the protected
//! roots and the beneath-rules), `rights` (profile accesses as Landlock rights, and the
//! notes telling where the sandbox is stricter), `abi` (what the running kernel's
//! Landlock lacks).

mod abi;
mod expand;
mod plan;
mod rights;
#[cfg(test)]
mod tests;

pub use abi::{kernel_abi, rights_of, unenforced};
pub use expand::component_matches;
pub use plan::{Plan, Protection};
pub use rights::{name_rights, rights_text};

/// Which parts of the rules Landlock carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Carry {
    /// compat: the file rules' name changes, plus the anti-escape part.
    Rules,
    /// bpf-lsm (its LSM hooks enforce file rules exactly): only the anti-escape part.
    AntiEscape,
}

impl Carry {
    pub fn for_backend(backend: varmor_core::proto::Backend) -> Carry {
        match backend {
            varmor_core::proto::Backend::Compat => Carry::Rules,
            varmor_core::proto::Backend::BpfLsm => Carry::AntiEscape,
        }
    }
}

/// How the cgroup files are kept from being written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupHold {
    /// Every cgroup mount of the namespace is read-only (the launcher made them so,
    /// crates/launcher/src/cgroupfs.rs).
    ReadOnlyMounts,
    /// The kernel has no mount_setattr(2): Landlock withholds writes beneath
    /// /sys/fs/cgroup.
    Landlock,
}
