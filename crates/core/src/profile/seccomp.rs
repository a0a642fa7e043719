//! Seccomp rules (`seccomp:`): a default action and rules by syscall name or `@group`,
//! with optional argument conditions, or a Docker/OCI seccomp JSON profile (`oci:`).
//! Applied by the launcher (crates/launcher/src/seccomp.rs) on top of the anti-escape filter.

use serde::{Deserialize, Serialize};

use super::seccomp_groups::group;

/// What a matching syscall gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum SeccompAction {
    Allow,
    Log,
    Kill,
    Errno(u16),
}

impl TryFrom<String> for SeccompAction {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let t = s.trim();
        Ok(match t {
            "allow" => SeccompAction::Allow,
            "log" => SeccompAction::Log,
            "kill" => SeccompAction::Kill,
            "errno" => SeccompAction::Errno(libc::EPERM as u16),
            _ => {
                let inner = t
                    .strip_prefix("errno(")
                    .and_then(|r| r.strip_suffix(')'))
                    .ok_or_else(|| {
                        format!("`{s}`: expected allow, log, kill, errno or errno(NAME|N)")
                    })?;
                SeccompAction::Errno(
                    errno_value(inner)
                        .ok_or_else(|| format!("`{inner}`: unknown errno name or number"))?,
                )
            }
        })
    }
}

impl From<SeccompAction> for String {
    fn from(a: SeccompAction) -> String {
        match a {
            SeccompAction::Allow => "allow".into(),
            SeccompAction::Log => "log".into(),
            SeccompAction::Kill => "kill".into(),
            SeccompAction::Errno(n) => format!("errno({n})"),
        }
    }
}

/// An errno by its C name (`EPERM`, `EXDEV`, ... as the libc headers spell them) or a
/// number 1-4095.
pub fn errno_value(s: &str) -> Option<u16> {
    if s.starts_with('E') {
        let s = match s {
            "ENOTSUP" => "EOPNOTSUPP",
            "EWOULDBLOCK" => "EAGAIN",
            "EDEADLOCK" => "EDEADLK",
            other => other,
        };
        return (1..4096)
            .find(|&n| format!("{:?}", nix::errno::Errno::from_raw(i32::from(n))) == s);
    }
    s.parse::<u16>().ok().filter(|&n| (1..4096).contains(&n))
}

/// One argument condition: `{index: 0, op: masked_eq, value: 0x10000000, mask: 0x10000000}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArgCond {
    pub index: u8,
    pub op: ArgOp,
    pub value: u64,
    #[serde(default)]
    pub mask: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArgOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    MaskedEq,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSyscallRule {
    action: SeccompAction,
    names: Vec<String>,
    #[serde(default)]
    args: Vec<ArgCond>,
}

/// A rule after its checks: group names expanded, every name a known syscall.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawSyscallRule", into = "RawSyscallRuleOut")]
pub struct SyscallRule {
    pub action: SeccompAction,
    pub names: Vec<String>,
    pub args: Vec<ArgCond>,
}

#[derive(Serialize)]
struct RawSyscallRuleOut {
    action: SeccompAction,
    names: Vec<String>,
    args: Vec<ArgCond>,
}
impl From<SyscallRule> for RawSyscallRuleOut {
    fn from(r: SyscallRule) -> Self {
        RawSyscallRuleOut {
            action: r.action,
            names: r.names,
            args: r.args,
        }
    }
}

impl TryFrom<RawSyscallRule> for SyscallRule {
    type Error = String;
    fn try_from(r: RawSyscallRule) -> Result<Self, String> {
        if r.names.is_empty() {
            return Err("`names` is empty; list syscalls (keyctl) or groups (@mount)".into());
        }
        if r.args.len() > 6 || r.args.iter().any(|a| a.index > 5) {
            return Err("argument conditions use index 0-5, at most 6 of them".into());
        }
        let mut names = Vec::new();
        for n in &r.names {
            if let Some(g) = n.strip_prefix('@') {
                let members = group(g).ok_or_else(|| {
                    format!(
                        "unknown syscall group `{n}`; known groups: {}",
                        super::seccomp_groups::group_names().join(", ")
                    )
                })?;
                names.extend(members.iter().map(|s| s.to_string()));
            } else if super::seccomp_groups::is_syscall(n) {
                names.push(n.clone());
            } else {
                return Err(format!("unknown syscall `{n}` on this architecture"));
            }
        }
        names.sort();
        names.dedup();
        Ok(SyscallRule {
            action: r.action,
            names,
            args: r.args,
        })
    }
}

/// The `seccomp:` section.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeccompSpec {
    /// Action for syscalls no rule names; `allow` when absent.
    #[serde(default)]
    pub default: Option<SeccompAction>,
    #[serde(default)]
    pub syscalls: Vec<SyscallRule>,
    /// A Docker/OCI seccomp JSON profile, relative to the profile's directory.
    #[serde(default)]
    pub oci: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_names_are_the_c_names() {
        assert_eq!(errno_value("EPERM"), Some(1));
        assert_eq!(errno_value("EXDEV"), Some(18));
        assert_eq!(errno_value("ENOTSUP"), Some(95));
        assert_eq!(errno_value("EWOULDBLOCK"), Some(11));
        assert_eq!(errno_value("4095"), Some(4095));
        for bad in ["EFROB", "0", "4096", "eperm", ""] {
            assert_eq!(errno_value(bad), None, "{bad}");
        }
        assert_eq!(
            SeccompAction::try_from("errno(EXDEV)".to_string()),
            Ok(SeccompAction::Errno(18))
        );
    }
}
