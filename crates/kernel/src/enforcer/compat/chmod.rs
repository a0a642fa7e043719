//! chmod rules on the compat backend. Landlock has no chmod right, so the launcher sends
//! chmod, fchmod and fchmodat to varmord through a seccomp user-notification filter and
//! varmord answers them: it resolves the target as the caller would, denies it when a rule
//! says so, and otherwise performs the chmod itself on the file it resolved and checked.
//! It never lets the kernel continue the original call (the path in the caller's memory
//! could change between the check and the use). Permission checks are the ones the caller
//! would face without capabilities: owner only, set-group-ID cleared outside the file's
//! group.

use std::ffi::CString;
use std::io::{Read, Seek, SeekFrom};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::sync::Arc;

use libseccomp::{notify_id_valid, ScmpNotifReq, ScmpNotifResp, ScmpNotifRespFlags};

use super::names::Answer;
use super::opener;
use crate::enforcer::{Outcome, Report};
use varmor_core::matcher::PathIndex;
use varmor_core::profile::file::Access;
use varmor_core::rules::{Mode, RuleSet};

/// The syscalls the launcher's notification filter hands over.
pub const CHMOD_SYSCALLS: &[&str] = &["chmod", "fchmod", "fchmodat"];

/// Whether `rules` need the chmod filter on compat.
pub fn needed(rules: &RuleSet) -> bool {
    rules.paths.iter().any(|r| {
        r.action == varmor_core::profile::file::Action::Deny
            && r.access.bits() & varmor_core::abi::MAY_CHMOD != 0
    })
}

/// The answering thread of one sandbox (chmod and, with names rules, the name-changing
/// calls of names/); dropping it stops the thread.
pub struct ChmodGuard {
    _worker: super::worker::Worker,
}

/// Starts answering the chmod notifications of one sandbox on `notify`.
pub fn start(
    notify: OwnedFd,
    rules: Arc<RuleSet>,
    id: u64,
    report: Report,
) -> std::io::Result<ChmodGuard> {
    let a = Answerer {
        index: PathIndex::new(&rules.paths),
        enforce: rules.mode == Mode::Enforce,
        names: super::names::Names::new(rules.clone(), report.clone()),
        report,
    };
    super::worker::Worker::spawn(format!("chmod-{id}"), move |w| a.run(&notify, &w))
        .map(|w| ChmodGuard { _worker: w })
}

struct Answerer {
    index: PathIndex,
    enforce: bool,
    names: super::names::Names,
    report: Report,
}

impl Answerer {
    /// Until stopped, or until every process of the filter has ended (POLLHUP).
    fn run(&self, notify: &OwnedFd, waiter: &super::worker::Waiter) {
        while waiter.wait(notify.as_fd()) {
            let fd = notify.as_raw_fd();
            let Ok(req) = ScmpNotifReq::receive(fd) else {
                continue; // the caller went away before we read it
            };
            let name = req.data.syscall.get_name().unwrap_or_default();
            let none = ScmpNotifRespFlags::empty();
            let resp = if CHMOD_SYSCALLS.contains(&name.as_str()) {
                // The thread takes on the caller's filesystem identity before anything.
                match self.names.become_caller(req.pid as i32) {
                    Ok(()) => match self.answer(fd, &req) {
                        0 => ScmpNotifResp::new_val(req.id, 0, none),
                        e => ScmpNotifResp::new_error(req.id, -e, none),
                    },
                    Err(e) => ScmpNotifResp::new_error(req.id, -e, none),
                }
            } else {
                match self.names.answer(fd, &req, &name) {
                    Answer::Sent => continue,
                    Answer::Continue => ScmpNotifResp::new_continue(req.id, none),
                    Answer::Val(v) => ScmpNotifResp::new_val(req.id, v, none),
                    Answer::Errno(e) => ScmpNotifResp::new_error(req.id, -e, none),
                }
            };
            let _ = resp.respond(fd);
        }
    }

    /// 0, or the errno the caller gets.
    fn answer(&self, notify: RawFd, req: &ScmpNotifReq) -> i32 {
        let pid = req.pid as i32;
        let a = req.data.args;
        let name = req.data.syscall.get_name().unwrap_or_default();
        let (file, mode) = match name.as_str() {
            "fchmod" => (open_fd(pid, a[0] as i32), a[1]),
            "chmod" => (open_at(pid, libc::AT_FDCWD, a[0], 0), a[1]),
            // fchmodat(2) has no flags argument (fchmodat2 has; the filter answers it ENOSYS).
            "fchmodat" => (open_at(pid, a[0] as i32, a[1], 0), a[2]),
            _ => return libc::ENOSYS,
        };
        // The request must still be live: the pid cannot have been reused meanwhile.
        if notify_id_valid(notify, req.id).is_err() {
            return libc::ESRCH;
        }
        let file = match file {
            Ok(f) => f,
            Err(e) => return e,
        };
        let path =
            std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())).unwrap_or_default();
        let bytes = path.as_os_str().as_encoded_bytes();
        let chmod = Access::from_bits(varmor_core::abi::MAY_CHMOD).unwrap_or_default();
        if let Some(origin) = self.index.lookup(bytes).denies(chmod) {
            (self.report)(opener::path_line(
                "chmod".into(),
                &path,
                pid,
                origin,
                Outcome::refusal(self.enforce),
            ));
            if self.enforce {
                return libc::EPERM;
            }
        }
        perform(pid, file.as_fd(), mode as u32)
    }
}

/// chmod as the caller (no capabilities) would be allowed to do it.
fn perform(pid: i32, file: BorrowedFd<'_>, mode: u32) -> i32 {
    let Some((fsuid, fsgid, groups)) = super::names::status_ids(pid) else {
        return libc::ESRCH;
    };
    let proc = format!("/proc/self/fd/{}", file.as_raw_fd());
    let Ok(meta) = std::fs::metadata(&proc) else {
        return libc::ENOENT;
    };
    if meta.uid() != fsuid {
        return libc::EPERM;
    }
    let mut mode = mode & 0o7777;
    if meta.gid() != fsgid && !groups.contains(&meta.gid()) {
        mode &= !libc::S_ISGID;
    }
    let c = CString::new(proc).unwrap_or_default();
    // SAFETY: c is a NUL-terminated path naming our own O_PATH fd; chmod follows it to
    // the file the caller named.
    if unsafe { libc::chmod(c.as_ptr(), mode) } == 0 {
        0
    } else {
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EPERM)
    }
}

fn o_path(path: &str, nofollow: bool) -> Result<OwnedFd, i32> {
    let c = CString::new(path).map_err(|_| libc::EINVAL)?;
    let flags = libc::O_PATH | libc::O_CLOEXEC | if nofollow { libc::O_NOFOLLOW } else { 0 };
    // SAFETY: c is NUL-terminated; the returned fd is owned below.
    let fd = unsafe { libc::open(c.as_ptr(), flags) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::ENOENT));
    }
    // SAFETY: fd was just returned by open and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The file behind the caller's descriptor `fd`.
fn open_fd(pid: i32, fd: i32) -> Result<OwnedFd, i32> {
    o_path(&format!("/proc/{pid}/fd/{fd}"), false)
}

/// The file the caller names with (dirfd, path in its memory at `addr`, flags).
fn open_at(pid: i32, dirfd: i32, addr: u64, flags: i32) -> Result<OwnedFd, i32> {
    if flags & !libc::AT_SYMLINK_NOFOLLOW != 0 {
        return Err(libc::EINVAL);
    }
    let path = read_path(pid, addr)?;
    let full = if path.starts_with('/') {
        format!("/proc/{pid}/root{path}")
    } else if dirfd == libc::AT_FDCWD {
        format!("/proc/{pid}/cwd/{path}")
    } else {
        format!("/proc/{pid}/fd/{dirfd}/{path}")
    };
    let file = o_path(&full, flags & libc::AT_SYMLINK_NOFOLLOW != 0)?;
    // chmod of a symlink itself is not supported by Linux.
    if flags & libc::AT_SYMLINK_NOFOLLOW != 0
        && std::fs::symlink_metadata(format!("/proc/self/fd/{}", file.as_raw_fd()))
            .is_ok_and(|m| m.file_type().is_symlink())
    {
        return Err(libc::EOPNOTSUPP);
    }
    Ok(file)
}

/// A NUL-terminated path (at most PATH_MAX bytes) from the caller's memory.
fn read_path(pid: i32, addr: u64) -> Result<String, i32> {
    let mut f = std::fs::File::open(format!("/proc/{pid}/mem")).map_err(|_| libc::ESRCH)?;
    f.seek(SeekFrom::Start(addr)).map_err(|_| libc::EFAULT)?;
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    let mut got = 0;
    while got < buf.len() {
        match f.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => {
                got += n;
                if buf[..got].contains(&0) {
                    break;
                }
            }
            Err(_) if got > 0 => break,
            Err(_) => return Err(libc::EFAULT),
        }
    }
    let end = buf[..got]
        .iter()
        .position(|&b| b == 0)
        .ok_or(libc::ENAMETOOLONG)?;
    if end == 0 {
        return Err(libc::ENOENT);
    }
    String::from_utf8(buf[..end].to_vec()).map_err(|_| libc::EINVAL)
}
