//! Landlock refusals as denial lines (compat), from the kernel's audit records.
//!
//! Since Landlock ABI 7 (Linux 6.15) a refusal is an audit record, `AUDIT_LANDLOCK_ACCESS`
//! (1423: `domain=ID blockers=fs.make_sock path="/home/alice" ...`), and the first one of a
//! domain comes with `AUDIT_LANDLOCK_DOMAIN` (1424: `domain=ID status=allocated ...
//! pid=PID`, the process that created it: the sandbox's first process, whose pid the
//! target keeps). With a syscall context (no `-a task,never` rule) a `SYSCALL` record
//! (1300) of the same event names the refused process. The launcher asks for records
//! after execve too (LANDLOCK_RESTRICT_SELF_LOG_NEW_EXEC_ON).
//!
//! varmord reads them from the audit multicast group (as auditd's readers do; it never
//! changes the audit configuration): where audit is on, the refusals Landlock makes on
//! its own (binding a unix socket directly in the home, a cgroup file written, a signal
//! to a process outside) get a line like every other denial. Where audit is off, the
//! launcher's note at launch says which rights the sandbox lacks and where.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::enforcer::{Denial, Outcome, Report};

const NETLINK_AUDIT: i32 = 9;
const AUDIT_NLGRP_READLOG: u32 = 1;
pub const AUDIT_SYSCALL: u16 = 1300;
pub const AUDIT_LANDLOCK_ACCESS: u16 = 1423;
pub const AUDIT_LANDLOCK_DOMAIN: u16 = 1424;

/// `key=value` of an audit record's text; quoted values unquoted, unquoted values of
/// string fields decoded from hex (audit's encoding of untrusted strings).
pub fn field(text: &str, key: &str) -> Option<String> {
    let mut rest = text;
    loop {
        let i = rest.find(&format!("{key}="))?;
        let before_ok = i == 0 || rest.as_bytes()[i - 1] == b' ';
        let v = &rest[i + key.len() + 1..];
        if !before_ok {
            rest = v;
            continue;
        }
        if let Some(q) = v.strip_prefix('"') {
            return q.find('"').map(|e| q[..e].to_string());
        }
        let tok = v.split(' ').next().unwrap_or_default();
        let stringy = matches!(key, "path" | "name" | "comm" | "exe");
        if stringy && tok.len() % 2 == 0 && tok.bytes().all(|b| b.is_ascii_hexdigit()) {
            let bytes: Option<Vec<u8>> = (0..tok.len())
                .step_by(2)
                .map(|j| u8::from_str_radix(&tok[j..j + 2], 16).ok())
                .collect();
            return bytes.map(|b| String::from_utf8_lossy(&b).into_owned());
        }
        return Some(tok.to_string());
    }
}

/// The serial of `audit(TIME:SERIAL): ...`.
pub fn serial(text: &str) -> Option<u64> {
    let s = text.strip_prefix("audit(")?;
    let end = s.find(')')?;
    s[..end].split(':').nth(1)?.parse().ok()
}

/// The refused access in the profile's words, for the line.
pub fn what(blockers: &str) -> String {
    let word = |b: &str| match b {
        "fs.make_reg" | "fs.make_dir" | "fs.make_sym" | "fs.make_fifo" | "fs.make_sock"
        | "fs.make_char" | "fs.make_block" => "create",
        "fs.remove_file" | "fs.remove_dir" => "delete",
        "fs.refer" => "rename",
        "fs.truncate" => "truncate",
        "fs.write_file" => "write",
        "scope.signal" => "signal",
        "ptrace" => "ptrace",
        _ => "access",
    };
    let first = blockers.split(',').next().unwrap_or_default();
    format!("{}(landlock {blockers})", word(first))
}

#[derive(Default)]
struct Event {
    domain: Option<String>,
    blockers: String,
    object: String,
    pid: Option<i32>,
    comm: Option<String>,
    seen: Option<Instant>,
}

#[derive(Default)]
struct State {
    /// Sandbox's first pid -> its report.
    sandboxes: HashMap<i32, Report>,
    /// Landlock domain id -> (the sandbox's first pid, its report).
    domains: HashMap<String, (i32, Report)>,
}

/// The reader of the audit multicast group; one per varmord.
pub struct Listener {
    state: Mutex<State>,
}

/// Keeps a sandbox's lines flowing until dropped.
pub struct Registration {
    listener: Arc<Listener>,
    pid: i32,
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut s = self
            .listener
            .state
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(r) = s.sandboxes.remove(&self.pid) {
            s.domains.retain(|_, v| !Arc::ptr_eq(&v.1, &r));
        }
    }
}

impl Listener {
    /// Subscribes to the audit multicast group and starts the reading thread; None where
    /// the kernel has no audit or refuses (the launch note stays the only word then).
    pub fn start() -> Option<Arc<Listener>> {
        // SAFETY: a plain socket(2); the fd is owned below.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                NETLINK_AUDIT,
            )
        };
        if fd < 0 {
            return None;
        }
        // SAFETY: fd was just returned by socket and nothing else owns it.
        let sock = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: sockaddr_nl is plain data; zeroed is a valid value.
        let mut sa: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        sa.nl_family = libc::AF_NETLINK as u16;
        sa.nl_groups = 1 << (AUDIT_NLGRP_READLOG - 1);
        // SAFETY: sa is a valid sockaddr_nl of the size given.
        let r = unsafe {
            libc::bind(
                sock.as_raw_fd(),
                &sa as *const libc::sockaddr_nl as *const libc::sockaddr,
                std::mem::size_of::<libc::sockaddr_nl>() as u32,
            )
        };
        if r != 0 {
            log::info!(
                "Landlock refusals will not become lines: audit multicast: {}",
                std::io::Error::last_os_error()
            );
            return None;
        }
        let l = Arc::new(Listener {
            state: Mutex::new(State::default()),
        });
        let me = l.clone();
        std::thread::Builder::new()
            .name("landlock-audit".into())
            .stack_size(256 * 1024)
            .spawn(move || me.run(sock))
            .ok()?;
        Some(l)
    }

    /// Sends the Landlock refusals of the sandbox whose first process is `pid` to `report`.
    pub fn register(self: &Arc<Self>, pid: i32, report: Report) -> Registration {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.sandboxes.insert(pid, report);
        Registration {
            listener: self.clone(),
            pid,
        }
    }

    fn run(&self, sock: OwnedFd) {
        let mut buf = vec![0u8; 16 * 1024];
        let mut events: HashMap<u64, Event> = HashMap::new();
        loop {
            let mut pfd = libc::pollfd {
                fd: sock.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let n = unsafe { libc::poll(&mut pfd, 1, 100) };
            if n > 0 {
                // SAFETY: buf is writable for its length.
                let got =
                    unsafe { libc::recv(sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
                if got > 16 {
                    let b = &buf[..got as usize];
                    let len = (u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as usize).min(b.len());
                    let kind = u16::from_ne_bytes([b[4], b[5]]);
                    let text = String::from_utf8_lossy(&b[16..len.max(16)]);
                    self.record(&mut events, kind, text.trim_end_matches('\0'));
                }
            } else if n < 0
                && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted
            {
                return;
            }
            self.flush(&mut events, false);
        }
    }

    fn record(&self, events: &mut HashMap<u64, Event>, kind: u16, text: &str) {
        let Some(serial) = serial(text) else { return };
        match kind {
            AUDIT_LANDLOCK_ACCESS => {
                let e = events.entry(serial).or_default();
                e.domain = field(text, "domain");
                e.blockers = field(text, "blockers").unwrap_or_default();
                let path = field(text, "path").unwrap_or_default();
                e.object = match field(text, "name") {
                    Some(n) if !path.is_empty() => format!("{}/{n}", path.trim_end_matches('/')),
                    Some(n) => n,
                    None => path,
                };
                e.seen = Some(Instant::now());
            }
            AUDIT_LANDLOCK_DOMAIN if field(text, "status").as_deref() == Some("allocated") => {
                let (Some(d), Some(pid)) = (
                    field(text, "domain"),
                    field(text, "pid").and_then(|p| p.parse::<i32>().ok()),
                ) else {
                    return;
                };
                let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(r) = s.sandboxes.get(&pid).cloned() {
                    s.domains.insert(d, (pid, r));
                }
            }
            AUDIT_SYSCALL => {
                if let Some(e) = events.get_mut(&serial) {
                    e.pid = field(text, "pid").and_then(|p| p.parse().ok());
                    e.comm = field(text, "comm");
                }
            }
            _ => {}
        }
        // Records of one event come together: older events are complete.
        let done: Vec<u64> = events.keys().copied().filter(|&k| k < serial).collect();
        for k in done {
            if let Some(e) = events.remove(&k) {
                self.emit(e);
            }
        }
    }

    fn flush(&self, events: &mut HashMap<u64, Event>, all: bool) {
        let old: Vec<u64> = events
            .iter()
            .filter(|(_, e)| {
                all || e
                    .seen
                    .is_none_or(|t| t.elapsed() > Duration::from_millis(50))
            })
            .map(|(k, _)| *k)
            .collect();
        for k in old {
            if let Some(e) = events.remove(&k) {
                self.emit(e);
            }
        }
    }

    fn emit(&self, e: Event) {
        let Some(domain) = e.domain else { return };
        let report = {
            let s = self.state.lock().unwrap_or_else(|p| p.into_inner());
            s.domains.get(&domain).cloned()
        };
        let Some((first, report)) = report else {
            return;
        };
        // Without a SYSCALL record (audit's `-a task,never`) the refused process is not
        // named: the line names the sandbox by its first process.
        let (pid, comm) = match (e.pid, e.comm) {
            (Some(p), Some(c)) => (p, c),
            (Some(p), None) => (p, super::opener::comm(p)),
            _ => (first, "a process of sandbox".into()),
        };
        report(Denial {
            what: what(&e.blockers),
            object: e.object,
            pid,
            comm,
            origin: None,
            outcome: Outcome::Denied,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured on this host (Linux 6.18, audit on) for a unix socket bound in the home.
    const ACCESS: &str = "audit(1796162934.452:25): domain=19e399d5a blockers=fs.make_sock path=\"/home/varmor-test\" dev=\"vda\" ino=794626";
    const DOMAIN: &str = "audit(1796162934.452:25): domain=19e399d5a status=allocated mode=enforcing pid=17112 uid=1001 exe=\"/work/wt15/target/debug/varmor-run\" comm=\"varmor-run\"";
    const SYSCALL: &str = "audit(1796162934.452:25): arch=c000003e syscall=49 success=no exit=-13 a0=3 items=0 ppid=17111 pid=17112 auid=4294967295 uid=1001 comm=\"python3\" exe=\"/usr/bin/python3.11\" key=(null)";

    #[test]
    fn fields_and_serials() {
        assert_eq!(serial(ACCESS), Some(25));
        assert_eq!(field(ACCESS, "blockers").as_deref(), Some("fs.make_sock"));
        assert_eq!(field(ACCESS, "path").as_deref(), Some("/home/varmor-test"));
        assert_eq!(field(DOMAIN, "pid").as_deref(), Some("17112"));
        // `ppid=` must not be taken for `pid=`.
        assert_eq!(field(SYSCALL, "pid").as_deref(), Some("17112"));
        assert_eq!(field(SYSCALL, "comm").as_deref(), Some("python3"));
        // Untrusted strings with spaces come hex-encoded.
        assert_eq!(
            field("audit(1:2): path=2F746D702F612062 dev=\"x\"", "path").as_deref(),
            Some("/tmp/a b")
        );
        assert_eq!(what("fs.make_sock"), "create(landlock fs.make_sock)");
    }

    #[test]
    fn an_event_becomes_one_line_for_its_sandbox() {
        let l = Arc::new(Listener {
            state: Mutex::new(State::default()),
        });
        let got: Arc<Mutex<Vec<Denial>>> = Arc::default();
        let sink = got.clone();
        let _reg = l.register(17112, Arc::new(move |d| sink.lock().unwrap().push(d)));
        let mut ev = HashMap::new();
        l.record(&mut ev, AUDIT_LANDLOCK_ACCESS, ACCESS);
        l.record(&mut ev, AUDIT_LANDLOCK_DOMAIN, DOMAIN);
        l.record(&mut ev, AUDIT_SYSCALL, SYSCALL);
        l.flush(&mut ev, true);
        let got = got.lock().unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].object, "/home/varmor-test");
        assert_eq!((got[0].pid, got[0].comm.as_str()), (17112, "python3"));
    }
}
