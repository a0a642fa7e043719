//! The descriptor-based syscalls varmord resolves and performs names with: O_PATH opens,
//! openat2 beneath the sandbox's root, stat by descriptor, and ADDFD into the caller.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::{errno, Answer};

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

pub(super) fn o_path(path: &str, extra: i32) -> Result<OwnedFd, ()> {
    let c = CString::new(path).map_err(drop)?;
    // SAFETY: c is NUL-terminated; the fd returned is owned below.
    let fd = unsafe { libc::open(c.as_ptr(), libc::O_PATH | libc::O_CLOEXEC | extra) };
    if fd < 0 {
        return Err(());
    }
    // SAFETY: fd was just returned by open and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

pub(super) fn o_path_at(dir: RawFd, leaf: &CString, extra: i32) -> Result<OwnedFd, ()> {
    // SAFETY: leaf is NUL-terminated; the fd returned is owned below.
    let fd = unsafe { libc::openat(dir, leaf.as_ptr(), libc::O_PATH | libc::O_CLOEXEC | extra) };
    if fd < 0 {
        return Err(());
    }
    // SAFETY: fd was just returned by openat and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `leaf` in `dir` as an O_PATH fd, following a final symlink only if `follow`, never
/// a magic link.
pub(super) fn open_in(dir: RawFd, leaf: &CString, follow: bool) -> Result<OwnedFd, ()> {
    let how = OpenHow {
        flags: (libc::O_PATH | libc::O_CLOEXEC | if follow { 0 } else { libc::O_NOFOLLOW }) as u64,
        mode: 0,
        resolve: libc::RESOLVE_NO_MAGICLINKS,
    };
    openat2(dir, leaf, &how)
}

/// openat2(2): `path` from `dir` as `how` says.
fn openat2(dir: RawFd, path: &CString, how: &OpenHow) -> Result<OwnedFd, ()> {
    // SAFETY: path and how outlive the call; size is how's size.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir,
            path.as_ptr(),
            how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    } as RawFd;
    if fd < 0 {
        return Err(());
    }
    // SAFETY: fd was just returned by openat2 and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

pub(super) fn on_procfs(fd: RawFd) -> bool {
    let mut st = std::mem::MaybeUninit::<libc::statfs>::uninit();
    // SAFETY: st is written by the kernel before it is read.
    if unsafe { libc::fstatfs(fd, st.as_mut_ptr()) } != 0 {
        return true;
    }
    // SAFETY: fstatfs succeeded.
    let st = unsafe { st.assume_init() };
    st.f_type == libc::PROC_SUPER_MAGIC
}

/// The directory `dir` (absolute, as the sandbox sees it) under the sandbox's root.
pub(super) fn openat2_in_root(root: RawFd, dir: &str) -> Result<OwnedFd, ()> {
    let c = CString::new(dir).map_err(drop)?;
    let how = OpenHow {
        flags: (libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC) as u64,
        mode: 0,
        resolve: libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS,
    };
    openat2(root, &c, &how)
}

pub(super) fn fstat(fd: RawFd) -> Result<(u64, u64), ()> {
    let st = nix::sys::stat::fstat(fd).map_err(drop)?;
    Ok((st.st_dev, st.st_ino))
}

pub(super) fn fstat_mode(fd: RawFd) -> Result<u32, ()> {
    nix::sys::stat::fstat(fd).map(|s| s.st_mode).map_err(drop)
}

/// ((dev, ino), mode) of `leaf` in `dir`, not following a final symlink.
pub(super) fn lstat_at(dir: RawFd, leaf: &CString) -> Option<((u64, u64), u32)> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: leaf is NUL-terminated; st is written by the kernel before it is read.
    let r = unsafe {
        libc::fstatat(
            dir,
            leaf.as_ptr(),
            st.as_mut_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if r != 0 {
        return None;
    }
    // SAFETY: fstatat succeeded, so st is initialised.
    let st = unsafe { st.assume_init() };
    Some(((st.st_dev, st.st_ino), st.st_mode))
}

/// Has the directory `leaf` in `dir` a subdirectory (or can we not tell)?
pub(super) fn has_subdir(dir: RawFd, leaf: &CString) -> bool {
    let Ok(fd) = o_path_at(dir, leaf, libc::O_DIRECTORY | libc::O_NOFOLLOW) else {
        return true;
    };
    let Ok(rd) = std::fs::read_dir(format!("/proc/self/fd/{}", fd.as_raw_fd())) else {
        return true;
    };
    rd.flatten()
        .any(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(true))
}

/// Installs `file` in the caller (the call returns its number) and answers at once.
pub(super) fn add_fd(notify: RawFd, id: u64, file: &OwnedFd, cloexec: bool) -> Answer {
    let addfd = libc::seccomp_notif_addfd {
        id,
        flags: libc::SECCOMP_ADDFD_FLAG_SEND as u32,
        srcfd: file.as_raw_fd() as u32,
        newfd: 0,
        newfd_flags: if cloexec { libc::O_CLOEXEC as u32 } else { 0 },
    };
    // SAFETY: addfd is a valid seccomp_notif_addfd for this ioctl.
    let r = unsafe { libc::ioctl(notify, libc::SECCOMP_IOCTL_NOTIF_ADDFD, &addfd) };
    if r < 0 {
        Answer::Errno(errno())
    } else {
        Answer::Sent
    }
}
