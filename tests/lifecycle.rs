//! Sandbox lifecycle: many sandboxes started and ended leave no map entries, cgroups, fds
//! or memory growth in varmord; concurrent launches all succeed; a reused namespace inode
//! inherits nothing.

mod common;

use std::time::{Duration, Instant};

use common::*;
use libbpf_rs::MapCore;

fn fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

fn rss_kib(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.split("VmRSS:")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn sandboxes(d: &Daemon) -> usize {
    varmor_launcher::client::list(&d.socket)
        .map(|l| l.len())
        .unwrap_or(usize::MAX)
}

fn settle(d: &Daemon) {
    let t = Instant::now();
    while (sandboxes(d) > 0 || cgroups(d) > 0) && t.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn cgroups(d: &Daemon) -> usize {
    std::fs::read_dir(&d.cgroup)
        .map(|r| {
            r.filter(|e| e.as_ref().is_ok_and(|e| e.path().is_dir()))
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn ten_thousand_sandboxes_leave_nothing_behind() {
    let Some(()) = need_root("ten_thousand_sandboxes_leave_nothing_behind") else {
        return;
    };
    let d = Daemon::start();
    let n: usize = std::env::var("VARMOR_LIFECYCLE_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    // Warm up, then measure from a steady state.
    for _ in 0..100 {
        assert!(d
            .run(&["--profile", &profile("nocurl"), "--quiet", "--", "true"])
            .status
            .success());
    }
    settle(&d);
    let (fd0, rss0) = (fds(d.pid()), rss_kib(d.pid()));
    let workers = 4;
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                for _ in 0..n / workers {
                    let o = d.run(&["--profile", &profile("nocurl"), "--quiet", "--", "true"]);
                    assert!(o.status.success(), "{}", stderr(&o));
                }
            });
        }
    });
    settle(&d);
    let (fd1, rss1) = (fds(d.pid()), rss_kib(d.pid()));
    eprintln!("lifecycle: {n} sandboxes; varmord fds {fd0} -> {fd1}, RSS {rss0} -> {rss1} KiB");
    assert_eq!(sandboxes(&d), 0);
    assert_eq!(cgroups(&d), 0, "sandbox cgroups left");
    assert!(fd1 <= fd0 + 2, "fd growth {fd0} -> {fd1}");
    assert!(rss1 < rss0 + 8 * 1024, "RSS growth {rss0} -> {rss1} KiB");
    let maps = varmor_kernel::bpf::Maps::open(&d.pins()).unwrap();
    let namespaces = maps
        .map(varmor_kernel::bpf::names::map::V_NS)
        .expect("v_ns")
        .keys()
        .count();
    assert_eq!(namespaces, 0, "namespaces left in v_ns");
}

#[test]
fn a_hundred_concurrent_launches_succeed() {
    let Some(()) = need_root("a_hundred_concurrent_launches_succeed") else {
        return;
    };
    let d = Daemon::start();
    // 100 at once; fewer where a starved client could stall past varmord's per-read bound
    // (VARMOR_LIFECYCLE_CONCURRENT: the kernel matrix's single-vCPU TCG guests).
    let n: usize = std::env::var("VARMOR_LIFECYCLE_CONCURRENT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let kids: Vec<_> = (0..n)
        .map(|_| {
            d.cmd(&["--profile", &profile("base"), "--quiet", "--", "true"])
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs: Vec<_> = kids
        .into_iter()
        .map(|k| k.wait_with_output().unwrap())
        .collect();
    let failed: Vec<_> = outs
        .iter()
        .filter(|o| !o.status.success())
        .map(stderr)
        .collect();
    let failed = (failed.len(), failed.first().cloned().unwrap_or_default());
    assert_eq!(
        failed.0, 0,
        "{} of {n} concurrent launches failed, e.g.: {}",
        failed.0, failed.1
    );
    settle(&d);
    assert_eq!(cgroups(&d), 0);
}
