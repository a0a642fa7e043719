//! Capability rules (`capabilities:`): capabilities the sandbox may never use.
//! Kernel side: bpf/caps.bpf.c (capable); compat: every capability is dropped from every
//! set, bounding set included, so a deny list is enforced more strictly than written.

use std::str::FromStr;

use caps::Capability;
use serde::{Deserialize, Serialize};

/// A set of capabilities as a bitmap of capability numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CapSet(pub u64);

impl CapSet {
    pub fn all() -> CapSet {
        CapSet(caps::all().iter().fold(0, |m, c| m | c.bitmask()))
    }
    pub fn names(self) -> Vec<String> {
        let mut v: Vec<_> = caps::all()
            .into_iter()
            .filter(|c| self.0 & c.bitmask() != 0)
            .map(|c| {
                (
                    c.index(),
                    c.to_string().trim_start_matches("CAP_").to_lowercase(),
                )
            })
            .collect();
        v.sort();
        v.into_iter().map(|(_, n)| n).collect()
    }
}

/// `net_raw`, `CAP_NET_RAW` or `all`.
fn parse_cap(name: &str) -> Result<CapSet, String> {
    if name == "all" {
        return Ok(CapSet::all());
    }
    let upper = name.to_ascii_uppercase();
    let full = if upper.starts_with("CAP_") {
        upper
    } else {
        format!("CAP_{upper}")
    };
    Capability::from_str(&full)
        .map(|c| CapSet(c.bitmask()))
        .map_err(|_| format!("unknown capability `{name}`; write names like net_raw, sys_admin (see capabilities(7)) or all"))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCaps {
    deny: NameList,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum NameList {
    One(String),
    Many(Vec<String>),
}

/// The `capabilities:` section after its checks.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(try_from = "RawCaps")]
pub struct CapsSpec {
    pub deny: CapSet,
}

impl TryFrom<RawCaps> for CapsSpec {
    type Error = String;
    fn try_from(r: RawCaps) -> Result<Self, String> {
        let names = match r.deny {
            NameList::One(s) => vec![s],
            NameList::Many(v) => v,
        };
        let mut set = CapSet::default();
        for n in names {
            set.0 |= parse_cap(&n)?.0;
        }
        Ok(CapsSpec { deny: set })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn names() {
        assert_eq!(parse_cap("net_raw").unwrap().0, 1 << 13);
        assert_eq!(parse_cap("CAP_NET_RAW").unwrap().0, 1 << 13);
        assert!(parse_cap("net_rawx")
            .unwrap_err()
            .contains("unknown capability `net_rawx`"));
        assert_eq!(CapSet(1 << 13).names(), vec!["net_raw"]);
        assert!(CapSet::all().0.count_ones() >= 40);
    }
}
