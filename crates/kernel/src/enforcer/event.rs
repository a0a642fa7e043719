//! Kernel denial events (the BPF ring buffer's `struct varmor_event`) as `Denial`s.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{Denial, Outcome};
use varmor_core::abi;
use varmor_core::profile::file::Access;

fn cstr(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

fn addr(ev: &abi::Event) -> IpAddr {
    let v6 = Ipv6Addr::from(ev.addr);
    match v6.to_ipv4_mapped() {
        Some(v4) => IpAddr::V4(v4),
        None if ev.family == libc::AF_INET as u16 => IpAddr::V4(Ipv4Addr::new(
            ev.addr[12],
            ev.addr[13],
            ev.addr[14],
            ev.addr[15],
        )),
        None => IpAddr::V6(v6),
    }
}

/// The operation a file event stands for, named as compat names it: the path hooks
/// (chmod, truncate, link, rename, delete, create) by their operation, file_open as
/// `open(ACCESS)`.
fn file_what(perms: u32) -> String {
    for (bit, op) in [
        (abi::MAY_CHMOD, "chmod"),
        (abi::MAY_TRUNCATE, "truncate"),
        (abi::MAY_LINK, "link"),
        (abi::MAY_RENAME, "rename"),
        (abi::MAY_DELETE, "delete"),
        (abi::MAY_CREATE, "create"),
    ] {
        if perms & bit != 0 {
            return op.to_string();
        }
    }
    format!("open({})", Access::from_bits(perms).unwrap_or_default())
}

/// The option a refused setsockopt named (bpf/srcroute.bpf.c refuses only these).
fn srcroute_opt(family: u16, name: u16) -> String {
    let known = if family == libc::AF_INET as u16 {
        match name {
            4 => Some("IP_OPTIONS"),
            _ => None,
        }
    } else {
        match name {
            3 => Some("IPV6_2292HOPOPTS"),
            4 => Some("IPV6_2292DSTOPTS"),
            5 => Some("IPV6_2292RTHDR"),
            6 => Some("IPV6_2292PKTOPTIONS"),
            54 => Some("IPV6_HOPOPTS"),
            55 => Some("IPV6_RTHDRDSTOPTS"),
            57 => Some("IPV6_RTHDR"),
            59 => Some("IPV6_DSTOPTS"),
            _ => None,
        }
    };
    known.map_or_else(|| format!("option {name}"), str::to_string)
}

/// `setsockopt(IPV6_RTHDR)`, or `packet to [::1] (IPv6 routing header)`.
fn srcroute_object(ev: &abi::Event) -> String {
    if ev.perms == abi::SRCROUTE_SETSOCKOPT {
        return format!("setsockopt({})", srcroute_opt(ev.family, ev.port));
    }
    match addr(ev) {
        IpAddr::V6(a) => format!("packet to [{a}] (IPv6 routing header)"),
        a => format!("packet to {a} (IPv4 options)"),
    }
}

pub fn describe(ev: &abi::Event) -> Denial {
    let outcome = if ev.action & abi::ACTION_DENY != 0 {
        Outcome::Denied
    } else if ev.action & abi::ACTION_WOULD_DENY != 0 {
        Outcome::WouldDeny
    } else if ev.action & abi::ACTION_AUDIT != 0 {
        Outcome::Audited
    } else {
        Outcome::WouldDeny
    };
    let (what, object) = match ev.kind {
        abi::EV_NET => {
            let dir = match ev.perms {
                abi::NET_CONNECT => "connect",
                abi::NET_SEND => "send",
                abi::NET_BIND => "bind",
                _ => "network",
            };
            let object = match addr(ev) {
                IpAddr::V6(a) => format!("[{a}]:{}", ev.port),
                a => format!("{a}:{}", ev.port),
            };
            (dir.to_string(), object)
        }
        abi::EV_UNIX => {
            let dir = match ev.perms {
                abi::UNIX_CONNECT => "connect(unix)",
                abi::UNIX_SEND => "send(unix)",
                _ => "unix",
            };
            (dir.to_string(), cstr(&ev.path))
        }
        abi::EV_SRCROUTE => ("source route".into(), srcroute_object(ev)),
        abi::EV_FILE => (file_what(ev.perms), cstr(&ev.path)),
        abi::EV_EXEC => ("exec".into(), cstr(&ev.path)),
        abi::EV_CAP => ("capability".into(), format!("{}", ev.perms)),
        abi::EV_PTRACE => ("ptrace".into(), format!("pid {}", ev.perms)),
        abi::EV_MOUNT => ("mount".into(), cstr(&ev.path)),
        k => (format!("event {k}"), String::new()),
    };
    Denial {
        what,
        object,
        pid: ev.pid as i32,
        comm: cstr(&ev.comm),
        origin: Some(ev.rule),
        outcome,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn srcroute(perms: u32, port: u16, family: u16, addr: [u8; 16]) -> abi::Event {
        abi::Event {
            kind: abi::EV_SRCROUTE,
            perms,
            port,
            family,
            addr,
            rule: abi::NO_RULE,
            action: abi::ACTION_DENY,
            ..Default::default()
        }
    }

    #[test]
    fn source_routes_name_the_option_or_the_first_hop() {
        let v6 = libc::AF_INET6 as u16;
        let v4 = libc::AF_INET as u16;
        let d = describe(&srcroute(abi::SRCROUTE_SETSOCKOPT, 57, v6, [0; 16]));
        assert_eq!(
            (d.what.as_str(), d.object.as_str()),
            ("source route", "setsockopt(IPV6_RTHDR)")
        );
        let d = describe(&srcroute(abi::SRCROUTE_SETSOCKOPT, 4, v4, [0; 16]));
        assert_eq!(d.object, "setsockopt(IP_OPTIONS)");
        let d = describe(&srcroute(abi::SRCROUTE_SETSOCKOPT, 6, v6, [0; 16]));
        assert_eq!(d.object, "setsockopt(IPV6_2292PKTOPTIONS)");
        let lo6 = std::net::Ipv6Addr::LOCALHOST.octets();
        let d = describe(&srcroute(abi::SRCROUTE_PACKET, 0, v6, lo6));
        assert_eq!(d.object, "packet to [::1] (IPv6 routing header)");
        let lo4 = std::net::Ipv4Addr::LOCALHOST.to_ipv6_mapped().octets();
        let d = describe(&srcroute(abi::SRCROUTE_PACKET, 0, v4, lo4));
        assert_eq!(d.object, "packet to 127.0.0.1 (IPv4 options)");
    }
}
