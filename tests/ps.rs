//! `varmor-run --ps` against a real varmord: a user sees their own live sandbox with its
//! denial count, root sees everyone's, and the list empties when the sandbox ends.
//! Code: crates/launcher/src/ps.rs, crates/daemon/src/registry.rs.

mod common;

use std::time::{Duration, Instant};

use common::*;
use std::os::unix::process::CommandExt;

fn ps_json(d: &Daemon, as_user: bool) -> Vec<serde_json::Value> {
    let args = ["--ps", "--format", "json"];
    let o = if as_user {
        d.run_as_user(&args)
    } else {
        d.run(&args)
    };
    assert!(o.status.success(), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).expect("--ps --format json is JSON")
}

#[test]
fn ps_lists_live_sandboxes_with_denials() {
    let Some(()) = need_root("ps_lists_live_sandboxes_with_denials") else {
        return;
    };
    let d = Daemon::start();
    let (uid, _) = test_user();
    let mut child = d
        .cmd(&[
            "--profile",
            &profile("nocurl"),
            "--quiet",
            "--",
            "sh",
            "-c",
            "curl --version >/dev/null 2>&1; exec sleep 30",
        ])
        .uid(uid)
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mine = loop {
        let l = ps_json(&d, true);
        if l.first().is_some_and(|s| s["denials"].as_u64() > Some(0)) || Instant::now() > deadline {
            break l;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0]["uid"], uid);
    assert_eq!(mine[0]["backend"], d.running_backend().unwrap().as_str());
    assert!(mine[0]["profile"].as_str().unwrap().contains("nocurl"));
    assert!(mine[0]["denials"].as_u64().unwrap() >= 1, "{mine:?}");
    // Root sees it too; the text form has a header and the row.
    assert_eq!(ps_json(&d, false).len(), 1);
    let text = stdout(&d.run(&["--ps"]));
    assert!(
        text.starts_with("ID") && text.contains("varmor-test"),
        "{text}"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !ps_json(&d, true).is_empty() {
        assert!(
            Instant::now() < deadline,
            "sandbox still listed after it ended"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
