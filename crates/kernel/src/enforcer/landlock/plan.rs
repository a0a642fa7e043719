//! The plan: what Landlock withholds where (protected roots, the chain of directories on
//! the way to them) and the beneath-rules that grant everything else.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use landlock::{AccessFs, BitFlags, ABI};

use super::expand::{expand, is_real_dir, on};
use super::rights::{make_all, rights_for};
use super::Carry;
use super::CgroupHold;
use varmor_core::profile::file::Action;
use varmor_core::rules::RuleSet;

const LL_ABI: ABI = ABI::V6;

/// Rights withheld at and below `root` (a path as the sandbox sees it; it may not exist).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protection {
    pub root: PathBuf,
    pub rights: BitFlags<AccessFs>,
    /// Index into the rule set's origins (None: the built-in cgroup protection).
    pub origin: Option<u32>,
}

/// What Landlock is given, computed at launch from the rules and what exists.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub handled: BitFlags<AccessFs>,
    pub protections: Vec<Protection>,
    /// Existing directories on the way to protected roots (or where a wildcard component
    /// is expanded), with the rights their direct entries lack.
    pub chain: BTreeMap<PathBuf, BitFlags<AccessFs>>,
    /// Protected root -> the rights withheld at and below it (lookups by ancestor).
    roots: HashMap<PathBuf, BitFlags<AccessFs>>,
    /// Connecting to every abstract socket outside is denied (no-host-ipc's `@**`, no
    /// abstract allow): Landlock's abstract-socket scoping (ABI 6) holds that too.
    pub scope_abstract: bool,
}

impl Plan {
    /// The plan for `rules` as the filesystem under `fsroot` ("/" in the launcher,
    /// /proc/PID/root in varmord) is now, Landlock holding the cgroup files.
    pub fn new(rules: &RuleSet, carry: Carry, fsroot: &Path) -> Plan {
        Plan::with_cgroups(rules, carry, CgroupHold::Landlock, fsroot)
    }

    /// As `new`, with the cgroup files held by `cgroups` (read-only mounts made at launch
    /// need no Landlock rule, crates/launcher/src/cgroupfs.rs).
    pub fn with_cgroups(rules: &RuleSet, carry: Carry, cgroups: CgroupHold, fsroot: &Path) -> Plan {
        let mut plan = Plan {
            scope_abstract: denies_every_abstract_connect(rules),
            ..Plan::default()
        };
        let mut wild: Vec<(PathBuf, BitFlags<AccessFs>)> = Vec::new();
        if carry == Carry::Rules {
            for r in rules.paths.iter().filter(|r| r.action == Action::Deny) {
                let rights = rights_for(r.access.bits());
                if rights.is_empty() {
                    continue;
                }
                let (roots, w) = expand(r.pattern.as_str(), fsroot);
                wild.extend(w.into_iter().map(|d| (d, rights)));
                plan.protections
                    .extend(roots.into_iter().map(|root| Protection {
                        root,
                        rights,
                        origin: Some(r.origin),
                    }));
            }
        }
        // Moving a process out of its sandbox's cgroup would end the sandbox in varmord's
        // eyes (root can write any cgroup.procs, a user their delegated ones): no cgroup
        // file is writable inside.
        let cgroup_dir = PathBuf::from("/sys/fs/cgroup");
        if cgroups == CgroupHold::Landlock && is_real_dir(fsroot, &cgroup_dir) {
            plan.protections.push(Protection {
                root: cgroup_dir,
                rights: AccessFs::WriteFile.into(),
                origin: None,
            });
        }
        let mut handled = plan
            .protections
            .iter()
            .fold(BitFlags::empty(), |a, p| a | p.rights);
        // Landlock refuses every cross-directory rename and link (EXDEV) in a domain that
        // handles file rights but not REFER: it is handled, and granted, always.
        if !handled.is_empty() {
            handled |= AccessFs::Refer;
        }
        plan.handled = handled;
        for p in &plan.protections {
            for a in p.root.ancestors().skip(1) {
                if is_real_dir(fsroot, a) {
                    *plan.chain.entry(a.to_path_buf()).or_default() |= p.rights;
                }
            }
        }
        for (d, rights) in wild {
            if is_real_dir(fsroot, &d) {
                *plan.chain.entry(d).or_default() |= rights;
            }
        }
        plan.protections.sort_by(|a, b| a.root.cmp(&b.root));
        plan.protections.dedup();
        for p in &plan.protections {
            *plan.roots.entry(p.root.clone()).or_default() |= p.rights;
        }
        plan
    }

    /// Rights withheld at `p` from protections whose root is `p` or above it.
    pub fn above(&self, p: &Path) -> BitFlags<AccessFs> {
        p.ancestors()
            .filter_map(|a| self.roots.get(a))
            .fold(BitFlags::empty(), |a, r| a | *r)
    }

    /// Does Landlock withhold a name-changing right for entries directly in `dir` (a
    /// chain directory, or at or below a protected root)? There varmord performs what the
    /// rules allow.
    pub fn withholds_names(&self, dir: &Path) -> bool {
        let names = make_all() | AccessFs::RemoveFile | AccessFs::RemoveDir;
        self.chain.get(dir).is_some_and(|r| r.intersects(names))
            || self.above(dir).intersects(names)
    }

    /// The beneath-rules: (path as the sandbox sees it, rights granted beneath it).
    pub fn grants(&self, fsroot: &Path) -> Vec<(PathBuf, BitFlags<AccessFs>)> {
        let mut out = Vec::new();
        if self.chain.is_empty() && self.protections.is_empty() {
            return out;
        }
        if self.chain.is_empty() {
            out.push((
                PathBuf::from("/"),
                self.handled & !self.above(Path::new("/")),
            ));
        }
        let is_root = |p: &Path| self.protections.iter().any(|x| x.root == p);
        for (c, below) in &self.chain {
            // Rights withheld nowhere below or above `c` are granted on `c` as a whole.
            out.push((c.clone(), self.handled & !*below & !self.above(c)));
            let Ok(rd) = std::fs::read_dir(on(fsroot, c)) else {
                continue;
            };
            for e in rd.flatten() {
                let p = c.join(e.file_name());
                if self.chain.contains_key(&p) || is_root(&p) {
                    continue;
                }
                // A symlink needs no rule (what it points to has its own place); a rule
                // added through it would land on its target.
                let Ok(t) = e.file_type() else { continue };
                if t.is_symlink() {
                    continue;
                }
                let mut rights = self.handled & !self.above(&p);
                if !t.is_dir() {
                    rights &= AccessFs::from_file(LL_ABI);
                }
                if !rights.is_empty() {
                    out.push((p, rights));
                }
            }
        }
        for x in &self.protections {
            if self.chain.contains_key(&x.root) {
                continue;
            }
            let mut rights = self.handled & !self.above(&x.root);
            // A protected file takes file rights only (Landlock refuses the others on it).
            if !is_real_dir(fsroot, &x.root) {
                rights &= AccessFs::from_file(LL_ABI);
            }
            if !rights.is_empty() {
                out.push((x.root.clone(), rights));
            }
        }
        out
    }
}

/// Does `rules` (enforced, not complain mode) deny connecting to every abstract socket,
/// with no abstract name allowed? Then scoping them to the sandbox is no stricter than
/// the rules: it refuses the same outside sockets (and leaves the sandbox's own usable).
fn denies_every_abstract_connect(rules: &RuleSet) -> bool {
    use varmor_core::profile::unix::UnixAction;
    let all = |r: &varmor_core::profile::unix::UnixRule| {
        r.abstract_names.iter().any(|p| p.0.as_str() == "@**")
            && r.dirs & varmor_core::abi::UNIX_CONNECT != 0
    };
    rules.mode == varmor_core::rules::Mode::Enforce
        && rules
            .unix
            .iter()
            .any(|r| r.action == UnixAction::Deny && all(r))
        && !rules
            .unix
            .iter()
            .any(|r| r.action == UnixAction::Allow && !r.abstract_names.is_empty())
}
