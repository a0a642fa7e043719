//! The reference matcher: what a rule set decides for a path or a network access.
//! varmord answers fanotify events with `PathIndex`; the BPF matcher must give the same
//! answers (checked in-kernel with BPF_PROG_TEST_RUN against `reference_path`).
//!
//! A path lookup returns the union of the accesses every matching rule denies and audits.
//! Lookup cost does not grow with the number of exact/prefix/suffix rules: exact paths are
//! one hash lookup, prefixes and suffixes one hash lookup per distinct rule length; only
//! the bounded glob list (at most `abi::GLOB_RULES`) is scanned.
//! Paths of `abi::PATH_MAX` bytes or more are kept whole here, but the kernel keeps only
//! `PATH_MAX - 1` bytes, so for such paths every glob rule counts as matching (fail closed).

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

use crate::abi;
use crate::profile::file::{Access, Action, PathRule};
use crate::profile::pattern::PatternKind;
use crate::rules::RuleSet;

/// The answer for one path: accesses denied, accesses audited, and one matching rule's
/// origin index for each (the first rule in profile order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Verdict {
    pub deny: Access,
    pub audit: Access,
    pub deny_rule: Option<u32>,
    pub audit_rule: Option<u32>,
}

impl Verdict {
    fn add(&mut self, r: &PathRule) {
        match r.action {
            Action::Deny => {
                self.deny = self.deny.union(r.access);
                self.deny_rule = Some(self.deny_rule.map_or(r.origin, |o| o.min(r.origin)));
            }
            Action::Audit => {
                self.audit = self.audit.union(r.access);
                self.audit_rule = Some(self.audit_rule.map_or(r.origin, |o| o.min(r.origin)));
            }
        }
    }

    /// Is any of `req` denied? Returns the rule's origin when it is.
    pub fn denies(&self, req: Access) -> Option<u32> {
        self.deny
            .intersects(req)
            .then(|| self.deny_rule.unwrap_or(0))
    }

    pub fn audits(&self, req: Access) -> Option<u32> {
        self.audit
            .intersects(req)
            .then(|| self.audit_rule.unwrap_or(0))
    }
}

fn long_path(path: &[u8]) -> bool {
    path.len() >= abi::PATH_MAX
}

/// The linear, obviously-correct definition.
pub fn reference_path(rules: &[PathRule], path: &[u8]) -> Verdict {
    let mut v = Verdict::default();
    for r in rules {
        let glob_fail_closed = r.pattern.kind() == PatternKind::Glob && long_path(path);
        if glob_fail_closed || r.pattern.matches(path) {
            v.add(r);
        }
    }
    v
}

/// Indexed form of the same decision.
#[derive(Debug, Default)]
pub struct PathIndex {
    exact: HashMap<Vec<u8>, Vec<PathRule>>,
    prefix: HashMap<Vec<u8>, Vec<PathRule>>,
    prefix_lens: BTreeSet<usize>,
    suffix: HashMap<Vec<u8>, Vec<PathRule>>,
    suffix_lens: BTreeSet<usize>,
    globs: Vec<PathRule>,
    /// Union of all accesses any rule names: a request outside it needs no lookup.
    pub any: Access,
}

impl PathIndex {
    pub fn new(rules: &[PathRule]) -> PathIndex {
        let mut ix = PathIndex::default();
        for r in rules {
            ix.any = ix.any.union(r.access);
            let lit = r.pattern.literal().as_bytes().to_vec();
            match r.pattern.kind() {
                PatternKind::Exact => ix.exact.entry(lit).or_default().push(r.clone()),
                PatternKind::Prefix => {
                    ix.prefix_lens.insert(lit.len());
                    ix.prefix.entry(lit).or_default().push(r.clone());
                }
                PatternKind::Suffix => {
                    ix.suffix_lens.insert(lit.len());
                    ix.suffix.entry(lit).or_default().push(r.clone());
                }
                PatternKind::Glob => ix.globs.push(r.clone()),
            }
        }
        ix
    }

    pub fn lookup(&self, path: &[u8]) -> Verdict {
        let mut v = Verdict::default();
        let mut add = |rs: Option<&Vec<PathRule>>| rs.into_iter().flatten().for_each(|r| v.add(r));
        add(self.exact.get(path));
        for &n in self.prefix_lens.iter().take_while(|&&n| n <= path.len()) {
            add(self.prefix.get(&path[..n]));
        }
        for &n in self.suffix_lens.iter().take_while(|&&n| n <= path.len()) {
            add(self.suffix.get(&path[path.len() - n..]));
        }
        let long = long_path(path);
        for r in &self.globs {
            if long || r.pattern.matches(path) {
                v.add(r);
            }
        }
        v
    }

    /// The answer for a file whose path cannot be read (deeper than PATH_MAX): every
    /// rule that matches by a prefix, a tail or a glob applies (fail closed), as the
    /// kernel side does for a path it had to truncate. Exact rules need the name.
    pub fn unnamed(&self) -> Verdict {
        let mut v = Verdict::default();
        self.prefix
            .values()
            .chain(self.suffix.values())
            .flatten()
            .chain(&self.globs)
            .for_each(|r| v.add(r));
        v
    }

    /// Could any rule match this path under some *other* name? True when glob, suffix
    /// or prefix rules exist at all; callers use it to decide whether caching an allow
    /// verdict on an inode with several names is sound.
    pub fn has_name_rules(&self) -> bool {
        !(self.exact.is_empty()
            && self.prefix.is_empty()
            && self.suffix.is_empty()
            && self.globs.is_empty())
    }
}

/// Network decision: first deny rule (in profile order) covering the access, and first
/// audit rule. `dir` is one of abi::NET_CONNECT / NET_SEND / NET_BIND.
pub fn reference_net(
    rs: &RuleSet,
    dir: u32,
    addr: IpAddr,
    port: u16,
) -> (Option<u32>, Option<u32>) {
    let first = |a: Action| {
        rs.net
            .iter()
            .find(|r| r.action == a && r.covers(dir, addr, port))
            .map(|r| r.origin)
    };
    (first(Action::Deny), first(Action::Audit))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::pattern::Pattern;
    use proptest::prelude::*;

    fn rule(p: &str, a: Access, action: Action, origin: u32) -> PathRule {
        PathRule {
            pattern: Pattern::parse(p).unwrap(),
            access: a,
            action,
            origin,
        }
    }

    #[test]
    fn index_equals_reference_on_table() {
        let read = Access::from_bits(abi::MAY_READ).unwrap();
        let rules = vec![
            rule("/etc/shadow", read, Action::Deny, 0),
            rule(
                "/etc/**",
                Access::from_bits(abi::MAY_WRITE).unwrap(),
                Action::Deny,
                1,
            ),
            rule("**/curl", Access::EXEC, Action::Deny, 2),
            rule("/home/*/.ssh/**", read, Action::Audit, 3),
        ];
        let ix = PathIndex::new(&rules);
        for p in [
            "/etc/shadow",
            "/etc/shadow-",
            "/etc/x/y",
            "/usr/bin/curl",
            "/home/a/.ssh/k",
            "/",
            "/etc",
        ] {
            assert_eq!(
                ix.lookup(p.as_bytes()),
                reference_path(&rules, p.as_bytes()),
                "{p}"
            );
        }
        assert_eq!(ix.lookup(b"/etc/shadow").denies(read), Some(0));
        assert_eq!(ix.lookup(b"/etc/shadow-").denies(read), None);
    }

    fn seg() -> impl Strategy<Value = String> {
        prop::sample::select(vec!["a", "b", "ab", "etc", "x.y", "curl", "*", "?"])
            .prop_map(String::from)
    }
    fn pattern() -> impl Strategy<Value = String> {
        (prop::collection::vec(seg(), 1..4), 0..4u8).prop_map(|(segs, shape)| {
            let body = segs.join("/");
            match shape {
                0 => format!("/{body}"),
                1 => format!("/{body}/**"),
                2 => format!("**/{body}"),
                _ => format!("/{}/**/{}", segs[0], segs[segs.len() - 1]),
            }
        })
    }
    fn path() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop::sample::select(vec!["a", "b", "ab", "etc", "x.y", "curl", "c"]),
            1..5,
        )
        .prop_map(|s| format!("/{}", s.join("/")))
    }

    /// Naive recursive glob matcher: the specification of `*`, `?`, `**`.
    fn spec(p: &[u8], s: &[u8]) -> bool {
        match p {
            [] => s.is_empty(),
            [b'*', b'*', rest @ ..] => (0..=s.len()).any(|i| spec(rest, &s[i..])),
            [b'*', rest @ ..] => (0..=s.len())
                .take_while(|&i| i == 0 || s[i - 1] != b'/')
                .any(|i| spec(rest, &s[i..])),
            [b'?', rest @ ..] => !s.is_empty() && s[0] != b'/' && spec(rest, &s[1..]),
            [c, rest @ ..] => !s.is_empty() && s[0] == *c && spec(rest, &s[1..]),
        }
    }

    proptest! {
        #[test]
        fn glob_matches_spec(p in pattern(), s in path()) {
            if let Ok(pat) = Pattern::parse(&p) {
                prop_assert_eq!(pat.matches(s.as_bytes()), spec(p.as_bytes(), s.as_bytes()), "{} vs {}", p, s);
            }
        }

        #[test]
        fn index_matches_reference(ps in prop::collection::vec(pattern(), 1..12), s in path()) {
            let rules: Vec<_> = ps.iter().enumerate().filter_map(|(i, p)| Pattern::parse(p).ok().map(|pat|
                PathRule { pattern: pat, access: Access::from_bits(1 << (i % 3)).unwrap(), action: if i % 4 == 0 { Action::Audit } else { Action::Deny }, origin: i as u32 })).collect();
            let ix = PathIndex::new(&rules);
            prop_assert_eq!(ix.lookup(s.as_bytes()), reference_path(&rules, s.as_bytes()));
        }
    }
}
