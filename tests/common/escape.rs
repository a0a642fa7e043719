//! The escape suite's machinery (tests/escape_*.rs), in the spirit of birdcage's
//! one-child-per-case tests.
//!
//! One small C program, tests/fixtures/escape/escape.c (compiled once per test binary with
//! `cc`), performs ONE trick per run and prints `RESULT OK <detail>` or
//! `RESULT ERR <errno> <stage>`. Every attempt is one sandboxed child; the same command run
//! OUTSIDE the sandbox (the control) must work, so that every attempt can fail.
//!
//! Verdicts, as counted in the summary line each test binary prints at its end:
//! - blocked: the secure outcome, with the errno (and stage) the case names;
//! - got through: a bypass. The test fails and prints a reproducer; nothing is ignored;
//! - documented limitation: works by design and is written down where the case says
//!   (a profile's "Does NOT promise"); asserted to keep working, counted apart;
//! - wrong: neither (a different errno, no denial line, a control that failed): the test
//!   fails, but it is not counted as a bypass.
//!
//! Usage: `#[path = "common/escape.rs"] mod escape;` next to `mod common;`.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::common::{need_root, test_user, Daemon, TEST_USER};

pub const EPERM: i32 = libc::EPERM;
pub const EACCES: i32 = libc::EACCES;
pub const ENOSYS: i32 = libc::ENOSYS;
pub const EXDEV: i32 = libc::EXDEV;
pub const ENOENT: i32 = libc::ENOENT;
pub const EBADF: i32 = libc::EBADF;

/// `curl --version` prints this line; seeing it means curl ran.
pub const CURL_RAN: &str = "Protocols:";

/// How long one child may take before it is killed and the attempt counts as wrong
/// (30 s, times `VARMOR_TEST_TIME_SCALE` under qemu's TCG).
fn child_timeout() -> Duration {
    Duration::from_secs(30) * crate::common::time_scale()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    Root,
    User,
}

impl Who {
    pub const BOTH: [Who; 2] = [Who::Root, Who::User];
    pub fn label(self) -> &'static str {
        match self {
            Who::Root => "root",
            Who::User => TEST_USER,
        }
    }
}

/// What the helper reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Ok(String),
    Err {
        errno: i32,
        stage: String,
    },
    /// No RESULT line: a program the trick exec'd ran (or failed) on its own.
    Other,
}

#[derive(Debug, Clone)]
pub struct Run {
    pub outcome: Outcome,
    pub stdout: String,
    pub stderr: String,
    pub code: Option<i32>,
    /// The signal that killed the child (varmor-run execs the target: same process).
    pub signal: Option<i32>,
}

impl Run {
    fn from(o: &Output) -> Run {
        let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
        let outcome = stdout
            .lines()
            .find_map(|l| l.find("RESULT ").map(|i| l[i + 7..].trim_end().to_string()))
            .map(|r| {
                let mut it = r.splitn(3, ' ');
                match (it.next(), it.next(), it.next()) {
                    (Some("OK"), d, e) => {
                        Outcome::Ok([d, e].into_iter().flatten().collect::<Vec<_>>().join(" "))
                    }
                    (Some("ERR"), Some(n), stage) => Outcome::Err {
                        errno: n.parse().unwrap_or(-1),
                        stage: stage.unwrap_or_default().to_string(),
                    },
                    _ => Outcome::Other,
                }
            })
            .unwrap_or(Outcome::Other);
        Run {
            outcome,
            stdout,
            stderr,
            code: o.status.code(),
            signal: std::os::unix::process::ExitStatusExt::signal(&o.status),
        }
    }

    /// Did the trick work (the helper said OK, or the program it ran printed `banner`)?
    pub fn worked(&self, banner: Option<&str>) -> bool {
        matches!(self.outcome, Outcome::Ok(_)) || banner.is_some_and(|b| self.stdout.contains(b))
    }

    fn brief(&self) -> String {
        let mut out: String = self.stdout.trim().chars().take(160).collect();
        if !self.stderr.trim().is_empty() {
            out.push_str(" | stderr: ");
            out.extend(self.stderr.trim().chars().take(240));
        }
        out.replace('\n', " / ")
    }
}

/// The secure outcome of an attempt.
#[derive(Debug, Clone, Copy)]
pub enum Expect {
    /// Refused with this errno by this stage (the syscall the helper names).
    Errno(i32, &'static str),
    /// Refused with one of these errnos at any stage (where more than one layer may refuse:
    /// each case says which layer gives which errno).
    AnyOf(&'static [i32]),
    /// The program the trick runs must not run (its banner must not appear).
    NotRun,
    /// Killed by this signal (seccomp's answer to a foreign syscall ABI is SIGSYS).
    Signal(i32),
    /// Refused with one of these errnos, or the target never started because varmor-run
    /// said the profile cannot be fully enforced here (exit 125: fail closed).
    OrFailClosed(&'static [i32]),
    /// Must work inside too: a precision check or an in-sandbox control.
    Allowed,
    /// Works by design; the text says where that is written down.
    Limitation(&'static str),
}

/// The control: the same trick outside the sandbox, which must work.
#[derive(Debug, Clone)]
pub enum Control {
    /// The same command, as the same user.
    Same,
    /// The same command, as root (where an unprivileged user could not do it outside either).
    AsRoot,
    /// Another command (as root), e.g. a mount inside `unshare -m`.
    Argv(Vec<String>),
    /// None possible; the reason is printed.
    Skip(&'static str),
}

#[derive(Debug, Clone)]
pub struct Attempt {
    pub name: String,
    pub who: Who,
    pub profile: String,
    pub argv: Vec<String>,
    pub expect: Expect,
    /// Output that proves an exec'd program ran (curl's banner).
    pub banner: Option<&'static str>,
    /// A `varmor: denied` line must reach the sandbox's stderr (and contain this text:
    /// `varmor: denied` itself, or a longer prefix such as `varmor: denied connect(unix)`).
    pub line: Option<&'static str>,
    pub control: Control,
    /// Opened outside and passed to the child as fd 3.
    pub fd3: Option<PathBuf>,
    /// Run under `script` so the child has a controlling terminal.
    pub tty: bool,
    /// Runs the command (inside, and the control) instead of `output`: for tricks that need
    /// the test to act while the child runs (connect to a listener it opened).
    pub driver: Option<fn(Command) -> Output>,
    /// Environment variables set for the attempt inside (the launcher sees them too) and
    /// for its control outside: `$SSH_AUTH_SOCK` and the like of the host services.
    pub envs: Vec<(String, String)>,
}

impl Attempt {
    pub fn expect(mut self, e: Expect) -> Self {
        self.expect = e;
        self
    }
    /// The denial is made by varmord (fanotify answer, network event): a line must show it.
    pub fn line(mut self) -> Self {
        self.line = Some("varmor: denied");
        self
    }
    /// As `line`, with a denial line containing `text` (e.g. `varmor: denied connect(unix)`).
    pub fn line_of(mut self, text: &'static str) -> Self {
        self.line = Some(text);
        self
    }
    /// Sets `key=value` for the attempt and its control.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.envs.push((key.to_string(), value.to_string()));
        self
    }
    pub fn banner(mut self, b: &'static str) -> Self {
        self.banner = Some(b);
        self
    }
    pub fn control(mut self, c: Control) -> Self {
        self.control = c;
        self
    }
    pub fn fd3(mut self, p: &Path) -> Self {
        self.fd3 = Some(p.to_path_buf());
        self
    }
    pub fn tty(mut self) -> Self {
        self.tty = true;
        self
    }
    pub fn driver(mut self, f: fn(Command) -> Output) -> Self {
        self.driver = Some(f);
        self
    }
}

#[derive(Debug)]
enum Verdict {
    /// The secure outcome: refused as the case says (or, for `Allowed`, allowed).
    Blocked,
    Through(String),
    Limitation(&'static str),
    /// The control fails outside on this boot (`VARMOR_TEST_BOOT_LIMITS`), so the attempt
    /// proves nothing either way here.
    Untestable(String),
    Wrong(String),
}

// Tally of the whole test binary (each test adds its own when it finishes).
static ATTEMPTS: AtomicUsize = AtomicUsize::new(0);
static THROUGH: AtomicUsize = AtomicUsize::new(0);
static LIMITS: AtomicUsize = AtomicUsize::new(0);
static UNTESTABLE: AtomicUsize = AtomicUsize::new(0);
static DONE: AtomicUsize = AtomicUsize::new(0);

/// One test's sandbox environment: its own varmord, the helper, a root-owned and a
/// test-user-owned scratch directory, and the verdicts so far.
pub struct Env {
    pub d: Daemon,
    pub helper: String,
    test: &'static str,
    records: Vec<(String, Verdict)>,
    started: Instant,
}

/// The C helper, compiled once per test binary (and only again when its source changed).
pub fn helper() -> Option<&'static Path> {
    static HELPER: OnceLock<Option<PathBuf>> = OnceLock::new();
    HELPER
        .get_or_init(|| {
            let src = crate::common::manifest().join("tests/fixtures/escape/escape.c");
            let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("escape-helper");
            std::fs::create_dir_all(&dir).ok()?;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).ok()?;
            let bin = dir.join("escape");
            let fresh = |b: &Path| {
                let m = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
                matches!((m(b), m(&src)), (Some(b), Some(s)) if b >= s)
            };
            if !fresh(&bin) {
                // Test binaries run at once: each compiles to its own name, then renames.
                let tmp = dir.join(format!("escape.{}", std::process::id()));
                let st = Command::new("cc")
                    .args(["-O1", "-pthread", "-Wall", "-o"])
                    .arg(&tmp)
                    .arg(&src)
                    .status();
                if !st.is_ok_and(|s| s.success()) {
                    eprintln!("SKIP: cannot compile {} with cc", src.display());
                    return None;
                }
                std::fs::rename(&tmp, &bin).ok()?;
            }
            std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).ok()?;
            Some(bin)
        })
        .as_deref()
}

/// Single-quotes `s` for `sh -c`.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `cmd` as `who`: the test user gets the same environment as `Daemon::run_as_user`.
pub fn as_who(mut c: Command, who: Who) -> Command {
    if who == Who::User {
        let (uid, gid) = test_user();
        c.uid(uid)
            .gid(gid)
            .env("HOME", format!("/home/{TEST_USER}"))
            .env_remove("XDG_CONFIG_HOME")
            .current_dir("/");
    }
    c
}

/// Runs `c` with piped output; a child that outlives `child_timeout()` is killed.
pub fn output(mut c: Command) -> Output {
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn a child");
    let pipe = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = pipe(
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let err = pipe(
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let t = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if t.elapsed() > child_timeout() {
            let _ = child.kill();
            break child.wait().expect("wait");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    }
}

/// A process outside any sandbox to aim at (ptrace, /proc/PID/mem, setns); killed on drop.
pub struct Target(pub Child);

impl Target {
    pub fn sleep(who: Who) -> Target {
        let mut c = as_who(Command::new("sleep"), who);
        c.arg("60").stdin(Stdio::null());
        Target(c.spawn().expect("spawn sleep"))
    }
    pub fn pid(&self) -> String {
        self.0.id().to_string()
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Env {
    /// None (the test is skipped, with the reason printed) without root or `cc`.
    pub fn start(test: &'static str) -> Option<Env> {
        need_root(test)?;
        let helper = helper()?.display().to_string();
        let d = Daemon::start();
        let (uid, gid) = test_user();
        let (root, user) = (d.dir.path().join("r"), d.dir.path().join("u"));
        for dir in [&root, &user] {
            std::fs::create_dir(dir).unwrap();
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::os::unix::fs::chown(&user, Some(uid), Some(gid)).unwrap();
        Some(Env {
            d,
            helper,
            test,
            records: Vec::new(),
            started: Instant::now(),
        })
    }

    /// A scratch directory owned by `who` (T/r or T/u in the daemon's temp dir).
    pub fn dir(&self, who: Who) -> PathBuf {
        self.d.dir.path().join(match who {
            Who::Root => "r",
            Who::User => "u",
        })
    }

    /// Writes `content` to `path` (mode 0644) owned by `who`.
    pub fn file(&self, who: Who, path: &Path, content: &str) {
        std::fs::write(path, content).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644)).unwrap();
        self.chown(who, path);
    }

    /// A directory (mode 0755) owned by `who`.
    pub fn mkdir(&self, who: Who, path: &Path) {
        std::fs::create_dir_all(path).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
        self.chown(who, path);
    }

    pub fn chown(&self, who: Who, path: &Path) {
        if who == Who::User {
            let (uid, gid) = test_user();
            std::os::unix::fs::lchown(path, Some(uid), Some(gid)).unwrap();
        }
    }

    /// A profile written into the daemon's temp dir.
    pub fn profile(&self, name: &str, yaml: &str) -> String {
        crate::common::write_profile(self.d.dir.path(), name, yaml)
    }

    /// An attempt running the helper's `case` with `args`.
    pub fn attempt(&self, name: &str, who: Who, profile: &str, args: &[&str]) -> Attempt {
        let mut argv = vec![self.helper.clone()];
        argv.extend(args.iter().map(|s| s.to_string()));
        self.attempt_argv(name, who, profile, argv)
    }

    /// An attempt running any command.
    pub fn attempt_argv(&self, name: &str, who: Who, profile: &str, argv: Vec<String>) -> Attempt {
        Attempt {
            name: name.to_string(),
            who,
            profile: profile.to_string(),
            argv,
            expect: Expect::Errno(EPERM, ""),
            banner: None,
            line: None,
            control: Control::Same,
            fd3: None,
            tty: false,
            driver: None,
            envs: Vec::new(),
        }
    }

    /// `varmor-run --socket S --profile P -- ARGV...`.
    pub fn inside_argv(&self, profile: &str, argv: &[String]) -> Vec<String> {
        let mut v = vec![
            env!("CARGO_BIN_EXE_varmor-run").to_string(),
            "--socket".into(),
            self.d.socket.display().to_string(),
            "--profile".into(),
            profile.to_string(),
            "--".into(),
        ];
        v.extend(argv.iter().cloned());
        v
    }

    /// The command for `argv` as `who`, under a terminal and with fd 3 if asked.
    pub fn command(&self, who: Who, argv: &[String], tty: bool, fd3: Option<&Path>) -> Command {
        let mut c = if tty {
            let line = argv
                .iter()
                .map(|a| sh_quote(a))
                .collect::<Vec<_>>()
                .join(" ");
            let mut c = Command::new("script");
            c.args(["-qec", &line, "/dev/null"]).env("SHELL", "/bin/sh");
            c
        } else {
            let mut c = Command::new(&argv[0]);
            c.args(&argv[1..]);
            c
        };
        if let Some(p) = fd3 {
            let f = std::fs::File::open(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            // SAFETY: between fork and exec only dup2 (async-signal-safe) runs; `f` outlives
            // the spawn because the closure owns it.
            unsafe {
                c.pre_exec(move || {
                    let r = if f.as_raw_fd() == 3 {
                        libc::fcntl(3, libc::F_SETFD, 0)
                    } else {
                        libc::dup2(f.as_raw_fd(), 3)
                    };
                    if r < 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        as_who(c, who)
    }

    /// The reproducer printed for a bypass.
    fn reproducer(&self, a: &Attempt) -> String {
        let mut cmd = vec![
            "varmor-run".to_string(),
            "--profile".into(),
            a.profile.clone(),
            "--".into(),
        ];
        cmd.extend(a.argv.iter().map(|s| {
            if s == &self.helper {
                "escape".to_string()
            } else {
                s.clone()
            }
        }));
        let mut r = cmd.join(" ");
        if a.fd3.is_some() {
            r.push_str(" 3<FILE");
        }
        if a.tty {
            r = format!("script -qec \"{r}\" /dev/null");
        }
        if a.who == Who::User {
            r = format!("(as {TEST_USER}) {r}");
        }
        format!("{r}   [escape = cc -pthread tests/fixtures/escape/escape.c]")
    }

    /// Runs one attempt inside, then its control outside, and records the verdict.
    pub fn check(&mut self, a: Attempt) -> Run {
        let drive = a.driver.unwrap_or(output);
        let inside = self.inside_argv(&a.profile, &a.argv);
        let with_env = |mut c: Command| {
            c.envs(a.envs.iter().map(|(k, v)| (k, v)));
            c
        };
        let run = Run::from(&drive(with_env(self.command(
            a.who,
            &inside,
            a.tty,
            a.fd3.as_deref(),
        ))));
        let worked = run.worked(a.banner);
        let errno_ok = |want: &[i32]| match &run.outcome {
            Outcome::Err { errno, .. } => want.contains(errno),
            _ => false,
        };
        let mut verdict = match a.expect {
            _ if worked && !matches!(a.expect, Expect::Allowed | Expect::Limitation(_)) => {
                Verdict::Through(self.reproducer(&a))
            }
            Expect::Errno(e, stage) => match &run.outcome {
                Outcome::Err { errno, stage: s } if *errno == e && (stage.is_empty() || s == stage) => {
                    Verdict::Blocked
                }
                _ => Verdict::Wrong(format!(
                    "refused, but not with errno {e} at `{stage}`: {}",
                    run.brief()
                )),
            },
            Expect::AnyOf(list) if errno_ok(list) => Verdict::Blocked,
            Expect::AnyOf(list) => Verdict::Wrong(format!(
                "refused, but not with one of errnos {list:?}: {}",
                run.brief()
            )),
            Expect::NotRun => Verdict::Blocked,
            Expect::OrFailClosed(list)
                if errno_ok(list)
                    || (run.code == Some(125) && run.stderr.contains("cannot be fully enforced")) =>
            {
                Verdict::Blocked
            }
            Expect::OrFailClosed(list) => Verdict::Wrong(format!(
                "neither refused with one of errnos {list:?} nor refused to start (125): {}",
                run.brief()
            )),
            Expect::Signal(sig) if run.signal == Some(sig) => Verdict::Blocked,
            Expect::Signal(sig) => Verdict::Wrong(format!(
                "not killed by signal {sig} (status {:?}/{:?}): {}",
                run.code,
                run.signal,
                run.brief()
            )),
            Expect::Allowed if worked => Verdict::Blocked,
            Expect::Allowed => Verdict::Wrong(format!("denied inside: {}", run.brief())),
            Expect::Limitation(doc) if worked => Verdict::Limitation(doc),
            Expect::Limitation(doc) => Verdict::Wrong(format!(
                "a documented limitation ({doc}) no longer holds: update the docs and this case: {}",
                run.brief()
            )),
        };
        if let Some(want) = a.line {
            if matches!(verdict, Verdict::Blocked) && !run.stderr.contains(want) {
                verdict = Verdict::Wrong(format!("no `{want}` line: {}", run.brief()));
            }
        }
        // The control: the same trick outside must work, or this attempt could never fail.
        let control = match &a.control {
            Control::Same => Some(self.command(a.who, &a.argv, a.tty, a.fd3.as_deref())),
            Control::AsRoot => Some(self.command(Who::Root, &a.argv, a.tty, a.fd3.as_deref())),
            Control::Argv(v) => Some(self.command(Who::Root, v, a.tty, a.fd3.as_deref())),
            Control::Skip(_) => None,
        };
        let mut control_note = String::new();
        if let Some(c) = control {
            let out = Run::from(&drive(with_env(c)));
            if !out.worked(a.banner) {
                control_note = format!("CONTROL FAILED: {}", out.brief());
                if crate::common::boot_limits() && !matches!(verdict, Verdict::Through(_)) {
                    verdict = Verdict::Untestable(out.brief());
                } else if !matches!(verdict, Verdict::Through(_)) {
                    verdict = Verdict::Wrong(format!(
                        "the control failed outside, so this attempt cannot fail: {}",
                        out.brief()
                    ));
                }
            }
        } else if let Control::Skip(why) = a.control {
            control_note = format!("no control: {why}");
        }
        let label = format!("{} [{}]", a.name, a.who.label());
        eprintln!(
            "escape: {label:<64} {:<12} inside: {}  {control_note}",
            match &verdict {
                Verdict::Blocked => "secure",
                Verdict::Through(_) => "GOT THROUGH",
                Verdict::Limitation(_) => "limitation",
                Verdict::Untestable(_) => "untestable",
                Verdict::Wrong(_) => "WRONG",
            },
            run.brief()
        );
        self.records.push((label, verdict));
        run
    }

    /// Records an attempt the test ran by its own means: `secure` or not (then `detail`
    /// says what happened and how to reproduce it); `bypass` says whether an insecure
    /// outcome is a way out (counted as got through) or a defect of another kind (wrong).
    pub fn note(&mut self, name: &str, who: Who, secure: bool, bypass: bool, detail: String) {
        let verdict = match (secure, bypass) {
            (true, _) => Verdict::Blocked,
            (false, true) => Verdict::Through(detail.clone()),
            (false, false) => Verdict::Wrong(detail.clone()),
        };
        let label = format!("{name} [{}]", who.label());
        let word = match verdict {
            Verdict::Blocked => "secure",
            Verdict::Through(_) => "GOT THROUGH",
            _ => "WRONG",
        };
        eprintln!("escape: {label:<64} {word:<12} {detail}");
        self.records.push((label, verdict));
    }

    /// Prints this test's summary (and the binary's, when it is the last of `tests_in_binary`
    /// to finish), then fails if anything got through or went wrong.
    pub fn finish(self, tests_in_binary: usize) {
        let n = self.records.len();
        let through: Vec<_> = self
            .records
            .iter()
            .filter_map(|(l, v)| match v {
                Verdict::Through(r) => Some(format!("  {l}\n      reproduce: {r}")),
                _ => None,
            })
            .collect();
        let limits = self
            .records
            .iter()
            .filter(|(_, v)| matches!(v, Verdict::Limitation(_)))
            .count();
        let untestable = self
            .records
            .iter()
            .filter(|(_, v)| matches!(v, Verdict::Untestable(_)))
            .count();
        UNTESTABLE.fetch_add(untestable, Ordering::SeqCst);
        let wrong: Vec<_> = self
            .records
            .iter()
            .filter_map(|(l, v)| match v {
                Verdict::Wrong(w) => Some(format!("  {l}: {w}")),
                _ => None,
            })
            .collect();
        ATTEMPTS.fetch_add(n, Ordering::SeqCst);
        THROUGH.fetch_add(through.len(), Ordering::SeqCst);
        LIMITS.fetch_add(limits, Ordering::SeqCst);
        // Written to the real stderr (not libtest's capture) so the counts always show.
        let mut err = std::io::stderr();
        let _ = writeln!(
            err,
            "escape-suite [{}]: {n} attempts, {} got through, {limits} documented limitations, {untestable} untestable on this boot ({:.1}s)",
            self.test,
            through.len(),
            self.started.elapsed().as_secs_f64()
        );
        if DONE.fetch_add(1, Ordering::SeqCst) + 1 == tests_in_binary {
            let _ = writeln!(
                err,
                "escape-suite: {} attempts, {} got through, {} documented limitations, {} untestable on this boot",
                ATTEMPTS.load(Ordering::SeqCst),
                THROUGH.load(Ordering::SeqCst),
                LIMITS.load(Ordering::SeqCst),
                UNTESTABLE.load(Ordering::SeqCst)
            );
        }
        let mut msg = String::new();
        if !through.is_empty() {
            msg.push_str(&format!(
                "{} attempt(s) GOT THROUGH the sandbox:\n{}\n",
                through.len(),
                through.join("\n")
            ));
        }
        if !wrong.is_empty() {
            msg.push_str(&format!(
                "{} attempt(s) ended neither as expected nor as a bypass:\n{}\n",
                wrong.len(),
                wrong.join("\n")
            ));
        }
        assert!(msg.is_empty(), "{}: {msg}", self.test);
    }
}
