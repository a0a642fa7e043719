//! Every documented command is a test: each example of `varmor-run --help` and `varmord
//! --help` (read from the real binaries' output), of README.md's console and sh blocks
//! and of the man pages runs here, against a private varmord, as a real unprivileged
//! user (as root where the documentation shows a `#` prompt). What cannot run here is in
//! SKIP with its reason; a stale SKIP entry fails too.

mod common;
#[path = "documented/extract.rs"]
mod extract;

use std::io::Write;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use extract::Example;

const MATRIX: &str = "the kernel matrix (qemu VMs, minutes to hours): scripts/test.sh runs it";
const NPM: &str = "tests/workloads.rs runs this npm session (with its evil-pkg fixture) as a real user in a project under /home";

/// (command, why it is not run here).
/// Refusals shown against the user's own tmux server and ssh-agent, which this test does
/// not start: tests/confine_unix.rs runs them against real ones, with their controls.
const UNIX: &str = "needs a tmux server and an ssh-agent of the user's: tests/confine_unix.rs";

const SKIP: &[(&str, &str)] = &[
    ("./scripts/demo.sh", "the fresh-machine job itself: apt, install into /usr/local, the real varmord"),
    ("./scripts/test.sh", "the whole suite, this test included"),
    ("apt install ./target/debian/varmor-run_*.deb", "installs on this machine: scripts/package.sh checks the package in a throwaway root"),
    ("GRUB_CMDLINE_LINUX=\"lsm=landlock,lockdown,yama,integrity,apparmor,bpf\"", "boot configuration"),
    ("sudo update-grub && sudo reboot", "reboots the machine"),
    ("scripts/matrix.sh --list", MATRIX),
    ("scripts/matrix.sh 6.1-ubuntu", MATRIX),
    ("VARMOR_MATRIX_TESTS=\"flow escape_path\" scripts/matrix.sh 6.12-bpf-lsm", MATRIX),
    ("scripts/vm-test.sh 6.12 -- target/debug/varmord --probe", MATRIX),
    ("npm install ./evil-pkg-1.0.0.tgz", NPM),
    ("ls ~/.npm ~/proj/node_modules", NPM),
    ("systemctl enable --now varmord.socket", "needs the installed package and systemd as PID 1 (scripts/package.sh checks the units; no VM test boots systemd yet)"),
    ("varmor-run --profile nocurl -- tmux run-shell 'curl -o /tmp/x https://example.org'", UNIX),
    ("varmor-run --profile no-keys -- ssh-add -l", UNIX),
    ("Exec=varmor-run --profile firefox -- firefox %u", "a .desktop Exec= line, not a shell command: tests/desktop.rs checks the lines --desktop install writes, tests/workloads.rs runs Firefox in its profile"),
];

/// The README's opening session reads /etc/shadow: as a user DAC refuses that first
/// (EACCES, no rule involved), so the denial it shows is root's.
const AS_ROOT: &[&str] = &["README.md:6"];

fn help(bin: &str) -> String {
    let o = Command::new(bin).arg("--help").output().unwrap();
    assert!(o.status.success());
    stdout(&o)
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(manifest().join(rel)).unwrap()
}

fn all_examples() -> Vec<Example> {
    let mut v =
        extract::help_examples(&help(env!("CARGO_BIN_EXE_varmor-run")), "varmor-run --help");
    // varmord is root's: its examples run as root.
    let daemon = extract::help_examples(&help(env!("CARGO_BIN_EXE_varmord")), "varmord --help");
    v.extend(daemon.into_iter().map(|e| Example { root: true, ..e }));
    v.extend(extract::markdown(&read("README.md"), "README.md"));
    v.extend(extract::roff(
        &read("man/varmor-profile.5"),
        "man/varmor-profile.5",
    ));
    v
}

#[test]
fn man_pages_show_the_help_examples() {
    for (bin, man) in [
        (env!("CARGO_BIN_EXE_varmor-run"), "man/varmor-run.1"),
        (env!("CARGO_BIN_EXE_varmord"), "man/varmord.8"),
    ] {
        assert_eq!(
            extract::man_help_section(&read(man)),
            extract::help_section(&help(bin)),
            "{man}: run `cargo run --bin varmor-gen`"
        );
    }
    let ex = all_examples();
    for want in ["varmor-run --list", "varmor-run --ps", "varmord --probe"] {
        assert!(
            ex.iter().any(|e| e.cmd == want),
            "{want} is no longer documented"
        );
    }
}

/// A private place to run examples: PATH with the built binaries, a home and a project
/// directory owned by the test user, the files the examples name.
struct Place {
    bin: PathBuf,
    home: PathBuf,
    work: PathBuf,
}

fn place(d: &Daemon) -> Place {
    let (uid, gid) = test_user();
    let root = d.dir.path();
    let p = Place {
        bin: root.join("bin"),
        home: root.join("home"),
        work: root.join("work"),
    };
    std::fs::create_dir_all(&p.bin).unwrap();
    symlink(env!("CARGO_BIN_EXE_varmor-run"), p.bin.join("varmor-run")).unwrap();
    symlink(env!("CARGO_BIN_EXE_varmord"), p.bin.join("varmord")).unwrap();
    for dir in [&p.home, &p.work] {
        std::fs::create_dir_all(dir).unwrap();
    }
    let files: &[(&str, &str, u32)] = &[
        ("build.sh", "#!/bin/sh\necho built > built.txt\n", 0o755),
        ("Makefile", "all:\n\t@echo made\n", 0o644),
        (
            "package.json",
            "{\"name\":\"doc\",\"version\":\"1.0.0\"}\n",
            0o644,
        ),
    ];
    for (name, text, mode) in files {
        let f = p.work.join(name);
        std::fs::write(&f, text).unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(*mode)).unwrap();
    }
    std::fs::copy(
        manifest().join("tests/fixtures/seccomp/docker-like.json"),
        p.work.join("docker-default.json"),
    )
    .unwrap();
    // The profile of your own that varmor-profile(5) shows, where it says to put it.
    let mine = p.home.join(".config/varmor/profiles.d");
    std::fs::create_dir_all(&mine).unwrap();
    let page = read("man/varmor-profile.5");
    std::fs::write(
        mine.join("mynpm.yaml"),
        extract::roff_file(&page, "profiles.d/mynpm.yaml"),
    )
    .unwrap();
    for e in [&p.home, &p.work] {
        let _ = Command::new("chown")
            .args(["-R", &format!("{uid}:{gid}")])
            .arg(e)
            .status();
    }
    p
}

/// Runs `varmord --socket S --pin-dir P ...` on private paths: it must serve, then stop
/// cleanly on SIGTERM.
fn run_daemon_example(e: &Example, d: &Daemon) -> Result<(), String> {
    let tag = format!("varmor-doc-{}", std::process::id());
    let sock = d.dir.path().join("v.sock");
    let pins = PathBuf::from("/sys/fs/bpf").join(&tag);
    let cg = varmor_daemon::cgroup::cgroup2_mount().unwrap().join(&tag);
    let cmd = e
        .cmd
        .replace("/tmp/v.sock", sock.to_str().unwrap())
        .replace("/sys/fs/bpf/varmor-test", pins.to_str().unwrap());
    let mut args = cmd
        .split_whitespace()
        .skip(1)
        .map(str::to_string)
        .collect::<Vec<_>>();
    args.extend(["--cgroup-root".into(), cg.display().to_string()]);
    let mut c = Command::new(env!("CARGO_BIN_EXE_varmord"))
        .args(&args)
        .env("RUST_LOG", "error")
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t = Instant::now();
    let mut res = Err("no socket after 300 s".to_string());
    while t.elapsed() < Duration::from_secs(300) {
        if sock.exists() {
            res = Ok(());
            break;
        }
        if let Ok(Some(st)) = c.try_wait() {
            res = Err(format!("exited ({st}) before serving"));
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
    let out = c.wait_with_output().unwrap();
    let _ = std::fs::remove_dir_all(&pins);
    let _ = std::fs::remove_dir(&cg);
    res?;
    if !out.status.success() {
        return Err(format!(
            "did not stop cleanly ({}): {}",
            out.status,
            stderr(&out)
        ));
    }
    Ok(())
}

fn run_example(e: &Example, d: &Daemon, p: &Place) -> Result<(), String> {
    if e.cmd.starts_with("varmord --socket") {
        return run_daemon_example(e, d);
    }
    let root = e.root || AS_ROOT.contains(&e.source.as_str());
    let mut c = Command::new("timeout");
    c.args(["120", "bash", "-c", &e.cmd])
        .env_clear()
        .env(
            "PATH",
            format!("{}:/usr/local/bin:/usr/bin:/bin", p.bin.display()),
        )
        .env("VARMOR_SOCKET", &d.socket)
        .env("LANG", "C.UTF-8")
        .env("HOME", &p.home)
        .current_dir(&p.work)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if !root {
        let (uid, gid) = test_user();
        c.uid(uid).gid(gid).env("USER", TEST_USER);
    }
    let mut child = c.spawn().map_err(|e| e.to_string())?;
    let mut input = child.stdin.take().unwrap();
    for t in &e.typed {
        let _ = writeln!(input, "{t}");
    }
    drop(input);
    let o = child.wait_with_output().unwrap();
    let all = extract::as_shown(&format!("{}{}", stdout(&o), stderr(&o)));
    // A session's status is its last typed command's (documented to fail).
    if e.typed.is_empty() && !o.status.success() {
        return Err(format!("exit {}: {all}", o.status));
    }
    for s in e.shown.iter().filter_map(|s| extract::must_appear(s)) {
        if !all.contains(&s) {
            return Err(format!("output lacks `{s}`: {all}"));
        }
    }
    Ok(())
}

#[test]
fn every_documented_command_runs() {
    let Some(()) = need_root("every_documented_command_runs") else {
        return;
    };
    let d = Daemon::start();
    let p = place(&d);
    let mut failed = Vec::new();
    let mut skipped = Vec::new();
    for e in all_examples() {
        if let Some((_, why)) = SKIP.iter().find(|(c, _)| *c == e.cmd) {
            skip(&format!("{} `{}`: {why}", e.source, e.cmd));
            skipped.push(e.cmd.clone());
            continue;
        }
        let t = Instant::now();
        match run_example(&e, &d, &p) {
            Ok(()) => eprintln!(
                "ok   {} `{}` ({} ms)",
                e.source,
                e.cmd,
                t.elapsed().as_millis()
            ),
            Err(why) => failed.push(format!("{} `{}`: {why}", e.source, e.cmd)),
        }
    }
    let stale: Vec<_> = SKIP
        .iter()
        .filter(|(c, _)| !skipped.iter().any(|s| s == c))
        .collect();
    assert!(
        stale.is_empty(),
        "SKIP entries no longer documented: {stale:?}"
    );
    assert!(
        failed.is_empty(),
        "documented commands that fail:\n{}",
        failed.join("\n")
    );
    assert!(
        Path::new(&p.work.join("draft.yaml")).exists(),
        "--learn wrote no draft"
    );
}

#[test]
fn list_in_text_and_json() {
    let run = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_varmor-run"))
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        stdout(&o)
    };
    let text = run(&["--list"]);
    assert!(text.lines().any(|l| l.contains("nocurl")), "{text}");
    let json: serde_json::Value =
        serde_json::from_str(&run(&["--list", "--format", "json"])).unwrap();
    let names: Vec<_> = json
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    for want in ["base", "nocurl", "nonet"] {
        assert!(names.contains(&want), "{names:?}");
    }
}
