//! Faults: varmord killed while sandboxes run (compat: they are killed, never left
//! unconfined), varmord restarted, socket missing.

mod common;

use std::time::{Duration, Instant};

use common::*;

#[test]
fn sandboxes_die_with_varmord_on_compat() {
    let Some(()) = need_root("sandboxes_die_with_varmord_on_compat") else {
        return;
    };
    let mut d = Daemon::start();
    let p = write_profile(
        d.dir.path(),
        "hostname",
        "file:\n  - deny: read\n    paths: [/etc/hostname]\n",
    );
    let marker = d.dir.path().join("escaped");
    // The sandbox waits, then tries the denied read; if it were unconfined it would succeed.
    let script = format!(
        "sleep 2; cat /etc/hostname > {} 2>/dev/null; sleep 5",
        marker.display()
    );
    let mut child = d
        .cmd(&["--profile", &p, "--quiet", "--", "sh", "-c", &script])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    // SIGKILL varmord: no clean shutdown.
    // SAFETY: kill(2) on our own child process.
    unsafe { libc::kill(d.pid() as i32, libc::SIGKILL) };
    let t = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "the sandbox outlived varmord"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(!status.success(), "the sandbox was not killed: {status:?}");
    std::thread::sleep(Duration::from_secs(2));
    let leaked = std::fs::read_to_string(&marker).unwrap_or_default();
    assert!(
        leaked.is_empty(),
        "the sandbox read the denied file after varmord died"
    );
    d.stop();
}

#[test]
fn restart_serves_again_and_kills_orphans() {
    let Some(()) = need_root("restart_serves_again_and_kills_orphans") else {
        return;
    };
    let mut d = Daemon::start();
    assert!(d
        .run(&["--profile", &profile("base"), "--", "true"])
        .status
        .success());
    d.stop();
    let d2 = Daemon::start();
    let o = d2.run(&["--profile", &profile("base"), "--", "sh", "-c", "echo ok"]);
    assert!(stdout(&o).contains("ok"), "{}", stderr(&o));
}

#[test]
fn socket_missing_fails_closed() {
    let Some(()) = need_root("socket_missing_fails_closed") else {
        return;
    };
    let d = Daemon::start();
    std::fs::remove_file(&d.socket).unwrap();
    let o = d.run(&["--profile", &profile("base"), "--", "sh", "-c", "echo RAN"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(!stdout(&o).contains("RAN"));
}
