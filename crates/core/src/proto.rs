//! varmord's wire protocol: a closed, versioned request/response enum, each message one
//! frame (4-byte big-endian length, then JSON), at most `MAX_FRAME` bytes. The first
//! frame of a `Confine` request may carry one fd (the sandbox's stderr) by SCM_RIGHTS.

use std::io::{IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use thiserror::Error;

use crate::rules::RuleSet;

/// Bumped whenever a request or the rule set changes shape, so that a varmor-run and a
/// varmord of different releases say so instead of failing on an unknown field.
pub const PROTO_VERSION: u32 = 3;
/// Largest frame either side accepts (a 20,000-rule set is well under this).
pub const MAX_FRAME: usize = 4 << 20;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Confine the caller's own mount namespace with `rules`, set once.
    Confine {
        version: u32,
        /// The inode the client read from /proc/self/ns/mnt; only checked against the
        /// kernel's answer for the peer.
        mnt_ns: u64,
        rules: Box<RuleSet>,
        /// Send no denial lines to the passed stderr fd.
        quiet: bool,
        /// A learning run (`varmor-run --learn`): every distinct line reaches the passed fd,
        /// unthrottled and deduplicated, and none goes to varmord's log. Only its rules may
        /// have the resolver answer every name (`Answering::Every`, crates/core/src/profile/dns.rs).
        #[serde(default)]
        learn: bool,
        /// The passed fd is a terminal that wants colour (the launcher checked NO_COLOR).
        #[serde(default)]
        color: bool,
    },
    /// The caller's live sandboxes (all of them for root).
    List { version: u32 },
    /// Answer the chmod calls of the caller's (already confined) namespace: the frame
    /// carries the seccomp user-notification fd of the launcher's chmod filter (compat).
    AttachChmod { version: u32, mnt_ns: u64 },
}

/// Why varmord said no; scripts may match on the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefuseCode {
    BadFrame,
    BadVersion,
    BadRules,
    NotYourNamespace,
    HostNamespace,
    /// The caller runs under chroot: rules name paths from its namespace's root.
    Chrooted,
    AlreadyConfined,
    Limit,
    Unenforceable,
    Internal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxInfo {
    pub id: u64,
    pub pid: u32,
    pub uid: u32,
    pub mnt_ns: u64,
    pub profile: String,
    pub backend: String,
    pub uptime_secs: u64,
    pub denials: u64,
}

/// The backend a sandbox is confined by: the launcher's own part of the plan depends on it
/// (compat's chmod filter), so it is a type, never a name to compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    BpfLsm,
    Compat,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::BpfLsm => "bpf-lsm",
            Backend::Compat => "compat",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Response {
    /// The namespace is confined by `backend`. `stricter`: rules enforced more strictly
    /// than written (said to the user); `unenforced`: rules not enforced at all (the
    /// launcher refuses to run the target unless `--allow-partial`).
    Confined {
        id: u64,
        backend: Backend,
        stricter: Vec<String>,
        unenforced: Vec<String>,
        /// Not enforced, from rules written `required: false`: the launcher says so and runs.
        #[serde(default)]
        unenforced_optional: Vec<String>,
    },
    Refused {
        code: RefuseCode,
        message: String,
    },
    /// varmord answers the namespace's chmod calls from now on.
    Attached,
    Sandboxes {
        list: Vec<SandboxInfo>,
    },
}

#[derive(Debug, Error)]
pub enum ProtoError {
    #[error("connection closed")]
    Closed,
    #[error("frame of {0} bytes is larger than {MAX_FRAME}")]
    TooLarge(usize),
    #[error("malformed message: {0}")]
    Malformed(#[source] serde_json::Error),
    /// A request that does not parse but names another protocol version: it comes from a
    /// varmor-run of another release (whose rule set this side may not know).
    #[error("the request speaks protocol version {theirs}, this side speaks {PROTO_VERSION}")]
    OtherVersion {
        theirs: u32,
        #[source]
        parse: serde_json::Error,
    },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Sends one frame, with `fds` attached to its first byte.
pub fn write_frame<T: Serialize>(
    sock: &UnixStream,
    msg: &T,
    fds: &[RawFd],
) -> Result<(), ProtoError> {
    let body = serde_json::to_vec(msg).map_err(ProtoError::Malformed)?;
    if body.len() > MAX_FRAME {
        return Err(ProtoError::TooLarge(body.len()));
    }
    let header = (body.len() as u32).to_be_bytes();
    let cmsg = [ControlMessage::ScmRights(fds)];
    let cmsgs: &[ControlMessage] = if fds.is_empty() { &[] } else { &cmsg };
    let sent = sendmsg::<()>(
        sock.as_raw_fd(),
        &[IoSlice::new(&header)],
        cmsgs,
        MsgFlags::MSG_NOSIGNAL,
        None,
    )
    .map_err(std::io::Error::from)?;
    if sent != header.len() {
        (&*sock).write_all(&header[sent..])?;
    }
    (&*sock).write_all(&body)?;
    Ok(())
}

/// Reads one frame; returns the message and at most `max_fds` received fds (the kernel
/// closes any beyond the control buffer, and extras within it are dropped here).
pub fn read_frame<T: DeserializeOwned>(
    sock: &UnixStream,
    max_fds: usize,
) -> Result<(T, Vec<OwnedFd>), ProtoError> {
    let mut header = [0u8; 4];
    let mut cmsg_buf = nix::cmsg_space!([RawFd; 2]);
    let mut fds = Vec::new();
    let got = {
        let mut iov = [IoSliceMut::new(&mut header)];
        let msg = recvmsg::<()>(
            sock.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg_buf),
            MsgFlags::MSG_CMSG_CLOEXEC,
        )
        .map_err(std::io::Error::from)?;
        for c in msg.cmsgs().map_err(std::io::Error::from)? {
            if let ControlMessageOwned::ScmRights(raw) = c {
                for fd in raw {
                    // SAFETY: the kernel just installed this fd in our table for us; we own it.
                    fds.push(unsafe { OwnedFd::from_raw_fd(fd) });
                }
            }
        }
        msg.bytes
    };
    if got == 0 {
        return Err(ProtoError::Closed);
    }
    if got < 4 {
        (&*sock)
            .read_exact(&mut header[got..])
            .map_err(eof_is_closed)?;
    }
    fds.truncate(max_fds);
    let len = u32::from_be_bytes(header) as usize;
    if len > MAX_FRAME {
        return Err(ProtoError::TooLarge(len));
    }
    let mut body = vec![0u8; len];
    (&*sock).read_exact(&mut body).map_err(eof_is_closed)?;
    let msg = serde_json::from_slice(&body).map_err(|e| other_version(&body, e))?;
    Ok((msg, fds))
}

/// Just the version of a request (every request carries one; unknown fields ignored).
#[derive(Deserialize)]
struct VersionOnly {
    version: u32,
}

/// A message that does not parse: `OtherVersion` when it names a version not ours (a
/// newer varmor-run's rule set has fields this varmord does not know), else `Malformed`.
fn other_version(body: &[u8], parse: serde_json::Error) -> ProtoError {
    match serde_json::from_slice::<VersionOnly>(body) {
        Ok(v) if v.version != PROTO_VERSION => ProtoError::OtherVersion {
            theirs: v.version,
            parse,
        },
        _ => ProtoError::Malformed(parse),
    }
}

fn eof_is_closed(e: std::io::Error) -> ProtoError {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        ProtoError::Closed
    } else {
        ProtoError::Io(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_fd() {
        let (a, b) = UnixStream::pair().unwrap();
        let req = Request::Confine {
            version: 1,
            mnt_ns: 42,
            rules: Box::new(RuleSet::empty("t")),
            quiet: false,
            learn: false,
            color: false,
        };
        write_frame(&a, &req, &[2]).unwrap();
        let (got, fds): (Request, _) = read_frame(&b, 1).unwrap();
        assert_eq!(got, req);
        assert_eq!(fds.len(), 1);
    }

    #[test]
    fn rejects_oversize_and_garbage() {
        let (a, b) = UnixStream::pair().unwrap();
        (&a).write_all(&((MAX_FRAME + 1) as u32).to_be_bytes())
            .unwrap();
        assert!(matches!(
            read_frame::<Request>(&b, 1),
            Err(ProtoError::TooLarge(_))
        ));
        (&a).write_all(&3u32.to_be_bytes()).unwrap();
        (&a).write_all(b"{x}").unwrap();
        assert!(matches!(
            read_frame::<Request>(&b, 1),
            Err(ProtoError::Malformed(_))
        ));
        let send = |m: &[u8]| {
            (&a).write_all(&(m.len() as u32).to_be_bytes()).unwrap();
            (&a).write_all(m).unwrap();
        };
        // Our version with a field nobody knows: malformed.
        send(format!(r#"{{"type":"list","version":{PROTO_VERSION},"extra":1}}"#).as_bytes());
        assert!(matches!(
            read_frame::<Request>(&b, 1),
            Err(ProtoError::Malformed(_))
        ));
        // Another version whose rule set has a field this one does not know: said so.
        send(br#"{"type":"confine","version":99,"mnt_ns":1,"quiet":false,"extra":1}"#);
        assert!(matches!(
            read_frame::<Request>(&b, 1),
            Err(ProtoError::OtherVersion { theirs: 99, .. })
        ));
        drop(a);
        assert!(matches!(
            read_frame::<Request>(&b, 1),
            Err(ProtoError::Closed)
        ));
    }
}
