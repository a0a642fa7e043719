//! Network rules (`network:`): connect / send / bind by address, CIDR, port, range or list.
//! Kernel side: bpf/net.bpf.c (cgroup sock_addr hooks, both backends; socket_* LSM hooks).
//! IPv4 rules also meet IPv4-mapped IPv6 destinations (`::ffff:a.b.c.d`).

use std::net::IpAddr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use super::file::{action_of, Action};
use crate::abi;

/// Directions: bit set of abi::NET_CONNECT | NET_SEND | NET_BIND.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Dirs(u32);

const DIR_NAMES: &[(&str, u32)] = &[
    ("connect", abi::NET_CONNECT),
    ("send", abi::NET_SEND),
    ("bind", abi::NET_BIND),
];

impl Dirs {
    pub const ALL: Dirs = Dirs(abi::NET_CONNECT | abi::NET_SEND | abi::NET_BIND);
    pub fn bits(self) -> u32 {
        self.0
    }
    pub fn names(self) -> String {
        let v: Vec<_> = DIR_NAMES
            .iter()
            .filter(|(_, b)| self.0 & b != 0)
            .map(|(n, _)| *n)
            .collect();
        v.join(",")
    }
}
impl TryFrom<u32> for Dirs {
    type Error = String;
    fn try_from(b: u32) -> Result<Self, String> {
        if b == 0 || b & !Dirs::ALL.0 != 0 {
            return Err(format!("bad direction bits {b:#x}"));
        }
        Ok(Dirs(b))
    }
}
impl From<Dirs> for u32 {
    fn from(d: Dirs) -> u32 {
        d.0
    }
}

/// An inclusive port range; a single port is `lo == hi`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ports {
    pub lo: u16,
    pub hi: u16,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}
impl<T> OneOrMany<T> {
    pub(crate) fn into_vec(self) -> Vec<T> {
        match self {
            OneOrMany::One(t) => vec![t],
            OneOrMany::Many(v) => v,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawPort {
    Num(u64),
    Text(String),
}

fn parse_dirs(names: Vec<String>) -> Result<Dirs, String> {
    let mut bits = 0;
    for n in names {
        bits |= match n.as_str() {
            "all" => Dirs::ALL.0,
            _ => DIR_NAMES
                .iter()
                .find(|(d, _)| *d == n)
                .map(|&(_, b)| b)
                .ok_or_else(|| {
                    format!("unknown direction `{n}`; expected connect, send, bind or all")
                })?,
        };
    }
    Dirs::try_from(bits)
        .map_err(|_| "empty direction list; name connect, send, bind or all".to_string())
}

/// `10.0.0.0/8`, `1.1.1.1`, `::1`, `fe80::/10`, or `any`.
pub fn parse_addr(s: &str) -> Result<Option<IpNet>, String> {
    if s == "any" {
        return Ok(None);
    }
    if let Ok(n) = s.parse::<IpNet>() {
        if n != n.trunc() {
            return Err(format!(
                "`{s}`: host bits set below the prefix; did you mean {}?",
                n.trunc()
            ));
        }
        return Ok(Some(n));
    }
    s.parse::<IpAddr>()
        .map(|a| Some(IpNet::from(a)))
        .map_err(|_| {
            format!(
                "`{s}`: not an IP address or CIDR (examples: 1.1.1.1, 10.0.0.0/8, ::1, fe80::/10)"
            )
        })
}

fn parse_port(p: RawPort) -> Result<Ports, String> {
    let num = |s: &str| -> Result<u16, String> {
        let n: u32 = s
            .trim()
            .parse()
            .map_err(|_| format!("`{s}`: not a port number"))?;
        u16::try_from(n)
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("`{s}`: ports are 1-65535"))
    };
    match p {
        RawPort::Num(n) => num(&n.to_string()).map(|n| Ports { lo: n, hi: n }),
        RawPort::Text(t) => match t.split_once('-') {
            Some((a, b)) => {
                let (lo, hi) = (num(a)?, num(b)?);
                if lo > hi {
                    return Err(format!("`{t}`: range runs backwards; write {hi}-{lo}"));
                }
                Ok(Ports { lo, hi })
            }
            None => num(&t).map(|n| Ports { lo: n, hi: n }),
        },
    }
}

/// A rule's `ports:`, each checked, at most `abi::NET_PORTS` of them.
pub(crate) fn parse_ports(p: Option<OneOrMany<RawPort>>) -> Result<Vec<Ports>, String> {
    let ports: Vec<Ports> = p
        .map(OneOrMany::into_vec)
        .unwrap_or_default()
        .into_iter()
        .map(parse_port)
        .collect::<Result<_, _>>()?;
    if ports.len() > abi::NET_PORTS {
        return Err(format!(
            "{} port entries; at most {} per rule (split the rule)",
            ports.len(),
            abi::NET_PORTS
        ));
    }
    Ok(ports)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNetRule {
    #[serde(default)]
    deny: Option<OneOrMany<String>>,
    #[serde(default)]
    audit: Option<OneOrMany<String>>,
    #[serde(default)]
    addresses: Option<OneOrMany<String>>,
    #[serde(default)]
    ports: Option<OneOrMany<RawPort>>,
}

/// A `network:` rule after its checks. Empty `addrs` means any address, empty
/// `ports` any port.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawNetRule")]
pub struct NetRuleSpec {
    pub action: Action,
    pub dirs: Dirs,
    pub addrs: Vec<IpNet>,
    pub ports: Vec<Ports>,
}

impl TryFrom<RawNetRule> for NetRuleSpec {
    type Error = String;
    fn try_from(r: RawNetRule) -> Result<Self, String> {
        let (action, dirs) = action_of(r.deny, r.audit)?;
        let dirs = parse_dirs(dirs.into_vec())?;
        let mut addrs = Vec::new();
        for a in r.addresses.map(OneOrMany::into_vec).unwrap_or_default() {
            match parse_addr(&a)? {
                Some(n) => addrs.push(n),
                None => {
                    addrs.clear();
                    break;
                }
            }
        }
        let ports = parse_ports(r.ports)?;
        Ok(NetRuleSpec {
            action,
            dirs,
            addrs,
            ports,
        })
    }
}

/// A compiled network rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetRule {
    pub action: Action,
    pub dirs: Dirs,
    /// Empty: any address.
    pub addrs: Vec<IpNet>,
    /// Empty: any port.
    pub ports: Vec<Ports>,
    pub origin: u32,
}

impl NetRule {
    /// vArmor-style flags describing the rule's shape (for dumps and `--check`).
    pub fn flags(&self) -> u32 {
        let mut f = 0;
        for a in &self.addrs {
            f |= match a {
                IpNet::V4(n) => {
                    abi::NET_IPV4
                        | if n.prefix_len() < 32 {
                            abi::NET_CIDR
                        } else {
                            0
                        }
                }
                IpNet::V6(n) => {
                    abi::NET_IPV6
                        | if n.prefix_len() < 128 {
                            abi::NET_CIDR
                        } else {
                            0
                        }
                }
            };
        }
        f |= match self.ports.as_slice() {
            [] => 0,
            [p] if p.lo == p.hi => abi::NET_PORT,
            [_] => abi::NET_PORT_RANGE,
            _ => abi::NET_PORTS_LIST,
        };
        f
    }

    /// Does this rule cover a `dir` access to `addr:port`? (IPv4-mapped IPv6 is IPv4.)
    pub fn covers(&self, dir: u32, addr: IpAddr, port: u16) -> bool {
        let addr = canonical(addr);
        self.dirs.bits() & dir != 0
            && (self.addrs.is_empty() || self.addrs.iter().any(|n| n.contains(&addr)))
            && (self.ports.is_empty() || self.ports.iter().any(|p| (p.lo..=p.hi).contains(&port)))
    }
}

/// IPv4-mapped IPv6 addresses are treated as the IPv4 address they carry.
pub fn canonical(a: IpAddr) -> IpAddr {
    match a {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(a),
        v4 => v4,
    }
}
