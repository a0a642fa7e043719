//! `varmor-run --desktop install|remove|list` on real .desktop files (Debian's xterm and
//! firefox-esr entries in tests/fixtures/desktop/, plus one with actions, TryExec and
//! quoting), checked with desktop-file-validate. Everything lives in a temp HOME,
//! XDG_DATA_HOME and XDG_DATA_DIRS; the real ~/.local is never touched.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_varmor-run");

/// A desktop file with actions, TryExec, a quoted Exec, field codes, D-Bus activation,
/// and one action that already runs under varmor-run.
const DEMO: &str = r#"# a demo entry
[Desktop Entry]
Type=Application
Name=Demo
Name[de]=Demo (de)
Icon=org.example.Demo
TryExec=/usr/bin/demo
Exec="/opt/demo app/bin/demo" --title "a \\$b" %F
DBusActivatable=true
Actions=new-window;private;
MimeType=text/plain;

[Desktop Action new-window]
Name=New Window
Exec=demo --new-window %u

[Desktop Action private]
Name=Private
Exec=varmor-run --profile nonet -- demo --private
"#;

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::Builder::new()
            .prefix("varmor-desktop")
            .tempdir()
            .unwrap();
        let apps = dir.path().join("sys/share/applications");
        std::fs::create_dir_all(&apps).unwrap();
        for f in ["debian-xterm.desktop", "firefox-esr.desktop"] {
            std::fs::copy(fixture(f), apps.join(f)).unwrap();
        }
        std::fs::write(apps.join("org.example.Demo.desktop"), DEMO).unwrap();
        for d in ["home", "config/varmor/profiles.d", "other/share"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        Env { dir }
    }

    fn p(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new(BIN);
        c.env("HOME", self.p("home"))
            .env("XDG_DATA_HOME", self.p("data"))
            .env(
                "XDG_DATA_DIRS",
                format!(
                    "{}:{}",
                    self.p("other/share").display(),
                    self.p("sys/share").display()
                ),
            )
            .env("XDG_CONFIG_HOME", self.p("config"))
            .env_remove("VARMOR_RUN");
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }

    fn user_file(&self, app: &str) -> PathBuf {
        self.p(&format!("data/applications/{app}.desktop"))
    }
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/desktop")
        .join(name)
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "varmor-run failed ({}): {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn fails(o: &Output) -> String {
    assert_eq!(
        o.status.code(),
        Some(125),
        "expected a launcher error: {o:?}"
    );
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn validate(path: &Path) {
    let o = Command::new("desktop-file-validate")
        .arg(path)
        .output()
        .expect("desktop-file-validate (apt-get install desktop-file-utils)");
    let out = String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success() && !out.contains("error:"),
        "{}: {out}",
        path.display()
    );
}

/// The override with our additions taken out: the comment line, the marker, and the
/// `varmor-run --profile P -- ` prefix of each Exec wrapped by `prefix`.
fn unwrapped(text: &str, prefix: &str) -> String {
    text.lines()
        .skip(1)
        .filter(|l| !l.starts_with("X-Varmor-Profile="))
        .map(|l| match l.strip_prefix(&format!("Exec={prefix}")) {
            Some(rest) => format!("Exec={rest}\n"),
            None => format!("{l}\n"),
        })
        .collect()
}

#[test]
fn install_list_remove_real_entries() {
    let e = Env::new();
    for (app, profile) in [("firefox-esr", "nocurl"), ("debian-xterm", "nonet")] {
        let o = ok(&e.run(&["--desktop", "install", app, "--profile", profile]));
        let file = e.user_file(app);
        assert!(o.contains(&file.display().to_string()), "{o}");
        validate(&file);
        let text = std::fs::read_to_string(&file).unwrap();
        let original = std::fs::read_to_string(fixture(&format!("{app}.desktop"))).unwrap();
        let prefix = format!("varmor-run --profile {profile} -- ");
        let execs: Vec<&str> = text.lines().filter(|l| l.starts_with("Exec=")).collect();
        assert!(!execs.is_empty());
        assert!(
            execs
                .iter()
                .all(|l| l.starts_with(&format!("Exec={prefix}"))),
            "{execs:?}"
        );
        assert!(
            text.starts_with("# Written by varmor-run --desktop install"),
            "{text}"
        );
        assert!(
            text.contains(&format!("\nX-Varmor-Profile={profile}\n")),
            "{text}"
        );
        // Everything else (Name, Icon, translations, comments) is kept line for line.
        assert_eq!(unwrapped(&text, &prefix), original);
    }
    let firefox = std::fs::read_to_string(e.user_file("firefox-esr")).unwrap();
    assert!(firefox
        .contains("\nExec=varmor-run --profile nocurl -- /usr/lib/firefox-esr/firefox-esr %u\n"));
    assert!(firefox.contains("\nIcon=firefox-esr\n") && firefox.contains("\nName=Firefox ESR\n"));

    let list = ok(&e.run(&["--desktop", "list"]));
    let rows: Vec<Vec<&str>> = list
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    let want = |app: &str, profile: &str| {
        vec![
            app.to_string(),
            profile.to_string(),
            e.user_file(app).display().to_string(),
        ]
    };
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|s| s.to_string()).collect())
        .collect();
    assert_eq!(
        rows,
        [want("debian-xterm", "nonet"), want("firefox-esr", "nocurl")],
        "{list}"
    );

    // Installing again (another profile) replaces our own override, wrapping once.
    ok(&e.run(&[
        "--desktop",
        "install",
        "firefox-esr.desktop",
        "--profile",
        "nonet",
    ]));
    let again = std::fs::read_to_string(e.user_file("firefox-esr")).unwrap();
    assert!(
        again
            .contains("\nExec=varmor-run --profile nonet -- /usr/lib/firefox-esr/firefox-esr %u\n"),
        "{again}"
    );
    assert_eq!(again.matches("X-Varmor-Profile=").count(), 1);

    for app in ["firefox-esr", "debian-xterm"] {
        let o = ok(&e.run(&["--desktop", "remove", app]));
        assert!(o.starts_with("removed "), "{o}");
        assert!(!e.user_file(app).exists());
    }
    let list = ok(&e.run(&["--desktop", "list"]));
    assert!(
        list.starts_with("no varmor-run desktop overrides"),
        "{list}"
    );
    let left: Vec<_> = std::fs::read_dir(e.p("data/applications"))
        .unwrap()
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn actions_tryexec_quoting_and_field_codes() {
    let e = Env::new();
    validate(&e.p("sys/share/applications/org.example.Demo.desktop"));
    // A profile given by a path with a space, and a launcher path with a space.
    let pdir = e.p("my profiles");
    std::fs::create_dir_all(&pdir).unwrap();
    let profile = pdir.join("demo.yaml");
    std::fs::write(&profile, "description: demo\ninclude: [base]\n").unwrap();
    let o = e
        .cmd()
        .env("VARMOR_RUN", "/opt/var mor/varmor-run")
        .args(["--desktop", "install", "org.example.Demo", "--profile"])
        .arg(&profile)
        .output()
        .unwrap();
    let out = ok(&o);
    assert!(out.contains("2 Exec= lines wrapped"), "{out}");
    let file = e.user_file("org.example.Demo");
    validate(&file);
    let text = std::fs::read_to_string(&file).unwrap();
    let prefix = format!(
        r#"Exec="/opt/var mor/varmor-run" --profile "{}" -- "#,
        profile.display()
    );
    let want = [
        format!(r#"{prefix}"/opt/demo app/bin/demo" --title "a \\$b" %F"#),
        format!("{prefix}demo --new-window %u"),
        "Exec=varmor-run --profile nonet -- demo --private".to_string(),
    ];
    let execs: Vec<&str> = text.lines().filter(|l| l.starts_with("Exec=")).collect();
    assert_eq!(execs, want, "{text}");
    // TryExec still names the real binary (it is only an existence check).
    assert!(text.contains("\nTryExec=/usr/bin/demo\n"));
    // D-Bus activation would bypass Exec=, so it is turned off.
    assert!(text.contains("\nDBusActivatable=false\n"), "{text}");
    assert!(text.contains("\nName[de]=Demo (de)\n") && text.contains("\nIcon=org.example.Demo\n"));
    assert!(text.contains(&format!("\nX-Varmor-Profile={}\n", profile.display())));
    ok(&e.run(&["--desktop", "remove", "org.example.Demo"]));
}

#[test]
fn profile_named_like_the_app_else_an_error() {
    let e = Env::new();
    let err = fails(&e.run(&["--desktop", "install", "debian-xterm"]));
    assert!(err.contains("--profile"), "{err}");
    assert!(!e.user_file("debian-xterm").exists());

    std::fs::write(
        e.p("config/varmor/profiles.d/debian-xterm.yaml"),
        "description: xterm\ninclude: [base]\n",
    )
    .unwrap();
    ok(&e.run(&["--desktop", "install", "debian-xterm"]));
    let text = std::fs::read_to_string(e.user_file("debian-xterm")).unwrap();
    assert!(
        text.contains("\nExec=varmor-run --profile debian-xterm -- xterm\n"),
        "{text}"
    );

    // A profile that does not compile is refused before anything is written.
    std::fs::write(
        e.p("config/varmor/profiles.d/broken.yaml"),
        "description: x\nfile: 7\n",
    )
    .unwrap();
    let err = fails(&e.run(&["--desktop", "install", "firefox-esr", "--profile", "broken"]));
    assert!(err.contains("broken.yaml:"), "{err}");
    let err = fails(&e.run(&[
        "--desktop",
        "install",
        "firefox-esr",
        "--profile",
        "no-such",
    ]));
    assert!(err.contains("no-such"), "{err}");
    assert!(!e.user_file("firefox-esr").exists());
}

#[test]
fn foreign_files_are_left_alone() {
    let e = Env::new();
    let mine = "[Desktop Entry]\nType=Application\nName=Mine\nExec=xterm -e top\n";
    std::fs::create_dir_all(e.p("data/applications")).unwrap();
    std::fs::write(e.user_file("debian-xterm"), mine).unwrap();
    let err = fails(&e.run(&["--desktop", "install", "debian-xterm", "--profile", "nonet"]));
    assert!(err.contains("not written by varmor-run"), "{err}");
    let err = fails(&e.run(&["--desktop", "remove", "debian-xterm"]));
    assert!(err.contains("not written by varmor-run"), "{err}");
    assert_eq!(
        std::fs::read_to_string(e.user_file("debian-xterm")).unwrap(),
        mine
    );
    let list = ok(&e.run(&["--desktop", "list"]));
    assert!(
        list.starts_with("no varmor-run desktop overrides"),
        "{list}"
    );

    let err = fails(&e.run(&["--desktop", "remove", "firefox-esr"]));
    assert!(err.contains("no override"), "{err}");
    let err = fails(&e.run(&["--desktop", "install", "xterm", "--profile", "nonet"]));
    assert!(
        err.contains("no xterm.desktop") && err.contains("did you mean debian-xterm"),
        "{err}"
    );
    let err = fails(&e.run(&["--desktop", "install", "../x", "--profile", "nonet"]));
    assert!(err.contains("not an application name"), "{err}");
}
