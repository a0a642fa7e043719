//! The hook kinds a backend relies on. varmord uses a backend only after its start-up
//! canary (crates/daemon/src/canary.rs) saw each of them deny a private object on this boot:
//! a kernel that loads and attaches a program is not a kernel that calls it.

use serde::{Deserialize, Serialize};

/// One kind of kernel hook, named by what the canary does to make it fire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hook {
    /// Opening a file for reading.
    FileOpen,
    /// Executing a file.
    Exec,
    /// Creating a name (a symlink) in a protected directory.
    PathCreate,
    /// Using a capability (chown of a file the caller does not own).
    Capable,
    /// Mounting a filesystem.
    Mount,
    /// Creating a user namespace.
    UsernsCreate,
    /// Reading another task's /proc/PID/environ (ptrace read access).
    Ptrace,
    /// A TCP connect to a loopback address.
    Connect,
    /// A connect to an abstract unix socket (only where the kernel has the hook: 6.7+).
    UnixConnect,
    /// Setting IPv4 options, as a source route would (setsockopt IP_OPTIONS).
    SourceRoute,
    /// Sending a datagram with IPv4 options (an IP_RETOPTS control message).
    SourceRoutePacket,
}

impl Hook {
    /// Short name, as `varmord --probe` prints it.
    pub fn name(self) -> &'static str {
        match self {
            Hook::FileOpen => "file open",
            Hook::Exec => "exec",
            Hook::PathCreate => "path create",
            Hook::Capable => "capable",
            Hook::Mount => "mount",
            Hook::UsernsCreate => "userns create",
            Hook::Ptrace => "ptrace",
            Hook::Connect => "connect",
            Hook::UnixConnect => "unix connect",
            Hook::SourceRoute => "source route",
            Hook::SourceRoutePacket => "source route send",
        }
    }
}

/// A hook kind and the kernel mechanism a backend uses for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HookUse {
    pub hook: Hook,
    /// e.g. `lsm/file_open`, `fanotify FAN_OPEN_PERM`, `cgroup/connect4`.
    pub mechanism: &'static str,
}

/// What the bpf-lsm backend attaches (bpf/*.bpf.c), one hook per object it loads.
pub const BPF_LSM: &[HookUse] = &[
    HookUse {
        hook: Hook::FileOpen,
        mechanism: "lsm/file_open",
    },
    HookUse {
        hook: Hook::Exec,
        mechanism: "lsm/bprm_check_security",
    },
    HookUse {
        hook: Hook::PathCreate,
        mechanism: "lsm/path_symlink",
    },
    HookUse {
        hook: Hook::Capable,
        mechanism: "lsm/capable",
    },
    HookUse {
        hook: Hook::Mount,
        mechanism: "lsm/sb_mount",
    },
    HookUse {
        hook: Hook::UsernsCreate,
        mechanism: "lsm/userns_create",
    },
    HookUse {
        hook: Hook::Ptrace,
        mechanism: "lsm/ptrace_access_check",
    },
    HookUse {
        hook: Hook::Connect,
        mechanism: "cgroup/connect4",
    },
    HookUse {
        hook: Hook::SourceRoute,
        mechanism: "cgroup/setsockopt",
    },
    HookUse {
        hook: Hook::SourceRoutePacket,
        mechanism: "cgroup_skb/egress",
    },
];

/// What the compat backend needs from the kernel (the launcher's Landlock and seccomp
/// report their own status when they are applied).
pub const COMPAT: &[HookUse] = &[
    HookUse {
        hook: Hook::FileOpen,
        mechanism: "fanotify FAN_OPEN_PERM",
    },
    HookUse {
        hook: Hook::Exec,
        mechanism: "fanotify FAN_OPEN_EXEC_PERM",
    },
    HookUse {
        hook: Hook::Connect,
        mechanism: "cgroup/connect4",
    },
    HookUse {
        hook: Hook::SourceRoute,
        mechanism: "cgroup/setsockopt",
    },
    HookUse {
        hook: Hook::SourceRoutePacket,
        mechanism: "cgroup_skb/egress",
    },
];

/// The unix-socket hook, proven where the kernel has it (a backend adds it to its list).
pub const UNIX: HookUse = HookUse {
    hook: Hook::UnixConnect,
    mechanism: "cgroup/connect_unix",
};

/// A backend's hook list and, when its unix programs are attached, the unix hook: a
/// static list per case (chosen by backend, never by comparing slice addresses: a const
/// slice has no single address).
pub fn with_unix(backend: varmor_core::proto::Backend, unix: bool) -> &'static [HookUse] {
    use std::sync::OnceLock;
    use varmor_core::proto::Backend;
    static LSM_U: OnceLock<Vec<HookUse>> = OnceLock::new();
    static COMPAT_U: OnceLock<Vec<HookUse>> = OnceLock::new();
    let (base, cell) = match backend {
        Backend::BpfLsm => (BPF_LSM, &LSM_U),
        Backend::Compat => (COMPAT, &COMPAT_U),
    };
    if !unix {
        return base;
    }
    cell.get_or_init(|| base.iter().copied().chain([UNIX]).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use varmor_core::proto::Backend;

    #[test]
    fn each_backend_gets_its_own_hooks() {
        // The first call of one must not decide the list of the other.
        let lsm = with_unix(Backend::BpfLsm, true);
        let compat = with_unix(Backend::Compat, true);
        assert_eq!(lsm.len(), BPF_LSM.len() + 1);
        assert_eq!(compat.len(), COMPAT.len() + 1);
        assert!(compat.iter().all(|h| !h.mechanism.starts_with("lsm/")));
        assert_eq!(with_unix(Backend::Compat, false).len(), COMPAT.len());
    }
}
