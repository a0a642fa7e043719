//! sd_notify(3) in a few lines of std: tells systemd (Type=notify) that varmord is ready
//! or stopping, over the datagram socket named by NOTIFY_SOCKET. A no-op without systemd.

use std::os::unix::net::{SocketAddr, UnixDatagram};

/// The address NOTIFY_SOCKET names: a path, or `@name` for the abstract namespace.
fn address(v: &str) -> Option<SocketAddr> {
    match v.strip_prefix('@') {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            SocketAddr::from_abstract_name(name.as_bytes()).ok()
        }
        None if v.starts_with('/') => SocketAddr::from_pathname(v).ok(),
        None => None,
    }
}

/// Sends `state` (e.g. `READY=1\nSTATUS=...`) to systemd; false when there is no
/// NOTIFY_SOCKET or the message could not be sent.
pub fn notify(state: &str) -> bool {
    let Some(addr) = std::env::var("NOTIFY_SOCKET")
        .ok()
        .and_then(|v| address(&v))
    else {
        return false;
    };
    UnixDatagram::unbound()
        .and_then(|s| s.send_to_addr(state.as_bytes(), &addr))
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_reaches_the_notify_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let rx = UnixDatagram::bind(&path).unwrap();
        assert!(address("relative").is_none());
        assert!(address("@varmor-test-notify").is_some());
        // SAFETY: this test binary's other tests do not read NOTIFY_SOCKET.
        unsafe { std::env::set_var("NOTIFY_SOCKET", &path) };
        assert!(notify("READY=1\nSTATUS=backend compat"));
        // SAFETY: as above.
        unsafe { std::env::remove_var("NOTIFY_SOCKET") };
        let mut buf = [0u8; 64];
        let n = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1\nSTATUS=backend compat");
        assert!(!notify("READY=1"));
    }
}
