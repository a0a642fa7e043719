//! A pattern expanded over the filesystem as it is at launch: its protected roots and the
//! directories where a wildcard component was expanded.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Expansions of one wildcard component beyond this many fall back to its directory.
const MAX_EXPANSION: usize = 4096;

/// `fsroot` + `p` (an absolute path as the sandbox sees it).
pub(super) fn on(fsroot: &Path, p: &Path) -> PathBuf {
    match p.strip_prefix("/") {
        Ok(rel) if rel.as_os_str().is_empty() => fsroot.to_path_buf(),
        Ok(rel) => fsroot.join(rel),
        Err(_) => fsroot.join(p),
    }
}

pub(super) fn is_real_dir(fsroot: &Path, p: &Path) -> bool {
    std::fs::symlink_metadata(on(fsroot, p)).is_ok_and(|m| m.is_dir())
}

/// Does one path component match a component pattern (`*` any run, `?` one byte)?
pub fn component_matches(pat: &[u8], name: &[u8]) -> bool {
    match pat.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => (0..=name.len()).any(|i| component_matches(rest, &name[i..])),
        Some((b'?', rest)) => !name.is_empty() && component_matches(rest, &name[1..]),
        Some((c, rest)) => name.first() == Some(c) && component_matches(rest, &name[1..]),
    }
}

/// (protected roots, directories where a wildcard component was expanded) of a pattern.
/// Matching is on real paths, so a symlink on the way is not followed: nothing below it
/// has a real path the pattern names.
pub(super) fn expand(pattern: &str, fsroot: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    if pattern.starts_with("**") {
        return (vec![PathBuf::from("/")], vec![]);
    }
    let comps: Vec<&str> = pattern.trim_start_matches('/').split('/').collect();
    let mut cur = vec![PathBuf::from("/")];
    let mut wild = Vec::new();
    for (i, comp) in comps.iter().enumerate() {
        let last = i + 1 == comps.len();
        if comp.contains("**") {
            return (cur, wild);
        }
        let mut next = Vec::new();
        if comp.contains(['*', '?']) {
            for d in &cur {
                wild.push(d.clone());
                let Ok(rd) = std::fs::read_dir(on(fsroot, d)) else {
                    continue;
                };
                for e in rd.flatten() {
                    if !component_matches(comp.as_bytes(), e.file_name().as_bytes()) {
                        continue;
                    }
                    let p = d.join(e.file_name());
                    if last || e.file_type().is_ok_and(|t| t.is_dir()) {
                        next.push(p);
                    }
                }
            }
            if next.len() > MAX_EXPANSION {
                // Too many to list: the directories themselves are protected (stricter).
                return (cur, wild);
            }
        } else {
            for d in &cur {
                let p = d.join(comp);
                let keep = last
                    || match std::fs::symlink_metadata(on(fsroot, &p)) {
                        Ok(m) => m.is_dir(),
                        Err(_) => true, // does not exist (yet): still protected
                    };
                if keep {
                    next.push(p);
                }
            }
        }
        cur = next;
    }
    (cur, wild)
}
