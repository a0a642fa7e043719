//! Table tests of crates/kernel/src/encode.rs: vArmor's encodings, folding, and a Rust model of the
//! kernel's lookups (exact + longest prefix + longest suffix + globs) checked against
//! crates/core/src/matcher.rs on generated rule sets.

use super::*;
use proptest::prelude::*;
use std::net::IpAddr;
use varmor_core::matcher::{reference_net, reference_path, PathIndex};
use varmor_core::profile::net::{Dirs, NetRule, Ports};
use varmor_core::profile::pattern::Pattern;

fn prule(p: &str, access: u32, action: Action, origin: u32) -> PathRule {
    PathRule {
        pattern: Pattern::parse(p).unwrap(),
        access: Access::from_bits(access).unwrap(),
        action,
        origin,
    }
}

fn nrule(addrs: &[&str], ports: &[(u16, u16)], action: Action, origin: u32) -> NetRule {
    NetRule {
        action,
        dirs: Dirs::ALL,
        addrs: addrs
            .iter()
            .map(|a| varmor_core::profile::net::parse_addr(a).unwrap().unwrap())
            .collect(),
        ports: ports.iter().map(|&(lo, hi)| Ports { lo, hi }).collect(),
        origin,
    }
}

fn text(b: &[u8]) -> &str {
    std::str::from_utf8(&b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())]).unwrap()
}

#[test]
fn varmor_path_encodings() {
    let mut rs = RuleSet::empty("t");
    rs.paths
        .push(prule("/etc/hostname", abi::MAY_READ, Action::Deny, 0));
    rs.paths
        .push(prule("**/curl", abi::MAY_EXEC, Action::Deny, 1));
    rs.paths
        .push(prule("/etc/**", abi::MAY_WRITE, Action::Audit, 2));
    let e = encode(&rs, 4026531840, 7);
    assert_eq!(e.inode, 4026531840);
    assert_eq!(e.exact.len(), 1);
    let (k, v) = &e.exact[0];
    assert_eq!(
        (k.ns, text(&k.path), v.flags, v.deny, v.deny_rule),
        (4026531840, "/etc/hostname", 0x5, 0x4, 0)
    );
    assert_eq!(v.audit_rule, abi::NO_RULE);
    let (k, v) = &e.suffix[0];
    assert_eq!(
        (text(&k.path), k.prefixlen, v.flags, v.deny),
        ("lruc/", 32 + 5 * 8, 0xa, abi::MAY_EXEC)
    );
    let (k, v) = &e.prefix[0];
    assert_eq!(
        (text(&k.path), v.flags, v.audit, v.audit_rule),
        ("/etc/", 0x6, abi::MAY_WRITE, 2)
    );
    assert_eq!(e.ns.generation, 7);
    assert_eq!(e.ns.kinds, 1 << abi::EV_FILE | 1 << abi::EV_EXEC);
}

#[test]
fn prefixes_are_folded() {
    let mut rs = RuleSet::empty("t");
    rs.paths
        .push(prule("/a/**", abi::MAY_READ, Action::Deny, 5));
    rs.paths
        .push(prule("/a/b/**", abi::MAY_WRITE, Action::Deny, 3));
    rs.paths
        .push(prule("/x/**", abi::MAY_EXEC, Action::Deny, 1));
    let e = encode(&rs, 1, 1);
    let ab = e
        .prefix
        .iter()
        .find(|(k, _)| text(&k.path) == "/a/b/")
        .unwrap()
        .1;
    assert_eq!((ab.deny, ab.deny_rule), (abi::MAY_READ | abi::MAY_WRITE, 3));
    let a = e
        .prefix
        .iter()
        .find(|(k, _)| text(&k.path) == "/a/")
        .unwrap()
        .1;
    assert_eq!((a.deny, a.deny_rule), (abi::MAY_READ, 5));
}

#[test]
fn allow_lists_add_allow_rules_after_the_deny_rules_and_set_the_default() {
    use varmor_core::profile::dns::{NetAllow, NetAllowList};
    let mut rs = RuleSet::empty("t");
    let e = encode(&rs, 7, 1);
    assert_eq!(e.ns.net_default_rule, abi::NO_RULE);
    rs.net.push(nrule(&["10.1.0.0/16"], &[], Action::Deny, 0));
    rs.net_allow = Some(NetAllowList {
        origin: 1,
        answering: Default::default(),
        rules: vec![
            // Names only: nothing in the kernel until varmord answers them.
            NetAllow {
                hosts: vec!["a.example".to_string().try_into().unwrap()],
                addrs: vec![],
                ports: vec![],
                origin: 2,
            },
            NetAllow {
                hosts: vec![],
                addrs: vec!["10.0.0.0/8".parse().unwrap()],
                ports: vec![Ports { lo: 443, hi: 443 }],
                origin: 3,
            },
        ],
    });
    let e = encode(&rs, 7, 1);
    assert_eq!(e.ns.net_default_rule, 1);
    assert!(e.ns.kinds & (1 << abi::EV_NET) != 0);
    let rules: Vec<_> = e
        .net_rule
        .iter()
        .map(|(_, v)| (v.action, v.rule, v.dirs, v.nports))
        .collect();
    assert_eq!(
        rules,
        vec![
            (abi::ACTION_DENY, 0, Dirs::ALL.bits(), 0),
            (abi::ACTION_ALLOW, 3, abi::NET_CONNECT | abi::NET_SEND, 1)
        ]
    );
    // 10.1.0.0/16 holds both rules (bits 0 and 1), the rest of 10/8 only the allow.
    let bits = |a: [u8; 4], len: u32| {
        e.net_addr
            .iter()
            .find(|(k, _)| k.prefixlen == 32 + 96 + len && k.addr[12..] == a)
            .map(|(_, v)| v.rules)
    };
    assert_eq!(bits([10, 1, 0, 0], 16), Some(0b11));
    assert_eq!(bits([10, 0, 0, 0], 8), Some(0b10));
}

#[test]
fn varmor_net_encodings() {
    let mut rs = RuleSet::empty("t");
    rs.net.push(nrule(&["1.1.1.1"], &[], Action::Deny, 0));
    rs.net
        .push(nrule(&["10.0.0.0/8"], &[(80, 80)], Action::Deny, 1));
    rs.net
        .push(nrule(&["2001:db8::/32"], &[(1000, 2000)], Action::Deny, 2));
    rs.net
        .push(nrule(&[], &[(22, 22), (443, 443)], Action::Audit, 3));
    let e = encode(&rs, 9, 1);
    let flags: Vec<u32> = e.net_rule.iter().map(|(_, v)| v.flags).collect();
    assert_eq!(
        flags,
        vec![0x40, 0x40 | 0x20 | 0x100, 0x80 | 0x20 | 0x400, 0x800]
    );
    let r1 = e.net_rule[1].1;
    assert_eq!(
        (
            r1.nports,
            r1.ports[0].lo,
            r1.ports[0].hi,
            r1.action,
            r1.rule
        ),
        (1, 80, 80, abi::ACTION_DENY, 1)
    );
    let find = |a: &str, plen: u32| {
        let addr = trie_addr(a.parse().unwrap());
        e.net_addr
            .iter()
            .find(|(k, _)| k.addr == addr && k.prefixlen == plen)
            .map(|(_, v)| v.rules)
    };
    // 1.1.1.1/32 -> ::ffff:1.1.1.1/128, plus the any-address rule 3 folded in.
    assert_eq!(find("1.1.1.1", 32 + 128), Some(0b1001));
    assert_eq!(find("10.0.0.0", 32 + 96 + 8), Some(0b1010));
    assert_eq!(find("2001:db8::", 32 + 32), Some(0b1100));
    assert_eq!(find("::", 32), Some(0b1000));
    assert_eq!(e.ns.n_net, 4);
}

/// The kernel's path lookup, modelled on the encoded entries.
fn model_path(e: &MapEntries, path: &[u8]) -> abi::PathVal {
    let mut v = empty_val(0);
    let long = path.len() >= abi::PATH_MAX;
    if !long {
        if let Some((_, x)) = e.exact.iter().find(|(k, _)| {
            &k.path[..path.len()] == path && k.path[path.len()..].iter().all(|&b| b == 0)
        }) {
            merge(&mut v, x);
        }
    }
    let lpm = |ents: &[(abi::LpmPathKey, abi::PathVal)], s: &[u8]| {
        let s = &s[..s.len().min(abi::LPM_PATH_MAX)];
        ents.iter()
            .filter(|(k, _)| {
                let n = (k.prefixlen as usize - 32) / 8;
                n <= s.len() && k.path[..n] == s[..n]
            })
            .max_by_key(|(k, _)| k.prefixlen)
            .map(|(_, x)| *x)
    };
    if let Some(x) = lpm(&e.prefix, path) {
        merge(&mut v, &x);
    }
    let rev: Vec<u8> = path.iter().rev().copied().collect();
    if let Some(x) = lpm(&e.suffix, &rev) {
        merge(&mut v, &x);
    }
    for (_, g) in &e.glob {
        if long || varmor_core::profile::pattern::glob_match(&g.pattern[..g.len as usize], path) {
            let d = if g.deny != 0 { g.rule } else { abi::NO_RULE };
            let a = if g.audit != 0 { g.rule } else { abi::NO_RULE };
            merge(
                &mut v,
                &abi::PathVal {
                    deny: g.deny,
                    audit: g.audit,
                    deny_rule: d,
                    audit_rule: a,
                    flags: 0,
                    pad: 0,
                },
            );
        }
    }
    v
}

fn pattern() -> impl Strategy<Value = String> {
    let seg = prop::sample::select(vec!["a", "b", "ab", "etc", "curl", "*", "?"]);
    (prop::collection::vec(seg, 1..4), 0..4u8).prop_map(|(segs, shape)| {
        let body = segs.join("/");
        match shape {
            0 => format!("/{body}"),
            1 => format!("/{body}/**"),
            2 => format!("**/{body}"),
            _ => format!("/{}/**/{}", segs[0], segs[segs.len() - 1]),
        }
    })
}

proptest! {
    #[test]
    fn model_equals_reference(ps in prop::collection::vec(pattern(), 1..16),
                              segs in prop::collection::vec(prop::sample::select(vec!["a", "b", "ab", "etc", "curl"]), 1..5),
                              long in any::<bool>()) {
        let rules: Vec<PathRule> = ps.iter().enumerate().filter_map(|(i, p)| Pattern::parse(p).ok().map(|pattern|
            PathRule { pattern, access: Access::from_bits(1 << (i % 3)).unwrap(),
                       action: if i % 4 == 0 { Action::Audit } else { Action::Deny }, origin: (i * 7 % 5) as u32 })).collect();
        let mut rs = RuleSet::empty("t");
        rs.paths = rules.iter().filter(|r| r.pattern.kind() != PatternKind::Glob).cloned().chain(
            rules.iter().filter(|r| r.pattern.kind() == PatternKind::Glob).take(abi::GLOB_RULES).cloned()).collect();
        let mut path = format!("/{}", segs.join("/"));
        if long { path = format!("/{}{}", "x".repeat(300), path); }
        let e = encode(&rs, 3, 1);
        let got = model_path(&e, path.as_bytes());
        let want = PathIndex::new(&rs.paths).lookup(path.as_bytes());
        prop_assert_eq!(want, reference_path(&rs.paths, path.as_bytes()));
        prop_assert_eq!(got.deny, want.deny.bits());
        prop_assert_eq!(got.audit, want.audit.bits());
        prop_assert_eq!(got.deny_rule, want.deny_rule.unwrap_or(abi::NO_RULE));
        prop_assert_eq!(got.audit_rule, want.audit_rule.unwrap_or(abi::NO_RULE));
    }
}

#[test]
fn mapped_and_v6_nets_stay_apart() {
    let mut rs = RuleSet::empty("t");
    rs.net.push(nrule(&["::/0"], &[], Action::Deny, 0));
    rs.net.push(nrule(&["127.0.0.0/8"], &[], Action::Audit, 1));
    let e = encode(&rs, 2, 1);
    let lookup = |a: IpAddr| {
        let t = u128::from_be_bytes(trie_addr(a));
        e.net_addr
            .iter()
            .filter(|(k, _)| {
                contains(
                    (u128::from_be_bytes(k.addr), (k.prefixlen - 32) as u8),
                    (t, 128),
                )
            })
            .max_by_key(|(k, _)| k.prefixlen)
            .map_or(0, |(_, v)| v.rules)
    };
    for a in [
        "127.0.0.1",
        "::ffff:127.0.0.1",
        "10.1.1.1",
        "::1",
        "2001:db8::1",
    ] {
        let a: IpAddr = a.parse().unwrap();
        let bits = lookup(a);
        let model = |want: Action| {
            rs.net
                .iter()
                .enumerate()
                .find(|(i, r)| bits >> i & 1 == 1 && r.action == want)
                .map(|(_, r)| r.origin)
        };
        let (d, au) = reference_net(&rs, abi::NET_CONNECT, a, 80);
        assert_eq!((model(Action::Deny), model(Action::Audit)), (d, au), "{a}");
    }
}
