//! Ancestor guards (bpf-lsm): a rule on a path also forbids renaming the directories
//! that lead to it, so a denied file cannot be reached under a new name.
//!
//! The LSM hooks match the path a file has *now*. Without guards, `mv ~/.ssh ~/x; cat
//! ~/x/id_ed25519` reads a key that `deny: read /home/*/.ssh/**` protects: neither the
//! rename (of `~/.ssh`, which the rule does not name) nor the open (of `~/x/...`) matches.
//! For every deny rule, each directory on the way to what it names gets a derived
//! `deny: rename` with the same origin, so the denial line names the rule it protects:
//! `/home/*/.ssh/**` guards `/home`, `/home/*` and `/home/*/.ssh`.
//!
//! Not guarded: a cut that ends in `**` (it names every directory below: renaming inside
//! it keeps what `**` matches), and `/`. A rule that starts with `**` (`**/curl`) matches
//! by its tail, which a rename of an ancestor keeps. compat needs none of this: its
//! Landlock plan refuses those renames (crates/kernel/src/enforcer/landlock/).
//!
//! A guard with wildcards (`/home/*/.ssh`) is also expanded, when varmord confines, over
//! the directories that exist then (`/home/alice/.ssh`: exact entries, no glob room used),
//! and kept as a glob while the kernel's bounded glob list has room (so a directory made
//! later is guarded too). Past that room, a guard that cannot be expanded (`**` inside)
//! is widened to its last name anywhere (`**/.ssh`: stricter, rename only).

use std::collections::BTreeSet;

use varmor_core::profile::file::{Access, Action, PathRule};
use varmor_core::profile::pattern::{glob_match, Pattern, PatternKind};
use varmor_core::rules::{limits, RuleSet};

/// The directories leading to what `p` names, as patterns (shortest first).
fn cuts(p: &Pattern) -> Vec<String> {
    let text = p.as_str();
    if text.starts_with("**") {
        return vec![];
    }
    let comps: Vec<&str> = text.split('/').skip(1).collect();
    (1..comps.len())
        .map(|k| format!("/{}", comps[..k].join("/")))
        .filter(|c| !c.ends_with("**"))
        .collect()
}

/// `/home/*/.ssh` -> `**/.ssh`: the same last name anywhere (None if it has wildcards).
fn widen(cut: &str) -> Option<String> {
    let last = cut.rsplit('/').next()?;
    (!last.is_empty() && !last.contains(['*', '?'])).then(|| format!("**/{last}"))
}

/// At most this many directories one wildcard guard expands to; past it, the glob alone.
const EXPAND_MAX: usize = 256;

/// The directories that exist now and match `cut` (components with `*`/`?`, no `**`),
/// by lstat: a symlink is not a directory one could rename a protected tree out of.
/// None: `**` inside, or more than EXPAND_MAX matches.
pub fn expand_existing(cut: &str) -> Option<Vec<String>> {
    if cut.contains("**") {
        return None;
    }
    let mut found = vec![String::new()];
    for comp in cut.split('/').skip(1) {
        let mut next = vec![];
        for dir in &found {
            if !comp.contains(['*', '?']) {
                next.push(format!("{dir}/{comp}"));
                continue;
            }
            let Ok(rd) = std::fs::read_dir(if dir.is_empty() { "/" } else { dir }) else {
                continue;
            };
            for ent in rd.flatten() {
                let name = ent.file_name();
                let Some(name) = name.to_str() else { continue };
                let is_dir = ent.file_type().is_ok_and(|t| t.is_dir());
                if is_dir && glob_match(comp.as_bytes(), name.as_bytes()) {
                    next.push(format!("{dir}/{name}"));
                }
            }
        }
        if next.len() > EXPAND_MAX {
            return None;
        }
        found = next;
    }
    found.retain(|d| std::fs::symlink_metadata(d).is_ok_and(|m| m.is_dir()));
    Some(found)
}

/// Adds `deny: rename` on `pat` (same origin as the rule it guards) unless already there.
fn push(out: &mut RuleSet, seen: &mut BTreeSet<String>, pat: Pattern, origin: u32) -> bool {
    let new = seen.insert(pat.as_str().to_string());
    if new {
        out.paths.push(PathRule {
            pattern: pat,
            access: Access::RENAME,
            action: Action::Deny,
            origin,
        });
    }
    new
}

/// `rs` with a rename guard for every directory leading to a deny rule's path;
/// `expand` lists the existing directories a wildcard guard names (`expand_existing`).
pub fn with_ancestor_guards(rs: &RuleSet, expand: impl Fn(&str) -> Option<Vec<String>>) -> RuleSet {
    let mut out = rs.clone();
    let mut seen: BTreeSet<String> = rs
        .paths
        .iter()
        .filter(|r| r.action == Action::Deny && r.access.contains(Access::RENAME))
        .map(|r| r.pattern.as_str().to_string())
        .collect();
    let mut globs = rs
        .paths
        .iter()
        .filter(|r| r.pattern.kind() == PatternKind::Glob)
        .count();
    for r in rs.paths.iter().filter(|r| r.action == Action::Deny) {
        for cut in cuts(&r.pattern) {
            let Ok(pat) = Pattern::parse(&cut) else {
                continue;
            };
            if pat.kind() != PatternKind::Glob {
                push(&mut out, &mut seen, pat, r.origin);
                continue;
            }
            let expanded = expand(&cut);
            for dir in expanded.iter().flatten() {
                if let Ok(p) = Pattern::parse(dir) {
                    push(&mut out, &mut seen, p, r.origin);
                }
            }
            if globs < limits::GLOB_RULES {
                if push(&mut out, &mut seen, pat, r.origin) {
                    globs += 1;
                }
            } else if expanded.is_none() {
                if let Some(w) = widen(&cut).and_then(|w| Pattern::parse(&w).ok()) {
                    push(&mut out, &mut seen, w, r.origin);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(p: &str, access: Access, action: Action) -> PathRule {
        PathRule {
            pattern: Pattern::parse(p).unwrap(),
            access,
            action,
            origin: 7,
        }
    }

    fn guarded(rules: Vec<PathRule>) -> Vec<String> {
        let mut rs = RuleSet::empty("t");
        let n = rules.len();
        rs.paths = rules;
        rs.origins = (0..8)
            .map(|i| varmor_core::rules::Origin {
                profile: "t".into(),
                file: "t.yaml".into(),
                line: i,
                label: format!("file[{i}]"),
            })
            .collect();
        let g = with_ancestor_guards(&rs, |_| None);
        g.validate().unwrap();
        g.paths[n..]
            .iter()
            .inspect(|r| {
                assert_eq!(
                    (r.access, r.action, r.origin),
                    (Access::RENAME, Action::Deny, 7)
                )
            })
            .map(|r| r.pattern.as_str().to_string())
            .collect()
    }

    #[test]
    fn every_directory_on_the_way_is_guarded() {
        let read = Access::READ;
        assert_eq!(
            guarded(vec![rule("/home/*/.ssh/**", read, Action::Deny)]),
            ["/home", "/home/*", "/home/*/.ssh"]
        );
        assert_eq!(
            guarded(vec![rule("/etc/shadow", read, Action::Deny)]),
            ["/etc"]
        );
        assert_eq!(
            guarded(vec![rule("/home/**/.env", read, Action::Deny)]),
            ["/home"]
        );
    }

    #[test]
    fn tails_audits_and_duplicates_add_nothing() {
        let read = Access::READ;
        assert!(guarded(vec![rule("**/curl", Access::EXEC, Action::Deny)]).is_empty());
        assert!(guarded(vec![rule("/etc/shadow", read, Action::Audit)]).is_empty());
        assert_eq!(
            guarded(vec![
                rule("/etc/shadow", read, Action::Deny),
                rule("/etc/gshadow", read, Action::Deny),
            ]),
            ["/etc"]
        );
    }

    #[test]
    fn past_the_glob_budget_guards_widen_to_the_name() {
        let read = Access::READ;
        let rules: Vec<PathRule> = (0..limits::GLOB_RULES)
            .map(|i| rule(&format!("/home/*/.d{i}/**"), read, Action::Deny))
            .collect();
        let g = guarded(rules);
        assert!(g.contains(&"/home".to_string()));
        assert!(g.contains(&"**/.d0".to_string()));
        assert!(
            !g.contains(&"/home/*".to_string()),
            "no room left for that glob"
        );
    }

    #[test]
    fn wildcard_guards_expand_over_existing_directories_only() {
        let t = std::env::temp_dir().join(format!("varmor-guards-{}", std::process::id()));
        for d in ["a/.ssh", "b/.ssh", "c"] {
            std::fs::create_dir_all(t.join(d)).unwrap();
        }
        std::fs::write(t.join("c/.ssh"), "a file, not a directory").unwrap();
        std::os::unix::fs::symlink(t.join("a"), t.join("d")).unwrap();
        let got = expand_existing(&format!("{}/*/.ssh", t.display()));
        std::fs::remove_dir_all(&t).unwrap();
        let mut got = got.unwrap();
        got.sort();
        let want: Vec<String> = ["a", "b"]
            .iter()
            .map(|d| format!("{}/{d}/.ssh", t.display()))
            .collect();
        assert_eq!(got, want, "d/.ssh goes through a symlink, c/.ssh is a file");
        assert_eq!(expand_existing("/home/**/.ssh"), None);
    }
}
