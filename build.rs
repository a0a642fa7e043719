//! Compiles every `bpf/*.bpf.c` into a libbpf-rs skeleton (`$OUT_DIR/<name>.skel.rs`).
//!
//! The vendored `bpf/vmlinux.h` keeps the build independent of the running kernel.
//! A missing clang or libelf stops the build with one line saying what to install.

use std::{env, ffi::OsStr, path::PathBuf, process::Command};

use libbpf_cargo::SkeletonBuilder;

const INSTALL_HINT: &str = "install the BPF build dependencies: \
apt-get install -y --no-install-recommends clang libelf-dev zlib1g-dev pkg-config libseccomp-dev";

fn fail(msg: &str) -> ! {
    // One line, no build log: cargo prints this as the build script's error.
    eprintln!("error: varmor-run build: {msg}");
    std::process::exit(1);
}

fn main() {
    let clang = env::var("CLANG").unwrap_or_else(|_| "clang".into());
    if Command::new(&clang).arg("--version").output().is_err() {
        fail(&format!("`{clang}` not found; {INSTALL_HINT}"));
    }
    if Command::new("pkg-config")
        .args(["--exists", "libelf"])
        .status()
        .map(|s| !s.success())
        .unwrap_or(true)
    {
        fail(&format!("libelf not found by pkg-config; {INSTALL_HINT}"));
    }

    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR is set by cargo"));
    let arch = match env::var("CARGO_CFG_TARGET_ARCH").as_deref() {
        Ok("x86_64") => "x86",
        Ok("aarch64") => "arm64",
        Ok(other) => fail(&format!("unsupported target architecture {other}")),
        Err(_) => "x86",
    };
    println!("cargo:rerun-if-changed=bpf");

    let mut sources: Vec<PathBuf> = std::fs::read_dir("bpf")
        .unwrap_or_else(|e| fail(&format!("cannot read bpf/: {e}")))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".bpf.c"))
        .collect();
    sources.sort();
    for src in sources {
        let stem = src
            .file_name()
            .and_then(OsStr::to_str)
            .unwrap_or_default()
            .trim_end_matches(".bpf.c")
            .to_string();
        let skel = out.join(format!("{stem}.skel.rs"));
        let obj = out.join(format!("{stem}.bpf.o"));
        SkeletonBuilder::new()
            .source(&src)
            .obj(&obj)
            .clang(&clang)
            .clang_args([
                "-Wall".to_string(),
                "-Werror".to_string(),
                "-Ibpf".to_string(),
                format!("-D__TARGET_ARCH_{arch}"),
            ])
            .build_and_generate(&skel)
            .unwrap_or_else(|e| fail(&format!("compiling {}: {e:#}", src.display())));
    }
}
