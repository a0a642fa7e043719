//! Where a varmord pins: one directory per build of the BPF objects,
//! `<pin dir>/abi<ABI_VERSION>-<hash of the objects>`, so an upgraded varmord never adopts
//! programs or maps that another build made (an old program against a new map layout).
//! Pins of any other build found at start belong to sandboxes that are killed at start;
//! they are detached and removed.

use std::path::{Path, PathBuf};

use super::{link_dir, BpfError, LsmHooks, Maps, NetHooks, UnixHooks, MAP_NAMES};

include!(concat!(env!("OUT_DIR"), "/objects_hash.rs"));

/// This build's directory name under the pin dir.
pub fn build_tag() -> String {
    format!("abi{}-{OBJECTS_HASH:016x}", varmor_core::abi::ABI_VERSION)
}

/// The directory this build pins in.
pub fn versioned(pin_dir: &Path) -> PathBuf {
    pin_dir.join(build_tag())
}

fn remove_pins(dir: &Path) -> Result<(), BpfError> {
    NetHooks::detach_and_unpin(dir)?;
    UnixHooks::detach_and_unpin(dir)?;
    LsmHooks::detach_and_unpin(dir)?;
    Maps::unpin_all(dir)?;
    let _ = std::fs::remove_dir(link_dir(dir));
    Ok(())
}

/// Detaches and removes the pins of every other build under `pin_dir` (and pins made
/// directly in it, by versions before pins were versioned); returns what was removed.
pub fn remove_other_builds(pin_dir: &Path) -> Vec<String> {
    let mut removed = vec![];
    let ours = build_tag();
    if MAP_NAMES.iter().any(|m| pin_dir.join(m).exists()) {
        match remove_pins(pin_dir) {
            Ok(()) => removed.push(pin_dir.display().to_string()),
            Err(e) => log::error!("removing unversioned pins in {}: {e}", pin_dir.display()),
        }
    }
    let Ok(rd) = std::fs::read_dir(pin_dir) else {
        return removed;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name == ours || !name.starts_with("abi") || !e.path().is_dir() {
            continue;
        }
        match remove_pins(&e.path()).and_then(|()| {
            std::fs::remove_dir(e.path()).map_err(super::io_err(e.path().display().to_string()))
        }) {
            Ok(()) => removed.push(e.path().display().to_string()),
            Err(err) => log::error!("removing the pins of another build: {err}"),
        }
    }
    removed
}
