//! The coding-agent workload: the shipped `agent` profile, as it ships, as the real
//! unprivileged user varmor-test in a project under their home, on the backend of
//! VARMOR_TEST_BACKEND. An agent's session works: git init and commit, editing and
//! running code, and reaching the model API and GitHub by name (varmord's resolver asks
//! this test's zone server, which points api.anthropic.com and github.com at loopback
//! listeners on port 443: nothing leaves the machine). In the same run the promise holds:
//! the SSH key is unreadable, ~/.bashrc unchangeable, and a hard-coded address and a name
//! no entry allows are refused, each with a varmor line. Outside, the same actions work.

mod common;
// Only its zone server and listeners are used here.
#[allow(dead_code)]
#[path = "common/dns.rs"]
mod dns;
#[path = "common/workload.rs"]
mod workload;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::*;
use workload::*;

/// The agent's session, as a shell script; `NET host port` lines report each connect.
const SESSION: &str = r#"set -e
git init -q .
printf 'print("built")\n' > main.py
git add main.py
git -c user.name=agent -c user.email=agent@example.invalid commit -qm first
mkdir -p build
python3 main.py > build/out.txt
python3 - "$VARMOR_OTHER" <<'PY'
import socket, sys
def reach(host, port):
    try:
        socket.create_connection((host, port), timeout=5).close()
        return "ok"
    except socket.gaierror:
        return "no-such-name"
    except OSError as e:
        return "errno=%d" % e.errno
other_ip, other_port = sys.argv[1].rsplit(":", 1)
for host, port in [("api.anthropic.com", 443), ("github.com", 443),
                   (other_ip, int(other_port)), ("denied.varmor.test", 443)]:
    print("NET", host, reach(host, port))
PY
if cat ~/.ssh/id_ed25519 >/dev/null; then echo KEY=read; else echo KEY=refused; fi
if (: >> ~/.bashrc); then echo BASHRC=written; else echo BASHRC=refused; fi
echo session-done
"#;

#[test]
fn an_agent_session_in_a_project_under_the_agent_profile() {
    let Some(()) = need("agent_session", &["git", "python3"]) else {
        return;
    };
    let stop = Arc::new(AtomicBool::new(false));
    let (zone, server) = dns::zone_server(stop.clone());
    let api = dns::Listener(std::net::TcpListener::bind("127.0.1.20:443").unwrap());
    let forge = dns::Listener(std::net::TcpListener::bind("127.0.1.21:443").unwrap());
    let other = dns::Listener::on("127.0.1.3");
    let d = Daemon::start_with(&["--dns-upstream", &zone.to_string(), "--dns-local-answers"]);
    let _key = plant_key();
    let (p, _clean) = project("agent");
    let bashrc = || std::fs::read_to_string(format!("{HOME}/.bashrc")).unwrap_or_default();
    let before = bashrc();
    let env = [("VARMOR_OTHER", other.at())];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();

    let o = user_sh(&d, Some(&profile("agent")), &p, SESSION, &env);
    let out = stdout(&o);
    assert!(
        out.contains("session-done"),
        "the session stopped:\n{}",
        show(&o)
    );
    assert_eq!(
        std::fs::read_to_string(p.join("build/out.txt")).unwrap_or_default(),
        "built\n",
        "the build's output:\n{}",
        show(&o)
    );
    assert!(
        p.join(".git/HEAD").is_file(),
        "no git repository:\n{}",
        show(&o)
    );
    for want in [
        "NET api.anthropic.com ok",
        "NET github.com ok",
        &format!("NET 127.0.1.3 errno={}", libc::EPERM),
        "NET denied.varmor.test no-such-name",
        "KEY=refused",
        "BASHRC=refused",
    ] {
        assert!(out.contains(want), "missing `{want}`:\n{}", show(&o));
    }
    assert!(!out.contains(KEY.trim()), "the key was read:\n{}", show(&o));
    assert_eq!(bashrc(), before, "~/.bashrc changed");
    for (what, line) in [
        ("connect", format!("connect {}", other.at())),
        ("resolve", "resolve denied.varmor.test".to_string()),
        (
            "read key",
            "open(read) /home/varmor-test/.ssh/id_ed25519".into(),
        ),
        ("bashrc", "/home/varmor-test/.bashrc".into()),
    ] {
        assert_line(what, &o, &line);
    }
    // The network refusals name the profile the user ran, which says `network_default:
    // deny` itself (so does its include git-forge).
    assert_line("connect", &o, "profile agent, rule network default deny");

    // Outside: the same key, ~/.bashrc and address (names would leave the machine).
    let outside = format!(
        "cat ~/.ssh/id_ed25519 >/dev/null && : >> ~/.bashrc && python3 -c \
         'import socket; socket.create_connection((\"127.0.1.3\", {}), timeout=5).close()' \
         && echo outside-ok",
        other.0.local_addr().unwrap().port()
    );
    let o = user_sh(&d, None, &p, &outside, &[]);
    assert!(stdout(&o).contains("outside-ok"), "outside:\n{}", show(&o));
    drop((api, forge));
    stop.store(true, Ordering::SeqCst);
    server.join().unwrap();
}
