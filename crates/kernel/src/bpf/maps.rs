//! The shared rule maps, pinned under the pin dir: open (create or reuse), populate one
//! namespace all-or-nothing, clear it, and count what is left of it.

use std::mem::offset_of;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use std::time::Duration;

use libbpf_rs::{ErrorKind, MapCore, MapFlags, MapHandle, ObjectBuilder};

use super::names::{self, map};
use super::{bpf_err, ensure_pin_dir, object, BpfError};
use crate::encode::MapEntries;
use varmor_core::abi::{self, Pod};

/// The pinned maps: every map of bpf/maps.bpf.h (pinmaps.bpf.o's, read from the object)
/// but v_scratch, each object's own per-CPU work area.
pub static MAP_NAMES: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    names::pinmaps::MAPS
        .iter()
        .copied()
        .filter(|m| *m != map::V_SCRATCH)
        .collect()
});

/// Byte offset of the namespace inode in `name`'s keys, from the key structs bindgen
/// generated from bpf/varmor.h (a field moved there moves here); v_ns and v_dns are keyed
/// by the inode itself. None: not keyed by namespace (v_events has no keys; v_dns_orig is
/// keyed by socket cookie and grants nothing; v_sk_ns is socket-local storage, freed with
/// each socket, and cannot be walked).
fn ns_offset(name: &str) -> Option<usize> {
    match name {
        map::V_NS | map::V_DNS => Some(0),
        map::V_EXACT => Some(offset_of!(abi::ExactKey, ns)),
        map::V_PREFIX | map::V_SUFFIX => Some(offset_of!(abi::LpmPathKey, ns)),
        map::V_GLOB | map::V_NET_RULE => Some(offset_of!(abi::IdxKey, ns)),
        map::V_NET_ADDR => Some(offset_of!(abi::LpmAddrKey, ns)),
        map::V_NET_DYN => Some(offset_of!(abi::DynKey, ns)),
        _ => None,
    }
}

/// Tries of an entry the kernel had no memory for. The maps allocate entries from per-CPU
/// caches refilled without blocking (GFP_NOWAIT), which cannot reclaim: in a memory
/// cgroup full of page cache (a build machine's) they fail while memory is there to take.
const NOMEM_TRIES: usize = 8;

/// Bytes faulted in (and given back) before each new try: faults may block, so they make
/// the kernel reclaim page cache and leave the room the map's refill needs.
const RECLAIM_BYTES: usize = 8 << 20;

/// One new entry, tried again after making room while the kernel says it has no memory.
fn update_retrying(map: &MapHandle, k: &[u8], v: &[u8]) -> Result<(), libbpf_rs::Error> {
    let mut tries = 1;
    loop {
        match map.update(k, v, MapFlags::NO_EXIST) {
            Err(e) if e.kind() == ErrorKind::OutOfMemory && tries < NOMEM_TRIES => {
                tries += 1;
                make_room();
            }
            r => return r,
        }
    }
}

/// Faults in RECLAIM_BYTES of fresh memory and frees it. Vec's zeroed allocation of this
/// size is a fresh mapping; writing one byte a page faults each page in.
fn make_room() {
    let mut room = vec![0u8; RECLAIM_BYTES];
    for b in room.iter_mut().step_by(4096) {
        *b = 1;
    }
    // black_box: the writes are observed, so the compiler keeps the faults.
    drop(std::hint::black_box(room));
    std::thread::sleep(Duration::from_millis(5));
}

/// Handles on the pinned maps.
#[derive(Debug)]
pub struct Maps {
    pin_dir: PathBuf,
    /// Every map of `MAP_NAMES`, with its name.
    maps: Vec<(&'static str, MapHandle)>,
}

impl Maps {
    /// Creates and pins every map under `pin_dir` if absent, else reuses the pinned ones
    /// (libbpf checks that their type and sizes match bpf/maps.bpf.h). Mounts bpffs if needed.
    pub fn open(pin_dir: &Path) -> Result<Maps, BpfError> {
        ensure_pin_dir(pin_dir)?;
        let mut b = ObjectBuilder::default();
        b.pin_root_path(pin_dir)
            .map_err(bpf_err("setting the pin root"))?;
        let open = b
            .open_memory(object!("pinmaps"))
            .map_err(bpf_err("opening pinmaps.bpf.o"))?;
        let obj = open.load().map_err(bpf_err(format!(
            "creating or reusing the maps pinned in {}",
            pin_dir.display()
        )))?;
        drop(obj);
        let maps = MAP_NAMES
            .iter()
            .map(|n| {
                let p = pin_dir.join(n);
                MapHandle::from_pinned_path(&p)
                    .map(|h| (*n, h))
                    .map_err(bpf_err(format!("opening {}", p.display())))
            })
            .collect::<Result<_, _>>()?;
        Ok(Maps {
            pin_dir: pin_dir.to_path_buf(),
            maps,
        })
    }

    pub fn pin_dir(&self) -> &Path {
        &self.pin_dir
    }

    /// The map named `name` (one of `MAP_NAMES`, e.g. `names::map::V_NS`).
    pub fn map(&self, name: &str) -> Option<&MapHandle> {
        self.maps.iter().find(|(n, _)| *n == name).map(|(_, h)| h)
    }

    /// The map `name` of `MAP_NAMES`: every one was opened by `open`.
    fn get(&self, name: &str) -> &MapHandle {
        self.map(name)
            .unwrap_or_else(|| unreachable!("{name} is one of MAP_NAMES"))
    }

    fn all_entries(e: &MapEntries) -> Vec<(&'static str, Vec<u8>, Vec<u8>)> {
        fn kv<'a, K: Pod, V: Pod>(
            m: &'static str,
            v: &'a [(K, V)],
        ) -> impl Iterator<Item = (&'static str, Vec<u8>, Vec<u8>)> + 'a {
            v.iter()
                .map(move |(k, x)| (m, k.as_bytes().to_vec(), x.as_bytes().to_vec()))
        }
        // Rules first, the v_ns entry last: the kernel consults nothing until it exists.
        kv(map::V_EXACT, &e.exact)
            .chain(kv(map::V_PREFIX, &e.prefix))
            .chain(kv(map::V_SUFFIX, &e.suffix))
            .chain(kv(map::V_GLOB, &e.glob))
            .chain(kv(map::V_NET_ADDR, &e.net_addr))
            .chain(kv(map::V_NET_RULE, &e.net_rule))
            .chain(std::iter::once((
                map::V_NS,
                e.inode.as_bytes().to_vec(),
                e.ns.as_bytes().to_vec(),
            )))
            .collect()
    }

    /// Writes every entry of one namespace, or none: on any failure what was written is
    /// deleted again and the error names the map. A namespace that already has a v_ns
    /// entry is refused. Constant in the number of other namespaces: leftovers of an
    /// earlier sandbox cannot exist, because varmord holds a namespace's fd (so its inode
    /// cannot be reused) until `clear` has deleted its keys, and a varmord that starts
    /// over maps left by a crash purges them first (`purge_all`).
    pub fn populate(&self, e: &MapEntries) -> Result<(), BpfError> {
        if self
            .get(map::V_NS)
            .lookup(e.inode.as_bytes(), MapFlags::ANY)
            .map_err(bpf_err("reading v_ns"))?
            .is_some()
        {
            return Err(BpfError::AlreadyConfined(e.inode));
        }
        let all = Self::all_entries(e);
        for (i, (m, k, v)) in all.iter().enumerate() {
            if let Err(source) = update_retrying(self.get(m), k, v) {
                for (m2, k2, _) in &all[..i] {
                    let _ = self.get(m2).delete(k2);
                }
                let map = *m;
                return Err(if source.kind() == ErrorKind::OutOfMemory {
                    BpfError::MapNoMemory {
                        map,
                        index: i,
                        source,
                    }
                } else {
                    BpfError::MapFull {
                        map,
                        index: i,
                        source,
                    }
                });
            }
        }
        Ok(())
    }

    /// Deletes every key of `e`'s namespace, v_ns first so the kernel stops consulting
    /// the rest at once. Costs one delete per entry, whatever else the maps hold.
    pub fn clear(&self, e: &MapEntries) -> Result<(), BpfError> {
        let mut all = Self::all_entries(e);
        all.rotate_right(1);
        for (m, k, _) in &all {
            self.get(m).delete(k).map_err(bpf_err(format!(
                "deleting an entry of namespace {} from {m}",
                e.inode
            )))?;
        }
        Ok(())
    }

    /// Deletes every entry of every namespace (a varmord starting over a crashed one's maps).
    pub fn purge_all(&self) -> Result<usize, BpfError> {
        let mut n = 0;
        for (m, h) in self
            .maps
            .iter()
            .filter(|(m, _)| !matches!(*m, map::V_EVENTS | map::V_SK_NS))
        {
            for k in h.keys().collect::<Vec<_>>() {
                h.delete(&k).map_err(bpf_err(format!("purging {m}")))?;
                n += 1;
            }
        }
        Ok(n)
    }

    fn ns_keys(&self, ns: u32) -> Vec<(&'static str, Vec<u8>)> {
        // The namespace's own key and its two unix key spaces (bpf/varmor.h).
        let want = [ns, abi::unix_path_ns(ns), abi::unix_abs_ns(ns)].map(u32::to_ne_bytes);
        let mut out = Vec::new();
        for (m, h) in &self.maps {
            let Some(off) = ns_offset(m) else { continue };
            out.extend(
                h.keys()
                    .filter(|k| {
                        k.get(off..off + 4)
                            .is_some_and(|b| want.iter().any(|w| w[..] == *b))
                    })
                    .map(|k| (*m, k)),
            );
        }
        out
    }

    /// Removes every entry keyed on `ns`, found by walking the keys of every rule map.
    pub fn purge_ns(&self, ns: u32) -> Result<(), BpfError> {
        let keys = self.ns_keys(ns);
        // v_ns first.
        for (m, k) in keys
            .iter()
            .filter(|(m, _)| *m == map::V_NS)
            .chain(keys.iter().filter(|(m, _)| *m != map::V_NS))
        {
            self.get(m).delete(k).map_err(bpf_err(format!(
                "deleting an entry of namespace {ns} from {m}"
            )))?;
        }
        Ok(())
    }

    /// Entries keyed on `ns` in all rule maps together.
    pub fn count_ns_entries(&self, ns: u32) -> usize {
        self.ns_keys(ns).len()
    }

    /// The namespace's v_ns value, if it has rules.
    pub fn ns_val(&self, ns: u32) -> Option<abi::NsVal> {
        self.get(map::V_NS)
            .lookup(ns.as_bytes(), MapFlags::ANY)
            .ok()
            .flatten()
            .and_then(|v| abi::NsVal::from_bytes(&v))
    }

    /// Removes the map pins under `pin_dir` (the maps live on while a program uses them).
    pub fn unpin_all(pin_dir: &Path) -> Result<(), BpfError> {
        for n in MAP_NAMES.iter() {
            let p = pin_dir.join(n);
            match std::fs::remove_file(&p) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(BpfError::Io {
                        what: format!("unpinning {}", p.display()),
                        source: e,
                    })
                }
                _ => {}
            }
        }
        Ok(())
    }
}
