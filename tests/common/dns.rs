//! The test zone, the sandboxed child's actions, a one-package npm registry and the map
//! checks of tests/confine_dns.rs (allow-list mode): loopback servers only.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use libbpf_rs::MapCore;
use varmor_core::dnswire::{self, TYPE_A, TYPE_AAAA};

/// Where the sandbox thinks its nameservers are (TEST-NET; nothing answers there).
pub const NS4: &str = "192.0.2.53:53";
pub const NS6: &str = "[2001:db8::53]:53";
/// NS4 as an IPv4-mapped IPv6 address.
pub const NS4M: &str = "[::ffff:192.0.2.53]:53";

/// The test zone: name -> IPv4 address.
pub const ZONE: &[(&str, &str)] = &[
    ("allowed.varmor.test", "127.0.1.1"),
    ("denied.varmor.test", "127.0.1.2"),
    ("x.wild.varmor.test", "127.0.1.5"),
    ("blocked.wild.varmor.test", "127.0.1.7"),
    ("short.wild.varmor.test", "127.0.1.8"),
    ("registry.varmor.test", "127.0.1.10"),
    // Names the shipped `agent` profile allows (tests/workload_agent.rs): here they point
    // at loopback listeners, so nothing leaves the machine.
    ("api.anthropic.com", "127.0.1.20"),
    ("github.com", "127.0.1.21"),
];

/// The TTL of `name`'s records: 1 s for the expiry case, else 60 s.
pub fn ttl(name: &str) -> u32 {
    if name.starts_with("short.") {
        1
    } else {
        60
    }
}

/// The zone server: A records from ZONE (TTL 60), empty answers for other types.
pub fn zone_server(stop: Arc<AtomicBool>) -> (SocketAddr, std::thread::JoinHandle<()>) {
    let s = UdpSocket::bind("127.0.0.53:0").expect("bind the zone server");
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let addr = s.local_addr().unwrap();
    let t = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while !stop.load(Ordering::SeqCst) {
            let Ok((n, from)) = s.recv_from(&mut buf) else {
                continue;
            };
            let Ok(q) = dnswire::parse_query(&buf[..n]) else {
                continue;
            };
            let recs: Vec<_> = ZONE
                .iter()
                .filter(|(name, _)| *name == q.name && q.qtype == TYPE_A)
                .map(|(name, a)| {
                    let ip: std::net::Ipv4Addr = a.parse().unwrap();
                    (name.to_string(), TYPE_A, ttl(name), ip.octets().to_vec())
                })
                .collect();
            let _ = s.send_to(&dnswire::build_answer(&buf[..n], &q, &recs), from);
        }
    });
    (addr, t)
}

pub fn query_over(sock: &UdpSocket, to: Option<&str>, name: &str, qtype: u16) -> String {
    let id = 0x4242;
    let m = dnswire::build_query(id, name, qtype);
    let sent = match to {
        Some(a) => sock.send_to(&m, a),
        None => sock.send(&m),
    };
    if let Err(e) = sent {
        return format!("err={}", e.raw_os_error().unwrap_or(-1));
    }
    let mut buf = [0u8; 4096];
    let (n, from) = match sock.recv_from(&mut buf) {
        Ok(r) => r,
        Err(e) => return format!("recv-err={}", e.raw_os_error().unwrap_or(-1)),
    };
    answer_text(&buf[..n], name, qtype, Some(from), sock.peer_addr().ok())
}

pub fn answer_text(
    m: &[u8],
    name: &str,
    qtype: u16,
    from: Option<SocketAddr>,
    peer: Option<SocketAddr>,
) -> String {
    let q = dnswire::parse_query(&dnswire::build_query(0x4242, name, qtype)).unwrap();
    let rcode = m.get(3).map_or(99, |b| b & 0xf);
    let addrs: Vec<String> = dnswire::answer_addrs(m, &q)
        .unwrap_or_default()
        .iter()
        .map(|(a, _)| a.to_string())
        .collect();
    let mut s = format!("rcode={rcode} addrs={}", addrs.join(","));
    if let Some(f) = from {
        s.push_str(&format!(" from={f}"));
    }
    if let Some(p) = peer {
        s.push_str(&format!(" peer={p}"));
    }
    s
}

/// One action of the child; its result as text. `#tag` at the end tells repeats apart.
pub fn act(a: &str) -> String {
    let to = Duration::from_secs(3);
    let a = a.split('#').next().unwrap();
    let errno = |r: std::io::Result<()>| r.err().map_or(0, |e| e.raw_os_error().unwrap_or(-1));
    let (kind, arg) = a.split_once(':').unwrap();
    let udp = |bind: &str| {
        let s = UdpSocket::bind(bind).unwrap();
        s.set_read_timeout(Some(to)).unwrap();
        s
    };
    match kind {
        // A query sent with sendto (unconnected UDP) to NS4, NS6 or a given server.
        "q" => query_over(&udp("0.0.0.0:0"), Some(NS4), arg, TYPE_A),
        "q6" => query_over(&udp("[::]:0"), Some(NS6), arg, TYPE_AAAA),
        // An IPv6 socket's sendto to NS4 as an IPv4-mapped address (Java's dual-stack way).
        "qm" => query_over(&udp("[::]:0"), Some(NS4M), arg, TYPE_A),
        "qat" => {
            let (server, name) = arg.split_once('/').unwrap();
            query_over(&udp("0.0.0.0:0"), Some(server), name, TYPE_A)
        }
        // Connected UDP (glibc's way): connect, send, recv; getpeername too.
        "cq" => {
            let s = udp("0.0.0.0:0");
            if let Err(e) = s.connect(NS4) {
                return format!("err={}", e.raw_os_error().unwrap_or(-1));
            }
            query_over(&s, None, arg, TYPE_A)
        }
        // DNS over TCP.
        "tq" => {
            let mut c = match TcpStream::connect_timeout(&NS4.parse().unwrap(), to) {
                Ok(c) => c,
                Err(e) => return format!("err={}", e.raw_os_error().unwrap_or(-1)),
            };
            c.set_read_timeout(Some(to)).unwrap();
            let m = dnswire::build_query(0x4242, arg, TYPE_A);
            let mut framed = (m.len() as u16).to_be_bytes().to_vec();
            framed.extend(m);
            c.write_all(&framed).unwrap();
            let mut len = [0u8; 2];
            if c.read_exact(&mut len).is_err() {
                return "recv-err".into();
            }
            let mut buf = vec![0u8; u16::from_be_bytes(len) as usize];
            c.read_exact(&mut buf).unwrap();
            answer_text(&buf, arg, TYPE_A, None, c.peer_addr().ok())
        }
        "tcp" => format!(
            "{}",
            errno(TcpStream::connect_timeout(&arg.parse().unwrap(), to).map(drop))
        ),
        "udp" => format!("{}", errno(udp("0.0.0.0:0").send_to(b"x", arg).map(drop))),
        // An ICMP echo from an unprivileged "ping" socket (sendto, no connect) to `arg`:
        // socket()'s errno, or sendto's as `send=N`.
        "ping" => {
            // SAFETY: plain socket calls on a local fd and a live sockaddr_in.
            unsafe {
                let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM, libc::IPPROTO_ICMP);
                if fd < 0 {
                    return format!(
                        "{}",
                        std::io::Error::last_os_error().raw_os_error().unwrap_or(-1)
                    );
                }
                let ip: std::net::Ipv4Addr = arg.parse().unwrap();
                let sa = libc::sockaddr_in {
                    sin_family: libc::AF_INET as libc::sa_family_t,
                    sin_port: 0,
                    sin_addr: libc::in_addr {
                        s_addr: u32::from(ip).to_be(),
                    },
                    sin_zero: [0; 8],
                };
                let echo = [8u8, 0, 0, 0, 0, 0, 0, 1, b'x'];
                let r = libc::sendto(
                    fd,
                    echo.as_ptr().cast(),
                    echo.len(),
                    0,
                    (&sa as *const libc::sockaddr_in).cast(),
                    std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
                );
                let e = std::io::Error::last_os_error().raw_os_error().unwrap_or(-1);
                libc::close(fd);
                if r < 0 {
                    format!("send={e}")
                } else {
                    "0".into()
                }
            }
        }
        "sleep" => {
            std::thread::sleep(Duration::from_millis(arg.parse().unwrap()));
            "0".into()
        }
        _ => panic!("unknown action {a}"),
    }
}

/// action -> result, from the child's stdout.
pub fn results(out: &str) -> Vec<(String, String)> {
    out.lines()
        .filter_map(|l| l.find("VARMOR:RES ").map(|i| &l[i + 11..]))
        .filter_map(|r| r.split_once(' '))
        .map(|(a, r)| (a.to_string(), r.to_string()))
        .collect()
}

pub fn child(actions: &[String]) -> Command {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args([
        "--exact",
        "dns_child_helper",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("VARMOR_DNS_CHILD", actions.join(" "));
    c
}

/// Once the sandbox has ended, nothing of its resolver is left in the maps.
pub fn assert_clean(d: &crate::common::Daemon) {
    let maps = varmor_kernel::bpf::Maps::open(&d.pins()).unwrap();
    let left = |name: &str| maps.map(name).unwrap().keys().count();
    let t = std::time::Instant::now();
    while (left("v_dns") + left("v_net_dyn") + left("v_ns")) > 0 && t.elapsed().as_secs() < 10 {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        (left("v_ns"), left("v_dns"), left("v_net_dyn")),
        (0, 0, 0),
        "entries left after the sandbox ended"
    );
}

pub struct Listener(pub TcpListener);
impl Listener {
    pub fn on(ip: &str) -> Listener {
        Listener(TcpListener::bind((ip, 0)).unwrap_or_else(|e| panic!("bind {ip}: {e}")))
    }
    pub fn at(&self) -> String {
        self.0.local_addr().unwrap().to_string()
    }
}

/// A one-package npm registry on `l`: the packument of hello-pkg and its tarball.
pub fn registry(
    l: TcpListener,
    tgz: Vec<u8>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    let port = l.local_addr().unwrap().port();
    l.set_nonblocking(true).unwrap();
    let sha1 = {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p.tgz");
        std::fs::write(&f, &tgz).unwrap();
        let o = Command::new("sha1sum").arg(&f).output().unwrap();
        crate::common::stdout(&o)
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    };
    let base = format!("http://registry.varmor.test:{port}");
    let packument = format!(
        r#"{{"name":"hello-pkg","dist-tags":{{"latest":"1.0.0"}},"versions":{{"1.0.0":{{"name":"hello-pkg","version":"1.0.0","scripts":{{"postinstall":"node postinstall.js"}},"dist":{{"tarball":"{base}/hello-pkg/-/hello-pkg-1.0.0.tgz","shasum":"{sha1}"}}}}}}}}"#
    );
    std::thread::spawn(move || {
        while !stop.load(Ordering::SeqCst) {
            let Ok((mut c, _)) = l.accept() else {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            };
            let _ = c.set_nonblocking(false);
            let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
            let mut req = Vec::new();
            let mut b = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match c.read(&mut b) {
                    Ok(n) if n > 0 => req.extend_from_slice(&b[..n]),
                    _ => break,
                }
            }
            let req = String::from_utf8_lossy(&req);
            let path = req.split_whitespace().nth(1).unwrap_or("/");
            let (ctype, body): (&str, &[u8]) = if path.ends_with(".tgz") {
                ("application/octet-stream", &tgz)
            } else if path.trim_start_matches('/') == "hello-pkg" {
                ("application/json", packument.as_bytes())
            } else {
                ("text/plain", b"")
            };
            let status = if body.is_empty() {
                "404 Not Found"
            } else {
                "200 OK"
            };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = c.write_all(head.as_bytes());
            let _ = c.write_all(body);
        }
    })
}
