//! Exec rules on the real kernel (compat backend): curl cannot run from /usr/bin, from a copy
//! with the same name, through a symlink, by a relative path, from a script, or as
//! `ld.so /usr/bin/curl`; outside, curl runs. Kernel side: bpf/exec.bpf.c / fanotify.

mod common;

use common::*;

const LDSO: &str = "/lib64/ld-linux-x86-64.so.2";

#[test]
fn curl_cannot_run_by_any_spelling() {
    let Some(()) = need_root("curl_cannot_run_by_any_spelling") else {
        return;
    };
    let d = Daemon::start();
    let t = d.dir.path().display().to_string();
    std::fs::write(
        d.dir.path().join("script.sh"),
        "#!/bin/sh\ncurl --version\n",
    )
    .unwrap();
    std::process::Command::new("chmod")
        .args(["755", &format!("{t}/script.sh")])
        .status()
        .unwrap();
    let mut attempts = vec![
        ("absolute", "/usr/bin/curl --version".to_string()),
        ("PATH", "curl --version".to_string()),
        (
            "copy",
            format!("cp /usr/bin/curl {t}/curl && {t}/curl --version"),
        ),
        (
            "symlink",
            format!("ln -sf /usr/bin/curl {t}/fetch && {t}/fetch --version"),
        ),
        ("relative", "cd /usr/bin && ./curl --version".to_string()),
        ("script", format!("{t}/script.sh")),
        ("env", "env curl --version".to_string()),
    ];
    if std::path::Path::new(LDSO).exists() {
        attempts.push(("ld.so", format!("{LDSO} /usr/bin/curl --version")));
    }
    for (name, script) in &attempts {
        let o = d.run(&["--profile", &profile("nocurl"), "--", "sh", "-c", script]);
        assert!(
            !o.status.success(),
            "curl ran inside via {name}: {}",
            stdout(&o)
        );
        assert!(
            stderr(&o).contains("varmor: denied exec"),
            "{name}: no denial line: {}",
            stderr(&o)
        );
    }
    let o = d.run_as_user(&[
        "--profile",
        &profile("nocurl"),
        "--quiet",
        "--",
        "sh",
        "-c",
        "curl --version",
    ]);
    assert!(
        !o.status.success(),
        "curl ran inside as the unprivileged user"
    );
    assert!(
        host_sh("curl --version").status.success(),
        "curl must run outside"
    );
    assert!(
        host_sh(&format!("{LDSO} /usr/bin/curl --version"))
            .status
            .success()
            || !std::path::Path::new(LDSO).exists()
    );
    // Other programs still run inside.
    let o = d.run(&[
        "--profile",
        &profile("nocurl"),
        "--",
        "sh",
        "-c",
        "ls / >/dev/null && echo fine",
    ]);
    assert!(stdout(&o).contains("fine"), "{}", stderr(&o));
}
