//! Refusals already reported: a sandbox that asks for one unlisted name again and again
//! (glibc asks for A and AAAA, and retries) gets one line per name per `WINDOW`, and all
//! of a sandbox's refusals together cost at most `LOOKUPS_PER_SEC` owner lookups (a scan
//! of the cgroup's processes each) a second. The answer (REFUSED) is the same every time.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One line per refused name within this long.
pub const WINDOW: Duration = Duration::from_secs(5);
/// Lines (and owner lookups) a second, all names together.
pub const LOOKUPS_PER_SEC: u32 = 20;
/// Names remembered at once (then the old ones are forgotten).
const MAX_NAMES: usize = 4096;

#[derive(Default)]
pub struct Recent {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    seen: HashMap<String, Instant>,
    second: Option<Instant>,
    lookups: u32,
}

impl Recent {
    /// Is a refusal of `name` to be reported (and its owner looked up) at `now`?
    pub fn report(&self, name: &str, now: Instant) -> bool {
        let mut i = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if i.seen
            .get(&name)
            .is_some_and(|t| now.duration_since(*t) < WINDOW)
        {
            return false;
        }
        if i.second
            .is_none_or(|s| now.duration_since(s) >= Duration::from_secs(1))
        {
            i.second = Some(now);
            i.lookups = 0;
        }
        if i.lookups >= LOOKUPS_PER_SEC {
            return false;
        }
        i.lookups += 1;
        if i.seen.len() >= MAX_NAMES {
            i.seen.retain(|_, t| now.duration_since(*t) < WINDOW);
            if i.seen.len() >= MAX_NAMES {
                i.seen.clear();
            }
        }
        i.seen.insert(name, now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_name_per_window_and_a_cap_per_second() {
        let r = Recent::default();
        let t0 = Instant::now();
        assert!(r.report("a.example", t0));
        assert!(!r.report("A.example.", t0 + Duration::from_millis(10)));
        assert!(r.report("a.example", t0 + WINDOW + Duration::from_millis(1)));
        let r = Recent::default();
        let hits = (0..100)
            .filter(|i| r.report(&format!("n{i}.example"), t0))
            .count();
        assert_eq!(hits, LOOKUPS_PER_SEC as usize);
        assert!(r.report("late.example", t0 + Duration::from_secs(1)));
    }
}
