//! Step 2b: every cgroup filesystem of the sandbox's mount namespace made read-only, so no
//! process inside can write a `cgroup.procs` (leaving the sandbox's cgroup, which varmord
//! reads as the sandbox having ended). This is bubblewrap's `--ro-bind` for one kind of
//! mount: a flag on the sandbox's own copies, nothing on the host changes.
//!
//! It replaces a Landlock rule withholding writes beneath /sys/fs/cgroup, which made every
//! open in the sandbox pay Landlock's path walk: with it done here the Landlock domain can
//! be scopes alone. The sandbox cannot undo it: it holds no capability after step 3, the
//! seccomp filter refuses the mount calls, and a mount namespace it might make copies the
//! mounts with their read-only flag locked.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use super::error::LaunchError;

/// `struct mount_attr` of linux/mount.h (mount_setattr(2), Linux 5.12).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

const MOUNT_ATTR_RDONLY: u64 = 0x1;

pub use varmor_kernel::enforcer::landlock::CgroupHold;

/// The cgroup and cgroup2 mounts listed in `mountinfo` (the text of /proc/self/mountinfo).
pub fn cgroup_mounts(mountinfo: &str) -> Vec<varmor_kernel::procfs::Mount> {
    varmor_kernel::procfs::mounts(mountinfo)
        .into_iter()
        .filter(|m| m.fstype == "cgroup" || m.fstype == "cgroup2")
        .collect()
}

fn err(point: &str, what: &'static str, source: std::io::Error) -> LaunchError {
    LaunchError::CgroupReadOnly {
        point: point.to_string(),
        what,
        source,
    }
}

/// Makes every cgroup mount of the current (fresh, private) mount namespace read-only.
/// A mount hidden under another one is skipped: no path reaches it. Fails closed on any
/// other error, naming the mount.
pub fn make_read_only() -> Result<CgroupHold, LaunchError> {
    let info = varmor_kernel::procfs::read_text("/proc/self/mountinfo")
        .map_err(|e| err("/proc/self/mountinfo", "reading", e))?;
    for m in cgroup_mounts(&info) {
        let Ok(c) = CString::new(m.point.as_str()) else {
            continue;
        };
        // SAFETY: c is NUL-terminated; the returned fd is owned just below.
        let fd = unsafe {
            libc::open(
                c.as_ptr(),
                libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            continue; // its mount point is gone from view: nothing inside reaches it
        }
        // SAFETY: fd was just returned by open and nothing else owns it.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // Overmounted: the path leads to another mount, which is left alone.
        if mount_id(&fd) != Some(m.id) {
            continue;
        }
        let attr = MountAttr {
            attr_set: MOUNT_ATTR_RDONLY,
            attr_clr: 0,
            propagation: 0,
            userns_fd: 0,
        };
        // SAFETY: fd is an open O_PATH descriptor, "" with AT_EMPTY_PATH names it, and attr
        // is a valid mount_attr of the size passed.
        let r = unsafe {
            libc::syscall(
                libc::SYS_mount_setattr,
                fd.as_raw_fd(),
                c"".as_ptr(),
                libc::AT_EMPTY_PATH as libc::c_uint,
                &attr as *const MountAttr,
                std::mem::size_of::<MountAttr>(),
            )
        };
        if r != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::ENOSYS) {
                return Ok(CgroupHold::Landlock);
            }
            return Err(err(&m.point, "making it read-only (mount_setattr)", e));
        }
    }
    Ok(CgroupHold::ReadOnlyMounts)
}

/// The mount id of `fd` (statx STATX_MNT_ID, Linux 5.8).
fn mount_id(fd: &OwnedFd) -> Option<u64> {
    // SAFETY: an all-zero statx is a valid value for the kernel to fill.
    let mut st: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: fd is open, "" with AT_EMPTY_PATH names it, st is writable and sized.
    let r = unsafe {
        libc::statx(
            fd.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH,
            libc::STATX_MNT_ID,
            &mut st,
        )
    };
    (r == 0 && st.stx_mask & libc::STATX_MNT_ID != 0).then_some(st.stx_mnt_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_mounts_are_found_and_others_left() {
        let info = "\
25 1 254:0 / / rw,relatime - ext4 /dev/vda rw
30 25 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec - tmpfs tmpfs ro,mode=755
31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw
32 30 0:28 / /sys/fs/cgroup/memory rw,nosuid - cgroup cgroup rw,memory
33 25 0:29 / /srv/my\\040cg rw - cgroup2 none rw
34 25 0:30 / /srv/x rw - tmpfs cgroup rw
";
        let m = cgroup_mounts(info);
        let got: Vec<(u64, &str)> = m.iter().map(|m| (m.id, m.point.as_str())).collect();
        assert_eq!(
            got,
            vec![
                (31, "/sys/fs/cgroup/unified"),
                (32, "/sys/fs/cgroup/memory"),
                (33, "/srv/my cg")
            ]
        );
    }
}
