//! Step 2: a fresh mount namespace for the sandbox. Unprivileged callers get a user
//! namespace too, mapping only their own uid and gid (the target sees its own ids, not
//! root); root gets CLONE_NEWNS alone. Every mount is made private.

use std::os::unix::fs::MetadataExt;

use nix::mount::{mount, MsFlags};
use nix::sched::{unshare, CloneFlags};
use nix::unistd::{getegid, geteuid};

use super::error::LaunchError;

fn ns_err(what: &str, e: impl std::fmt::Display) -> LaunchError {
    LaunchError::Namespace(format!("{what}: {e}"))
}

/// Enters the sandbox's mount namespace and returns its inode.
pub fn enter_sandbox_namespace() -> Result<u64, LaunchError> {
    let (uid, gid) = (geteuid(), getegid());
    if uid.is_root() {
        unshare(CloneFlags::CLONE_NEWNS).map_err(|e| ns_err("unshare(CLONE_NEWNS)", e))?;
    } else {
        unshare(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNS).map_err(|e| {
            ns_err(
                "unshare(CLONE_NEWUSER|CLONE_NEWNS) (are unprivileged user namespaces enabled?)",
                e,
            )
        })?;
        std::fs::write("/proc/self/setgroups", "deny")
            .map_err(|e| ns_err("/proc/self/setgroups", e))?;
        std::fs::write("/proc/self/uid_map", format!("{uid} {uid} 1\n"))
            .map_err(|e| ns_err("/proc/self/uid_map", e))?;
        std::fs::write("/proc/self/gid_map", format!("{gid} {gid} 1\n"))
            .map_err(|e| ns_err("/proc/self/gid_map", e))?;
    }
    // Nothing the sandbox does to its mounts may propagate back to the host.
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| ns_err("making mounts private", e))?;
    std::fs::metadata("/proc/self/ns/mnt")
        .map(|m| m.ino())
        .map_err(|e| ns_err("stat /proc/self/ns/mnt", e))
}
