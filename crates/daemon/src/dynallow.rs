//! The addresses a sandbox's resolver answered (allow-list mode): written into v_net_dyn
//! under the namespace for TTL + grace **before** the answer is relayed, deleted when
//! their deadline passes (the kernel also checks the deadline itself), at most
//! `MAX_DYN` per sandbox (the one expiring soonest makes room), all deleted at the end.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use libbpf_rs::{MapCore, MapFlags, MapHandle};

use varmor_core::abi::{self, Pod};

/// Answered addresses one sandbox may hold at once.
pub const MAX_DYN: usize = 1024;
/// Longest TTL honoured (a longer one is cut to this).
pub const MAX_TTL: u32 = 3600;

/// One sandbox's answered addresses.
pub struct DynAllow {
    ns: u32,
    grace: Duration,
    map: MapHandle,
    /// address (as the kernel keys it) -> the value written
    entries: Mutex<HashMap<[u8; 16], abi::DynVal>>,
}

/// CLOCK_MONOTONIC in ns: the clock of bpf_ktime_get_ns, which the kernel compares with.
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec into the live local passed.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

impl DynAllow {
    pub fn new(ns: u32, grace: Duration, map: MapHandle) -> DynAllow {
        DynAllow {
            ns,
            grace,
            map,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn key(&self, addr: [u8; 16]) -> abi::DynKey {
        abi::DynKey { ns: self.ns, addr }
    }

    /// Deletes the entries whose deadline is before `now` (all of them for u64::MAX).
    pub fn sweep(&self, now: u64) {
        let mut d = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        d.retain(|addr, v| {
            if v.expires >= now {
                return true;
            }
            let _ = self.map.delete(self.key(*addr).as_bytes());
            false
        });
    }

    /// Allows `addr` on `ports` (nports 0: all) until TTL + grace from now, for `rule`.
    /// False when the kernel refused the entry.
    pub fn allow(
        &self,
        addr: IpAddr,
        ttl: u32,
        rule: u32,
        nports: u32,
        ports: [abi::PortRange; abi::NET_PORTS],
    ) -> bool {
        let key = varmor_kernel::encode::trie_addr(varmor_core::profile::net::canonical(addr));
        let expires = monotonic_ns()
            + u64::from(ttl.min(MAX_TTL)) * 1_000_000_000
            + self.grace.as_nanos() as u64;
        let mut d = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let mut v = abi::DynVal {
            expires,
            rule,
            nports,
            ports,
        };
        if let Some(old) = d.get(&key) {
            v.expires = v.expires.max(old.expires);
            // One address answered for two names: the ports of both; the first rule
            // stays the one lines name.
            (v.nports, v.ports) =
                varmor_core::profile::dns::merge_ports((old.nports, old.ports), (nports, ports));
            v.rule = old.rule;
        } else if d.len() >= MAX_DYN {
            if let Some(victim) = d.iter().min_by_key(|(_, v)| v.expires).map(|(k, _)| *k) {
                d.remove(&victim);
                let _ = self.map.delete(self.key(victim).as_bytes());
            }
        }
        match self
            .map
            .update(self.key(key).as_bytes(), v.as_bytes(), MapFlags::ANY)
        {
            Ok(()) => {
                d.insert(key, v);
                true
            }
            Err(e) => {
                log::error!("sandbox ns {}: allowing {addr}: {e}", self.ns);
                false
            }
        }
    }
}
