//! Reading a /proc text file (mountinfo) in as few reads as possible: a seq_file makes its
//! text anew from the start for every read(2), so the small first reads of
//! `fs::read_to_string` cost a launch tens of microseconds on a namespace of 20 mounts.

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

#[cfg(test)]
mod tests {
    #[test]
    fn reads_mountinfo_whole() {
        let a = super::read_text("/proc/self/mountinfo").unwrap();
        let b = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        assert_eq!(a, b);
        assert!(a.lines().any(|l| l.contains(" / / ")));
    }
}
