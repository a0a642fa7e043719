//! The start-up canary: before a backend confines anything, each hook kind it relies on
//! (enforcer::hooks) must be seen denying a private object on this boot, with the denial
//! reported back to varmord. A kernel can load and attach BPF LSM programs it never calls
//! (`bpf` missing from the active LSM list, as on Ubuntu): only watching them work counts.
//!
//! The child (`varmord --canary-child`, crates/daemon/src/canary_child.rs) lives in its own mount
//! namespace on a private tmpfs; its namespace is confined with a small rule set through
//! the backend's own `confine`, exactly as a sandbox is, and released again.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use thiserror::Error;

use super::canary_child::{Done, Ready, Setup, LOCKED, SECRET, TOOL};
use super::cgroup;
use varmor_core::abi;
use varmor_kernel::enforcer::hooks::{Hook, HookUse};
use varmor_kernel::enforcer::{Denial, Enforcer, Report, SandboxCtx};

/// How long the whole canary may take before it counts as failed.
const DEADLINE: Duration = Duration::from_secs(20);

#[derive(Debug, Error)]
pub enum CanaryError {
    #[error("canary: {what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("canary: {0}")]
    Child(String),
    #[error("canary: {what}: {source}")]
    Json {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("canary: compiling its rules: {0}")]
    Rules(#[from] varmor_core::profile::ProfileError),
    #[error("canary: {0}")]
    Confine(#[from] varmor_kernel::enforcer::EnforceError),
    #[error("canary: {0}")]
    Cgroup(#[from] cgroup::CgroupError),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> CanaryError {
    let what = what.into();
    move |source| CanaryError::Io { what, source }
}

/// What the canary saw for one hook kind.
#[derive(Debug, Clone, Serialize)]
pub struct HookSeen {
    pub hook: Hook,
    pub mechanism: &'static str,
    /// Denied with EPERM/EACCES, and the denial reached varmord.
    pub fires: bool,
    pub detail: String,
}

/// The canary's verdict on one backend.
#[derive(Debug, Clone, Serialize)]
pub struct Proof {
    pub backend: &'static str,
    pub hooks: Vec<HookSeen>,
    /// How long the canary took, in milliseconds.
    pub millis: u64,
}

impl Proof {
    pub fn all_fire(&self) -> bool {
        !self.hooks.is_empty() && self.hooks.iter().all(|h| h.fires)
    }

    /// `file open (lsm/file_open): no denial seen; ...` for the hooks that did not fire.
    pub fn failures(&self) -> String {
        self.hooks
            .iter()
            .filter(|h| !h.fires)
            .map(|h| format!("{} ({}): {}", h.hook.name(), h.mechanism, h.detail))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The canary's rule set: one rule per hook kind, on the child's private objects.
fn profile_text(hooks: &[Hook], dir: &Path, port: u16, unix_name: &str) -> String {
    let d = dir.display();
    let mut y = String::from("description: varmord start-up canary\n");
    let has = |h| hooks.contains(&h);
    if has(Hook::FileOpen) || has(Hook::PathCreate) {
        y.push_str("file:\n");
        if has(Hook::FileOpen) {
            y.push_str(&format!(
                "  - deny: [read]\n    paths: [\"{d}/{SECRET}\"]\n"
            ));
        }
        if has(Hook::PathCreate) {
            y.push_str(&format!(
                "  - deny: [create]\n    paths: [\"{d}/{LOCKED}/**\"]\n"
            ));
        }
    }
    if has(Hook::Exec) {
        y.push_str(&format!("exec:\n  - deny: [\"{d}/{TOOL}\"]\n"));
    }
    if has(Hook::Connect) {
        y.push_str(&format!(
            "network:\n  - deny: [connect]\n    addresses: [127.0.0.1]\n    ports: [{port}]\n"
        ));
    }
    if has(Hook::UnixConnect) {
        y.push_str(&format!(
            "unix:\n  - deny: [connect]\n    abstract: [\"@{unix_name}\"]\n"
        ));
    }
    if has(Hook::Capable) {
        y.push_str("capabilities: { deny: [chown] }\n");
    }
    if has(Hook::Ptrace) {
        y.push_str("ptrace: outside\n");
    }
    if has(Hook::Mount) {
        y.push_str("mount: [ { deny: all } ]\n");
    }
    y
}

/// Which hook a kernel event (ring buffer) stands for.
fn hook_of_event(ev: &abi::Event) -> Option<Hook> {
    match ev.kind {
        abi::EV_FILE if ev.perms & abi::MAY_READ != 0 => Some(Hook::FileOpen),
        abi::EV_FILE if ev.perms & abi::MAY_CREATE != 0 => Some(Hook::PathCreate),
        abi::EV_EXEC => Some(Hook::Exec),
        abi::EV_NET => Some(Hook::Connect),
        abi::EV_SRCROUTE if ev.perms == abi::SRCROUTE_SETSOCKOPT => Some(Hook::SourceRoute),
        abi::EV_SRCROUTE => Some(Hook::SourceRoutePacket),
        abi::EV_UNIX => Some(Hook::UnixConnect),
        abi::EV_CAP => Some(Hook::Capable),
        abi::EV_PTRACE => Some(Hook::Ptrace),
        // userns.bpf.c reports with no operation bits; mount.bpf.c with its operation.
        abi::EV_MOUNT if ev.perms == 0 => Some(Hook::UsernsCreate),
        abi::EV_MOUNT => Some(Hook::Mount),
        _ => None,
    }
}

/// Which hook a denial that a backend reported itself (compat's fanotify answers) stands for.
fn hook_of_denial(d: &Denial) -> Option<Hook> {
    if d.what == "exec" {
        Some(Hook::Exec)
    } else if d.what.starts_with("open(") && d.what.contains("read") {
        Some(Hook::FileOpen)
    } else {
        None
    }
}

/// The canary's child, killed and reaped whatever happens.
struct Kid(Child);

impl Drop for Kid {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A directory removed whatever happens (the child's tmpfs lives in its own namespace).
struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

fn read_json<T: serde::de::DeserializeOwned>(
    rx: &mpsc::Receiver<String>,
    until: Instant,
    what: &str,
) -> Result<T, CanaryError> {
    let left = until.saturating_duration_since(Instant::now());
    let line = rx
        .recv_timeout(left)
        .map_err(|_| CanaryError::Child(format!("no {what} from the child within {DEADLINE:?}")))?;
    serde_json::from_str(&line).map_err(|source| CanaryError::Json {
        what: what.to_string(),
        source,
    })
}

/// Runs the canary for `enforcer` over `uses`. `pin_dir` holds the ring buffer the kernel
/// side reports to; `cgroup_root` is where sandboxes' cgroups go.
pub fn prove(
    enforcer: &dyn Enforcer,
    uses: &[HookUse],
    pin_dir: &Path,
    cgroup_root: &Path,
) -> Result<Proof, CanaryError> {
    let until = Instant::now() + DEADLINE;
    let hooks: Vec<Hook> = uses.iter().map(|u| u.hook).collect();
    // A listener makes the unconfined connect succeed where loopback is up; where it is
    // not, the control fails otherwise than with EPERM, which is all the proof needs.
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).ok();
    let port = listener
        .as_ref()
        .and_then(|l| l.local_addr().ok())
        .map_or(9, |a| a.port());
    // The same for the unix connect, on an abstract name (nothing on disk to clean up).
    let unix_name = format!("varmor-canary-{}-{}", std::process::id(), port);
    let _unix_listener = {
        use std::os::linux::net::SocketAddrExt;
        std::os::unix::net::SocketAddr::from_abstract_name(unix_name.as_bytes())
            .and_then(|a| std::os::unix::net::UnixListener::bind_addr(&a))
            .ok()
    };
    let base = std::env::temp_dir().join(format!("varmor-canary-{}", std::process::id()));
    std::fs::create_dir(&base).map_err(io(format!("creating {}", base.display())))?;
    // Rules name the path as the kernel sees it (no symlink on the way).
    let dir = Dir(base.canonicalize().unwrap_or_else(|_| base.clone()));
    let exe = std::env::current_exe().map_err(io("finding varmord's own binary"))?;
    let mut kid = Kid(Command::new(exe)
        .arg(super::canary_child::ARG)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(io("starting varmord --canary-child"))?);
    let mut stdin = kid.0.stdin.take().expect("piped stdin");
    let stdout = kid.0.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let setup = Setup {
        dir: dir.0.clone(),
        port,
        peer: std::process::id() as i32,
        hooks: hooks.clone(),
        unix_name: unix_name.clone(),
    };
    let mut msg = serde_json::to_vec(&setup).map_err(|source| CanaryError::Json {
        what: "the child's setup".into(),
        source,
    })?;
    msg.push(b'\n');
    stdin.write_all(&msg).map_err(io("writing to the child"))?;
    let ready: Ready = read_json(&rx, until, "namespace")?;
    let text = profile_text(&hooks, &dir.0, port, &unix_name);
    let rules = Arc::new(varmor_core::profile::compile_text("varmor-canary", &text)?);
    let cg = cgroup::enter(cgroup_root, 0, ready.pid)?;
    let seen: Arc<Mutex<Vec<Hook>>> = Arc::default();
    let report: Report = {
        let seen = seen.clone();
        Arc::new(move |d: Denial| {
            if let Some(h) = hook_of_denial(&d) {
                seen.lock().unwrap_or_else(|p| p.into_inner()).push(h);
            }
        })
    };
    let mut events = varmor_kernel::bpf::Events::open(pin_dir).ok();
    let ctx = SandboxCtx {
        id: 0,
        ns: ready.ns,
        pid: ready.pid,
        uid: 0,
        rules,
    };
    let confined = enforcer.confine(&ctx, report);
    let done = match confined {
        Ok(mut confinement) => {
            let done = stdin
                .write_all(b"go\n")
                .map_err(io("writing to the child"))
                .and_then(|()| read_json::<Done>(&rx, until, "results"));
            // Kernel events may trail the child's last call by a little.
            let t = Instant::now();
            while let Some(ev) = events.as_mut() {
                let mut got = vec![];
                let _ = ev.poll(Duration::from_millis(50), |e| {
                    if u64::from(e.ns) == ready.ns {
                        got.extend(hook_of_event(e));
                    }
                });
                let mut s = seen.lock().unwrap_or_else(|p| p.into_inner());
                s.extend(got);
                let all = uses.iter().all(|u| s.contains(&u.hook));
                if all || t.elapsed() > Duration::from_secs(1) {
                    break;
                }
            }
            confinement.release();
            done
        }
        Err(e) => Err(e.into()),
    };
    drop(kid);
    cgroup::remove(&cg);
    let done = done?;
    let seen = seen.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let hooks = uses
        .iter()
        .map(|u| judge(*u, &ready, &done, &seen))
        .collect();
    Ok(Proof {
        backend: enforcer.name(),
        hooks,
        millis: (DEADLINE - until.saturating_duration_since(Instant::now())).as_millis() as u64,
    })
}

fn errno_name(e: i32) -> String {
    if e == 0 {
        "allowed".into()
    } else {
        format!("{:?}", nix::errno::Errno::from_raw(e))
    }
}

fn judge(u: HookUse, ready: &Ready, done: &Done, seen: &[Hook]) -> HookSeen {
    let find = |v: &[(Hook, i32)]| v.iter().find(|(h, _)| *h == u.hook).map(|(_, e)| *e);
    let denied = |e: i32| e == libc::EPERM || e == libc::EACCES;
    let (control, attempt) = (find(&ready.controls), find(&done.attempts));
    let reported = seen.contains(&u.hook);
    let (fires, detail) = match (control, attempt) {
        (Some(c), _) if denied(c) => (
            false,
            format!("already refused before confinement ({})", errno_name(c)),
        ),
        (Some(_), Some(a)) if denied(a) && reported => {
            (true, format!("denied ({}), denial reported", errno_name(a)))
        }
        (Some(_), Some(a)) if denied(a) => (
            false,
            format!("refused ({}) but no denial reached varmord", errno_name(a)),
        ),
        (Some(_), Some(a)) => (
            false,
            format!("not denied ({}): the hook did not fire", errno_name(a)),
        ),
        _ => (false, "not attempted".into()),
    };
    HookSeen {
        hook: u.hook,
        mechanism: u.mechanism,
        fires,
        detail,
    }
}
