//! Which mounts of a sandbox need fanotify marks: those where a file some rule could name
//! can be opened. A path rule's matches all lie under its literal directory (the part
//! before the first wildcard component), so a mount is needed when it holds that directory
//! or lies below it; every other mount of a needed filesystem is needed too (the same
//! files by another name, hard links included), and so is every mount of a filesystem
//! holding a file a deny rule names by identity (reached through a symlink, say: the
//! canonical name then lies elsewhere; crates/kernel/src/enforcer/compat/inodes.rs). Opens elsewhere (/dev/null, /proc, /sys)
//! then never leave the kernel, and setting up a sandbox makes fewer marks.

use varmor_core::profile::file::PathRule;

/// The literal directory of a pattern: its components before the first one with a
/// wildcard (`/home/*/.ssh/**` -> `/home`, `**/curl` -> `/`, `/etc/shadow` -> itself).
pub fn literal_dir(pattern: &str) -> &str {
    let mut end = 0;
    for (i, c) in pattern.char_indices() {
        if matches!(c, '*' | '?' | '[' | '{') {
            break;
        }
        if c == '/' {
            end = i;
        }
        if i + c.len_utf8() == pattern.len() {
            end = pattern.len();
        }
    }
    if end == 0 {
        "/"
    } else {
        &pattern[..end]
    }
}

/// Is `path` `dir` or below it?
pub(super) fn under(path: &str, dir: &str) -> bool {
    dir == "/"
        || path == dir
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// A mountinfo device field (`major:minor`) as st_dev.
pub fn dev_of(field: &str) -> Option<u64> {
    let (a, b) = field.split_once(':')?;
    Some(libc::makedev(a.parse().ok()?, b.parse().ok()?))
}

/// Indexes into `points` (mount points, with `devs` their mountinfo devices, in mountinfo
/// order) of the mounts that need marks for `rules` (only rules fanotify answers count)
/// and for the files recorded by identity on the filesystems `denied_devs`.
pub fn needed(
    points: &[&str],
    devs: &[&str],
    rules: &[&PathRule],
    denied_devs: &std::collections::BTreeSet<u64>,
) -> Vec<usize> {
    let mut need = vec![false; points.len()];
    for r in rules {
        let lit = literal_dir(r.pattern.as_str());
        // The mount holding `lit`: the last listed whose point is at or above it (later
        // mounts cover earlier ones at the same point).
        let holder = points
            .iter()
            .enumerate()
            .filter(|(_, p)| under(lit, p))
            .max_by_key(|(i, p)| (p.len(), *i))
            .map(|(i, _)| i);
        if let Some(h) = holder {
            need[h] = true;
        }
        for (i, p) in points.iter().enumerate() {
            if under(p, lit) {
                need[i] = true;
            }
        }
    }
    // Every mount of a needed filesystem.
    let needed_devs: Vec<&str> = (0..points.len())
        .filter(|&i| need[i])
        .map(|i| devs[i])
        .collect();
    (0..points.len())
        .filter(|&i| {
            need[i]
                || needed_devs.contains(&devs[i])
                || dev_of(devs[i]).is_some_and(|d| denied_devs.contains(&d))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use varmor_core::profile::file::{Access, Action};
    use varmor_core::profile::pattern::Pattern;

    fn rule(p: &str) -> PathRule {
        PathRule {
            pattern: Pattern::parse(p).unwrap(),
            access: Access::READ,
            action: Action::Deny,
            origin: 0,
        }
    }

    #[test]
    fn literal_dirs() {
        assert_eq!(literal_dir("/etc/shadow"), "/etc/shadow");
        assert_eq!(literal_dir("/home/alice/.ssh/**"), "/home/alice/.ssh");
        assert_eq!(literal_dir("/home/*/.ssh/**"), "/home");
        assert_eq!(literal_dir("**/curl"), "/");
        assert_eq!(literal_dir("/etc/ssh/ssh_host_*_key"), "/etc/ssh");
    }

    #[test]
    fn only_mounts_a_rule_can_reach_and_their_filesystems_other_mounts() {
        let points = [
            "/",
            "/proc",
            "/dev",
            "/dev/shm",
            "/home",
            "/srv/etc-copy",
            "/home/u/nfs",
        ];
        let devs = ["8:1", "0:5", "0:6", "0:7", "8:2", "8:1", "0:40"];
        let n = |rs: &[&str]| {
            let rules: Vec<PathRule> = rs.iter().map(|p| rule(p)).collect();
            let refs: Vec<&PathRule> = rules.iter().collect();
            needed(&points, &devs, &refs, &Default::default())
                .into_iter()
                .map(|i| points[i])
                .collect::<Vec<_>>()
        };
        // /etc/shadow is on / (8:1), which is also mounted at /srv/etc-copy.
        assert_eq!(n(&["/etc/shadow"]), vec!["/", "/srv/etc-copy"]);
        // Patterns under /home reach /home and the mount below it.
        assert_eq!(n(&["/home/*/.ssh/**"]), vec!["/home", "/home/u/nfs"]);
        // A rule from the root reaches every mount.
        assert_eq!(n(&["**/curl"]).len(), points.len());
        // A rule on a pseudo filesystem reaches it alone.
        assert_eq!(n(&["/dev/shm/x"]), vec!["/dev/shm"]);
        assert!(n(&[]).is_empty());
        // A file denied by identity on /dev/shm (its rule named it through a symlink).
        let shm = [dev_of("0:7").unwrap()].into_iter().collect();
        assert_eq!(needed(&points, &devs, &[], &shm), vec![3]);
    }
}
