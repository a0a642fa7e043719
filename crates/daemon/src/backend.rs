//! Choosing a backend, and accepting it only once it is proven on this boot: for bpf-lsm,
//! `bpf` in the active LSM list and every hook kind seen firing (crates/daemon/src/canary.rs);
//! for compat, a fanotify permission event answered and a cgroup sock_addr program run.
//! `auto` takes bpf-lsm when it is proven and falls back to compat saying why in one
//! line; a backend named with `--backend` is refused with what would make it work.

use std::fmt;
use std::path::Path;

use super::canary::{self, Proof};
use varmor_core::cli::BackendChoice;
use varmor_kernel::bpf::{LsmHooks, NetHooks, UnixHooks};
use varmor_kernel::enforcer::{compat::Compat, lsm::Lsm, Enforcer};

/// Why a backend cannot be used on this boot.
#[derive(Debug, Clone)]
pub enum Unusable {
    /// The kernel's LSM list lacks `bpf`: programs may attach, the kernel never calls them.
    NotListed { active: String },
    /// securityfs gives no LSM list to check.
    NoLsmList,
    /// Loading or attaching failed; the kernel's answer.
    Setup(String),
    /// Attached, but the canary did not see every hook kind fire.
    Silent(Proof),
    /// The canary itself could not run.
    Canary(String),
}

impl fmt::Display for Unusable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unusable::NotListed { active } => write!(
                f,
                "the BPF LSM is not active on this boot (/sys/kernel/security/lsm: {active}); \
                 its programs would attach and never run. To enable it, add `bpf` to the \
                 kernel's boot parameters: lsm={active},bpf"
            ),
            Unusable::NoLsmList => write!(
                f,
                "cannot read the active LSM list (/sys/kernel/security/lsm; is securityfs \
                 mounted?), so the BPF LSM cannot be shown to be active"
            ),
            Unusable::Setup(e) => write!(f, "{e}"),
            Unusable::Silent(p) => write!(
                f,
                "the kernel did not run every hook on this boot: {}",
                p.failures()
            ),
            Unusable::Canary(e) => write!(f, "{e}"),
        }
    }
}

/// The active LSM list, mounting securityfs when absent.
pub fn lsm_list() -> Option<String> {
    let p = "/sys/kernel/security/lsm";
    if std::fs::metadata(p).is_err() {
        let _ = nix::mount::mount(
            Some("securityfs"),
            "/sys/kernel/security",
            Some("securityfs"),
            nix::mount::MsFlags::empty(),
            None::<&str>,
        );
    }
    std::fs::read_to_string(p)
        .ok()
        .map(|s| s.trim().to_string())
}

pub fn bpf_listed(list: &str) -> bool {
    list.split(',').any(|m| m == "bpf")
}

fn prove(enforcer: &dyn Enforcer, pin_dir: &Path, cgroup_root: &Path) -> Result<Proof, Unusable> {
    let proof = canary::prove(enforcer, enforcer.hooks(), pin_dir, cgroup_root)
        .map_err(|e| Unusable::Canary(e.to_string()))?;
    if proof.all_fire() {
        Ok(proof)
    } else {
        Err(Unusable::Silent(proof))
    }
}

type Detach = fn(&Path) -> Result<(), varmor_kernel::bpf::BpfError>;

/// `enforcer` once proven; an unproven one is dropped and every program it attached is
/// detached and unpinned (`detach`), so nothing of it outlives the refusal.
fn proven(
    enforcer: Box<dyn Enforcer>,
    detach: &[Detach],
    pin_dir: &Path,
    cgroup_root: &Path,
) -> Result<(Box<dyn Enforcer>, Proof), Unusable> {
    match prove(enforcer.as_ref(), pin_dir, cgroup_root) {
        Ok(p) => Ok((enforcer, p)),
        Err(e) => {
            let name = enforcer.name();
            drop(enforcer);
            for d in detach {
                if let Err(err) = d(pin_dir) {
                    log::error!("detaching the unproven {name} programs: {err}");
                }
            }
            Err(e)
        }
    }
}

/// The bpf-lsm backend, proven; on failure neither its LSM nor its network programs stay
/// attached.
pub fn bpf_lsm(pin_dir: &Path, cgroup_root: &Path) -> Result<(Box<dyn Enforcer>, Proof), Unusable> {
    match lsm_list() {
        None => return Err(Unusable::NoLsmList),
        Some(l) if !bpf_listed(&l) => return Err(Unusable::NotListed { active: l }),
        Some(_) => {}
    }
    let lsm = Lsm::new(pin_dir, cgroup_root).map_err(|e| Unusable::Setup(e.to_string()))?;
    proven(
        Box::new(lsm),
        &[
            LsmHooks::detach_and_unpin,
            NetHooks::detach_and_unpin,
            UnixHooks::detach_and_unpin,
        ],
        pin_dir,
        cgroup_root,
    )
}

/// The compat backend, proven; on failure its network programs are detached.
pub fn compat(pin_dir: &Path, cgroup_root: &Path) -> Result<(Box<dyn Enforcer>, Proof), Unusable> {
    let c = Compat::new(pin_dir, cgroup_root).map_err(|e| Unusable::Setup(e.to_string()))?;
    proven(
        Box::new(c),
        &[NetHooks::detach_and_unpin, UnixHooks::detach_and_unpin],
        pin_dir,
        cgroup_root,
    )
}

/// The backend varmord runs with, or why there is none.
pub fn pick(
    choice: BackendChoice,
    pin_dir: &Path,
    cgroup_root: &Path,
) -> Result<(Box<dyn Enforcer>, Proof), String> {
    match choice {
        BackendChoice::BpfLsm => bpf_lsm(pin_dir, cgroup_root).map_err(|e| format!("bpf-lsm: {e}")),
        BackendChoice::Compat => compat(pin_dir, cgroup_root).map_err(|e| format!("compat: {e}")),
        BackendChoice::Auto => bpf_lsm(pin_dir, cgroup_root).or_else(|why| {
            varmor_core::say!("varmord: not using bpf-lsm: {why}; using compat");
            compat(pin_dir, cgroup_root).map_err(|e| format!("compat: {e}"))
        }),
    }
}
