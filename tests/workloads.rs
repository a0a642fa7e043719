//! Workloads (issue 15): real work under the shipped profiles, as the real unprivileged
//! user varmor-test with a real home and a project in it, on the backend of
//! VARMOR_TEST_BACKEND (compat when unset). Each workload must succeed, and in the same
//! run the profile's promise must hold: the forbidden action fails with EPERM/EACCES and
//! a varmor line names it, and the same action outside the sandbox works.
//!
//! The home starts as a new user's would for what each workload touches (no ~/.npm, no
//! ~/.mozilla, no ~/.cargo: creating them is part of the work); everything the tests make
//! in it is removed afterwards. No network is used beyond loopback.

mod common;
#[path = "common/workload.rs"]
mod workload;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;
use workload::*;

fn start() -> Daemon {
    Daemon::start()
}

/// The forbidden actions of an install script, run the same way outside to show they are
/// the sandbox's doing: read the key, change ~/.bashrc (an append of nothing), run curl.
const OUTSIDE_ACTIONS: &str =
    "cat ~/.ssh/id_ed25519 >/dev/null && : >> ~/.bashrc && curl --version >/dev/null && echo outside-ok";

fn bashrc() -> String {
    std::fs::read_to_string(Path::new(HOME).join(".bashrc")).unwrap_or_default()
}

#[test]
fn npm_install_of_a_package_whose_postinstall_misbehaves() {
    let Some(()) = need("npm_install", &["npm", "node", "curl"]) else {
        return;
    };
    let _npm = npm_home_lock();
    let d = start();
    let _key = plant_key();
    let (p, mut clean) = project("npm");
    // A new user's home has no ~/.npm: npm must be able to make its cache and logs there.
    let npm_home = PathBuf::from(HOME).join(".npm");
    let _ = std::fs::remove_dir_all(&npm_home);
    clean.0.push(npm_home.clone());
    write(
        &p.join("evil/package.json"),
        r#"{"name":"evil-pkg","version":"1.0.0","scripts":{"postinstall":"node postinstall.js"}}"#,
    );
    write(
        &p.join("evil/postinstall.js"),
        r#"const fs = require('fs'), os = require('os'), cp = require('child_process'), path = require('path');
const h = os.homedir(), out = [];
function t(name, f) { try { f(); out.push(name + '=ALLOWED'); } catch (e) { out.push(name + '=' + (e.code || e.message)); } }
t('read_key', () => fs.readFileSync(path.join(h, '.ssh/id_ed25519')));
t('write_bashrc', () => fs.appendFileSync(path.join(h, '.bashrc'), '\n# evil-pkg was here\n'));
t('curl', () => { const r = cp.spawnSync('curl', ['--version']); if (r.error) throw r.error; if (r.status !== 0) throw new Error('status ' + r.status); });
const done = () => fs.writeFileSync(path.join(process.env.INIT_CWD, 'postinstall.log'), out.join('\n') + '\n');
const c = require('net').connect(Number(process.env.VARMOR_OTHER_PORT), '127.0.0.1');
c.on('connect', () => { out.push('connect=ALLOWED'); c.destroy(); done(); });
c.on('error', (e) => { out.push('connect=' + e.code); done(); });
"#,
    );
    std::fs::create_dir_all(p.join("app")).unwrap();
    chown_user(&p);
    let before = bashrc();
    let profile = profile("npm-install");
    // Any address but the registry's: the postinstall's connect is refused (allow list).
    let other = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let other_port = other.local_addr().unwrap().port().to_string();
    let o = user_sh(
        &d,
        Some(&profile),
        &p,
        "set -e
         cd evil && npm pack --silent --pack-destination .. >/dev/null && cd ..
         cd app && npm init -y >/dev/null
         timeout 300 npm install --no-audit --no-fund ../evil-pkg-1.0.0.tgz
         test -f node_modules/evil-pkg/package.json && echo installed",
        &[("VARMOR_OTHER_PORT", &other_port)],
    );
    assert_ok("npm pack + npm init + npm install", &o);
    assert!(stdout(&o).contains("installed"), "{}", show(&o));
    assert!(
        npm_home.join("_cacache").is_dir() || npm_home.join("_logs").is_dir(),
        "npm made no ~/.npm"
    );
    let log = std::fs::read_to_string(p.join("app/postinstall.log")).unwrap_or_default();
    let conn_line = format!("connect 127.0.0.1:{other_port}");
    for (what, line) in [
        ("read_key", "open(read) /home/varmor-test/.ssh/id_ed25519"),
        ("write_bashrc", "/home/varmor-test/.bashrc"),
        ("curl", "exec /usr/bin/curl"),
        ("connect", conn_line.as_str()),
    ] {
        assert!(
            log.contains(&format!("{what}=EPERM")) || log.contains(&format!("{what}=EACCES")),
            "postinstall {what} was not refused with EPERM/EACCES: {log}\n{}",
            show(&o)
        );
        assert_line(what, &o, line);
    }
    assert_eq!(bashrc(), before, "~/.bashrc changed");
    let out = user_sh(&d, None, &p, OUTSIDE_ACTIONS, &[]);
    assert!(
        stdout(&out).contains("outside-ok"),
        "outside: {}",
        show(&out)
    );
}

#[test]
fn npm_behind_the_alias_in_a_project_under_home() {
    let Some(()) = need("npm_alias", &["npm", "bash"]) else {
        return;
    };
    let _npm = npm_home_lock();
    let d = start();
    let (p, _clean) = project("npm-alias");
    let run = d.cmd(&[]).get_program().to_string_lossy().into_owned();
    // What the README shows: the alias, then ordinary npm use in a fresh project.
    let script = format!(
        "shopt -s expand_aliases
         alias npm='{run} --socket {} --profile {} -- npm'
         npm init -y >/dev/null && mkdir node_modules && echo notes > notes.txt && npm pkg set description=wl && echo alias-ok",
        d.socket.display(),
        profile("npm-install")
    );
    let (uid, gid) = test_user();
    let o = Command::new("bash")
        .args(["-c", &script])
        .uid(uid)
        .gid(gid)
        .env_clear()
        .env("HOME", HOME)
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .current_dir(&p)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(stdout(&o).contains("alias-ok"), "{}", show(&o));
}

#[test]
fn pip_install_of_a_local_source_package() {
    let Some(()) = need("pip_install", &["python3", "curl"]) else {
        return;
    };
    if !Command::new("python3")
        .args(["-c", "import venv, ensurepip"])
        .status()
        .is_ok_and(|s| s.success())
    {
        return skip("pip_install: python3-venv is not installed (scripts/deps.sh installs it)");
    }
    let d = start();
    let _key = plant_key();
    let (p, mut clean) = project("pip");
    clean.0.push(PathBuf::from(HOME).join(".cache/pip"));
    write(
        &p.join("pkg/setup.py"),
        r#"import errno, os, subprocess
from setuptools import setup
h, out = os.path.expanduser('~'), []
def t(name, f):
    try:
        f(); out.append(name + '=ALLOWED')
    except OSError as e:
        out.append(name + '=' + errno.errorcode.get(e.errno, str(e.errno)))
    except Exception as e:
        out.append(name + '=' + repr(e))
t('read_key', lambda: open(h + '/.ssh/id_ed25519').read())
t('write_bashrc', lambda: open(h + '/.bashrc', 'a').write('\n# wlpkg was here\n'))
t('curl', lambda: subprocess.run(['curl', '--version'], check=True, capture_output=True))
open(os.environ['WL_LOG'], 'w').write('\n'.join(out) + '\n')
setup(name='wlpkg', version='1.0', packages=['wlpkg'])
"#,
    );
    write(
        &p.join("pkg/wlpkg/__init__.py"),
        "def hello():\n    return 'wlpkg ok'\n",
    );
    chown_user(&p);
    let before = bashrc();
    let log = p.join("setup.log");
    let o = user_sh(
        &d,
        Some(&profile("pip-install")),
        &p,
        "set -e
         python3 -m venv venv
         venv/bin/pip install --no-index ./pkg
         venv/bin/python -c 'import wlpkg; print(wlpkg.hello())'",
        &[("WL_LOG", log.to_str().unwrap())],
    );
    assert_ok("venv + pip install + import", &o);
    assert!(stdout(&o).contains("wlpkg ok"), "{}", show(&o));
    let log = std::fs::read_to_string(&log).unwrap_or_default();
    for (what, line) in [
        ("read_key", "open(read) /home/varmor-test/.ssh/id_ed25519"),
        ("write_bashrc", "/home/varmor-test/.bashrc"),
        ("curl", "exec /usr/bin/curl"),
    ] {
        assert!(
            log.contains(&format!("{what}=EPERM")) || log.contains(&format!("{what}=EACCES")),
            "setup.py {what} was not refused with EPERM/EACCES: {log}\n{}",
            show(&o)
        );
        assert_line(what, &o, line);
    }
    assert_eq!(bashrc(), before, "~/.bashrc changed");
    let out = user_sh(&d, None, &p, OUTSIDE_ACTIONS, &[]);
    assert!(
        stdout(&out).contains("outside-ok"),
        "outside: {}",
        show(&out)
    );
}

#[test]
fn build_make_cargo_and_git() {
    let Some(()) = need("build", &["make", "cc", "git", "cargo"]) else {
        return;
    };
    let d = start();
    let _key = plant_key();
    let (p, mut clean) = project("build");
    // CARGO_HOME in the home, as cargo's default: ~/.cargo is on the way to
    // ~/.cargo/credentials.toml, which no-keys protects.
    let cargo_home = PathBuf::from(HOME).join(".cargo");
    let _ = std::fs::remove_dir_all(&cargo_home);
    clean.0.push(cargo_home.clone());
    write(
        &p.join("c/Makefile"),
        "hello: main.o greet.o\n\tcc -o $@ $^\n%.o: %.c\n\tcc -c -o $@ $<\nclean:\n\trm -f hello *.o\n",
    );
    write(
        &p.join("c/main.c"),
        "const char *greet(void);\n#include <stdio.h>\nint main(void) { puts(greet()); return 0; }\n",
    );
    write(
        &p.join("c/greet.c"),
        "const char *greet(void) { return \"c ok\"; }\n",
    );
    write(
        &p.join("rs/Cargo.toml"),
        "[package]\nname = \"wl\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n",
    );
    write(
        &p.join("rs/src/main.rs"),
        "fn main() { println!(\"rust ok\"); }\n",
    );
    chown_user(&p);
    let o = user_sh(
        &d,
        Some(&profile("build")),
        &p,
        "set -e
         make -C c >/dev/null && ./c/hello
         make -C c clean >/dev/null && make -C c >/dev/null
         cd rs && cargo build --offline -q && ./target/debug/wl && cd ..
         git init -q . && git add -A && git -c user.email=t@example.org -c user.name=t commit -qm 'first' && git log --oneline | wc -l
         echo change >> c/main.c && git -c user.email=t@example.org -c user.name=t commit -qam second && git gc -q && echo git-ok
         cat ~/.ssh/id_ed25519 || echo key-refused",
        &[("CARGO_HOME", cargo_home.to_str().unwrap())],
    );
    assert_ok("make + cargo build + git", &o);
    let out = stdout(&o);
    for want in ["c ok", "rust ok", "git-ok", "key-refused"] {
        assert!(out.contains(want), "missing `{want}`:\n{}", show(&o));
    }
    assert!(!out.contains(KEY.trim()), "the key was read: {}", show(&o));
    assert!(
        stderr(&o).contains("Operation not permitted"),
        "{}",
        show(&o)
    );
    assert_line(
        "read key",
        &o,
        "open(read) /home/varmor-test/.ssh/id_ed25519",
    );
    // nonet: no socket at all (refused by seccomp; no line of its own).
    let o = user_sh(
        &d,
        Some(&profile("build")),
        &p,
        "python3 -c \"import socket; socket.socket()\" 2>&1 | tail -1",
        &[],
    );
    assert!(
        stdout(&o).contains("Operation not permitted"),
        "{}",
        show(&o)
    );
    let out = user_sh(
        &d,
        None,
        &p,
        "cat ~/.ssh/id_ed25519 && python3 -c 'import socket; socket.socket(); print(\"sock-ok\")'",
        &[],
    );
    assert!(stdout(&out).contains("sock-ok"), "outside: {}", show(&out));
}

#[test]
fn no_secrets_editor_saves_and_new_app_directories() {
    let Some(()) = need("no_secrets", &["python3"]) else {
        return;
    };
    let d = start();
    let _key = plant_key();
    let (p, mut clean) = project("nosecrets");
    let tag = format!("wlapp-{}", std::process::id());
    let home = PathBuf::from(HOME);
    for d in [".config", ".cache", ".local/share"] {
        clean.0.push(home.join(d).join(&tag));
    }
    let note = home.join(format!("wl-note-{}.txt", std::process::id()));
    clean.0.push(note.clone());
    let auth = home.join(".ssh/authorized_keys");
    let _ = std::fs::remove_file(&auth);
    clean.0.push(auth.clone());
    // An editor's save: write a temporary file beside the original, rename it over it
    // (in the project, and directly in the home, which holds ~/.ssh).
    let script = format!(
        "set -e
         echo one > doc.txt && printf 'two\\n' > .doc.txt.swp && mv -f .doc.txt.swp doc.txt && cat doc.txt
         echo one > {n} && printf 'two\\n' > {n}.tmp && python3 -c 'import os,sys; os.rename(sys.argv[1] + \".tmp\", sys.argv[1])' {n} && cat {n}
         for d in .config .cache .local/share; do mkdir -p ~/$d/{tag}/sub && echo '{{}}' > ~/$d/{tag}/settings.json && mv ~/$d/{tag}/settings.json ~/$d/{tag}/sub/; done
         echo dirs-ok
         echo 'ssh-ed25519 AAAA evil' > ~/.ssh/authorized_keys || echo auth-refused
         cat ~/.ssh/id_ed25519 || echo key-refused",
        n = note.display()
    );
    let o = user_sh(&d, Some(&profile("no-secrets")), &p, &script, &[]);
    assert_ok("editor saves and new app directories", &o);
    let out = stdout(&o);
    assert_eq!(out.matches("two").count(), 2, "{}", show(&o));
    for want in ["dirs-ok", "auth-refused", "key-refused"] {
        assert!(out.contains(want), "missing `{want}`:\n{}", show(&o));
    }
    assert!(!auth.exists(), "authorized_keys was created");
    assert_line(
        "authorized_keys",
        &o,
        "/home/varmor-test/.ssh/authorized_keys",
    );
    assert_line(
        "read key",
        &o,
        "open(read) /home/varmor-test/.ssh/id_ed25519",
    );
    for d in [".config", ".cache", ".local/share"] {
        assert!(
            home.join(d).join(&tag).join("sub/settings.json").is_file(),
            "~/{d}/{tag}"
        );
    }
    let out = user_sh(
        &d,
        None,
        &p,
        "cat ~/.ssh/id_ed25519 >/dev/null && echo x > ~/.ssh/authorized_keys && rm ~/.ssh/authorized_keys && echo outside-ok",
        &[],
    );
    assert!(
        stdout(&out).contains("outside-ok"),
        "outside: {}",
        show(&out)
    );
}

const PAGE: &str = "<html><body style=\"background:#c00\"><h1>varmor workload</h1></body></html>\n";

/// `firefox-esr --headless --screenshot` of a local page, its profile under ~/.mozilla;
/// then the same from a `varmor-run --desktop install`ed override's Exec= line. One test,
/// so the two never share ~/.mozilla at once.
#[test]
fn firefox_screenshot_and_its_desktop_override() {
    let Some(()) = need("firefox", &["firefox-esr"]) else {
        return;
    };
    let d = start();
    let _key = plant_key();
    let (p, mut clean) = project("firefox");
    let home = PathBuf::from(HOME);
    let mozilla = home.join(".mozilla");
    let _ = std::fs::remove_dir_all(&mozilla);
    clean.0.push(mozilla.clone());
    clean.0.push(home.join(".config/mozilla"));
    let downloads = home.join("Downloads"); // Firefox makes it at start
    if !downloads.exists() {
        clean.0.push(downloads);
    }
    let desktop = home.join(".local/share/applications/firefox-esr.desktop");
    let _ = std::fs::remove_file(&desktop);
    clean.0.push(desktop.clone());
    write(&p.join("page.html"), PAGE);
    chown_user(&p);
    let url = format!("file://{}/page.html", p.display());
    let shot = p.join("shot.png");
    let script = format!(
        "set -e
         mkdir -p ~/.mozilla/firefox/wl
         timeout 180 firefox-esr --headless --profile ~/.mozilla/firefox/wl --screenshot {} {url} 2>&1 | tail -3
         cat ~/.ssh/id_ed25519 || echo key-refused
         cat ~/.config/google-chrome/Default/Cookies 2>/dev/null || echo chrome-refused",
        shot.display()
    );
    let profile = profile("firefox");
    let o = user_sh(&d, Some(&profile), &p, &script, &[]);
    assert_ok("firefox --headless --screenshot", &o);
    assert!(shot.is_file(), "no screenshot: {}", show(&o));
    let files = walk(&mozilla.join("firefox/wl"));
    assert!(
        files > 5,
        "the profile under ~/.mozilla holds {files} files: {}",
        show(&o)
    );
    assert!(stdout(&o).contains("key-refused"), "{}", show(&o));
    assert_line(
        "read key",
        &o,
        "open(read) /home/varmor-test/.ssh/id_ed25519",
    );

    // The desktop override, then its Exec= line run as a desktop runs it (field codes
    // filled: %u with our page; --headless/--screenshot/--profile go in front of it).
    let (uid, gid) = test_user();
    let inst = d
        .cmd(&["--desktop", "install", "firefox-esr", "--profile", &profile])
        .uid(uid)
        .gid(gid)
        .env("HOME", HOME)
        .env_remove("XDG_DATA_HOME")
        .env_remove("XDG_CONFIG_HOME")
        .current_dir(&p)
        .output()
        .unwrap();
    assert!(inst.status.success(), "--desktop install: {}", show(&inst));
    let text = std::fs::read_to_string(&desktop).expect("override written");
    let exec = text
        .lines()
        .skip_while(|l| l.trim() != "[Desktop Entry]")
        .find_map(|l| l.strip_prefix("Exec="))
        .expect("Exec= in [Desktop Entry]")
        .to_string();
    assert!(
        exec.contains("--profile") && exec.contains(" -- "),
        "{exec}"
    );
    let shot2 = p.join("shot-desktop.png");
    let _ = std::fs::create_dir_all(mozilla.join("firefox/desktop"));
    chown_user(&mozilla);
    let filled = format!(
        "--headless --profile {}/firefox/desktop --screenshot {} {url}",
        mozilla.display(),
        shot2.display()
    );
    let argv: Vec<String> = exec
        .split_whitespace()
        .flat_map(|a| match a {
            "%u" | "%U" => filled.split(' ').map(String::from).collect::<Vec<_>>(),
            a => vec![a.to_string()],
        })
        .collect();
    // The desktop finds varmor-run on its PATH (here: where cargo built it).
    let bin = Path::new(env!("CARGO_BIN_EXE_varmor-run"))
        .parent()
        .unwrap()
        .display()
        .to_string();
    let desktop_path = format!("{bin}:/usr/local/bin:/usr/bin:/bin");
    // Run it, and meanwhile ask varmord (as the user) for their live sandboxes: the
    // Exec= line must be one, under the firefox profile.
    let mut child = Command::new(&argv[0])
        .args(&argv[1..])
        .uid(uid)
        .gid(gid)
        .env_clear()
        .env("HOME", HOME)
        .env("PATH", &desktop_path)
        .env("VARMOR_SOCKET", &d.socket)
        .current_dir(&home)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut confined = false;
    let t = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() && t.elapsed().as_secs() < 300 {
        let ps = d
            .cmd(&["--ps"])
            .uid(uid)
            .gid(gid)
            .env("HOME", HOME)
            .output()
            .unwrap();
        confined |= stdout(&ps).contains("firefox");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let _ = child.kill();
    let o = child.wait_with_output().unwrap();
    assert!(
        o.status.success() && shot2.is_file(),
        "Exec= `{exec}`: {}",
        show(&o)
    );
    assert!(
        walk(&mozilla.join("firefox/desktop")) > 5,
        "desktop profile unused"
    );
    assert!(
        confined,
        "varmor-run --ps never showed the Exec= line's sandbox: {}",
        show(&o)
    );
}

/// Files below `d`.
fn walk(d: &Path) -> usize {
    std::fs::read_dir(d)
        .map(|rd| {
            rd.flatten()
                .map(|e| {
                    let p = e.path();
                    if p.is_dir() {
                        walk(&p)
                    } else {
                        1
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}
