//! Human-readable renderings for `varmor-run --check` and `--list`.

use std::fmt::Write;

use crate::enforcer::compat;
use crate::profile::lookup::Listed;
use crate::profile::ProfileFile;
use crate::rules::RuleSet;

fn origin(rs: &RuleSet, o: u32) -> String {
    rs.origin(o)
        .map(|o| format!("{}:{} {}", o.file, o.line, o.label))
        .unwrap_or_default()
}

/// The compiled rules as a table, plus where the compat backend is stricter.
pub fn check_text(rs: &RuleSet, pf: &ProfileFile) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "profile {} ({}), mode {:?}",
        rs.profile,
        pf.path.display(),
        rs.mode
    );
    if let Some(d) = &pf.raw.description {
        let _ = writeln!(s, "  {d}");
    }
    if !pf.raw.include.is_empty() {
        let _ = writeln!(s, "  includes: {}", pf.raw.include.join(", "));
    }
    let _ = writeln!(s, "\nPATH RULES ({})", rs.paths.len());
    let _ = writeln!(
        s,
        "  {:<6} {:<22} {:<7} {:<5} {:<34} FROM",
        "ACTION", "ACCESS", "KIND", "FLAGS", "PATTERN"
    );
    for r in &rs.paths {
        let _ = writeln!(
            s,
            "  {:<6} {:<22} {:<7} {:<#5x} {:<34} {}",
            format!("{:?}", r.action).to_lowercase(),
            r.access.to_string(),
            format!("{:?}", r.pattern.kind()).to_lowercase(),
            r.pattern.flags(),
            r.pattern.as_str(),
            origin(rs, r.origin)
        );
    }
    let _ = writeln!(s, "\nNETWORK RULES ({})", rs.net.len());
    for r in &rs.net {
        let addrs = if r.addrs.is_empty() {
            "any".into()
        } else {
            r.addrs
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(",")
        };
        let ports = if r.ports.is_empty() {
            "any".into()
        } else {
            r.ports
                .iter()
                .map(|p| {
                    if p.lo == p.hi {
                        p.lo.to_string()
                    } else {
                        format!("{}-{}", p.lo, p.hi)
                    }
                })
                .collect::<Vec<_>>()
                .join(",")
        };
        let _ = writeln!(
            s,
            "  {:<6} {:<20} addresses {addrs} ports {ports} flags {:#x}  {}",
            format!("{:?}", r.action).to_lowercase(),
            r.dirs.names(),
            r.flags(),
            origin(rs, r.origin)
        );
    }
    let caps = rs.caps_deny.names();
    let _ = writeln!(
        s,
        "\nCAPABILITIES denied: {}",
        if caps.is_empty() {
            "none listed (all are dropped anyway)".into()
        } else {
            caps.join(",")
        }
    );
    let _ = writeln!(s, "PTRACE denied: {:?}", rs.ptrace);
    for r in &rs.mount {
        let _ = writeln!(
            s,
            "MOUNT {:?} {} source {} target {} fstype {}  {}",
            r.action,
            r.ops_names(),
            r.source.as_ref().map_or("any", |p| p.as_str()),
            r.target.as_ref().map_or("any", |p| p.as_str()),
            r.fstype.as_deref().unwrap_or("any"),
            origin(rs, r.origin)
        );
    }
    if !rs.seccomp.syscalls.is_empty() || rs.seccomp.default.is_some() || rs.seccomp.oci.is_some() {
        let _ = writeln!(
            s,
            "SECCOMP default {:?}, {} rules{}",
            rs.seccomp.default,
            rs.seccomp.syscalls.len(),
            rs.seccomp
                .oci
                .as_ref()
                .map(|o| format!(", OCI {o}"))
                .unwrap_or_default()
        );
    }
    let a = compat::assess(rs);
    if !a.notes.is_empty() || !a.unenforced.is_empty() {
        let _ = writeln!(s, "\nON THE COMPAT BACKEND");
        for n in &a.unenforced {
            let _ = writeln!(s, "  - NOT ENFORCED (refused without --allow-partial): {n}");
        }
        for n in &a.notes {
            let _ = writeln!(s, "  - {n}");
        }
    }
    s
}

pub fn list_text(list: &[Listed]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{:<34} {:<20} DESCRIPTION", "PROFILE", "SOURCE");
    for l in list {
        let desc = match &l.description {
            Ok(d) => d.clone(),
            Err(e) => format!("INVALID: {e}"),
        };
        let name = if l.shadowed {
            format!("{} (shadowed)", l.name)
        } else {
            l.name.clone()
        };
        let _ = writeln!(s, "{name:<34} {:<20} {desc}", l.source.label());
        let _ = writeln!(s, "{:<34} {}", "", l.path.display());
    }
    s
}
