//! Runs the kernel's matching code (bpf/matchtest.bpf.c) on given inputs with
//! BPF_PROG_TEST_RUN: the differential test (tests/bpf_matcher.rs) compares its answers
//! with src/matcher.rs, and `bench_decision` times one decision against the number of
//! rules, next to a vArmor-style linear scan of 64 slots (`bench_linear64`).

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use libbpf_rs::{MapCore, MapFlags, MapHandle, Object, ObjectBuilder, ProgramInput as Input};

use super::{bpf_err, object, BpfError, Maps};
use crate::abi;
use crate::encode::{encode, trie_addr};
use crate::profile::file::{Access, Action, PathRule};
use crate::profile::pattern::Pattern;
use crate::rules::RuleSet;

/// Longest path mt_path accepts.
pub const MT_PATH_IN: usize = 1024;
/// The link-layer header BPF_PROG_TEST_RUN strips before a socket filter sees the data.
const ETH_HLEN: usize = 14;

/// Twin of `struct mt_out` in bpf/matchtest.bpf.c.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
struct MtOut {
    status: u32,
    pad: u32,
    path: abi::PathVal,
    deny_rule: u32,
    audit_rule: u32,
}
const _: () = assert!(std::mem::size_of::<MtOut>() == 40);

/// Twin of `struct mt_cwd_out` (the header; 4096 path bytes follow).
const CWD_OUT_LEN: usize = 16 + 4096;

/// Twin of `struct mt_lin_rule`.
#[repr(C)]
#[derive(Clone, Copy)]
struct LinRule {
    flags: u32,
    len: u32,
    deny: u32,
    pad: u32,
    pattern: [u8; 64],
}

fn bytes<T: Copy>(v: &T) -> &[u8] {
    // SAFETY: T is one of this file's #[repr(C)] integer-only structs without implicit
    // padding; the slice covers exactly the value and lives as long as the borrow.
    unsafe { std::slice::from_raw_parts((v as *const T).cast::<u8>(), std::mem::size_of::<T>()) }
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
        let mut o = MtOut::default();
        if raw.len() != std::mem::size_of::<MtOut>() {
            return Err(BpfError::Other("mt_result has the wrong size".into()));
        }
        // SAFETY: the length is checked; MtOut is integer-only, any bit pattern is valid.
        unsafe {
            std::ptr::copy_nonoverlapping(
                raw.as_ptr(),
                (&mut o as *mut MtOut).cast::<u8>(),
                raw.len(),
            )
        };
        match o.status {
            0 => Ok((o, out.duration)),
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
        Ok((opt(o.deny_rule), opt(o.audit_rule)))
    }

    /// The path bpf/dpath.h builds for this process's working directory.
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
        let raw = raw
            .filter(|r| r.len() == CWD_OUT_LEN)
            .ok_or_else(|| BpfError::Other("bad mt_cwd_result".into()))?;
        let word = |i: usize| {
            u32::from_ne_bytes(raw[i * 4..i * 4 + 4].try_into().unwrap_or_default()) as usize
        };
        let (start, len, trunc) = (word(0), word(1), word(2) != 0);
        let path = raw
            .get(16 + start..16 + start + len)
            .ok_or_else(|| BpfError::Other("bad cwd bounds".into()))?;
        Ok((path.to_vec(), trunc))
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
                pad: 0,
                pattern: [0; 64],
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
