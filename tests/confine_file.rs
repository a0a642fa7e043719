//! File rules on the real kernel (compat backend): EPERM inside, works outside, precise
//! means exact, complain mode logs without denying, every denial prints a readable line.
//! Kernel side: bpf/file.bpf.c (bpf-lsm) / fanotify + Landlock (compat); compiler: crates/core/src/profile/file.rs.

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

#[test]
fn a_path_too_deep_to_name_is_still_denied() {
    let Some(()) = need_root("a_path_too_deep_to_name_is_still_denied") else {
        return;
    };
    let d = Daemon::start();
    let dir = d.dir.path().join("deep");
    // 40 components of 120 bytes: deeper than the kernel side's 4 KiB path buffer.
    let comp = "d".repeat(120);
    let mut leaf = dir.clone();
    for _ in 0..40 {
        leaf.push(&comp);
    }
    std::fs::create_dir_all(&dir).unwrap();
    let walk = format!(
        "import os,sys\nos.chdir('{}')\nfor _ in range(40):\n os.makedirs('{comp}', exist_ok=True); os.chdir('{comp}')\n",
        dir.display()
    );
    let make = format!("{walk}open('secret','w').write('SECRET')\n");
    let read = format!(
        "{walk}try:\n print(open('secret').read())\nexcept OSError as e:\n print('ERR', e.errno); sys.exit(1)\n"
    );
    let py = |code: &str| {
        std::process::Command::new("python3")
            .args(["-c", code])
            .output()
            .unwrap()
    };
    let o = py(&make);
    assert!(o.status.success(), "setup: {}", stderr(&o));
    let yaml = format!("file:\n  - deny: read\n    paths: [{}/**]\n", dir.display());
    let p = write_profile(d.dir.path(), "deep", &yaml);
    let inside = d.run(&["--profile", &p, "--", "python3", "-c", &read]);
    let outside = py(&read);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        !inside.status.success() && stdout(&inside).contains("ERR 1"),
        "read {} bytes deep got through: {}{}",
        leaf.as_os_str().len(),
        stdout(&inside),
        stderr(&inside)
    );
    assert!(
        stderr(&inside).contains("varmor: denied open(read)"),
        "no denial line: {}",
        stderr(&inside)
    );
    assert!(
        stdout(&outside).contains("SECRET"),
        "outside the sandbox the read works: {}",
        stderr(&outside)
    );
}

#[test]
fn a_right_the_kernels_landlock_lacks_is_not_enforced_said_and_refused() {
    let Some(()) = need_root("a_right_the_kernels_landlock_lacks_is_not_enforced_said_and_refused")
    else {
        return;
    };
    let d = Daemon::start();
    let dir = d.dir.path().join("keep");
    std::fs::create_dir_all(&dir).unwrap();
    let f = dir.join("data");
    std::fs::write(&f, "0123456789").unwrap();
    let yaml = format!(
        "file:\n  - deny: truncate\n    paths: [{}/**]\n",
        dir.display()
    );
    let p = write_profile(d.dir.path(), "trunc", &yaml);
    let script = format!("truncate -s 0 {}", f.display());
    let o = d.run(&["--profile", &p, "--", "sh", "-c", &script]);
    // Landlock carries truncate on compat from ABI 3 (Linux 6.2); bpf-lsm has its hook.
    let abi = varmor_kernel::enforcer::landlock::kernel_abi().unwrap_or(0);
    let backend = d.running_backend().unwrap_or_default();
    if backend == "compat" && abi < 3 {
        let err = stderr(&o);
        assert!(
            !o.status.success()
                && err.contains("NOT ENFORCED: file[0]")
                && err.contains("truncate")
                && err.contains("needs ABI 3"),
            "Landlock ABI {abi}: the truncate rule must be refused as not enforced: {err}"
        );
        assert_eq!(std::fs::read(&f).unwrap().len(), 10, "refused: nothing ran");
        let o = d.run(&[
            "--profile",
            &p,
            "--allow-partial",
            "--",
            "sh",
            "-c",
            &script,
        ]);
        assert!(
            stderr(&o).contains("--allow-partial: NOT ENFORCED: file[0]"),
            "{}",
            stderr(&o)
        );
    } else {
        let err = stderr(&o);
        assert!(
            !o.status.success(),
            "truncate got through on {backend}: {err}"
        );
        assert!(
            err.contains("Operation not permitted") || err.contains("Permission denied"),
            "{err}"
        );
        // bpf-lsm: the path_truncate hook's line. compat: Landlock's refusal, a line where
        // audit is on (ABI 7 records), else the launch note naming what Landlock withholds.
        let said = err.contains("varmor: denied")
            || (backend == "compat"
                && err.contains("varmor-run: note: Landlock")
                && err.contains("truncate"));
        assert!(said, "no line says why: {err}");
        assert_eq!(std::fs::read(&f).unwrap().len(), 10);
    }
    let o = host_sh(&script);
    assert!(o.status.success(), "outside, truncate works");
    assert!(std::fs::read(&f).unwrap().is_empty());
}
