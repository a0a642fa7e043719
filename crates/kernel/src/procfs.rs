//! Reading a /proc text file (mountinfo) in as few reads as possible: a seq_file makes its
//! text anew from the start for every read(2), so the small first reads of
//! `fs::read_to_string` cost a launch tens of microseconds on a namespace of 20 mounts.
//! And reading mountinfo's lines, for the launcher and varmord alike.

use std::io::Read;
use std::path::Path;

/// The first read asks for this much; a longer text is read on in further reads.
const FIRST: usize = 64 * 1024;

/// The whole text of `path`.
pub fn read_text(path: impl AsRef<Path>) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut s = String::with_capacity(FIRST);
    f.read_to_string(&mut s)?;
    Ok(s)
}

/// One line of /proc/PID/mountinfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub id: u64,
    /// The device, `major:minor`.
    pub dev: String,
    /// The directory of the filesystem that is mounted (not `/` for a bind mount).
    pub root: String,
    pub point: String,
    pub fstype: String,
}

/// The mounts listed in `text` (a mountinfo file), in its order.
pub fn mounts(text: &str) -> Vec<Mount> {
    text.lines()
        .filter_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            let f: Vec<&str> = left.split(' ').collect();
            Some(Mount {
                id: f.first()?.parse().ok()?,
                dev: f.get(2)?.to_string(),
                root: unescape(f.get(3)?),
                point: unescape(f.get(4)?),
                fstype: right.split(' ').next()?.to_string(),
            })
        })
        .collect()
}

/// mountinfo writes space, tab, newline and backslash as `\ooo`.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push(u8::from_str_radix(&s[i + 1..i + 4], 8).unwrap_or(b'?'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_mountinfo_whole() {
        let a = super::read_text("/proc/self/mountinfo").unwrap();
        let b = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        assert_eq!(a, b);
        assert!(a.lines().any(|l| l.contains(" / / ")));
    }

    #[test]
    fn mountinfo_lines_are_read_with_their_escapes() {
        let text = "\
25 1 254:0 / / rw,relatime - ext4 /dev/vda rw
33 25 0:29 /src /srv/my\\040cg rw - cgroup2 none rw
";
        let m = super::mounts(text);
        assert_eq!(m.len(), 2);
        assert_eq!((m[1].id, m[1].dev.as_str()), (33, "0:29"));
        assert_eq!(
            (m[1].root.as_str(), m[1].point.as_str()),
            ("/src", "/srv/my cg")
        );
        assert_eq!(m[1].fstype, "cgroup2");
        assert_eq!(super::unescape("a\\040b\\134c\\9"), "a b\\c\\9");
    }
}
