//! The seed cases run against the bpf-lsm backend (varmord --backend bpf-lsm): file, exec,
//! network, capability, mount and link/rename rules answered by BPF LSM programs. Where the
//! kernel does not let LSM programs attach, every test here skips and prints the kernel's
//! answer; `VARMOR_TEST_REQUIRE=bpf-lsm` turns that skip into a failure.
//! Programs: bpf/*.bpf.c; the same cases on compat: tests/confine_*.rs.

mod common;

use common::*;

/// A varmord on the bpf-lsm backend, or None (skip) with the reason printed.
fn lsm_daemon(test: &str) -> Option<Daemon> {
    need_root(test)?;
    let probe = std::process::Command::new(env!("CARGO_BIN_EXE_varmord"))
        .args(["--probe", "--format", "json"])
        .output()
        .expect("varmord --probe");
    let v: serde_json::Value = serde_json::from_slice(&probe.stdout).expect("probe json");
    if let Some(why) = v["bpf_lsm_attach"].get("Err") {
        let required = std::env::var("VARMOR_TEST_REQUIRE")
            .is_ok_and(|r| r.split(',').any(|x| x.trim() == "bpf-lsm"));
        let msg = format!("{test}: BPF LSM programs cannot attach on this kernel: {why}");
        assert!(!required, "VARMOR_TEST_REQUIRE=bpf-lsm, but {msg}");
        skip(&msg);
        return None;
    }
    Some(Daemon::start_with(&["--backend", "bpf-lsm"]))
}

fn denied(o: &std::process::Output, what: &str) {
    assert!(!o.status.success(), "{what}: succeeded inside");
    let err = stderr(o);
    assert!(
        err.contains("Operation not permitted") || err.contains("Permission denied"),
        "{what}: {err}"
    );
}

#[test]
fn lsm_file_read_rule() {
    let Some(d) = lsm_daemon("lsm_file_read_rule") else {
        return;
    };
    let p = write_profile(
        d.dir.path(),
        "hostname",
        "file:\n  - deny: read\n    paths: [/etc/hostname]\n",
    );
    for as_user in [false, true] {
        let args = ["--profile", p.as_str(), "--", "cat", "/etc/hostname"];
        let o = if as_user {
            d.run_as_user(&args)
        } else {
            d.run(&args)
        };
        denied(&o, "cat /etc/hostname");
        assert!(stderr(&o).contains("varmor: denied"), "{}", stderr(&o));
    }
    assert!(host_sh("cat /etc/hostname").status.success());
}

#[test]
fn lsm_exec_rule_by_every_spelling() {
    let Some(d) = lsm_daemon("lsm_exec_rule_by_every_spelling") else {
        return;
    };
    let nocurl = profile("nocurl");
    let ld = if std::path::Path::new("/lib64/ld-linux-x86-64.so.2").exists() {
        "/lib64/ld-linux-x86-64.so.2"
    } else {
        "/lib/ld-linux-aarch64.so.1"
    };
    for cmd in [
        &["curl", "--version"][..],
        &["/usr/bin/curl", "--version"],
        &[ld, "/usr/bin/curl", "--version"],
    ] {
        let mut args = vec!["--profile", nocurl.as_str(), "--"];
        args.extend(cmd);
        let o = d.run_as_user(&args);
        assert!(!o.status.success(), "{cmd:?} ran inside");
    }
    assert!(host_sh("curl --version").status.success());
}

#[test]
fn lsm_network_connect_rule() {
    let Some(d) = lsm_daemon("lsm_network_connect_rule") else {
        return;
    };
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let p = write_profile(
        d.dir.path(),
        "port",
        &format!("network:\n  - deny: connect\n    addresses: [127.0.0.1]\n    ports: [{port}]\n"),
    );
    let py = format!("import socket; socket.create_connection(('127.0.0.1', {port}))");
    let o = d.run_as_user(&["--profile", &p, "--", "/usr/bin/python3", "-c", &py]);
    denied(&o, "connect");
    let py6 = format!("import socket; socket.create_connection(('::ffff:127.0.0.1', {port}))");
    let o = d.run_as_user(&["--profile", &p, "--", "/usr/bin/python3", "-c", &py6]);
    denied(&o, "connect v4-mapped v6");
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
}

#[test]
fn lsm_link_rename_symlink_seeds() {
    let Some(d) = lsm_daemon("lsm_link_rename_symlink_seeds") else {
        return;
    };
    let dir = d.dir.path();
    std::fs::write(dir.join("secret"), "s").unwrap();
    let p = write_profile(
        dir,
        "seeds",
        &format!(
            "file:\n  - deny: [link, rename]\n    paths: [{0}/secret]\n  - deny: create\n    paths: [{0}/hostname_link]\n",
            dir.display()
        ),
    );
    for (what, script) in [
        ("link", format!("ln {0}/secret {0}/l", dir.display())),
        ("rename", format!("mv {0}/secret {0}/moved", dir.display())),
        (
            "symlink",
            format!("ln -s /etc/hostname {0}/hostname_link", dir.display()),
        ),
    ] {
        let o = d.run(&["--profile", &p, "--", "sh", "-c", &script]);
        assert!(!o.status.success(), "{what} succeeded inside");
    }
}

#[test]
fn lsm_capability_and_mount_rules() {
    let Some(d) = lsm_daemon("lsm_capability_and_mount_rules") else {
        return;
    };
    let o = d.run(&[
        "--profile",
        &profile("disable-cap-net-raw"),
        "--",
        "/usr/bin/python3",
        "-c",
        "import socket; socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)",
    ]);
    denied(&o, "raw socket");
    let o = d.run(&[
        "--profile",
        &profile("disallow-mount"),
        "--",
        "mount",
        "-t",
        "tmpfs",
        "t",
        "/mnt",
    ]);
    assert!(!o.status.success(), "mount succeeded inside");
}
