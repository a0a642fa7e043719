//! One answering thread per sandbox for its seccomp notifications (chmod and name
//! changes): it sleeps in poll on its fd and a wake eventfd, and is stopped and joined when
//! its `Worker` is dropped. A thread of its own because it takes on the caller's
//! filesystem identity (names/caller.rs), which must not leak to another sandbox's
//! answers; fanotify events, answered with varmord's own identity, share pool.rs.

use std::os::fd::{AsFd, BorrowedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::eventfd::{EfdFlags, EventFd};

pub struct Worker {
    stop: Arc<AtomicBool>,
    /// Written to wake the thread at once; one descriptor shared with it (a pipe took
    /// two, and varmord counts descriptors per sandbox: daemon sysctl.rs).
    wake: Arc<EventFd>,
    thread: Option<JoinHandle<()>>,
}

/// The thread's side: waits for its fd or for the stop.
pub struct Waiter {
    stop: Arc<AtomicBool>,
    wake: Arc<EventFd>,
}

impl Worker {
    /// Starts `body` on a thread named `name`; `body` loops on `Waiter::wait`.
    pub fn spawn(
        name: String,
        body: impl FnOnce(Waiter) + Send + 'static,
    ) -> std::io::Result<Worker> {
        let wake = Arc::new(EventFd::from_flags(EfdFlags::EFD_CLOEXEC)?);
        let stop = Arc::new(AtomicBool::new(false));
        let waiter = Waiter {
            stop: stop.clone(),
            wake: wake.clone(),
        };
        let thread = std::thread::Builder::new()
            .name(name)
            .stack_size(256 * 1024)
            .spawn(move || body(waiter))?;
        Ok(Worker {
            stop,
            wake,
            thread: Some(thread),
        })
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Err(e) = self.wake.write(1) {
            log::error!("waking an answering thread: {e}");
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Waiter {
    /// True when `fd` has something to read; false when the worker is stopped, `fd` hung
    /// up (no process is left to ask) or polling failed.
    pub fn wait(&self, fd: BorrowedFd<'_>) -> bool {
        loop {
            if self.stop.load(Ordering::SeqCst) {
                return false;
            }
            let mut fds = [
                PollFd::new(fd, PollFlags::POLLIN),
                PollFd::new(self.wake.as_fd(), PollFlags::POLLIN),
            ];
            match poll(&mut fds, PollTimeout::NONE) {
                Ok(_) if fds[1].any().unwrap_or(true) => return false,
                Ok(_) => {
                    let r = fds[0].revents().unwrap_or(PollFlags::empty());
                    if r.intersects(PollFlags::POLLHUP | PollFlags::POLLERR) {
                        return false;
                    }
                    if r.contains(PollFlags::POLLIN) {
                        return true;
                    }
                }
                Err(nix::errno::Errno::EINTR) => {}
                Err(e) => {
                    log::error!(
                        "{}: poll: {e}",
                        std::thread::current().name().unwrap_or("?")
                    );
                    return false;
                }
            }
        }
    }
}
