//! A sandbox's resolver (allow-list mode): bpf/net.bpf.c sends the sandbox's DNS here,
//! a UDP socket and a TCP listener on 127.0.0.1 (and [::1]) whose port names the sandbox
//! in v_dns. A name no
//! `network_allow:` entry names is answered REFUSED (policy, not "no such name": nothing
//! caches it) with a denial line; an allowed one (in a learning run, `Answering::Every`,
//! every one, each answer an audit line) is asked upstream, and the A/AAAA
//! addresses of the answer are written into v_net_dyn for their TTL plus a grace period
//! **before** the answer is relayed, so the connect that follows finds them
//! (crates/daemon/src/dynallow.rs). The queries come from the sandbox:
//! crates/core/src/dnswire.rs reads them within bounds, and a query is answered within `UPSTREAM_WAIT`
//! (resolver/answer.rs).

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, UdpSocket};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use libbpf_rs::{MapCore, MapFlags, MapHandle};
use thiserror::Error;

use super::dynallow::{monotonic_ns, DynAllow};
use varmor_core::abi::{self, Pod};
use varmor_core::dnswire;
use varmor_core::profile::dns::NetAllowList;
use varmor_kernel::enforcer::Report;

mod answer;
mod recent;
use answer::answer;

pub use varmor_core::profile::dns::GRACE;
/// How long the upstream has to answer.
pub const UPSTREAM_WAIT: Duration = Duration::from_secs(2);

#[derive(Debug, Error)]
pub enum ResolverError {
    #[error("binding the resolver socket: {0}")]
    Bind(#[source] std::io::Error),
    #[error("opening pinned map {0}: {1}")]
    Map(String, #[source] libbpf_rs::Error),
    #[error("writing v_dns: {0}")]
    Register(#[source] libbpf_rs::Error),
}

/// The running resolver of one sandbox; `stop` ends it and removes what it wrote.
pub struct Resolver {
    stop: Arc<AtomicBool>,
    ctx: Arc<Ctx>,
    threads: Vec<JoinHandle<()>>,
    ns: u32,
    v_dns: MapHandle,
    pub port4: u16,
    pub port6: u16,
}

struct Ctx {
    ns: u32,
    /// The sandbox's cgroup: where the process a denial line names is looked for.
    cgroup: std::path::PathBuf,
    /// Complain mode: a name no entry covers is reported and still resolved.
    complain: bool,
    allow: NetAllowList,
    upstream: SocketAddr,
    answered: DynAllow,
    report: Report,
    /// Loopback/unspecified/link-local addresses in answers are allowed too.
    local_answers: bool,
    /// Refused names already reported (one line per name per few seconds).
    refused: recent::Recent,
}

/// The first `nameserver` of /etc/resolv.conf, port 53.
pub fn host_upstream() -> Option<SocketAddr> {
    let text = std::fs::read_to_string("/etc/resolv.conf").ok()?;
    text.lines().find_map(|l| {
        let mut w = l.split_whitespace();
        (w.next() == Some("nameserver"))
            .then(|| w.next()?.parse::<IpAddr>().ok())
            .flatten()
            .map(|a| SocketAddr::new(a, 53))
    })
}

fn open_map(pins: &Path, name: &str) -> Result<MapHandle, ResolverError> {
    MapHandle::from_pinned_path(pins.join(name)).map_err(|e| ResolverError::Map(name.into(), e))
}

/// What one sandbox's resolver is for.
pub struct Setup {
    /// The sandbox's mount-namespace inode.
    pub ns: u32,
    /// Its cgroup (the processes a denial line may name).
    pub cgroup: std::path::PathBuf,
    /// Complain mode: names no entry covers are reported and resolved.
    pub complain: bool,
    pub allow: NetAllowList,
    pub upstream: SocketAddr,
    /// Added to every TTL.
    pub grace: Duration,
    pub report: Report,
    /// Allow loopback/unspecified/link-local addresses an answer gives (`varmord
    /// --dns-local-answers`); without it they stay denied, with a line.
    pub local_answers: bool,
}

impl Resolver {
    /// Binds the sockets, registers their ports for the namespace in v_dns (under `pins`)
    /// and starts answering.
    pub fn start(setup: Setup, pins: &Path) -> Result<Resolver, ResolverError> {
        let Setup {
            ns,
            cgroup,
            complain,
            allow,
            upstream,
            grace,
            report,
            local_answers,
        } = setup;
        let (s4, t4) = bind_pair("127.0.0.1").map_err(ResolverError::Bind)?;
        let port4 = s4.local_addr().map_err(ResolverError::Bind)?.port();
        // IPv6 loopback may be absent: then IPv6 DNS is simply not redirected (and denied).
        let (s6, t6) = bind_pair("::1").map_or((None, None), |(u, t)| (Some(u), Some(t)));
        let port6 = s6
            .as_ref()
            .and_then(|s| s.local_addr().ok())
            .map_or(0, |a| a.port());
        let v_dns = open_map(pins, varmor_kernel::bpf::names::map::V_DNS)?;
        let ctx = Arc::new(Ctx {
            ns,
            cgroup,
            complain,
            allow,
            upstream,
            answered: DynAllow::new(
                ns,
                grace,
                open_map(pins, varmor_kernel::bpf::names::map::V_NET_DYN)?,
            ),
            report,
            local_answers,
            refused: recent::Recent::default(),
        });
        let val = abi::DnsVal {
            port4: port4.to_be(),
            port6: port6.to_be(),
            pad: 0,
        };
        v_dns
            .update(ns.as_bytes(), val.as_bytes(), MapFlags::ANY)
            .map_err(ResolverError::Register)?;
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        for sock in std::iter::once(s4).chain(s6) {
            let (c, st) = (ctx.clone(), stop.clone());
            let _ = sock.set_read_timeout(Some(Duration::from_millis(200)));
            threads.push(std::thread::spawn(move || serve(&c, &sock, &st)));
        }
        for l in std::iter::once(t4).chain(t6) {
            let (c, st) = (ctx.clone(), stop.clone());
            threads.push(std::thread::spawn(move || serve_tcp(&c, &l, &st)));
        }
        Ok(Resolver {
            stop,
            ctx,
            threads,
            ns,
            v_dns,
            port4,
            port6,
        })
    }

    /// Ends the resolver and deletes its v_dns entry and every address it wrote.
    pub fn stop(self) {
        drop(self);
    }
}

/// Dropped on any path (a confine that fails after the resolver started included): its
/// threads end and nothing it wrote stays in the maps.
impl Drop for Resolver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.v_dns.delete(self.ns.as_bytes());
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        // Once every thread has ended: a TCP query answered after the UDP threads' last
        // sweep would otherwise leave its addresses in v_net_dyn under this namespace's
        // inode, which a later namespace may be given.
        self.ctx.answered.sweep(u64::MAX);
    }
}

/// A UDP socket and a TCP listener on the same loopback port (the redirect keeps the port).
fn bind_pair(ip: &str) -> std::io::Result<(UdpSocket, TcpListener)> {
    let ip: IpAddr = ip.parse().map_err(std::io::Error::other)?;
    let mut last = None;
    for _ in 0..32 {
        let u = UdpSocket::bind(SocketAddr::new(ip, 0))?;
        let port = u.local_addr()?.port();
        match TcpListener::bind(SocketAddr::new(ip, port)) {
            Ok(t) => {
                t.set_nonblocking(true)?;
                return Ok((u, t));
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no free port")))
}

/// DNS over TCP (RFC 1035 4.2.2: a two-byte length before each message), one connection
/// at a time. Each message (length and body) must arrive within `UPSTREAM_WAIT` in all,
/// not per read: a peer trickling a byte at a time (any local process can connect) would
/// otherwise hold the connection for hours, and `Resolver`'s drop, which joins this
/// thread, with it (varmord's reaper, and so every sandbox's cleanup, waits on that).
fn serve_tcp(ctx: &Ctx, l: &TcpListener, stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        let Ok((mut c, from)) = l.accept() else {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        };
        let _ = c.set_nonblocking(false);
        let _ = c.set_write_timeout(Some(UPSTREAM_WAIT));
        for _ in 0..16 {
            let deadline = std::time::Instant::now() + UPSTREAM_WAIT;
            let mut len = [0u8; 2];
            if !read_by(&mut c, &mut len, deadline, stop) {
                break;
            }
            let n = u16::from_be_bytes(len) as usize;
            if n > dnswire::MAX_MSG {
                break;
            }
            let mut msg = vec![0u8; n];
            if !read_by(&mut c, &mut msg, deadline, stop) {
                break;
            }
            let Some(out) = answer(ctx, &msg, from, true) else {
                break;
            };
            let mut framed = (out.len() as u16).to_be_bytes().to_vec();
            framed.extend(out);
            if stop.load(Ordering::SeqCst) || c.write_all(&framed).is_err() {
                break;
            }
        }
    }
}

/// Fills `buf` from `c` before `deadline` (false: too late, closed, an error, or stopping).
fn read_by(
    c: &mut std::net::TcpStream,
    buf: &mut [u8],
    deadline: std::time::Instant,
    stop: &AtomicBool,
) -> bool {
    let mut got = 0;
    while got < buf.len() {
        let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) else {
            return false;
        };
        // At most 200 ms per read, so a stop is seen soon.
        let wait = left
            .min(Duration::from_millis(200))
            .max(Duration::from_millis(1));
        if stop.load(Ordering::SeqCst) || c.set_read_timeout(Some(wait)).is_err() {
            return false;
        }
        match c.read(&mut buf[got..]) {
            Ok(0) => return false,
            Ok(n) => got += n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock
                        | std::io::ErrorKind::TimedOut
                        | std::io::ErrorKind::Interrupted
                ) => {}
            Err(_) => return false,
        }
    }
    true
}

fn serve(ctx: &Ctx, sock: &UdpSocket, stop: &AtomicBool) {
    let mut buf = vec![0u8; dnswire::MAX_MSG + 1];
    let mut last_sweep = monotonic_ns();
    while !stop.load(Ordering::SeqCst) {
        if let Ok((n, from)) = sock.recv_from(&mut buf) {
            if let Some(out) = answer(ctx, &buf[..n], from, false) {
                let _ = sock.send_to(&out, from);
            }
        }
        let now = monotonic_ns();
        if now - last_sweep > 1_000_000_000 {
            ctx.answered.sweep(now);
            last_sweep = now;
        }
    }
    ctx.answered.sweep(u64::MAX);
}
