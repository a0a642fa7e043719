//! Deny rules by identity as well as by name (compat). A rule names a path, but a hard
//! link or a rename (of the file or of a directory above it) gives the same file a new
//! name that no rule matches. At confine time, before the sandbox runs, varmord records
//! the inode behind every exact path and every file below a `/dir/**` prefix (bounded);
//! an open of one of those inodes is denied under any name.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use varmor_core::profile::file::{Access, Action};
use varmor_core::profile::pattern::PatternKind;
use varmor_core::rules::RuleSet;

/// Files recorded below one prefix rule, and in all.
const PER_PREFIX: usize = 4096;
const TOTAL: usize = 65_536;

#[derive(Default)]
pub struct DeniedInodes(HashMap<(u64, u64), (Access, u32)>);

impl DeniedInodes {
    /// The inodes behind `rules`' deny patterns, seen from the sandbox whose first process
    /// is `pid` (through /proc/PID/root), for the accesses fanotify answers.
    pub fn collect(pid: i32, rules: &RuleSet) -> DeniedInodes {
        let visible = super::fanotify_access();
        let mut set = DeniedInodes::default();
        let root = format!("/proc/{pid}/root");
        for r in rules.paths.iter().filter(|r| r.action == Action::Deny) {
            let access = Access::from_bits(r.access.bits() & visible.bits()).unwrap_or_default();
            if access.is_empty() {
                continue;
            }
            let lit = r.pattern.literal();
            match r.pattern.kind() {
                PatternKind::Exact => set.add(&format!("{root}{lit}"), access, r.origin),
                PatternKind::Prefix => {
                    let mut budget = PER_PREFIX;
                    set.walk(
                        Path::new(&format!("{root}{lit}")),
                        access,
                        r.origin,
                        &mut budget,
                    )
                }
                PatternKind::Suffix | PatternKind::Glob => {}
            }
        }
        set
    }

    fn add(&mut self, path: &str, access: Access, origin: u32) {
        if self.0.len() >= TOTAL {
            return;
        }
        if let Ok(m) = std::fs::metadata(path) {
            if m.is_file() {
                let e = self
                    .0
                    .entry((m.dev(), m.ino()))
                    .or_insert((Access::NONE, origin));
                e.0 = e.0.union(access);
            }
        }
    }

    fn walk(&mut self, dir: &Path, access: Access, origin: u32, budget: &mut usize) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            if *budget == 0 {
                return;
            }
            *budget -= 1;
            let Ok(t) = e.file_type() else { continue };
            if t.is_dir() {
                self.walk(&e.path(), access, origin, budget);
            } else if t.is_file() {
                self.add(&e.path().to_string_lossy(), access, origin);
            }
        }
    }

    /// The rule that denies `req` on the file (dev, ino), if any.
    pub fn denies(&self, dev: u64, ino: u64, req: Access) -> Option<u32> {
        self.0
            .get(&(dev, ino))
            .filter(|(a, _)| a.intersects(req))
            .map(|(_, o)| *o)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The filesystems (st_dev) the recorded files are on.
    pub fn devices(&self) -> std::collections::BTreeSet<u64> {
        self.0.keys().map(|(d, _)| *d).collect()
    }
}
