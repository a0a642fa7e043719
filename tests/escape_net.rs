//! Escape suite, network (issue 9): ways to reach a loopback listener under `nonet` and
//! under a profile denying one address and its ports, each one child in a sandbox, as root
//! and as the test user, with the same trick outside as control. Loopback only: the
//! listeners are this test's own; nothing leaves the machine.
//!
//! Errnos: the cgroup sock_addr programs (connect4/6, sendmsg4/6, bind4/6) refuse with
//! EPERM, and each refusal is also a `varmor: denied` line. io_uring should be refused as a
//! whole (EPERM or ENOSYS at io_uring_setup, see escape_ns.rs); where it is not, its
//! connect and sendmsg must still be refused (EPERM).

mod common;
#[path = "common/escape.rs"]
mod escape;

use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use escape::*;

const TESTS: usize = 3;

/// The test's own loopback endpoints.
struct Listeners {
    tcp4: TcpListener,
    tcp6: TcpListener,
    udp: UdpSocket,
    allowed: TcpListener,
}

impl Listeners {
    fn open() -> Listeners {
        let tcp4 = TcpListener::bind("127.0.0.1:0").unwrap();
        // Accept TCP Fast Open SYNs with data (the client side needs no cookie to try).
        let qlen: libc::c_int = 16;
        // SAFETY: setsockopt on a socket we own, with a pointer to a live c_int and its size.
        unsafe {
            libc::setsockopt(
                tcp4.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_FASTOPEN,
                (&qlen as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        Listeners {
            tcp4,
            // Dual stack (bindv6only=0): reached as [::1] and as [::ffff:127.0.0.1].
            tcp6: TcpListener::bind("[::]:0").unwrap(),
            udp: UdpSocket::bind("127.0.0.1:0").unwrap(),
            allowed: TcpListener::bind("127.0.0.1:0").unwrap(),
        }
    }
    fn ports(&self) -> [String; 4] {
        [
            self.tcp4.local_addr().unwrap().port(),
            self.tcp6.local_addr().unwrap().port(),
            self.udp.local_addr().unwrap().port(),
            self.allowed.local_addr().unwrap().port(),
        ]
        .map(|p| p.to_string())
    }
}

fn mptcp_enabled() -> bool {
    std::fs::read_to_string("/proc/sys/net/mptcp/enabled").is_ok_and(|s| s.trim() == "1")
}

/// Every way to reach `denied` ports; `nonet` adds ::1, which only a deny-everything rule covers.
fn reach(env: &mut Env, who: Who, profile: &str, ports: &[String; 4], nonet: bool) {
    let [p4, p6, pu, _] = ports;
    let mut cases: Vec<(&str, Vec<&str>)> = vec![
        ("TCP connect 127.0.0.1", vec!["tcp", "127.0.0.1", p4]),
        (
            "TCP connect ::ffff:127.0.0.1 (v4-mapped v6)",
            vec!["tcp", "::ffff:127.0.0.1", p6],
        ),
        (
            "UDP sendto without connect",
            vec!["udp_sendto", "127.0.0.1", pu],
        ),
        (
            "UDP sendto ::ffff:127.0.0.1 from a v6 socket",
            vec!["udp_sendto", "::ffff:127.0.0.1", pu],
        ),
        (
            "UDP sendmsg with an address",
            vec!["udp_sendmsg", "127.0.0.1", pu],
        ),
        (
            "UDP sendmmsg with addresses",
            vec!["udp_sendmmsg", "127.0.0.1", pu],
        ),
        (
            "UDP connect, then send",
            vec!["udp_connect", "127.0.0.1", pu],
        ),
        (
            "TCP Fast Open (sendto MSG_FASTOPEN)",
            vec!["tfo", "127.0.0.1", p4],
        ),
        (
            "TCP Fast Open to ::ffff:127.0.0.1",
            vec!["tfo", "::ffff:127.0.0.1", p6],
        ),
    ];
    if nonet {
        cases.push(("TCP connect ::1", vec!["tcp", "::1", p6]));
    }
    if mptcp_enabled() {
        cases.push(("MPTCP connect", vec!["mptcp", "127.0.0.1", p4]));
    } else {
        eprintln!("escape: no MPTCP case: net.mptcp.enabled is not 1");
    }
    // EPERM at any stage: under nonet the socket itself (seccomp: no IPv4/IPv6 socket
    // at all, so no denial line), under an address rule the connect/send (with a line).
    for (name, args) in cases {
        let a = env.attempt(name, who, profile, &args);
        let a = a.expect(Expect::Errno(EPERM, ""));
        env.check(if nonet { a } else { a.line() });
    }
    for (name, args) in [
        (
            "io_uring IORING_OP_CONNECT",
            vec!["io_uring_connect", "127.0.0.1", p4],
        ),
        (
            "io_uring IORING_OP_SENDMSG (UDP)",
            vec!["io_uring_sendmsg", "127.0.0.1", pu],
        ),
    ] {
        let a = env.attempt(name, who, profile, &args);
        env.check(a.expect(Expect::AnyOf(&[EPERM, ENOSYS])));
    }
}

#[test]
fn nonet_cannot_be_dodged() {
    let Some(mut env) = Env::start("nonet_cannot_be_dodged") else {
        return;
    };
    let l = Listeners::open();
    let ports = l.ports();
    let nonet = common::profile("nonet");
    for who in Who::BOTH {
        reach(&mut env, who, &nonet, &ports, true);
        let a = env.attempt("bind 127.0.0.1", who, &nonet, &["bind", "127.0.0.1"]);
        env.check(a.expect(Expect::Errno(EPERM, "")));
    }
    drop(l);
    env.finish(TESTS);
}

/// Spawns the child, and when it says `LISTEN PORT` connects to that port from here and
/// reads what the child sends; returns the child's output.
fn connect_in(mut c: Command) -> Output {
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut text = String::new();
    let _ = out.read_line(&mut text);
    if let Some(port) = text
        .strip_prefix("LISTEN ")
        .and_then(|p| p.trim().parse::<u16>().ok())
    {
        let addr = format!("127.0.0.1:{port}").parse().unwrap();
        if let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(3)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(3)));
            let mut got = [0u8; 64];
            let n = s.read(&mut got).unwrap_or(0);
            text.push_str(&format!(
                "outside got: {}\n",
                String::from_utf8_lossy(&got[..n])
            ));
        }
    }
    let _ = out.read_to_string(&mut text);
    let mut err = Vec::new();
    let _ = child.stderr.take().unwrap().read_to_end(&mut err);
    Output {
        status: child.wait().unwrap(),
        stdout: text.into_bytes(),
        stderr: err,
    }
}

#[test]
fn nonet_listener_without_bind() {
    let Some(mut env) = Env::start("nonet_listener_without_bind") else {
        return;
    };
    let nonet = common::profile("nonet");
    // listen() on an unbound socket binds an ephemeral port on 0.0.0.0 without bind(2):
    // no bind hook sees it. An outside peer then connects in and the sandbox sends on the
    // accepted socket. nonet promises no binds and no sends; secure is EPERM at listen
    // (bpf-lsm: socket_listen; compat: a cgroup sock_create or post_bind program).
    for who in Who::BOTH {
        let a = env.attempt(
            "listen() without bind, accept, send",
            who,
            &nonet,
            &["listen_autobind"],
        );
        env.check(a.driver(connect_in).expect(Expect::Errno(EPERM, "")));
    }
    env.finish(TESTS);
}

#[test]
fn address_and_port_rule_cannot_be_dodged() {
    let Some(mut env) = Env::start("address_and_port_rule_cannot_be_dodged") else {
        return;
    };
    let l = Listeners::open();
    let ports = l.ports();
    let [p4, p6, pu, ok] = &ports;
    // An IPv4 rule: it must also cover ::ffff:127.0.0.1 on IPv6 sockets.
    let one = env.profile(
        "denyport",
        &format!("network:\n  - deny: [connect, send]\n    addresses: [127.0.0.1]\n    ports: [{p4}, {p6}, {pu}]\n"),
    );
    // vArmor scans network rules one by one: here the rule that matters is the LAST of a
    // full table (64 rules); one more is refused (exit 125), never silently dropped.
    let table = |n: usize| {
        let mut y = String::from("network:\n");
        for i in 0..n - 1 {
            y.push_str(&format!(
                "  - deny: [connect]\n    addresses: [127.0.{}.{}]\n    ports: [1]\n",
                i / 200 + 1,
                i % 200 + 2
            ));
        }
        y.push_str(&format!(
            "  - deny: [connect]\n    addresses: [127.0.0.1]\n    ports: [{p4}]\n"
        ));
        y
    };
    let full = env.profile("net-full", &table(64));
    let over = env.profile("net-over", &table(65));
    for who in Who::BOTH {
        reach(&mut env, who, &one, &ports, false);
        // In-sandbox control: the rule names ports; another port on the same address works.
        let a = env.attempt(
            "TCP connect to a port no rule names",
            who,
            &one,
            &["tcp", "127.0.0.1", ok],
        );
        env.check(a.expect(Expect::Allowed));
        let a = env.attempt(
            "the last of 64 network rules",
            who,
            &full,
            &["tcp", "127.0.0.1", p4],
        );
        env.check(a.expect(Expect::Errno(EPERM, "connect")).line());
    }
    let a = env.attempt(
        "65 network rules",
        Who::Root,
        &over,
        &["tcp", "127.0.0.1", p4],
    );
    let run = env.check(a.expect(Expect::NotRun));
    assert_eq!(run.code, Some(125), "65 network rules: {}", run.stderr);
    drop(l);
    env.finish(TESTS);
}
