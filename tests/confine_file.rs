//! File rules on the real kernel (compat backend): EPERM inside, works outside, precise
//! means exact, complain mode logs without denying, every denial prints a readable line.
//! Kernel side: bpf/file.bpf.c (bpf-lsm) / fanotify + Landlock (compat); compiler: src/profile/file.rs.

mod common;

use common::*;

const HOSTNAME_RULE: &str =
    "description: seed case\nfile:\n  - deny: read\n    paths: [/etc/hostname]\n";

#[test]
fn read_rule_denies_cat_inside_only() {
    let Some(()) = need_root("read_rule_denies_cat_inside_only") else {
        return;
    };
    let d = Daemon::start();
    let p = write_profile(d.dir.path(), "hostname", HOSTNAME_RULE);
    for as_user in [false, true] {
        let args = ["--profile", p.as_str(), "--", "cat", "/etc/hostname"];
        let o = if as_user {
            d.run_as_user(&args)
        } else {
            d.run(&args)
        };
        assert!(!o.status.success(), "cat succeeded inside (user={as_user})");
        let err = stderr(&o);
        assert!(err.contains("Operation not permitted"), "{err}");
        assert!(
            err.contains("varmor: denied open(read) /etc/hostname by cat[")
                && err.contains("rule file[0] (")
                && err.contains("hostname.yaml:3)"),
            "denial line missing or unreadable: {err}"
        );
    }
    assert!(
        host_sh("cat /etc/hostname").status.success(),
        "outside the sandbox cat must work"
    );
    assert!(
        d.log_text().contains("denied open(read) /etc/hostname"),
        "the log has the denial too"
    );
}

#[test]
fn precise_is_exact() {
    let Some(()) = need_root("precise_is_exact") else {
        return;
    };
    let d = Daemon::start();
    let dir = d.dir.path();
    std::fs::write(dir.join("shadow"), "s").unwrap();
    std::fs::write(dir.join("shadow-"), "t").unwrap();
    let yaml = format!(
        "file:\n  - deny: read\n    paths: [{}/shadow]\n",
        dir.display()
    );
    let p = write_profile(dir, "exact", &yaml);
    let sh = |f: &str| {
        d.run(&[
            "--profile",
            &p,
            "--quiet",
            "--",
            "cat",
            &format!("{}/{f}", dir.display()),
        ])
    };
    assert!(!sh("shadow").status.success(), "the precise path is denied");
    let o = sh("shadow-");
    assert!(
        o.status.success(),
        "`shadow` must not match `shadow-`: {}",
        stderr(&o)
    );
}

#[test]
fn write_and_append_rules_leave_reads_alone() {
    let Some(()) = need_root("write_and_append_rules_leave_reads_alone") else {
        return;
    };
    let d = Daemon::start();
    let f = d.dir.path().join("data");
    std::fs::write(&f, "x\n").unwrap();
    let yaml = format!(
        "file:\n  - deny: [write, append]\n    paths: [{}]\n",
        f.display()
    );
    let p = write_profile(d.dir.path(), "rw", &yaml);
    let run = |script: String| d.run(&["--profile", &p, "--quiet", "--", "sh", "-c", &script]);
    assert!(
        run(format!("cat {}", f.display())).status.success(),
        "reading is not denied"
    );
    assert!(
        !run(format!("echo y >> {}", f.display())).status.success(),
        "append is denied"
    );
    assert!(
        !run(format!("echo y > {}", f.display())).status.success(),
        "write is denied"
    );
    assert!(host_sh(&format!("echo y >> {}", f.display()))
        .status
        .success());
}

#[test]
fn complain_mode_logs_without_denying() {
    let Some(()) = need_root("complain_mode_logs_without_denying") else {
        return;
    };
    let d = Daemon::start();
    let p = write_profile(d.dir.path(), "hostname", HOSTNAME_RULE);
    let o = d.run(&["--profile", &p, "--complain", "--", "cat", "/etc/hostname"]);
    assert!(o.status.success(), "complain mode denied: {}", stderr(&o));
    assert!(
        stderr(&o).contains("varmor: would deny (complain mode) open(read) /etc/hostname"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn quiet_suppresses_the_line_but_not_the_denial() {
    let Some(()) = need_root("quiet_suppresses_the_line_but_not_the_denial") else {
        return;
    };
    let d = Daemon::start();
    let p = write_profile(d.dir.path(), "hostname", HOSTNAME_RULE);
    let o = d.run(&["--profile", &p, "--quiet", "--", "cat", "/etc/hostname"]);
    assert!(!o.status.success());
    assert!(!stderr(&o).contains("varmor: denied"), "{}", stderr(&o));
    assert!(d.log_text().contains("denied open(read) /etc/hostname"));
}

#[test]
fn seed_link_symlink_rename_cases() {
    let Some(()) = need_root("seed_link_symlink_rename_cases") else {
        return;
    };
    let d = Daemon::start();
    let t = d.dir.path().join("t");
    std::fs::create_dir(&t).unwrap();
    std::fs::write(t.join("source"), "s").unwrap();
    let yaml = format!(
        "file:\n  - deny: [create, write]\n    paths: [{t}/hostname_link]\n  - deny: [link]\n    paths: [{t}/hostname_hard_link]\n  - deny: [rename]\n    paths: [{t}/source]\n",
        t = t.display()
    );
    let p = write_profile(d.dir.path(), "links", &yaml);
    let cases = [
        format!("ln -s /etc/hostname {}/hostname_link", t.display()),
        format!(
            "ln {}/source {}/hostname_hard_link",
            t.display(),
            t.display()
        ),
        format!("mv {}/source {}/sink", t.display(), t.display()),
    ];
    for c in &cases {
        let o = d.run(&["--profile", &p, "--quiet", "--", "sh", "-c", c]);
        assert!(!o.status.success(), "`{c}` succeeded inside");
        assert!(
            stderr(&o).contains("ermission denied") || stderr(&o).contains("not permitted"),
            "{c}: {}",
            stderr(&o)
        );
    }
    for c in &cases {
        assert!(host_sh(c).status.success(), "`{c}` must work outside");
    }
}
