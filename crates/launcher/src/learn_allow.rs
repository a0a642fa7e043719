//! The draft's allow list (learn_draft.rs): every peer a learning run connected or sent
//! to, by the name(s) its address was answered for in the run (varmord's `resolve` audit
//! lines, crates/daemon/src/resolver/answer.rs), else by address, as `network_default: deny` and
//! `network_allow:` entries with the ports seen. Refused (the draft then narrows by
//! address, as before) when no peer was reached by a name or a peer cannot be written.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};

use super::learn_draft::Access;
use varmor_core::profile::dns::HostPattern;

/// Names answered in the run: address -> the names the program asked for.
pub type Answers = BTreeMap<IpAddr, BTreeSet<String>>;

/// At most this many entries (each a kernel network rule; the profiles included keep room).
const MAX_ENTRIES: usize = 32;
/// Names resolved but never used, listed in a comment at most.
const MAX_UNUSED: usize = 20;
/// DNS: redirected to the sandbox's resolver in allow-list mode, never an entry.
const DNS_PORT: u16 = 53;

/// A `resolve` line's object, `a.example (A 10.0.0.1, 10.0.0.2)`: the name (lower case,
/// checked as a host name) and the addresses. None for any other object (a denial's).
pub fn parse_resolve(object: &str) -> Option<(String, Vec<IpAddr>)> {
    let (name, rest) = object.split_once(" (")?;
    let (_kind, list) = rest.strip_suffix(')')?.split_once(' ')?;
    let addrs = list
        .split(", ")
        .map(|a| a.parse().ok())
        .collect::<Option<Vec<IpAddr>>>()?;
    let name = HostPattern::try_from(name.to_string()).ok()?.to_string();
    (!name.starts_with("*.")).then_some((name, addrs))
}

/// An IPv4-mapped IPv6 peer is the IPv4 address an A record answered.
fn plain(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// A YAML list of ports, `[80, 443]`.
fn port_list(ports: &BTreeSet<u16>) -> String {
    let p: Vec<String> = ports.iter().map(u16::to_string).collect();
    format!("[{}]", p.join(", "))
}

/// A host name as a YAML scalar: plain when it cannot read as anything but a string.
fn yaml_name(n: &str) -> String {
    if n.contains('.') && n.starts_with(|c: char| c.is_ascii_alphabetic()) {
        n.to_string()
    } else {
        format!("\"{n}\"")
    }
}

/// Groups keys by their port sets: one entry per distinct set.
fn by_ports<K: Clone>(m: &BTreeMap<K, BTreeSet<u16>>) -> BTreeMap<BTreeSet<u16>, Vec<K>> {
    let mut out: BTreeMap<BTreeSet<u16>, Vec<K>> = BTreeMap::new();
    for (k, ports) in m {
        out.entry(ports.clone()).or_default().push(k.clone());
    }
    out
}

/// The allow list's YAML, or why there is none. Each name is in exactly one entry (the
/// resolver gives a name the first entry's ports), with every port used on any address
/// answered for it.
pub fn allow_list(net: &BTreeSet<(Access, String)>, answers: &Answers) -> Result<String, String> {
    let mut named: BTreeMap<String, BTreeSet<u16>> = BTreeMap::new();
    let mut bare: BTreeMap<IpAddr, BTreeSet<u16>> = BTreeMap::new();
    for (a, peer) in net {
        if !matches!(a, Access::Connect | Access::Send) {
            continue;
        }
        let Ok(sa) = peer.parse::<SocketAddr>() else {
            return Err(format!("peer `{peer}` is not an address"));
        };
        match sa.port() {
            DNS_PORT => continue,
            0 => return Err(format!("peer {peer} has no port")),
            _ => {}
        }
        match answers.get(&plain(sa.ip())) {
            Some(names) => names.iter().for_each(|n| {
                named.entry(n.clone()).or_default().insert(sa.port());
            }),
            None => {
                bare.entry(plain(sa.ip())).or_default().insert(sa.port());
            }
        }
    }
    if named.is_empty() {
        return Err("no peer was reached by a name resolved in the run".into());
    }
    let (hosts, addrs) = (by_ports(&named), by_ports(&bare));
    if hosts.len() + addrs.len() > MAX_ENTRIES {
        return Err(format!("more than {MAX_ENTRIES} allow entries"));
    }
    if let Some((_, n)) = hosts
        .iter()
        .find(|(p, _)| p.len() > varmor_core::abi::NET_PORTS)
    {
        return Err(format!(
            "{} used more than {} ports",
            n.join(", "),
            varmor_core::abi::NET_PORTS
        ));
    }
    if let Some((_, a)) = addrs
        .iter()
        .find(|(p, _)| p.len() > varmor_core::abi::NET_PORTS)
    {
        return Err(format!(
            "{} used more than {} ports",
            a[0],
            varmor_core::abi::NET_PORTS
        ));
    }
    let mut y = String::from(
        "# Allow-list mode: every peer the run used, by the name it was answered for in the run\n\
         # (else by address), on the ports used; DNS goes to varmord's resolver, which answers\n\
         # only these names. Connect and send anywhere else are denied.\n\
         network_default: deny\nnetwork_allow:\n",
    );
    for (ports, names) in &hosts {
        let n: Vec<String> = names.iter().map(|n| yaml_name(n)).collect();
        y += &format!(
            "  - hosts: [{}]\n    ports: {}\n",
            n.join(", "),
            port_list(ports)
        );
    }
    for (ports, ips) in &addrs {
        let a: Vec<String> = ips.iter().map(|a| format!("\"{a}\"")).collect();
        y += &format!(
            "  # answered for no name in the run\n  - addresses: [{}]\n    ports: {}\n",
            a.join(", "),
            port_list(ports)
        );
    }
    let unused: BTreeSet<&str> = answers
        .values()
        .flatten()
        .map(String::as_str)
        .filter(|n| !named.contains_key(*n))
        .collect();
    if !unused.is_empty() {
        let mut u: Vec<&str> = unused.iter().copied().take(MAX_UNUSED).collect();
        if unused.len() > MAX_UNUSED {
            u.push("...");
        }
        y += &format!(
            "  # resolved but never connected to (REFUSED under this draft; add an entry if the\n  # program needs the answer): {}\n",
            u.join(", ")
        );
    }
    Ok(y)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(peers: &[(Access, &str)]) -> BTreeSet<(Access, String)> {
        peers.iter().map(|(a, p)| (*a, p.to_string())).collect()
    }

    fn answers(list: &[(&str, &str)]) -> Answers {
        let mut m = Answers::new();
        for (name, obj) in list {
            let (n, addrs) = parse_resolve(&format!("{name} ({obj})")).unwrap();
            for a in addrs {
                m.entry(a).or_default().insert(n.clone());
            }
        }
        m
    }

    #[test]
    fn resolve_objects_parse() {
        let (n, a) = parse_resolve("Reg.Example. (A 10.0.0.1, 10.0.0.2)").unwrap();
        assert_eq!(n, "reg.example");
        assert_eq!(
            a,
            [
                "10.0.0.1".parse::<IpAddr>().unwrap(),
                "10.0.0.2".parse().unwrap()
            ]
        );
        assert!(parse_resolve("a.example (AAAA ::1)").is_some());
        for bad in [
            "a.example (complain mode: resolved anyway: no network_allow entry names it)",
            "a.example (answered REFUSED: no network_allow entry names it)",
            "a.example",
            "a..b (A 10.0.0.1)",
        ] {
            assert_eq!(parse_resolve(bad), None, "{bad}");
        }
    }

    #[test]
    fn peers_become_entries_by_name_else_by_address() {
        let seen = net(&[
            (Access::Connect, "10.0.0.1:443"),
            (Access::Connect, "10.0.0.2:80"),
            (Access::Send, "[::ffff:10.0.0.3]:443"),
            (Access::Connect, "192.0.2.7:9"),
            (Access::Send, "10.255.255.53:53"),
            (Access::Bind, "0.0.0.0:8080"),
        ]);
        let ans = answers(&[
            ("a.example", "A 10.0.0.1, 10.0.0.2"),
            ("b.example", "A 10.0.0.3"),
            ("c.example", "A 10.0.0.3"),
            ("unused.example", "A 10.9.9.9"),
        ]);
        let y = allow_list(&seen, &ans).unwrap();
        assert!(y.contains("network_default: deny\nnetwork_allow:\n"), "{y}");
        assert!(
            y.contains("  - hosts: [a.example]\n    ports: [80, 443]\n"),
            "{y}"
        );
        assert!(
            y.contains("  - hosts: [b.example, c.example]\n    ports: [443]\n"),
            "{y}"
        );
        assert!(
            y.contains("  - addresses: [\"192.0.2.7\"]\n    ports: [9]\n"),
            "{y}"
        );
        assert!(
            y.contains("program needs the answer): unused.example"),
            "{y}"
        );
        assert!(!y.contains("53"), "port 53 stays out: {y}");
        assert!(!y.contains("8080"), "binds are not allow entries: {y}");
    }

    #[test]
    fn no_names_or_an_unwritable_peer_keep_the_address_narrowing() {
        let ans = answers(&[("a.example", "A 10.0.0.1")]);
        let only_bare = net(&[(Access::Connect, "192.0.2.7:9")]);
        assert!(allow_list(&only_bare, &ans)
            .unwrap_err()
            .contains("no peer"));
        let many: BTreeSet<(Access, String)> = (1..=17)
            .map(|p| (Access::Connect, format!("10.0.0.1:{p}")))
            .collect();
        assert!(allow_list(&many, &ans)
            .unwrap_err()
            .contains("more than 16 ports"));
        let zero = net(&[(Access::Connect, "10.0.0.1:0")]);
        assert!(allow_list(&zero, &ans).is_err());
    }
}
