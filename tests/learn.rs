//! `varmor-run --learn` on a real workload (a shell script that reads, writes, execs and
//! connects on loopback), as the unprivileged user: the exit code passes through, the draft
//! passes --check, names what the run did, lets the same workload run again, and denies
//! what the run never did. And a run that resolves a name (tests/common/dns.rs's zone,
//! `varmord --dns-upstream`) and connects to it gets a draft allowing that name, by name.
//! Code: crates/launcher/src/learn.rs, learn_draft.rs, learn_allow.rs, crates/daemon/src/resolver/.

mod common;

#[path = "common/dns.rs"]
#[allow(dead_code)]
mod dns;

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::*;

#[test]
fn learn_writes_a_draft_that_runs_the_workload_and_denies_the_rest() {
    let Some(()) = need_root("learn_writes_a_draft_that_runs_the_workload_and_denies_the_rest")
    else {
        return;
    };
    let d = Daemon::start();
    let dir = d.dir.path();
    let work = dir.join("work");
    std::fs::create_dir(&work).unwrap();
    std::fs::set_permissions(&work, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::write(work.join("input.txt"), "hello\n").unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let listener2 = TcpListener::bind("127.0.0.2:0").unwrap();
    let port2 = listener2.local_addr().unwrap().port();
    let connect = |ip: &str, port: u16| {
        format!("/usr/bin/python3 -c \"import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(('{ip}', {port})))\"")
    };
    let script = work.join("job.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nset -e\ncat {w}/input.txt > {w}/output.txt\nls {w} > /dev/null\n{c}\nexit 3\n",
            w = work.display(),
            c = connect("127.0.0.1", port)
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let script = script.display().to_string();
    let out = work.join("draft.yaml");
    let out_s = out.display().to_string();

    let o = d.run_as_user(&["--learn", &out_s, "--", &script]);
    assert_eq!(
        o.status.code(),
        Some(3),
        "exit code passes through: {}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("draft written to"), "{}", stderr(&o));
    let draft = std::fs::read_to_string(&out).expect("draft written");
    for want in [
        "#   exec    /usr/bin/ls".to_string(),
        "#   exec    /usr/bin/cat".to_string(),
        format!("#   write   {}/ (1 file)", work.display()),
        format!("#   connect 127.0.0.1:{port}"),
        "include: [base, no-secrets, nocurl]".to_string(),
        "\"/etc/**\"".to_string(),
    ] {
        assert!(draft.contains(&want), "draft lacks `{want}`:\n{draft}");
    }
    let check = d.run(&["--check", &out_s]);
    assert!(check.status.success(), "--check: {}", stderr(&check));

    // The workload runs again under its draft...
    let o = d.run_as_user(&["--profile", &out_s, "--", &script]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    // ...and what it never did is denied: another loopback address, curl, writing /etc.
    let other = connect("127.0.0.2", port2);
    let o = d.run_as_user(&["--profile", &out_s, "--", "sh", "-c", &other]);
    assert_eq!(
        o.status.code(),
        Some(libc::EPERM),
        "connect 127.0.0.2: {}",
        stderr(&o)
    );
    let o = d.run_as_user(&["--profile", &out_s, "--", "curl", "--version"]);
    assert!(!o.status.success(), "curl ran under the draft");
    let o = d.run(&[
        "--profile",
        &out_s,
        "--",
        "sh",
        "-c",
        "echo x > /etc/varmor-learn-test",
    ]);
    assert!(!o.status.success(), "/etc written under the draft");
    assert!(!std::path::Path::new("/etc/varmor-learn-test").exists());
    // Outside, the same connect works.
    let o = host_sh(&other);
    assert_eq!(o.status.code(), Some(0), "outside: {}", stderr(&o));
    drop((listener, listener2));
}

#[test]
fn learn_writes_nothing_when_the_command_cannot_run() {
    let Some(()) = need_root("learn_writes_nothing_when_the_command_cannot_run") else {
        return;
    };
    let d = Daemon::start();
    let out = d.dir.path().join("never.yaml");
    let out_s = out.display().to_string();
    let o = d.run(&["--learn", &out_s, "--", "/nonexistent/program"]);
    assert_eq!(o.status.code(), Some(125), "{}", stderr(&o));
    assert!(stderr(&o).contains("no draft written"), "{}", stderr(&o));
    assert!(!out.exists());
}

/// The learning run resolves allowed.varmor.test (glibc, through the host's nameserver,
/// which the sandbox's DNS redirect sends to varmord's resolver) and connects to it: the
/// draft allows that name on that port in allow-list mode, passes --check, runs the same
/// command, and refuses a connect to another loopback address with a line.
#[test]
fn learn_allows_the_names_a_run_resolved() {
    let Some(()) = need_root("learn_allows_the_names_a_run_resolved") else {
        return;
    };
    let stop = Arc::new(AtomicBool::new(false));
    let (zone, server) = dns::zone_server(stop.clone());
    let named = dns::Listener::on("127.0.1.1");
    let other = dns::Listener::on("127.0.1.3");
    let port = named.0.local_addr().unwrap().port();
    let d = Daemon::start_with(&["--dns-upstream", &zone.to_string(), "--dns-local-answers"]);
    let by_name = format!(
        "import socket,sys; a=socket.gethostbyname('allowed.varmor.test'); \
         s=socket.socket(); sys.exit(s.connect_ex((a, {port})))"
    );
    let out = d.dir.path().join("names.yaml");
    let out_s = out.display().to_string();
    let o = d.run(&["--learn", &out_s, "--", "python3", "-c", &by_name]);
    assert_eq!(o.status.code(), Some(0), "learning run: {}", stderr(&o));
    let draft = std::fs::read_to_string(&out).expect("draft written");
    for want in [
        "#   resolve allowed.varmor.test (127.0.1.1)\n".to_string(),
        "\nnetwork_default: deny\nnetwork_allow:\n".to_string(),
        format!("  - hosts: [allowed.varmor.test]\n    ports: [{port}]\n"),
    ] {
        assert!(draft.contains(&want), "draft lacks `{want}`:\n{draft}");
    }
    assert!(!draft.contains("addresses: [\"127.0.1.1\"]"), "{draft}");
    let check = d.run(&["--check", &out_s]);
    assert!(check.status.success(), "--check: {}", stderr(&check));

    let o = d.run(&["--profile", &out_s, "--", "python3", "-c", &by_name]);
    assert_eq!(o.status.code(), Some(0), "under the draft: {}", stderr(&o));
    let elsewhere = format!(
        "import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(('127.0.1.3', {})))",
        other.0.local_addr().unwrap().port()
    );
    let o = d.run(&["--profile", &out_s, "--", "python3", "-c", &elsewhere]);
    assert_eq!(o.status.code(), Some(libc::EPERM), "{}", stderr(&o));
    let want = format!("denied connect {}", other.at());
    assert!(
        stderr(&o)
            .lines()
            .any(|l| l.contains(&want) && l.contains("rule network default deny")),
        "no line `{want}`: {}",
        stderr(&o)
    );
    drop(d);
    stop.store(true, Ordering::SeqCst);
    server.join().unwrap();
}
