//! The whole confinement flow on the real kernel, as root and as an unprivileged user:
//! uid, capabilities, no_new_privs, seccomp, the maps for exactly that namespace, exit
//! codes, fail-closed without varmord, and nested escapes from inside.

mod common;

use std::io::{BufRead, BufReader};
use std::os::unix::fs::MetadataExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;

const STATUS: &str = "id -u; grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status; readlink /proc/self/ns/mnt";

fn check_status(out: &str, uid: u32) {
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some(uid.to_string().as_str()), "{out}");
    for cap in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
        assert!(
            out.contains(&format!("{cap}:\t0000000000000000")),
            "{cap} not empty: {out}"
        );
    }
    assert!(out.contains("NoNewPrivs:\t1"), "{out}");
    assert!(out.contains("Seccomp:\t2"), "{out}");
    let host = std::fs::read_link("/proc/self/ns/mnt").unwrap();
    assert!(
        !out.contains(host.to_str().unwrap()),
        "the target runs in the host's mount namespace: {out}"
    );
}

#[test]
fn full_flow_as_root_and_as_user() {
    let Some(()) = need_root("full_flow_as_root_and_as_user") else {
        return;
    };
    let d = Daemon::start();
    let o = d.run(&["--profile", &profile("base"), "--", "sh", "-c", STATUS]);
    assert!(o.status.success(), "{}", stderr(&o));
    check_status(&stdout(&o), 0);
    let (uid, _) = test_user();
    let o = d.run_as_user(&["--profile", &profile("base"), "--", "sh", "-c", STATUS]);
    assert!(o.status.success(), "{}", stderr(&o));
    check_status(&stdout(&o), uid);
}

#[test]
fn maps_hold_exactly_that_namespace_until_it_ends() {
    let Some(()) = need_root("maps_hold_exactly_that_namespace_until_it_ends") else {
        return;
    };
    let d = Daemon::start();
    let mut child = d
        .cmd(&[
            "--profile",
            &profile("base"),
            "--",
            "sh",
            "-c",
            "stat -Lc %i /proc/self/ns/mnt; exec sleep 3",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let ns: u32 = line.trim().parse().expect("ns inode");
    let maps = varmor_kernel::bpf::Maps::open(&d.pins()).expect("pinned maps");
    assert!(
        maps.count_ns_entries(ns) > 0,
        "no entries for the sandbox's namespace {ns}"
    );
    let host = std::fs::metadata("/proc/self/ns/mnt").unwrap().ino() as u32;
    assert_eq!(
        maps.count_ns_entries(host),
        0,
        "entries for the host namespace"
    );
    assert!(child.wait().unwrap().success());
    let t = Instant::now();
    while maps.count_ns_entries(ns) > 0 && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        maps.count_ns_entries(ns),
        0,
        "entries left after the sandbox ended"
    );
}

#[test]
fn exit_codes_follow_env() {
    let Some(()) = need_root("exit_codes_follow_env") else {
        return;
    };
    let d = Daemon::start();
    let base = profile("base");
    let code = |args: &[&str]| {
        let mut a = vec!["--profile", base.as_str(), "--"];
        a.extend_from_slice(args);
        d.run(&a).status.code()
    };
    assert_eq!(code(&["sh", "-c", "exit 7"]), Some(7));
    assert_eq!(code(&["/nonexistent/program"]), Some(127));
    assert_eq!(code(&["no-such-command-anywhere"]), Some(127));
    assert_eq!(code(&["/etc/hostname"]), Some(126));
    // A bad profile: 125 and the file named.
    let bad = write_profile(
        d.dir.path(),
        "bad",
        "file:\n  - deny: read\n    paths: [etc/x]\n",
    );
    let o = d.run(&["--profile", &bad, "--", "true"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(stderr(&o).contains("bad.yaml:3"), "{}", stderr(&o));
}

#[test]
fn fails_closed_without_varmord() {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("none.sock");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_varmor-run"))
        .args([
            "--socket",
            sock.to_str().unwrap(),
            "--profile",
            &profile("base"),
            "--",
            "sh",
            "-c",
            "echo RAN",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(125));
    assert!(
        !stdout(&o).contains("RAN"),
        "the target ran without confinement"
    );
    assert!(
        stderr(&o).contains("cannot reach varmord"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn nested_escapes_fail() {
    let Some(()) = need_root("nested_escapes_fail") else {
        return;
    };
    let d = Daemon::start();
    let attempts = [
        ("unshare -U", "unshare -U true"),
        ("unshare -m", "unshare -m true"),
        ("unshare -Ur", "unshare -Ur true"),
        ("setns to init's mount ns", "nsenter -t 1 -m true"),
        (
            "clone(CLONE_NEWUSER)",
            "/usr/bin/python3 -c 'import os; os.unshare(os.CLONE_NEWUSER)'",
        ),
        ("mount proc", "mount -t proc proc /mnt"),
        ("umount", "umount /proc"),
    ];
    for (who, cmd) in [("root", false), ("user", true)] {
        for (name, script) in attempts {
            let args = [
                "--profile",
                &profile("base"),
                "--quiet",
                "--",
                "sh",
                "-c",
                script,
            ];
            let o = if cmd {
                d.run_as_user(&args)
            } else {
                d.run(&args)
            };
            assert!(
                !o.status.success(),
                "{name} as {who} succeeded inside the sandbox"
            );
        }
    }
    // The same escapes work outside (as root), so the tests can fail.
    assert!(host_sh("unshare -Ur true").status.success());
    assert!(host_sh("unshare -m true").status.success());
}

#[test]
fn descriptors_from_outside_are_closed_unless_kept() {
    let Some(()) = need_root("descriptors_from_outside_are_closed_unless_kept") else {
        return;
    };
    let d = Daemon::start();
    let run = |keep: &str| {
        host_sh(&format!(
            "exec 3</etc/hostname; {} --socket {} {keep} --profile {} -- sh -c 'cat <&3'",
            env!("CARGO_BIN_EXE_varmor-run"),
            d.socket.display(),
            profile("base")
        ))
    };
    let closed = run("");
    assert!(!closed.status.success(), "fd 3 reached the target");
    let kept = run("--keep-fds");
    assert!(kept.status.success(), "{}", stderr(&kept));
    assert_eq!(
        stdout(&kept),
        std::fs::read_to_string("/etc/hostname").unwrap()
    );
}

/// Every cgroup mount the sandbox sees is read-only (no process leaves its cgroup, so
/// varmord never mistakes a live sandbox for an ended one); the host's stay writable.
/// Writing cgroup.procs inside fails with EROFS, as root and as a user; outside, root's
/// write of the same file still works.
#[test]
fn cgroup_mounts_are_read_only_inside_only() {
    let Some(()) = need_root("cgroup_mounts_are_read_only_inside_only") else {
        return;
    };
    let d = Daemon::start();
    let cg = varmor_daemon::cgroup::cgroup2_mount().expect("cgroup2 mounted");
    let procs = cg.join("cgroup.procs");
    let script = format!(
        "grep -E ' - cgroup2? ' /proc/self/mountinfo; echo $$ > {}",
        procs.display()
    );
    for as_user in [false, true] {
        let args = ["--profile", &profile("base"), "--", "sh", "-c", &script];
        let o = if as_user {
            d.run_as_user(&args)
        } else {
            d.run(&args)
        };
        let out = stdout(&o);
        assert!(
            !out.is_empty(),
            "no cgroup mount seen inside: {}",
            stderr(&o)
        );
        for l in out.lines() {
            let opts = l.split(' ').nth(5).unwrap_or("");
            assert!(opts.split(',').any(|o| o == "ro"), "writable inside: {l}");
        }
        assert!(!o.status.success(), "cgroup.procs written inside");
        assert!(
            stderr(&o).contains("Read-only file system"),
            "{}",
            stderr(&o)
        );
    }
    // Outside: the host's cgroup2 mount is untouched, and root moves a process freely.
    let host = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let line = host
        .lines()
        .find(|l| l.split(' ').nth(4) == Some(cg.to_str().unwrap()))
        .expect("the host's cgroup2 mount");
    assert!(
        line.split(' ')
            .nth(5)
            .unwrap()
            .split(',')
            .any(|o| o == "rw"),
        "{line}"
    );
    let me = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let rel = me
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .unwrap()
        .to_string();
    let mine = cg.join(rel.trim_start_matches('/')).join("cgroup.procs");
    let mut child = std::process::Command::new("sleep")
        .arg("5")
        .spawn()
        .unwrap();
    std::fs::write(&mine, child.id().to_string()).expect("root writes cgroup.procs outside");
    let _ = child.kill();
    let _ = child.wait();
}
