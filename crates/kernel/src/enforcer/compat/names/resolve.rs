//! A name the caller passed, resolved as the caller would (its root, cwd or directory
//! descriptor), and the quick answer that needs no resolving at all.

use std::ffi::CString;
use std::os::fd::AsRawFd;
use std::path::Path;

use super::caller::read_path;
use super::fs::{fstat, o_path, on_procfs, openat2_in_root};
use super::{Name, Names};

impl Names {
    /// Resolves (dirfd, path) to its directory and last component, as the caller would.
    pub(super) fn resolve(
        &self,
        pid: i32,
        dirfd: u64,
        addr: u64,
        strip_slash: bool,
    ) -> Result<Name, ()> {
        let path = read_path(pid, addr).map_err(drop)?;
        self.resolve_str(pid, dirfd, &path, strip_slash)
    }

    pub(super) fn resolve_str(
        &self,
        pid: i32,
        dirfd: u64,
        path: &str,
        strip: bool,
    ) -> Result<Name, ()> {
        let mut path = path;
        if strip {
            while path.len() > 1 && path.ends_with('/') {
                path = &path[..path.len() - 1];
            }
        }
        if path.is_empty() || path.ends_with('/') {
            return Err(());
        }
        let abs = absolute(pid, dirfd, path).ok_or(())?;
        let (dir, leaf) = match abs.rfind('/') {
            Some(0) => ("/", &abs[1..]),
            Some(i) => (&abs[..i], &abs[i + 1..]),
            None => return Err(()),
        };
        if leaf.is_empty() || leaf == "." || leaf == ".." {
            return Err(());
        }
        let root = o_path(&format!("/proc/{pid}/root"), libc::O_DIRECTORY)?;
        let dfd = openat2_in_root(root.as_raw_fd(), dir)?;
        // /proc resolves `self` and its magic links as varmord, not as the caller: names
        // there are the kernel's business (and Landlock's).
        if on_procfs(dfd.as_raw_fd()) {
            return Err(());
        }
        let dir_path =
            std::fs::read_link(format!("/proc/self/fd/{}", dfd.as_raw_fd())).map_err(drop)?;
        if !dir_path.is_absolute() || dir_path.to_string_lossy().ends_with(" (deleted)") {
            return Err(());
        }
        let full = dir_path.join(leaf);
        let st = fstat(dfd.as_raw_fd())?;
        let in_chain = {
            let plan = self.plan(pid);
            plan.withholds_names(&dir_path) || self.made.borrow().contains(&st)
        };
        Ok(Name {
            dir: dfd,
            leaf: CString::new(leaf).map_err(drop)?,
            full,
            in_chain,
        })
    }

    /// The quick answer: every directory the call names is, by its path alone, one where
    /// Landlock grants everything (not in the chain, not protected, not made by varmord),
    /// so the kernel goes on without varmord resolving anything. A path that only looks
    /// that way (a symlink into the chain) is refused by Landlock, never let through.
    pub(super) fn plainly_granted(&self, pid: i32, names: &[(u64, u64)]) -> bool {
        names.iter().all(|&(dirfd, addr)| {
            let Ok(path) = read_path(pid, addr) else {
                return false;
            };
            let Some(dir) = lexical_dir(pid, dirfd, &path) else {
                return false;
            };
            let dir = Path::new(&dir);
            let plan = self.plan(pid);
            let made = self.made_paths.borrow();
            !plan.withholds_names(dir) && !dir.ancestors().any(|a| made.contains(a))
        })
    }
}

/// `path` made absolute from `dirfd` or the caller's cwd (as its link in /proc says); None
/// when that directory has no path (deleted, or not in the caller's tree).
fn absolute(pid: i32, dirfd: u64, path: &str) -> Option<String> {
    if path.starts_with('/') {
        return Some(path.to_string());
    }
    let base = if dirfd as i32 == libc::AT_FDCWD {
        format!("/proc/{pid}/cwd")
    } else {
        format!("/proc/{pid}/fd/{}", dirfd as i32)
    };
    let b = std::fs::read_link(base).ok()?;
    let b = b.to_str()?;
    if !b.starts_with('/') || b.ends_with(" (deleted)") {
        return None;
    }
    Some(format!("{}/{path}", b.trim_end_matches('/')))
}

/// The directory `path` names an entry of, from `dirfd` or the caller's cwd, by its
/// text alone; None when that needs resolving (`.`, `..`, `//`, a deleted directory).
pub(super) fn lexical_dir(pid: i32, dirfd: u64, path: &str) -> Option<String> {
    let path = path.trim_end_matches('/');
    let abs = absolute(pid, dirfd, path)?;
    let i = abs.rfind('/')?;
    let dir = if i == 0 { "/" } else { &abs[..i] };
    let plain = dir == "/"
        || dir[1..]
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..");
    (plain && !abs[i + 1..].is_empty()).then(|| dir.to_string())
}

/// Could a path below `dir` (ending in `/`) match `pat`? (`*`, `?`, one `**`.)
pub fn could_match_below(pat: &[u8], dir: &[u8]) -> bool {
    if dir.is_empty() {
        return !pat.is_empty();
    }
    match pat.first() {
        None => false,
        Some(b'*') if pat.get(1) == Some(&b'*') => true,
        Some(b'*') => (0..=dir.len())
            .take_while(|&i| i == 0 || dir[i - 1] != b'/')
            .any(|i| could_match_below(&pat[1..], &dir[i..])),
        Some(b'?') => dir[0] != b'/' && could_match_below(&pat[1..], &dir[1..]),
        Some(&c) => dir[0] == c && could_match_below(&pat[1..], &dir[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::could_match_below;

    #[test]
    fn below() {
        let p = b"/home/*/.ssh/**";
        assert!(could_match_below(p, b"/home/alice/"));
        assert!(could_match_below(p, b"/home/alice/.ssh/"));
        assert!(could_match_below(p, b"/home/"));
        assert!(could_match_below(p, b"/"));
        assert!(!could_match_below(p, b"/home/alice/proj/"));
        assert!(!could_match_below(p, b"/etc/"));
        assert!(!could_match_below(
            b"/home/*/.netrc",
            b"/home/alice/.netrc/"
        ));
        assert!(could_match_below(
            b"/home/*/.config/gh/hosts.yml",
            b"/home/a/.config/"
        ));
        assert!(could_match_below(b"**/id_rsa", b"/tmp/x/"));
    }
}
