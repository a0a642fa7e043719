//! Step 2: a fresh mount namespace for the sandbox. Unprivileged callers get a user
//! namespace too, mapping only their own uid and gid (the target sees its own ids, not
//! root); root gets CLONE_NEWNS alone. Every mount is made private.

use std::os::unix::fs::MetadataExt;

use nix::mount::{mount, MsFlags};
use nix::sched::{unshare, CloneFlags};
use nix::unistd::{getegid, geteuid};

use super::error::LaunchError;

fn ns_err(what: &str, e: impl std::error::Error + Send + Sync + 'static) -> LaunchError {
    LaunchError::NamespaceCall {
        what: what.to_string(),
        source: Box::new(e),
    }
}

/// Ubuntu 24.04+'s switch: unprivileged user namespaces only for AppArmor profiles that
/// allow `userns` (the package ships one for /usr/bin/varmor-run).
pub const RESTRICT_SYSCTL: &str = "/proc/sys/kernel/apparmor_restrict_unprivileged_userns";

/// The one-line explanation of an EPERM/EACCES while making the user namespace, when
/// `sysctl` (RESTRICT_SYSCTL) exists and is 1.
pub fn restricted_userns(what: &str, e: nix::Error, sysctl: &std::path::Path) -> Option<String> {
    if !matches!(e, nix::Error::EPERM | nix::Error::EACCES) {
        return None;
    }
    let on = std::fs::read_to_string(sysctl).ok()?.trim() == "1";
    on.then(|| {
        format!(
            "{what}: {e}: kernel.apparmor_restrict_unprivileged_userns=1 allows user namespaces \
             only to AppArmor profiles that grant `userns`; fix: install the varmor-run package \
             (its /etc/apparmor.d/varmor-run covers /usr/bin/varmor-run) or run \
             `sudo apparmor_parser -r /etc/apparmor.d/varmor-run`, or (for every program) \
             `sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0`"
        )
    })
}

/// An error of the unprivileged path, explained when AppArmor's restriction caused it.
fn userns_err(what: &str, e: nix::Error) -> LaunchError {
    match restricted_userns(what, e, std::path::Path::new(RESTRICT_SYSCTL)) {
        Some(line) => LaunchError::Namespace(line),
        None => ns_err(what, e),
    }
}

/// Enters the sandbox's mount namespace and returns its inode.
pub fn enter_sandbox_namespace() -> Result<u64, LaunchError> {
    let (uid, gid) = (geteuid(), getegid());
    if uid.is_root() {
        unshare(CloneFlags::CLONE_NEWNS).map_err(|e| ns_err("unshare(CLONE_NEWNS)", e))?;
    } else {
        // Under Ubuntu's restriction the unshare itself may succeed into a namespace
        // without capabilities; then the maps or the first mount fail instead.
        unshare(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNS).map_err(|e| {
            match restricted_userns(
                "unshare(CLONE_NEWUSER|CLONE_NEWNS)",
                e,
                std::path::Path::new(RESTRICT_SYSCTL),
            ) {
                Some(line) => LaunchError::Namespace(line),
                None => ns_err(
                    "unshare(CLONE_NEWUSER|CLONE_NEWNS) (are unprivileged user namespaces enabled?)",
                    e,
                ),
            }
        })?;
        let write = |file: &str, text: String| {
            std::fs::write(file, text).map_err(|e| {
                let errno = nix::Error::from_raw(e.raw_os_error().unwrap_or(0));
                userns_err(file, errno)
            })
        };
        write("/proc/self/setgroups", "deny".into())?;
        write("/proc/self/uid_map", format!("{uid} {uid} 1\n"))?;
        write("/proc/self/gid_map", format!("{gid} {gid} 1\n"))?;
    }
    // Nothing the sandbox does to its mounts may propagate back to the host.
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| {
        if uid.is_root() {
            ns_err("making mounts private", e)
        } else {
            userns_err("making mounts private", e)
        }
    })?;
    std::fs::metadata("/proc/self/ns/mnt")
        .map(|m| m.ino())
        .map_err(|e| ns_err("stat /proc/self/ns/mnt", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apparmor_restriction_is_named_with_the_fix() {
        let d = tempfile::tempdir().unwrap();
        let sysctl = d.path().join("apparmor_restrict_unprivileged_userns");
        let what = "unshare(CLONE_NEWUSER|CLONE_NEWNS)";
        assert_eq!(restricted_userns(what, nix::Error::EPERM, &sysctl), None);
        std::fs::write(&sysctl, "0\n").unwrap();
        assert_eq!(restricted_userns(what, nix::Error::EPERM, &sysctl), None);
        std::fs::write(&sysctl, "1\n").unwrap();
        assert_eq!(restricted_userns(what, nix::Error::ENOSPC, &sysctl), None);
        for e in [nix::Error::EPERM, nix::Error::EACCES] {
            let line = restricted_userns(what, e, &sysctl).unwrap();
            assert_eq!(line.lines().count(), 1);
            assert!(
                line.contains("kernel.apparmor_restrict_unprivileged_userns"),
                "{line}"
            );
            assert!(
                line.contains("apparmor_parser -r /etc/apparmor.d/varmor-run"),
                "{line}"
            );
        }
    }
}
