//! The compiled rule set: bounded, versioned, the one type the launcher sends and varmord
//! re-validates. Every field that came from a client is checked again by `validate`.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::abi;
use crate::profile::caps::CapSet;
use crate::profile::dns::{Answering, NetAllowList};
use crate::profile::file::{Access, Action, PathRule};
use crate::profile::mount::{MountRule, MOUNT_ALL};
use crate::profile::net::NetRule;
use crate::profile::pattern::PatternKind;
use crate::profile::ptrace::PtraceScope;
use crate::profile::seccomp::SeccompSpec;
use crate::profile::unix::{UnixRule, UNIX_ALL};

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
    pub const UNIX_RULES: usize = 256;
    pub const UNIX_PATTERNS: usize = 4_096;
    pub const ALLOW_HOSTS: usize = 256;
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
    /// Unix-socket rules (`unix:`), in profile order.
    #[serde(default)]
    pub unix: Vec<UnixRule>,
    /// Allow-list mode for the network (`network_default: deny`), if on.
    #[serde(default)]
    pub net_allow: Option<NetAllowList>,
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
            unix: vec![],
            net_allow: None,
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
        let allow_addr_rules = self.net_allow.as_ref().map_or(0, |a| {
            a.rules.iter().filter(|r| !r.addrs.is_empty()).count()
        });
        bound(
            "network rules",
            self.net.len() + allow_addr_rules,
            limits::NET_RULES,
        )?;
        self.validate_allow()?;
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
            .chain(self.net.iter().map(|r| r.origin))
            .chain(self.unix.iter().map(|r| r.origin));
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
        self.validate_unix()?;
        if self.seccomp.oci.is_some() {
            return Err(RuleSetError::Invalid(
                "an OCI seccomp path must be resolved before sending".into(),
            ));
        }
        Ok(())
    }

    fn validate_allow(&self) -> Result<(), RuleSetError> {
        let Some(a) = &self.net_allow else {
            return Ok(());
        };
        bound("network allow entries", a.rules.len(), limits::NET_RULES)?;
        let hosts: usize = a.rules.iter().map(|r| r.hosts.len()).sum();
        bound("allowed host names", hosts, limits::ALLOW_HOSTS)?;
        let addrs: usize = a.rules.iter().map(|r| r.addrs.len()).sum();
        bound("allowed addresses", addrs, limits::NET_ADDRS)?;
        let n = self.origins.len() as u32;
        if a.origin >= n || a.rules.iter().any(|r| r.origin >= n) {
            return Err(RuleSetError::Invalid(
                "an allow-list origin out of range".into(),
            ));
        }
        if a.rules.iter().any(|r| {
            (r.hosts.is_empty() && r.addrs.is_empty())
                || r.ports.len() > abi::NET_PORTS
                || r.ports.iter().any(|p| p.lo == 0 || p.lo > p.hi)
                || r.addrs.iter().any(|x| *x != x.trunc())
        }) {
            return Err(RuleSetError::Invalid("a bad network allow entry".into()));
        }
        if self.answers_every_name() && self.mode != Mode::Complain {
            return Err(RuleSetError::Invalid(
                "answering every name is for learning runs, which are in complain mode".into(),
            ));
        }
        Ok(())
    }

    fn validate_unix(&self) -> Result<(), RuleSetError> {
        bound("unix rules", self.unix.len(), limits::UNIX_RULES)?;
        let patterns: usize = self
            .unix
            .iter()
            .map(|r| r.paths.len() + r.abstract_names.len())
            .sum();
        bound("unix socket patterns", patterns, limits::UNIX_PATTERNS)?;
        let glob = |p: &crate::profile::pattern::Pattern| p.kind() == PatternKind::Glob;
        let path_globs = self.unix.iter().flat_map(|r| &r.paths).filter(|p| glob(p));
        bound(
            "unix path globs (wildcards inside a pattern)",
            path_globs.count(),
            limits::GLOB_RULES,
        )?;
        let abs_globs = self
            .unix
            .iter()
            .flat_map(|r| &r.abstract_names)
            .filter(|p| glob(&p.0));
        bound(
            "abstract socket globs (wildcards inside a pattern)",
            abs_globs.count(),
            limits::GLOB_RULES,
        )?;
        if self
            .unix
            .iter()
            .any(|r| r.dirs == 0 || r.dirs & !UNIX_ALL != 0)
        {
            return Err(RuleSetError::Invalid(
                "a unix rule with bad directions".into(),
            ));
        }
        if self
            .unix
            .iter()
            .flat_map(|r| &r.paths)
            .any(|p| !(p.as_str().starts_with('/') || p.as_str().starts_with("**")))
        {
            return Err(RuleSetError::Invalid(
                "a unix path pattern that is not absolute".into(),
            ));
        }
        Ok(())
    }

    /// A learning run's rules: the sandbox's resolver answers every name.
    pub fn answers_every_name(&self) -> bool {
        self.net_allow
            .as_ref()
            .is_some_and(|a| a.answering == Answering::Every)
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
