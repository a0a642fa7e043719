//! Faults around varmord's state: bpffs not mounted, the pin directory removed under it,
//! the maps full or the open-file limit reached (a clear refusal and no partial policy), a
//! log on a full disk. Each checks that enforcement still holds and nothing is left behind.
//! Code: crates/daemon/src/lib.rs, crates/daemon/src/reap.rs, crates/kernel/src/bpf/maps.rs, crates/daemon/src/denial.rs.

mod common;

use std::process::{Child, Stdio};

use common::*;
use libbpf_rs::MapCore;

const HOSTNAME: &str = "file:\n  - deny: read\n    paths: [/etc/hostname]\n";

fn assert_denies(d: &Daemon, profile: &str) {
    let o = d.run(&[
        "--profile",
        profile,
        "--quiet",
        "--",
        "cat",
        "/etc/hostname",
    ]);
    assert!(!o.status.success(), "cat /etc/hostname ran: {}", stdout(&o));
    assert!(
        stderr(&o).contains("Operation not permitted"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn bpffs_not_mounted_is_mounted_by_varmord() {
    let Some(()) = need_root("bpffs_not_mounted_is_mounted_by_varmord") else {
        return;
    };
    // varmord in a mount namespace of its own where /sys/fs/bpf is not mounted: it mounts
    // bpffs itself. The namespace (and that mount) ends with varmord.
    let d = Daemon::start_prefixed(
        &[
            "unshare",
            "-m",
            "--propagation",
            "private",
            "--",
            "sh",
            "-c",
            "umount -l /sys/fs/bpf 2>/dev/null; mountpoint -q /sys/fs/bpf && exit 9; exec \"$0\" \"$@\"",
        ],
        &[],
    );
    let p = write_profile(d.dir.path(), "hostname", HOSTNAME);
    assert_denies(&d, &p);
    assert!(
        !d.pin_dir.exists(),
        "pins went to the host's bpffs instead of varmord's own mount"
    );
    assert!(host_sh("cat /etc/hostname").status.success());
}

#[test]
fn pin_dir_removed_under_a_running_varmord() {
    let Some(()) = need_root("pin_dir_removed_under_a_running_varmord") else {
        return;
    };
    let d = Daemon::start();
    let p = write_profile(d.dir.path(), "hostname", HOSTNAME);
    assert_denies(&d, &p);
    // Unpinning does not free the maps or detach programs varmord holds open.
    std::fs::remove_dir_all(&d.pin_dir).unwrap();
    assert_denies(&d, &p);
    let ok = d.run(&["--profile", &profile("base"), "--", "true"]);
    assert!(ok.status.success(), "{}", stderr(&ok));
}

#[test]
fn a_log_on_a_full_disk_does_not_stop_enforcement() {
    let Some(()) = need_root("a_log_on_a_full_disk_does_not_stop_enforcement") else {
        return;
    };
    let d = Daemon::start_with(&["--log", "/dev/full"]);
    let p = write_profile(d.dir.path(), "hostname", HOSTNAME);
    for _ in 0..3 {
        assert_denies(&d, &p);
    }
    let ok = d.run(&["--profile", &profile("base"), "--", "true"]);
    assert!(ok.status.success(), "{}", stderr(&ok));
}

fn ns_entries(d: &Daemon) -> usize {
    let maps = varmor_kernel::bpf::Maps::open(&d.pins()).expect("maps");
    maps.map(varmor_kernel::bpf::names::map::V_NS)
        .expect("v_ns")
        .keys()
        .count()
}

#[test]
fn full_maps_refuse_clearly_and_leave_no_partial_policy() {
    let Some(()) = need_root("full_maps_refuse_clearly_and_leave_no_partial_policy") else {
        return;
    };
    let d = Daemon::start();
    // 20,000 exact paths per sandbox: the path map (262,144 entries) fills at the 14th.
    let mut yaml = String::from("description: fills the maps\nfile:\n  - deny: read\n    paths:\n");
    for i in 0..20_000 {
        yaml += &format!("      - /nonexistent/fill/{i}\n");
    }
    let big = write_profile(d.dir.path(), "big", &yaml);
    let mut live: Vec<Child> = Vec::new();
    let (before, code, err) = loop {
        assert!(
            live.len() < 20,
            "20 sandboxes of 20,000 rules and no refusal"
        );
        let before = ns_entries(&d);
        match launch(&d, &big, before) {
            Ok(c) => live.push(c),
            Err((code, err)) => break (before, code, err),
        }
    };
    check_refused(&d, before, code, &err);
    for mut k in live.drain(..) {
        let _ = k.kill();
        let _ = k.wait();
    }
}

#[test]
fn an_open_file_limit_caps_live_sandboxes_with_a_clear_refusal() {
    let Some(()) = need_root("an_open_file_limit_caps_live_sandboxes_with_a_clear_refusal") else {
        return;
    };
    // 280 descriptors: 256 kept free, 6 per sandbox, so room for 4 (sysctl.rs).
    let d = Daemon::start_prefixed(&["prlimit", "--nofile=280:280", "--"], &[]);
    let hostname = write_profile(d.dir.path(), "hostname", HOSTNAME);
    let mut live: Vec<Child> = Vec::new();
    for _ in 0..4 {
        let before = ns_entries(&d);
        live.push(launch(&d, &hostname, before).expect("a sandbox within the limit"));
    }
    let before = ns_entries(&d);
    let (code, err) = launch(&d, &hostname, before)
        .map(drop)
        .expect_err("a 5th sandbox");
    assert_eq!(code, Some(125), "{err}");
    assert!(
        err.contains("4 live sandboxes") && err.contains("LimitNOFILE"),
        "unclear refusal: {err}"
    );
    assert_eq!(ns_entries(&d), before, "a partial policy was left");
    // The limit is on live sandboxes: once one ends, a launch fits again.
    let mut first = live.remove(0);
    first.kill().unwrap();
    first.wait().unwrap();
    let t = std::time::Instant::now();
    while ns_entries(&d) >= before {
        assert!(
            t.elapsed() < std::time::Duration::from_secs(10) * time_scale(),
            "not reaped"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let o = d.run(&[
        "--profile",
        &hostname,
        "--quiet",
        "--",
        "cat",
        "/etc/hostname",
    ]);
    assert!(
        stderr(&o).contains("Operation not permitted"),
        "{}",
        stderr(&o)
    );
    for mut k in live {
        let _ = k.kill();
        let _ = k.wait();
    }
}

/// Starts one sleeping sandbox: Ok once its namespace is in the maps, Err(exit, stderr)
/// when the launcher gave up.
fn launch(d: &Daemon, profile: &str, before: usize) -> Result<Child, (Option<i32>, String)> {
    let mut c = d
        // Long enough to outlive every launch after it (each takes ~30 s under TCG); killed at the end.
        .cmd(&["--profile", profile, "--quiet", "--", "sleep", "3600"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t = std::time::Instant::now();
    loop {
        if ns_entries(d) > before {
            return Ok(c);
        }
        if c.try_wait().unwrap().is_some() {
            let o = c.wait_with_output().unwrap();
            return Err((o.status.code(), stderr(&o)));
        }
        // 20,000 rules: slow to compile and load under qemu's TCG (the kernel matrix).
        assert!(
            t.elapsed() < std::time::Duration::from_secs(30) * time_scale(),
            "launch neither confined nor refused"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The refused launch: exit 125, a line saying which map is full, and the maps hold
/// exactly the namespaces they held before it; the sandboxes already running still deny.
fn check_refused(d: &Daemon, before: usize, code: Option<i32>, err: &str) {
    eprintln!(
        "full maps: refused after {before} sandboxes: {}",
        err.trim()
    );
    assert_eq!(code, Some(125), "{err}");
    assert!(
        err.contains("full") || err.contains("map"),
        "unclear refusal: {err}"
    );
    assert_eq!(ns_entries(d), before, "a partial policy was left");
    // A full map comes at the 14th; the kernel may run out of memory for entries sooner
    // (a memory cgroup at its limit: CI's machines), which must be said as such.
    if err.contains("had no memory") {
        eprintln!("full maps: the kernel ran out of memory before the maps filled");
    } else {
        assert!(err.contains("is full"), "unclear refusal: {err}");
        assert!(before >= 10, "refused after only {before} sandboxes: {err}");
    }
    let small = write_profile(d.dir.path(), "hostname", HOSTNAME);
    // Room for a small profile may or may not remain; a refusal must still be clean.
    let o = d.run(&["--profile", &small, "--quiet", "--", "cat", "/etc/hostname"]);
    assert!(!o.status.success());
}

#[test]
fn pins_of_another_build_are_never_adopted() {
    let Some(()) = need_root("pins_of_another_build_are_never_adopted") else {
        return;
    };
    // A varmord of "another build" crashed and left its pins (maps and network links)
    // under another build's tag; the next varmord must detach and remove them, not adopt.
    let mut d = Daemon::start();
    let p = write_profile(d.dir.path(), "hostname", HOSTNAME);
    let old = d.pin_dir.join("abi0-0000000000000000");
    // SAFETY: plain kill(2) of our own child.
    unsafe { libc::kill(d.pid() as i32, libc::SIGKILL) };
    std::thread::sleep(std::time::Duration::from_millis(300));
    std::fs::rename(d.pins(), &old).expect("move the pins to another build's name");
    let links: Vec<_> = std::fs::read_dir(old.join("links"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(!links.is_empty(), "the crashed varmord left links");
    d.respawn();
    assert!(!old.exists(), "the other build's pins were adopted or left");
    assert!(
        d.pins().join("v_ns").exists(),
        "this build pins under its own tag"
    );
    assert_denies(&d, &p);
}
