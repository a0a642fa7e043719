//! `varmor-run --learn` on a real workload (a shell script that reads, writes, execs and
//! connects on loopback), as the unprivileged user: the exit code passes through, the draft
//! passes --check, names what the run did, lets the same workload run again, and denies
//! what the run never did. Code: src/launcher/learn.rs, src/launcher/learn_draft.rs.

mod common;

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;

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
