//! varmor-daemon: varmord, run as root. Probes the kernel, picks a backend, serves the
//! socket, reaps ended sandboxes, turns kernel denial events into lines, and on a clean
//! stop removes every trace. Its enforcers are varmor-kernel's; it trusts no field of a
//! request (varmor_core::proto) until it has checked it again.
//!
//! The parts: `socket` (the listening socket and the accept loop), `events` (kernel
//! events into denial lines), `emptied` (which sandboxes ended: an inotify watch on each
//! one's cgroup.events), `reap` (ended sandboxes removed, and the clean stop).

pub mod attach;
pub mod backend;
pub mod canary;
pub mod canary_child;
pub mod cgroup;
pub mod denial;
pub mod dynallow;
mod emptied;
mod events;
pub mod guard;
pub mod handler;
mod handlers;
pub mod journal;
pub mod notify;
pub mod peer;
pub mod probe;
mod reap;
pub mod registry;
pub mod resolver;
mod socket;
pub mod sockowner;
pub mod sysctl;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use thiserror::Error;

use handler::Shared;
use varmor_core::cli::DaemonCli;

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
    #[error("{}: {source}", path.display())]
    Socket {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("starting the guard: {0}")]
    Guard(#[source] std::io::Error),
    #[error("{0}")]
    Cgroup(#[source] cgroup::CgroupError),
    #[error("{0}")]
    PinDir(#[source] varmor_kernel::bpf::BpfError),
    #[error("{}: {source}", path.display())]
    Log {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("inotify_init1 (to see sandboxes end): {0}")]
    Inotify(#[source] nix::Error),
    #[error("installing the {signal} handler: {source}")]
    Signal {
        signal: &'static str,
        #[source]
        source: nix::Error,
    },
}

/// Runs varmord until SIGTERM/SIGINT.
pub fn run(cli: &DaemonCli) -> Result<(), DaemonError> {
    let passed = socket::activated();
    // The guard is forked first, while this process has one thread.
    let guard = guard::Guard::spawn().map_err(DaemonError::Guard)?;
    let cgroup_root =
        cgroup::prepare_root(cli.cgroup_root.as_deref()).map_err(DaemonError::Cgroup)?;
    for stale in cgroup::stale(&cgroup_root) {
        log::warn!(
            "{}: sandbox of an earlier varmord, its policy is gone: killing it",
            stale.display()
        );
        cgroup::kill(&stale);
        cgroup::remove(&stale);
    }
    // A pin dir made by this start is removed again if no backend can be proven.
    let fresh_pins = !cli.pin_dir.exists();
    varmor_kernel::bpf::ensure_pin_dir(&cli.pin_dir).map_err(DaemonError::PinDir)?;
    for old in varmor_kernel::bpf::pins::remove_other_builds(&cli.pin_dir) {
        log::warn!("{old}: pins of another varmord build, never adopted: detached and removed");
    }
    let pins = varmor_kernel::bpf::pins::versioned(&cli.pin_dir);
    varmor_kernel::bpf::ensure_pin_dir(&pins).map_err(DaemonError::PinDir)?;
    let (enforcer, proof) = match backend::pick(cli.backend, &pins, &cgroup_root) {
        Ok(p) => p,
        Err(why) => {
            let _ = varmor_kernel::bpf::Maps::unpin_all(&pins);
            let _ = std::fs::remove_dir(varmor_kernel::bpf::link_dir(&pins));
            let _ = std::fs::remove_dir(&pins);
            if fresh_pins {
                let _ = std::fs::remove_dir(&pins);
                let _ = std::fs::remove_dir(&cli.pin_dir);
            }
            let _ = std::fs::remove_dir(&cgroup_root);
            return Err(DaemonError::NoBackend(why));
        }
    };
    log::info!(
        "{}: every hook kind seen firing on this boot ({}; canary {} ms)",
        proof.backend,
        proof
            .hooks
            .iter()
            .map(|h| h.mechanism)
            .collect::<Vec<_>>()
            .join(", "),
        proof.millis
    );
    let raised = sysctl::raise_fanotify_groups(registry::SANDBOXES_TOTAL as u64 + 64);
    let capacity = sysctl::raise_open_files(registry::SANDBOXES_TOTAL as u64) as usize;
    let log_file = match &cli.log {
        Some(p) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(|source| DaemonError::Log {
                    path: p.clone(),
                    source,
                })?,
        ),
        None => None,
    };
    // Signals first: once the socket exists a client (or systemd) may stop us, and a
    // SIGTERM before the handler would kill varmord without its clean-up.
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
        unsafe { nix::sys::signal::sigaction(sig, &act) }.map_err(|source| {
            DaemonError::Signal {
                signal: sig.as_str(),
                source,
            }
        })?;
    }
    // SAFETY: ignoring SIGPIPE installs no handler code at all.
    let _ = unsafe {
        nix::sys::signal::signal(
            nix::sys::signal::Signal::SIGPIPE,
            nix::sys::signal::SigHandler::SigIgn,
        )
    };
    let (listener, activated) = socket::bind(&cli.socket, passed)?;
    let shared = Arc::new(Shared {
        registry: Mutex::new(registry::Registry::new(capacity)),
        emptied: emptied::Emptied::new().map_err(DaemonError::Inotify)?,
        enforcer,
        cgroup_root: cgroup_root.clone(),
        log: Arc::new(Mutex::new(log_file)),
        host_ns: peer::host_namespaces(),
        guard: Some(Mutex::new(guard)),
        pins: pins.clone(),
        dns_upstream: cli.dns_upstream.or_else(resolver::host_upstream),
        dns_grace: std::time::Duration::from_secs(cli.dns_grace.into()),
        dns_local_answers: cli.dns_local_answers,
    });
    varmor_core::say!(
        "varmord: backend {}, listening on {}, pins in {}, sandboxes under {}",
        shared.enforcer.name(),
        cli.socket.display(),
        pins.display(),
        cgroup_root.display()
    );
    let reaper = {
        let s = shared.clone();
        std::thread::spawn(move || reap::reap_loop(&s))
    };
    let events = {
        let (s, pin) = (shared.clone(), pins.clone());
        std::thread::spawn(move || events::event_loop(&s, &pin))
    };
    notify::notify(&format!(
        "READY=1\nSTATUS=backend {}, listening on {}",
        shared.enforcer.name(),
        cli.socket.display()
    ));
    socket::serve(&shared, &listener);
    notify::notify("STOPPING=1");
    if !activated {
        // (A socket unit's path stays: systemd keeps listening and starts varmord again.)
        let _ = std::fs::remove_file(&cli.socket);
    }
    let _ = reaper.join();
    let _ = events.join();
    reap::shutdown(&shared);
    drop(shared);
    for r in [
        varmor_kernel::bpf::NetHooks::detach_and_unpin(&pins),
        varmor_kernel::bpf::UnixHooks::detach_and_unpin(&pins),
        varmor_kernel::bpf::LsmHooks::detach_and_unpin(&pins),
        varmor_kernel::bpf::Maps::unpin_all(&pins),
    ] {
        if let Err(e) = r {
            log::error!("cleaning {}: {e}", pins.display());
        }
    }
    let _ = std::fs::remove_dir(&pins);
    let _ = std::fs::remove_dir(&cli.pin_dir);
    let _ = std::fs::remove_dir(&cgroup_root);
    if let Some(r) = raised {
        r.restore();
    }
    varmor_core::say!("varmord: stopped");
    Ok(())
}
