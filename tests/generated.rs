//! The committed man pages (man/varmor-run.1, man/varmord.8) and shell completions
//! (completions/) are what `varmor-gen` makes from crates/core/src/cli.rs today: the generator is run
//! into a temporary directory and every file it writes is compared with the committed one.

use std::path::{Path, PathBuf};
use std::process::Command;

const FIX: &str = "run `cargo run --bin varmor-gen` and commit man/ and completions/";

/// Every file under `dir`, relative to it, sorted.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// The first line where `a` and `b` differ, for the failure message.
fn first_difference(a: &str, b: &str) -> String {
    let (mut la, mut lb) = (a.lines(), b.lines());
    for n in 1.. {
        match (la.next(), lb.next()) {
            (Some(x), Some(y)) if x == y => continue,
            (None, None) => break,
            (x, y) => {
                return format!(
                    "line {n}:\n  committed: {}\n  generated: {}",
                    x.unwrap_or("<end of file>"),
                    y.unwrap_or("<end of file>")
                )
            }
        }
    }
    "only line endings differ".into()
}

#[test]
fn committed_docs_match_the_generator() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_varmor-gen"))
        .arg(tmp.path())
        .output()
        .expect("running varmor-gen");
    assert!(
        out.status.success(),
        "varmor-gen failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let generated = files(tmp.path());
    for want in [
        "man/varmor-run.1",
        "man/varmord.8",
        "completions/varmor-run.bash",
        "completions/varmor-run.zsh",
        "completions/varmor-run.fish",
        "completions/varmord.bash",
        "completions/varmord.zsh",
        "completions/varmord.fish",
    ] {
        assert!(
            generated.contains(&PathBuf::from(want)),
            "varmor-gen did not write {want}"
        );
    }
    let mut problems = Vec::new();
    for rel in &generated {
        let new = std::fs::read(tmp.path().join(rel)).unwrap();
        match std::fs::read(root.join(rel)) {
            Err(_) => problems.push(format!("{} is missing", rel.display())),
            Ok(old) if old != new => problems.push(format!(
                "{} is out of date; first difference at {}",
                rel.display(),
                first_difference(
                    &String::from_utf8_lossy(&old),
                    &String::from_utf8_lossy(&new)
                )
            )),
            Ok(_) => {}
        }
    }
    assert!(
        problems.is_empty(),
        "generated documentation differs from the committed files ({FIX}):\n{}",
        problems.join("\n")
    );
}

#[test]
fn hand_written_profile_page_is_left_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let status = Command::new(env!("CARGO_BIN_EXE_varmor-gen"))
        .arg(tmp.path())
        .status()
        .unwrap();
    assert!(status.success());
    assert!(
        !tmp.path().join("man/varmor-profile.5").exists(),
        "varmor-profile.5 is hand-written; varmor-gen must not write it"
    );
    assert!(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("man/varmor-profile.5")
            .is_file(),
        "man/varmor-profile.5 (hand-written) is missing"
    );
}
