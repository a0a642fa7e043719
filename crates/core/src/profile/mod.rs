//! Profiles: YAML read into typed specs (every value checked as it is parsed, so errors
//! carry file, line and column), `include:` resolved, then compiled into a `RuleSet`.

mod allow_list;
pub mod caps;
pub mod dns;
pub mod exec;
pub mod file;
mod lines;
pub mod lookup;
pub mod mount;
pub mod net;
pub mod pattern;
pub mod ptrace;
pub mod seccomp;
pub mod seccomp_groups;
pub mod unix;

use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;

use crate::rules::{Mode, Origin, RuleSet};
use file::{Access, FileRuleSpec, PathRule};

/// Largest profile file read (bytes).
pub const MAX_FILE: u64 = 1 << 20;
/// Deepest `include:` chain.
pub const MAX_INCLUDE_DEPTH: usize = 16;

#[derive(Debug, Error)]
pub enum ProfileError {
    #[error("{file}:{line}:{column}: {msg}")]
    At {
        file: String,
        line: usize,
        column: usize,
        msg: String,
    },
    #[error("{file}: {msg}")]
    File { file: String, msg: String },
    #[error("profile `{name}` not found; looked in {searched}")]
    NotFound { name: String, searched: String },
}

/// One profile file as written, with each section already checked.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProfile {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub mode: Option<Mode>,
    #[serde(default)]
    pub include: Vec<String>,
    /// Commands this profile is meant to wrap (`varmor-run --shell-init`).
    #[serde(default)]
    pub wraps: Vec<String>,
    #[serde(default)]
    pub file: Vec<FileRuleSpec>,
    #[serde(default)]
    pub exec: Vec<exec::ExecRuleSpec>,
    #[serde(default)]
    pub network: Vec<net::NetRuleSpec>,
    #[serde(default)]
    pub capabilities: Option<caps::CapsSpec>,
    #[serde(default)]
    pub ptrace: Option<ptrace::PtraceScope>,
    #[serde(default)]
    pub mount: Vec<mount::MountRuleSpec>,
    #[serde(default)]
    pub seccomp: Option<seccomp::SeccompSpec>,
    #[serde(default)]
    pub unix: Vec<unix::UnixRuleSpec>,
    /// `deny`: allow-list mode (only what `network_allow:` names is reachable).
    #[serde(default)]
    pub network_default: Option<dns::NetDefault>,
    #[serde(default)]
    pub network_allow: Vec<dns::AllowSpec>,
}

/// A parsed profile file and where it came from.
#[derive(Debug)]
pub struct ProfileFile {
    pub name: String,
    pub path: PathBuf,
    pub text: String,
    pub raw: RawProfile,
}

/// Reads and parses one file (no includes).
pub fn parse_file(path: &Path) -> Result<ProfileFile, ProfileError> {
    let shown = path.display().to_string();
    let ferr = |msg: String| ProfileError::File {
        file: shown.clone(),
        msg,
    };
    let meta = std::fs::metadata(path).map_err(|e| ferr(e.to_string()))?;
    if meta.len() > MAX_FILE {
        return Err(ferr(format!(
            "{} bytes; a profile is at most {MAX_FILE} bytes",
            meta.len()
        )));
    }
    let text = std::fs::read_to_string(path).map_err(|e| ferr(e.to_string()))?;
    let raw = parse_text(&text, &shown)?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("profile")
        .trim_end_matches(".yaml")
        .to_string();
    Ok(ProfileFile {
        name,
        path: path.to_path_buf(),
        text,
        raw,
    })
}

/// Parses profile text; `shown` names the file in errors.
pub fn parse_text(text: &str, shown: &str) -> Result<RawProfile, ProfileError> {
    if text.trim().is_empty() {
        return Err(ProfileError::File {
            file: shown.into(),
            msg: "empty profile; write at least `description:`".into(),
        });
    }
    serde_norway::from_str::<RawProfile>(text).map_err(|e| {
        let full = e.to_string();
        match e.location() {
            Some(loc) => {
                // serde_norway appends " at line L column C"; we put the position first.
                let msg = full
                    .rsplit_once(" at line ")
                    .map(|(m, _)| m.to_string())
                    .unwrap_or(full);
                ProfileError::At {
                    file: shown.into(),
                    line: loc.line(),
                    column: loc.column(),
                    msg,
                }
            }
            None => ProfileError::File {
                file: shown.into(),
                msg: full,
            },
        }
    })
}

/// Compiles a profile by name or path, following `include:`.
pub fn compile(name_or_path: &str) -> Result<(RuleSet, ProfileFile), ProfileError> {
    let path = lookup::resolve(name_or_path, None)?;
    let top = parse_file(&path)?;
    let mut rs = RuleSet::empty(&top.name);
    rs.mode = top.raw.mode.unwrap_or_default();
    let mut stack = Vec::new();
    let mut done = Vec::new();
    merge(&top, &mut rs, &mut stack, &mut done)?;
    allow_list::check(&rs)?;
    // The same bounds varmord enforces, checked here so the user hears it first.
    let oci = rs.seccomp.oci.take();
    rs.validate().map_err(|e| ProfileError::File {
        file: path.display().to_string(),
        msg: format!("profile `{}`: {e}", top.name),
    })?;
    rs.seccomp.oci = oci;
    Ok((rs, top))
}

/// Compiles profile text that names no includes (varmord's own canary rules); `name`
/// stands for the file in errors and denial lines.
pub fn compile_text(name: &str, text: &str) -> Result<RuleSet, ProfileError> {
    let pf = ProfileFile {
        name: name.to_string(),
        path: PathBuf::from(format!("<{name}>")),
        text: text.to_string(),
        raw: parse_text(text, name)?,
    };
    let mut rs = RuleSet::empty(name);
    rs.mode = pf.raw.mode.unwrap_or_default();
    add_rules(&pf, &mut rs)?;
    allow_list::check(&rs)?;
    rs.validate().map_err(|e| ProfileError::File {
        file: name.to_string(),
        msg: e.to_string(),
    })?;
    Ok(rs)
}

/// Merges `pf` after its includes, depth first. A profile reached twice (a diamond:
/// npm-install includes no-secrets and nocurl, both include base) is merged once, the
/// first time, so its rules are not repeated; `done` holds the files already merged.
fn merge(
    pf: &ProfileFile,
    rs: &mut RuleSet,
    stack: &mut Vec<PathBuf>,
    done: &mut Vec<PathBuf>,
) -> Result<(), ProfileError> {
    let canon = pf.path.canonicalize().unwrap_or_else(|_| pf.path.clone());
    stack.push(canon.clone());
    let shown = pf.path.display().to_string();
    for (i, inc) in pf.raw.include.iter().enumerate() {
        let line = lines::find_value_line(&pf.text, inc);
        let at = |msg: String| ProfileError::At {
            file: shown.clone(),
            line,
            column: 1,
            msg,
        };
        let path =
            lookup::resolve(inc, pf.path.parent()).map_err(|e| at(format!("include[{i}]: {e}")))?;
        let canon = path.canonicalize().unwrap_or_else(|_| path.clone());
        if let Some(pos) = stack.iter().position(|p| *p == canon) {
            let cycle: Vec<_> = stack[pos..]
                .iter()
                .chain([&canon])
                .map(|p| p.display().to_string())
                .collect();
            return Err(at(format!(
                "include[{i}]: `{inc}` makes an include cycle: {}",
                cycle.join(" -> ")
            )));
        }
        if stack.len() >= MAX_INCLUDE_DEPTH {
            return Err(at(format!(
                "include[{i}]: includes nest deeper than {MAX_INCLUDE_DEPTH}"
            )));
        }
        if done.contains(&canon) {
            continue;
        }
        let child = parse_file(&path)?;
        merge(&child, rs, stack, done)?;
    }
    stack.pop();
    done.push(canon);
    add_rules(pf, rs)
}

fn add_rules(pf: &ProfileFile, rs: &mut RuleSet) -> Result<(), ProfileError> {
    let file = pf.path.display().to_string();
    let raw = &pf.raw;
    let origin = |rs: &mut RuleSet, section: &str, i: usize| -> u32 {
        let line = lines::item_lines(&pf.text, section)
            .get(i)
            .copied()
            .unwrap_or(0);
        rs.origins.push(Origin {
            profile: pf.name.clone(),
            file: file.clone(),
            line,
            label: format!("{section}[{i}]"),
        });
        (rs.origins.len() - 1) as u32
    };
    for (i, r) in raw.file.iter().enumerate() {
        let o = origin(rs, "file", i);
        rs.paths.extend(r.paths.iter().map(|p| PathRule {
            pattern: p.clone(),
            access: r.access,
            action: r.action,
            origin: o,
        }));
    }
    for (i, r) in raw.exec.iter().enumerate() {
        let o = origin(rs, "exec", i);
        rs.paths.extend(r.paths.iter().map(|p| PathRule {
            pattern: p.clone(),
            access: Access::EXEC,
            action: r.action,
            origin: o,
        }));
    }
    for (i, r) in raw.network.iter().enumerate() {
        let o = origin(rs, "network", i);
        rs.net.push(net::NetRule {
            action: r.action,
            dirs: r.dirs,
            addrs: r.addrs.clone(),
            ports: r.ports.clone(),
            origin: o,
        });
    }
    allow_list::add(pf, rs);
    for (i, r) in raw.mount.iter().enumerate() {
        let o = origin(rs, "mount", i);
        rs.mount.push(mount::MountRule {
            action: r.action,
            ops: r.ops,
            source: r.source.clone(),
            target: r.target.clone(),
            fstype: r.fstype.clone(),
            origin: o,
        });
    }
    for (i, r) in raw.unix.iter().enumerate() {
        let o = origin(rs, "unix", i);
        rs.unix.push(unix::UnixRule {
            action: r.action,
            dirs: r.dirs,
            paths: r.paths.clone(),
            abstract_names: r.abstract_names.clone(),
            origin: o,
            required: r.required,
        });
    }
    if let Some(c) = raw.capabilities {
        rs.caps_deny.0 |= c.deny.0;
    }
    if let Some(p) = raw.ptrace {
        rs.ptrace = rs.ptrace.max(p);
    }
    if let Some(s) = &raw.seccomp {
        if s.default.is_some() {
            rs.seccomp.default = s.default;
        }
        rs.seccomp.syscalls.extend(s.syscalls.iter().cloned());
        if let Some(oci) = &s.oci {
            let base = pf.path.parent().unwrap_or(Path::new("."));
            rs.seccomp.oci = Some(base.join(oci).display().to_string());
        }
    }
    Ok(())
}
