//! Step 7 (compat backend): Landlock enforces the parts of file rules fanotify cannot see —
//! create, delete, rename, link, truncate — on protected paths. Landlock grants rights to
//! whole subtrees, so a right is withheld in the directory holding the protected path
//! and in its ancestors (for entries directly in them), granted everywhere else; this is
//! stricter than the rule, and `--check` says so. A Landlock domain is always created:
//! it also keeps the sandbox from ptracing anything outside it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use landlock::{
    AccessFs, BitFlags, PathBeneath, PathFd, Ruleset, RulesetAttr, RulesetCreatedAttr,
    RulesetStatus, Scope, ABI,
};

use super::error::LaunchError;
use crate::abi;
use crate::profile::file::Action;
use crate::profile::pattern::PatternKind;
use crate::rules::RuleSet;

const LL_ABI: ABI = ABI::V6;

pub struct LandlockReport {
    pub status: String,
    pub notes: Vec<String>,
}

fn make_all() -> BitFlags<AccessFs> {
    AccessFs::MakeChar
        | AccessFs::MakeDir
        | AccessFs::MakeReg
        | AccessFs::MakeSock
        | AccessFs::MakeFifo
        | AccessFs::MakeBlock
        | AccessFs::MakeSym
}

/// Landlock rights that stand for the accesses of a rule.
fn rights_for(access: u32) -> BitFlags<AccessFs> {
    let mut r = BitFlags::empty();
    if access & abi::MAY_CREATE != 0 {
        r |= make_all();
    }
    if access & abi::MAY_DELETE != 0 {
        r |= AccessFs::RemoveFile | AccessFs::RemoveDir;
    }
    if access & abi::MAY_RENAME != 0 {
        r |= AccessFs::RemoveFile | AccessFs::RemoveDir | AccessFs::Refer;
    }
    if access & abi::MAY_LINK != 0 {
        r |= AccessFs::MakeReg | AccessFs::Refer;
    }
    if access & abi::MAY_TRUNCATE != 0 {
        r |= AccessFs::Truncate;
    }
    r
}

/// The directory whose subtree must lose the rights for a pattern.
fn protected_dir(pattern: &str, kind: PatternKind) -> PathBuf {
    let literal = match kind {
        PatternKind::Exact => pattern,
        _ => &pattern[..pattern.find(['*', '?']).unwrap_or(pattern.len())],
    };
    if kind == PatternKind::Prefix && literal.ends_with('/') {
        return PathBuf::from(literal.trim_end_matches('/')).max(PathBuf::from("/"));
    }
    match literal.rfind('/') {
        Some(0) | None => PathBuf::from("/"),
        Some(i) => PathBuf::from(&literal[..i]),
    }
}

/// (directory, rights withheld beneath it) for every deny rule Landlock must enforce.
pub fn withheld(rules: &RuleSet) -> Vec<(PathBuf, BitFlags<AccessFs>)> {
    rules
        .paths
        .iter()
        .filter(|r| r.action == Action::Deny)
        .map(|r| {
            (
                protected_dir(r.pattern.as_str(), r.pattern.kind()),
                rights_for(r.access.bits()),
            )
        })
        .filter(|(_, rights)| !rights.is_empty())
        .collect()
}

fn add(
    rs: landlock::RulesetCreated,
    path: &Path,
    rights: BitFlags<AccessFs>,
) -> Result<landlock::RulesetCreated, LaunchError> {
    let Ok(fd) = PathFd::new(path) else {
        return Ok(rs);
    }; // vanished or unreadable: stays denied
    let file_only = !path.is_dir();
    let rights = if file_only {
        rights & AccessFs::from_file(LL_ABI)
    } else {
        rights
    };
    if rights.is_empty() {
        return Ok(rs);
    }
    rs.add_rule(PathBeneath::new(fd, rights))
        .map_err(|e| LaunchError::Landlock(format!("{}: {e}", path.display())))
}

/// Applies the Landlock domain for `rules` to this process (before execve).
pub fn apply(rules: &RuleSet) -> Result<LandlockReport, LaunchError> {
    let from_rules = withheld(rules);
    let mut denied = from_rules.clone();
    // Moving a process out of its sandbox's cgroup would end the sandbox in varmord's
    // eyes (root can write any cgroup.procs, a user their delegated ones): no cgroup file
    // is writable inside.
    let cgroups = Path::new("/sys/fs/cgroup");
    if cgroups.is_dir() {
        denied.push((cgroups.to_path_buf(), AccessFs::WriteFile.into()));
    }
    let handled = denied.iter().fold(BitFlags::empty(), |a, (_, r)| a | *r);
    let lerr = |e: landlock::RulesetError| LaunchError::Landlock(e.to_string());
    // With nothing to withhold, a domain that restricts nothing still scopes ptrace.
    let handled = if handled.is_empty() {
        BitFlags::from(AccessFs::Execute)
    } else {
        handled
    };
    // Signals stay inside the domain too (Landlock ABI 6; dropped on older kernels): the
    // sandbox cannot kill varmord, its guard or anything else outside.
    let mut rs = Ruleset::default()
        .handle_access(handled)
        .map_err(lerr)?
        .scope(Scope::Signal)
        .map_err(lerr)?
        .create()
        .map_err(lerr)?;
    let withheld_at = |p: &Path| -> BitFlags<AccessFs> {
        denied
            .iter()
            .filter(|(d, _)| p.starts_with(d))
            .fold(BitFlags::empty(), |a, (_, r)| a | *r)
    };
    // Every protected directory and its ancestors form the chain; everything hanging off
    // the chain gets what is not withheld above it.
    let mut chain: BTreeSet<PathBuf> = BTreeSet::new();
    for (d, _) in &denied {
        chain.extend(d.ancestors().map(Path::to_path_buf));
    }
    if chain.is_empty() {
        rs = add(rs, Path::new("/"), handled)?;
    }
    for a in &chain {
        // Rights withheld nowhere below or at `a` can be granted on `a` as a whole.
        let below = denied
            .iter()
            .filter(|(d, _)| d.starts_with(a) || a.starts_with(d))
            .fold(BitFlags::empty(), |x, (_, r)| x | *r);
        rs = add(rs, a, handled & !below)?;
        let Ok(children) = std::fs::read_dir(a) else {
            continue;
        };
        for c in children
            .flatten()
            .map(|e| e.path())
            .filter(|c| !chain.contains(c))
        {
            rs = add(rs, &c, handled & !withheld_at(&c))?;
        }
    }
    let status = rs.restrict_self().map_err(lerr)?;
    if status.ruleset == RulesetStatus::NotEnforced {
        return Err(LaunchError::Landlock(
            "the kernel does not enforce Landlock; the rules cannot be kept".into(),
        ));
    }
    let notes = from_rules
        .iter()
        .map(|(d, r)| {
            format!(
                "Landlock: {r:?} withheld in {} and for entries directly in its ancestors",
                d.display()
            )
        })
        .collect();
    Ok(LandlockReport {
        status: format!("{:?}", status.ruleset),
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn protected_dirs() {
        assert_eq!(
            protected_dir("/tmp/x/link", PatternKind::Exact),
            PathBuf::from("/tmp/x")
        );
        assert_eq!(
            protected_dir("/etc/", PatternKind::Prefix),
            PathBuf::from("/etc")
        );
        assert_eq!(
            protected_dir("/home/*/.ssh/**", PatternKind::Glob),
            PathBuf::from("/home")
        );
        assert_eq!(
            protected_dir("**/curl", PatternKind::Suffix),
            PathBuf::from("/")
        );
        assert_eq!(protected_dir("/x", PatternKind::Exact), PathBuf::from("/"));
    }
}
