//! What the task blocked in a fanotify permission event asked for. fanotify does not say
//! whether an open was for reading or writing, so we read the blocked syscall's arguments
//! from /proc/TID/syscall (registers saved at entry: they cannot be raced). openat2's
//! flags live in memory another thread can rewrite, so openat2, like anything else we
//! cannot read reliably, counts as read+write: checked against every rule.
//! Opens made by execve itself are reads.

use std::cell::RefCell;
use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;

use crate::enforcer::{Denial, Outcome};
use varmor_core::abi;
use varmor_core::profile::file::Access;

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

/// Accesses requested by open flags, AppArmor's way: a write with O_APPEND is `append`,
/// O_TRUNC is `truncate` too.
pub fn open_access(flags: u64) -> Access {
    let flags = flags as i32;
    let write = if flags & libc::O_APPEND != 0 {
        abi::MAY_APPEND
    } else {
        abi::MAY_WRITE
    };
    let mut bits = match flags & libc::O_ACCMODE {
        libc::O_RDONLY => abi::MAY_READ,
        libc::O_WRONLY => write,
        _ => abi::MAY_READ | write,
    };
    // O_TRUNC truncates after the permission event, even with O_RDONLY: it is checked
    // here, so a rule denying write and truncate needs no Landlock truncate right.
    if flags & libc::O_TRUNC != 0 {
        bits |= abi::MAY_TRUNCATE;
    }
    Access::from_bits(bits).unwrap_or(Access::ALL)
}

/// The unknown case: every open-time access.
pub fn unknown() -> Access {
    Access::from_bits(abi::MAY_READ | abi::MAY_WRITE | abi::MAY_APPEND).unwrap_or(Access::ALL)
}

/// Accesses the blocked open of task `tid` requested.
pub fn requested(tid: i32) -> Access {
    // The event can reach us before the task has gone to sleep waiting for the answer;
    // until it has, the kernel says "running" instead of the registers (on a busy 2-core
    // machine one open in ten): wait for it, briefly, rather than count it read+write.
    let path = format!("/proc/{tid}/syscall");
    let mut text = String::new();
    for i in 0..400 {
        match std::fs::read_to_string(&path) {
            Ok(t) if t.starts_with("running") => {
                if i < 40 {
                    std::thread::yield_now();
                } else {
                    std::thread::sleep(std::time::Duration::from_micros(25));
                }
            }
            Ok(t) => {
                text = t;
                break;
            }
            Err(_) => return unknown(),
        }
    }
    if text.is_empty() {
        return unknown();
    }
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
        // open_how lives in the caller's memory, which another thread can rewrite after
        // the kernel copied it: what we would read is not what the kernel used.
        OPENAT2 => None,
        // The kernel's own opens while executing (the program, its ELF interpreter, a
        // script's interpreter) are read-only; the syscall number cannot be raced.
        nr::EXECVE | nr::EXECVEAT | nr::USELIB => Some(libc::O_RDONLY as u64),
        _ => None,
    };
    flags.map(open_access).unwrap_or_else(unknown)
}

/// Is task `tid` running a dynamic loader as its program (`ld.so /usr/bin/curl`, or a
/// copy of ld.so under any name)? By name, else by shape: a position-independent ELF
/// with no interpreter of its own is a loader (or a static-pie program, which is rare and
/// then only loses the right to read denied programs). Answers are cached per file.
/// Called on the fanotify answer thread: it must not open anything in the sandbox.
pub fn is_loader(tid: i32) -> bool {
    let exe = format!("/proc/{tid}/exe");
    let Ok(path) = std::fs::read_link(&exe) else {
        return false;
    };
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    if name.starts_with("ld-linux")
        || name.starts_with("ld64.so")
        || name == "ld.so"
        || name.starts_with("ld-musl")
    {
        return true;
    }
    let Ok(meta) = std::fs::metadata(&exe) else {
        return false;
    };
    let key = (meta.dev(), meta.ino(), meta.mtime(), meta.mtime_nsec());
    thread_local! {
        static SEEN: RefCell<HashMap<(u64, u64, i64, i64), bool>> = RefCell::new(HashMap::new());
    }
    if let Some(v) = SEEN.with(|s| s.borrow().get(&key).copied()) {
        return v;
    }
    // Never open /proc/TID/exe: that open goes through the sandbox's marked mounts and
    // would wait for this very thread's answer. Open the same path in varmord's own
    // namespace (a copy of the sandbox's, unmarked) and check it is the same file; a file
    // that cannot be checked counts as a loader (it only loses reads of denied programs).
    let same = std::fs::File::open(&path)
        .ok()
        .and_then(|f| f.metadata().ok())
        .is_some_and(|m| (m.dev(), m.ino()) == (meta.dev(), meta.ino()));
    let v = !same || elf_is_loader(&path.to_string_lossy());
    SEEN.with(|s| {
        let mut s = s.borrow_mut();
        if s.len() > 4096 {
            s.clear();
        }
        s.insert(key, v);
    });
    v
}

fn elf_is_loader(exe: &str) -> bool {
    use object::elf::{FileHeader64, ET_DYN, PT_INTERP};
    use object::read::elf::{FileHeader, ProgramHeader};
    use object::Endianness;
    // The ELF header and program headers sit at the start of the file.
    let mut data = Vec::new();
    let Ok(f) = std::fs::File::open(exe) else {
        return false;
    };
    if std::io::Read::read_to_end(&mut std::io::Read::take(f, 64 * 1024), &mut data).is_err() {
        return false;
    }
    let Ok(header) = FileHeader64::<Endianness>::parse(data.as_slice()) else {
        return false;
    };
    let Ok(e) = header.endian() else {
        return false;
    };
    let Ok(phdrs) = header.program_headers(e, data.as_slice()) else {
        return false;
    };
    header.e_type(e) == ET_DYN && !phdrs.iter().any(|ph| ph.p_type(e) == PT_INTERP)
}

#[cfg(test)]
mod loader_tests {
    #[test]
    fn ld_so_is_a_loader_and_dynamic_programs_are_not() {
        for ld in ["/lib64/ld-linux-x86-64.so.2", "/lib/ld-linux-aarch64.so.1"] {
            if std::path::Path::new(ld).exists() {
                assert!(super::elf_is_loader(ld), "{ld}");
            }
        }
        assert!(!super::elf_is_loader("/usr/bin/cat"));
        assert!(!super::elf_is_loader("/etc/hostname"));
    }
}

/// `comm` of a task, for denial lines.
pub fn comm(tid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{tid}/comm"))
        .map(|s| s.trim_end().to_string())
        .unwrap_or_else(|_| "?".into())
}

/// The line for `what` on `path` by task `tid`, decided by rule `origin`.
pub fn path_line(
    what: String,
    path: &std::path::Path,
    tid: i32,
    origin: u32,
    outcome: Outcome,
) -> Denial {
    Denial {
        what,
        object: path.display().to_string(),
        pid: tid,
        comm: comm(tid),
        origin: Some(origin),
        outcome,
    }
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
        assert_eq!(
            open_access((libc::O_RDONLY | libc::O_TRUNC) as u64).bits(),
            abi::MAY_READ | abi::MAY_TRUNCATE
        );
    }
}
