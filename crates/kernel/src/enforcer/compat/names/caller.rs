//! Taking on the caller's filesystem identity, and reading what varmord needs of it:
//! its ids and umask from /proc/PID/status, a path from its memory.

use super::{errno, Names};

impl Names {
    /// Becomes the caller (filesystem ids, groups, umask 0 of its own, no capability but
    /// CAP_SYS_PTRACE), once, on this thread only.
    pub fn become_caller(&self, pid: i32) -> Result<(), i32> {
        // Once: a sandbox has no capability to change its ids (setfsuid to its own is all).
        if self.became.get() {
            return Ok(());
        }
        let (fsuid, fsgid, groups) = status_ids(pid).ok_or(libc::ESRCH)?;
        // SAFETY: unshare(CLONE_FS) gives this thread its own cwd, root and umask.
        if unsafe { libc::unshare(libc::CLONE_FS) } != 0 {
            return Err(errno());
        }
        // SAFETY: umask has no preconditions; it is this thread's own now.
        unsafe { libc::umask(0) };
        // The raw syscall changes this thread only (glibc's setgroups changes them all).
        // SAFETY: groups outlives the call; the length is its length.
        if unsafe { libc::syscall(libc::SYS_setgroups, groups.len(), groups.as_ptr()) } != 0 {
            return Err(errno());
        }
        // SAFETY: setfsgid/setfsuid change this thread's filesystem ids only.
        unsafe {
            libc::setfsgid(fsgid);
            libc::setfsuid(fsuid);
        }
        // setfsuid reports the id in force, not errors: ask with an invalid one.
        // SAFETY: as above; u32::MAX is refused and changes nothing.
        let (u, g) = unsafe { (libc::setfsuid(u32::MAX), libc::setfsgid(u32::MAX)) };
        if u as u32 != fsuid || g as u32 != fsgid {
            return Err(libc::EPERM);
        }
        let keep: caps::CapsHashSet = [caps::Capability::CAP_SYS_PTRACE].into_iter().collect();
        for set in [caps::CapSet::Effective, caps::CapSet::Permitted] {
            caps::set(None, set, &keep).map_err(|_| libc::EPERM)?;
        }
        caps::clear(None, caps::CapSet::Inheritable).map_err(|_| libc::EPERM)?;
        self.became.set(true);
        Ok(())
    }
}

/// fsuid, fsgid and supplementary groups of `pid`, from /proc/PID/status.
pub(in crate::enforcer::compat) fn status_ids(pid: i32) -> Option<(u32, u32, Vec<u32>)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |k: &str| -> Vec<u32> {
        s.lines()
            .find_map(|l| l.strip_prefix(k))
            .map(|v| {
                v.split_whitespace()
                    .filter_map(|n| n.parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    };
    let (uid, gid) = (field("Uid:"), field("Gid:"));
    Some((*uid.get(3)?, *gid.get(3)?, field("Groups:")))
}

pub(super) fn umask_of(pid: i32) -> Option<u32> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("Umask:"))
        .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
}

/// A NUL-terminated path (at most PATH_MAX bytes) from the caller's memory, read with
/// process_vm_readv page by page (one syscall for most paths).
pub(super) fn read_path(pid: i32, addr: u64) -> Result<String, i32> {
    const PAGE: u64 = 4096;
    let mut out: Vec<u8> = Vec::new();
    let mut at = addr;
    while out.len() < libc::PATH_MAX as usize {
        let len = (PAGE - at % PAGE) as usize;
        let start = out.len();
        out.resize(start + len, 0);
        let local = libc::iovec {
            iov_base: out[start..].as_mut_ptr().cast(),
            iov_len: len,
        };
        let remote = libc::iovec {
            iov_base: at as *mut libc::c_void,
            iov_len: len,
        };
        // SAFETY: local points into `out`, writable for `len` bytes; the remote range is
        // the caller's and only read.
        let n = unsafe { libc::process_vm_readv(pid, &local, 1, &remote, 1, 0) };
        if n <= 0 {
            return Err(if start == 0 {
                libc::EFAULT
            } else {
                libc::ENAMETOOLONG
            });
        }
        out.truncate(start + n as usize);
        if let Some(end) = out[start..].iter().position(|&b| b == 0) {
            out.truncate(start + end);
            if out.is_empty() {
                return Err(libc::ENOENT);
            }
            return String::from_utf8(out).map_err(|_| libc::EINVAL);
        }
        at += n as u64;
    }
    Err(libc::ENAMETOOLONG)
}
