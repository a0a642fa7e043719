//! Where a launch spends its time: with `VARMOR_TIMING=1` in the environment, each step of
//! the flow prints one line to stderr (`varmor-run: timing: STEP  +0.31 ms  (1.92 ms)`),
//! the step's own time and the time since the launcher started, so the launch cost can be
//! taken apart step by step (scripts/bench.py reports it). Silent, and costless, otherwise.

use std::sync::OnceLock;
use std::time::Instant;

struct Clock {
    start: Instant,
    last: std::sync::Mutex<Instant>,
}

fn clock() -> Option<&'static Clock> {
    static C: OnceLock<Option<Clock>> = OnceLock::new();
    C.get_or_init(|| {
        std::env::var_os("VARMOR_TIMING")
            .filter(|v| v == "1")
            .map(|_| {
                let now = Instant::now();
                Clock {
                    start: now,
                    last: std::sync::Mutex::new(now),
                }
            })
    })
    .as_ref()
}

/// Starts the clock (the first call wins); call it first thing in the launcher.
pub fn start() {
    let _ = clock();
}

/// `step` just ended.
pub fn mark(step: &str) {
    let Some(c) = clock() else { return };
    let now = Instant::now();
    let mut last = c.last.lock().unwrap_or_else(|e| e.into_inner());
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    varmor_core::say!(
        "varmor-run: timing: {step:<22} +{:.3} ms  ({:.3} ms)",
        ms(now - *last),
        ms(now - c.start)
    );
    *last = now;
}
