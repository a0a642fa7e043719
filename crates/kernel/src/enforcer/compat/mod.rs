//! The compat backend, for kernels where BPF LSM programs cannot attach: fanotify answers
//! file and exec rules, cgroup sock_addr BPF programs the network rules (same maps as
//! bpf-lsm), and the launcher's Landlock, capability drop and seccomp filter the rest.

pub mod chmod;
pub mod fanotify;
pub mod inodes;
pub mod landlock_audit;
pub mod names;
pub mod opener;
pub mod pool;
pub mod reach;
pub mod worker;

use std::os::fd::{AsRawFd, RawFd};
use std::path::Path;
use std::sync::Arc;

use super::{Assessment, Confinement, EnforceError, Enforcer, Report, SandboxCtx};
use crate::bpf::{Maps, NetHooks};
use crate::encode::{encode, MapEntries};
use varmor_core::profile::file::Access;
use varmor_core::profile::ptrace::PtraceScope;
use varmor_core::rules::RuleSet;

pub struct Compat {
    maps: Arc<Maps>,
    _net: NetHooks,
    /// None: the kernel has no unix-socket hooks (its unix rules are NOT ENFORCED).
    unix: Option<crate::bpf::UnixHooks>,
    /// Landlock's refusals, from audit records, as lines (where audit is on).
    audit: Option<Arc<landlock_audit::Listener>>,
}

impl Compat {
    pub fn new(pin_dir: &Path, cgroup: &Path) -> Result<Compat, EnforceError> {
        let maps = Arc::new(Maps::open(pin_dir).map_err(EnforceError::Maps)?);
        // Entries pinned by a varmord that crashed belong to sandboxes its guard killed:
        // none may survive into a namespace that reuses their inode.
        match maps.purge_all() {
            Ok(0) => {}
            Ok(n) => log::warn!("removed {n} map entries left by an earlier varmord"),
            Err(e) => return Err(EnforceError::Maps(e)),
        }
        let net = NetHooks::attach(pin_dir, cgroup).map_err(EnforceError::Hooks)?;
        let unix = crate::enforcer::unix::attach(pin_dir, cgroup);
        Ok(Compat {
            maps,
            _net: net,
            unix,
            audit: landlock_audit::Listener::start(),
        })
    }

    pub fn maps(&self) -> &Maps {
        &self.maps
    }
}

/// Accesses answered by fanotify; the rest of a file rule goes to the launcher's Landlock.
pub fn fanotify_access() -> Access {
    opener::unknown().union(Access::EXEC)
}

/// What compat enforces more strictly than written. Pure: `--check` prints it too.
pub fn assess(rules: &RuleSet) -> Assessment {
    let mut a = Assessment::default();
    let label = |o: u32| rules.origin(o).map(|o| o.label.clone()).unwrap_or_default();
    // One line per rule and kind of note, naming its first path and how many more.
    let mut per_rule: Vec<(String, String, String, usize)> = Vec::new();
    let mut note = |label: String, kind: String, pattern: &str| match per_rule
        .iter_mut()
        .find(|(l, k, _, _)| *l == label && *k == kind)
    {
        Some(e) => e.3 += 1,
        None => per_rule.push((label, kind, pattern.to_string(), 0)),
    };
    let chmod = varmor_core::abi::MAY_CHMOD;
    for r in &rules.paths {
        let landlock = Access::from_bits(r.access.bits() & !fanotify_access().bits() & !chmod)
            .unwrap_or_default();
        if !landlock.is_empty() {
            note(label(r.origin), landlock.to_string(), r.pattern.as_str());
        }
    }
    // fanotify cannot mark procfs or sysfs: their open and exec rules would go unchecked.
    for r in &rules.paths {
        let p = r.pattern.as_str();
        if r.action == varmor_core::profile::file::Action::Deny
            && r.access.intersects(fanotify_access())
            && (p.starts_with("/proc/") || p.starts_with("/sys/"))
        {
            a.unenforced.push(format!(
                "{} `{p}`: {}: the compat backend cannot watch opens under /proc or /sys",
                label(r.origin),
                Access::from_bits(r.access.bits() & fanotify_access().bits()).unwrap_or_default()
            ));
        }
    }
    for (label, kind, first, more) in per_rule {
        let paths = match more {
            0 => format!("`{first}`"),
            n => format!("`{first}` and {n} more"),
        };
        a.notes.push(format!("{label} {paths}: {kind} is enforced by Landlock on the paths themselves (wildcards expanded at launch) and, on the directories on the way to them, by varmord through the seccomp notification filter"));
    }
    for r in &rules.mount {
        if r.source.is_some()
            || r.target.is_some()
            || r.fstype.is_some()
            || r.ops != varmor_core::profile::mount::MOUNT_ALL
        {
            a.notes.push(format!(
                "{}: every mount and umount is denied (stricter than the rule)",
                label(r.origin)
            ));
        }
    }
    if rules.caps_deny.0 != 0 && rules.caps_deny != varmor_core::profile::caps::CapSet::all() {
        a.notes.push(
            "capabilities: every capability is dropped, not only the listed ones (stricter)".into(),
        );
    }
    if rules.ptrace == PtraceScope::Outside {
        a.notes
            .push("ptrace outside: enforced by Landlock's ptrace scoping".into());
    }
    a.notes.dedup();
    crate::enforcer::unix::assess(rules, true, false, &mut a);
    a
}

struct CompatConfinement {
    maps: Arc<Maps>,
    entries: Option<MapEntries>,
    files: Option<fanotify::FileGuard>,
    _audit: Option<landlock_audit::Registration>,
}

impl Enforcer for Compat {
    fn backend(&self) -> varmor_core::proto::Backend {
        varmor_core::proto::Backend::Compat
    }

    fn hooks(&self) -> &'static [crate::enforcer::hooks::HookUse] {
        crate::enforcer::hooks::with_unix(varmor_core::proto::Backend::Compat, self.unix.is_some())
    }

    fn assess(&self, rules: &RuleSet) -> Assessment {
        let mut a = assess(rules);
        crate::enforcer::unix::assess(rules, self.unix.is_some(), false, &mut a);
        if self.unix.is_none() {
            a.notes.retain(|n| !n.starts_with("unix:"));
        }
        a
    }

    fn confine(
        &self,
        ctx: &SandboxCtx,
        report: Report,
    ) -> Result<Box<dyn Confinement>, EnforceError> {
        let ns = u32::try_from(ctx.ns)
            .map_err(|_| EnforceError::Setup("namespace inode out of range".into()))?;
        let entries = encode(&ctx.rules, ns, ctx.id);
        let audit = self
            .audit
            .as_ref()
            .map(|l| l.register(ctx.pid, report.clone()));
        self.maps.populate(&entries).map_err(EnforceError::Maps)?;
        let needs_files = ctx
            .rules
            .paths
            .iter()
            .any(|r| r.access.intersects(fanotify_access()));
        let files = if needs_files {
            match fanotify::start(ctx, report) {
                Ok(g) => Some(g),
                Err(e) => {
                    if let Err(c) = self.maps.clear(&entries) {
                        log::error!("sandbox {}: {c}", ctx.id);
                    }
                    return Err(e);
                }
            }
        } else {
            None
        };
        Ok(Box::new(CompatConfinement {
            maps: self.maps.clone(),
            entries: Some(entries),
            files,
            _audit: audit,
        }))
    }
}

impl Confinement for CompatConfinement {
    fn release(&mut self) {
        // Closing the fanotify group first drops every mark; then the map entries.
        self.files = None;
        if let Some(e) = self.entries.take() {
            if let Err(err) = self.maps.clear(&e) {
                log::error!("namespace {}: {err}", e.inode);
            }
        }
    }

    fn held_fds(&self) -> Vec<RawFd> {
        self.files
            .iter()
            .map(|f| f.group_fd().as_raw_fd())
            .collect()
    }
}

impl Drop for CompatConfinement {
    fn drop(&mut self) {
        self.release();
    }
}
