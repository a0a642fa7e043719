//! The host side of tests/confine_unix.rs: a tmux server, an ssh-agent holding a key, a
//! D-Bus session bus and plain listeners, started outside any sandbox as the test user,
//! and the socket client run inside; everything is killed and removed on drop.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::common::{stderr, test_user, Daemon, TEST_USER};

/// Listeners started outside: an abstract stream socket, a datagram socket in the
/// runtime dir, and an allowed stream socket; prints `ready` once all are bound. Each
/// accepts and reads whatever comes, so that no number of attempts fills a queue (a
/// connect to a full backlog, or a send to a full datagram queue, would block).
const LISTENERS: &str = r#"
import socket, sys, threading, time
run, ok, name = sys.argv[1], sys.argv[2], sys.argv[3]
a = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); a.bind("\0" + name); a.listen(16)
d = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); d.bind(run + "/dgram")
o = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); o.bind(ok); o.listen(16)
def accepts(s):
    while True: s.accept()[0].close()
def reads(s):
    while True: s.recv(4096)
for f, s in ((accepts, a), (accepts, o), (reads, d)):
    threading.Thread(target=f, args=(s,), daemon=True).start()
print("ready", flush=True)
time.sleep(600)
"#;

/// One socket action: `connect PATH`, `send PATH` (datagram), `own` (bind a socket in a
/// directory made now, then connect and send to it). Prints `ok` or the errno name.
const CLIENT: &str = r#"
import errno, os, socket, sys, tempfile
op, arg = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else ""
addr = "\0" + arg[1:] if arg.startswith("@") else arg
try:
    if op == "connect":
        socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).connect(addr)
    elif op == "send":
        socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b"x", addr)
    elif op == "own":
        d = tempfile.mkdtemp(prefix="varmor-own-")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(d + "/s.sock"); s.listen(1)
        socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).connect(d + "/s.sock")
        g = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); g.bind(d + "/g.sock")
        socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b"x", d + "/g.sock")
        for f in ("s.sock", "g.sock"): os.unlink(d + "/" + f)
        os.rmdir(d)
    print("ok")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))
"#;

/// The host services and files of one test run, all owned by the test user.
pub struct Host {
    pub dir: tempfile::TempDir,
    pub run: PathBuf,
    pub agent_sock: PathBuf,
    pub allowed: PathBuf,
    pub tmux: String,
    pub abstract_name: String,
    pub children: Vec<Child>,
    pub tmux_dir: PathBuf,
    pub tmux_dir_existed: bool,
    pub uid: u32,
    pub gid: u32,
    /// One host at a time: the user's tmux directory and the abstract name are shared.
    _one: std::sync::MutexGuard<'static, ()>,
}

static ONE_HOST: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl Host {
    /// The session variables a program of the user's sees (set by `env`).
    pub fn vars(&self) -> Vec<(&'static str, String)> {
        vec![
            ("XDG_RUNTIME_DIR", self.run.display().to_string()),
            ("SSH_AUTH_SOCK", self.agent_sock.display().to_string()),
            (
                "DBUS_SESSION_BUS_ADDRESS",
                format!("unix:path={}/bus", self.run.display()),
            ),
        ]
    }

    fn env(&self, c: &mut Command) {
        c.uid(self.uid)
            .gid(self.gid)
            .env("HOME", format!("/home/{TEST_USER}"))
            .envs(self.vars())
            .env_remove("TMUX")
            .env_remove("TMUX_TMPDIR")
            .env_remove("XDG_CONFIG_HOME")
            .current_dir(self.dir.path());
    }

    /// `sh -c script` as the test user, outside any sandbox.
    pub fn sh(&self, script: &str) -> Output {
        let mut c = Command::new("sh");
        c.args(["-c", script]).stdin(Stdio::null());
        self.env(&mut c);
        c.output().expect("sh as the test user")
    }

    fn spawn(&mut self, argv: &[&str]) -> &mut Child {
        let mut c = Command::new(argv[0]);
        c.args(&argv[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        self.env(&mut c);
        self.children.push(c.spawn().expect("spawn a host service"));
        self.children.last_mut().unwrap()
    }

    pub fn start() -> Host {
        let one = ONE_HOST.lock().unwrap_or_else(|e| e.into_inner());
        let (uid, gid) = test_user();
        let dir = tempfile::Builder::new()
            .prefix("varmor-unix")
            .tempdir()
            .unwrap();
        let run = dir.path().join("run");
        let ok = dir.path().join("ok");
        for d in [dir.path(), &run, &ok] {
            std::fs::create_dir_all(d).unwrap();
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700)).unwrap();
            nix::unistd::chown(d, Some(uid.into()), Some(gid.into())).unwrap();
        }
        let tmux_dir = PathBuf::from(format!("/tmp/tmux-{uid}"));
        let mut h = Host {
            agent_sock: dir.path().join("agent.sock"),
            allowed: ok.join("allowed.sock"),
            tmux: format!("varmor-unix-{}", std::process::id()),
            abstract_name: format!("varmor-unix-test-{}", std::process::id()),
            tmux_dir_existed: tmux_dir.exists(),
            tmux_dir,
            run,
            dir,
            children: vec![],
            uid,
            gid,
            _one: one,
        };
        let agent = h.agent_sock.display().to_string();
        h.spawn(&["ssh-agent", "-D", "-a", &agent]);
        let bus = format!("unix:path={}/bus", h.run.display());
        h.spawn(&["dbus-daemon", "--session", "--nofork", "--address", &bus]);
        let (run_s, ok_s, name) = (
            h.run.display().to_string(),
            h.allowed.display().to_string(),
            h.abstract_name.clone(),
        );
        let l = h.spawn(&["python3", "-c", LISTENERS, &run_s, &ok_s, &name]);
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(l.stdout.as_mut().unwrap()),
            &mut line,
        )
        .unwrap();
        assert_eq!(line.trim(), "ready", "listeners started");
        let o = h.sh(&format!("tmux -L {} new-session -d 'sleep 600'", h.tmux));
        assert!(o.status.success(), "tmux server: {}", stderr(&o));
        let t = Instant::now();
        while !(h.agent_sock.exists() && h.run.join("bus").exists()) {
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "agent and bus sockets"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        // Only the agent holds the private key: a signature can come from nowhere else.
        let o = h
            .sh("ssh-keygen -q -t ed25519 -N '' -C varmor-test -f key && ssh-add -q key && rm key");
        assert!(o.status.success(), "ssh-add: {}", stderr(&o));
        h
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.sh(&format!("tmux -L {} kill-server", self.tmux));
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_file(self.tmux_dir.join(&self.tmux));
        if !self.tmux_dir_existed {
            let _ = std::fs::remove_dir(&self.tmux_dir);
        }
    }
}

/// `varmor-run --profile P -- sh -c SCRIPT` as the test user, with the host's variables.
pub fn inside(d: &Daemon, h: &Host, profile: &str, script: &str) -> Output {
    let mut c = d.cmd(&["--profile", profile, "--", "sh", "-c", script]);
    h.env(&mut c);
    c.output().expect("varmor-run as the test user")
}

pub fn client(op: &str, arg: &Path) -> String {
    format!(
        "python3 -c '{}' {op} '{}'",
        CLIENT.replace('\'', "'\\''"),
        arg.display()
    )
}
