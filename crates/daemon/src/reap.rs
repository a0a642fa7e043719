//! Ended sandboxes removed (their confinement released, their cgroup and the guard's
//! hold on them gone), and the clean stop that ends every sandbox still running.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::events::{events_delivered, EVENT_PASSES};
use super::handler::Shared;
use super::{cgroup, registry, STOP};

/// Removes every trace of sandboxes whose last process has ended, once the event loop
/// has delivered the denials they caused (`EVENT_PASSES`): a process refused by a kernel
/// hook that exits at once would otherwise lose its line.
pub(super) fn reap_loop(shared: &Shared) {
    while !STOP.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(50));
        let pass = EVENT_PASSES.load(Ordering::SeqCst);
        let any_ended = shared
            .registry
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .any_ended(|d| cgroup::populated(d));
        if !any_ended {
            continue;
        }
        // Every event of a sandbox that has emptied is queued by now; one pass may be
        // under way since before: wait for the next one to end.
        events_delivered(pass);
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
    if let Some(r) = sb.dns.take() {
        r.stop();
    }
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
pub(super) fn shutdown(shared: &Shared) {
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
