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
    // Memory is given back once no sandbox has ended for TRIM_AFTER, or TRIM_AT_LEAST
    // after the first end not yet given back (steady churn), not on every end.
    let mut owed: Option<(std::time::Instant, std::time::Instant)> = None;
    while !STOP.load(Ordering::SeqCst) {
        // Wakes as soon as a watched cgroup.events changes, and every 50 ms for the
        // stop flag, the memory owed and sandboxes without a watch.
        let empty = shared.emptied.wait(Duration::from_millis(50));
        if owed.is_some_and(|(first, last)| {
            last.elapsed() >= TRIM_AFTER || first.elapsed() >= TRIM_AT_LEAST
        }) {
            give_back_memory();
            owed = None;
        }
        if empty.is_empty() {
            continue;
        }
        // Every event of a sandbox that has emptied is queued by now; one pass may be
        // under way since before: wait for the next one to end.
        events_delivered(EVENT_PASSES.load(Ordering::SeqCst));
        let ended = shared
            .registry
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take(&empty);
        for ns in &empty {
            shared.emptied.forget(*ns);
        }
        for sb in ended {
            finish(shared, *sb);
            let now = std::time::Instant::now();
            owed = Some((owed.map_or(now, |o| o.0), now));
        }
    }
}

/// How long after the last sandbox ended its memory is handed back to the kernel.
const TRIM_AFTER: Duration = Duration::from_millis(500);
/// ... and at the latest this long after the first end it owes.
const TRIM_AT_LEAST: Duration = Duration::from_secs(5);

/// Returns the free memory of every malloc arena to the kernel. A sandbox's rules (a
/// 10,000-rule profile compiles to megabytes) are freed into the arena of the thread that
/// handled its request, where glibc would keep them: measured, 6 MB before three
/// 10,000-rule sandboxes and 22 MB after they had all ended.
fn give_back_memory() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only releases free memory of glibc's own arenas.
    unsafe {
        libc::malloc_trim(0);
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
