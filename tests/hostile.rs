//! Hostile clients of varmord: each refused (or dropped) with nothing changed — no sandbox
//! registered, no map entry written — and varmord still serving afterwards.

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use varmor_daemon::handler::REQUEST_TIMEOUT;

/// A raw client in Python: sends one framed request built by `body` (a Python expression
/// using `ns`, the client's own mount-namespace inode) and prints varmord's answer.
const CLIENT: &str = r#"
import json, os, socket, struct, sys
ns = os.stat('/proc/self/ns/mnt').st_ino
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
body = json.dumps(eval(sys.argv[2])).encode()
s.sendall(struct.pack('>I', len(body)) + body)
n = struct.unpack('>I', s.recv(4))[0]; print(s.recv(n).decode())
"#;

fn confine_expr(ns: &str) -> String {
    let pv = varmor_core::proto::PROTO_VERSION;
    format!(
        "{{'type':'confine','version':{pv},'mnt_ns':{ns},'quiet':True,'rules':{{'version':1,'profile':'t','mode':'enforce','paths':[],'net':[],'caps_deny':0,'ptrace':'none','mount':[],'seccomp':{{}},'origins':[]}}}}"
    )
}

fn ask(d: &Daemon, prefix: &[&str], expr: &str) -> String {
    let mut args: Vec<&str> = prefix.to_vec();
    args.extend([
        "/usr/bin/python3",
        "-c",
        CLIENT,
        d.socket.to_str().unwrap(),
        expr,
    ]);
    let o = Command::new(args[0]).args(&args[1..]).output().unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Live sandboxes as varmord reports them (root sees all).
fn live(d: &Daemon) -> usize {
    varmor_launcher::client::list(&d.socket)
        .map(|l| l.len())
        .unwrap_or(usize::MAX)
}

fn wait_live(d: &Daemon, n: usize) -> usize {
    let t = Instant::now();
    while live(d) != n && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    live(d)
}

#[test]
fn refuses_forged_host_and_foreign_namespaces() {
    let Some(()) = need_root("refuses_forged_host_and_foreign_namespaces") else {
        return;
    };
    let d = Daemon::start();
    let (uid, gid) = test_user();
    // The host's own namespace, with its true inode.
    assert!(ask(&d, &[], &confine_expr("ns")).contains("host_namespace"));
    // A forged inode: not the namespace the peer is in.
    assert!(ask(&d, &["unshare", "-m"], &confine_expr("ns+1")).contains("not_your_namespace"));
    // A namespace created by root, then used by another uid: owned by uid 0, not the caller.
    let ids = [format!("--reuid={uid}"), format!("--regid={gid}")];
    let pre = [
        "unshare",
        "-m",
        "setpriv",
        ids[0].as_str(),
        ids[1].as_str(),
        "--clear-groups",
    ];
    let out = ask(&d, &pre, &confine_expr("ns"));
    assert!(
        out.contains("not_your_namespace") && out.contains("owned by uid 0"),
        "{out}"
    );
    // Bad version and unknown fields.
    assert!(ask(&d, &["unshare", "-m"], "{'type':'list','version':99}").contains("bad_version"));
    // A newer varmor-run's request, with a field this varmord does not know: named as a
    // version mismatch, not a malformed frame.
    let newer = ask(
        &d,
        &["unshare", "-m"],
        "{'type':'confine','version':99,'mnt_ns':1,'quiet':True,'rules':{'net_future':1}}",
    );
    assert!(
        newer.contains("bad_version") && newer.contains("varmord is older than varmor-run"),
        "{newer}"
    );
    assert!(ask(
        &d,
        &["unshare", "-m"],
        &format!(
            "{{'type':'list','version':{},'x':1}}",
            varmor_core::proto::PROTO_VERSION
        )
    )
    .contains("bad_frame"));
    assert_eq!(live(&d), 0, "nothing was registered");
}

#[test]
fn refuses_second_request_for_confined_namespace() {
    let Some(()) = need_root("refuses_second_request_for_confined_namespace") else {
        return;
    };
    let d = Daemon::start();
    // The second request comes from inside the sandbox: set once, never re-confined.
    let script = format!("/usr/bin/python3 -c \"$1\" {} \"$2\"", d.socket.display());
    let o = d.run(&[
        "--profile",
        &profile("base"),
        "--",
        "sh",
        "-c",
        &script,
        "sh",
        CLIENT,
        &confine_expr("ns"),
    ]);
    let out = stdout(&o) + &stderr(&o);
    assert!(out.contains("already_confined"), "{out}");
}

#[test]
fn survives_bad_frames() {
    let Some(()) = need_root("survives_bad_frames") else {
        return;
    };
    let d = Daemon::start();
    let reply = |bytes: &[u8], close: bool| -> String {
        let mut s = UnixStream::connect(&d.socket).unwrap();
        // Longer than varmord's own request timeout: varmord, not this client, hangs up.
        s.set_read_timeout(Some(REQUEST_TIMEOUT * 3)).unwrap();
        s.write_all(bytes).unwrap();
        if close {
            s.shutdown(std::net::Shutdown::Write).unwrap();
        }
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    };
    // Garbage, an oversize length, a truncated frame.
    assert!(reply(b"\x00\x00\x00\x05hello", false).contains("bad_frame"));
    assert!(reply(&u32::MAX.to_be_bytes(), false).contains("bad_frame"));
    assert!(
        reply(b"\x00\x00\x01\x00{\"type\"", true).is_empty(),
        "a truncated frame gets no answer"
    );
    // A client that connects and never writes is told why and dropped by varmord.
    let silent = reply(b"", false);
    assert!(silent.contains("no request within"), "{silent:?}");
    // A client that dies mid-request.
    let mut c = Command::new("/usr/bin/python3")
        .args(["-c", "import socket,sys,os; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.send(b'\\x00\\x00\\x10\\x00{'); os._exit(0)"])
        .arg(&d.socket)
        .spawn()
        .unwrap();
    c.wait().unwrap();
    // Still serving, nothing registered.
    assert_eq!(live(&d), 0);
    let ok = d.run(&["--profile", &profile("base"), "--", "true"]);
    assert!(ok.status.success(), "{}", stderr(&ok));
}

#[test]
fn bounds_requests_per_uid() {
    let Some(()) = need_root("bounds_requests_per_uid") else {
        return;
    };
    let d = Daemon::start();
    // 1,000 confine requests from one uid for its own namespace: exactly one succeeds (set
    // once); the rest are refused as already_confined or, past the rate bound, as limit.
    let script = format!(
        "import json,os,socket,struct\nns=os.stat('/proc/self/ns/mnt').st_ino\nr={{}}\nfor i in range(1000):\n s=socket.socket(socket.AF_UNIX); s.connect('{}')\n b=json.dumps({}).encode(); s.sendall(struct.pack('>I',len(b))+b)\n n=struct.unpack('>I',s.recv(4))[0]; a=json.loads(s.recv(n)); k=a.get('code',a['type']); r[k]=r.get(k,0)+1\nprint(sorted(r.items()))",
        d.socket.display(),
        confine_expr("ns")
    );
    let o = Command::new("unshare")
        .args(["-m", "/usr/bin/python3", "-c", &script])
        .output()
        .unwrap();
    let out = stdout(&o);
    assert!(out.contains("('confined', 1)"), "{out}{}", stderr(&o));
    let refused: usize = ["already_confined", "limit"]
        .iter()
        .filter_map(|k| {
            out.split(&format!("('{k}', "))
                .nth(1)?
                .split(')')
                .next()?
                .parse::<usize>()
                .ok()
        })
        .sum();
    assert_eq!(refused, 999, "{out}");
    assert_eq!(wait_live(&d, 0), 0, "the sandbox ended with its process");
}
