//! Rust twin of `bpf/varmor.h`: constants and `#[repr(C)]` map structs, sizes asserted.

#![allow(missing_docs)]

pub const ABI_VERSION: u32 = 1;

pub const PATH_MAX: usize = 256;
/// Path bytes of an LPM trie key (the trie takes 256 data bytes, 4 of them the ns).
pub const LPM_PATH_MAX: usize = 252;
pub const GLOB_MAX: usize = 128;
pub const GLOB_RULES: usize = 32;
pub const NET_RULES: usize = 64;
pub const NET_PORTS: usize = 16;
pub const COMM_LEN: usize = 16;

pub const MAY_EXEC: u32 = 0x1;
pub const MAY_WRITE: u32 = 0x2;
pub const MAY_READ: u32 = 0x4;
pub const MAY_APPEND: u32 = 0x8;
pub const MAY_CREATE: u32 = 0x10;
pub const MAY_DELETE: u32 = 0x20;
pub const MAY_RENAME: u32 = 0x80;
pub const MAY_TRUNCATE: u32 = 0x100;
pub const MAY_CHMOD: u32 = 0x1000;
pub const MAY_LINK: u32 = 0x40000;

pub const PRECISE: u32 = 0x1;
pub const GREEDY: u32 = 0x2;
pub const PREFIX: u32 = 0x4;
pub const SUFFIX: u32 = 0x8;
pub const GLOB: u32 = 0x10;

pub const NET_CIDR: u32 = 0x20;
pub const NET_IPV4: u32 = 0x40;
pub const NET_IPV6: u32 = 0x80;
pub const NET_PORT: u32 = 0x100;
pub const NET_SOCKET: u32 = 0x200;
pub const NET_PORT_RANGE: u32 = 0x400;
pub const NET_PORTS_LIST: u32 = 0x800;
pub const NET_CONNECT: u32 = 0x1;
pub const NET_SEND: u32 = 0x2;
pub const NET_BIND: u32 = 0x4;

pub const PTRACE_TRACE: u32 = 0x2;
pub const PTRACE_READ: u32 = 0x4;

pub const ACTION_DENY: u32 = 0x1;
pub const ACTION_AUDIT: u32 = 0x2;
pub const MODE_ENFORCE: u32 = 0;
pub const MODE_COMPLAIN: u32 = 1;

pub const EV_FILE: u32 = 1;
pub const EV_EXEC: u32 = 2;
pub const EV_NET: u32 = 3;
pub const EV_CAP: u32 = 4;
pub const EV_PTRACE: u32 = 5;
pub const EV_MOUNT: u32 = 6;

/// `deny_rule` / `audit_rule` of a `PathVal` when no rule of that action matched.
pub const NO_RULE: u32 = 0xffff_ffff;

#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NsVal {
    pub mode: u32,
    pub kinds: u32,
    pub generation: u64,
    pub caps_deny: u64,
    pub ptrace: u64,
    pub mount_deny: u32,
    pub n_glob: u32,
    pub n_net: u32,
    pub pad: u32,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PathVal {
    pub deny: u32,
    pub audit: u32,
    /// Smallest origin of a matching deny rule, or `NO_RULE`.
    pub deny_rule: u32,
    /// Smallest origin of a matching audit rule, or `NO_RULE`.
    pub audit_rule: u32,
    pub flags: u32,
    pub pad: u32,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExactKey {
    pub ns: u32,
    pub path: [u8; PATH_MAX],
}

#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LpmPathKey {
    pub prefixlen: u32,
    pub ns: u32,
    pub path: [u8; LPM_PATH_MAX],
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct IdxKey {
    pub ns: u32,
    pub idx: u32,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GlobVal {
    pub deny: u32,
    pub audit: u32,
    pub rule: u32,
    pub len: u32,
    pub pattern: [u8; GLOB_MAX],
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LpmAddrKey {
    pub prefixlen: u32,
    pub ns: u32,
    pub addr: [u8; 16],
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetAddrVal {
    pub rules: u64,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortRange {
    pub lo: u16,
    pub hi: u16,
}

#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NetRuleVal {
    pub flags: u32,
    pub dirs: u32,
    pub action: u32,
    pub rule: u32,
    pub nports: u32,
    pub pad: u32,
    pub ports: [PortRange; NET_PORTS],
}

#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    pub ns: u32,
    pub pid: u32,
    pub kind: u32,
    pub perms: u32,
    pub rule: u32,
    pub action: u32,
    pub port: u16,
    pub family: u16,
    pub pad: u32,
    pub addr: [u8; 16],
    pub comm: [u8; COMM_LEN],
    pub path: [u8; PATH_MAX],
}

/// Views a plain-old-data ABI struct as the bytes the kernel map expects.
pub trait Pod: Copy + 'static {
    fn as_bytes(&self) -> &[u8] {
        // SAFETY: every implementor is #[repr(C)], Copy, built only of integers and
        // integer arrays, with explicit padding fields, so all its bytes are initialised.
        unsafe {
            std::slice::from_raw_parts(
                (self as *const Self).cast::<u8>(),
                std::mem::size_of::<Self>(),
            )
        }
    }
    fn from_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != std::mem::size_of::<Self>() {
            return None;
        }
        // SAFETY: the length is checked above; every bit pattern is a valid value
        // of these integer-only structs; read_unaligned copes with any alignment.
        Some(unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast::<Self>()) })
    }
}
macro_rules! pod {
    ($($t:ty = $size:expr),* $(,)?) => {
        $(impl Pod for $t {}
          const _: () = assert!(std::mem::size_of::<$t>() == $size, concat!("size of ", stringify!($t), " differs from bpf/varmor.h"));)*
    };
}
pod! {
    NsVal = 48,
    PathVal = 24,
    ExactKey = 260,
    LpmPathKey = 260,
    IdxKey = 8,
    GlobVal = 144,
    LpmAddrKey = 24,
    NetAddrVal = 8,
    PortRange = 4,
    NetRuleVal = 88,
    Event = 320,
    u32 = 4,
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn pod_round_trip() {
        let k = IdxKey { ns: 7, idx: 3 };
        assert_eq!(IdxKey::from_bytes(k.as_bytes()), Some(k));
        assert_eq!(IdxKey::from_bytes(&[0; 3]), None);
    }
}
