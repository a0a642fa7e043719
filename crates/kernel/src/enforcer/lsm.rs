//! The bpf-lsm backend (the model): BPF LSM programs attached once, every rule kind answered
//! in the kernel from maps keyed by the namespace inode. Pinned programs and maps keep
//! enforcing while varmord is down; varmord adopts them on start.

use std::os::fd::RawFd;
use std::path::Path;
use std::sync::Arc;

use super::{Assessment, Confinement, EnforceError, Enforcer, Report, SandboxCtx};
use crate::bpf::{LsmHooks, Maps, NetHooks};
use crate::encode::{encode, MapEntries};
use varmor_core::rules::RuleSet;

pub struct Lsm {
    maps: Arc<Maps>,
    _hooks: LsmHooks,
    _net: NetHooks,
    /// None: the kernel has no unix-socket hooks (its unix rules are NOT ENFORCED).
    unix: Option<crate::bpf::UnixHooks>,
}

impl Lsm {
    /// Attaches the LSM programs and the cgroup network programs (at `cgroup`, where
    /// every sandbox's cgroup is made: the network rules are the same on both backends).
    pub fn new(pin_dir: &Path, cgroup: &Path) -> Result<Lsm, EnforceError> {
        let maps = Arc::new(Maps::open(pin_dir).map_err(EnforceError::Maps)?);
        // Entries pinned by a varmord that crashed belong to sandboxes killed at start:
        // none may survive into a namespace that reuses their inode.
        match maps.purge_all() {
            Ok(0) => {}
            Ok(n) => log::warn!("removed {n} map entries left by an earlier varmord"),
            Err(e) => return Err(EnforceError::Maps(e)),
        }
        let hooks = LsmHooks::attach(pin_dir).map_err(EnforceError::Hooks)?;
        let net = match NetHooks::attach(pin_dir, cgroup) {
            Ok(n) => n,
            Err(e) => {
                drop(hooks);
                let _ = LsmHooks::detach_and_unpin(pin_dir);
                return Err(EnforceError::Hooks(e));
            }
        };
        let unix = super::unix::attach(pin_dir, cgroup);
        Ok(Lsm {
            maps,
            _hooks: hooks,
            _net: net,
            unix,
        })
    }
}

/// A /proc magic link (`/proc/PID/root`, `cwd`, `exe`, `fd/N`, `map_files/...`, also under
/// `task/TID/`): the kernel follows it before any LSM hook sees the file, so the hooks see
/// the target's own path and a rule naming a path through the link can never match.
fn through_proc_magic_link(pattern: &str) -> bool {
    let Some(rest) = pattern.strip_prefix("/proc/") else {
        return false;
    };
    let mut parts = rest.split('/').skip(1);
    let mut next = parts.next();
    if next == Some("task") {
        next = parts.nth(1);
    }
    matches!(next, Some("root" | "cwd" | "exe" | "fd" | "map_files"))
        && (parts.next().is_some() || next == Some("exe"))
}

/// What bpf-lsm cannot enforce as written. Pure: `--check` may print it too.
pub fn assess(rules: &RuleSet) -> Assessment {
    let mut a = Assessment::default();
    for r in &rules.paths {
        let p = r.pattern.as_str();
        if r.action == varmor_core::profile::file::Action::Deny && through_proc_magic_link(p) {
            let label = rules
                .origin(r.origin)
                .map(|o| o.label.clone())
                .unwrap_or_default();
            a.unenforced.push(format!(
                "{label} `{p}`: the kernel follows /proc magic links before the LSM hooks see \
                 the file, so a path through one never matches on bpf-lsm"
            ));
        }
    }
    a.unenforced.dedup();
    super::unix::assess(rules, true, true, &mut a);
    a
}

struct LsmConfinement {
    maps: Arc<Maps>,
    entries: Option<MapEntries>,
}

impl Enforcer for Lsm {
    fn backend(&self) -> varmor_core::proto::Backend {
        varmor_core::proto::Backend::BpfLsm
    }

    fn hooks(&self) -> &'static [super::hooks::HookUse] {
        super::hooks::with_unix(varmor_core::proto::Backend::BpfLsm, self.unix.is_some())
    }

    fn assess(&self, rules: &RuleSet) -> Assessment {
        let mut a = assess(rules);
        super::unix::assess(rules, self.unix.is_some(), true, &mut a);
        if self.unix.is_none() {
            a.notes.retain(|n| !n.starts_with("unix:"));
        }
        a
    }

    fn confine(
        &self,
        ctx: &SandboxCtx,
        _report: Report,
    ) -> Result<Box<dyn Confinement>, EnforceError> {
        let ns = u32::try_from(ctx.ns)
            .map_err(|_| EnforceError::Setup("namespace inode out of range".into()))?;
        // The hooks see a file's current path: guard the directories leading to it.
        let entries = {
            use crate::guards::{expand_existing, with_ancestor_guards};
            encode(
                &with_ancestor_guards(&ctx.rules, expand_existing),
                ns,
                ctx.id,
            )
        };
        self.maps.populate(&entries).map_err(EnforceError::Maps)?;
        Ok(Box::new(LsmConfinement {
            maps: self.maps.clone(),
            entries: Some(entries),
        }))
    }
}

impl Confinement for LsmConfinement {
    fn release(&mut self) {
        if let Some(e) = self.entries.take() {
            if let Err(err) = self.maps.clear(&e) {
                log::error!("namespace {}: {err}", e.inode);
            }
        }
    }

    fn held_fds(&self) -> Vec<RawFd> {
        Vec::new()
    }
}

impl Drop for LsmConfinement {
    fn drop(&mut self) {
        self.release();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn proc_magic_links() {
        use super::through_proc_magic_link as m;
        assert!(m("/proc/*/root/**"));
        assert!(m("/proc/*/task/*/root/**"));
        assert!(m("/proc/self/fd/3"));
        assert!(m("/proc/*/exe"));
        assert!(!m("/proc/kallsyms"));
        assert!(!m("/proc/sys/kernel/core_pattern"));
        assert!(!m("/proc/*/root"));
        assert!(!m("/etc/shadow"));
    }
}
