//! The listening socket (systemd's, or one varmord binds) and the accept loop that gives
//! each connection its own handler thread, at most `MAX_CONNECTIONS` at once.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::handler::{self, Shared};
use super::{DaemonError, MAX_CONNECTIONS, STOP};

/// The listening socket systemd passed (varmord.socket), if any (sd_listen_fds(3)
/// protocol). Taken first thing, while varmord has one thread: made close-on-exec and
/// the variables removed, so neither the canary's child nor the guard inherits it.
pub(super) fn activated() -> Option<UnixListener> {
    let pid: u32 = std::env::var("LISTEN_PID").ok()?.parse().ok()?;
    let fds: u32 = std::env::var("LISTEN_FDS").ok()?.parse().ok()?;
    // SAFETY: single-threaded (see above); plain environment edits.
    unsafe {
        std::env::remove_var("LISTEN_PID");
        std::env::remove_var("LISTEN_FDS");
        std::env::remove_var("LISTEN_FDNAMES");
    }
    (pid == std::process::id() && fds == 1).then(|| {
        // SAFETY: fcntl on fd 3, which systemd passed to us (LISTEN_PID is ours).
        unsafe { libc::fcntl(3, libc::F_SETFD, libc::FD_CLOEXEC) };
        // SAFETY: we take ownership of fd 3 once.
        unsafe { <UnixListener as std::os::fd::FromRawFd>::from_raw_fd(3) }
    })
}

/// The listening socket: systemd's (true: the socket unit owns its path) or our own.
pub(super) fn bind(
    path: &Path,
    passed: Option<UnixListener>,
) -> Result<(UnixListener, bool), DaemonError> {
    let err = |source: std::io::Error| DaemonError::Socket {
        path: path.to_path_buf(),
        source,
    };
    if let Some(l) = passed {
        l.set_nonblocking(true).map_err(err)?;
        return Ok((l, true));
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(err(e)),
        _ => {}
    }
    let l = UnixListener::bind(path).map_err(err)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666)).map_err(err)?;
    l.set_nonblocking(true).map_err(err)?;
    Ok((l, false))
}

pub(super) fn serve(shared: &Arc<Shared>, listener: &UnixListener) {
    use std::os::fd::AsFd;
    let busy = Arc::new(AtomicUsize::new(0));
    let handlers = {
        let (s, b) = (shared.clone(), busy.clone());
        super::handlers::Handlers::new(move |sock| {
            handler::handle(&s, sock);
            b.fetch_sub(1, Ordering::SeqCst);
        })
    };
    while !STOP.load(Ordering::SeqCst) {
        // At the bound, leave new connections in the kernel's listen backlog until a
        // handler finishes (each is bounded by the request timeout).
        if busy.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
            std::thread::sleep(Duration::from_millis(2));
            continue;
        }
        let mut fds = [nix::poll::PollFd::new(
            listener.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        if !matches!(nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(200u16)), Ok(n) if n > 0)
        {
            continue;
        }
        match listener.accept() {
            Ok((sock, _)) => {
                let _ = sock.set_nonblocking(false);
                busy.fetch_add(1, Ordering::SeqCst);
                if handlers.run(sock).is_err() {
                    busy.fetch_sub(1, Ordering::SeqCst);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => {
                log::error!("accept: {e}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}
