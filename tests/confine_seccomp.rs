//! Seccomp on the real kernel: a profile's errno / kill / log rules and groups, a
//! Docker-format JSON profile, the always-on anti-escape filter winning over the user's, and
//! the x32 ABI blocked. Each case runs inside (configured answer) and outside (works).
//! Compiler: crates/core/src/profile/seccomp.rs, crates/launcher/src/oci.rs; filters: crates/launcher/src/seccomp.rs.

mod common;

use std::os::unix::process::ExitStatusExt;

use common::*;

const GET_MEMPOLICY: &str = "239";
const SWAPON: &str = "167";
const UNSHARE: &str = "272";
const ADD_KEY: &str = "248";
const KEYCTL: &str = "250";
const PERSONALITY: &str = "135";
const EXDEV: &str = "18";

/// A python script that makes one raw syscall and prints `RESULT ERRNO`.
const SYSCALL_PY: &str = "import ctypes,sys\n\
l=ctypes.CDLL(None,use_errno=True)\n\
a=[int(x,0) if x[0].isdigit() else x.encode() for x in sys.argv[2:]]\n\
r=l.syscall(int(sys.argv[1],0),*a)\n\
print(r, ctypes.get_errno(), flush=True)\n";

struct Case {
    d: Daemon,
    py: String,
}

impl Case {
    fn new() -> Case {
        let d = Daemon::start();
        let py = d.dir.path().join("sys.py");
        std::fs::write(&py, SYSCALL_PY).unwrap();
        let py = py.display().to_string();
        Case { d, py }
    }

    fn profile(&self, name: &str, seccomp: &str) -> String {
        write_profile(
            self.d.dir.path(),
            name,
            &format!("description: seccomp case\nseccomp:\n{seccomp}"),
        )
    }

    /// `RESULT ERRNO` of one syscall inside the sandbox (as root or the test user).
    fn inside(&self, extra: &[&str], as_user: bool, call: &[&str]) -> std::process::Output {
        let mut args: Vec<&str> = extra.to_vec();
        args.extend(["--quiet", "--", "/usr/bin/python3", self.py.as_str()]);
        args.extend(call);
        if as_user {
            self.d.run_as_user(&args)
        } else {
            self.d.run(&args)
        }
    }

    fn outside(&self, call: &[&str]) -> String {
        let o = std::process::Command::new("/usr/bin/python3")
            .arg(&self.py)
            .args(call)
            .output()
            .unwrap();
        stdout(&o).trim().to_string()
    }
}

fn answer(o: &std::process::Output) -> String {
    assert!(o.status.success(), "{:?}: {}", o.status, stderr(o));
    stdout(o).trim().to_string()
}

#[test]
fn errno_rules_by_name_and_group_answer_inside_only() {
    let Some(()) = need_root("errno_rules_by_name_and_group_answer_inside_only") else {
        return;
    };
    let c = Case::new();
    let p = c.profile(
        "errno",
        "  syscalls:\n    - action: errno(EXDEV)\n      names: [get_mempolicy, \"@swap\"]\n",
    );
    let mempolicy = [GET_MEMPOLICY, "0", "0", "0", "0", "0"];
    let swapon = [SWAPON, "/nonexistent-swap", "0"];
    for as_user in [false, true] {
        let o = c.inside(&["--profile", &p], as_user, &mempolicy);
        assert_eq!(answer(&o), format!("-1 {EXDEV}"), "user={as_user}");
        let o = c.inside(&["--profile", &p], as_user, &swapon);
        assert_eq!(answer(&o), format!("-1 {EXDEV}"), "@swap, user={as_user}");
    }
    assert_eq!(c.outside(&mempolicy), "0 0", "get_mempolicy works outside");
    // Outside, root's swapon of a missing file fails with ENOENT: not the profile's errno.
    assert_eq!(c.outside(&swapon), "-1 2");
}

#[test]
fn kill_kills_and_log_logs() {
    let Some(()) = need_root("kill_kills_and_log_logs") else {
        return;
    };
    let c = Case::new();
    let call = [GET_MEMPOLICY, "0", "0", "0", "0", "0"];
    let kill = c.profile(
        "kill",
        "  syscalls:\n    - action: kill\n      names: [get_mempolicy]\n",
    );
    for as_user in [false, true] {
        let o = c.inside(&["--profile", &kill], as_user, &call);
        assert_eq!(
            o.status.signal(),
            Some(libc::SIGSYS),
            "killed by SIGSYS (user={as_user}): {:?} {}",
            o.status,
            stdout(&o)
        );
    }
    let log = c.profile(
        "log",
        "  syscalls:\n    - action: log\n      names: [get_mempolicy]\n",
    );
    let o = c.inside(&["--profile", &log], false, &call);
    assert_eq!(answer(&o), "0 0", "log allows the call");
    // The kernel writes an audit record (type=1326) naming the syscall; without auditd it
    // lands in the kernel log.
    let dmesg = std::process::Command::new("dmesg").output().unwrap();
    let text = stdout(&dmesg);
    assert!(
        text.lines()
            .any(|l| l.contains("type=1326") && l.contains(&format!("syscall={GET_MEMPOLICY}"))),
        "no seccomp audit record for get_mempolicy in dmesg"
    );
}

#[test]
fn the_anti_escape_filter_wins_over_a_laxer_profile() {
    let Some(()) = need_root("the_anti_escape_filter_wins_over_a_laxer_profile") else {
        return;
    };
    let c = Case::new();
    // The user asks only to log unshare; the always-on filter still answers EPERM.
    let p = c.profile(
        "lax",
        "  syscalls:\n    - action: log\n      names: [unshare, keyctl]\n",
    );
    for as_user in [false, true] {
        let o = c.inside(&["--profile", &p], as_user, &[UNSHARE, "0x20000"]);
        assert_eq!(answer(&o), "-1 1", "unshare(CLONE_NEWNS), user={as_user}");
    }
    // A stricter user rule wins over the anti-escape EPERM: kill beats errno.
    let strict = c.profile(
        "strict",
        "  syscalls:\n    - action: kill\n      names: [unshare]\n",
    );
    let o = c.inside(&["--profile", &strict], false, &[UNSHARE, "0x20000"]);
    assert_eq!(o.status.signal(), Some(libc::SIGSYS));
    // Outside, the test (root) may unshare a mount namespace.
    assert_eq!(c.outside(&[UNSHARE, "0x20000"]), "0 0");
}

#[test]
fn x32_syscalls_kill() {
    let Some(()) = need_root("x32_syscalls_kill") else {
        return;
    };
    if cfg!(not(target_arch = "x86_64")) {
        eprintln!("SKIP x32_syscalls_kill: x32 exists on x86_64 only");
        return;
    }
    let c = Case::new();
    // getpid through the x32 ABI (nr | 0x40000000).
    let o = c.inside(&["--profile", &profile("base")], true, &["0x40000027"]);
    assert_eq!(o.status.signal(), Some(libc::SIGSYS), "{:?}", o.status);
    let out = c.outside(&["0x40000027"]);
    assert!(out == "-1 38" || out.parse::<i64>().is_ok() || !out.is_empty());
}

fn docker_like() -> String {
    manifest()
        .join("tests/fixtures/seccomp/docker-like.json")
        .display()
        .to_string()
}

#[test]
fn docker_format_profile_denies_keyrings_and_lets_work_happen() {
    let Some(()) = need_root("docker_format_profile_denies_keyrings_and_lets_work_happen") else {
        return;
    };
    let c = Case::new();
    let json = docker_like();
    let base = profile("base");
    let with = ["--profile", base.as_str(), "--seccomp", json.as_str()];
    // What Docker's default blocks and the anti-escape filter does not: EPERM inside only.
    let mempolicy = [GET_MEMPOLICY, "0", "0", "0", "0", "0"];
    let o = c.inside(&with, true, &mempolicy);
    assert_eq!(
        answer(&o),
        "-1 1",
        "get_mempolicy under the Docker-format profile"
    );
    assert_eq!(c.outside(&mempolicy), "0 0");
    // The same file named by a profile's `oci:` key, relative to the profile.
    std::fs::copy(&json, c.d.dir.path().join("docker-like.json")).unwrap();
    let keyed = c.profile("keyed", "  oci: docker-like.json\n");
    let o = c.inside(&["--profile", &keyed], true, &mempolicy);
    assert_eq!(answer(&o), "-1 1", "get_mempolicy under `oci:`");
    // personality: the plain value is allowed (an argument rule), ADDR_NO_RANDOMIZE is not.
    let o = c.inside(&with, true, &[PERSONALITY, "0"]);
    assert_eq!(answer(&o), "0 0", "personality(PER_LINUX) allowed");
    let o = c.inside(&with, true, &[PERSONALITY, "0x0040000"]);
    assert_eq!(answer(&o), "-1 1", "personality(ADDR_NO_RANDOMIZE) denied");
    for call in [
        &[ADD_KEY, "user", "k", "v", "1", "0xfffffffd"][..],
        &[KEYCTL, "0", "0xfffffffd", "0"],
    ] {
        let o = c.inside(&with, true, call);
        assert_eq!(answer(&o), "-1 1", "{call:?}");
    }
    // Ordinary work: a shell pipeline, python, and a C build and run.
    let work = c.d.dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    std::fs::set_permissions(&work, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let script = format!(
        "set -e; cd {w}; printf 'int main(void){{return 7;}}\\n' > m.c; cc -o m m.c; \
         ./m || echo built=$?; /usr/bin/python3 -c 'import json,subprocess; print(json.dumps(subprocess.run([\"ls\",\"/\"],capture_output=True).returncode))'; \
         ls / | sort | head -1 | wc -l",
        w = work.display()
    );
    let mut args = with.to_vec();
    args.extend(["--quiet", "--", "/bin/bash", "-c", script.as_str()]);
    let o = c.d.run_as_user(&args);
    assert!(o.status.success(), "{:?} {}", o.status, stderr(&o));
    assert_eq!(stdout(&o), "built=7\n0\n1\n");
}

#[test]
fn bad_seccomp_input_is_a_clear_error_and_runs_nothing() {
    let Some(()) = need_root("bad_seccomp_input_is_a_clear_error_and_runs_nothing") else {
        return;
    };
    let c = Case::new();
    let dir = c.d.dir.path();
    let marker = dir.join("ran");
    let touch = format!("touch {}", marker.display());
    let cases = [
        ("broken.json", "{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\",\n  \"syscalls\": [\n", "line 4"),
        (
            "action.json",
            "{\"defaultAction\": \"SCMP_ACT_NOTIFY_ME\"}",
            "SCMP_ACT_NOTIFY_ME",
        ),
        (
            "field.json",
            "{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [{\"names\": [\"getpid\"], \"action\": \"SCMP_ACT_ALLOW\", \"colour\": 1}]}",
            "colour",
        ),
    ];
    for (name, text, says) in cases {
        let f = dir.join(name);
        std::fs::write(&f, text).unwrap();
        let f = f.display().to_string();
        let o = c.d.run(&[
            "--profile",
            &profile("base"),
            "--seccomp",
            &f,
            "--",
            "sh",
            "-c",
            &touch,
        ]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(125), "{name}: {err}");
        assert!(err.contains(name) && err.contains(says), "{name}: {err}");
        assert!(!marker.exists(), "{name}: the target ran");
    }
    // An unknown syscall in a profile names the file and line.
    let p = c.profile(
        "unknown",
        "  syscalls:\n    - action: kill\n      names: [get_mempolicy, frobnicate]\n",
    );
    let o = c.d.run(&["--profile", &p, "--", "sh", "-c", &touch]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(125), "{err}");
    assert!(
        err.contains("unknown.yaml") && err.contains("frobnicate") && err.contains(":5"),
        "{err}"
    );
    assert!(!marker.exists());
}

#[test]
fn unknown_syscall_names_are_skipped_with_one_warning() {
    let Some(()) = need_root("unknown_syscall_names_are_skipped_with_one_warning") else {
        return;
    };
    let d = Daemon::start();
    let json = d.dir.path().join("typo.json");
    std::fs::write(
        &json,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
            {"names":["keyctl","add_kye"],"action":"SCMP_ACT_ERRNO"},
            {"names":["request_keyy","keyctl"],"action":"SCMP_ACT_ERRNO"}]}"#,
    )
    .unwrap();
    let (base, json) = (profile("base"), json.display().to_string());
    let o = d.run_as_user(&["--profile", &base, "--seccomp", &json, "--", "true"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let warnings: Vec<_> = stderr(&o)
        .lines()
        .filter(|l| l.contains("warning"))
        .map(str::to_string)
        .collect();
    assert_eq!(warnings.len(), 1, "{}", stderr(&o));
    assert!(
        warnings[0].contains("typo.json") && warnings[0].ends_with("add_kye, request_keyy"),
        "{}",
        warnings[0]
    );
    let o = d.run_as_user(&[
        "--profile",
        &base,
        "--seccomp",
        &docker_like(),
        "--",
        "true",
    ]);
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
}
