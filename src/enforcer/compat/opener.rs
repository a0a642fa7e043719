//! What the task blocked in a fanotify permission event asked for. fanotify does not say
//! whether an open was for reading or writing, so we read the blocked syscall's arguments
//! from /proc/TID/syscall (and open_how from /proc/TID/mem for openat2). Anything we
//! cannot read counts as read+write: unknown requests are checked against every rule.
//! Opens made by execve itself are reads.

use std::io::{Read, Seek, SeekFrom};

use crate::abi;
use crate::profile::file::Access;

#[cfg(target_arch = "x86_64")]
mod nr {
    pub const OPEN: u64 = 2;
    pub const CREAT: u64 = 85;
    pub const OPENAT: u64 = 257;
    pub const OPEN_BY_HANDLE_AT: u64 = 304;
    pub const EXECVE: u64 = 59;
    pub const EXECVEAT: u64 = 322;
    pub const USELIB: u64 = 134;
}
#[cfg(target_arch = "aarch64")]
mod nr {
    pub const OPEN: u64 = u64::MAX;
    pub const CREAT: u64 = u64::MAX - 1;
    pub const OPENAT: u64 = 56;
    pub const OPEN_BY_HANDLE_AT: u64 = 265;
    pub const EXECVE: u64 = 221;
    pub const EXECVEAT: u64 = 281;
    pub const USELIB: u64 = u64::MAX - 2;
}
const OPENAT2: u64 = 437;

/// Accesses requested by open flags, AppArmor's way: a write with O_APPEND is `append`.
pub fn open_access(flags: u64) -> Access {
    let flags = flags as i32;
    let write = if flags & libc::O_APPEND != 0 {
        abi::MAY_APPEND
    } else {
        abi::MAY_WRITE
    };
    let bits = match flags & libc::O_ACCMODE {
        libc::O_RDONLY => abi::MAY_READ,
        libc::O_WRONLY => write,
        _ => abi::MAY_READ | write,
    };
    Access::from_bits(bits).unwrap_or(Access::ALL)
}

/// The unknown case: every open-time access.
pub fn unknown() -> Access {
    Access::from_bits(abi::MAY_READ | abi::MAY_WRITE | abi::MAY_APPEND).unwrap_or(Access::ALL)
}

/// Accesses the blocked open of task `tid` requested.
pub fn requested(tid: i32) -> Access {
    let Ok(text) = std::fs::read_to_string(format!("/proc/{tid}/syscall")) else {
        return unknown();
    };
    let mut it = text.split_whitespace();
    let Some(nr) = it.next().and_then(|s| s.parse::<u64>().ok()) else {
        return unknown();
    };
    let args: Vec<u64> = it
        .filter_map(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
        .collect();
    let arg = |i: usize| args.get(i).copied();
    let flags = match nr {
        nr::OPEN => arg(1),
        nr::CREAT => Some((libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC) as u64),
        nr::OPENAT | nr::OPEN_BY_HANDLE_AT => arg(2),
        OPENAT2 => arg(2).and_then(|how| read_u64(tid, how)),
        // The kernel's own opens while executing (the program, its ELF interpreter, a
        // script's interpreter) are read-only; the syscall number cannot be raced.
        nr::EXECVE | nr::EXECVEAT | nr::USELIB => Some(libc::O_RDONLY as u64),
        _ => None,
    };
    flags.map(open_access).unwrap_or_else(unknown)
}

/// First u64 at `addr` in task `tid`'s memory (open_how.flags).
fn read_u64(tid: i32, addr: u64) -> Option<u64> {
    let mut f = std::fs::File::open(format!("/proc/{tid}/mem")).ok()?;
    f.seek(SeekFrom::Start(addr)).ok()?;
    let mut b = [0u8; 8];
    f.read_exact(&mut b).ok()?;
    Some(u64::from_ne_bytes(b))
}

/// Is task `tid` running the dynamic loader as its program (`ld.so /usr/bin/curl`)?
pub fn is_loader(tid: i32) -> bool {
    let Ok(exe) = std::fs::read_link(format!("/proc/{tid}/exe")) else {
        return false;
    };
    let name = exe.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    name.starts_with("ld-linux")
        || name.starts_with("ld64.so")
        || name == "ld.so"
        || name.starts_with("ld-musl")
}

/// `comm` of a task, for denial lines.
pub fn comm(tid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{tid}/comm"))
        .map(|s| s.trim_end().to_string())
        .unwrap_or_else(|_| "?".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn flags_map_like_apparmor() {
        assert_eq!(open_access(libc::O_RDONLY as u64).bits(), abi::MAY_READ);
        assert_eq!(open_access(libc::O_WRONLY as u64).bits(), abi::MAY_WRITE);
        assert_eq!(
            open_access((libc::O_WRONLY | libc::O_APPEND) as u64).bits(),
            abi::MAY_APPEND
        );
        assert_eq!(
            open_access(libc::O_RDWR as u64).bits(),
            abi::MAY_READ | abi::MAY_WRITE
        );
    }
}
