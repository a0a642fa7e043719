//! Kernel events (network denials and every bpf-lsm denial) into denial lines, and the
//! passes the reaper waits for so that no sandbox is removed before its denials are told.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::time::Duration;

use super::handler::Shared;
use super::STOP;
use varmor_kernel::enforcer::Denial;

/// Passes the kernel-event loop has completed (each consumes every event queued when it
/// began), and whether it runs: an ended sandbox is removed only after a full pass that
/// began once its cgroup was seen empty, so the denial of a process that was refused and
/// exited at once still reaches its stderr (its sink lives as long as its registry slot).
pub(super) static EVENT_PASSES: AtomicU64 = AtomicU64::new(0);
static EVENTS_LIVE: AtomicBool = AtomicBool::new(false);
/// An eventfd in the ring buffer's epoll set: the reaper writes it to end a pass at once
/// (-1: none, passes end with the poll timeout).
static EVENTS_WAKE: AtomicI32 = AtomicI32::new(-1);

/// Ends the event loop's current wait now (where the wake-up fd could be set up).
fn wake_events() {
    let fd = EVENTS_WAKE.load(Ordering::SeqCst);
    if fd >= 0 {
        let one: u64 = 1;
        // SAFETY: an 8-byte write from a live u64 to an eventfd this process owns.
        unsafe { libc::write(fd, (&one as *const u64).cast(), 8) };
    }
}

/// Waits (briefly) until the event loop has completed a pass begun after `since` passes.
pub(super) fn events_delivered(since: u64) {
    let t = std::time::Instant::now();
    while EVENTS_LIVE.load(Ordering::SeqCst)
        && EVENT_PASSES.load(Ordering::SeqCst) < since + 2
        && t.elapsed() < Duration::from_millis(500)
    {
        wake_events();
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Kernel events (network denials and every bpf-lsm denial) into denial lines.
pub(super) fn event_loop(shared: &Shared, pin_dir: &Path) {
    let mut events = match varmor_kernel::bpf::Events::open(pin_dir) {
        Ok(e) => e,
        Err(e) => {
            log::error!("denial events unavailable: {e}");
            return;
        }
    };
    // SAFETY: eventfd has no memory arguments.
    let wake = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
    if wake >= 0 {
        // data 0 is the ring's index in libbpf's epoll set: a wake-up makes it read the ring.
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: 0,
        };
        // SAFETY: epoll_ctl on the ring buffer's epoll fd and our eventfd, with a live
        // epoll_event it only reads.
        let added =
            unsafe { libc::epoll_ctl(events.epoll_fd(), libc::EPOLL_CTL_ADD, wake, &mut ev) } == 0;
        if added {
            EVENTS_WAKE.store(wake, Ordering::SeqCst);
        } else {
            // SAFETY: closing the eventfd made above, used nowhere else.
            unsafe { libc::close(wake) };
        }
    }
    EVENTS_LIVE.store(true, Ordering::SeqCst);
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
        let wake = EVENTS_WAKE.load(Ordering::SeqCst);
        if wake >= 0 {
            let mut n: u64 = 0;
            // SAFETY: an 8-byte read into a live u64 from our non-blocking eventfd.
            unsafe { libc::read(wake, (&mut n as *mut u64).cast(), 8) };
        }
        EVENT_PASSES.fetch_add(1, Ordering::SeqCst);
        if let Err(e) = polled {
            log::error!("denial events: {e}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    EVENTS_LIVE.store(false, Ordering::SeqCst);
}

fn kernel_denial(ev: &varmor_core::abi::Event) -> Denial {
    varmor_kernel::enforcer::event::describe(ev)
}
