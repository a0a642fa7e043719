//! File rules (`file:`): which accesses to which paths are denied or audited.
//! Kernel side: bpf/file.bpf.c (bpf-lsm), fanotify + Landlock (compat).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::pattern::Pattern;
use crate::abi;

/// A set of file accesses, stored as AppArmor-numbered permission bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Access(u32);

/// Names accepted in a profile, in the order `--check` prints them.
pub const ACCESS_NAMES: &[(&str, u32)] = &[
    ("read", abi::MAY_READ),
    ("write", abi::MAY_WRITE),
    ("append", abi::MAY_APPEND),
    ("create", abi::MAY_CREATE),
    ("delete", abi::MAY_DELETE),
    ("rename", abi::MAY_RENAME),
    ("link", abi::MAY_LINK),
    ("truncate", abi::MAY_TRUNCATE),
    ("chmod", abi::MAY_CHMOD),
    ("exec", abi::MAY_EXEC),
];

impl Access {
    pub const ALL: Access = Access(
        abi::MAY_READ
            | abi::MAY_WRITE
            | abi::MAY_APPEND
            | abi::MAY_CREATE
            | abi::MAY_DELETE
            | abi::MAY_RENAME
            | abi::MAY_LINK
            | abi::MAY_TRUNCATE
            | abi::MAY_CHMOD
            | abi::MAY_EXEC,
    );
    pub const EXEC: Access = Access(abi::MAY_EXEC);
    pub const READ: Access = Access(abi::MAY_READ);
    pub const RENAME: Access = Access(abi::MAY_RENAME);
    pub const NONE: Access = Access(0);

    pub fn bits(self) -> u32 {
        self.0
    }
    pub fn from_bits(bits: u32) -> Option<Access> {
        (bits & !Self::ALL.0 == 0).then_some(Access(bits))
    }
    pub fn contains(self, other: Access) -> bool {
        self.0 & other.0 == other.0
    }
    pub fn intersects(self, other: Access) -> bool {
        self.0 & other.0 != 0
    }
    pub fn union(self, other: Access) -> Access {
        Access(self.0 | other.0)
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    fn parse_name(name: &str) -> Result<Access, String> {
        if name == "all" {
            return Ok(Access::ALL);
        }
        ACCESS_NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, b)| Access(b))
            .ok_or_else(|| {
                let names: Vec<_> = ACCESS_NAMES.iter().map(|(n, _)| *n).collect();
                format!(
                    "unknown access `{name}`; expected one of {}, or all",
                    names.join(", ")
                )
            })
    }
}

impl TryFrom<u32> for Access {
    type Error = String;
    fn try_from(bits: u32) -> Result<Self, String> {
        Access::from_bits(bits).ok_or_else(|| format!("unknown access bits {bits:#x}"))
    }
}
impl From<Access> for u32 {
    fn from(a: Access) -> u32 {
        a.0
    }
}

impl fmt::Display for Access {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Access::ALL {
            return f.write_str("all");
        }
        let names: Vec<_> = ACCESS_NAMES
            .iter()
            .filter(|(_, b)| self.0 & b != 0)
            .map(|(n, _)| *n)
            .collect();
        f.write_str(&names.join(","))
    }
}

/// `read`, `[read, write]` or `all` in YAML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessSet(pub Access);

impl<'de> Deserialize<'de> for AccessSet {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum OneOrMany {
            One(String),
            Many(Vec<String>),
        }
        let names = match OneOrMany::deserialize(d).map_err(|_| {
            serde::de::Error::custom(
                "expected an access name (read) or a list ([read, write]) or all",
            )
        })? {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        };
        if names.is_empty() {
            return Err(serde::de::Error::custom(
                "empty access list; name at least one access, or all",
            ));
        }
        let mut acc = Access::NONE;
        for n in &names {
            acc = acc.union(Access::parse_name(n).map_err(serde::de::Error::custom)?);
        }
        Ok(AccessSet(acc))
    }
}

/// Deny (enforced) or audit (logged, allowed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Deny,
    Audit,
}

impl Action {
    pub fn bits(self) -> u32 {
        match self {
            Action::Deny => abi::ACTION_DENY,
            Action::Audit => abi::ACTION_AUDIT,
        }
    }
}

/// One rule of `file:` as written: `- deny: [read, write]` + `paths: [...]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFileRule {
    #[serde(default)]
    deny: Option<AccessSet>,
    #[serde(default)]
    audit: Option<AccessSet>,
    paths: Vec<Pattern>,
}

/// A `file:` rule after its own checks: one action, accesses, at least one path.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawFileRule")]
pub struct FileRuleSpec {
    pub action: Action,
    pub access: Access,
    pub paths: Vec<Pattern>,
}

impl TryFrom<RawFileRule> for FileRuleSpec {
    type Error = String;
    fn try_from(r: RawFileRule) -> Result<Self, String> {
        if r.paths.is_empty() {
            return Err("`paths` is empty; list at least one path pattern".into());
        }
        let (action, access) = action_of(r.deny, r.audit)?;
        Ok(FileRuleSpec {
            action,
            access: access.0,
            paths: r.paths,
        })
    }
}

/// Exactly one of `deny:` / `audit:`; shared by file and network rules.
pub fn action_of<T>(deny: Option<T>, audit: Option<T>) -> Result<(Action, T), String> {
    match (deny, audit) {
        (Some(d), None) => Ok((Action::Deny, d)),
        (None, Some(a)) => Ok((Action::Audit, a)),
        (Some(_), Some(_)) => {
            Err("give either `deny:` or `audit:`, not both; write two rules".into())
        }
        (None, None) => Err("missing `deny:` or `audit:` (what this rule is about)".into()),
    }
}

/// One compiled path rule (file and exec rules share this form).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathRule {
    pub pattern: Pattern,
    pub access: Access,
    pub action: Action,
    /// Index into the rule set's origins: where the rule was written.
    pub origin: u32,
}
