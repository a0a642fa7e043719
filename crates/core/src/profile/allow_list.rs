//! Merging network allow lists (`network_default: deny`, `network_allow:`) from every
//! profile of an include tree into one rule set; their language lives in dns.rs.

use super::{dns, lines, ProfileError, ProfileFile};
use crate::rules::{Origin, RuleSet};

/// Origin of an allow list whose `network_default: deny` has not been seen (yet).
const PENDING: u32 = u32::MAX;

/// `network_default: deny` and `network_allow:`: a deny in any merged profile turns
/// allow-list mode on (the last one merged is the origin default denials name); allow entries
/// of every merged profile add up (an include may hold only allow entries, such as a list
/// of forge hosts). Allow entries with no deny anywhere are refused by `check`.
pub(super) fn add(pf: &ProfileFile, rs: &mut RuleSet) {
    let file = pf.path.display().to_string();
    let raw = &pf.raw;
    let line_of = |key: &str| {
        pf.text
            .lines()
            .position(|l| l.starts_with(&format!("{key}:")))
            .map_or(1, |n| n + 1) as u32
    };
    // The last profile merged that says it names default denials: the one the user
    // named when it says so itself (it is merged after its includes).
    if raw.network_default == Some(dns::NetDefault::Deny) {
        rs.origins.push(Origin {
            profile: pf.name.clone(),
            file: file.clone(),
            line: line_of("network_default"),
            label: "network default deny".into(),
        });
        let origin = (rs.origins.len() - 1) as u32;
        rs.net_allow
            .get_or_insert_with(|| dns::NetAllowList {
                origin,
                rules: vec![],
                answering: Default::default(),
            })
            .origin = origin;
    }
    let lines = lines::item_lines(&pf.text, "network_allow");
    for (i, r) in raw.network_allow.iter().enumerate() {
        rs.origins.push(Origin {
            profile: pf.name.clone(),
            file: file.clone(),
            line: lines.get(i).copied().unwrap_or(0),
            label: format!("network_allow[{i}]"),
        });
        let origin = (rs.origins.len() - 1) as u32;
        rs.net_allow
            .get_or_insert_with(|| dns::NetAllowList {
                origin: PENDING,
                rules: vec![],
                answering: Default::default(),
            })
            .rules
            .push(dns::NetAllow {
                hosts: r.hosts.clone(),
                addrs: r.addrs.clone(),
                ports: r.ports.clone(),
                origin,
            });
    }
}

/// Allow entries without `network_default: deny` in any merged profile would allow
/// nothing that is not allowed already: an error at the first entry.
pub(super) fn check(rs: &RuleSet) -> Result<(), ProfileError> {
    let Some(l) = rs.net_allow.as_ref().filter(|l| l.origin == PENDING) else {
        return Ok(());
    };
    let o = l.rules.first().and_then(|r| rs.origin(r.origin));
    Err(ProfileError::At {
        file: o.map_or_else(String::new, |o| o.file.clone()),
        line: o.map_or(1, |o| o.line as usize),
        column: 1,
        msg: format!(
            "{}: allow entries need `network_default: deny` in this profile or one merged \
             with it (without it everything not denied is allowed already)",
            o.map_or("network_allow", |o| o.label.as_str())
        ),
    })
}
