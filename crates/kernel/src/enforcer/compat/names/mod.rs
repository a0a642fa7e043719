//! Name changes (create, delete, rename, link, truncate(2)) on the compat backend.
//!
//! The launcher's Landlock domain withholds those rights on protected paths and on the
//! directories on the way to them (the *chain*: `/`, `/home`, `/home/alice`, ...), because
//! Landlock grants by hierarchy (crates/kernel/src/enforcer/landlock/). So that the chain's direct
//! entries are not stricter than the rules, the launcher's seccomp notification filter
//! (the one chmod uses) also hands varmord every call that changes a name: open with
//! O_CREAT, creat, mkdir, mknod, symlink, link, rename, unlink, rmdir, truncate (not
//! openat2, whose flags the filter cannot see). For each:
//! 1 varmord resolves the directory as the caller would and checks the resulting path
//!   against the rules: a denied one gets its line and EPERM, whatever the directory;
//! 2 in a directory where Landlock withholds rights (the chain, protected roots, and what
//!   varmord made in them) varmord performs the call itself, as the caller (fsuid, fsgid,
//!   groups, umask; no capability but CAP_SYS_PTRACE to read the caller), on descriptors it
//!   resolved: never a path the caller could change afterwards;
//! 3 everywhere else the kernel continues the call, and Landlock, which already grants
//!   everything there, has the last word (a continued call can never pass Landlock's
//!   checks by racing varmord's: varmord's answer only ever adds what it performs).
//!
//! Stricter than the rules, on purpose: a directory (or symlink) is not renamed, and no
//! symlink is created, where a protected path could end up below it (moving `~/.ssh`, or
//! a symlink named `~/.ssh` when there is none); a directory that has subdirectories is
//! not moved into the chain from elsewhere (EXDEV: mv copies instead), and unix sockets
//! cannot be bound, nor files made by openat2(O_CREAT), directly in the chain (bind(2) and
//! openat2 are not handed over).
//!
//! The parts: `caller` (becoming the caller, reading its memory), `resolve` (a name as
//! the caller would resolve it), `create` and `rename` (the calls varmord performs),
//! `fs` (the descriptor-based syscalls they use).

mod caller;
mod create;
mod fs;
mod rename;
mod resolve;

pub(super) use caller::status_ids;
pub use resolve::could_match_below;

use std::cell::RefCell;
use std::collections::{BTreeSet, HashSet};
use std::ffi::CString;
use std::os::fd::{OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use libseccomp::{notify_id_valid, ScmpNotifReq};

use super::opener;
use crate::enforcer::landlock::{Carry, Plan};
use crate::enforcer::{Outcome, Report};
use varmor_core::abi;
use varmor_core::matcher::PathIndex;
use varmor_core::profile::file::{Access, Action};
use varmor_core::rules::{Mode, RuleSet};

/// (syscall, Some((argument, flag))): handed over only when that argument has the flag.
pub const NAME_SYSCALLS: &[(&str, Option<(u32, u64)>)] = &[
    ("open", Some((1, libc::O_CREAT as u64))),
    ("openat", Some((2, libc::O_CREAT as u64))),
    ("creat", None),
    // Not openat2: its flags are in memory, so every call would be handed over (and a
    // thread can rewrite them meanwhile); an openat2 with O_CREAT directly in the chain is
    // left to Landlock, which refuses it.
    ("mkdir", None),
    ("mkdirat", None),
    ("mknod", None),
    ("mknodat", None),
    ("symlink", None),
    ("symlinkat", None),
    ("link", None),
    ("linkat", None),
    ("rename", None),
    ("renameat", None),
    ("renameat2", None),
    ("unlink", None),
    ("unlinkat", None),
    ("rmdir", None),
    ("truncate", None),
];

const NAME_ACCESS: u32 =
    abi::MAY_CREATE | abi::MAY_DELETE | abi::MAY_RENAME | abi::MAY_LINK | abi::MAY_TRUNCATE;

/// Whether `rules` need name changes handed to varmord on compat.
pub fn needed(rules: &RuleSet) -> bool {
    rules
        .paths
        .iter()
        .any(|r| r.action == Action::Deny && r.access.bits() & NAME_ACCESS != 0)
}

/// How a notification is answered.
pub enum Answer {
    /// The call returns this value.
    Val(i64),
    /// The call fails with this errno.
    Errno(i32),
    /// The kernel performs the call (Landlock has the last word).
    Continue,
    /// Already answered (a descriptor was installed in the caller with ADDFD_FLAG_SEND).
    Sent,
}

fn errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EPERM)
}

fn ret(r: libc::c_int) -> Answer {
    if r < 0 {
        Answer::Errno(errno())
    } else {
        Answer::Val(i64::from(r))
    }
}

pub struct Names {
    rules: Arc<RuleSet>,
    index: PathIndex,
    enforce: bool,
    report: Report,
    plan: RefCell<Option<Plan>>,
    /// Directories varmord made (or moved) where Landlock grants nothing: (dev, ino),
    /// and their paths (for the quick answer; updated as varmord renames them).
    made: RefCell<HashSet<(u64, u64)>>,
    made_paths: RefCell<BTreeSet<PathBuf>>,
    /// The thread has taken on the caller's filesystem identity.
    became: std::cell::Cell<bool>,
}

/// One resolved name: the directory (an O_PATH fd), the last component, the full real
/// path as the sandbox sees it, and whether Landlock withholds name rights there.
struct Name {
    dir: OwnedFd,
    leaf: CString,
    full: PathBuf,
    in_chain: bool,
}

/// One notification being answered: the listener (for ADDFD, and to check the request is
/// still live), the request and the caller's pid.
#[derive(Clone, Copy)]
struct Call<'a> {
    notify: RawFd,
    req: &'a ScmpNotifReq,
    pid: i32,
}

/// A call's answer; Err: it could not be resolved, and the kernel (Landlock) decides.
type Answered = Result<Answer, ()>;

/// The names of link and rename: (olddirfd, oldpath, newdirfd, newpath, flags), the
/// paths as addresses in the caller's memory.
#[derive(Clone, Copy)]
struct Pair(u64, u64, u64, u64, u64);

impl Names {
    pub fn new(rules: Arc<RuleSet>, report: Report) -> Names {
        Names {
            index: PathIndex::new(&rules.paths),
            enforce: rules.mode == Mode::Enforce,
            rules,
            report,
            plan: RefCell::new(None),
            made: RefCell::new(HashSet::new()),
            made_paths: RefCell::new(BTreeSet::new()),
            became: std::cell::Cell::new(false),
        }
    }

    fn plan(&self, pid: i32) -> std::cell::Ref<'_, Plan> {
        if self.plan.borrow().is_none() {
            let root = PathBuf::from(format!("/proc/{pid}/root"));
            *self.plan.borrow_mut() = Some(Plan::new(&self.rules, Carry::Rules, &root));
        }
        std::cell::Ref::map(self.plan.borrow(), |p| p.as_ref().expect("set above"))
    }

    fn deny(&self, pid: i32, what: &str, req: Access, path: &Path, origin: u32) -> Option<Answer> {
        (self.report)(opener::path_line(
            format!("{what}({req})"),
            path,
            pid,
            origin,
            Outcome::refusal(self.enforce),
        ));
        self.enforce.then_some(Answer::Errno(libc::EPERM))
    }

    /// A line and EPERM when a rule denies `req` on `path` (None: go on).
    fn check(&self, pid: i32, what: &str, req: u32, path: &Path) -> Option<Answer> {
        let req = Access::from_bits(req).unwrap_or(Access::ALL);
        let v = self.index.lookup(path.as_os_str().as_bytes());
        if let Some(o) = v.denies(req) {
            return self.deny(pid, what, req, path, o);
        }
        if let Some(o) = v.audits(req) {
            (self.report)(opener::path_line(
                format!("{what}({req})"),
                path,
                pid,
                o,
                Outcome::Audited,
            ));
        }
        None
    }

    /// A line and EPERM when a protected path could come to be below `path` by moving
    /// or pointing a name there (a deny rule whose pattern reaches below it).
    fn check_below(&self, pid: i32, what: &str, req: u32, path: &Path) -> Option<Answer> {
        let mut below = path.as_os_str().as_bytes().to_vec();
        if below.last() != Some(&b'/') {
            below.push(b'/');
        }
        let r = self.rules.paths.iter().find(|r| {
            r.action == Action::Deny
                && r.access.bits() & NAME_ACCESS != 0
                && could_match_below(r.pattern.as_str().as_bytes(), &below)
        })?;
        self.deny(
            pid,
            what,
            Access::from_bits(req).unwrap_or(Access::ALL),
            path,
            r.origin,
        )
    }

    /// Answers one name-changing call. `notify` is the listener (for ADDFD).
    pub fn answer(&self, notify: RawFd, req: &ScmpNotifReq, name: &str) -> Answer {
        let pid = req.pid as i32;
        if let Err(e) = self.become_caller(pid) {
            return if e == libc::ESRCH {
                Answer::Errno(e)
            } else {
                Answer::Continue
            };
        }
        let a = req.data.args;
        let at = libc::AT_FDCWD as u64;
        let names: &[(u64, u64)] = match name {
            "open" | "creat" | "mkdir" | "mknod" | "unlink" | "rmdir" => &[(at, a[0])],
            "openat" | "mkdirat" | "mknodat" | "unlinkat" => &[(a[0], a[1])],
            "symlink" => &[(at, a[1])],
            "symlinkat" => &[(a[1], a[2])],
            "link" | "rename" => &[(at, a[0]), (at, a[1])],
            "renameat" | "renameat2" => &[(a[0], a[1]), (a[2], a[3])],
            "linkat" if a[4] as i32 & libc::AT_EMPTY_PATH == 0 => &[(a[0], a[1]), (a[2], a[3])],
            // truncate(2) is always performed (Landlock may not carry truncate).
            _ => &[],
        };
        if !names.is_empty() && self.plainly_granted(pid, names) {
            return Answer::Continue;
        }
        let c = Call { notify, req, pid };
        let r = match name {
            "open" => self.open(c, (at, a[0]), a[1], a[2]),
            "creat" => self.open(
                c,
                (at, a[0]),
                (libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC) as u64,
                a[1],
            ),
            "openat" => self.open(c, (a[0], a[1]), a[2], a[3]),
            "mkdir" => self.mknod(c, "mkdir", (at, a[0]), libc::S_IFDIR as u64 | a[1]),
            "mkdirat" => self.mknod(c, "mkdirat", (a[0], a[1]), libc::S_IFDIR as u64 | a[2]),
            "mknod" => self.mknod(c, "mknod", (at, a[0]), a[1]),
            "mknodat" => self.mknod(c, "mknodat", (a[0], a[1]), a[2]),
            "symlink" => self.symlink(c, a[0], at, a[1]),
            "symlinkat" => self.symlink(c, a[0], a[1], a[2]),
            "link" => self.link(c, Pair(at, a[0], at, a[1], 0)),
            "linkat" => self.link(c, Pair(a[0], a[1], a[2], a[3], a[4])),
            "rename" => self.rename(c, Pair(at, a[0], at, a[1], 0)),
            "renameat" => self.rename(c, Pair(a[0], a[1], a[2], a[3], 0)),
            "renameat2" => self.rename(c, Pair(a[0], a[1], a[2], a[3], a[4])),
            "unlink" => self.unlink(c, at, a[0], 0),
            "unlinkat" => self.unlink(c, a[0], a[1], a[2]),
            "rmdir" => self.unlink(c, at, a[0], libc::AT_REMOVEDIR as u64),
            "truncate" => self.truncate(c, a[0], a[1]),
            _ => Ok(Answer::Errno(libc::ENOSYS)),
        };
        // Anything we could not resolve goes to the kernel, where Landlock decides.
        r.unwrap_or(Answer::Continue)
    }

    /// The request must still be live before anything is performed or answered from what
    /// was read of it (the pid cannot have been reused meanwhile).
    fn live(notify: RawFd, req: &ScmpNotifReq) -> Result<(), ()> {
        notify_id_valid(notify, req.id).map_err(drop)
    }
}
