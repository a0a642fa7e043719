//! Which backend varmord runs, and that it is one proven on this boot (issue: fail-open on
//! kernels whose LSM list lacks `bpf`). `VARMOR_TEST_EXPECT_AUTO` says what `auto` must
//! pick on this boot: compat by default (this host cannot attach LSM programs); the
//! kernel matrix (scripts/matrix.sh) sets bpf-lsm on stock Debian kernels and compat on
//! a boot with Ubuntu's `lsm=` list. The expectation comes from how the machine was
//! booted, never from the product's own probe.
//! Code: crates/daemon/src/backend.rs, crates/daemon/src/canary.rs, crates/daemon/src/probe.rs.

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;

fn expected_auto() -> String {
    std::env::var("VARMOR_TEST_EXPECT_AUTO").unwrap_or_else(|_| "compat".into())
}

fn lsm_list() -> String {
    std::fs::read_to_string("/sys/kernel/security/lsm")
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn denied(o: &std::process::Output, what: &str) {
    let err = stderr(o);
    assert!(!o.status.success(), "{what}: succeeded inside:\n{err}");
    assert!(
        err.contains("Operation not permitted") || err.contains("Permission denied"),
        "{what}: {err}"
    );
    assert!(
        err.contains("varmor: denied"),
        "{what}: no denial line:\n{err}"
    );
}

#[test]
fn auto_picks_the_proven_backend_and_it_enforces_the_seed_cases() {
    let Some(()) = need_root("auto_picks_the_proven_backend") else {
        return;
    };
    let d = Daemon::start_with(&["--backend", "auto"]);
    assert_eq!(
        d.running_backend().as_deref(),
        Some(expected_auto().as_str()),
        "active LSMs: {}\n{}",
        lsm_list(),
        d.stderr_text()
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let p = write_profile(
        d.dir.path(),
        "seed",
        &format!(
            "file:\n  - deny: read\n    paths: [/etc/hostname]\nexec:\n  - deny: [\"**/curl\"]\n\
             network:\n  - deny: [connect]\n    addresses: [127.0.0.1]\n    ports: [{port}]\n"
        ),
    );
    let connect = format!("exec 3<>/dev/tcp/127.0.0.1/{port}");
    for as_user in [false, true] {
        let run = |cmd: &[&str]| {
            let mut args = vec!["--profile", p.as_str(), "--"];
            args.extend(cmd);
            if as_user {
                d.run_as_user(&args)
            } else {
                d.run(&args)
            }
        };
        denied(&run(&["cat", "/etc/hostname"]), "cat /etc/hostname");
        denied(&run(&["curl", "--version"]), "curl --version");
        denied(&run(&["bash", "-c", &connect]), "connect to the listener");
        // The rest of the sandbox works.
        assert!(run(&["cat", "/etc/passwd"]).status.success());
    }
    assert!(host_sh("cat /etc/hostname").status.success());
    assert!(host_sh("curl --version").status.success());
    assert!(Command::new("bash")
        .args(["-c", &connect])
        .status()
        .unwrap()
        .success());
}

#[test]
fn named_bpf_lsm_is_refused_unless_proven() {
    let Some(()) = need_root("named_bpf_lsm_is_refused_unless_proven") else {
        return;
    };
    if expected_auto() == "bpf-lsm" {
        let d = Daemon::start_with(&["--backend", "bpf-lsm"]);
        assert_eq!(d.running_backend().as_deref(), Some("bpf-lsm"));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let tag = format!("varmor-test-refuse-{}", std::process::id());
    let pins = std::path::PathBuf::from("/sys/fs/bpf").join(&tag);
    let cgroup = varmor_daemon::cgroup::cgroup2_mount().unwrap().join(&tag);
    let mut child = Command::new(env!("CARGO_BIN_EXE_varmord"))
        .args(["--backend", "bpf-lsm", "--socket"])
        .arg(dir.path().join("s.sock"))
        .arg("--pin-dir")
        .arg(&pins)
        .arg("--cgroup-root")
        .arg(&cgroup)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let t = std::time::Instant::now();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if t.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("varmord --backend bpf-lsm started on a boot where bpf-lsm is not proven");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains("no usable backend: bpf-lsm:"), "{err}");
    let list = lsm_list();
    if !list.split(',').any(|m| m == "bpf") {
        assert!(
            err.contains(&format!("lsm={list},bpf")),
            "the refusal names the boot parameter: {err}"
        );
    }
    assert!(!pins.exists(), "pins left behind");
    assert!(!cgroup.exists(), "cgroup left behind");
    assert!(!dir.path().join("s.sock").exists());
}

#[test]
fn probe_reports_what_it_saw_fire() {
    let Some(()) = need_root("probe_reports_what_it_saw_fire") else {
        return;
    };
    let o = Command::new(env!("CARGO_BIN_EXE_varmord"))
        .args(["--probe", "--format", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("probe json");
    let want = expected_auto();
    assert_eq!(v["backend_auto"], want.as_str(), "{v:#}");
    assert_eq!(v["compat_hooks"]["fires"], true, "{v:#}");
    assert_eq!(v["bpf_lsm_hooks"]["fires"], want == "bpf-lsm", "{v:#}");
    for h in v["compat_hooks"]["hooks"].as_array().unwrap() {
        assert_eq!(h["fires"], true, "{h}");
    }
    let text = Command::new(env!("CARGO_BIN_EXE_varmord"))
        .arg("--probe")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("BPF LSM hooks fire"), "{text}");
    assert!(
        text.contains(&format!("backend (auto)       {want}")),
        "{text}"
    );
    // The probe leaves nothing behind.
    let leftovers: Vec<_> = std::fs::read_dir("/sys/fs/bpf")
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("varmor-probe-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_normal_start_and_stop_logs_no_error() {
    let Some(()) = need_root("a_normal_start_and_stop_logs_no_error") else {
        return;
    };
    let mut d = Daemon::start();
    let o = d.run(&["--profile", &profile("nocurl"), "--", "curl", "--version"]);
    assert!(!o.status.success(), "{}", stderr(&o));
    d.stop();
    let err = d.stderr_text();
    assert!(err.contains("varmord: stopped"), "{err}");
    let errors: Vec<&str> = err.lines().filter(|l| l.contains("ERROR")).collect();
    assert!(
        errors.is_empty(),
        "start/stop logged:\n{}",
        errors.join("\n")
    );
}
