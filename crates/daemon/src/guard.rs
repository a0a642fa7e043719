//! The guard: a small process forked by varmord before anything else, holding a copy of
//! every sandbox's enforcement fds (compat: its fanotify group). If varmord dies, the
//! groups stay open, so the sandbox's opens wait instead of passing unchecked, and the
//! guard kills every sandbox it holds: never left running unconfined.
//!
//! The guard runs as its own unprivileged uid (`GUARD_UID`), holding an open
//! `cgroup.kill` per sandbox: a sandbox running as root may signal root processes where
//! Landlock cannot scope signals (ABI < 6), but not a process of another uid without
//! CAP_KILL, so it can kill varmord, whereupon the guard ends it, but never both.

use std::collections::HashMap;
use std::os::fd::{OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use varmor_core::proto::{read_frame, write_frame};

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
enum Msg {
    /// The frame's first fd is the sandbox's `cgroup.kill`, open for writing; the rest
    /// are its enforcement fds.
    Hold {
        id: u64,
        cgroup: PathBuf,
    },
    Drop {
        id: u64,
    },
}

/// The guard's uid and gid: used by nothing else, so no process but root with CAP_KILL
/// may signal it.
pub const GUARD_UID: u32 = 0x7fff_fffe;

/// varmord's end of the guard channel.
pub struct Guard {
    sock: UnixStream,
    pid: nix::unistd::Pid,
}

impl Guard {
    /// Forks the guard. Call before any thread is started.
    pub fn spawn() -> std::io::Result<Guard> {
        let (ours, theirs) = UnixStream::pair()?;
        // SAFETY: varmord is single-threaded here (documented precondition), so the child
        // may run arbitrary code; it only uses its own socket, files and exit.
        match unsafe { nix::unistd::fork() }.map_err(std::io::Error::from)? {
            nix::unistd::ForkResult::Child => {
                drop(ours);
                let _ = nix::sys::prctl::set_name(c"varmord-guard");
                unprivileged();
                run(theirs);
                std::process::exit(0);
            }
            nix::unistd::ForkResult::Parent { child } => Ok(Guard {
                sock: ours,
                pid: child,
            }),
        }
    }

    pub fn hold(&mut self, id: u64, cgroup: &Path, fds: &[RawFd]) {
        use std::os::fd::AsRawFd;
        let kill = match std::fs::OpenOptions::new()
            .write(true)
            .open(cgroup.join("cgroup.kill"))
        {
            Ok(f) => f,
            Err(e) => {
                log::error!("guard: {}: cgroup.kill: {e}", cgroup.display());
                return;
            }
        };
        let mut all = vec![kill.as_raw_fd()];
        all.extend_from_slice(fds);
        if let Err(e) = write_frame(
            &self.sock,
            &Msg::Hold {
                id,
                cgroup: cgroup.to_path_buf(),
            },
            &all,
        ) {
            log::error!("guard: {e}");
        }
    }

    pub fn drop_sandbox(&mut self, id: u64) {
        let _ = write_frame(&self.sock, &Msg::Drop { id }, &[]);
    }
}

impl Drop for Guard {
    /// A clean stop: closing the channel ends the guard; reap it (for up to 2 s) so no
    /// zombie is left for an init that does not reap.
    fn drop(&mut self) {
        use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
        let _ = self.sock.shutdown(std::net::Shutdown::Both);
        for _ in 0..200 {
            match waitpid(self.pid, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) => {
                    std::thread::sleep(std::time::Duration::from_millis(10))
                }
                _ => return,
            }
        }
    }
}

/// Gives up root: no capability left, a uid of its own.
fn unprivileged() {
    use nix::unistd::{setgroups, setresgid, setresuid, Gid, Uid};
    let (u, g) = (Uid::from_raw(GUARD_UID), Gid::from_raw(GUARD_UID));
    let done = setgroups(&[])
        .and_then(|()| setresgid(g, g, g))
        .and_then(|()| setresuid(u, u, u));
    if let Err(e) = done {
        varmor_core::say!("varmord-guard: cannot leave root ({e}); a root sandbox could kill it");
    }
}

fn run(sock: UnixStream) {
    let mut held: HashMap<u64, (PathBuf, Vec<OwnedFd>)> = HashMap::new();
    loop {
        match read_frame::<Msg>(&sock, 8) {
            Ok((Msg::Hold { id, cgroup }, fds)) => {
                if fds.is_empty() {
                    continue;
                }
                held.insert(id, (cgroup, fds));
            }
            Ok((Msg::Drop { id }, _)) => {
                held.remove(&id);
            }
            Err(_) => break,
        }
    }
    // varmord is gone (or stopped): nobody answers these sandboxes any more.
    for (_, (dir, mut fds)) in held.drain() {
        let kill = std::fs::File::from(fds.remove(0));
        if let Err(e) = std::io::Write::write_all(&mut &kill, b"1") {
            varmor_core::say!("varmord-guard: {}: cgroup.kill: {e}", dir.display());
        }
        drop(fds);
    }
}
