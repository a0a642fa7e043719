//! File and exec rules on the compat backend: one fanotify group per sandbox, with mount
//! marks on the mounts of the sandbox's own mount namespace where a rule can name a file
//! (reach.rs; so only the sandbox's opens there arrive), answered by `PathIndex`. Allowed files that no rule can reach under any name
//! get an ignore mark on their inode, so later opens never leave the kernel.

use std::collections::HashMap;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::fs::MetadataExt;
use std::sync::Arc;

use nix::sys::fanotify::{
    EventFFlags, Fanotify, FanotifyEvent, FanotifyResponse, InitFlags, MarkFlags, MaskFlags,
    Response,
};

use super::opener;
use super::reach::under;
use crate::enforcer::{Denial, EnforceError, Outcome, Report, SandboxCtx};
use varmor_core::matcher::PathIndex;
use varmor_core::profile::file::Access;
use varmor_core::rules::Mode;

/// A running fanotify answerer for one sandbox; dropping it ends its answers and closes
/// the group (the kernel then drops every mark of it).
pub struct FileGuard {
    /// Declared first: deregistered (no answer running or to come) before the group closes.
    _answering: super::pool::Registration,
    group: Arc<Fanotify>,
    pub marked_mounts: usize,
}

impl FileGuard {
    /// The group fd (handed to the guard process so the marks outlive a varmord crash).
    pub fn group_fd(&self) -> BorrowedFd<'_> {
        self.group.as_fd()
    }
}

fn mounts(pid: i32) -> Result<Vec<crate::procfs::Mount>, EnforceError> {
    let text = crate::procfs::read_text(format!("/proc/{pid}/mountinfo")).map_err(|source| {
        EnforceError::Io {
            what: format!("reading the sandbox's mountinfo (/proc/{pid}/mountinfo)"),
            source,
        }
    })?;
    Ok(crate::procfs::mounts(&text))
}

/// Starts answering file/exec permission events for the sandbox of `ctx`.
pub fn start(ctx: &SandboxCtx, report: Report) -> Result<FileGuard, EnforceError> {
    let index = PathIndex::new(&ctx.rules.paths);
    let mut mask = MaskFlags::empty();
    if index.any.intersects(opener::unknown()) {
        mask |= MaskFlags::FAN_OPEN_PERM;
    }
    if index.any.intersects(Access::EXEC) {
        // Exec opens, and plain opens too so `ld.so BINARY` can be caught.
        mask |= MaskFlags::FAN_OPEN_EXEC_PERM | MaskFlags::FAN_OPEN_PERM;
    }
    let group = Fanotify::init(
        InitFlags::FAN_CLASS_CONTENT
            | InitFlags::FAN_CLOEXEC
            | InitFlags::FAN_NONBLOCK
            | InitFlags::FAN_REPORT_TID
            | InitFlags::FAN_UNLIMITED_MARKS,
        EventFFlags::O_RDONLY | EventFFlags::O_LARGEFILE | EventFFlags::O_CLOEXEC,
    )
    .map_err(|source| EnforceError::Sys {
        what: "fanotify_init",
        source,
    })?;
    let mounts = mounts(ctx.pid)?;
    let mut per_dev: HashMap<&str, usize> = HashMap::new();
    for m in &mounts {
        *per_dev.entry(&m.dev).or_default() += 1;
    }
    // Only the mounts where a rule can name a file (reach.rs).
    let answered = super::fanotify_access();
    let rules: Vec<&varmor_core::profile::file::PathRule> = ctx
        .rules
        .paths
        .iter()
        .filter(|r| r.access.intersects(answered))
        .collect();
    let points: Vec<&str> = mounts.iter().map(|m| m.point.as_str()).collect();
    let devs: Vec<&str> = mounts.iter().map(|m| m.dev.as_str()).collect();
    let inodes = super::inodes::DeniedInodes::collect(ctx.pid, &ctx.rules);
    let mut marked = 0;
    for m in super::reach::needed(&points, &devs, &rules, &inodes.devices())
        .into_iter()
        .map(|i| &mounts[i])
    {
        let path = format!("/proc/{}/root{}", ctx.pid, m.point);
        match group.mark(
            MarkFlags::FAN_MARK_ADD | MarkFlags::FAN_MARK_MOUNT,
            mask,
            None,
            Some(path.as_str()),
        ) {
            Ok(()) => marked += 1,
            // Pseudo filesystems refuse marks; a mount hidden under another cannot be reached.
            Err(e) => log::debug!("sandbox {}: no mark on {}: {e}", ctx.id, m.point),
        }
    }
    if mask.is_empty() {
        return Err(EnforceError::Setup("no file rules to enforce".into()));
    }
    let mut multi: HashMap<u64, Vec<(String, String)>> = HashMap::new();
    for m in mounts.iter().filter(|m| per_dev[m.dev.as_str()] > 1) {
        let Some(dev) = super::reach::dev_of(&m.dev) else {
            continue;
        };
        multi
            .entry(dev)
            .or_default()
            .push((m.root.clone(), m.point.clone()));
    }
    let group = Arc::new(group);
    let answerer = Answerer {
        index,
        inodes,
        mode: ctx.rules.mode,
        uid: ctx.uid,
        multi_mount_devs: multi,
        report,
    };
    let g = group.clone();
    let answering = super::pool::Pool::fanotify()
        .and_then(|p| p.register(group.clone(), Box::new(move || answerer.answer_ready(&g))))
        .map_err(|source| EnforceError::Io {
            what: "registering with the answering threads".into(),
            source,
        })?;
    Ok(FileGuard {
        _answering: answering,
        group,
        marked_mounts: marked,
    })
}

struct Answerer {
    index: PathIndex,
    /// The files deny rules named at start, by identity (hard links, renames).
    inodes: super::inodes::DeniedInodes,
    mode: Mode,
    uid: u32,
    /// Filesystems mounted more than once: (root, mount point) of each of their mounts.
    multi_mount_devs: HashMap<u64, Vec<(String, String)>>,
    report: Report,
}

impl Answerer {
    /// Answers what the group holds now (called by the pool when it is readable); false
    /// when the group can no longer be read.
    fn answer_ready(&self, group: &Fanotify) -> bool {
        match group.read_events() {
            Ok(events) => events.iter().for_each(|ev| self.answer(group, ev)),
            Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => {}
            Err(e) => {
                log::error!("fanotify read: {e}");
                return false;
            }
        }
        true
    }

    fn answer(&self, group: &Fanotify, ev: &FanotifyEvent) {
        let Some(fd) = ev.fd() else { return };
        let tid = ev.pid();
        let exec = ev.mask().contains(MaskFlags::FAN_OPEN_EXEC_PERM);
        let named = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).ok();
        let path = named
            .as_deref()
            .map_or(UNNAMED, |p| p.as_os_str().as_encoded_bytes());
        // No name (a path deeper than PATH_MAX): every pattern that could match applies.
        let verdict = match named {
            Some(_) => self.index.lookup(path),
            None => self.index.unnamed(),
        };
        let ident = if self.inodes.is_empty() {
            None
        } else {
            nix::sys::stat::fstat(fd.as_raw_fd())
                .ok()
                .map(|st| (st.st_dev, st.st_ino))
        };
        let named = ident.is_some_and(|(d, i)| self.inodes.denies(d, i, Access::ALL).is_some());
        let mut req = if exec {
            Access::EXEC
        } else if verdict.deny.is_empty() && verdict.audit.is_empty() && !named {
            Access::NONE
        } else {
            opener::requested(tid)
        };
        let by_inode = |req| ident.and_then(|(d, i)| self.inodes.denies(d, i, req));
        let mut denied = verdict.denies(req).or_else(|| by_inode(req));
        if denied.is_none()
            && !exec
            && verdict.deny.intersects(Access::EXEC)
            && opener::is_loader(tid)
        {
            // `ld.so /usr/bin/curl`: the loader maps the binary it was asked to run.
            req = Access::EXEC;
            denied = verdict.denies(req).or_else(|| by_inode(req));
        }
        let enforce = self.mode == Mode::Enforce;
        let what = || {
            if req == Access::EXEC {
                "exec".to_string()
            } else {
                format!("open({req})")
            }
        };
        let object = || String::from_utf8_lossy(path).into_owned();
        if let Some(origin) = denied {
            let outcome = Outcome::refusal(enforce);
            (self.report)(Denial {
                what: what(),
                object: object(),
                pid: tid,
                comm: opener::comm(tid),
                origin: Some(origin),
                outcome,
            });
        } else if let Some(origin) = verdict.audits(req) {
            (self.report)(Denial {
                what: what(),
                object: object(),
                pid: tid,
                comm: opener::comm(tid),
                origin: Some(origin),
                outcome: Outcome::Audited,
            });
        } else if verdict.deny.is_empty()
            && verdict.audit.is_empty()
            && !named
            && self.cacheable(fd)
        {
            let flags = MarkFlags::FAN_MARK_ADD
                | MarkFlags::FAN_MARK_IGNORED_MASK
                | MarkFlags::FAN_MARK_IGNORED_SURV_MODIFY;
            let mask = MaskFlags::FAN_OPEN_PERM | MaskFlags::FAN_OPEN_EXEC_PERM;
            let _ = group.mark::<str>(flags, mask, Some(fd.as_raw_fd()), None);
        }
        // Answered after the line is written, so the line comes before the program's own error.
        let response = if denied.is_some() && enforce {
            Response::FAN_DENY
        } else {
            Response::FAN_ALLOW
        };
        if let Err(e) = group.write_response(FanotifyResponse::new(fd, response)) {
            log::error!("fanotify response: {e}");
        }
    }

    /// An allow may be cached on the inode only if the sandbox cannot give it another name:
    /// one link, a filesystem mounted once, on a read-only mount or in a directory the
    /// sandbox's uid cannot write (so no rename, no new hard link).
    fn cacheable(&self, fd: BorrowedFd<'_>) -> bool {
        let Ok(st) = nix::sys::stat::fstat(fd.as_raw_fd()) else {
            return false;
        };
        if st.st_mode & libc::S_IFMT != libc::S_IFREG || st.st_nlink != 1 {
            return false;
        }
        if let Some(mounts) = self.multi_mount_devs.get(&st.st_dev) {
            let Ok(path) = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())) else {
                return false;
            };
            if !single_route(mounts, &path.to_string_lossy()) {
                return false;
            }
        }
        if nix::sys::statvfs::fstatvfs(fd)
            .is_ok_and(|v| v.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY))
        {
            return true;
        }
        if self.uid == 0 || st.st_uid == self.uid {
            return false;
        }
        let Ok(path) = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())) else {
            return false;
        };
        let Some(dir) = path.parent().and_then(|d| std::fs::metadata(d).ok()) else {
            return false;
        };
        let writable = dir.uid() == self.uid || dir.mode() & 0o022 != 0;
        !writable
    }
}

/// The object of a denial for a file whose path the kernel would not give.
const UNNAMED: &[u8] = b"(a path too long to name)";

/// Whether the file at `path`, on a filesystem with these (root, mount point) mounts, can
/// be reached through one of them only: then an allow cached on its inode cannot leak to
/// another name. Bind mounts of unrelated subtrees (e.g. firejail's /run/firejail binds)
/// leave the rest of the filesystem cacheable.
fn single_route(mounts: &[(String, String)], path: &str) -> bool {
    let Some(via) = mounts
        .iter()
        .filter(|(_, point)| under(path, point))
        .max_by_key(|(_, point)| point.len())
    else {
        return false;
    };
    let rest = if via.1 == "/" {
        path
    } else {
        &path[via.1.len()..]
    };
    let rel = format!("{}{}", via.0.trim_end_matches('/'), rest);
    let rel = if rel.is_empty() { "/".to_string() } else { rel };
    mounts
        .iter()
        .filter(|m| *m != via)
        .all(|(root, _)| !under(&rel, root))
}

#[cfg(test)]
mod route_tests {
    use super::single_route;

    #[test]
    fn only_files_under_a_second_mount_root_lose_the_cache() {
        let m = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        let firejail = m(&[
            ("/", "/"),
            ("/run/firejail/dbus", "/run/firejail/dbus"),
            (
                "/run/firejail/firejail.ro.file",
                "/run/firejail/firejail.ro.file",
            ),
        ]);
        assert!(single_route(&firejail, "/etc/passwd"));
        assert!(!single_route(&firejail, "/run/firejail/dbus/x"));
        assert!(!single_route(&firejail, "/run/firejail/firejail.ro.file"));
        // A subtree bound elsewhere: both names of a file under it are uncacheable.
        let bound = m(&[("/", "/"), ("/home/u/src", "/work")]);
        assert!(!single_route(&bound, "/work/a.c"));
        assert!(!single_route(&bound, "/home/u/src/a.c"));
        assert!(single_route(&bound, "/home/u/other"));
        // The whole filesystem twice: nothing.
        let twice = m(&[("/", "/"), ("/", "/mnt/again")]);
        assert!(!single_route(&twice, "/etc/passwd"));
    }
}
