//! A launcher started under chroot (build chroots: sbuild, mock, schroot) is refused with
//! a line that says why, on every backend: both name paths from the mount namespace's root,
//! so an exact rule such as /etc/shadow would silently stop matching under the chroot's
//! prefix. Code: crates/daemon/src/handler.rs (the caller's /proc/PID/root, as the kernel sees it).

mod common;

use common::*;

const HOSTNAME: &str = "file:\n  - deny: read\n    paths: [/etc/hostname]\n";

#[test]
fn chrooted_launcher_is_refused_with_the_reason() {
    let Some(()) = need_root("chrooted_launcher_is_refused_with_the_reason") else {
        return;
    };
    let d = Daemon::start();
    let p = write_profile(d.dir.path(), "hostname", HOSTNAME);
    let newroot = d.dir.path().join("newroot");
    std::fs::create_dir(&newroot).unwrap();
    let run = env!("CARGO_BIN_EXE_varmor-run");
    let sock = d.socket.display().to_string();
    // A chroot into a recursive bind of / itself: every file is where it was, only the
    // root differs, so only the refusal can make the command fail.
    let script = format!(
        "mount --rbind / {nr} && exec chroot {nr} {run} --socket {sock} --profile {p} -- cat /etc/hostname",
        nr = newroot.display()
    );
    for as_user in [false, true] {
        let mut c = std::process::Command::new("unshare");
        if as_user {
            let (uid, gid) = test_user();
            std::os::unix::process::CommandExt::uid(&mut c, uid);
            std::os::unix::process::CommandExt::gid(&mut c, gid);
            c.args(["-Ur"]);
        }
        let o = c
            .args(["-m", "--propagation", "private", "sh", "-c", &script])
            .output()
            .unwrap();
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(125), "as_user={as_user}: {err}");
        assert!(
            err.contains("runs under chroot"),
            "as_user={as_user}: {err}"
        );
        assert!(stdout(&o).is_empty(), "the target ran: {}", stdout(&o));
    }
    // The same launch outside the chroot is confined and denied with a line.
    let o = d.run(&["--profile", p.as_str(), "--", "cat", "/etc/hostname"]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("varmor: denied"), "{}", stderr(&o));
}
