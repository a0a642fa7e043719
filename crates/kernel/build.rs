//! Compiles every `bpf/*.bpf.c` (at the workspace's root) into a libbpf-rs skeleton
//! (`$OUT_DIR/<name>.skel.rs`) and generates the Rust side of the matcher test programs'
//! header, `bpf/matchtest.h`, with bindgen (`$OUT_DIR/matchtest_abi.rs`, layout tests
//! included). The one shared header, `bpf/varmor.h`, is varmor-core's (its build.rs).
//!
//! The vendored `bpf/vmlinux.h` keeps the build independent of the running kernel.
//! A missing clang or libelf stops the build with one line saying what to install.

use std::{env, ffi::OsStr, path::PathBuf, process::Command};

use libbpf_cargo::SkeletonBuilder;

/// The BPF sources and headers, shared by the workspace.
const BPF: &str = "../../bpf";

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
    println!("cargo:rerun-if-changed={BPF}");
    abi_bindings(&out);

    let mut sources: Vec<PathBuf> = std::fs::read_dir(BPF)
        .unwrap_or_else(|e| fail(&format!("cannot read bpf/: {e}")))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".bpf.c"))
        .collect();
    sources.sort();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
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
                format!("-I{BPF}"),
                format!("-D__TARGET_ARCH_{arch}"),
            ])
            .build_and_generate(&skel)
            .unwrap_or_else(|e| fail(&format!("compiling {}: {e:#}", src.display())));
        let bytes = std::fs::read(&obj)
            .unwrap_or_else(|e| fail(&format!("reading {}: {e}", obj.display())));
        for b in stem.as_bytes().iter().chain(&bytes) {
            hash = (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    // Pins are kept per build of the BPF objects (crates/kernel/src/bpf/pins.rs): a varmord never adopts
    // programs or maps another build made.
    std::fs::write(
        out.join("objects_hash.rs"),
        format!("/// FNV-1a of every BPF object this build embeds.\npub const OBJECTS_HASH: u64 = {hash:#018x};\n"),
    )
    .unwrap_or_else(|e| fail(&format!("writing objects_hash.rs: {e}")));
}

/// `bpf/matchtest.h` (the matcher test programs' inputs and outputs) -> `$OUT_DIR`, with
/// bindgen's size, alignment and field-offset checks. Its types refer to varmor.h's, which
/// varmor-core's bindings already hold (blocklisted here, so both share one definition).
fn abi_bindings(out: &std::path::Path) {
    let header = format!("{BPF}/matchtest.h");
    let file = "matchtest_abi.rs";
    let b = bindgen::Builder::default()
        .blocklist_type("varmor_.*|__u(8|16|32|64)")
        .parse_callbacks(Box::new(SharedTypes))
        .header(&header)
        .clang_arg(format!("-I{BPF}"))
        .allowlist_type("mt_.*")
        .allowlist_var("MT_.*")
        .allowlist_recursively(true)
        .derive_default(true)
        .derive_eq(true)
        .derive_hash(true)
        .layout_tests(true)
        .generate()
        .unwrap_or_else(|e| fail(&format!("generating Rust from {header}: {e}")));
    b.write_to_file(out.join(file))
        .unwrap_or_else(|e| fail(&format!("writing {file}: {e}")));
}

/// varmor.h's types, blocklisted in matchtest.h's file, derive what their own file gives
/// them (Copy, Default, Eq, Hash...), so the structs that hold them can derive it too.
#[derive(Debug)]
struct SharedTypes;

impl bindgen::callbacks::ParseCallbacks for SharedTypes {
    fn blocklisted_type_implements_trait(
        &self,
        _name: &str,
        _derive: bindgen::callbacks::DeriveTrait,
    ) -> Option<bindgen::callbacks::ImplementsTrait> {
        Some(bindgen::callbacks::ImplementsTrait::Yes)
    }
}
