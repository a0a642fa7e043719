//! Denials as structured journal entries (systemd's native protocol, std only), so
//! `journalctl -u varmord VARMOR_PROFILE=nocurl` finds them. Used where varmord's stderr
//! is the journal (JOURNAL_STREAM is set); elsewhere the log line is all there is.

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::sync::OnceLock;

pub const SOCKET: &str = "/run/systemd/journal/socket";

/// One entry in the native format: `KEY\n` + little-endian u64 length + value + `\n` for
/// every field (the binary form, so values may hold newlines).
pub fn encode(fields: &[(&str, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (k, v) in fields {
        out.extend_from_slice(k.as_bytes());
        out.push(b'\n');
        out.extend_from_slice(&(v.len() as u64).to_le_bytes());
        out.extend_from_slice(v.as_bytes());
        out.push(b'\n');
    }
    out
}

/// Sends one entry to the journal socket at `path`; false when it could not.
pub fn send_to(path: &Path, fields: &[(&str, String)]) -> bool {
    UnixDatagram::unbound()
        .and_then(|s| s.send_to(&encode(fields), path))
        .is_ok()
}

/// Whether varmord's stderr goes to the journal (then entries go there natively).
pub fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("JOURNAL_STREAM").is_some() && Path::new(SOCKET).exists())
}

/// Sends one entry to the system journal when `enabled()`; false otherwise.
pub fn send(fields: &[(&str, String)]) -> bool {
    enabled() && send_to(Path::new(SOCKET), fields)
}

/// The real uid of `pid`, from /proc/PID/status.
pub fn uid_of(pid: i32) -> Option<u32> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_reach_the_socket_in_the_native_format() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("journal");
        let rx = UnixDatagram::bind(&p).unwrap();
        let fields = [
            ("MESSAGE", "varmor: denied exec /usr/bin/curl".to_string()),
            ("VARMOR_PATH", "/tmp/a\nb".to_string()),
        ];
        assert!(send_to(&p, &fields));
        let mut buf = [0u8; 512];
        let n = rx.recv(&mut buf).unwrap();
        let got = &buf[..n];
        assert!(got.starts_with(b"MESSAGE\n"));
        let len = u64::from_le_bytes(got[8..16].try_into().unwrap()) as usize;
        assert_eq!(&got[16..16 + len], b"varmor: denied exec /usr/bin/curl");
        assert!(got.ends_with(b"VARMOR_PATH\n\x08\0\0\0\0\0\0\0/tmp/a\nb\n"));
        // SAFETY: getuid has no preconditions.
        let me = unsafe { libc::getuid() };
        assert_eq!(uid_of(std::process::id() as i32), Some(me));
    }
}
