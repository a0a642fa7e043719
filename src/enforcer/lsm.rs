//! The bpf-lsm backend (the model): BPF LSM programs attached once, every rule kind answered
//! in the kernel from maps keyed by the namespace inode. Pinned programs and maps keep
//! enforcing while varmord is down; varmord adopts them on start.

use std::os::fd::RawFd;
use std::path::Path;
use std::sync::Arc;

use super::{Assessment, Confinement, EnforceError, Enforcer, Report, SandboxCtx};
use crate::bpf::{LsmHooks, Maps};
use crate::encode::{encode, MapEntries};
use crate::rules::RuleSet;

pub struct Lsm {
    maps: Arc<Maps>,
    _hooks: LsmHooks,
}

impl Lsm {
    pub fn new(pin_dir: &Path) -> Result<Lsm, EnforceError> {
        let maps = Arc::new(Maps::open(pin_dir).map_err(|e| EnforceError::Maps(e.to_string()))?);
        let hooks = LsmHooks::attach(pin_dir).map_err(|e| EnforceError::Setup(e.to_string()))?;
        Ok(Lsm {
            maps,
            _hooks: hooks,
        })
    }
}

struct LsmConfinement {
    maps: Arc<Maps>,
    entries: Option<MapEntries>,
}

impl Enforcer for Lsm {
    fn name(&self) -> &'static str {
        "bpf-lsm"
    }

    fn assess(&self, _rules: &RuleSet) -> Assessment {
        Assessment::default()
    }

    fn confine(
        &self,
        ctx: &SandboxCtx,
        _report: Report,
    ) -> Result<Box<dyn Confinement>, EnforceError> {
        let ns = u32::try_from(ctx.ns)
            .map_err(|_| EnforceError::Setup("namespace inode out of range".into()))?;
        let entries = encode(&ctx.rules, ns, ctx.id);
        self.maps
            .populate(&entries)
            .map_err(|e| EnforceError::Maps(e.to_string()))?;
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
