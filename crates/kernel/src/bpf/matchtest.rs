//! Runs the kernel's matching code (bpf/matchtest.bpf.c) on given inputs with
//! BPF_PROG_TEST_RUN: the differential test (tests/bpf_matcher.rs) compares its answers
//! with crates/core/src/matcher.rs, and `bench_decision` times one decision against the number of
//! rules, next to a vArmor-style linear scan of 64 slots (`bench_linear64`).

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use libbpf_rs::{MapCore, MapFlags, MapHandle, Object, ObjectBuilder, ProgramInput as Input};

use super::{bpf_err, object, BpfError, Maps};
use crate::encode::{encode, trie_addr};
use varmor_core::abi;
use varmor_core::profile::file::{Access, Action, PathRule};
use varmor_core::profile::pattern::Pattern;
use varmor_core::rules::RuleSet;

/// bindgen's output for bpf/matchtest.h (`$OUT_DIR/matchtest_abi.rs`): the programs'
/// inputs and outputs, laid out and checked as clang lays them out.
#[allow(
    non_camel_case_types,
    non_upper_case_globals,
    dead_code,
    clippy::all,
    // bindgen's zeroing `Default` impls for structs with long arrays: generated code.
    clippy::undocumented_unsafe_blocks
)]
mod sys {
    use varmor_core::abi::sys::*;
    include!(concat!(env!("OUT_DIR"), "/matchtest_abi.rs"));
}
use sys::{mt_bad_out as BadOut, mt_cwd_out as CwdOut, mt_lin_rule as LinRule, mt_out as MtOut};

/// Longest path mt_path accepts.
pub const MT_PATH_IN: usize = sys::MT_PATH_IN as usize;
/// The link-layer header BPF_PROG_TEST_RUN strips before a socket filter sees the data.
const ETH_HLEN: usize = 14;

/// Marks the generated structs as plain old data for `bytes` / `from_raw`.
///
/// # Safety
/// Only for bindgen's `#[repr(C)]` integer-only structs of bpf/matchtest.h, whose
/// padding is explicit: every byte initialised, every bit pattern valid.
unsafe trait Plain: Copy + Default {}
// SAFETY: each is a bpf/matchtest.h struct of integers and integer arrays; their sizes
// are multiples of 4 with every field a __u32 or __u8 array (no implicit padding).
unsafe impl Plain for MtOut {}
// SAFETY: as above.
unsafe impl Plain for CwdOut {}
// SAFETY: as above.
unsafe impl Plain for BadOut {}
// SAFETY: as above.
unsafe impl Plain for LinRule {}

fn bytes<T: Plain>(v: &T) -> &[u8] {
    // SAFETY: Plain's contract: all size_of::<T>() bytes are initialised; the slice
    // covers exactly the value and lives as long as the borrow.
    unsafe { std::slice::from_raw_parts((v as *const T).cast::<u8>(), std::mem::size_of::<T>()) }
}

/// A value of T from the bytes of a map lookup (None: wrong size).
fn from_raw<T: Plain>(raw: &[u8]) -> Option<Box<T>> {
    if raw.len() != std::mem::size_of::<T>() {
        return None;
    }
    let mut v = Box::<T>::default();
    // SAFETY: the length is checked; Plain's contract makes any bit pattern a valid T.
    unsafe {
        std::ptr::copy_nonoverlapping(raw.as_ptr(), (&mut *v as *mut T).cast::<u8>(), raw.len())
    };
    Some(v)
}

/// The loaded test programs, sharing the maps pinned in one pin dir.
pub struct MatchTest {
    obj: Object,
    result: MapHandle,
}

impl std::fmt::Debug for MatchTest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MatchTest")
    }
}

impl MatchTest {
    /// Loads bpf/matchtest.bpf.c against the maps pinned in `pin_dir`.
    pub fn load(pin_dir: &Path) -> Result<MatchTest, BpfError> {
        let mut b = ObjectBuilder::default();
        b.pin_root_path(pin_dir)
            .map_err(bpf_err("setting the pin root"))?;
        let obj = b
            .open_memory(object!("matchtest"))
            .map_err(bpf_err("opening matchtest.bpf.o"))?
            .load()
            .map_err(bpf_err(
                "loading matchtest.bpf.o (the verifier's log is printed above)",
            ))?;
        let result = Self::map_of(&obj, "mt_result")?;
        Ok(MatchTest { obj, result })
    }

    fn map_of(obj: &Object, name: &str) -> Result<MapHandle, BpfError> {
        let m = obj
            .maps()
            .find(|m| m.name() == name)
            .ok_or_else(|| BpfError::Other(format!("no map {name}")))?;
        MapHandle::try_from(&m).map_err(bpf_err(format!("opening map {name}")))
    }

    fn run(&self, prog: &str, payload: &[u8], repeat: u32) -> Result<(MtOut, Duration), BpfError> {
        let p = self
            .obj
            .progs_mut()
            .find(|p| p.name() == prog)
            .ok_or_else(|| BpfError::Other(format!("no program {prog}")))?;
        let mut data = vec![0u8; ETH_HLEN];
        data.extend_from_slice(payload);
        let input = Input {
            data_in: Some(&data),
            repeat,
            ..Default::default()
        };
        let out = p
            .test_run(input)
            .map_err(bpf_err(format!("running {prog}")))?;
        let raw = self
            .result
            .lookup(&0u32.to_ne_bytes(), MapFlags::ANY)
            .map_err(bpf_err("reading mt_result"))?;
        let raw = raw.ok_or_else(|| BpfError::Other("mt_result is empty".into()))?;
        let o = from_raw::<MtOut>(&raw)
            .ok_or_else(|| BpfError::Other("mt_result has the wrong size".into()))?;
        match o.status {
            0 => Ok((*o, out.duration)),
            s => Err(BpfError::Other(format!(
                "{prog} refused the input (status {s})"
            ))),
        }
    }

    fn path_payload(ns: u32, path: &[u8]) -> Result<Vec<u8>, BpfError> {
        if path.is_empty() || path.len() > MT_PATH_IN {
            return Err(BpfError::Other(format!(
                "test paths are 1..={MT_PATH_IN} bytes"
            )));
        }
        let mut v = ns.to_ne_bytes().to_vec();
        v.extend_from_slice(&(path.len() as u32).to_ne_bytes());
        v.extend_from_slice(path);
        Ok(v)
    }

    /// The kernel's path verdict for `path` in namespace `ns` (which must have a v_ns entry).
    pub fn path(&self, ns: u32, path: &[u8]) -> Result<abi::PathVal, BpfError> {
        Ok(self
            .run("mt_path", &Self::path_payload(ns, path)?, 1)?
            .0
            .path)
    }

    /// Mean time of one path decision over `repeat` runs.
    pub fn time_path(&self, ns: u32, path: &[u8], repeat: u32) -> Result<Duration, BpfError> {
        Ok(self
            .run("mt_path", &Self::path_payload(ns, path)?, repeat)?
            .1)
    }

    /// The kernel's network verdict: (first deny rule, first audit rule), by origin.
    /// IPv4 goes through the IPv4 mapping of bpf/net.bpf.c; IPv6 (mapped or not) as is.
    pub fn net(
        &self,
        ns: u32,
        dir: u32,
        addr: IpAddr,
        port: u16,
    ) -> Result<(Option<u32>, Option<u32>), BpfError> {
        let (family, a) = match addr {
            IpAddr::V4(v4) => {
                let mut a = [0u8; 16];
                a[..4].copy_from_slice(&v4.octets());
                (4u32, a)
            }
            IpAddr::V6(_) => (6, trie_addr(addr)),
        };
        let mut v = Vec::with_capacity(32);
        for w in [ns, dir, family, u32::from(port)] {
            v.extend_from_slice(&w.to_ne_bytes());
        }
        v.extend_from_slice(&a);
        let o = self.run("mt_net", &v, 1)?.0;
        let opt = |r: u32| (r != abi::NO_RULE).then_some(r);
        Ok((opt(o.net.deny_rule), opt(o.net.audit_rule)))
    }

    /// The path bpf/dpath.bpf.h builds for this process's working directory.
    pub fn cwd(&self) -> Result<(Vec<u8>, bool), BpfError> {
        let p = self
            .obj
            .progs_mut()
            .find(|p| p.name() == "mt_cwd")
            .ok_or_else(|| BpfError::Other("no mt_cwd".into()))?;
        p.test_run(Input::default())
            .map_err(bpf_err("running mt_cwd"))?;
        let m = Self::map_of(&self.obj, "mt_cwd_result")?;
        let raw = m
            .lookup(&0u32.to_ne_bytes(), MapFlags::ANY)
            .map_err(bpf_err("reading mt_cwd_result"))?;
        let o = raw
            .and_then(|r| from_raw::<CwdOut>(&r))
            .ok_or_else(|| BpfError::Other("bad mt_cwd_result".into()))?;
        let (start, len) = (o.start as usize, o.len as usize);
        let path = o
            .path
            .get(start..start + len)
            .ok_or_else(|| BpfError::Other("bad cwd bounds".into()))?;
        let trunc = o.trunc != 0;
        Ok((path.to_vec(), trunc))
    }

    /// Whether bpf/dpath.bpf.h marks the path truncated when a kernel read fails, for an
    /// unreadable directory dentry, leaf dentry and mount (bpf/matchtest.bpf.c
    /// mt_bad_reads): all three must be true (fail closed).
    pub fn bad_reads_truncate(&self) -> Result<[bool; 3], BpfError> {
        let p = self
            .obj
            .progs_mut()
            .find(|p| p.name() == "mt_bad_reads")
            .ok_or_else(|| BpfError::Other("no mt_bad_reads".into()))?;
        p.test_run(Input::default())
            .map_err(bpf_err("running mt_bad_reads"))?;
        let m = Self::map_of(&self.obj, "mt_bad_result")?;
        let raw = m
            .lookup(&0u32.to_ne_bytes(), MapFlags::ANY)
            .map_err(bpf_err("reading mt_bad_result"))?
            .and_then(|r| from_raw::<BadOut>(&r))
            .ok_or_else(|| BpfError::Other("bad mt_bad_result".into()))?;
        if raw.status != 0 {
            return Err(BpfError::Other(format!(
                "mt_bad_reads status {}",
                raw.status
            )));
        }
        Ok(raw.trunc.map(|t| t != 0))
    }

    /// Mean time of one vArmor-style linear decision (64 slots, prefix/suffix/precise).
    pub fn time_linear64(&self, path: &[u8], repeat: u32) -> Result<Duration, BpfError> {
        let lin = Self::map_of(&self.obj, "mt_lin")?;
        for i in 0..64u32 {
            let (flags, lit) = match i % 3 {
                0 => (abi::PRECISE | abi::PREFIX, format!("/bench/d{i}/f{i}")),
                1 => (abi::PREFIX, format!("/bench/p{i}/")),
                _ => (abi::SUFFIX, format!("os.{i}s/")),
            };
            let mut r = LinRule {
                flags,
                len: lit.len() as u32,
                deny: abi::MAY_READ,
                ..Default::default()
            };
            r.pattern[..lit.len()].copy_from_slice(lit.as_bytes());
            lin.update(&i.to_ne_bytes(), bytes(&r), MapFlags::ANY)
                .map_err(bpf_err("filling mt_lin"))?;
        }
        Ok(self
            .run("mt_linear", &Self::path_payload(1, path)?, repeat)?
            .1)
    }
}

/// A pin dir for one benchmark or test, removed (maps unpinned) when dropped.
pub struct TempPins(pub PathBuf);

impl TempPins {
    pub fn new(tag: &str) -> TempPins {
        TempPins(PathBuf::from(format!(
            "/sys/fs/bpf/varmor-{tag}-{}",
            std::process::id()
        )))
    }
}

impl Drop for TempPins {
    fn drop(&mut self) {
        let _ = super::NetHooks::detach_and_unpin(&self.0);
        let _ = super::UnixHooks::detach_and_unpin(&self.0);
        let _ = Maps::unpin_all(&self.0);
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `n` scalable rules (exact, prefix, suffix in turn), none matching the bench path.
pub fn bench_rules(n: usize) -> RuleSet {
    let mut rs = RuleSet::empty("bench");
    for i in 0..n {
        let p = match i % 3 {
            0 => format!("/bench/d{i}/f{i}"),
            1 => format!("/bench/p{i}/**"),
            _ => format!("**/s{i}.so"),
        };
        if let Ok(pattern) = Pattern::parse(&p) {
            rs.paths.push(PathRule {
                pattern,
                access: Access::ALL,
                action: Action::Deny,
                origin: i as u32,
            });
        }
    }
    rs
}

const BENCH_PATH: &[u8] = b"/usr/lib/x86_64-linux-gnu/libssl.so.3";
const BENCH_REPEAT: u32 = 200_000;

/// Nanoseconds of one in-kernel path decision with `n_rules` exact/prefix/suffix rules
/// loaded (mean over many runs; the path matches none of them, the usual case).
pub fn bench_decision(n_rules: usize) -> Result<f64, BpfError> {
    let pins = TempPins::new(&format!("bench{n_rules}"));
    let maps = Maps::open(&pins.0)?;
    let ns = 0x7f00_0000 | n_rules as u32;
    let e = encode(&bench_rules(n_rules), ns, 1);
    maps.populate(&e)?;
    let res = MatchTest::load(&pins.0).and_then(|mt| mt.time_path(ns, BENCH_PATH, BENCH_REPEAT));
    maps.clear(&e)?;
    Ok(res?.as_nanos() as f64)
}

/// Nanoseconds of one decision by a vArmor-style scan of 64 rule slots, same path.
pub fn bench_linear64() -> Result<f64, BpfError> {
    let pins = TempPins::new("benchlin");
    Maps::open(&pins.0)?;
    let mt = MatchTest::load(&pins.0)?;
    Ok(mt.time_linear64(BENCH_PATH, BENCH_REPEAT)?.as_nanos() as f64)
}
