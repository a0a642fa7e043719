//! The kernel behind one trait: each backend is an `Enforcer` that confines a namespace
//! from a compiled rule set and removes every trace of it when the sandbox ends.
//! `compat` (fanotify + Landlock + cgroup BPF) and `lsm` (BPF LSM) both key their state
//! by the sandbox's mount-namespace inode.

pub mod compat;
pub mod event;
pub mod hooks;
pub mod landlock;
pub mod lsm;
pub mod unix;

use std::sync::Arc;

use thiserror::Error;

use varmor_core::rules::RuleSet;

#[derive(Debug, Error)]
pub enum EnforceError {
    #[error("setting up enforcement: {0}")]
    Setup(String),
    /// Loading or attaching the BPF programs.
    #[error("setting up enforcement: {0}")]
    Hooks(#[source] crate::bpf::BpfError),
    #[error("setting up enforcement: {what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("setting up enforcement: {what}: {source}")]
    Sys {
        what: &'static str,
        #[source]
        source: nix::Error,
    },
    #[error("kernel maps: {0}")]
    Maps(#[source] crate::bpf::BpfError),
    #[error("cannot enforce: {0}")]
    Unenforceable(String),
}

/// What varmord knows of a sandbox when it confines it.
#[derive(Debug, Clone)]
pub struct SandboxCtx {
    pub id: u64,
    pub ns: u64,
    pub pid: i32,
    pub uid: u32,
    pub rules: Arc<RuleSet>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Denied,
    WouldDeny,
    Audited,
}

impl Outcome {
    /// A rule's refusal: denied when enforcing, let through with a line in complain mode.
    pub fn refusal(enforce: bool) -> Outcome {
        if enforce {
            Outcome::Denied
        } else {
            Outcome::WouldDeny
        }
    }
}

/// One denial (or audit), before it is turned into a line.
#[derive(Debug, Clone)]
pub struct Denial {
    /// `open(read)`, `exec(exec)`, `connect`, ...
    pub what: String,
    /// A path, or `address:port`.
    pub object: String,
    pub pid: i32,
    pub comm: String,
    /// Index into the rule set's origins.
    pub origin: Option<u32>,
    pub outcome: Outcome,
}

pub type Report = Arc<dyn Fn(Denial) + Send + Sync>;

/// Where a backend enforces differently from what the profile says.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Assessment {
    /// Enforced more strictly than written (said to the user).
    pub notes: Vec<String>,
    /// Not enforced at all: the launch is refused unless `--allow-partial`.
    pub unenforced: Vec<String>,
    /// Not enforced, from rules written `required: false`: said at launch, not refused.
    pub unenforced_optional: Vec<String>,
}

/// A namespace's live enforcement state.
pub trait Confinement: Send {
    /// Removes every map entry and mark of the namespace; safe to call twice.
    fn release(&mut self);
    /// Enforcement fds to hand to the guard so enforcement outlives a varmord crash.
    fn held_fds(&self) -> Vec<std::os::fd::RawFd>;
}

pub trait Enforcer: Send + Sync {
    fn backend(&self) -> varmor_core::proto::Backend;
    fn name(&self) -> &'static str {
        self.backend().name()
    }
    /// The hook kinds this backend relies on; each must be seen firing on this boot
    /// (crates/daemon/src/canary.rs) before the backend confines anything.
    fn hooks(&self) -> &'static [hooks::HookUse];
    fn assess(&self, rules: &RuleSet) -> Assessment;
    fn confine(
        &self,
        ctx: &SandboxCtx,
        report: Report,
    ) -> Result<Box<dyn Confinement>, EnforceError>;
}
