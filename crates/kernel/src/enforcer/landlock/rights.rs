//! Which Landlock rights stand for a deny rule's accesses, and how the rights and the
//! places where the sandbox stays stricter than its rules are told to the user.

use std::path::PathBuf;

use landlock::{AccessFs, BitFlags};

use super::Plan;
use varmor_core::abi;

pub(super) fn make_all() -> BitFlags<AccessFs> {
    AccessFs::MakeChar
        | AccessFs::MakeDir
        | AccessFs::MakeReg
        | AccessFs::MakeSock
        | AccessFs::MakeFifo
        | AccessFs::MakeBlock
        | AccessFs::MakeSym
}

/// The rights that change names in a directory (what varmord can perform in the chain).
pub fn name_rights() -> BitFlags<AccessFs> {
    make_all() | AccessFs::RemoveFile | AccessFs::RemoveDir | AccessFs::Refer
}

/// Whether a deny of truncate must be kept by Landlock: only when the same rule lets the
/// file be opened for writing (otherwise fanotify refuses the open that O_TRUNC and
/// ftruncate need, and varmord answers truncate(2)).
pub(super) fn truncate_needs_landlock(access: u32) -> bool {
    access & abi::MAY_TRUNCATE != 0 && access & abi::MAY_WRITE == 0
}

/// Landlock rights that stand for the accesses of a deny rule.
pub(super) fn rights_for(access: u32) -> BitFlags<AccessFs> {
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
    if truncate_needs_landlock(access) {
        r |= AccessFs::Truncate;
    }
    r
}

impl Plan {
    /// Where the sandbox stays stricter than its rules, one line each. `names`: varmord
    /// performs allowed name changes in the chain (compat with its notification filter).
    pub fn notes(&self, names: bool) -> Vec<String> {
        let mut notes = Vec::new();
        let chain: Vec<(&PathBuf, BitFlags<AccessFs>)> = self
            .chain
            .iter()
            .map(|(d, r)| (d, *r & !AccessFs::WriteFile))
            .filter(|(_, r)| !r.is_empty())
            .collect();
        if chain.is_empty() {
            return notes;
        }
        let dirs = list(chain.iter().map(|(d, _)| d.display().to_string()));
        if names {
            notes.push(format!(
                "Landlock: in {dirs} (on the way to protected paths) varmord performs the \
                 allowed create/delete/rename/link itself; still refused there and in \
                 directories made in them: binding a unix socket, openat2 with O_CREAT, \
                 moving in a directory that has subdirectories (EXDEV), renaming a \
                 directory a protected path could be under"
            ));
        } else {
            let rights = chain.iter().fold(BitFlags::empty(), |a, (_, r)| a | *r);
            notes.push(format!(
                "Landlock: new entries directly in {dirs} cannot be made, removed or \
                 renamed ({}) — stricter than the rules",
                rights_text(rights)
            ));
        }
        if self.handled.contains(AccessFs::Truncate) {
            notes.push(
                "Landlock: a rule denies truncate but not write, so files created later \
                 directly in those directories cannot be truncated"
                    .into(),
            );
        }
        notes
    }
}

/// `a, b, c and 4 more`.
fn list(items: impl Iterator<Item = String>) -> String {
    let v: Vec<String> = items.collect();
    const SHOWN: usize = 6;
    if v.len() <= SHOWN {
        v.join(", ")
    } else {
        format!("{} and {} more", v[..SHOWN].join(", "), v.len() - SHOWN)
    }
}

/// Rights in the profile's words.
pub fn rights_text(r: BitFlags<AccessFs>) -> String {
    let mut words = Vec::new();
    if r.intersects(make_all()) {
        words.push("create");
    }
    if r.intersects(AccessFs::RemoveFile | AccessFs::RemoveDir) {
        words.push("delete/rename");
    }
    if r.contains(AccessFs::Refer) && !r.intersects(make_all()) {
        words.push("move in");
    }
    if r.contains(AccessFs::Truncate) {
        words.push("truncate");
    }
    if r.contains(AccessFs::WriteFile) {
        words.push("write");
    }
    words.join(", ")
}
