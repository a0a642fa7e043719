//! The launcher's side of varmord's socket: one request, one answer, bounded in time.

use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use thiserror::Error;

use varmor_core::proto::{read_frame, write_frame, RefuseCode, Request, Response, PROTO_VERSION};
use varmor_core::rules::RuleSet;

/// How long the launcher waits for varmord's answer, unless `VARMOR_ANSWER_TIMEOUT`
/// (seconds) says otherwise: it only changes how long this client waits.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

fn answer_timeout() -> Duration {
    std::env::var("VARMOR_ANSWER_TIMEOUT")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|s| (1..=3600).contains(s))
        .map_or(ANSWER_TIMEOUT, Duration::from_secs)
}

#[derive(Debug, Error)]
pub enum ClientError {
    #[error("cannot reach varmord at {path}: {msg}; start it (as root: `varmord &`, or `systemctl start varmord.socket`) or pass --socket")]
    Unreachable { path: String, msg: String },
    #[error("varmord refused ({code:?}): {message}")]
    Refused { code: RefuseCode, message: String },
    #[error("varmord at {path}: {msg}")]
    Protocol { path: String, msg: String },
}

fn connect(socket: &Path) -> Result<UnixStream, ClientError> {
    let s = UnixStream::connect(socket).map_err(|e| ClientError::Unreachable {
        path: socket.display().to_string(),
        msg: e.to_string(),
    })?;
    let _ = s.set_read_timeout(Some(answer_timeout()));
    let _ = s.set_write_timeout(Some(answer_timeout()));
    Ok(s)
}

fn unexpected(socket: &Path, answer: Response) -> ClientError {
    ClientError::Protocol {
        path: socket.display().to_string(),
        msg: format!("unexpected answer {answer:?}"),
    }
}

/// Where varmord sends a sandbox's denial lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lines {
    /// Nowhere (`--quiet`): only varmord's log.
    Quiet,
    /// This process's stderr.
    Stderr,
    /// A learning run's pipe: every distinct line, unthrottled.
    Learn(std::os::fd::RawFd),
}

fn exchange(socket: &Path, req: &Request, fds: &[RawFd]) -> Result<Response, ClientError> {
    Sent::send(socket, req, fds)?.answer()
}

/// A request written to varmord whose answer has not been read yet: the launcher does
/// work of its own meanwhile (crates/launcher/src/run.rs).
pub struct Sent<'a> {
    socket: &'a Path,
    stream: UnixStream,
}

impl<'a> Sent<'a> {
    fn send(socket: &'a Path, req: &Request, fds: &[RawFd]) -> Result<Sent<'a>, ClientError> {
        let stream = connect(socket)?;
        write_frame(&stream, req, fds).map_err(|e| protocol(socket, e))?;
        Ok(Sent { socket, stream })
    }

    /// Waits for varmord's answer (bounded by the answer timeout).
    fn answer(self) -> Result<Response, ClientError> {
        let (resp, _) =
            read_frame::<Response>(&self.stream, 0).map_err(|e| protocol(self.socket, e))?;
        match resp {
            Response::Refused { code, message } => Err(ClientError::Refused { code, message }),
            ok => Ok(ok),
        }
    }
}

fn protocol(socket: &Path, e: varmor_core::proto::ProtoError) -> ClientError {
    ClientError::Protocol {
        path: socket.display().to_string(),
        msg: match &e {
            varmor_core::proto::ProtoError::Io(io)
                if matches!(
                    io.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                format!(
                    "no answer within {}s (varmord is overloaded or stuck; VARMOR_ANSWER_TIMEOUT \
                     sets how long to wait)",
                    answer_timeout().as_secs()
                )
            }
            _ => e.to_string(),
        },
    }
}

/// Asks varmord to confine the namespace this process is in; returns (backend, notes).
/// varmord's answer to a confine request, as the launcher acts on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Granted {
    pub backend: varmor_core::proto::Backend,
    /// Rules enforced more strictly than written.
    pub stricter: Vec<String>,
    /// Rules the backend cannot enforce at all.
    pub unenforced: Vec<String>,
    /// Rules written `required: false` that the backend cannot enforce: said, not refused.
    pub unenforced_optional: Vec<String>,
}

pub fn confine(
    socket: &Path,
    mnt_ns: u64,
    rules: &RuleSet,
    lines: Lines,
) -> Result<Granted, ClientError> {
    ask_confine(socket, mnt_ns, rules, lines)?.granted()
}

/// A confine request on its way: `granted` reads varmord's answer.
pub struct Asked<'a>(Sent<'a>);

/// Sends the confine request and returns without waiting for the answer.
pub fn ask_confine<'a>(
    socket: &'a Path,
    mnt_ns: u64,
    rules: &RuleSet,
    lines: Lines,
) -> Result<Asked<'a>, ClientError> {
    let req = Request::Confine {
        version: PROTO_VERSION,
        mnt_ns,
        rules: Box::new(rules.clone()),
        quiet: lines == Lines::Quiet,
        learn: matches!(lines, Lines::Learn(_)),
        color: lines == Lines::Stderr
            && std::io::IsTerminal::is_terminal(&std::io::stderr())
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
    };
    let fds = match lines {
        Lines::Quiet => vec![],
        Lines::Stderr => vec![std::io::stderr().as_raw_fd()],
        Lines::Learn(fd) => vec![fd],
    };
    Sent::send(socket, &req, &fds).map(Asked)
}

impl Asked<'_> {
    /// varmord's answer: what it enforces, or its refusal.
    pub fn granted(self) -> Result<Granted, ClientError> {
        let socket = self.0.socket;
        match self.0.answer()? {
            Response::Confined {
                backend,
                stricter,
                unenforced,
                unenforced_optional,
                ..
            } => Ok(Granted {
                backend,
                stricter,
                unenforced,
                unenforced_optional,
            }),
            other => Err(unexpected(socket, other)),
        }
    }
}

/// The caller's live sandboxes.
pub fn list(socket: &Path) -> Result<Vec<varmor_core::proto::SandboxInfo>, ClientError> {
    match exchange(
        socket,
        &Request::List {
            version: PROTO_VERSION,
        },
        &[],
    )? {
        Response::Sandboxes { list } => Ok(list),
        other => Err(unexpected(socket, other)),
    }
}

/// Hands the chmod notification fd of the confined namespace `mnt_ns` to varmord.
pub fn attach_chmod(
    socket: &Path,
    mnt_ns: u64,
    notify: &std::os::fd::OwnedFd,
) -> Result<(), ClientError> {
    match exchange(
        socket,
        &Request::AttachChmod {
            version: PROTO_VERSION,
            mnt_ns,
        },
        &[notify.as_raw_fd()],
    )? {
        Response::Attached => Ok(()),
        other => Err(unexpected(socket, other)),
    }
}
