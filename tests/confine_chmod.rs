//! chmod rules on the real kernel (compat: a seccomp user-notification filter answered by
//! varmord, which performs allowed calls itself): denied inside by path, through a symlink,
//! a relative path and an fd; allowed elsewhere; owner checks kept; works outside.
//! Code: crates/kernel/src/enforcer/compat/chmod.rs, crates/launcher/src/seccomp.rs; bpf-lsm: bpf/file.bpf.c.

mod common;

use std::os::unix::fs::PermissionsExt;

use common::*;

fn mode(p: &std::path::Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
fn chmod_rule_denies_every_spelling_and_nothing_else() {
    let Some(()) = need_root("chmod_rule_denies_every_spelling_and_nothing_else") else {
        return;
    };
    let d = Daemon::start();
    let (uid, gid) = test_user();
    let dir = d.dir.path().join("cm");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let (secret, free) = (dir.join("secret"), dir.join("free"));
    for f in [&secret, &free] {
        std::fs::write(f, "x").unwrap();
        std::fs::set_permissions(f, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::os::unix::fs::chown(f, Some(uid), Some(gid)).unwrap();
    }
    let p = write_profile(
        d.dir.path(),
        "chmod",
        &format!(
            "file:\n  - deny: chmod\n    paths: [{}]\n",
            secret.display()
        ),
    );
    let s = secret.display().to_string();
    for (what, script) in [
        ("path", format!("chmod 600 {s}")),
        (
            "relative",
            format!("cd {} && chmod 600 secret", dir.display()),
        ),
        (
            "symlink",
            format!("ln -sf {s} {0}/link && chmod 600 {0}/link", dir.display()),
        ),
        (
            "fchmod",
            format!(
                "/usr/bin/python3 -c \"import os; os.fchmod(os.open('{s}', os.O_RDONLY), 0o600)\""
            ),
        ),
    ] {
        let o = d.run_as_user(&["--profile", &p, "--", "sh", "-c", &script]);
        assert!(!o.status.success(), "{what}: chmod succeeded inside");
        let err = stderr(&o);
        assert!(
            err.contains("varmor: denied chmod") && err.contains("Operation not permitted"),
            "{what}: {err}"
        );
        assert_eq!(mode(&secret), 0o644, "{what}: mode changed");
    }
    // Another file of the user's changes; a file the user does not own does not.
    let hostname = mode(std::path::Path::new("/etc/hostname"));
    let o = d.run_as_user(&[
        "--profile",
        &p,
        "--",
        "sh",
        "-c",
        &format!("chmod 600 {} && chmod 600 /etc/hostname", free.display()),
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("'/etc/hostname': Operation not permitted"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        mode(&free),
        0o600,
        "chmod of an unprotected file works inside"
    );
    assert_eq!(mode(std::path::Path::new("/etc/hostname")), hostname);
    // Outside, the same chmod works.
    assert!(host_sh(&format!("chmod 600 {s}")).status.success());
    assert_eq!(mode(&secret), 0o600);
}
