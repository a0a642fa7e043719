//! Real-kernel test of the network hooks: bpf/net.bpf.c attached at the cgroup2 root,
//! rules populated for the mount namespace of an `unshare -m` child. Inside, connects
//! to loopback listeners this test opened get EPERM for a denied port, CIDR, port range
//! and port list, as do unconnected UDP sendto, an IPv4-mapped IPv6 connect under an
//! IPv4 rule, and TCP Fast Open; outside, the same actions work. Loopback only.
//! Needs root, cgroup2 at /sys/fs/cgroup/unified and `unshare`; otherwise it says why.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use varmor_core::abi;
use varmor_core::profile::file::Action;
use varmor_core::profile::net::{parse_addr, Dirs, NetRule, Ports};
use varmor_core::rules::RuleSet;
use varmor_kernel::bpf::matchtest::TempPins;
use varmor_kernel::bpf::{Events, Maps, NetHooks};
use varmor_kernel::encode::encode;

const CGROUP: &str = "/sys/fs/cgroup/unified";

/// TCP Fast Open: sendto(MSG_FASTOPEN) connects and sends in one call.
fn tfo(addr: &SocketAddr) -> std::io::Result<()> {
    let SocketAddr::V4(v4) = addr else {
        unreachable!("IPv4 only")
    };
    let sock = socket2_like_tcp()?;
    let sin = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: v4.port().to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes(v4.ip().octets()),
        },
        sin_zero: [0; 8],
    };
    let msg = b"x";
    // SAFETY: sock is an open TCP socket; msg and sin are valid for the call's duration
    // and their lengths are passed exactly.
    let r = unsafe {
        libc::sendto(
            sock.as_raw_fd(),
            msg.as_ptr().cast(),
            msg.len(),
            libc::MSG_FASTOPEN,
            (&sin as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

fn socket2_like_tcp() -> std::io::Result<std::os::fd::OwnedFd> {
    // SAFETY: plain socket(2); the returned fd is checked and owned exactly once.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fd was just returned by socket(2) and nothing else owns it.
    Ok(unsafe { std::os::fd::FromRawFd::from_raw_fd(fd) })
}

/// (name, errno or 0) of every action, with the ports of the listeners.
fn actions(p: [u16; 5]) -> Vec<(&'static str, i32)> {
    let to = Duration::from_secs(2);
    let tcp = |a: &str| TcpStream::connect_timeout(&a.parse().unwrap(), to).map(drop);
    let code = |r: std::io::Result<()>| r.err().map_or(0, |e| e.raw_os_error().unwrap_or(-1));
    let udp = || {
        UdpSocket::bind("127.0.0.1:0")
            .and_then(|s| s.send_to(b"x", ("127.0.0.1", p[0])))
            .map(drop)
    };
    vec![
        ("port", code(tcp(&format!("127.0.0.1:{}", p[0])))),
        ("cidr", code(tcp(&format!("127.0.0.70:{}", p[1])))),
        ("range", code(tcp(&format!("127.0.0.2:{}", p[2])))),
        ("list", code(tcp(&format!("127.0.0.3:{}", p[3])))),
        ("udp_sendto", code(udp())),
        (
            "v4_mapped_v6",
            code(tcp(&format!("[::ffff:127.0.0.1]:{}", p[0]))),
        ),
        (
            "tcp_fast_open",
            code(tfo(&format!("127.0.0.1:{}", p[0]).parse().unwrap())),
        ),
        ("allowed", code(tcp(&format!("127.0.0.1:{}", p[4])))),
    ]
}

fn ports_from_env() -> Option<[u16; 5]> {
    let v: Vec<u16> = std::env::var("VARMOR_NET_CHILD")
        .ok()?
        .split(',')
        .filter_map(|s| s.parse().ok())
        .collect();
    v.try_into().ok()
}

/// Runs inside the `unshare -m` child (only when VARMOR_NET_CHILD is set): reports its
/// namespace, waits for the rules, runs the actions, reports their errnos.
#[test]
fn net_child_helper() {
    let Some(ports) = ports_from_env() else {
        return;
    };
    let ino = std::fs::metadata("/proc/self/ns/mnt").unwrap().ino();
    println!("VARMOR:INODE {ino}");
    std::io::stdout().flush().unwrap();
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).unwrap();
    for (name, errno) in actions(ports) {
        println!("VARMOR:RES {name} {errno}");
    }
    println!("VARMOR:END");
    std::io::stdout().flush().unwrap();
}

/// The text after `tag` in a line of the child (libtest may print before it).
fn tagged<'a>(line: &'a str, tag: &str) -> Option<&'a str> {
    line.find(tag).map(|i| &line[i + tag.len()..])
}

fn rule(addr: &str, ports: Vec<Ports>, dirs: u32, origin: u32) -> NetRule {
    let addrs = parse_addr(addr).unwrap().into_iter().collect();
    NetRule {
        action: Action::Deny,
        dirs: Dirs::try_from(dirs).unwrap(),
        addrs,
        ports,
        origin,
    }
}

#[test]
fn denied_inside_allowed_outside() {
    if !nix::unistd::geteuid().is_root() || !Path::new(CGROUP).join("cgroup.procs").exists() {
        eprintln!("skipping: needs root and cgroup2 at {CGROUP}");
        return;
    }
    let listeners: Vec<TcpListener> = [
        "127.0.0.1:0",
        "0.0.0.0:0",
        "0.0.0.0:0",
        "0.0.0.0:0",
        "127.0.0.1:0",
    ]
    .iter()
    .map(|a| TcpListener::bind(a).unwrap())
    .collect();
    let p: Vec<u16> = listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect();
    let ports: [u16; 5] = p.clone().try_into().unwrap();
    let pins = TempPins::new("confinenet");
    let hooks = NetHooks::attach(&pins.0, Path::new(CGROUP)).expect("attach the cgroup hooks");
    let all = varmor_kernel::bpf::NET_PROGS.len() + varmor_kernel::bpf::SRCROUTE_PROGS.len();
    assert_eq!(hooks.len(), all);
    let again = NetHooks::attach(&pins.0, Path::new(CGROUP)).expect("adopt the pinned links");
    assert_eq!(
        again.adopted, all,
        "a second attach adopts the pinned links"
    );
    let maps = Maps::open(&pins.0).unwrap();
    let mut events = Events::open(&pins.0).unwrap();

    let mut child = Command::new("unshare")
        .args(["-m", "--"])
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "net_child_helper",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(
            "VARMOR_NET_CHILD",
            p.iter().map(u16::to_string).collect::<Vec<_>>().join(","),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run unshare -m");
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let ns: u32 = out
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| tagged(&l, "VARMOR:INODE ").map(|s| s.parse().unwrap()))
        .expect("child reports its namespace");
    let host_ns = std::fs::metadata("/proc/self/ns/mnt").unwrap().ino() as u32;
    assert_ne!(ns, host_ns, "child is in its own mount namespace");

    let mut rs = RuleSet::empty("nettest");
    let c = abi::NET_CONNECT;
    rs.net = vec![
        rule(
            "127.0.0.1",
            vec![Ports { lo: p[0], hi: p[0] }],
            c | abi::NET_SEND,
            0,
        ),
        rule("127.0.0.64/26", vec![], c, 1),
        rule(
            "127.0.0.2",
            vec![Ports {
                lo: p[2] - 1,
                hi: p[2].saturating_add(1),
            }],
            c,
            2,
        ),
        rule(
            "127.0.0.3",
            vec![
                Ports { lo: 1, hi: 1 },
                Ports { lo: p[3], hi: p[3] },
                Ports { lo: 7, hi: 9 },
            ],
            c,
            3,
        ),
    ];
    let e = encode(&rs, ns, 42);
    maps.populate(&e).expect("populate");
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let mut inside = Vec::new();
    for l in out.map_while(Result::ok) {
        // Read to the end (the child exits after VARMOR:END) so it never writes to a closed pipe.
        if let Some(r) = tagged(&l, "VARMOR:RES ") {
            let (name, code) = r.split_once(' ').unwrap();
            inside.push((name.to_string(), code.parse::<i32>().unwrap()));
        }
    }
    let _ = child.wait();
    let mut denials = 0;
    events
        .poll(Duration::from_millis(200), |ev| {
            if ev.ns == ns && ev.kind == abi::EV_NET && ev.action == abi::ACTION_DENY {
                denials += 1;
            }
        })
        .unwrap();
    maps.clear(&e).unwrap();
    assert_eq!(maps.count_ns_entries(ns), 0);
    let outside = actions(ports);
    drop((hooks, again));
    NetHooks::detach_and_unpin(&pins.0).unwrap();
    assert!(!pins.0.join("links").exists(), "link pins removed");
    eprintln!("inside: {inside:?}\noutside: {outside:?}\ndenial events: {denials}");
    assert_eq!(inside.len(), outside.len(), "child ran every action");
    for ((name, code), (_, out_code)) in inside.iter().zip(&outside) {
        let want = if name == "allowed" { 0 } else { libc::EPERM };
        assert_eq!(*code, want, "{name} inside the sandbox");
        assert_eq!(*out_code, 0, "{name} outside the sandbox");
    }
    assert!(denials >= 7, "each denial reached v_events ({denials})");
    drop(listeners);
}
