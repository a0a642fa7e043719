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

/// The backend every test's varmord runs on: `VARMOR_TEST_BACKEND` (compat, bpf-lsm or
/// auto), compat by default (this project's machines cannot attach LSM programs; the
/// kernel matrix, scripts/matrix.sh, runs the same tests on bpf-lsm in VMs).
pub fn backend() -> String {
    std::env::var("VARMOR_TEST_BACKEND").unwrap_or_else(|_| "compat".into())
}

/// `VARMOR_TEST_REQUIRE=bpf-lsm`: a test that would skip for want of bpf-lsm fails.
pub fn required(what: &str) -> bool {
    std::env::var("VARMOR_TEST_REQUIRE").is_ok_and(|r| r.split(',').any(|x| x.trim() == what))
}

/// `VARMOR_TEST_TIME_SCALE`: multiplies the harness's timeouts (the kernel matrix sets it;
/// qemu's TCG runs 10-40x slower than the host). 1 by default.
pub fn time_scale() -> u32 {
    std::env::var("VARMOR_TEST_TIME_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
        .max(1)
}

/// `VARMOR_TEST_BOOT_LIMITS=1` (the kernel matrix): an escape attempt whose control fails
/// outside on this boot (e.g. no file handles on 6.1's tmpfs) is reported as untestable
/// there, not as a failure. Never set on the host, where a failing control is a bug.
pub fn boot_limits() -> bool {
    std::env::var("VARMOR_TEST_BOOT_LIMITS").is_ok_and(|v| v == "1")
}

pub struct Daemon {
    child: Option<Child>,
    pub socket: PathBuf,
    pub pin_dir: PathBuf,
    pub cgroup: PathBuf,
    pub log: PathBuf,
    pub dir: tempfile::TempDir,
    prefix: Vec<String>,
    extra: Vec<String>,
}

impl Daemon {
    /// Starts `varmord --backend $(backend())` on private paths and waits for its socket.
    pub fn start() -> Daemon {
        Self::start_with(&[])
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
        let cgroup = varmor_daemon::cgroup::cgroup2_mount()
            .expect("cgroup2 mounted")
            .join(&tag);
        let mut d = Daemon {
            child: None,
            socket,
            pin_dir,
            cgroup,
            log,
            dir,
            prefix: prefix.iter().map(|s| s.to_string()).collect(),
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        d.launch();
        d
    }

    /// Spawns varmord with this daemon's paths and waits for its socket.
    fn launch(&mut self) {
        let mut cmd = match self.prefix.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(env!("CARGO_BIN_EXE_varmord"));
                c
            }
            None => Command::new(env!("CARGO_BIN_EXE_varmord")),
        };
        let has = |a: &str| self.extra.iter().any(|e| e == a);
        if !has("--log") {
            cmd.arg("--log").arg(&self.log);
        }
        if !has("--backend") {
            cmd.args(["--backend", backend().as_str()]);
        }
        let err_path = self.dir.path().join("varmord.stderr");
        let err_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&err_path)
            .expect("varmord stderr file");
        let child = cmd
            .arg("--socket")
            .arg(&self.socket)
            .arg("--pin-dir")
            .arg(&self.pin_dir)
            .arg("--cgroup-root")
            .arg(&self.cgroup)
            .args(&self.extra)
            .env("RUST_LOG", "error")
            .stdin(Stdio::null())
            .stderr(err_file)
            .spawn()
            .expect("spawn varmord");
        self.child = Some(child);
        let t = Instant::now();
        while !self.socket.exists() {
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if let Some(st) = exited {
                self.child = None;
                panic!(
                    "varmord exited ({st}) before creating its socket:\n{}",
                    self.stderr_text()
                );
            }
            // Generous: under qemu's TCG (the kernel matrix) loading BPF is slow.
            assert!(
                t.elapsed() < Duration::from_secs(300),
                "varmord did not create its socket:\n{}",
                self.stderr_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILLs varmord (no clean stop: its pins, cgroups and socket stay) and starts a
    /// new one on the same socket, pin dir and cgroup root.
    pub fn respawn(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_file(&self.socket);
        self.launch();
    }

    /// Where this build of varmord pins under `pin_dir` (crates/kernel/src/bpf/pins.rs).
    pub fn pins(&self) -> PathBuf {
        varmor_kernel::bpf::pins::versioned(&self.pin_dir)
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

    /// What varmord printed on stderr (its start line names the backend it runs).
    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("varmord.stderr")).unwrap_or_default()
    }

    /// The backend varmord says it runs (`varmord: backend NAME, listening on ...`).
    /// The line comes just after the socket does: wait for it a little.
    pub fn running_backend(&self) -> Option<String> {
        let t = Instant::now();
        loop {
            let found = self
                .stderr_text()
                .lines()
                .find_map(|l| l.strip_prefix("varmord: backend "))
                .and_then(|r| r.split(',').next())
                .map(str::to_string);
            if found.is_some() || t.elapsed() > Duration::from_secs(30) {
                return found;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
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
