//! The canary's sandboxed side (`varmord --canary-child`, started by crates/daemon/src/canary.rs):
//! a fresh private mount namespace with a private tmpfs, one attempt per hook kind before
//! the namespace is confined (the controls) and the same attempts after it.
//!
//! Talks JSON lines over stdin/stdout: reads `Setup`, prints `Ready`, waits for a line,
//! prints `Done`. Each attempt's result is 0 (it worked) or the errno it failed with.

use std::io::{BufRead, Write};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::mount::{mount, umount, MsFlags};
use nix::sched::{unshare, CloneFlags};
use serde::{Deserialize, Serialize};

use varmor_kernel::enforcer::hooks::Hook;

/// varmord's first argument that makes it the canary's child.
pub const ARG: &str = "--canary-child";

/// What the canary asks of its child.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Setup {
    /// An empty directory; the child mounts a private tmpfs on it in its own namespace.
    pub dir: PathBuf,
    /// A loopback port for the connect attempt.
    pub port: u16,
    /// A process outside the child's namespace (varmord) whose environ it reads.
    pub peer: i32,
    pub hooks: Vec<Hook>,
    /// An abstract unix socket name (without the leading NUL) varmord listens on.
    #[serde(default)]
    pub unix_name: String,
}

/// The child's namespace and its unconfined results.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ready {
    pub ns: u64,
    pub pid: i32,
    pub controls: Vec<(Hook, i32)>,
}

/// The results once confined.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Done {
    pub attempts: Vec<(Hook, i32)>,
}

/// Files the canary's rules name, relative to `Setup::dir`.
pub const SECRET: &str = "secret";
pub const TOOL: &str = "tool";
pub const LOCKED: &str = "locked";
pub const CAPFILE: &str = "capfile";
pub const MNT: &str = "mnt";

fn errno(e: &std::io::Error) -> i32 {
    e.raw_os_error().unwrap_or(libc::EIO)
}

fn result(r: std::io::Result<()>) -> i32 {
    r.map_or_else(|e| errno(&e), |()| 0)
}

/// One attempt at what makes `hook` fire; undoes its own effect when it works.
fn attempt(hook: Hook, s: &Setup) -> i32 {
    let d = &s.dir;
    match hook {
        Hook::FileOpen => result(std::fs::File::open(d.join(SECRET)).map(drop)),
        Hook::Exec => match std::process::Command::new(d.join(TOOL)).status() {
            Ok(st) if st.success() => 0,
            Ok(_) => libc::ECHILD,
            Err(e) => errno(&e),
        },
        Hook::PathCreate => {
            let link = d.join(LOCKED).join("link");
            result(symlink("x", &link).and_then(|()| std::fs::remove_file(&link)))
        }
        Hook::Capable => {
            let f = d.join(CAPFILE);
            result(
                std::os::unix::fs::chown(&f, Some(65534), Some(65534))
                    .and_then(|()| std::os::unix::fs::chown(&f, Some(0), Some(0))),
            )
        }
        Hook::Mount => {
            let m = d.join(MNT);
            result(
                mount(
                    Some("tmpfs"),
                    &m,
                    Some("tmpfs"),
                    MsFlags::empty(),
                    Some("size=4k"),
                )
                .and_then(|()| umount(&m))
                .map_err(std::io::Error::from),
            )
        }
        Hook::UsernsCreate => {
            let mut c = std::process::Command::new("/bin/true");
            // SAFETY: the closure runs in the forked child before exec and makes one
            // async-signal-safe system call.
            unsafe {
                c.pre_exec(|| unshare(CloneFlags::CLONE_NEWUSER).map_err(std::io::Error::from));
            }
            match c.status() {
                Ok(st) if st.success() => 0,
                Ok(_) => libc::ECHILD,
                Err(e) => errno(&e),
            }
        }
        Hook::Ptrace => result(std::fs::read(format!("/proc/{}/environ", s.peer)).map(drop)),
        Hook::Connect => {
            let to = std::net::SocketAddr::from(([127, 0, 0, 1], s.port));
            result(std::net::TcpStream::connect_timeout(&to, Duration::from_secs(2)).map(drop))
        }
        Hook::UnixConnect => {
            use std::os::linux::net::SocketAddrExt;
            result(
                std::os::unix::net::SocketAddr::from_abstract_name(s.unix_name.as_bytes())
                    .and_then(|a| std::os::unix::net::UnixStream::connect_addr(&a))
                    .map(drop),
            )
        }
        Hook::SourceRoute => result(set_source_route()),
        Hook::SourceRoutePacket => result(send_source_routed(s.port)),
    }
}

/// IPv4 options: four NOPs. Every IPv4 option is refused in a sandbox with network rules
/// (bpf/srcroute.bpf.c), and these need no CAP_NET_RAW, which varmord's systemd unit does
/// not grant (a source route itself needs it on recent kernels).
const OPTIONS: [u8; 4] = [1, 1, 1, 1];

fn udp4() -> std::io::Result<std::net::UdpSocket> {
    std::net::UdpSocket::bind(("127.0.0.1", 0))
}

/// setsockopt(IP_OPTIONS) on a fresh UDP socket.
fn set_source_route() -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let s = udp4()?;
    // SAFETY: OPTIONS is valid for its length for the call's duration.
    let r = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_OPTIONS,
            OPTIONS.as_ptr().cast(),
            OPTIONS.len() as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// A datagram to 127.0.0.1:port carrying OPTIONS as an IP_RETOPTS control message.
fn send_source_routed(port: u16) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let s = udp4()?;
    let mut to = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: port.to_be(),
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes([127, 0, 0, 1]),
        },
        sin_zero: [0; 8],
    };
    let payload = *b"canary";
    let mut iov = libc::iovec {
        iov_base: payload.as_ptr() as *mut libc::c_void,
        iov_len: payload.len(),
    };
    // u64 words: aligned for cmsghdr; 64 bytes hold one header and the option bytes.
    let mut ctl = [0u64; 8];
    // SAFETY: msghdr is plain data; all zeroes is a valid value.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_name = (&mut to as *mut libc::sockaddr_in).cast();
    msg.msg_namelen = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctl.as_mut_ptr().cast();
    // SAFETY: CMSG_* are arithmetic on msg, whose control buffer (ctl) holds the one
    // header and its data; sendmsg reads msg and what it points to, all alive here.
    let r = unsafe {
        msg.msg_controllen = libc::CMSG_SPACE(OPTIONS.len() as u32) as usize;
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = libc::IPPROTO_IP;
        (*c).cmsg_type = libc::IP_RETOPTS;
        (*c).cmsg_len = libc::CMSG_LEN(OPTIONS.len() as u32) as usize;
        std::ptr::copy_nonoverlapping(OPTIONS.as_ptr(), libc::CMSG_DATA(c), OPTIONS.len());
        libc::sendmsg(s.as_raw_fd(), &msg, 0)
    };
    if r < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

fn prepare(d: &Path) -> std::io::Result<()> {
    std::fs::write(d.join(SECRET), "canary\n")?;
    let tool = d.join(TOOL);
    std::fs::write(&tool, "#!/bin/true\n")?;
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755))?;
    std::fs::create_dir(d.join(LOCKED))?;
    std::fs::write(d.join(CAPFILE), "")?;
    std::fs::create_dir(d.join(MNT))
}

fn send(v: &impl Serialize) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, v)?;
    out.write_all(b"\n")?;
    out.flush()
}

fn child() -> Result<(), String> {
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    let mut line = || {
        lines
            .next()
            .ok_or_else(|| "varmord closed the canary's input".to_string())?
            .map_err(|e| e.to_string())
    };
    let s: Setup = serde_json::from_str(&line()?).map_err(|e| format!("setup: {e}"))?;
    unshare(CloneFlags::CLONE_NEWNS).map_err(|e| format!("unshare(CLONE_NEWNS): {e}"))?;
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| format!("making / private: {e}"))?;
    mount(
        Some("tmpfs"),
        &s.dir,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some("mode=0700,size=64k"),
    )
    .map_err(|e| format!("mounting a tmpfs on {}: {e}", s.dir.display()))?;
    prepare(&s.dir).map_err(|e| format!("preparing {}: {e}", s.dir.display()))?;
    let ns = std::fs::metadata("/proc/self/ns/mnt")
        .map(|m| std::os::unix::fs::MetadataExt::ino(&m))
        .map_err(|e| format!("/proc/self/ns/mnt: {e}"))?;
    let controls = s.hooks.iter().map(|&h| (h, attempt(h, &s))).collect();
    send(&Ready {
        ns,
        pid: std::process::id() as i32,
        controls,
    })
    .map_err(|e| e.to_string())?;
    line()?;
    let attempts = s.hooks.iter().map(|&h| (h, attempt(h, &s))).collect();
    send(&Done { attempts }).map_err(|e| e.to_string())
}

/// `varmord --canary-child`: exit status 0 when every attempt was made.
pub fn main() -> u8 {
    match child() {
        Ok(()) => 0,
        Err(e) => {
            varmor_core::say!("varmord --canary-child: {e}");
            1
        }
    }
}
