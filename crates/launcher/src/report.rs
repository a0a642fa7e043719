//! Human-readable renderings for `varmor-run --check` and `--list`.

use std::fmt::Write;

use varmor_core::profile::lookup::Listed;
use varmor_core::profile::ProfileFile;
use varmor_core::rules::RuleSet;
use varmor_kernel::enforcer::compat;

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
        let ports = ports_text(&r.ports);
        let _ = writeln!(
            s,
            "  {:<6} {:<20} addresses {addrs} ports {ports} flags {:#x}  {}",
            format!("{:?}", r.action).to_lowercase(),
            r.dirs.names(),
            r.flags(),
            origin(rs, r.origin)
        );
    }
    if let Some(a) = &rs.net_allow {
        allow_list_text(&mut s, rs, a);
    }
    let _ = writeln!(s, "\nUNIX SOCKET RULES ({})", rs.unix.len());
    for r in &rs.unix {
        let dirs = match r.dirs {
            varmor_core::profile::unix::UNIX_ALL => "connect,send",
            varmor_core::abi::UNIX_CONNECT => "connect",
            _ => "send",
        };
        let names: Vec<&str> = r
            .paths
            .iter()
            .map(|p| p.as_str())
            .chain(r.abstract_names.iter().map(|p| p.0.as_str()))
            .collect();
        let _ = writeln!(
            s,
            "  {:<6} {:<20} {}  {}",
            format!("{:?}", r.action).to_lowercase(),
            dirs,
            names.join(","),
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
        for n in &a.unenforced_optional {
            let _ = writeln!(
                s,
                "  - NOT ENFORCED (said at launch: `required: false`): {n}"
            );
        }
        for n in &a.notes {
            let _ = writeln!(s, "  - {n}");
        }
    }
    s.push_str(&landlock_text(rs));
    s
}

/// What Landlock is given on this machine now (compat), and where it stays stricter.
fn landlock_text(rs: &RuleSet) -> String {
    use varmor_kernel::enforcer::landlock::{rights_text, Carry, Plan};
    let mut s = String::new();
    let plan = Plan::new(rs, Carry::Rules, std::path::Path::new("/"));
    let roots: Vec<_> = plan
        .protections
        .iter()
        .filter(|p| p.origin.is_some())
        .collect();
    if roots.is_empty() {
        return s;
    }
    let names = compat::names::needed(rs);
    let _ = writeln!(
        s,
        "\nLANDLOCK ON THIS MACHINE (compat; recomputed at each launch)"
    );
    let _ = writeln!(s, "  protected ({}):", roots.len());
    for p in &roots {
        let _ = writeln!(
            s,
            "    {:<44} {}  {}",
            p.root.display(),
            rights_text(p.rights),
            p.origin.map(|o| origin(rs, o)).unwrap_or_default()
        );
    }
    let _ = writeln!(s, "  on the way to them ({}):", plan.chain.len());
    for (d, r) in &plan.chain {
        let _ = writeln!(s, "    {:<44} {}", d.display(), rights_text(*r));
    }
    for n in plan.notes(names) {
        let _ = writeln!(s, "  - {n}");
    }
    let abi = varmor_kernel::enforcer::landlock::kernel_abi();
    for n in varmor_kernel::enforcer::landlock::unenforced(&plan, rs, abi) {
        let _ = writeln!(s, "  - NOT ENFORCED (refused without --allow-partial): {n}");
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

fn ports_text(ports: &[varmor_core::profile::net::Ports]) -> String {
    if ports.is_empty() {
        return "any".into();
    }
    ports
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
}

/// Allow-list mode as compiled: what is reachable, and how names are answered.
fn allow_list_text(s: &mut String, rs: &RuleSet, a: &varmor_core::profile::dns::NetAllowList) {
    let _ = writeln!(
        s,
        "\nNETWORK ALLOW LIST ({} entries; connect/send to anything else denied, {})",
        a.rules.len(),
        origin(rs, a.origin)
    );
    let _ = writeln!(
        s,
        "  dns    port 53 (UDP and TCP, any address) answered by varmord: names below resolve, \
         their answered addresses allowed for TTL + varmord's grace (default {}s); other names REFUSED",
        varmor_core::profile::dns::GRACE.as_secs()
    );
    for r in &a.rules {
        let hosts: Vec<String> = r.hosts.iter().map(|h| h.to_string()).collect();
        let addrs: Vec<String> = r.addrs.iter().map(|x| x.to_string()).collect();
        let _ = writeln!(
            s,
            "  allow  connect,send hosts {} addresses {} ports {}  {}",
            if hosts.is_empty() {
                "-".into()
            } else {
                hosts.join(",")
            },
            if addrs.is_empty() {
                "-".into()
            } else {
                addrs.join(",")
            },
            ports_text(&r.ports),
            origin(rs, r.origin)
        );
    }
}
