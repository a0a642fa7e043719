//! What a learning run observed, and the profile draft written from it: the shipped
//! profiles whose rules the run never hit (no-secrets, nocurl, nonet, on top of base),
//! write protection for the system directories it never wrote, the network allowed by the
//! names it resolved (learn_allow.rs) or else narrowed to the peers it used, and an
//! inventory of files by directory, programs, peers and names as comments.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;

use super::learn_allow::{allow_list, parse_resolve, Answers};
use varmor_core::matcher::PathIndex;
use varmor_core::profile::file::Access as FileAccess;

/// One kind of access seen in a learning run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    Read,
    Write,
    /// An open whose flags varmord could not read (e.g. the kernel opening a binary for
    /// execve): a read when the same file was executed, else counted as a write.
    OpenUnknown,
    Exec,
    Connect,
    Send,
    Bind,
    /// A name varmord's resolver answered: `a.example (A 10.0.0.1, ...)`.
    Resolve,
}

#[derive(Debug, Default)]
pub struct Observed {
    files: BTreeMap<String, BTreeSet<Access>>,
    net: BTreeSet<(Access, String)>,
    /// Address -> the names it was answered for.
    answers: Answers,
}

/// System directories a program rarely needs to write; each one the run did not write
/// into is write-protected in the draft.
const SYSTEM_DIRS: &[&str] = &[
    "/etc", "/usr", "/bin", "/sbin", "/lib", "/lib64", "/opt", "/boot", "/srv", "/var", "/root",
];
/// Hosts to keep peers to at most this many /32s before the draft stops narrowing.
const MAX_PEERS: usize = 8;

impl Observed {
    pub fn add(&mut self, access: Access, object: String) {
        match access {
            Access::Connect | Access::Send | Access::Bind => {
                self.net.insert((access, object));
            }
            Access::Resolve => {
                if let Some((name, addrs)) = parse_resolve(&object) {
                    for a in addrs {
                        self.answers.entry(a).or_default().insert(name.clone());
                    }
                }
            }
            a => {
                self.files.entry(object).or_default().insert(a);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.net.is_empty()
    }

    fn with(&self, pred: impl Fn(&BTreeSet<Access>) -> bool) -> Vec<&str> {
        self.files
            .iter()
            .filter(|(_, a)| pred(a))
            .map(|(p, _)| p.as_str())
            .collect()
    }

    /// Every name answered in the run, with its addresses.
    fn names(&self) -> BTreeMap<&str, Vec<IpAddr>> {
        let mut out: BTreeMap<&str, Vec<IpAddr>> = BTreeMap::new();
        for (a, names) in &self.answers {
            for n in names {
                out.entry(n.as_str()).or_default().push(*a);
            }
        }
        out
    }

    fn executed(&self) -> Vec<&str> {
        self.with(|a| a.contains(&Access::Exec))
    }

    fn written(&self) -> Vec<&str> {
        self.with(|a| {
            a.contains(&Access::Write)
                || (a.contains(&Access::OpenUnknown) && !a.contains(&Access::Exec))
        })
    }

    fn read_only(&self) -> Vec<&str> {
        let written: BTreeSet<&str> = self.written().into_iter().collect();
        self.with(|a| a.contains(&Access::Read) || a.contains(&Access::OpenUnknown))
            .into_iter()
            .filter(|p| !written.contains(p))
            .collect()
    }

    /// One line for the terminal after the run.
    pub fn summary(&self, out: &Path) -> String {
        format!(
            "varmor-run: learned from {} files ({} written), {} programs, {} network peers, {} names; draft written to {} (check it with `varmor-run --check {}`)\n",
            self.files.len(),
            self.written().len(),
            self.executed().len(),
            self.net.len(),
            self.names().len(),
            out.display(),
            out.display()
        )
    }
}

/// Whether any of `paths` is denied `access` by the shipped profile `name`.
fn hits(name: &str, paths: &[&str], access: FileAccess) -> Option<bool> {
    let (rules, _) = varmor_core::profile::compile(name).ok()?;
    let index = PathIndex::new(&rules.paths);
    Some(
        paths
            .iter()
            .any(|p| index.lookup(p.as_bytes()).denies(access).is_some()),
    )
}

/// The IPv4 CIDRs that cover every address except `keep`.
pub fn complement_v4(keep: &BTreeSet<Ipv4Addr>) -> Vec<String> {
    fn walk(base: u32, len: u32, keep: &[u32], out: &mut Vec<String>) {
        let size = if len == 0 {
            u64::MAX
        } else {
            (1u64 << (32 - len)) - 1
        };
        let inside: Vec<u32> = keep
            .iter()
            .copied()
            .filter(|&a| u64::from(a.wrapping_sub(base)) <= size && a >= base)
            .collect();
        if inside.is_empty() {
            out.push(format!("{}/{len}", Ipv4Addr::from(base)));
        } else if len < 32 {
            walk(base, len + 1, &inside, out);
            walk(base | (1 << (31 - len)), len + 1, &inside, out);
        }
    }
    let keep: Vec<u32> = keep.iter().map(|a| u32::from(*a)).collect();
    let mut out = Vec::new();
    walk(0, 0, &keep, &mut out);
    out
}

fn inventory(seen: &Observed, cmd: &[String]) -> String {
    let mut t = format!(
        "# Draft written by `varmor-run --learn` from one run of: {}\n# Review it, then `varmor-run --check` it. What the run did:\n",
        cmd.join(" ")
    );
    for p in seen.executed() {
        t += &format!("#   exec    {p}\n");
    }
    let mut by_dir: BTreeMap<(bool, &str), usize> = BTreeMap::new();
    for (written, list) in [(false, seen.read_only()), (true, seen.written())] {
        for p in list {
            let dir = Path::new(p)
                .parent()
                .and_then(|d| d.to_str())
                .unwrap_or("/");
            *by_dir.entry((written, dir)).or_default() += 1;
        }
    }
    for ((written, dir), n) in by_dir {
        let verb = if written { "write" } else { "read " };
        t += &format!(
            "#   {verb}   {dir}/ ({n} file{})\n",
            if n == 1 { "" } else { "s" }
        );
    }
    for (a, peer) in &seen.net {
        t += &format!("#   {:<7} {peer}\n", format!("{a:?}").to_lowercase());
    }
    for (name, addrs) in seen.names() {
        let a: Vec<String> = addrs.iter().map(IpAddr::to_string).collect();
        t += &format!("#   resolve {name} ({})\n", a.join(", "));
    }
    t
}

/// The draft profile's YAML.
pub fn draft(seen: &Observed, cmd: &[String], profile: Option<&str>) -> String {
    let touched: Vec<&str> = seen.files.keys().map(String::as_str).collect();
    let mut include = vec![profile.unwrap_or("base").to_string()];
    let rw = FileAccess::from_bits(varmor_core::abi::MAY_READ | varmor_core::abi::MAY_WRITE)
        .unwrap_or_default();
    if hits("no-secrets", &touched, rw) == Some(false) {
        include.push("no-secrets".into());
    }
    if hits("nocurl", &seen.executed(), FileAccess::EXEC) == Some(false) {
        include.push("nocurl".into());
    }
    if seen.net.is_empty() {
        include.push("nonet".into());
    }
    include.dedup();
    let mut y = inventory(seen, cmd);
    let name = cmd.first().map(String::as_str).unwrap_or("program");
    y += &format!(
        "description: Learned from one run of {name} (draft)\ninclude: [{}]\n",
        include.join(", ")
    );
    let written = seen.written();
    let protect: Vec<String> = SYSTEM_DIRS
        .iter()
        .filter(|d| {
            !written
                .iter()
                .any(|w| w.strip_prefix(*d).is_some_and(|r| r.starts_with('/')))
        })
        .map(|d| format!("\"{d}/**\""))
        .collect();
    if !protect.is_empty() {
        y += &format!(
            "file:\n  # never written during the run\n  - deny: [write, append, create, delete, rename, link, truncate]\n    paths: [{}]\n",
            protect.join(", ")
        );
    }
    if !seen.net.is_empty() {
        y += &network(seen);
    }
    y
}

/// By name when every peer can be an allow entry (learn_allow.rs), else narrowed by address.
fn network(seen: &Observed) -> String {
    let bound = seen.net.iter().any(|(a, _)| *a == Access::Bind);
    let bind = if bound {
        ""
    } else {
        "  # nothing was bound\n  - deny: bind\n"
    };
    let why = match allow_list(&seen.net, &seen.answers) {
        Ok(list) if bind.is_empty() => return list,
        Ok(list) => return format!("{list}network:\n{bind}"),
        Err(why) => why,
    };
    let mut v4 = BTreeSet::new();
    let mut v6 = 0;
    for (a, peer) in &seen.net {
        match (a, peer.parse::<SocketAddr>().map(|s| s.ip())) {
            (Access::Bind, _) => {}
            (_, Ok(IpAddr::V4(ip))) => {
                v4.insert(ip);
            }
            (_, Ok(IpAddr::V6(_))) => v6 += 1,
            _ => {}
        }
    }
    let mut y =
        format!("# The network is narrowed by address, not allowed by name: {why}.\nnetwork:\n");
    if v4.len() <= MAX_PEERS {
        let list: Vec<String> = complement_v4(&v4)
            .into_iter()
            .map(|c| format!("\"{c}\""))
            .collect();
        y += &format!(
            "  # every IPv4 destination except the {} used\n  - deny: [connect, send]\n    addresses: [{}]\n",
            v4.len(),
            list.join(", ")
        );
    }
    if v6 == 0 {
        y += "  # no IPv6 destination was used\n  - deny: [connect, send]\n    addresses: [\"::/0\"]\n";
    }
    y + bind
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complement_leaves_out_exactly_the_kept_hosts() {
        let keep: BTreeSet<Ipv4Addr> = ["127.0.0.1".parse().unwrap()].into();
        let c = complement_v4(&keep);
        assert_eq!(c.len(), 32);
        assert!(c.contains(&"128.0.0.0/1".to_string()));
        assert!(c.contains(&"127.0.0.0/32".to_string()));
        assert!(c.contains(&"127.0.0.2/31".to_string()));
        assert_eq!(complement_v4(&BTreeSet::new()), ["0.0.0.0/0"]);
    }
}
