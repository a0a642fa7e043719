//! Test harness: each test starts its own varmord (temp socket, temp pin dir, temp cgroup)
//! and runs real processes in real sandboxes, as root and as a real unprivileged user.
//! Everything it creates is removed when the `Daemon` is dropped.
#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub const TEST_USER: &str = "varmor-test";

static SEQ: AtomicUsize = AtomicUsize::new(0);

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Prints a skip reason past libtest's output capture, so it shows in every run.
pub fn skip(msg: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIP {msg}");
}

/// Skips (returns None) with a printed reason when not root.
pub fn need_root(test: &str) -> Option<()> {
    if is_root() {
        Some(())
    } else {
        skip(&format!(
            "{test}: needs root (varmord loads BPF programs and answers fanotify events)"
        ));
        None
    }
}

pub fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn profile(name: &str) -> String {
    manifest()
        .join("profiles.d")
        .join(format!("{name}.yaml"))
        .display()
        .to_string()
}

pub struct Daemon {
    child: Option<Child>,
    pub socket: PathBuf,
    pub pin_dir: PathBuf,
    pub cgroup: PathBuf,
    pub log: PathBuf,
    pub dir: tempfile::TempDir,
}

impl Daemon {
    /// Starts `varmord --backend compat` on private paths and waits for its socket.
    pub fn start() -> Daemon {
        Self::start_with(&["--backend", "compat"])
    }

    pub fn start_with(extra: &[&str]) -> Daemon {
        Self::start_prefixed(&[], extra)
    }

    /// Starts varmord under `prefix` (e.g. `unshare -m ...`); `extra` may replace --log.
    pub fn start_prefixed(prefix: &[&str], extra: &[&str]) -> Daemon {
        let n = SEQ.fetch_add(1, Ordering::SeqCst);
        let tag = format!("varmor-test-{}-{n}", std::process::id());
        let dir = tempfile::Builder::new()
            .prefix("varmor-test")
            .tempdir()
            .expect("tempdir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let socket = dir.path().join("varmord.sock");
        let log = dir.path().join("varmord.log");
        let pin_dir = PathBuf::from("/sys/fs/bpf").join(&tag);
        let cgroup = varmor::daemon::cgroup::cgroup2_mount()
            .expect("cgroup2 mounted")
            .join(&tag);
        let mut cmd = match prefix.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(env!("CARGO_BIN_EXE_varmord"));
                c
            }
            None => Command::new(env!("CARGO_BIN_EXE_varmord")),
        };
        let own_log = !extra.contains(&"--log");
        let child = cmd
            .args([
                "--socket",
                socket.to_str().unwrap(),
                "--pin-dir",
                pin_dir.to_str().unwrap(),
            ])
            .args(["--cgroup-root", cgroup.to_str().unwrap()])
            .args(if own_log {
                vec!["--log", log.to_str().unwrap()]
            } else {
                vec![]
            })
            .args(extra)
            .env("RUST_LOG", "error")
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn varmord");
        let d = Daemon {
            child: Some(child),
            socket,
            pin_dir,
            cgroup,
            log,
            dir,
        };
        let t = Instant::now();
        while !d.socket.exists() {
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "varmord did not create its socket"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        d
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// `varmor-run --socket S ARGS...` as root.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run varmor-run")
    }

    /// `varmor-run --socket S ARGS...` as the unprivileged test user.
    pub fn run_as_user(&self, args: &[&str]) -> Output {
        let (uid, gid) = test_user();
        let mut c = self.cmd(args);
        c.uid(uid)
            .gid(gid)
            .env("HOME", format!("/home/{TEST_USER}"))
            .env_remove("XDG_CONFIG_HOME");
        c.current_dir("/");
        c.output().expect("run varmor-run as user")
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_varmor-run"));
        c.arg("--socket")
            .arg(&self.socket)
            .args(args)
            .stdin(Stdio::null());
        c
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stops varmord (SIGTERM) and checks it removed its pins, cgroups and socket.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SAFETY: plain kill(2) on our own child's pid.
            unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
            let _ = c.wait();
        }
        remove_cgroup_tree(&self.cgroup);
        if self.pin_dir.exists() {
            let _ = std::fs::remove_dir_all(&self.pin_dir);
        }
    }
}

/// Removes a test varmord's cgroup and the sandbox cgroups under it (left behind when a
/// test killed varmord with SIGKILL), waiting briefly for their last processes to go.
fn remove_cgroup_tree(root: &Path) {
    let t = Instant::now();
    loop {
        if let Ok(dirs) = std::fs::read_dir(root) {
            for d in dirs.flatten().filter(|d| d.path().is_dir()) {
                let _ = std::fs::remove_dir(d.path());
            }
        }
        if std::fs::remove_dir(root).is_ok() || !root.exists() || t.elapsed().as_secs() >= 5 {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The unprivileged test user (created once, idempotently): (uid, gid).
pub fn test_user() -> (u32, u32) {
    let lookup = || nix::unistd::User::from_name(TEST_USER).ok().flatten();
    if lookup().is_none() {
        let _ = Command::new("useradd")
            .args(["--create-home", "--shell", "/bin/sh", TEST_USER])
            .status();
    }
    let u = lookup().expect("test user exists");
    (u.uid.as_raw(), u.gid.as_raw())
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Writes a profile into the daemon's temp dir (readable by the test user) and returns its path.
pub fn write_profile(dir: &Path, name: &str, yaml: &str) -> String {
    let p = dir.join(format!("{name}.yaml"));
    std::fs::write(&p, yaml).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    p.display().to_string()
}

/// Runs `sh -c SCRIPT` outside any sandbox.
pub fn host_sh(script: &str) -> Output {
    Command::new("sh").args(["-c", script]).output().unwrap()
}
