//! Live sandboxes, keyed by mount-namespace inode: set once, bounded per uid, and removed
//! with every trace when their cgroup empties.

use std::collections::HashMap;
use std::fs::File;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::denial::Sink;
use varmor_core::proto::SandboxInfo;
use varmor_kernel::enforcer::Confinement;

/// Bounds on what one uid may hold, and all uids together (three quarters of the BPF
/// maps' VARMOR_MAX_NS namespaces, bpf/maps.bpf.h: the canary and a burst of starting
/// sandboxes keep room).
pub const SANDBOXES_PER_UID: usize = 1024;
pub const SANDBOXES_TOTAL: usize = 12288;
/// Confine requests per uid per second, sustained; a burst of as many is allowed.
pub const REQUESTS_PER_SEC: u32 = 200;
/// Requests over the rate are paced (answered late) up to this delay, then refused.
pub const MAX_PACE: Duration = Duration::from_secs(2);

pub struct Sandbox {
    pub id: u64,
    pub ns: u64,
    pub pid: i32,
    pub uid: u32,
    pub profile: String,
    pub backend: &'static str,
    pub started: Instant,
    pub cgroup: PathBuf,
    pub sink: Arc<Sink>,
    pub confinement: Box<dyn Confinement>,
    /// Answers chmod calls (compat), once the launcher has handed its filter over.
    pub chmod: Option<varmor_kernel::enforcer::compat::chmod::ChmodGuard>,
    /// The resolver of allow-list mode (`network_default: deny`), if on.
    pub dns: Option<super::resolver::Resolver>,
    /// Held so the namespace (and its inode number) cannot be freed and reused while its
    /// entries exist.
    pub _ns_fd: File,
    pub _pidfd: OwnedFd,
}

enum Slot {
    Reserved(u32),
    Live(Box<Sandbox>),
}

pub struct Registry {
    slots: HashMap<u64, Slot>,
    /// How many sandboxes may live at once: [`SANDBOXES_TOTAL`], or fewer where varmord's
    /// open-file limit holds fewer (sysctl::raise_open_files); a launch past it is refused
    /// whole, before anything is set up, rather than failing halfway on EMFILE.
    capacity: usize,
    next_id: u64,
    /// Token buckets per uid: (tokens, when last refilled). Tokens go negative while
    /// requests are being paced.
    rate: HashMap<u32, (f64, Instant)>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    AlreadyConfined,
    TooMany(String),
}

impl Default for Registry {
    fn default() -> Self {
        Registry::new(SANDBOXES_TOTAL)
    }
}

impl Registry {
    pub fn new(capacity: usize) -> Self {
        Registry {
            slots: HashMap::new(),
            capacity: capacity.min(SANDBOXES_TOTAL),
            next_id: 0,
            rate: HashMap::new(),
        }
    }

    fn count_uid(&self, uid: u32) -> usize {
        self.slots
            .values()
            .filter(|s| match s {
                Slot::Reserved(u) => *u == uid,
                Slot::Live(sb) => sb.uid == uid,
            })
            .count()
    }

    /// Takes one request token for `uid`: how long the caller must wait before going on,
    /// or a refusal when the backlog would exceed [`MAX_PACE`]. Scripts that launch in a
    /// loop are slowed down, not failed.
    pub fn pace(&mut self, uid: u32) -> Result<Duration, Refusal> {
        let rate = f64::from(REQUESTS_PER_SEC);
        let now = Instant::now();
        let b = self.rate.entry(uid).or_insert((rate, now));
        b.0 = (b.0 + now.duration_since(b.1).as_secs_f64() * rate).min(rate);
        b.1 = now;
        let wait = if b.0 >= 1.0 { 0.0 } else { (1.0 - b.0) / rate };
        if wait > MAX_PACE.as_secs_f64() {
            return Err(Refusal::TooMany(format!(
                "more than {REQUESTS_PER_SEC} requests a second from uid {uid} for over {}s",
                MAX_PACE.as_secs()
            )));
        }
        b.0 -= 1.0;
        if self.rate.len() > 4096 {
            self.rate.retain(|_, b| b.0 < rate);
        }
        Ok(Duration::from_secs_f64(wait))
    }

    /// Claims `ns` for a new sandbox of `uid`; returns its never-reused id.
    pub fn reserve(&mut self, ns: u64, uid: u32) -> Result<u64, Refusal> {
        if self.slots.contains_key(&ns) {
            return Err(Refusal::AlreadyConfined);
        }
        if uid != 0 && self.count_uid(uid) >= SANDBOXES_PER_UID {
            return Err(Refusal::TooMany(format!(
                "uid {uid} has {SANDBOXES_PER_UID} live sandboxes"
            )));
        }
        if self.slots.len() >= self.capacity {
            let why = if self.capacity < SANDBOXES_TOTAL {
                " (all varmord's open-file limit holds; raise LimitNOFILE=)"
            } else {
                ""
            };
            return Err(Refusal::TooMany(format!(
                "{} live sandboxes{why}",
                self.capacity
            )));
        }
        self.next_id += 1;
        self.slots.insert(ns, Slot::Reserved(uid));
        Ok(self.next_id)
    }

    pub fn unreserve(&mut self, ns: u64) {
        if matches!(self.slots.get(&ns), Some(Slot::Reserved(_))) {
            self.slots.remove(&ns);
        }
    }

    pub fn activate(&mut self, sb: Sandbox) {
        self.slots.insert(sb.ns, Slot::Live(Box::new(sb)));
    }

    /// The live sandbox in namespace `ns`, if `uid` owns it.
    pub fn live_mut(&mut self, ns: u64, uid: u32) -> Option<&mut Sandbox> {
        match self.slots.get_mut(&ns) {
            Some(Slot::Live(sb)) if sb.uid == uid => Some(sb),
            _ => None,
        }
    }

    pub fn sink_for_ns(&self, ns: u64) -> Option<Arc<Sink>> {
        match self.slots.get(&ns) {
            Some(Slot::Live(sb)) => Some(sb.sink.clone()),
            _ => None,
        }
    }

    /// Takes out the live sandboxes of `ended` (namespaces whose cgroup was seen empty;
    /// a namespace is never reused while its entry exists, _ns_fd).
    pub fn take(&mut self, ended: &[u64]) -> Vec<Box<Sandbox>> {
        let mut out = Vec::new();
        for ns in ended {
            if matches!(self.slots.get(ns), Some(Slot::Live(_))) {
                if let Some(Slot::Live(sb)) = self.slots.remove(ns) {
                    out.push(sb);
                }
            }
        }
        out
    }

    pub fn take_all(&mut self) -> Vec<Box<Sandbox>> {
        self.slots
            .drain()
            .filter_map(|(_, s)| match s {
                Slot::Live(sb) => Some(sb),
                Slot::Reserved(_) => None,
            })
            .collect()
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    pub fn list(&self, uid: u32) -> Vec<SandboxInfo> {
        self.slots
            .values()
            .filter_map(|s| match s {
                Slot::Live(sb) if uid == 0 || sb.uid == uid => Some(SandboxInfo {
                    id: sb.id,
                    pid: sb.pid as u32,
                    uid: sb.uid,
                    mnt_ns: sb.ns,
                    profile: sb.profile.clone(),
                    backend: sb.backend.to_string(),
                    uptime_secs: sb.started.elapsed().as_secs(),
                    denials: sb.sink.count.load(Ordering::Relaxed),
                }),
                _ => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_requests_are_paced_then_refused() {
        let mut r = Registry::default();
        for _ in 0..REQUESTS_PER_SEC {
            assert_eq!(r.pace(1000), Ok(Duration::ZERO));
        }
        let first = r.pace(1000).unwrap();
        assert!(
            first > Duration::ZERO && first <= Duration::from_millis(10),
            "{first:?}"
        );
        // Another uid has its own bucket.
        assert_eq!(r.pace(1001), Ok(Duration::ZERO));
        let mut last = first;
        while let Ok(w) = r.pace(1000) {
            assert!(w >= last);
            last = w;
        }
        assert!(last <= MAX_PACE && last > MAX_PACE - Duration::from_millis(10));
    }
}
