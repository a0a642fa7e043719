//! Generates the Rust side of the one header the BPF programs and Rust share,
//! `bpf/varmor.h` (at the workspace's root), with bindgen: `$OUT_DIR/varmor_abi.rs`, every
//! `varmor_*` struct and `VARMOR_*` constant with bindgen's size, alignment and
//! field-offset checks (src/abi.rs re-exports it under Rust names).
//! A missing libclang stops the build with one line saying what to install.

use std::{env, path::PathBuf};

/// The BPF sources and headers, shared by the workspace.
const BPF: &str = "../../bpf";

fn fail(msg: &str) -> ! {
    // One line, no build log: cargo prints this as the build script's error.
    eprintln!("error: varmor-core build: {msg}; install clang (apt-get install -y clang)");
    std::process::exit(1);
}

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR is set by cargo"));
    let header = format!("{BPF}/varmor.h");
    println!("cargo:rerun-if-changed={header}");
    let b = bindgen::Builder::default()
        .header(&header)
        .clang_arg(format!("-I{BPF}"))
        .allowlist_type("varmor_.*")
        .allowlist_var("VARMOR_.*")
        .allowlist_recursively(true)
        .derive_default(true)
        .derive_eq(true)
        .derive_hash(true)
        .layout_tests(true)
        .generate()
        .unwrap_or_else(|e| fail(&format!("generating Rust from {header}: {e}")));
    b.write_to_file(out.join("varmor_abi.rs"))
        .unwrap_or_else(|e| fail(&format!("writing varmor_abi.rs: {e}")));
}
