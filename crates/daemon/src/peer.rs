//! Who is asking: the peer's uid and pid from the kernel (SO_PEERCRED), a pidfd against pid
//! reuse (SO_PEERPIDFD, else pidfd_open re-checked), and the mount namespace the kernel says
//! the peer is in now, with the uid that owns it. Nothing the client says is trusted.

use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum PeerError {
    #[error("cannot identify the peer: {0}")]
    Identify(String),
    #[error("the peer exited before it could be checked")]
    Gone,
}

/// A verified client.
#[derive(Debug)]
pub struct Peer {
    pub pid: i32,
    pub uid: u32,
    pub gid: u32,
    pub pidfd: OwnedFd,
    /// The peer's mount namespace, held open (the inode cannot be reused while held).
    pub mnt_ns_fd: File,
    pub mnt_ns: u64,
    /// The uid that owns the user namespace owning the mount namespace.
    pub ns_owner_uid: u32,
}

fn last_os(what: &str) -> PeerError {
    PeerError::Identify(format!("{what}: {}", std::io::Error::last_os_error()))
}

const SO_PEERPIDFD: libc::c_int = 77;
// _IO(0xb7, 0x1) and _IO(0xb7, 0x4) from linux/nsfs.h.
const NS_GET_USERNS: libc::c_ulong = 0xb701;
const NS_GET_OWNER_UID: libc::c_ulong = 0xb704;

fn peercred(sock: &UnixStream) -> Result<libc::ucred, PeerError> {
    let mut cred = libc::ucred {
        pid: 0,
        uid: 0,
        gid: 0,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: cred and len are valid, writable and sized for SO_PEERCRED's ucred answer.
    let rc = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(last_os("SO_PEERCRED"));
    }
    Ok(cred)
}

/// A pidfd naming the peer process itself: SO_PEERPIDFD where the kernel has it (6.5+).
fn peer_pidfd(sock: &UnixStream, pid: i32) -> Result<OwnedFd, PeerError> {
    let mut fd: libc::c_int = -1;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: fd/len are valid and sized for an int answer.
    let rc = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            SO_PEERPIDFD,
            (&mut fd as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc == 0 && fd >= 0 {
        // SAFETY: the kernel returned a fresh pidfd that we now own.
        return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
    }
    // SAFETY: plain syscall with integer arguments.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(PeerError::Gone);
    }
    // SAFETY: pidfd_open returned a fresh fd that we now own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Is the process behind `pidfd` still alive (so `pid` still names it)?
pub fn alive(pidfd: &OwnedFd) -> bool {
    // SAFETY: signal 0 only checks; the pidfd is valid for the call.
    unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            0,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        ) == 0
    }
}

/// The uid owning the user namespace that owns the namespace `ns`.
pub fn ns_owner_uid(ns: &File) -> Result<u32, PeerError> {
    // SAFETY: NS_GET_USERNS takes no argument and returns a new fd or -1.
    let userns = unsafe { libc::ioctl(ns.as_raw_fd(), NS_GET_USERNS as _) };
    if userns < 0 {
        // EPERM: owned by the initial user namespace's ancestor; treat as root-owned.
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() == Some(libc::EPERM) {
            return Ok(0);
        }
        return Err(PeerError::Identify(format!("NS_GET_USERNS: {e}")));
    }
    // SAFETY: the ioctl returned a fresh fd that we now own.
    let userns = unsafe { OwnedFd::from_raw_fd(userns) };
    let mut uid: libc::uid_t = 0;
    // SAFETY: NS_GET_OWNER_UID writes one uid_t to the pointer.
    if unsafe { libc::ioctl(userns.as_raw_fd(), NS_GET_OWNER_UID as _, &mut uid) } != 0 {
        return Err(last_os("NS_GET_OWNER_UID"));
    }
    Ok(uid)
}

/// Inode of a namespace file.
pub fn ns_inode(f: &File) -> std::io::Result<u64> {
    Ok(f.metadata()?.ino())
}

/// Identifies the peer of `sock` and the mount namespace it is in now.
pub fn identify(sock: &UnixStream) -> Result<Peer, PeerError> {
    let cred = peercred(sock)?;
    let pidfd = peer_pidfd(sock, cred.pid)?;
    let mnt_ns_fd =
        File::open(format!("/proc/{}/ns/mnt", cred.pid)).map_err(|_| PeerError::Gone)?;
    // The pidfd still names a live process, so /proc/PID above was that process.
    if !alive(&pidfd) {
        return Err(PeerError::Gone);
    }
    let mnt_ns =
        ns_inode(&mnt_ns_fd).map_err(|e| PeerError::Identify(format!("stat mnt ns: {e}")))?;
    let ns_owner_uid = ns_owner_uid(&mnt_ns_fd)?;
    Ok(Peer {
        pid: cred.pid,
        uid: cred.uid,
        gid: cred.gid,
        pidfd,
        mnt_ns_fd,
        mnt_ns,
        ns_owner_uid,
    })
}

/// Mount-namespace inodes varmord never confines: init's and its own.
pub fn host_namespaces() -> Vec<u64> {
    ["/proc/1/ns/mnt", "/proc/self/ns/mnt"]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok().map(|m| m.ino()))
        .collect()
}
