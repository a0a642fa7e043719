//! Mount rules (`mount:`): mount / umount / bind / remount / move, by source, target, fstype.
//! Kernel side: bpf/mount.bpf.c (sb_mount, move_mount, sb_umount); compat: no capabilities
//! plus the launcher's seccomp filter, which deny every mount (stricter than a narrow rule).

use serde::{Deserialize, Serialize};

use super::file::{action_of, Action};
use super::pattern::Pattern;

/// Mount operations as bits.
pub const MOUNT_OPS: &[(&str, u32)] = &[
    ("mount", 1),
    ("umount", 2),
    ("bind", 4),
    ("remount", 8),
    ("move", 16),
];
pub const MOUNT_ALL: u32 = 31;

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Ops {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMountRule {
    #[serde(default)]
    deny: Option<Ops>,
    #[serde(default)]
    audit: Option<Ops>,
    #[serde(default)]
    source: Option<Pattern>,
    #[serde(default)]
    target: Option<Pattern>,
    #[serde(default)]
    fstype: Option<String>,
}

/// A `mount:` rule after its checks; `None` fields match anything.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawMountRule")]
pub struct MountRuleSpec {
    pub action: Action,
    pub ops: u32,
    pub source: Option<Pattern>,
    pub target: Option<Pattern>,
    pub fstype: Option<String>,
}

impl TryFrom<RawMountRule> for MountRuleSpec {
    type Error = String;
    fn try_from(r: RawMountRule) -> Result<Self, String> {
        let (action, ops) = action_of(r.deny, r.audit)?;
        let names = match ops {
            Ops::One(s) => vec![s],
            Ops::Many(v) => v,
        };
        let mut bits = 0;
        for n in &names {
            bits |= if n == "all" {
                MOUNT_ALL
            } else {
                MOUNT_OPS.iter().find(|(o, _)| o == n).map(|&(_, b)| b).ok_or_else(|| {
                    format!("unknown mount operation `{n}`; expected mount, umount, bind, remount, move or all")
                })?
            };
        }
        if bits == 0 {
            return Err(
                "empty operation list; name mount, umount, bind, remount, move or all".into(),
            );
        }
        if let Some(t) = &r.fstype {
            if t.is_empty()
                || t.len() > 32
                || !t
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
            {
                return Err(format!(
                    "`{t}`: not a filesystem type name (examples: proc, tmpfs, ext4)"
                ));
            }
        }
        Ok(MountRuleSpec {
            action,
            ops: bits,
            source: r.source,
            target: r.target,
            fstype: r.fstype,
        })
    }
}

/// A compiled mount rule, as sent to varmord (re-checked there by `RuleSet::validate`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MountRule {
    pub action: Action,
    pub ops: u32,
    pub source: Option<Pattern>,
    pub target: Option<Pattern>,
    pub fstype: Option<String>,
    pub origin: u32,
}

impl MountRule {
    pub fn ops_names(&self) -> String {
        if self.ops == MOUNT_ALL {
            return "all".into();
        }
        MOUNT_OPS
            .iter()
            .filter(|(_, b)| self.ops & b != 0)
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(",")
    }
}
