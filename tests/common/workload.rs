//! What the workload tests share (tests/workloads.rs, tests/workload_agent.rs): the test
//! user's home and a project in it, the SSH key the profiles protect, running a script as
//! that user inside or outside a sandbox, and the checks on its output.
#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::common::*;

pub const HOME: &str = "/home/varmor-test";
pub const KEY: &str = "varmor-test-secret-key\n";

/// Paths in the test user's home removed when the test ends, whatever happens.
pub struct Cleanup(pub Vec<PathBuf>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_dir_all(p).or_else(|_| std::fs::remove_file(p));
        }
    }
}

pub fn chown_user(p: &Path) {
    let (uid, gid) = test_user();
    let _ = Command::new("chown")
        .args(["-R", &format!("{uid}:{gid}")])
        .arg(p)
        .status();
}

/// A project directory in the test user's home, owned by them.
pub fn project(name: &str) -> (PathBuf, Cleanup) {
    test_user();
    let p = PathBuf::from(HOME).join(format!("wl-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).unwrap();
    chown_user(&p);
    (p.clone(), Cleanup(vec![p]))
}

/// The test user's ~/.npm is one for every npm workload, and one of them starts from a
/// home without it (removing it): they run one at a time.
pub fn npm_home_lock() -> std::sync::MutexGuard<'static, ()> {
    static NPM_HOME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    NPM_HOME.lock().unwrap_or_else(|p| p.into_inner())
}

/// The key the profiles protect, as a user with keys has it. Tests run in parallel
/// share it; the last one out removes what the first one in planted.
pub struct Key;

static KEY_USERS: std::sync::Mutex<(usize, Option<PathBuf>)> = std::sync::Mutex::new((0, None));

pub fn plant_key() -> Key {
    let ssh = PathBuf::from(HOME).join(".ssh");
    let key = ssh.join("id_ed25519");
    let mut users = KEY_USERS.lock().unwrap_or_else(|p| p.into_inner());
    if users.0 == 0 && !key.exists() {
        let made = if ssh.exists() {
            key.clone()
        } else {
            ssh.clone()
        };
        std::fs::create_dir_all(&ssh).unwrap();
        std::fs::write(&key, KEY).unwrap();
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::set_permissions(&ssh, std::fs::Permissions::from_mode(0o700)).unwrap();
        chown_user(&ssh);
        users.1 = Some(made);
    }
    users.0 += 1;
    assert_eq!(
        std::fs::read_to_string(&key).unwrap_or_default(),
        KEY,
        "{} holds another key",
        key.display()
    );
    Key
}

impl Drop for Key {
    fn drop(&mut self) {
        let mut users = KEY_USERS.lock().unwrap_or_else(|p| p.into_inner());
        users.0 -= 1;
        if users.0 == 0 {
            if let Some(p) = users.1.take() {
                let _ = std::fs::remove_dir_all(&p).or_else(|_| std::fs::remove_file(&p));
            }
        }
    }
}

pub fn write(p: &Path, text: &str) {
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(p, text).unwrap();
}

/// `sh -c SCRIPT` as the test user in `cwd`, confined by `profile` or (None) outside.
pub fn user_sh(
    d: &Daemon,
    profile: Option<&str>,
    cwd: &Path,
    script: &str,
    env: &[(&str, &str)],
) -> Output {
    let (uid, gid) = test_user();
    let mut c = match profile {
        Some(p) => d.cmd(&["--profile", p, "--", "sh", "-c", script]),
        None => {
            let mut c = Command::new("sh");
            c.args(["-c", script]);
            c
        }
    };
    c.uid(uid)
        .gid(gid)
        .env_clear()
        .env("HOME", HOME)
        .env("USER", TEST_USER)
        .env("LOGNAME", TEST_USER)
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("LANG", "C.UTF-8")
        .envs(env.iter().copied())
        .current_dir(cwd)
        .stdin(Stdio::null());
    c.output().expect("run as the test user")
}

pub fn show(o: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        stdout(o),
        stderr(o)
    )
}

#[track_caller]
pub fn assert_ok(what: &str, o: &Output) {
    assert!(
        o.status.success(),
        "{what} failed inside the sandbox:\n{}",
        show(o)
    );
}

#[track_caller]
pub fn assert_line(what: &str, o: &Output, line: &str) {
    assert!(
        // The line is one write, but the program's own message may be two (`cat: X:
        // Operation not permitted`, then its newline), so ours can land between them.
        stderr(o)
            .lines()
            .filter_map(|l| l.find("varmor: denied").map(|i| &l[i..]))
            .any(|l| l.contains(line)),
        "{what}: no varmor line containing `{line}`:\n{}",
        show(o)
    );
}

pub fn have(prog: &str) -> bool {
    Command::new("sh")
        .args([
            "-c",
            &format!("PATH=/usr/local/bin:/usr/bin:/bin command -v {prog}"),
        ])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

pub fn need(test: &str, progs: &[&str]) -> Option<()> {
    need_root(test)?;
    if let Some(p) = progs.iter().find(|p| !have(p)) {
        skip(&format!(
            "{test}: `{p}` is not installed (scripts/deps.sh installs it)"
        ));
        return None;
    }
    Some(())
}
