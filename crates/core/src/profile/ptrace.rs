//! Ptrace rules (`ptrace:`): none, outside the sandbox, or all.
//! Kernel side: bpf/ptrace.bpf.c (ptrace_access_check); compat: Landlock's ptrace scoping
//! (outside) or seccomp (all).

use serde::{Deserialize, Serialize};

use crate::abi;

/// Which ptrace targets are denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum PtraceScope {
    /// No ptrace rule.
    #[default]
    None,
    /// Tracing or reading any task outside the sandbox is denied (vArmor's precise).
    Outside,
    /// Tracing or reading any task at all is denied (vArmor's greedy).
    All,
}

impl PtraceScope {
    /// vArmor's encoding: `perms << 32 | flags`.
    pub fn encode(self) -> u64 {
        let perms = u64::from(abi::PTRACE_TRACE | abi::PTRACE_READ) << 32;
        match self {
            PtraceScope::None => 0,
            PtraceScope::Outside => perms | u64::from(abi::PRECISE),
            PtraceScope::All => perms | u64::from(abi::GREEDY),
        }
    }

    /// The stricter of two scopes (used when profiles are merged by `include:`).
    pub fn max(self, other: PtraceScope) -> PtraceScope {
        use PtraceScope::*;
        match (self, other) {
            (All, _) | (_, All) => All,
            (Outside, _) | (_, Outside) => Outside,
            _ => None,
        }
    }
}
