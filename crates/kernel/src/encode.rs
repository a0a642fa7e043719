//! RuleSet -> BPF map entries: every key and value varmord writes for one namespace.
//!
//! The kernel answers a path with one exact lookup, one longest-prefix lookup, one
//! longest-suffix lookup and the bounded glob list (bpf/path.bpf.h); an address with one
//! longest-prefix lookup and the rules of one bitmap (bpf/netmatch.bpf.h). For one LPM
//! answer to stand for every matching rule, LPM entries are *folded*: an entry's value
//! is the union of every rule whose literal is a prefix of (or equal to) the entry's
//! literal, and a CIDR entry's bitmap the union over every CIDR that contains it (plus
//! every any-address rule). `reference_path` / `reference_net` in crates/core/src/matcher.rs are the
//! specification; tests/bpf_matcher.rs runs both on the same cases.
//!
//! One shape the kernel cannot hold: prefix and suffix literals longer than
//! `abi::LPM_PATH_MAX` (252 bytes) are stored cut to that length, which only widens
//! them (more paths denied, never fewer); `widened` lists such rules.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use ipnet::IpNet;

use varmor_core::abi;
use varmor_core::profile::file::{Access, Action, PathRule};
use varmor_core::profile::pattern::{Pattern, PatternKind};
use varmor_core::rules::RuleSet;

/// Every map entry of one namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MapEntries {
    /// The mount-namespace inode every key starts with (the v_ns key).
    pub inode: u32,
    pub ns: abi::NsVal,
    pub exact: Vec<(abi::ExactKey, abi::PathVal)>,
    pub prefix: Vec<(abi::LpmPathKey, abi::PathVal)>,
    pub suffix: Vec<(abi::LpmPathKey, abi::PathVal)>,
    pub glob: Vec<(abi::IdxKey, abi::GlobVal)>,
    pub net_addr: Vec<(abi::LpmAddrKey, abi::NetAddrVal)>,
    pub net_rule: Vec<(abi::IdxKey, abi::NetRuleVal)>,
}

impl MapEntries {
    /// Number of map entries, the v_ns entry included.
    pub fn count(&self) -> usize {
        1 + self.exact.len()
            + self.prefix.len()
            + self.suffix.len()
            + self.glob.len()
            + self.net_addr.len()
            + self.net_rule.len()
    }
}

/// Accumulates rules into one `PathVal` the way the kernel unions entries.
fn empty_val(flags: u32) -> abi::PathVal {
    abi::PathVal {
        deny: 0,
        audit: 0,
        deny_rule: abi::NO_RULE,
        audit_rule: abi::NO_RULE,
        flags,
        pad: 0,
    }
}

/// One pattern of a rule as the path maps store it: what it denies or audits, and where
/// it was written. File and exec rules give one per path; unix rules (crates/kernel/src/encode_unix.rs)
/// one per socket pattern, with their own bits under their own key space.
pub(crate) struct Lit<'a> {
    pub pattern: &'a Pattern,
    pub action: Action,
    pub bits: u32,
    pub origin: u32,
}

fn add_rule(v: &mut abi::PathVal, r: &Lit) {
    match r.action {
        Action::Deny => {
            v.deny |= r.bits;
            v.deny_rule = v.deny_rule.min(r.origin);
        }
        Action::Audit => {
            v.audit |= r.bits;
            v.audit_rule = v.audit_rule.min(r.origin);
        }
    }
}

fn merge(v: &mut abi::PathVal, o: &abi::PathVal) {
    v.deny |= o.deny;
    v.audit |= o.audit;
    v.deny_rule = v.deny_rule.min(o.deny_rule);
    v.audit_rule = v.audit_rule.min(o.audit_rule);
}

fn lpm_path_key(ns: u32, lit: &[u8]) -> abi::LpmPathKey {
    let mut k = abi::LpmPathKey {
        prefixlen: 32 + 8 * lit.len() as u32,
        ns,
        path: [0; abi::LPM_PATH_MAX],
    };
    k.path[..lit.len()].copy_from_slice(lit);
    k
}

/// Folds literal -> own value into literal -> union over every literal that is a
/// prefix of it (lengths checked are only those some literal has).
fn fold(
    own: &BTreeMap<Vec<u8>, abi::PathVal>,
    ns: u32,
    flags: u32,
) -> Vec<(abi::LpmPathKey, abi::PathVal)> {
    let lens: BTreeSet<usize> = own.keys().map(Vec::len).collect();
    own.keys()
        .map(|lit| {
            let mut v = empty_val(flags);
            for &n in lens.iter().take_while(|&&n| n <= lit.len()) {
                if let Some(o) = own.get(&lit[..n]) {
                    merge(&mut v, o);
                }
            }
            (lpm_path_key(ns, lit), v)
        })
        .collect()
}

/// Rules whose prefix/suffix literal is longer than the kernel's LPM key holds.
pub fn widened(rs: &RuleSet) -> Vec<&PathRule> {
    rs.paths
        .iter()
        .filter(|r| matches!(r.pattern.kind(), PatternKind::Prefix | PatternKind::Suffix))
        .filter(|r| r.pattern.literal().len() > abi::LPM_PATH_MAX)
        .collect()
}

fn encode_paths(rs: &RuleSet, ns: u32, e: &mut MapEntries) {
    let lits: Vec<Lit> = rs
        .paths
        .iter()
        .map(|r| Lit {
            pattern: &r.pattern,
            action: r.action,
            bits: r.access.bits(),
            origin: r.origin,
        })
        .collect();
    e.ns.n_glob = encode_lits(&lits, ns, e);
}

/// Writes `lits` under key `ns` into the path maps of `e` (added to what is there);
/// returns the number of v_glob entries made under `ns`.
pub(crate) fn encode_lits(lits: &[Lit], ns: u32, e: &mut MapEntries) -> u32 {
    let mut exact: BTreeMap<Vec<u8>, abi::PathVal> = BTreeMap::new();
    let mut prefix: BTreeMap<Vec<u8>, abi::PathVal> = BTreeMap::new();
    let mut suffix: BTreeMap<Vec<u8>, abi::PathVal> = BTreeMap::new();
    let mut n_glob = 0u32;
    for r in lits {
        let lit = r.pattern.literal().as_bytes();
        match r.pattern.kind() {
            PatternKind::Exact => add_rule(
                exact
                    .entry(lit.to_vec())
                    .or_insert_with(|| empty_val(r.pattern.flags())),
                r,
            ),
            PatternKind::Prefix => {
                let cut = lit[..lit.len().min(abi::LPM_PATH_MAX)].to_vec();
                add_rule(prefix.entry(cut).or_insert_with(|| empty_val(0)), r)
            }
            PatternKind::Suffix => {
                let rev: Vec<u8> = lit.iter().rev().take(abi::LPM_PATH_MAX).copied().collect();
                add_rule(suffix.entry(rev).or_insert_with(|| empty_val(0)), r)
            }
            PatternKind::Glob => {
                let mut g = abi::GlobVal {
                    deny: 0,
                    audit: 0,
                    rule: r.origin,
                    len: lit.len() as u32,
                    pattern: [0; abi::GLOB_MAX],
                };
                g.pattern[..lit.len()].copy_from_slice(lit);
                match r.action {
                    Action::Deny => g.deny = r.bits,
                    Action::Audit => g.audit = r.bits,
                }
                e.glob.push((abi::IdxKey { ns, idx: n_glob }, g));
                n_glob += 1;
            }
        }
    }
    e.exact.extend(exact.into_iter().map(|(lit, v)| {
        let mut k = abi::ExactKey {
            ns,
            path: [0; abi::PATH_MAX],
        };
        k.path[..lit.len()].copy_from_slice(&lit);
        (k, v)
    }));
    e.prefix
        .extend(fold(&prefix, ns, abi::GREEDY | abi::PREFIX));
    e.suffix
        .extend(fold(&suffix, ns, abi::GREEDY | abi::SUFFIX));
    n_glob
}

/// The v4-mapped range ::ffff:0:0/96, where IPv4 rules live and IPv6 rules never match.
const MAPPED: (u128, u8) = (0xffff_0000_0000, 96);

fn contains(outer: (u128, u8), inner: (u128, u8)) -> bool {
    let mask = |p: u8| {
        if p == 0 {
            0
        } else {
            u128::MAX << (128 - u32::from(p))
        }
    };
    outer.1 <= inner.1 && (outer.0 & mask(outer.1)) == (inner.0 & mask(outer.1))
}

/// (address, prefix) in the 128-bit space of the trie; IPv6 nets inside the mapped
/// range are `None` (the reference never lets them match: such an address is IPv4).
fn space(n: &IpNet) -> Option<(u128, u8)> {
    match n {
        IpNet::V4(v4) => Some((
            u128::from(v4.network().to_ipv6_mapped()),
            96 + v4.prefix_len(),
        )),
        IpNet::V6(v6) => {
            let a = (u128::from(v6.network()), v6.prefix_len());
            (!contains(MAPPED, a)).then_some(a)
        }
    }
}

/// The kernel's rule list: deny/audit rules in profile order, then (allow-list mode)
/// every allow entry that names addresses, as an ALLOW rule for connect and send.
fn net_rules(rs: &RuleSet) -> Vec<(abi::NetRuleVal, &[IpNet])> {
    let val = |flags, dirs, action, rule, ports: &[varmor_core::profile::net::Ports]| {
        let mut v = abi::NetRuleVal {
            flags,
            dirs,
            action,
            rule,
            nports: ports.len().min(abi::NET_PORTS) as u32,
            ..Default::default()
        };
        for (slot, p) in v.ports.iter_mut().zip(ports) {
            *slot = abi::PortRange { lo: p.lo, hi: p.hi };
        }
        v
    };
    let mut out: Vec<_> = rs
        .net
        .iter()
        .map(|r| {
            let v = val(
                r.flags(),
                r.dirs.bits(),
                r.action.bits(),
                r.origin,
                &r.ports,
            );
            (v, r.addrs.as_slice())
        })
        .collect();
    if let Some(a) = &rs.net_allow {
        out.extend(a.rules.iter().filter(|r| !r.addrs.is_empty()).map(|r| {
            let dirs = abi::NET_CONNECT | abi::NET_SEND;
            let v = val(0, dirs, abi::ACTION_ALLOW, r.origin, &r.ports);
            (v, r.addrs.as_slice())
        }));
    }
    out
}

fn encode_net(rs: &RuleSet, ns: u32, e: &mut MapEntries) {
    // Each CIDR: (space, is_v4, rule index); any-address rules separately.
    let mut nets: Vec<((u128, u8), bool, usize)> = Vec::new();
    let mut any: u64 = 0;
    for (i, (v, addrs)) in net_rules(rs).into_iter().enumerate().take(abi::NET_RULES) {
        e.net_rule.push((abi::IdxKey { ns, idx: i as u32 }, v));
        if addrs.is_empty() {
            any |= 1 << i;
        }
        nets.extend(
            addrs
                .iter()
                .filter_map(|n| space(n).map(|s| (s, matches!(n, IpNet::V4(_)), i))),
        );
    }
    let mut entries: BTreeSet<(u128, u8)> = nets.iter().map(|n| n.0).collect();
    if any != 0 {
        entries.insert((0, 0));
    }
    if entries
        .iter()
        .any(|&x| !contains(MAPPED, x) && contains(x, MAPPED))
    {
        entries.insert(MAPPED);
    }
    for ent in entries {
        let ent_v4 = contains(MAPPED, ent);
        let bits = nets
            .iter()
            .filter(|(s, v4, _)| *v4 == ent_v4 && contains(*s, ent))
            .fold(any, |b, &(_, _, i)| b | (1 << i));
        let key = abi::LpmAddrKey {
            prefixlen: 32 + u32::from(ent.1),
            ns,
            addr: ent.0.to_be_bytes(),
        };
        e.net_addr.push((key, abi::NetAddrVal { rules: bits }));
    }
}

/// Every map entry for `rs` in the namespace whose mount-ns inode is `ns`.
pub fn encode(rs: &RuleSet, ns: u32, generation: u64) -> MapEntries {
    let mut e = MapEntries {
        inode: ns,
        ns: abi::NsVal {
            mode: rs.mode.bits(),
            generation,
            caps_deny: rs.caps_deny.0,
            ptrace: rs.ptrace.encode(),
            trunc_rule: abi::NO_RULE,
            net_default_rule: rs.net_allow.as_ref().map_or(abi::NO_RULE, |a| a.origin),
            ..Default::default()
        },
        exact: vec![],
        prefix: vec![],
        suffix: vec![],
        glob: vec![],
        net_addr: vec![],
        net_rule: vec![],
    };
    encode_paths(rs, ns, &mut e);
    encode_net(rs, ns, &mut e);
    unix::encode_unix(rs, ns, &mut e);
    let file_bits = Access::ALL.bits() & !abi::MAY_EXEC;
    let mut kinds = 0;
    if rs.paths.iter().any(|r| r.access.bits() & file_bits != 0) {
        kinds |= 1 << abi::EV_FILE;
    }
    if rs.paths.iter().any(|r| r.access.intersects(Access::EXEC)) {
        kinds |= 1 << abi::EV_EXEC;
    }
    if !rs.net.is_empty() || rs.net_allow.is_some() {
        kinds |= 1 << abi::EV_NET;
    }
    if !rs.unix.is_empty() {
        kinds |= 1 << abi::EV_UNIX;
    }
    if rs.caps_deny.0 != 0 {
        kinds |= 1 << abi::EV_CAP;
    }
    if e.ns.ptrace != 0 {
        kinds |= 1 << abi::EV_PTRACE;
    }
    // Mount rules narrowed by source/target/fstype are enforced as their whole operation
    // (the kernel side keeps no mount patterns): stricter, never looser.
    e.ns.mount_deny = rs
        .mount
        .iter()
        .filter(|m| m.action == Action::Deny)
        .fold(0, |b, m| b | m.ops);
    if !rs.mount.is_empty() {
        kinds |= 1 << abi::EV_MOUNT;
    }
    e.ns.kinds = kinds;
    e.ns.n_net = e.net_rule.len() as u32;
    for r in rs.paths.iter().filter(|r| r.action == Action::Deny) {
        if r.pattern.kind() == PatternKind::Prefix {
            e.ns.trunc_deny |= r.access.bits();
            e.ns.trunc_rule = e.ns.trunc_rule.min(r.origin);
        }
    }
    e
}

/// The trie address of an IPv4 or IPv6 destination, as the kernel looks it up.
pub fn trie_addr(a: IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

#[path = "encode_unix.rs"]
mod unix;

#[cfg(test)]
#[path = "encode_tests.rs"]
mod tests;
