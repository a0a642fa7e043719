//! Rust side of the BPF enforcer: the pinned rule maps, the cgroup network hooks, the
//! LSM hooks, the event ring buffer; and, for tests and benchmarks only (the `test-kit`
//! feature, which no product binary is built with), the in-kernel matcher test harness.
//!
//! Objects are the ones crates/kernel/build.rs compiles from bpf/*.bpf.c; they are
//! embedded here and opened with a pin root path, so every object shares the maps pinned under the pin
//! dir (bpf/maps.bpf.h pins each map by name). Needs root (CAP_BPF + CAP_NET_ADMIN +
//! CAP_PERFMON) and a kernel with BTF.

mod events;
mod lsm;
mod maps;
#[cfg(feature = "test-kit")]
pub mod matchtest;
pub mod names;
mod net;
pub mod pins;
mod unix;

use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;

pub use events::{event_text, Events};
pub use lsm::{probe_lsm, verify_lsm_objects, LsmHooks};
pub use maps::{Maps, MAP_NAMES};
#[cfg(feature = "test-kit")]
pub use matchtest::{bench_decision, bench_linear64, MatchTest};
pub use net::{NetHooks, NET_PROGS, SRCROUTE_PROGS};
pub use unix::{UnixHooks, UNIX_PROGS};

/// Where varmord pins by default.
pub const DEFAULT_PIN_DIR: &str = "/sys/fs/bpf/varmor";

#[derive(Debug, Error)]
pub enum BpfError {
    #[error("{what}: {source}")]
    Io { what: String, source: io::Error },
    #[error("{what}: {source}")]
    Libbpf {
        what: String,
        source: libbpf_rs::Error,
    },
    #[error("map {map} is full or refused entry {index} of this sandbox ({source}); nothing of it was kept")]
    MapFull {
        map: &'static str,
        index: usize,
        source: libbpf_rs::Error,
    },
    #[error("the kernel had no memory for entry {index} of this sandbox in map {map} ({source}; memory pressure, or the memory cgroup varmord runs in is at its limit); nothing of it was kept")]
    MapNoMemory {
        map: &'static str,
        index: usize,
        source: libbpf_rs::Error,
    },
    #[error("namespace {0} already has rules; a namespace is confined once")]
    AlreadyConfined(u32),
    #[error("{0}")]
    Other(String),
}

pub(crate) fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> BpfError {
    let what = what.into();
    move |source| BpfError::Io { what, source }
}

pub(crate) fn bpf_err(what: impl Into<String>) -> impl FnOnce(libbpf_rs::Error) -> BpfError {
    let what = what.into();
    move |source| BpfError::Libbpf { what, source }
}

/// An object file's bytes, 8-byte aligned for libelf.
#[repr(C, align(8))]
pub(crate) struct Aligned<B: ?Sized>(pub B);

macro_rules! object {
    ($name:literal) => {{
        static OBJ: &$crate::bpf::Aligned<[u8]> = &$crate::bpf::Aligned(*include_bytes!(concat!(
            env!("OUT_DIR"),
            "/",
            $name,
            ".bpf.o"
        )));
        &OBJ.0
    }};
}
pub(crate) use object;

/// Mounts bpffs on /sys/fs/bpf when nothing is mounted there and `pin_dir` lies below it;
/// then creates `pin_dir`.
pub fn ensure_pin_dir(pin_dir: &Path) -> Result<(), BpfError> {
    let root = Path::new("/sys/fs/bpf");
    if pin_dir.starts_with(root) {
        let is_bpffs = nix::sys::statfs::statfs(root)
            .map(|s| s.filesystem_type() == nix::sys::statfs::BPF_FS_MAGIC)
            .unwrap_or(false);
        if !is_bpffs {
            nix::mount::mount(
                Some("bpf"),
                root,
                Some("bpf"),
                nix::mount::MsFlags::empty(),
                None::<&str>,
            )
            .map_err(|e| BpfError::Io {
                what: "mounting bpffs on /sys/fs/bpf".into(),
                source: e.into(),
            })?;
        }
    }
    std::fs::create_dir_all(pin_dir)
        .map_err(io_err(format!("creating pin dir {}", pin_dir.display())))
}

pub fn link_dir(pin_dir: &Path) -> PathBuf {
    pin_dir.join("links")
}
