//! Kernel denial events (the BPF ring buffer's `struct varmor_event`) as `Denial`s.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{Denial, Outcome};
use crate::abi;
use crate::profile::file::Access;

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

pub fn describe(ev: &abi::Event) -> Denial {
    let outcome = if ev.action & abi::ACTION_DENY != 0 {
        Outcome::Denied
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
        abi::EV_FILE => (
            format!("open({})", Access::from_bits(ev.perms).unwrap_or_default()),
            cstr(&ev.path),
        ),
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
