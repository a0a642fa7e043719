//! Escape suite, namespaces and privileges (issue 9): new namespaces, joining other
//! processes' namespaces, setuid and file-capability binaries, ptrace and /proc/PID/mem of
//! processes outside, io_uring, the controlling terminal, leaving the sandbox's cgroup, and
//! a stale policy on a reused namespace inode. One child per attempt, as root and as the
//! test user, with the same trick outside as control. Machinery: tests/common/escape.rs.
//!
//! Errnos: the seccomp anti-escape filter answers EPERM for unshare/setns/clone with a
//! namespace flag and ENOSYS for clone3 (so libc falls back to clone, whose flags it can
//! see); opening another process's /proc/PID/{ns/*,mem} is EACCES and ptrace,
//! process_vm_readv and pidfd_getfd are EPERM (Landlock's ptrace scoping); no_new_privs
//! and the emptied bounding set leave a setuid or file-capability program without euid 0
//! or capabilities (the helper reports that as EPERM), and the kernel refuses outright
//! (EPERM) to exec an `ep` file-capability binary whose capabilities it cannot grant.

mod common;
#[path = "common/escape.rs"]
mod escape;

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use escape::*;

const TESTS: usize = 5;
const ENXIO: i32 = libc::ENXIO;

#[test]
fn no_new_namespaces() {
    let Some(mut env) = Env::start("no_new_namespaces") else {
        return;
    };
    let base = common::profile("base");
    // Flags an unprivileged user can use outside (with a user namespace), and root-only ones.
    let both = [
        ("CLONE_NEWUSER", "0x10000000"),
        ("CLONE_NEWUSER|CLONE_NEWNS", "0x10020000"),
        ("CLONE_NEWUSER|CLONE_NEWNET", "0x50000000"),
    ];
    let root_only = [("CLONE_NEWNS", "0x20000"), ("CLONE_NEWNET", "0x40000000")];
    for who in Who::BOTH {
        let flags = both.iter().chain(if who == Who::Root {
            &root_only[..]
        } else {
            &[]
        });
        for (name, f) in flags {
            for (call, stage) in [("unshare", "unshare"), ("clone", "clone")] {
                let a = env.attempt(&format!("{call}({name})"), who, &base, &[call, f]);
                env.check(a.expect(Expect::Errno(EPERM, stage)));
            }
        }
        for (name, f) in [("clone3()", "0"), ("clone3(CLONE_NEWUSER)", "0x10000000")] {
            let a = env.attempt(name, who, &base, &["clone3", f]);
            env.check(a.expect(Expect::Errno(ENOSYS, "clone3")));
        }
        // Joining: our own namespace (seccomp refuses setns itself), an outside process's
        // (its /proc/PID/ns files are out of reach), and through a pidfd (seccomp).
        let own_ctl = if who == Who::Root {
            Control::Same
        } else {
            Control::AsRoot
        };
        let a = env.attempt(
            "setns(/proc/self/ns/mnt)",
            who,
            &base,
            &["setns", "/proc/self/ns/mnt"],
        );
        env.check(
            a.expect(Expect::Errno(EPERM, "setns"))
                .control(own_ctl.clone()),
        );
        let target = Target::sleep(who);
        for ns in ["mnt", "net"] {
            let path = format!("/proc/{}/ns/{ns}", target.pid());
            let a = env.attempt(
                &format!("setns(/proc/OUTSIDE-PID/ns/{ns})"),
                who,
                &base,
                &["setns", &path],
            );
            env.check(
                a.expect(Expect::Errno(EACCES, "open"))
                    .control(own_ctl.clone()),
            );
        }
        let a = env.attempt(
            "setns(pidfd of an outside process, CLONE_NEWNS)",
            who,
            &base,
            &["setns_pidfd", &target.pid()],
        );
        env.check(
            a.expect(Expect::Errno(EPERM, "setns"))
                .control(own_ctl.clone()),
        );
        drop(target);
        let a = env.attempt(
            "setns(/proc/1/ns/mnt)",
            who,
            &base,
            &["setns", "/proc/1/ns/mnt"],
        );
        env.check(
            a.expect(Expect::Errno(EACCES, "open"))
                .control(Control::Skip("pid 1's namespaces may be out of reach for root outside too (they are on this VM); the OUTSIDE-PID cases have controls")),
        );
    }
    // The filter is written for x86_64 numbers: a syscall through another ABI (i386 by
    // `int 0x80`, x32 by the 0x40000000 bit) must not slip past it. libseccomp kills a
    // process that uses a foreign ABI (SIGSYS). x32 is disabled in most kernels (ENOSYS
    // outside), so that case has no control.
    if cfg!(target_arch = "x86_64") {
        for who in Who::BOTH {
            let a = env.attempt(
                "unshare(CLONE_NEWUSER) by int 0x80 (i386 ABI)",
                who,
                &base,
                &["unshare_i386", "0x10000000"],
            );
            env.check(a.expect(Expect::Signal(libc::SIGSYS)));
            let a = env.attempt(
                "unshare(CLONE_NEWUSER) by the x32 ABI",
                who,
                &base,
                &["unshare_x32", "0x10000000"],
            );
            env.check(
                a.expect(Expect::Signal(libc::SIGSYS))
                    .control(Control::Skip(
                        "x32 is usually compiled out (ENOSYS outside)",
                    )),
            );
        }
    }
    // The `unshare -r` program, as the user: refused inside, works outside.
    let h = env.helper.clone();
    let argv = vec!["/usr/bin/unshare".into(), "-r".into(), h, "euid0".into()];
    let a = env.attempt_argv(
        "`unshare -r` (user namespace, mapped root)",
        Who::User,
        &base,
        argv,
    );
    let run = env.check(a.expect(Expect::NotRun));
    assert!(
        run.stderr.contains("Operation not permitted"),
        "unshare -r: {}",
        run.stderr
    );
    env.finish(TESTS);
}

#[test]
fn no_privilege_back() {
    let Some(mut env) = Env::start("no_privilege_back") else {
        return;
    };
    let base = common::profile("base");
    let t = env.d.dir.path().to_path_buf();
    // A setuid-root copy of the helper: outside, the user gets euid 0 and every capability
    // from it (the control); inside, no_new_privs keeps the caller's euid and no capability.
    let suid = t.join("suid");
    std::fs::copy(&env.helper, &suid).unwrap();
    std::fs::set_permissions(&suid, std::fs::Permissions::from_mode(0o4755)).unwrap();
    let suid = suid.display().to_string();
    // A copy with the file capability cap_net_raw+ep (setcap, when installed).
    let capped = t.join("capped");
    std::fs::copy(&env.helper, &capped).unwrap();
    let setcap = Command::new("setcap")
        .args(["cap_net_raw+ep"])
        .arg(&capped)
        .status()
        .is_ok_and(|s| s.success());
    let capped = capped.display().to_string();
    for who in Who::BOTH {
        let argv = |a: &[&str]| {
            let mut v = vec![suid.clone()];
            v.extend(a.iter().map(|s| s.to_string()));
            v
        };
        if who == Who::User {
            let a = env.attempt_argv("setuid-root program: euid 0?", who, &base, argv(&["euid0"]));
            env.check(a.expect(Expect::Errno(EPERM, "no-euid-0")));
            let a = env.attempt_argv(
                "setuid-root program: user namespace",
                who,
                &base,
                argv(&["unshare", "0x10000000"]),
            );
            env.check(a.expect(Expect::Errno(EPERM, "unshare")));
        }
        // Root inside runs it too: a setuid-root exec must not bring capabilities back.
        let a = env.attempt_argv(
            "setuid-root program: capabilities?",
            who,
            &base,
            argv(&["caps"]),
        );
        env.check(a.expect(Expect::Errno(EPERM, "no-capabilities")));
        if setcap {
            let a = env.attempt(
                "file capability cap_net_raw+ep: raw socket",
                who,
                &base,
                &["exec", &capped, "raw"],
            );
            env.check(a.expect(Expect::Errno(EPERM, "")));
        } else {
            eprintln!("escape: no file-capability case: setcap is not installed");
        }
        if who == Who::User && std::path::Path::new("/usr/bin/su").exists() {
            // A real setuid-root program: su, held at its password prompt, is watched from
            // outside. Outside its euid is 0 (the control); inside, no_new_privs keeps 1001.
            let argv = vec![
                "/usr/bin/su".to_string(),
                "-c".into(),
                "true".into(),
                "root".into(),
            ];
            let a = env.attempt_argv(
                "setuid-root /usr/bin/su: euid 0 while it waits?",
                who,
                &base,
                argv,
            );
            env.check(
                a.driver(euid_at_prompt)
                    .expect(Expect::Errno(EPERM, "no-euid-0")),
            );
        }
        // CAP_NET_RAW itself, without any file capability (root only has it outside).
        let a = env.attempt("raw socket (CAP_NET_RAW)", who, &base, &["raw"]);
        env.check(
            a.expect(Expect::Errno(EPERM, "socket(SOCK_RAW)"))
                .control(Control::AsRoot),
        );
        // Processes outside: a `sleep` of the same uid (Landlock scopes ptrace).
        let target = Target::sleep(who);
        let pid = target.pid();
        for (name, args, errno, stage) in [
            (
                "ptrace(PTRACE_SEIZE) an outside process",
                ["ptrace", &pid],
                EPERM,
                "ptrace(PTRACE_SEIZE)",
            ),
            (
                "open /proc/OUTSIDE-PID/mem for writing",
                ["procmem", &pid],
                EACCES,
                "open",
            ),
            (
                "process_vm_readv an outside process",
                ["vm_readv", &pid],
                EPERM,
                "process_vm_readv",
            ),
            (
                "pidfd_getfd from an outside process",
                ["pidfd_getfd", &pid],
                EPERM,
                "pidfd_getfd",
            ),
        ] {
            let a = env.attempt(name, who, &base, &args);
            env.check(a.expect(Expect::Errno(errno, stage)));
        }
        drop(target);
        if who == Who::Root {
            // The launcher's parent: here the test runner itself, so no control on it.
            let skip = Control::Skip(
                "the parent is the test runner; the outside `sleep` cases are the controls",
            );
            let a = env.attempt(
                "ptrace the launcher's parent",
                who,
                &base,
                &["ptrace", "ppid"],
            );
            env.check(
                a.expect(Expect::Errno(EPERM, "ptrace(PTRACE_SEIZE)"))
                    .control(skip.clone()),
            );
            let a = env.attempt(
                "open the launcher's parent's /proc/PID/mem",
                who,
                &base,
                &["procmem", "ppid"],
            );
            env.check(a.expect(Expect::Errno(EACCES, "open")).control(skip));
        }
    }
    env.finish(TESTS);
}

/// Runs a setuid program that waits on stdin and reports its euid as seen in
/// /proc/PID/status once it runs under its own name (varmor-run execs it, same pid), as a
/// RESULT line: OK for euid 0, ERR EPERM no-euid-0 otherwise.
fn euid_at_prompt(mut c: Command) -> std::process::Output {
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn");
    let status = format!("/proc/{}/status", child.id());
    let t = Instant::now();
    let mut euid = None;
    while t.elapsed() < Duration::from_secs(10) {
        let text = std::fs::read_to_string(&status).unwrap_or_default();
        let name = text.lines().find_map(|l| l.strip_prefix("Name:\t"));
        let state = text.lines().find_map(|l| l.strip_prefix("State:\t"));
        // Past exec (named su) and blocked reading the password: its ids are final.
        if name == Some("su") && state.is_some_and(|s| s.starts_with('S')) {
            euid = text
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|u| u.split_whitespace().nth(1).map(str::to_string));
            break;
        }
        if matches!(child.try_wait(), Ok(Some(_))) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let line = match euid.as_deref() {
        Some("0") => "RESULT OK euid=0\n".to_string(),
        Some(e) => format!("su euid {e}\nRESULT ERR {} no-euid-0\n", libc::EPERM),
        None => "no su process seen waiting at its prompt\n".to_string(),
    };
    std::process::Output {
        status: out.status,
        stdout: line.into_bytes(),
        stderr: out.stderr,
    }
}

#[test]
fn io_uring_terminal_and_cgroup() {
    let Some(mut env) = Env::start("io_uring_terminal_and_cgroup") else {
        return;
    };
    let base = common::profile("base");
    let nocurl = common::profile("nocurl");
    let script = Command::new("script").arg("--version").output().is_ok();
    let tiocsti = std::fs::read_to_string("/proc/sys/dev/tty/legacy_tiocsti")
        .map_or(true, |s| s.trim() == "1");
    let cg = varmor_daemon::cgroup::cgroup2_mount().expect("cgroup2");
    let cg = cg.display().to_string();
    for who in Who::BOTH {
        // io_uring as a whole: a second syscall surface (its own open, connect, sendmsg
        // paths) that seccomp cannot inspect. Refused at setup: EPERM (what the kernel's
        // own kernel.io_uring_disabled answers) or ENOSYS (as if the kernel had none).
        let a = env.attempt("io_uring_setup", who, &base, &["io_uring_setup"]);
        env.check(a.expect(Expect::AnyOf(&[EPERM, ENOSYS])));
        // TIOCSTI pushes input into the controlling terminal: after the sandbox exits, the
        // shell that started it reads and runs it, unconfined (CVE-2017-5226 in bubblewrap).
        // Secure: EPERM (seccomp on ioctl TIOCSTI) or ENXIO (no controlling terminal: setsid).
        if script && tiocsti {
            let a = env.attempt(
                "ioctl(TIOCSTI) into the controlling terminal",
                who,
                &base,
                &["tiocsti"],
            );
            env.check(a.tty().expect(Expect::AnyOf(&[EPERM, ENXIO])));
        } else {
            eprintln!("escape: no TIOCSTI case: no `script`, or dev.tty.legacy_tiocsti is 0 (the kernel refuses it)");
        }
        // The sandbox's cgroup tells varmord when it has ended. A process that moves itself
        // to the parent group must stay confined: moving refused (EACCES from the cgroup
        // files' owner check, as for the user), curl's exec still refused afterwards
        // (EPERM), or the sandbox ended; never curl running.
        let a = env.attempt(
            "leave the sandbox's cgroup, then exec curl",
            who,
            &nocurl,
            &["cgroup_escape", &cg, "/usr/bin/curl", "--version"],
        );
        env.check(
            a.banner(CURL_RAN)
                .expect(Expect::NotRun)
                .control(Control::Argv(vec![
                    "/usr/bin/curl".into(),
                    "--version".into(),
                ])),
        );
    }
    env.finish(TESTS);
}

/// A process outside any sandbox in a fresh mount namespace: prints the namespace's inode,
/// waits for a line on stdin, then runs ARGV.
struct Holder {
    child: std::process::Child,
    ino: u64,
}

impl Holder {
    fn start(argv: &[String]) -> Holder {
        let script = "stat -Lc %i /proc/self/ns/mnt; read go; exec \"$@\"";
        let mut child = Command::new("unshare")
            .args(["-m", "sh", "-c", script, "sh"])
            .args(argv)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("unshare -m");
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        let ino = line.trim().parse().expect("namespace inode");
        Holder { child, ino }
    }

    fn go(mut self) -> String {
        let _ = self.child.stdin.as_mut().unwrap().write_all(b"go\n");
        let mut out = String::new();
        let _ = self.child.stdout.take().unwrap().read_to_string(&mut out);
        let _ = self.child.wait();
        out
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn reused_namespace_inode_gets_no_stale_policy() {
    let Some(mut env) = Env::start("reused_namespace_inode_gets_no_stale_policy") else {
        return;
    };
    // A nonet sandbox ends; a namespace created later with the same inode (the kernel
    // hands out the lowest free one) must reach the network: the maps are keyed by inode.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let nonet = common::profile("nonet");
    let argv: Vec<String> = ["stat", "-Lc", "%i", "/proc/self/ns/mnt"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let inside = env.inside_argv(&nonet, &argv);
    let out = output(env.command(Who::Root, &inside, false, None));
    let ino: u64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("the sandbox's namespace inode");
    let maps = varmor_kernel::bpf::Maps::open(&env.d.pins()).expect("pinned maps");
    let t = Instant::now();
    while maps.count_ns_entries(ino as u32) > 0 && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let connect = vec![
        env.helper.clone(),
        "tcp".into(),
        "127.0.0.1".into(),
        port.clone(),
    ];
    // Hold each fresh namespace open until one has the old inode.
    let mut held = Vec::new();
    let mut hit = None;
    for _ in 0..64 {
        let h = Holder::start(&connect);
        if h.ino == ino {
            hit = Some(h);
            break;
        }
        held.push(h);
    }
    drop(held);
    match hit {
        Some(h) => {
            let result = h.go();
            let secure = result.contains("RESULT OK");
            env.note(
                "a namespace reusing an ended nonet sandbox's inode can connect",
                Who::Root,
                secure,
                false,
                format!("inode {ino}: {}", result.trim()),
            );
        }
        None => eprintln!(
            "escape: inode {ino} was not handed out again within 64 namespaces; inconclusive, not counted"
        ),
    }
    drop(listener);
    env.finish(TESTS);
}

/// The pid of varmord's guard (its child named `varmord-guard`).
fn guard_of(daemon: u32) -> Option<u32> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let after = &stat[stat.rfind(')')? + 2..];
        let ppid: u32 = after.split(' ').nth(1)?.parse().ok()?;
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
        (ppid == daemon && comm.trim() == "varmord-guard").then_some(pid)
    })
}

#[test]
fn enforcer_cannot_be_killed_from_inside() {
    let Some(mut env) = Env::start("enforcer_cannot_be_killed_from_inside") else {
        return;
    };
    // The sandbox shares the host's pid namespace and its uid: root inside may signal every
    // root process outside unless signals are scoped (Landlock ABI 6). Killing the guard
    // first, then varmord, closes the fanotify groups with nobody left to end the sandbox.
    // Secure: the kill refused (EPERM), or the sandbox ended with its enforcer; never curl.
    // Only this test's own varmord and guard are aimed at; the user goes first, because the
    // root attempt, if it gets through, ends this daemon.
    let nocurl = common::profile("nocurl");
    let daemon = env.d.pid();
    let guard = guard_of(daemon).expect("varmord's guard process");
    let (g, d) = (guard.to_string(), daemon.to_string());
    for who in [Who::User, Who::Root] {
        let a = env.attempt(
            "SIGKILL varmord's guard, then varmord, then exec curl",
            who,
            &nocurl,
            &["kill_exec", &g, &d, "/usr/bin/curl", "--version"],
        );
        env.check(
            a.banner(CURL_RAN)
                .expect(Expect::NotRun)
                .control(Control::Argv(vec![
                    "/usr/bin/curl".into(),
                    "--version".into(),
                ])),
        );
    }
    // A varmord killed from inside leaves its sandbox cgroups behind: remove the empty
    // ones of this test's own daemon, so that its cgroup root can be removed on drop.
    std::thread::sleep(Duration::from_millis(200));
    if let Ok(rd) = std::fs::read_dir(&env.d.cgroup) {
        for e in rd.flatten().filter(|e| e.path().is_dir()) {
            let _ = std::fs::remove_dir(e.path());
        }
    }
    env.finish(TESTS);
}
