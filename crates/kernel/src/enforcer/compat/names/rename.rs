//! The calls that move or remove a name (rename, unlink, rmdir), and truncate(2) by
//! path, which varmord always performs itself.

use std::ffi::CString;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use super::fs::{has_subdir, lstat_at, open_in};
use super::{ret, Answer, Answered, Call, Names, Pair};
use varmor_core::abi;

impl Names {
    pub(super) fn rename(&self, c: Call<'_>, p: Pair) -> Answered {
        let Call { notify, req, pid } = c;
        let Pair(olddir, old, newdir, new, flags) = p;
        let flags = flags as u32;
        if flags & libc::RENAME_WHITEOUT != 0 {
            return Ok(Answer::Continue);
        }
        let exchange = flags & libc::RENAME_EXCHANGE != 0;
        let s = self.resolve(pid, olddir, old, false)?;
        let d = self.resolve(pid, newdir, new, false)?;
        let Some((src_id, src_mode)) = lstat_at(s.dir.as_raw_fd(), &s.leaf) else {
            return Ok(Answer::Continue);
        };
        let dst = lstat_at(d.dir.as_raw_fd(), &d.leaf);
        let subtree = |m: u32| matches!(m & libc::S_IFMT, libc::S_IFDIR | libc::S_IFLNK);
        let rename = abi::MAY_RENAME;
        if let Some(a) = self.check(pid, "rename", rename, &s.full) {
            return Ok(a);
        }
        let replaced = if dst.is_some() && !exchange {
            abi::MAY_DELETE
        } else {
            0
        };
        if let Some(a) = self.check(pid, "rename", rename | replaced, &d.full) {
            return Ok(a);
        }
        if subtree(src_mode) {
            for p in [&s.full, &d.full] {
                if let Some(a) = self.check_below(pid, "rename", abi::MAY_RENAME, p) {
                    return Ok(a);
                }
            }
        }
        if exchange && dst.is_some_and(|(_, m)| subtree(m)) {
            if let Some(a) = self.check_below(pid, "rename", abi::MAY_RENAME, &d.full) {
                return Ok(a);
            }
        }
        if !s.in_chain && !d.in_chain {
            return Ok(Answer::Continue);
        }
        Self::live(notify, req)?;
        // A tree moved in from where Landlock grants everything would lose it below its
        // top: only a directory without subdirectories is moved (mv copies on EXDEV).
        let is_dir = src_mode & libc::S_IFMT == libc::S_IFDIR;
        if is_dir && !s.in_chain && d.in_chain && has_subdir(s.dir.as_raw_fd(), &s.leaf) {
            return Ok(Answer::Errno(libc::EXDEV));
        }
        if exchange
            && dst.is_some_and(|(_, m)| m & libc::S_IFMT == libc::S_IFDIR)
            && !d.in_chain
            && s.in_chain
            && has_subdir(d.dir.as_raw_fd(), &d.leaf)
        {
            return Ok(Answer::Errno(libc::EXDEV));
        }
        // SAFETY: NUL-terminated names; the fds are ours.
        let r = unsafe {
            libc::syscall(
                libc::SYS_renameat2,
                s.dir.as_raw_fd(),
                s.leaf.as_ptr(),
                d.dir.as_raw_fd(),
                d.leaf.as_ptr(),
                flags,
            )
        } as libc::c_int;
        if r == 0 && is_dir {
            self.moved(&s.full, &d.full, d.in_chain);
            if d.in_chain {
                self.made.borrow_mut().insert(src_id);
            }
        }
        Ok(ret(r))
    }

    pub(super) fn unlink(&self, c: Call<'_>, dirfd: u64, addr: u64, flags: u64) -> Answered {
        let Call { notify, req, pid } = c;
        let flags = flags as i32 & libc::AT_REMOVEDIR;
        let n = self.resolve(pid, dirfd, addr, flags != 0)?;
        if let Some(a) = self.check(pid, "delete", abi::MAY_DELETE, &n.full) {
            return Ok(a);
        }
        if !n.in_chain {
            return Ok(Answer::Continue);
        }
        Self::live(notify, req)?;
        // SAFETY: leaf is NUL-terminated; the fd is ours.
        let r = unsafe { libc::unlinkat(n.dir.as_raw_fd(), n.leaf.as_ptr(), flags) };
        if r == 0 && flags != 0 {
            self.made_paths.borrow_mut().remove(&n.full);
        }
        Ok(ret(r))
    }

    /// A directory varmord renamed from `from` to `to`: the paths it made below move with
    /// it (and leave the list where Landlock grants everything: `into_chain` false).
    pub(super) fn moved(&self, from: &Path, to: &Path, into_chain: bool) {
        let mut m = self.made_paths.borrow_mut();
        let below: Vec<PathBuf> = m.iter().filter(|p| p.starts_with(from)).cloned().collect();
        for p in below {
            m.remove(&p);
            if into_chain {
                if let Ok(rest) = p.strip_prefix(from) {
                    m.insert(to.join(rest));
                }
            }
        }
        if into_chain {
            m.insert(to.to_path_buf());
        }
    }

    /// truncate(2) by path: never continued (Landlock may not carry truncate), always
    /// performed on the file varmord resolved.
    pub(super) fn truncate(&self, c: Call<'_>, addr: u64, len: u64) -> Answered {
        let Call { notify, req, pid } = c;
        let n = self.resolve(pid, libc::AT_FDCWD as u64, addr, false)?;
        let file = match open_in(n.dir.as_raw_fd(), &n.leaf, true) {
            Ok(f) => f,
            Err(()) => return Ok(Answer::Errno(libc::ENOENT)),
        };
        let real =
            std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())).map_err(drop)?;
        if let Some(a) = self.check(pid, "truncate", abi::MAY_TRUNCATE, &real) {
            return Ok(a);
        }
        Self::live(notify, req)?;
        let via = CString::new(format!("/proc/self/fd/{}", file.as_raw_fd())).map_err(drop)?;
        // SAFETY: via is NUL-terminated and names our own fd.
        Ok(ret(unsafe {
            libc::truncate(via.as_ptr(), len as libc::off_t)
        }))
    }
}
