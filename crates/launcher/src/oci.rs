//! Docker/OCI seccomp JSON (moby's default.json format) read into the profile's own
//! seccomp rule type. Rules that need a capability are left out (the sandbox has none),
//! rules for other architectures or newer kernels too; names this architecture lacks are
//! skipped as runc does, so one file serves every architecture, and names no architecture
//! has (a typo) are skipped too but named in one warning line.

use std::path::Path;

use serde::Deserialize;

use super::error::LaunchError;
use varmor_core::profile::seccomp::{ArgCond, ArgOp, SeccompAction, SyscallRule};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OciProfile {
    default_action: String,
    #[serde(default)]
    default_errno_ret: Option<u16>,
    #[serde(default)]
    syscalls: Vec<OciRule>,
    // Present in moby's file; the native architecture is always used.
    #[serde(default, rename = "archMap")]
    _arch_map: Option<serde_json::Value>,
    #[serde(default, rename = "architectures")]
    _architectures: Option<serde_json::Value>,
    #[serde(default, rename = "flags")]
    _flags: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OciRule {
    #[serde(default)]
    names: Vec<String>,
    #[serde(default)]
    name: Option<String>,
    action: String,
    #[serde(default)]
    errno_ret: Option<u16>,
    #[serde(default)]
    args: Option<Vec<OciArg>>,
    #[serde(default)]
    includes: Option<Filter>,
    #[serde(default)]
    excludes: Option<Filter>,
    #[serde(default)]
    comment: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OciArg {
    index: u8,
    value: u64,
    #[serde(default)]
    value_two: u64,
    op: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Filter {
    #[serde(default)]
    caps: Vec<String>,
    #[serde(default)]
    arches: Vec<String>,
    #[serde(default)]
    min_kernel: Option<String>,
}

fn native_arches() -> &'static [&'static str] {
    if cfg!(target_arch = "aarch64") {
        &["arm64", "aarch64"]
    } else {
        &["amd64", "x86_64"]
    }
}

fn kernel_at_least(min: &str) -> bool {
    let rel = nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default();
    let parse = |s: &str| -> (u32, u32) {
        let mut it = s
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|n| n.parse().ok());
        (it.next().unwrap_or(0), it.next().unwrap_or(0))
    };
    parse(&rel) >= parse(min)
}

fn oci_action(a: &str, errno: Option<u16>, what: &str) -> Result<SeccompAction, String> {
    Ok(match a {
        "SCMP_ACT_ALLOW" => SeccompAction::Allow,
        "SCMP_ACT_LOG" => SeccompAction::Log,
        "SCMP_ACT_KILL" | "SCMP_ACT_KILL_PROCESS" | "SCMP_ACT_KILL_THREAD" | "SCMP_ACT_TRAP" => {
            SeccompAction::Kill
        }
        "SCMP_ACT_ERRNO" => SeccompAction::Errno(errno.unwrap_or(libc::EPERM as u16)),
        other => return Err(format!("{what}: action `{other}` is not supported here")),
    })
}

fn oci_op(a: &OciArg) -> Result<ArgCond, String> {
    let (op, mask) = match a.op.as_str() {
        "SCMP_CMP_EQ" => (ArgOp::Eq, None),
        "SCMP_CMP_NE" => (ArgOp::Ne, None),
        "SCMP_CMP_LT" => (ArgOp::Lt, None),
        "SCMP_CMP_LE" => (ArgOp::Le, None),
        "SCMP_CMP_GT" => (ArgOp::Gt, None),
        "SCMP_CMP_GE" => (ArgOp::Ge, None),
        "SCMP_CMP_MASKED_EQ" => (ArgOp::MaskedEq, Some(a.value)),
        o => return Err(format!("comparison `{o}` is not supported")),
    };
    // MASKED_EQ: (arg & value) == valueTwo.
    let value = if op == ArgOp::MaskedEq {
        a.value_two
    } else {
        a.value
    };
    Ok(ArgCond {
        index: a.index,
        op,
        value,
        mask,
    })
}

/// An OCI seccomp profile as it applies here.
#[derive(Debug)]
pub struct Oci {
    pub default: SeccompAction,
    pub rules: Vec<SyscallRule>,
    /// Names no architecture has, in file order, each once: skipped, and warned about.
    pub unknown: Vec<String>,
}

impl Oci {
    /// The one warning line for the unknown names of `file`, if there are any.
    pub fn warning(&self, file: &Path) -> Option<String> {
        (!self.unknown.is_empty()).then(|| {
            format!(
                "varmor-run: warning: {}: unknown syscall names skipped (as Docker does): {}",
                file.display(),
                self.unknown.join(", ")
            )
        })
    }
}

/// Reads an OCI seccomp profile: its default action and the rules that apply here.
pub fn load(path: &Path) -> Result<Oci, LaunchError> {
    let file = path.display().to_string();
    let err = |msg: String| LaunchError::Oci {
        file: file.clone(),
        msg,
    };
    let text = std::fs::read_to_string(path).map_err(|source| LaunchError::OciRead {
        file: file.clone(),
        source,
    })?;
    let p: OciProfile = serde_json::from_str(&text)
        .map_err(|e| err(format!("line {} column {}: {e}", e.line(), e.column())))?;
    let default =
        oci_action(&p.default_action, p.default_errno_ret, "defaultAction").map_err(err)?;
    let mut rules = Vec::new();
    let mut unknown: Vec<String> = Vec::new();
    for r in &p.syscalls {
        for n in r.names.iter().chain(r.name.iter()) {
            if !varmor_core::profile::seccomp_groups::is_syscall_anywhere(n) && !unknown.contains(n)
            {
                unknown.push(n.clone());
            }
        }
    }
    for (i, r) in p.syscalls.iter().enumerate() {
        let inc = r.includes.as_ref();
        let exc = r.excludes.as_ref();
        let applies = inc.is_none_or(|f| {
            f.caps.is_empty()
                && (f.arches.is_empty()
                    || f.arches
                        .iter()
                        .any(|a| native_arches().contains(&a.as_str())))
                && f.min_kernel.as_deref().is_none_or(kernel_at_least)
        }) && exc.is_none_or(|f| {
            !f.arches
                .iter()
                .any(|a| native_arches().contains(&a.as_str()))
        });
        if !applies {
            continue;
        }
        let what = format!(
            "syscalls[{i}]{}",
            r.comment
                .as_deref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default()
        );
        let action =
            oci_action(&r.action, r.errno_ret.or(p.default_errno_ret), &what).map_err(err)?;
        let args = r
            .args
            .iter()
            .flatten()
            .map(oci_op)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| err(format!("{what}: {e}")))?;
        let names: Vec<String> = r
            .names
            .iter()
            .chain(r.name.iter())
            .filter(|n| varmor_core::profile::seccomp_groups::is_syscall(n))
            .cloned()
            .collect();
        if !names.is_empty() {
            rules.push(SyscallRule {
                action,
                names,
                args,
            });
        }
    }
    Ok(Oci {
        default,
        rules,
        unknown,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(json: &str) -> (Oci, std::path::PathBuf, tempfile::TempDir) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("mine.json");
        std::fs::write(&p, json).unwrap();
        (load(&p).unwrap(), p, d)
    }

    #[test]
    fn unknown_names_are_skipped_and_named_once() {
        let (o, p, _d) = load_str(
            r#"{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[
                {"names":["read","opne","arm_fadvise64_64","write"],"action":"SCMP_ACT_ALLOW"},
                {"names":["opne","clsoe"],"action":"SCMP_ACT_ALLOW"},
                {"name":"nosuchcall","action":"SCMP_ACT_LOG"}]}"#,
        );
        assert_eq!(o.unknown, ["opne", "clsoe", "nosuchcall"]);
        let names: Vec<_> = o.rules.iter().flat_map(|r| r.names.clone()).collect();
        assert!(names.contains(&"read".into()) && names.contains(&"write".into()));
        assert!(!names.iter().any(|n| n == "opne" || n == "clsoe"));
        let w = o.warning(&p).unwrap();
        assert_eq!(w.lines().count(), 1);
        assert!(
            w.contains("mine.json") && w.ends_with("opne, clsoe, nosuchcall"),
            "{w}"
        );
    }

    #[test]
    fn no_warning_for_a_clean_file() {
        let (o, p, _d) = load_str(
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_LOG"}]}"#,
        );
        assert!(o.unknown.is_empty() && o.warning(&p).is_none());
        let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/seccomp/docker-like.json");
        let o = load(&fixture).unwrap();
        assert!(o.unknown.is_empty(), "{:?}", o.unknown);
    }
}
