//! The calls that make a name: open(O_CREAT) and creat, mkdir and mknod, symlink, link.

use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use super::caller::{read_path, umask_of};
use super::fs::{add_fd, fstat_mode, lstat_at, o_path, open_in};
use super::{errno, opener, ret, Answer, Answered, Call, Names, Pair};
use varmor_core::abi;

impl Names {
    /// open(2), openat(2) and creat(2): `name` is (dirfd, path).
    pub(super) fn open(&self, c: Call<'_>, name: (u64, u64), flags: u64, mode: u64) -> Answered {
        let Call { notify, req, pid } = c;
        let (dirfd, addr) = name;
        let flags = flags as i32;
        if flags & libc::O_CREAT == 0 || flags & libc::O_TMPFILE == libc::O_TMPFILE {
            return Ok(Answer::Continue);
        }
        let n = self.resolve(pid, dirfd, addr, false)?;
        // An existing name is an open, not a create: the kernel and fanotify answer it.
        if lstat_at(n.dir.as_raw_fd(), &n.leaf).is_some() {
            return Ok(Answer::Continue);
        }
        // A new file is created empty: O_TRUNC truncates nothing.
        let want = abi::MAY_CREATE | opener::open_access((flags & !libc::O_TRUNC) as u64).bits();
        Self::live(notify, req)?;
        if let Some(a) = self.check(pid, "open", want, &n.full) {
            return Ok(a);
        }
        if !n.in_chain {
            return Ok(Answer::Continue);
        }
        let umask = umask_of(pid).ok_or(())?;
        let how = flags | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;
        // SAFETY: leaf is NUL-terminated; the fd returned is owned below.
        let fd = unsafe {
            libc::openat(
                n.dir.as_raw_fd(),
                n.leaf.as_ptr(),
                how,
                (mode as u32 & 0o7777 & !umask) as libc::c_uint,
            )
        };
        if fd < 0 {
            let e = errno();
            // Made meanwhile: now it is an open (or the caller's O_EXCL says EEXIST).
            return Ok(if e == libc::EEXIST && flags & libc::O_EXCL == 0 {
                Answer::Continue
            } else {
                Answer::Errno(e)
            });
        }
        // SAFETY: fd was just returned by openat and nothing else owns it.
        let file = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(add_fd(notify, req.id, &file, flags & libc::O_CLOEXEC != 0))
    }

    /// mkdir(2) and mknod(2) (and their *at forms): `name` is (dirfd, path).
    pub(super) fn mknod(&self, c: Call<'_>, what: &str, name: (u64, u64), mode: u64) -> Answered {
        let Call { notify, req, pid } = c;
        let (dirfd, addr) = name;
        let mode = mode as u32;
        let kind = mode & libc::S_IFMT;
        let kind = if kind == 0 { libc::S_IFREG } else { kind };
        if ![libc::S_IFDIR, libc::S_IFREG, libc::S_IFIFO, libc::S_IFSOCK].contains(&kind) {
            return Ok(Answer::Continue); // devices: the kernel refuses them without caps
        }
        let n = self.resolve(pid, dirfd, addr, kind == libc::S_IFDIR)?;
        if let Some(a) = self.check(pid, what, abi::MAY_CREATE, &n.full) {
            return Ok(a);
        }
        if !n.in_chain {
            return Ok(Answer::Continue);
        }
        Self::live(notify, req)?;
        let umask = umask_of(pid).ok_or(())?;
        let perm = mode & 0o7777 & !umask;
        let d = n.dir.as_raw_fd();
        // SAFETY: leaf is NUL-terminated; d is our own directory fd.
        let r = unsafe {
            if kind == libc::S_IFDIR {
                libc::mkdirat(d, n.leaf.as_ptr(), perm)
            } else {
                libc::mknodat(d, n.leaf.as_ptr(), kind | perm, 0)
            }
        };
        if r == 0 && kind == libc::S_IFDIR {
            if let Some(id) = lstat_at(d, &n.leaf) {
                self.made.borrow_mut().insert(id.0);
                self.made_paths.borrow_mut().insert(n.full.clone());
            }
        }
        Ok(ret(r))
    }

    pub(super) fn symlink(&self, c: Call<'_>, target: u64, dirfd: u64, addr: u64) -> Answered {
        let Call { notify, req, pid } = c;
        let target = CString::new(read_path(pid, target).map_err(drop)?).map_err(drop)?;
        let n = self.resolve(pid, dirfd, addr, false)?;
        if let Some(a) = self.check(pid, "symlink", abi::MAY_CREATE, &n.full) {
            return Ok(a);
        }
        if let Some(a) = self.check_below(pid, "symlink", abi::MAY_CREATE, &n.full) {
            return Ok(a);
        }
        if !n.in_chain {
            return Ok(Answer::Continue);
        }
        Self::live(notify, req)?;
        // SAFETY: both strings are NUL-terminated; the fd is ours.
        Ok(ret(unsafe {
            libc::symlinkat(target.as_ptr(), n.dir.as_raw_fd(), n.leaf.as_ptr())
        }))
    }

    pub(super) fn link(&self, c: Call<'_>, p: Pair) -> Answered {
        let Call { notify, req, pid } = c;
        let Pair(olddir, old, newdir, new, flags) = p;
        let flags = flags as i32;
        let old_path = read_path(pid, old).ok();
        // The caller's own descriptor: AT_EMPTY_PATH, or the O_TMPFILE idiom
        // linkat(AT_FDCWD, "/proc/self/fd/N", ..., AT_SYMLINK_FOLLOW).
        let own_fd = match old_path.as_deref() {
            None if flags & libc::AT_EMPTY_PATH != 0 => Some(olddir as i32),
            Some(p) if flags & libc::AT_SYMLINK_FOLLOW != 0 => {
                ["/proc/self/fd/", "/proc/thread-self/fd/"]
                    .iter()
                    .find_map(|pre| p.strip_prefix(pre))
                    .and_then(|n| n.parse::<i32>().ok())
            }
            _ => None,
        };
        let (src, src_in_chain) = match (own_fd, old_path.as_deref()) {
            (Some(fd), _) => (o_path(&format!("/proc/{pid}/fd/{fd}"), 0)?, false),
            (None, None) => return Ok(Answer::Continue),
            (None, Some(p)) => {
                let s = self.resolve_str(pid, olddir, p, false)?;
                let follow = flags & libc::AT_SYMLINK_FOLLOW != 0;
                (open_in(s.dir.as_raw_fd(), &s.leaf, follow)?, s.in_chain)
            }
        };
        let st = fstat_mode(src.as_raw_fd())?;
        if st & libc::S_IFMT == libc::S_IFLNK || st & libc::S_IFMT == libc::S_IFDIR {
            return Ok(Answer::Continue);
        }
        let src_path =
            std::fs::read_link(format!("/proc/self/fd/{}", src.as_raw_fd())).map_err(drop)?;
        let n = self.resolve(pid, newdir, new, false)?;
        if let Some(a) = self.check(pid, "link", abi::MAY_LINK, &src_path) {
            return Ok(a);
        }
        if let Some(a) = self.check(pid, "link", abi::MAY_LINK | abi::MAY_CREATE, &n.full) {
            return Ok(a);
        }
        if !n.in_chain && !src_in_chain {
            return Ok(Answer::Continue);
        }
        Self::live(notify, req)?;
        let via = CString::new(format!("/proc/self/fd/{}", src.as_raw_fd())).map_err(drop)?;
        // SAFETY: NUL-terminated strings; the fds are ours.
        Ok(ret(unsafe {
            libc::linkat(
                libc::AT_FDCWD,
                via.as_ptr(),
                n.dir.as_raw_fd(),
                n.leaf.as_ptr(),
                libc::AT_SYMLINK_FOLLOW,
            )
        }))
    }
}
