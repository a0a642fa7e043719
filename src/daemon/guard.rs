//! The guard: a small process forked by varmord before anything else, holding a copy of
//! every sandbox's enforcement fds (compat: its fanotify group). If varmord dies, the
//! groups stay open, so the sandbox's opens wait instead of passing unchecked, and the
//! guard kills every sandbox it holds: never left running unconfined.

use std::collections::HashMap;
use std::os::fd::{OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::cgroup;
use crate::proto::{read_frame, write_frame};

#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
enum Msg {
    Hold { id: u64, cgroup: PathBuf },
    Drop { id: u64 },
}

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
        if let Err(e) = write_frame(
            &self.sock,
            &Msg::Hold {
                id,
                cgroup: cgroup.to_path_buf(),
            },
            fds,
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

fn run(sock: UnixStream) {
    let mut held: HashMap<u64, (PathBuf, Vec<OwnedFd>)> = HashMap::new();
    loop {
        match read_frame::<Msg>(&sock, 8) {
            Ok((Msg::Hold { id, cgroup }, fds)) => {
                held.insert(id, (cgroup, fds));
            }
            Ok((Msg::Drop { id }, _)) => {
                held.remove(&id);
            }
            Err(_) => break,
        }
    }
    // varmord is gone (or stopped): nobody answers these sandboxes any more.
    for (_, (dir, fds)) in held.drain() {
        cgroup::kill(&dir);
        drop(fds);
    }
}
