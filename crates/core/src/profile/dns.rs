//! Network allow lists (`network_default: deny` + `network_allow:`): connect and send only
//! to what an entry names, by host name, wildcard domain or address/CIDR, with ports.
//! Kernel side: bpf/net.bpf.c (the default deny, the DNS redirect, v_net_dyn); names are
//! answered by varmord's resolver (crates/daemon/src/resolver.rs), which writes the addresses it
//! answered into the namespace's allow map for their TTL. Deny rules (`network:`) win.

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::net::{parse_addr, parse_ports, OneOrMany, Ports, RawPort};
use crate::abi;

/// Added to every TTL by default (`varmord --dns-grace`): connections that start just
/// after the answer expires still work.
pub const GRACE: std::time::Duration = std::time::Duration::from_secs(30);

/// Longest DNS name (RFC 1035), dots included, no trailing dot.
pub const NAME_MAX: usize = 253;

/// `network_default:` — `deny` turns on allow-list mode; `allow` (the default) leaves it off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetDefault {
    Allow,
    Deny,
}

/// A host name (`registry.npmjs.org`) or every name below a domain (`*.pythonhosted.org`,
/// which does not match `pythonhosted.org` itself). Lower case, no trailing dot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HostPattern {
    wildcard: bool,
    /// The name, or the domain after `*.`.
    name: String,
}

impl HostPattern {
    /// Does `name` (any case, trailing dot allowed) match?
    pub fn matches(&self, name: &str) -> bool {
        let n = name.strip_suffix('.').unwrap_or(name);
        if self.wildcard {
            n.len() > self.name.len() + 1
                && n[n.len() - self.name.len()..].eq_ignore_ascii_case(&self.name)
                && n.as_bytes()[n.len() - self.name.len() - 1] == b'.'
        } else {
            n.eq_ignore_ascii_case(&self.name)
        }
    }
}

impl std::fmt::Display for HostPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.wildcard {
            write!(f, "*.{}", self.name)
        } else {
            f.write_str(&self.name)
        }
    }
}

impl TryFrom<String> for HostPattern {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let (wildcard, rest) = match s.strip_prefix("*.") {
            Some(r) => (true, r),
            None => (false, s.as_str()),
        };
        let rest = rest.strip_suffix('.').unwrap_or(rest).to_ascii_lowercase();
        if rest.is_empty() || rest.len() > NAME_MAX {
            return Err(format!("`{s}`: a host name is 1-{NAME_MAX} characters"));
        }
        for label in rest.split('.') {
            let ok = (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                && !label.starts_with('-')
                && !label.ends_with('-');
            if !ok {
                return Err(format!(
                    "`{s}`: not a host name (labels of 1-63 letters, digits, `-`, `_`; \
                     a wildcard only as a leading `*.`, e.g. *.pythonhosted.org)"
                ));
            }
        }
        if !wildcard && rest.parse::<std::net::IpAddr>().is_ok() {
            return Err(format!("`{s}`: an address; write it under `addresses:`"));
        }
        Ok(HostPattern {
            wildcard,
            name: rest,
        })
    }
}

impl From<HostPattern> for String {
    fn from(h: HostPattern) -> String {
        h.to_string()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAllow {
    #[serde(default)]
    hosts: Option<OneOrMany<String>>,
    #[serde(default)]
    addresses: Option<OneOrMany<String>>,
    #[serde(default)]
    ports: Option<OneOrMany<RawPort>>,
}

/// One `network_allow:` entry after its checks: at least one host or address.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawAllow")]
pub struct AllowSpec {
    pub hosts: Vec<HostPattern>,
    pub addrs: Vec<IpNet>,
    pub ports: Vec<Ports>,
}

impl TryFrom<RawAllow> for AllowSpec {
    type Error = String;
    fn try_from(r: RawAllow) -> Result<Self, String> {
        let hosts = r
            .hosts
            .map(OneOrMany::into_vec)
            .unwrap_or_default()
            .into_iter()
            .map(HostPattern::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        let mut addrs = Vec::new();
        for a in r.addresses.map(OneOrMany::into_vec).unwrap_or_default() {
            addrs.push(parse_addr(&a)?.ok_or_else(|| {
                "`any` in an allow list allows everything; drop `network_default: deny` instead"
                    .to_string()
            })?);
        }
        if hosts.is_empty() && addrs.is_empty() {
            return Err("an allow entry names `hosts:` or `addresses:` (or both)".into());
        }
        let ports = parse_ports(r.ports)?;
        Ok(AllowSpec {
            hosts,
            addrs,
            ports,
        })
    }
}

/// A compiled allow entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetAllow {
    pub hosts: Vec<HostPattern>,
    pub addrs: Vec<IpNet>,
    /// Empty: any port.
    pub ports: Vec<Ports>,
    pub origin: u32,
}

/// Which names a sandbox's resolver answers. Set by the launcher, honoured by varmord's
/// resolver; no profile field sets it (a profile only ever gives `Listed`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answering {
    /// The names the entries name; any other is REFUSED (resolved, with a line, in
    /// complain mode).
    #[default]
    Listed,
    /// A learning run (`varmor-run --learn`, complain mode only, checked by varmord):
    /// every name is answered and its addresses allowed, each answer an audit line.
    Every,
}

impl Answering {
    fn is_listed(&self) -> bool {
        *self == Answering::Listed
    }
}

/// Allow-list mode: `origin` is where `network_default: deny` was written (the rule a
/// default denial names); `rules` every allow entry of every merged profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetAllowList {
    pub origin: u32,
    pub rules: Vec<NetAllow>,
    /// Sent only when not `Listed`, so a launcher's ordinary rule sets read as before.
    #[serde(default, skip_serializing_if = "Answering::is_listed")]
    pub answering: Answering,
}

impl NetAllowList {
    /// The entries whose host patterns match `name`: the first one's origin (what lines
    /// name) and the ports of them all (`merge_ports`). None: no entry names it.
    pub fn allows_name(&self, name: &str) -> Option<(u32, PortRanges)> {
        let mut hits = self
            .rules
            .iter()
            .filter(|r| r.hosts.iter().any(|h| h.matches(name)));
        let first = hits.next()?;
        let ports = hits.fold(Self::port_ranges(first), |acc, r| {
            merge_ports(acc, Self::port_ranges(r))
        });
        Some((first.origin, ports))
    }

    /// The kernel's port ranges for an entry (nports, ranges).
    pub fn port_ranges(r: &NetAllow) -> PortRanges {
        let mut out = [abi::PortRange::default(); abi::NET_PORTS];
        for (slot, p) in out.iter_mut().zip(&r.ports) {
            *slot = abi::PortRange { lo: p.lo, hi: p.hi };
        }
        (r.ports.len().min(abi::NET_PORTS) as u32, out)
    }
}

/// An allow entry's ports as the kernel holds them: (count, ranges); count 0 is any port.
pub type PortRanges = (u32, [abi::PortRange; abi::NET_PORTS]);

/// The ports of two entries that allow one name or address: any port if either allows
/// any, else both lists, each range once. Beyond `NET_PORTS` ranges the rest are left
/// out (fewer ports than written, never more).
pub fn merge_ports(a: PortRanges, b: PortRanges) -> PortRanges {
    if a.0 == 0 || b.0 == 0 {
        return (0, a.1);
    }
    let (mut n, mut out) = (a.0 as usize, a.1);
    for r in &b.1[..b.0 as usize] {
        if n < abi::NET_PORTS && !out[..n].iter().any(|o| o.lo == r.lo && o.hi == r.hi) {
            out[n] = *r;
            n += 1;
        }
    }
    (n as u32, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(s: &str) -> Result<HostPattern, String> {
        HostPattern::try_from(s.to_string())
    }

    #[test]
    fn host_patterns() {
        let exact = h("Registry.NPMJS.org.").unwrap();
        assert!(exact.matches("registry.npmjs.org"));
        assert!(exact.matches("REGISTRY.npmjs.org."));
        assert!(!exact.matches("xregistry.npmjs.org"));
        assert!(!exact.matches("a.registry.npmjs.org"));
        let w = h("*.pythonhosted.org").unwrap();
        assert!(w.matches("files.pythonhosted.org"));
        assert!(w.matches("a.b.pythonhosted.org"));
        assert!(!w.matches("pythonhosted.org"));
        assert!(!w.matches("evilpythonhosted.org"));
        assert_eq!(w.to_string(), "*.pythonhosted.org");
        for bad in ["", "*", "a..b", "-a.b", "a*.b", "*.*.b", "1.2.3.4", "a b"] {
            assert!(h(bad).is_err(), "{bad}");
        }
        assert!(h(&"a.".repeat(130)).is_err());
    }

    #[test]
    fn a_name_two_entries_cover_gets_the_ports_of_both() {
        let entry = |hosts: &str, ports: &[(u16, u16)], origin| NetAllow {
            hosts: vec![h(hosts).unwrap()],
            addrs: vec![],
            ports: ports.iter().map(|&(lo, hi)| Ports { lo, hi }).collect(),
            origin,
        };
        let list = NetAllowList {
            origin: 0,
            rules: vec![
                entry("github.com", &[(443, 443)], 7),
                entry("*.example", &[(80, 80)], 8),
                entry("github.com", &[(22, 22), (443, 443)], 9),
            ],
            answering: Answering::Listed,
        };
        let (origin, (n, r)) = list.allows_name("GitHub.com").unwrap();
        assert_eq!(origin, 7);
        let got: Vec<_> = r[..n as usize].iter().map(|p| (p.lo, p.hi)).collect();
        assert_eq!(got, vec![(443, 443), (22, 22)]);
        assert_eq!(list.allows_name("a.example").unwrap().1 .0, 1);
        assert!(list.allows_name("gitlab.com").is_none());
        // Any port in one entry: any port.
        let any = merge_ports((1, r), (0, [abi::PortRange::default(); abi::NET_PORTS]));
        assert_eq!(any.0, 0);
    }

    #[test]
    fn answering_every_name_is_only_for_complain_mode() {
        use crate::rules::{Mode, Origin, RuleSet};
        let mut rs = RuleSet::empty("learn(-)");
        rs.origins.push(Origin {
            profile: "learn(-)".into(),
            file: "/t/learn.yaml".into(),
            line: 1,
            label: "network default deny".into(),
        });
        rs.net_allow = Some(NetAllowList {
            origin: 0,
            rules: vec![],
            answering: Answering::Every,
        });
        let e = rs.validate().unwrap_err();
        assert!(e.to_string().contains("learning runs"), "{e}");
        rs.mode = Mode::Complain;
        rs.validate().unwrap();
        // A rule set from before the field (or any profile) answers the listed names.
        let json = serde_json::to_string(&rs)
            .unwrap()
            .replace(",\"answering\":\"every\"", "");
        let back: RuleSet = serde_json::from_str(&json).unwrap();
        assert_eq!(back.net_allow.unwrap().answering, Answering::Listed);
    }

    #[test]
    fn an_entry_needs_a_host_or_address() {
        let e = serde_norway::from_str::<AllowSpec>("ports: [443]").unwrap_err();
        assert!(e.to_string().contains("hosts"), "{e}");
        let e = serde_norway::from_str::<AllowSpec>("addresses: any").unwrap_err();
        assert!(e.to_string().contains("allows everything"), "{e}");
        let ok: AllowSpec =
            serde_norway::from_str("hosts: [a.example]\naddresses: 10.0.0.0/8\nports: 80-90")
                .unwrap();
        assert_eq!(ok.ports, vec![Ports { lo: 80, hi: 90 }]);
    }
}
