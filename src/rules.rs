//! The compiled rule set: bounded, versioned, the one type the launcher sends and varmord
//! re-validates. Every field that came from a client is checked again by `validate`.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::abi;
use crate::profile::caps::CapSet;
use crate::profile::file::{Access, Action, PathRule};
use crate::profile::mount::{MountRule, MOUNT_ALL};
use crate::profile::net::NetRule;
use crate::profile::pattern::PatternKind;
use crate::profile::ptrace::PtraceScope;
use crate::profile::seccomp::SeccompSpec;

pub const RULESET_VERSION: u32 = 1;

/// Hard bounds on one sandbox's rules (varmord refuses anything larger).
pub mod limits {
    pub const PATH_RULES: usize = 20_000;
    pub const GLOB_RULES: usize = crate::abi::GLOB_RULES;
    pub const NET_RULES: usize = crate::abi::NET_RULES;
    pub const NET_ADDRS: usize = 4_096;
    pub const MOUNT_RULES: usize = 64;
    pub const ORIGINS: usize = 30_000;
    pub const SYSCALL_RULES: usize = 512;
    pub const TEXT: usize = 512;
}

/// enforce: deny what the rules deny; complain: log it, allow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Enforce,
    Complain,
}

impl Mode {
    pub fn bits(self) -> u32 {
        match self {
            Mode::Enforce => abi::MODE_ENFORCE,
            Mode::Complain => abi::MODE_COMPLAIN,
        }
    }
}

/// Where a rule was written, for denial lines and `--check`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Origin {
    pub profile: String,
    pub file: String,
    pub line: u32,
    /// `file[0]`, `exec[2]`, `network[1]` ...
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSet {
    pub version: u32,
    pub profile: String,
    pub mode: Mode,
    pub paths: Vec<PathRule>,
    pub net: Vec<NetRule>,
    pub caps_deny: CapSet,
    pub ptrace: PtraceScope,
    pub mount: Vec<MountRule>,
    pub seccomp: SeccompSpec,
    pub origins: Vec<Origin>,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum RuleSetError {
    #[error("rule set version {0} is not supported (this varmord speaks {RULESET_VERSION})")]
    Version(u32),
    #[error("too many {what}: {got} (at most {max})")]
    TooMany {
        what: &'static str,
        got: usize,
        max: usize,
    },
    #[error("{0}")]
    Invalid(String),
}

fn bound(what: &'static str, got: usize, max: usize) -> Result<(), RuleSetError> {
    if got > max {
        return Err(RuleSetError::TooMany { what, got, max });
    }
    Ok(())
}

impl RuleSet {
    pub fn empty(profile: &str) -> RuleSet {
        RuleSet {
            version: RULESET_VERSION,
            profile: profile.to_string(),
            mode: Mode::Enforce,
            paths: vec![],
            net: vec![],
            caps_deny: CapSet::default(),
            ptrace: PtraceScope::None,
            mount: vec![],
            seccomp: SeccompSpec::default(),
            origins: vec![],
        }
    }

    /// Checks every bound and cross-reference; patterns, addresses and bit sets were
    /// already re-parsed by their own `Deserialize`.
    pub fn validate(&self) -> Result<(), RuleSetError> {
        if self.version != RULESET_VERSION {
            return Err(RuleSetError::Version(self.version));
        }
        let text_ok = |s: &str| s.len() <= limits::TEXT && !s.contains(['\0', '\n']);
        if !text_ok(&self.profile) || self.profile.is_empty() {
            return Err(RuleSetError::Invalid(
                "profile name is empty, too long or has control characters".into(),
            ));
        }
        bound("path rules", self.paths.len(), limits::PATH_RULES)?;
        let globs = self
            .paths
            .iter()
            .filter(|r| r.pattern.kind() == PatternKind::Glob)
            .count();
        bound(
            "glob rules (wildcards inside a pattern)",
            globs,
            limits::GLOB_RULES,
        )?;
        bound("network rules", self.net.len(), limits::NET_RULES)?;
        let addrs: usize = self.net.iter().map(|r| r.addrs.len()).sum();
        bound("network addresses", addrs, limits::NET_ADDRS)?;
        bound("mount rules", self.mount.len(), limits::MOUNT_RULES)?;
        bound("origins", self.origins.len(), limits::ORIGINS)?;
        bound(
            "seccomp rules",
            self.seccomp.syscalls.len(),
            limits::SYSCALL_RULES,
        )?;
        if self.caps_deny.0 & !CapSet::all().0 != 0 {
            return Err(RuleSetError::Invalid("unknown capability bits".into()));
        }
        let n = self.origins.len() as u32;
        let origins = self
            .paths
            .iter()
            .map(|r| r.origin)
            .chain(self.net.iter().map(|r| r.origin));
        if let Some(bad) = origins
            .chain(self.mount.iter().map(|r| r.origin))
            .find(|&o| o >= n)
        {
            return Err(RuleSetError::Invalid(format!(
                "rule origin {bad} out of range"
            )));
        }
        if let Some(o) = self
            .origins
            .iter()
            .find(|o| !text_ok(&o.file) || !text_ok(&o.label) || !text_ok(&o.profile))
        {
            return Err(RuleSetError::Invalid(format!(
                "origin `{}` has bad text",
                o.label.escape_debug()
            )));
        }
        if self.paths.iter().any(|r| r.access.is_empty()) {
            return Err(RuleSetError::Invalid("a path rule with no access".into()));
        }
        if self.net.iter().any(|r| {
            r.ports.len() > abi::NET_PORTS || r.ports.iter().any(|p| p.lo == 0 || p.lo > p.hi)
        }) {
            return Err(RuleSetError::Invalid(
                "a network rule with bad ports".into(),
            ));
        }
        if self
            .net
            .iter()
            .flat_map(|r| &r.addrs)
            .any(|a| *a != a.trunc())
        {
            return Err(RuleSetError::Invalid(
                "a network address with host bits below its prefix".into(),
            ));
        }
        if self
            .mount
            .iter()
            .any(|r| r.ops == 0 || r.ops & !MOUNT_ALL != 0)
        {
            return Err(RuleSetError::Invalid(
                "a mount rule with bad operations".into(),
            ));
        }
        if self.seccomp.oci.is_some() {
            return Err(RuleSetError::Invalid(
                "an OCI seccomp path must be resolved before sending".into(),
            ));
        }
        Ok(())
    }

    pub fn origin(&self, idx: u32) -> Option<&Origin> {
        self.origins.get(idx as usize)
    }

    /// Union of the accesses denied (enforce mode) by path rules, for quick checks.
    pub fn denied_access(&self) -> Access {
        self.paths
            .iter()
            .filter(|r| r.action == Action::Deny)
            .fold(Access::NONE, |a, r| a.union(r.access))
    }
}
