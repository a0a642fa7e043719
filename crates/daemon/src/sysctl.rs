//! Capacity settings varmord needs: fanotify groups are charged to varmord's user (root),
//! one per compat sandbox, and the default of 128 would cap the machine at 128 sandboxes.
//! Raised at start (and said so), put back on a clean stop if nobody changed it since.

use std::path::Path;

const MAX_GROUPS: &str = "/proc/sys/fs/fanotify/max_user_groups";

pub struct Raised {
    path: &'static str,
    original: u64,
    set: u64,
}

fn read(path: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Ensures fanotify allows `want` groups; returns what to restore.
pub fn raise_fanotify_groups(want: u64) -> Option<Raised> {
    let original = read(MAX_GROUPS)?;
    if original >= want || !Path::new(MAX_GROUPS).exists() {
        return None;
    }
    match std::fs::write(MAX_GROUPS, want.to_string()) {
        Ok(()) => {
            log::warn!("raised fs.fanotify.max_user_groups from {original} to {want} (one group per sandbox)");
            Some(Raised {
                path: MAX_GROUPS,
                original,
                set: want,
            })
        }
        Err(e) => {
            log::warn!("fs.fanotify.max_user_groups is {original}: at most that many compat sandboxes ({e})");
            None
        }
    }
}

impl Raised {
    pub fn restore(self) {
        if read(self.path) == Some(self.set) {
            let _ = std::fs::write(self.path, self.original.to_string());
        }
    }
}
