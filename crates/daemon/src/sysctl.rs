//! Capacity settings varmord needs: fanotify groups are charged to varmord's user (root),
//! one per compat sandbox, and the default of 128 would cap the machine at 128 sandboxes.
//! Raised at start (and said so), put back on a clean stop if nobody changed it since.
//! And varmord's own open-file limit: a few descriptors per live sandbox
//! ([`FDS_PER_SANDBOX`]), so the soft limit goes up to the hard one.

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

/// Descriptors varmord holds per live sandbox, at the most: its mount namespace, its
/// pidfd and the client's stderr; on compat also the fanotify group and, with chmod or
/// name-change rules, the seccomp notification fd and its answering thread's wake
/// eventfd (counted: 4 for `base`, 6 for `no-secrets`).
pub const FDS_PER_SANDBOX: u64 = 6;

/// Descriptors kept free for requests being answered and varmord's own files.
pub const FDS_RESERVED: u64 = 256;

/// Raises varmord's soft RLIMIT_NOFILE to its hard limit (systemd's unit sets both with
/// LimitNOFILE=; its SystemCallFilter refuses setrlimit, and nothing is lost then); says
/// so when the result holds fewer than `sandboxes` sandboxes. Returns how many it holds.
pub fn raise_open_files(sandboxes: u64) -> u64 {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return sandboxes;
    };
    let now = if soft < hard && setrlimit(Resource::RLIMIT_NOFILE, hard, hard).is_ok() {
        hard
    } else {
        soft
    };
    let fits = (now.saturating_sub(FDS_RESERVED) / FDS_PER_SANDBOX).min(sandboxes);
    if fits < sandboxes {
        log::warn!(
            "open files limited to {now}: at most {fits} live sandboxes, not {sandboxes} \
             (up to {FDS_PER_SANDBOX} descriptors each; raise the hard limit, e.g. LimitNOFILE=)"
        );
    }
    fits
}
