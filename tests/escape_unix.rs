//! Escape suite, the host's unix sockets (issue 17): ways to reach the services a user
//! already runs outside the sandbox, under each shipped profile that includes
//! `no-host-ipc` (`nocurl`, `no-keys`, `no-secrets`, `nonet`), as the test user. The host
//! side (tests/common/unix_host.rs) starts, as that user and outside any sandbox, a tmux
//! server (`/tmp/tmux-UID/NAME`), an ssh-agent holding a key (`$SSH_AUTH_SOCK`), a D-Bus
//! session bus (`$XDG_RUNTIME_DIR/bus`), an abstract stream listener and a datagram
//! socket in `$XDG_RUNTIME_DIR`. Every attempt is one sandboxed child with those session
//! variables set (the launcher expands `$SSH_AUTH_SOCK` and `$XDG_RUNTIME_DIR` from them),
//! and the same command outside is its control.
//!
//! Errnos: the cgroup `connect_unix` / `sendmsg_unix` programs refuse with EPERM at the
//! connect (stream, or datagram connect) or at the send (sendto/sendmsg naming the peer),
//! each with a `varmor: denied connect(unix)` or `send(unix)` line. Other spellings of a
//! denied path (`//`, `.`, `..`, /proc/self/{cwd,root,fd}, /dev/fd) are refused outright
//! as relative ones are. A symlink or a hard link to a host socket (made inside, or a
//! symlink the user made outside) is refused on bpf-lsm (the peer's bound name) and is a
//! documented limitation on compat (no-host-ipc's "Does NOT promise", README).
//!
//! Honesty: under `base` (no no-host-ipc) every refusal case here gets through.

mod common;
#[path = "common/escape.rs"]
mod escape;
#[allow(dead_code)]
#[path = "common/unix_host.rs"]
mod unix_host;

use std::path::PathBuf;
use std::process::{Command, Stdio};

use escape::*;
use unix_host::Host;

const TESTS: usize = 4;

const CONNECT: &str = "varmor: denied connect(unix)";
const SEND: &str = "varmor: denied send(unix)";

/// Where no-host-ipc writes down what compat does not follow.
const LINKS_ON_COMPAT: &str = "no-host-ipc.yaml \"Does NOT promise\" and README \"The host's unix sockets\": on compat a symlink or hard link made inside to a host socket is not followed";
const HOST_LINK_ON_COMPAT: &str = "no-host-ipc.yaml \"Does NOT promise\" and README \"The host's unix sockets\": on compat a symlink the host already has to a denied socket is not followed";

/// A second ssh-agent where ssh-agent puts one by default (`/tmp/ssh-XXXXXX/agent.PID`),
/// started outside as the test user: the profile knows it only by that place, not through
/// `$SSH_AUTH_SOCK` (which names the host's other agent). Killed and removed on drop.
struct DefaultAgent {
    child: std::process::Child,
    sock: PathBuf,
}

impl DefaultAgent {
    fn start() -> DefaultAgent {
        use std::io::BufRead;
        use std::os::unix::process::CommandExt;
        let (uid, gid) = common::test_user();
        let mut child = Command::new("ssh-agent")
            .arg("-D")
            .uid(uid)
            .gid(gid)
            .env_remove("SSH_AUTH_SOCK")
            .env_remove("TMPDIR")
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("ssh-agent -D");
        let mut line = String::new();
        let _ = std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line);
        // SSH_AUTH_SOCK=/tmp/ssh-XXXXXXabcd/agent.123; export SSH_AUTH_SOCK;
        let sock = line
            .strip_prefix("SSH_AUTH_SOCK=")
            .and_then(|l| l.split(';').next())
            .map(PathBuf::from)
            .unwrap_or_else(|| panic!("ssh-agent -D said: {line}"));
        let t = std::time::Instant::now();
        while !sock.exists() && t.elapsed() < std::time::Duration::from_secs(10) {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        DefaultAgent { child, sock }
    }
}

impl Drop for DefaultAgent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.sock);
        if let Some(d) = self.sock.parent() {
            let _ = std::fs::remove_dir(d);
        }
    }
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A python client, as a program inside would write it: `RESULT` lines like the helper's.
const PY_CLIENT: &str = r#"
import socket, sys
op, name = sys.argv[1], sys.argv[2]
addr = "\0" + name[1:] if name.startswith("@") else name
try:
    if op == "connect":
        socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).connect(addr)
    else:
        socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b"x", addr)
    print("RESULT OK", op)
except OSError as e:
    print("RESULT ERR", e.errno, op)
"#;

/// Linux 6.7 or later (cgroup `connect_unix` / `sendmsg_unix`).
fn kernel_has_unix_hooks() -> bool {
    let rel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut it = rel
        .trim()
        .split(['.', '-'])
        .map(|n| n.parse::<u32>().unwrap_or(0));
    (it.next().unwrap_or(0), it.next().unwrap_or(0)) >= (6, 7)
}

fn sh(script: String) -> Vec<String> {
    vec!["sh".into(), "-c".into(), script]
}

/// Every way in to the host's services, under `profile` (a shipped one, `label` its name).
fn reach(env: &mut Env, h: &Host, label: &str, profile: &str) {
    let who = Who::User;
    let compat = env.d.running_backend().as_deref() != Some("bpf-lsm");
    let tmux_sock = h.tmux_dir.join(&h.tmux);
    let tmux_s = tmux_sock.display().to_string();
    let tmux_dir = h.tmux_dir.display().to_string();
    let agent = h.agent_sock.display().to_string();
    let bus = h.run.join("bus").display().to_string();
    let dgram = h.run.join("dgram").display().to_string();
    let abs = format!("@{}", h.abstract_name);
    let scratch = env.dir(Who::User);
    let link = scratch.join("host.sock").display().to_string();
    let own = scratch.display().to_string();
    let out = h.dir.path().join("tmux-out").display().to_string();
    let key = h.dir.path().join("key.pub").display().to_string();
    let uid = h.uid;
    let session = |a: Attempt| {
        h.vars()
            .into_iter()
            .fold(a, |a, (k, v)| a.env(k, &v))
            .env("TMUX_TMPDIR", "/tmp")
    };

    // (name, helper args, stage, line)
    let helper: Vec<(&str, Vec<String>, &str, &str)> = vec![
        (
            "tmux server socket by path",
            vec!["unix_connect".into(), tmux_s.clone()],
            "connect",
            CONNECT,
        ),
        (
            "ssh-agent by its literal path",
            vec!["unix_connect".into(), agent.clone()],
            "connect",
            CONNECT,
        ),
        (
            "D-Bus session bus socket by path",
            vec!["unix_connect".into(), bus.clone()],
            "connect",
            CONNECT,
        ),
        (
            "abstract-namespace listener",
            vec!["unix_connect".into(), abs.clone()],
            "connect",
            CONNECT,
        ),
        (
            "datagram sendto a host socket",
            vec!["unix_sendto".into(), dgram.clone()],
            "sendto",
            SEND,
        ),
        (
            "datagram sendmsg to a host socket",
            vec!["unix_sendmsg".into(), dgram.clone()],
            "sendmsg",
            SEND,
        ),
        (
            "datagram connect, then send",
            vec!["unix_dgram_connect".into(), dgram.clone()],
            "connect",
            CONNECT,
        ),
        (
            "relative path after chdir into the socket's directory",
            vec![
                "unix_chdir_connect".into(),
                tmux_dir.clone(),
                h.tmux.clone(),
            ],
            "connect",
            CONNECT,
        ),
        (
            "./NAME after chdir into the socket's directory",
            vec![
                "unix_chdir_connect".into(),
                tmux_dir.clone(),
                format!("./{}", h.tmux),
            ],
            "connect",
            CONNECT,
        ),
        (
            "/proc/self/cwd/NAME after chdir into the socket's directory",
            vec![
                "unix_chdir_connect".into(),
                tmux_dir.clone(),
                format!("/proc/self/cwd/{}", h.tmux),
            ],
            "connect",
            CONNECT,
        ),
        (
            "a .. in the path: /tmp/DIR/../tmux-UID/NAME",
            vec![
                "unix_connect".into(),
                format!("{}/../tmux-{uid}/{}", h.dir.path().display(), h.tmux),
            ],
            "connect",
            CONNECT,
        ),
        (
            "/proc/self/root/... spelling of the path",
            vec!["unix_connect".into(), format!("/proc/self/root{tmux_s}")],
            "connect",
            CONNECT,
        ),
        (
            "/proc/self/fd/N of an O_PATH descriptor of the socket",
            vec!["unix_opath_connect".into(), tmux_s.clone()],
            "connect",
            CONNECT,
        ),
        (
            "/dev/fd/N (a host symlink to /proc/self/fd) of an O_PATH descriptor",
            vec![
                "unix_opath_connect".into(),
                tmux_s.clone(),
                "/dev/fd".into(),
            ],
            "connect",
            CONNECT,
        ),
        (
            "non-canonical path /tmp/./tmux-UID/NAME",
            vec![
                "unix_connect".into(),
                format!("/tmp/./tmux-{uid}/{}", h.tmux),
            ],
            "connect",
            CONNECT,
        ),
        (
            "non-canonical path //tmp//tmux-UID/NAME",
            vec![
                "unix_connect".into(),
                format!("//tmp//tmux-{uid}//{}", h.tmux),
            ],
            "connect",
            CONNECT,
        ),
    ];
    for (name, args, stage, line) in helper {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let a = env.attempt(&format!("{label}: {name}"), who, profile, &args);
        env.check(session(a).expect(Expect::Errno(EPERM, stage)).line_of(line));
    }

    // Made inside under another name: refused on bpf-lsm (the peer's bound name), not
    // followed on compat (documented).
    for (name, case) in [
        (
            "symlink made inside to the tmux socket",
            "unix_symlink_connect",
        ),
        (
            "hard link made inside to the tmux socket",
            "unix_link_connect",
        ),
    ] {
        let a = env.attempt(
            &format!("{label}: {name}"),
            who,
            profile,
            &[case, &tmux_s, &link],
        );
        let a = session(a);
        env.check(if compat {
            a.expect(Expect::Limitation(LINKS_ON_COMPAT))
        } else {
            a.expect(Expect::Errno(EPERM, "connect")).line_of(CONNECT)
        });
    }

    // A symlink the host already has (the user made it outside, e.g. a fixed name for a
    // tmux socket): followed by bpf-lsm's peer check, not on compat (documented).
    let a = env.attempt(
        &format!("{label}: a symlink made outside to the tmux socket"),
        who,
        profile,
        &[
            "unix_connect",
            &h.dir.path().join("host-link.sock").display().to_string(),
        ],
    );
    let a = session(a);
    env.check(if compat {
        a.expect(Expect::Limitation(HOST_LINK_ON_COMPAT))
    } else {
        a.expect(Expect::Errno(EPERM, "connect")).line_of(CONNECT)
    });

    // An agent at ssh-agent's default place, not the one $SSH_AUTH_SOCK names.
    let default_agent = DefaultAgent::start();
    let a = env.attempt(
        &format!("{label}: ssh-agent at its default /tmp/ssh-*/agent.* (not $SSH_AUTH_SOCK)"),
        who,
        profile,
        &["unix_connect", &default_agent.sock.display().to_string()],
    );
    env.check(
        session(a)
            .expect(Expect::Errno(EPERM, "connect"))
            .line_of(CONNECT),
    );
    drop(default_agent);

    // The host's own clients, which run whatever the user asks outside.
    let run_shell = |flag: &str, sock: &str| {
        sh(format!(
            "tmux {flag} {sock} run-shell 'echo tmux-ran-outside > {out}' && cat {out}; rm -f {out}"
        ))
    };
    let sign = sh(format!("echo data | ssh-keygen -Y sign -f {key} -n file"));
    let clients: Vec<(&str, Vec<String>, &'static str)> = vec![
        (
            "tmux -L NAME run-shell (the server runs it)",
            run_shell("-L", &h.tmux),
            "tmux-ran-outside",
        ),
        (
            "tmux -S PATH run-shell (the server runs it)",
            run_shell("-S", &tmux_s),
            "tmux-ran-outside",
        ),
        (
            "tmux -S /proc/self/root/PATH run-shell (another spelling)",
            run_shell("-S", &format!("/proc/self/root{tmux_s}")),
            "tmux-ran-outside",
        ),
        (
            "ssh-add -l through $SSH_AUTH_SOCK",
            vec!["ssh-add".into(), "-l".into()],
            "varmor-test",
        ),
        (
            "ssh-keygen -Y sign through the agent",
            sign,
            "BEGIN SSH SIGNATURE",
        ),
        (
            "D-Bus session bus (dbus-send ListNames)",
            vec![
                "dbus-send".into(),
                "--session".into(),
                "--print-reply".into(),
                "--dest=org.freedesktop.DBus".into(),
                "/org/freedesktop/DBus".into(),
                "org.freedesktop.DBus.ListNames".into(),
            ],
            "method return",
        ),
    ];
    for (name, argv, banner) in clients {
        let a = env.attempt_argv(&format!("{label}: {name}"), who, profile, argv);
        env.check(
            session(a)
                .banner(banner)
                .expect(Expect::NotRun)
                .line_of(CONNECT),
        );
    }

    // Other clients: python's socket module, socat.
    for (name, op, target, line) in [
        (
            "python3 client: connect to the tmux socket",
            "connect",
            &tmux_s,
            CONNECT,
        ),
        (
            "python3 client: connect to the abstract listener",
            "connect",
            &abs,
            CONNECT,
        ),
        (
            "python3 client: sendto the datagram socket",
            "sendto",
            &dgram,
            SEND,
        ),
    ] {
        let argv = vec![
            "/usr/bin/python3".to_string(),
            "-c".into(),
            PY_CLIENT.into(),
            op.into(),
            target.clone(),
        ];
        let a = env.attempt_argv(&format!("{label}: {name}"), who, profile, argv);
        env.check(session(a).expect(Expect::Errno(EPERM, op)).line_of(line));
    }
    if have("socat") {
        // nocurl refuses socat itself (exec rule): then the line is the exec's.
        let line = if label == "nocurl" {
            "varmor: denied exec"
        } else {
            CONNECT
        };
        for (name, addr) in [
            (
                "socat UNIX-CONNECT to the agent",
                format!("UNIX-CONNECT:{agent}"),
            ),
            (
                "socat ABSTRACT-CONNECT to the abstract listener",
                format!("ABSTRACT-CONNECT:{}", h.abstract_name),
            ),
        ] {
            let argv = sh(format!(
                "socat -u /dev/null {addr} && echo RESULT OK socat connected"
            ));
            let a = env.attempt_argv(&format!("{label}: {name}"), who, profile, argv);
            env.check(session(a).expect(Expect::NotRun).line_of(line));
        }
    } else {
        eprintln!("escape: no socat case: socat is not installed");
    }

    // In-sandbox control: the sandbox's own sockets (a directory it may write, under /tmp).
    let a = env.attempt(
        &format!("{label}: sockets the sandbox makes stay usable"),
        who,
        profile,
        &["unix_own", &own],
    );
    env.check(session(a).expect(Expect::Allowed));
}

fn run(test: &'static str, profile: &str) {
    for tool in [
        "tmux",
        "ssh-agent",
        "ssh-keygen",
        "dbus-daemon",
        "dbus-send",
        "python3",
    ] {
        if !have(tool) {
            common::skip(&format!("{test}: {tool} not installed"));
            return;
        }
    }
    let Some(mut env) = Env::start(test) else {
        return;
    };
    let h = Host::start();
    // The user's own shortcut to the tmux socket, made outside.
    let host_link = h.dir.path().join("host-link.sock");
    std::os::unix::fs::symlink(h.tmux_dir.join(&h.tmux), &host_link).unwrap();
    std::os::unix::fs::lchown(&host_link, Some(h.uid), Some(h.gid)).unwrap();
    // Before 6.7 (no connect_unix hook) the launch is refused as NOT ENFORCED (checked by
    // tests/confine_unix.rs) and nothing here can be tried. On 6.7+ that refusal means the
    // programs failed to load: a failure, never a quiet skip with 0 attempts.
    let probe = env
        .d
        .run_as_user(&["--profile", &common::profile(profile), "--", "true"]);
    let err = common::stderr(&probe);
    if err.contains("NOT ENFORCED") {
        assert!(
            !kernel_has_unix_hooks(),
            "{test}: unix rules NOT ENFORCED on a 6.7+ kernel (the programs failed to load?): {err}"
        );
        common::skip(&format!(
            "{test}: this kernel has no connect_unix hook: unix rules are NOT ENFORCED (launch refused)"
        ));
        drop(h);
        env.finish(TESTS);
        return;
    }
    reach(&mut env, &h, profile, &common::profile(profile));
    drop(h);
    env.finish(TESTS);
}

#[test]
fn nocurl_host_sockets() {
    run("nocurl_host_sockets", "nocurl");
}

#[test]
fn no_keys_host_sockets() {
    run("no_keys_host_sockets", "no-keys");
}

#[test]
fn no_secrets_host_sockets() {
    run("no_secrets_host_sockets", "no-secrets");
}

#[test]
fn nonet_host_sockets() {
    run("nonet_host_sockets", "nonet");
}
