//! The socket calls tests/confine_rthdr.rs's child makes: source routes (setsockopt and
//! control messages), a raw routing header, ordinary options and plain datagrams, each
//! answered as `0` or the errno (`nosock`: the socket itself could not be made).
#![allow(dead_code)]

use std::net::UdpSocket;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

const IPPROTO_ROUTING: i32 = 43;
const IPV6_2292PKTOPTIONS: i32 = 6;
const IPV6_HOPOPTS: i32 = 54;
pub const IPV6_RTHDR: i32 = 57;
const IP_RETOPTS: i32 = 7;

/// A loose source route through 127.0.0.1, after a NOP: 8 bytes of IPv4 options.
pub const LSRR: [u8; 8] = [1, 131, 7, 4, 127, 0, 0, 1];
/// Four NOPs: IPv4 options anyone may send (a source route needs CAP_NET_RAW on recent
/// kernels), refused all the same in a sandbox with network rules.
const NOPS: [u8; 4] = [1, 1, 1, 1];
/// Hop-by-hop options holding one PadN: the smallest valid header.
const HOPOPTS: [u8; 8] = [0, 0, 1, 4, 0, 0, 0, 0];

/// A routing header of `kind` (2: Mobile IPv6, 4: segment routing) naming ::1.
pub fn rthdr(kind: u8, next: u8) -> Vec<u8> {
    let left = u8::from(kind == 2);
    let mut h = vec![next, 2, kind, left, 0, 0, 0, 0];
    h.extend(std::net::Ipv6Addr::LOCALHOST.octets());
    h
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(-1)
}

fn sock(domain: i32, ty: i32, proto: i32) -> Option<OwnedFd> {
    // SAFETY: plain socket(2); the fd is checked and owned exactly once.
    let fd = unsafe { libc::socket(domain, ty, proto) };
    // SAFETY: fd was just returned by socket(2) and nothing else owns it.
    (fd >= 0).then(|| unsafe { OwnedFd::from_raw_fd(fd) })
}

pub fn setopt(fd: &OwnedFd, level: i32, name: i32, val: &[u8]) -> i32 {
    // SAFETY: val is valid for val.len() bytes for the call's duration.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            val.as_ptr().cast(),
            val.len() as libc::socklen_t,
        )
    };
    if r < 0 {
        errno()
    } else {
        0
    }
}

fn one() -> Vec<u8> {
    1i32.to_ne_bytes().to_vec()
}

/// The socket address of loopback `port` in `domain`, and its length.
fn loopback(domain: i32, port: u16) -> (libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain data; all zeroes is a valid value.
    let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    if domain == libc::AF_INET6 {
        // SAFETY: sockaddr_storage is large and aligned enough for a sockaddr_in6.
        let a =
            unsafe { &mut *(&mut ss as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
        a.sin6_family = libc::AF_INET6 as libc::sa_family_t;
        a.sin6_port = port.to_be();
        a.sin6_addr.s6_addr = std::net::Ipv6Addr::LOCALHOST.octets();
        (
            ss,
            std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
        )
    } else {
        // SAFETY: sockaddr_storage is large and aligned enough for a sockaddr_in.
        let a =
            unsafe { &mut *(&mut ss as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
        a.sin_family = libc::AF_INET as libc::sa_family_t;
        a.sin_port = port.to_be();
        a.sin_addr.s_addr = u32::from_ne_bytes([127, 0, 0, 1]);
        (
            ss,
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    }
}

/// sendmsg of `payload` to loopback `port`, with one control message if given.
pub fn send(
    fd: &OwnedFd,
    domain: i32,
    port: u16,
    payload: &[u8],
    cmsg: Option<(i32, i32, &[u8])>,
) -> i32 {
    let (mut to, len) = loopback(domain, port);
    let mut iov = libc::iovec {
        iov_base: payload.as_ptr() as *mut libc::c_void,
        iov_len: payload.len(),
    };
    // u64 words: the control buffer is aligned for cmsghdr.
    let mut ctl = [0u64; 16];
    // SAFETY: msghdr is plain data; all zeroes is a valid value.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_name = (&mut to as *mut libc::sockaddr_storage).cast();
    msg.msg_namelen = len;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if let Some((level, ty, data)) = cmsg {
        // SAFETY: CMSG_SPACE/CMSG_LEN are arithmetic; the buffer (128 bytes) holds one
        // header and data of at most 40 bytes, and CMSG_FIRSTHDR/CMSG_DATA point into it.
        unsafe {
            msg.msg_control = ctl.as_mut_ptr().cast();
            msg.msg_controllen = libc::CMSG_SPACE(data.len() as u32) as usize;
            let c = libc::CMSG_FIRSTHDR(&msg);
            (*c).cmsg_level = level;
            (*c).cmsg_type = ty;
            (*c).cmsg_len = libc::CMSG_LEN(data.len() as u32) as usize;
            std::ptr::copy_nonoverlapping(data.as_ptr(), libc::CMSG_DATA(c), data.len());
        }
    }
    // SAFETY: msg and everything it points to (to, iov, payload, ctl) live across the call.
    let r = unsafe { libc::sendmsg(fd.as_raw_fd(), &msg, 0) };
    if r < 0 {
        errno()
    } else {
        0
    }
}

/// Runs action `a` (`name` or `name:port`); `tag` marks the datagrams it sends.
pub fn act(a: &str, tag: &str) -> String {
    use libc::{AF_INET as V4, AF_INET6 as V6, SOCK_DGRAM as DG};
    let (name, port) = a.split_once(':').unwrap_or((a, "0"));
    let port: u16 = port.parse().unwrap();
    let payload = format!("{name}-{tag}");
    let p = payload.as_bytes();
    let on = |domain, ty, proto, f: &dyn Fn(&OwnedFd) -> i32| match sock(domain, ty, proto) {
        Some(fd) => f(&fd).to_string(),
        None => "nosock".to_string(),
    };
    match name {
        "rthdr6" => on(V6, DG, 0, &|s| {
            setopt(s, libc::IPPROTO_IPV6, IPV6_RTHDR, &rthdr(4, 0))
        }),
        "hopopts6" => on(V6, DG, 0, &|s| {
            setopt(s, libc::IPPROTO_IPV6, IPV6_HOPOPTS, &HOPOPTS)
        }),
        "pktoptions2292" => on(V6, DG, 0, &|s| {
            setopt(s, libc::IPPROTO_IPV6, IPV6_2292PKTOPTIONS, &[])
        }),
        "ipopts4" => on(V4, DG, 0, &|s| {
            setopt(s, libc::IPPROTO_IP, libc::IP_OPTIONS, &LSRR)
        }),
        "retopts4" => on(V4, DG, 0, &|s| {
            send(s, V4, port, p, Some((libc::IPPROTO_IP, IP_RETOPTS, &LSRR)))
        }),
        "retnops4" => on(V4, DG, 0, &|s| {
            send(s, V4, port, p, Some((libc::IPPROTO_IP, IP_RETOPTS, &NOPS)))
        }),
        "cmsgrthdr6" => on(V6, DG, 0, &|s| {
            send(
                s,
                V6,
                port,
                p,
                Some((libc::IPPROTO_IPV6, IPV6_RTHDR, &rthdr(2, 0))),
            )
        }),
        // The kernel writes the IPv6 header (next header 43), the payload is the routing
        // header (segments left 0, then no next header): to ::1, port 0 as raw wants.
        "raw6rt" => on(V6, libc::SOCK_RAW, IPPROTO_ROUTING, &|s| {
            let mut b = rthdr(4, 59);
            b.extend(p);
            send(s, V6, 0, &b, None)
        }),
        "udp6" => on(V6, DG, 0, &|s| send(s, V6, port, p, None)),
        "udp4" => on(V4, DG, 0, &|s| send(s, V4, port, p, None)),
        "reuseaddr" => on(V4, DG, 0, &|s| {
            setopt(s, libc::SOL_SOCKET, libc::SO_REUSEADDR, &one())
        }),
        // Larger than a page: the kernel shows the program one page; it must pass it on.
        "bigopt" => on(V4, DG, 0, &|s| {
            let mut v = vec![0u8; 8192];
            v[..4].copy_from_slice(&one());
            setopt(s, libc::SOL_SOCKET, libc::SO_REUSEADDR, &v)
        }),
        "v6only" => on(V6, DG, 0, &|s| {
            setopt(s, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, &one())
        }),
        "nodelay" => on(V4, libc::SOCK_STREAM, 0, &|s| {
            setopt(s, libc::IPPROTO_TCP, libc::TCP_NODELAY, &one())
        }),
        "tos" => on(V4, DG, 0, &|s| {
            setopt(s, libc::IPPROTO_IP, libc::IP_TOS, &[0x10, 0, 0, 0])
        }),
        // Holds a UDP socket of each family made here until stdin has a line: the test
        // takes them (pidfd_getfd) and sends source-routed packets from them.
        "hold" => {
            let (s6, s4) = (sock(V6, DG, 0).unwrap(), sock(V4, DG, 0).unwrap());
            println!(
                "VARMOR:HOLD {} {} {}",
                std::process::id(),
                s6.as_raw_fd(),
                s4.as_raw_fd()
            );
            std::io::Write::flush(&mut std::io::stdout()).unwrap();
            let mut line = String::new();
            std::io::stdin().read_line(&mut line).unwrap();
            "0".into()
        }
        other => panic!("unknown action {other}"),
    }
}

/// Another process's descriptor `fd`, duplicated here (root: pidfd_getfd).
pub fn grab(pid: i32, fd: i32) -> OwnedFd {
    // SAFETY: pidfd_open takes integers; the result is checked.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as i32;
    assert!(pidfd >= 0, "pidfd_open {pid}: errno {}", errno());
    // SAFETY: pidfd is ours and open; the result is checked.
    let got = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd, fd, 0) } as i32;
    let e = errno();
    // SAFETY: pidfd is ours, closed once.
    unsafe { libc::close(pidfd) };
    assert!(got >= 0, "pidfd_getfd {pid} {fd}: errno {e}");
    // SAFETY: got was just returned by pidfd_getfd and nothing else owns it.
    unsafe { OwnedFd::from_raw_fd(got) }
}

/// A UDP socket of `domain` made here.
pub fn udp(domain: i32) -> OwnedFd {
    sock(domain, libc::SOCK_DGRAM, 0).unwrap()
}

/// A sticky source route on `s` (IPv6: a segment routing header naming ::1; IPv4: the
/// LSRR), then a datagram to loopback `port`: 0 or the errno of the setsockopt or send.
pub fn routed_send(s: &OwnedFd, domain: i32, port: u16, payload: &[u8]) -> i32 {
    let set = if domain == libc::AF_INET6 {
        setopt(s, libc::IPPROTO_IPV6, IPV6_RTHDR, &rthdr(4, 0))
    } else {
        setopt(s, libc::IPPROTO_IP, libc::IP_OPTIONS, &LSRR)
    };
    if set != 0 {
        return set;
    }
    send(s, domain, port, payload, None)
}

/// The `VARMOR:RES action result` lines of a child's output.
pub fn results(out: &str) -> Vec<(String, String)> {
    out.lines()
        .filter_map(|l| l.find("VARMOR:RES ").map(|i| &l[i + 11..]))
        .filter_map(|r| r.split_once(' '))
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

/// Every datagram waiting on `s`, as text.
pub fn drain(s: &UdpSocket) -> Vec<String> {
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut got = vec![];
    let mut buf = [0u8; 256];
    while let Ok(n) = s.recv(&mut buf) {
        got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    got
}

/// The `VARMOR:HOLD pid fd6 fd4` line of a `hold` child: (pid, fd6, fd4).
pub fn held(out: &mut impl std::io::BufRead) -> Option<(i32, i32, i32)> {
    let mut line = String::new();
    while out.read_line(&mut line).ok()? > 0 {
        if let Some(i) = line.find("VARMOR:HOLD ") {
            let v: Vec<i32> = line[i + 12..]
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            return (v.len() == 3).then(|| (v[0], v[1], v[2]));
        }
        line.clear();
    }
    None
}
