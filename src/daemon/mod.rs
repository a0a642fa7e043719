//! varmord: probes the kernel, picks a backend, serves the socket, reaps ended sandboxes,
//! turns kernel denial events into lines, and on a clean stop removes every trace.

pub mod attach;
pub mod cgroup;
pub mod denial;
pub mod guard;
pub mod handler;
pub mod peer;
pub mod registry;
pub mod sysctl;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use thiserror::Error;

use crate::cli::{BackendChoice, DaemonCli};
use crate::enforcer::{compat::Compat, lsm::Lsm, Denial, Enforcer};
use handler::Shared;

/// Connections served at once; more get an immediate `limit` refusal.
pub const MAX_CONNECTIONS: usize = 64;

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

#[derive(Debug, Error)]
pub enum DaemonError {
    #[error("no usable backend: {0}")]
    NoBackend(String),
    #[error("{path}: {msg}")]
    Socket { path: String, msg: String },
    #[error("{0}")]
    Setup(String),
}

fn pick_backend(cli: &DaemonCli, cgroup_root: &Path) -> Result<Box<dyn Enforcer>, DaemonError> {
    let lsm = || Lsm::new(&cli.pin_dir).map(|b| Box::new(b) as Box<dyn Enforcer>);
    let compat =
        || Compat::new(&cli.pin_dir, cgroup_root).map(|b| Box::new(b) as Box<dyn Enforcer>);
    match cli.backend {
        BackendChoice::BpfLsm => lsm().map_err(|e| DaemonError::NoBackend(format!("bpf-lsm: {e}"))),
        BackendChoice::Compat => {
            compat().map_err(|e| DaemonError::NoBackend(format!("compat: {e}")))
        }
        BackendChoice::Auto => match crate::bpf::probe_lsm() {
            Ok(()) => lsm().map_err(|e| DaemonError::NoBackend(format!("bpf-lsm: {e}"))),
            Err(why) => {
                log::info!("bpf-lsm unusable ({why}); using compat");
                compat().map_err(|e| DaemonError::NoBackend(format!("compat: {e}")))
            }
        },
    }
}

/// The listening socket systemd passed (varmord.socket), if any (sd_listen_fds(3) protocol).
fn activated() -> Option<UnixListener> {
    let pid: u32 = std::env::var("LISTEN_PID").ok()?.parse().ok()?;
    let fds: u32 = std::env::var("LISTEN_FDS").ok()?.parse().ok()?;
    (pid == std::process::id() && fds == 1).then(|| {
        // SAFETY: systemd passed fd 3 to us (LISTEN_PID is ours); we take ownership once.
        unsafe { <UnixListener as std::os::fd::FromRawFd>::from_raw_fd(3) }
    })
}

fn bind(path: &Path) -> Result<UnixListener, DaemonError> {
    let err = |e: std::io::Error| DaemonError::Socket {
        path: path.display().to_string(),
        msg: e.to_string(),
    };
    if let Some(l) = activated() {
        l.set_nonblocking(true).map_err(err)?;
        return Ok(l);
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
    Ok(l)
}

/// Runs varmord until SIGTERM/SIGINT.
pub fn run(cli: &DaemonCli) -> Result<(), DaemonError> {
    // The guard is forked first, while this process has one thread.
    let guard = guard::Guard::spawn()
        .map_err(|e| DaemonError::Setup(format!("starting the guard: {e}")))?;
    let cgroup_root = cgroup::prepare_root(cli.cgroup_root.as_deref())
        .map_err(|e| DaemonError::Setup(e.to_string()))?;
    for stale in cgroup::stale(&cgroup_root) {
        log::warn!(
            "{}: sandbox of an earlier varmord, its policy is gone: killing it",
            stale.display()
        );
        cgroup::kill(&stale);
        cgroup::remove(&stale);
    }
    let enforcer = pick_backend(cli, &cgroup_root)?;
    let raised = sysctl::raise_fanotify_groups(registry::SANDBOXES_TOTAL as u64 + 64);
    let log_file = match &cli.log {
        Some(p) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(|e| DaemonError::Setup(format!("{}: {e}", p.display())))?,
        ),
        None => None,
    };
    let listener = bind(&cli.socket)?;
    let shared = Arc::new(Shared {
        registry: Mutex::new(registry::Registry::default()),
        enforcer,
        cgroup_root: cgroup_root.clone(),
        log: Arc::new(Mutex::new(log_file)),
        host_ns: peer::host_namespaces(),
        guard: Some(Mutex::new(guard)),
    });
    for sig in [
        nix::sys::signal::Signal::SIGTERM,
        nix::sys::signal::Signal::SIGINT,
    ] {
        let act = nix::sys::signal::SigAction::new(
            nix::sys::signal::SigHandler::Handler(on_signal),
            nix::sys::signal::SaFlags::empty(),
            nix::sys::signal::SigSet::empty(),
        );
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        unsafe { nix::sys::signal::sigaction(sig, &act) }
            .map_err(|e| DaemonError::Setup(e.to_string()))?;
    }
    // SAFETY: ignoring SIGPIPE installs no handler code at all.
    let _ = unsafe {
        nix::sys::signal::signal(
            nix::sys::signal::Signal::SIGPIPE,
            nix::sys::signal::SigHandler::SigIgn,
        )
    };
    eprintln!(
        "varmord: backend {}, listening on {}, pins in {}, sandboxes under {}",
        shared.enforcer.name(),
        cli.socket.display(),
        cli.pin_dir.display(),
        cgroup_root.display()
    );
    let reaper = {
        let s = shared.clone();
        std::thread::spawn(move || reap_loop(&s))
    };
    let events = {
        let (s, pin) = (shared.clone(), cli.pin_dir.clone());
        std::thread::spawn(move || event_loop(&s, &pin))
    };
    serve(&shared, &listener);
    let _ = std::fs::remove_file(&cli.socket);
    let _ = reaper.join();
    let _ = events.join();
    shutdown(&shared);
    drop(shared);
    for r in [
        crate::bpf::NetHooks::detach_and_unpin(&cli.pin_dir),
        crate::bpf::LsmHooks::detach_and_unpin(&cli.pin_dir),
        crate::bpf::Maps::unpin_all(&cli.pin_dir),
    ] {
        if let Err(e) = r {
            log::error!("cleaning {}: {e}", cli.pin_dir.display());
        }
    }
    let _ = std::fs::remove_dir(&cli.pin_dir);
    let _ = std::fs::remove_dir(&cgroup_root);
    if let Some(r) = raised {
        r.restore();
    }
    eprintln!("varmord: stopped");
    Ok(())
}

fn serve(shared: &Arc<Shared>, listener: &UnixListener) {
    use std::os::fd::AsFd;
    let busy = Arc::new(AtomicUsize::new(0));
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
                let (s, b) = (shared.clone(), busy.clone());
                let spawned = std::thread::Builder::new()
                    .stack_size(512 * 1024)
                    .spawn(move || {
                        handler::handle(&s, sock);
                        b.fetch_sub(1, Ordering::SeqCst);
                    });
                if spawned.is_err() {
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

/// Removes every trace of sandboxes whose last process has ended.
fn reap_loop(shared: &Shared) {
    while !STOP.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(50));
        let ended = shared
            .registry
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take_ended(|d| cgroup::populated(d));
        for sb in ended {
            finish(shared, *sb);
        }
    }
}

fn finish(shared: &Shared, mut sb: registry::Sandbox) {
    let t = std::time::Instant::now();
    sb.confinement.release();
    let released = t.elapsed();
    if let Some(g) = &shared.guard {
        g.lock()
            .unwrap_or_else(|p| p.into_inner())
            .drop_sandbox(sb.id);
    }
    cgroup::remove(&sb.cgroup);
    log::info!(
        "sandbox {}: ended, {} denials (released in {released:?}, cleaned in {:?})",
        sb.id,
        sb.sink.count.load(Ordering::Relaxed),
        t.elapsed()
    );
}

/// Clean stop: a sandbox without varmord would run unconfined on compat, so it ends too.
fn shutdown(shared: &Shared) {
    let all = shared
        .registry
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take_all();
    for sb in all {
        cgroup::kill(&sb.cgroup);
        finish(shared, *sb);
    }
}

/// Kernel events (network denials and every bpf-lsm denial) into denial lines.
fn event_loop(shared: &Shared, pin_dir: &Path) {
    let mut events = match crate::bpf::Events::open(pin_dir) {
        Ok(e) => e,
        Err(e) => {
            log::error!("denial events unavailable: {e}");
            return;
        }
    };
    while !STOP.load(Ordering::SeqCst) {
        let polled = events.poll(Duration::from_millis(200), |ev| {
            let sink = shared
                .registry
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .sink_for_ns(u64::from(ev.ns));
            if let Some(sink) = sink {
                sink.emit(kernel_denial(ev));
            }
        });
        if let Err(e) = polled {
            log::error!("denial events: {e}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

fn kernel_denial(ev: &crate::abi::Event) -> Denial {
    crate::enforcer::event::describe(ev)
}
