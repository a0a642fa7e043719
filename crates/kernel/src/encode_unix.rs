//! Unix-socket rules -> path map entries under the namespace's two unix key spaces
//! (`abi::unix_path_ns`, `abi::unix_abs_ns`), so bpf/unix.bpf.c answers a socket name
//! with the same lookups (bpf/path.bpf.h) as a file path, and no file rule ever meets a
//! socket rule. A deny is stored as denied bits, an audit as audited bits, an allow as
//! audited bits shifted by `abi::UNIX_ALLOW_SHIFT` (the program exempts what they cover).

use super::{encode_lits, Lit, MapEntries};
use varmor_core::abi;
use varmor_core::profile::unix::UnixAction;
use varmor_core::rules::RuleSet;

fn lit_bits(action: UnixAction, dirs: u32) -> u32 {
    match action {
        UnixAction::Allow => dirs << abi::UNIX_ALLOW_SHIFT,
        UnixAction::Deny | UnixAction::Audit => dirs,
    }
}

pub(super) fn encode_unix(rs: &RuleSet, ns: u32, e: &mut MapEntries) {
    let mut paths = Vec::new();
    let mut names = Vec::new();
    for r in &rs.unix {
        let (action, bits) = (r.action.action(), lit_bits(r.action, r.dirs));
        paths.extend(r.paths.iter().map(|p| Lit {
            pattern: p,
            action,
            bits,
            origin: r.origin,
        }));
        names.extend(r.abstract_names.iter().map(|p| Lit {
            pattern: &p.0,
            action,
            bits,
            origin: r.origin,
        }));
        if r.action == UnixAction::Deny && !r.paths.is_empty() {
            e.ns.unix_rel_deny |= r.dirs;
        }
    }
    e.ns.unix_rel_rule = rs
        .unix
        .iter()
        .filter(|r| r.action == UnixAction::Deny && !r.paths.is_empty())
        .map(|r| r.origin)
        .min()
        .unwrap_or(abi::NO_RULE);
    e.ns.n_unix_glob = encode_lits(&paths, abi::unix_path_ns(ns), e);
    e.ns.n_abs_glob = encode_lits(&names, abi::unix_abs_ns(ns), e);
}

#[cfg(test)]
mod tests {
    use crate::encode::encode;
    use varmor_core::abi;
    use varmor_core::profile::compile_text;

    const NS: u32 = 0xf000_1234;

    #[test]
    fn unix_rules_live_in_their_own_key_spaces() {
        let rs = compile_text(
            "t",
            "unix:\n  - deny: [connect, send]\n    paths: [\"/run/user/*/bus\", \"/tmp/tmux-1000/**\", \"/x/agent\"]\n    abstract: [\"@**\"]\n  - allow: connect\n    paths: /run/systemd/journal/socket\nfile:\n  - deny: read\n    paths: [/x/agent]\n",
        )
        .unwrap();
        let e = encode(&rs, NS, 1);
        assert_ne!(e.ns.kinds & (1 << abi::EV_UNIX), 0);
        assert_eq!(e.ns.n_unix_glob, 1);
        assert_eq!(e.ns.n_abs_glob, 0);
        assert_eq!(e.ns.n_glob, 0);
        assert_eq!(e.ns.unix_rel_deny, abi::UNIX_CONNECT | abi::UNIX_SEND);
        // The file rule on /x/agent and the unix rule on it are separate entries.
        let agent: Vec<_> = e
            .exact
            .iter()
            .filter(|(k, _)| k.path.starts_with(b"/x/agent\0"))
            .collect();
        assert_eq!(agent.len(), 2);
        let unix = agent
            .iter()
            .find(|(k, _)| k.ns == abi::unix_path_ns(NS))
            .unwrap();
        assert_eq!(unix.1.deny, abi::UNIX_CONNECT | abi::UNIX_SEND);
        let journal = e
            .exact
            .iter()
            .find(|(k, _)| k.path.starts_with(b"/run/systemd/journal/socket\0"))
            .unwrap();
        assert_eq!(journal.1.audit, abi::UNIX_CONNECT << abi::UNIX_ALLOW_SHIFT);
        assert!(e
            .prefix
            .iter()
            .any(|(k, _)| k.ns == abi::unix_abs_ns(NS) && k.prefixlen == 32 + 8));
    }
}
