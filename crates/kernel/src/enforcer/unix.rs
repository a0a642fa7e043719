//! What each backend says about a profile's unix-socket rules: NOT ENFORCED where the
//! kernel has no `connect_unix`/`sendmsg_unix` hooks (before 6.7: the launch is refused
//! without `--allow-partial`), and how the cgroup hooks match where it has them.

use super::Assessment;
use crate::bpf::UnixHooks;
use varmor_core::rules::RuleSet;

/// Attaches the unix programs, or says why not (the kernel lacks the attach types):
/// the enforcer then reports its unix rules as not enforced.
pub fn attach(pin_dir: &std::path::Path, cgroup: &std::path::Path) -> Option<UnixHooks> {
    match UnixHooks::attach(pin_dir, cgroup) {
        Ok(h) => Some(h),
        Err(e) => {
            log::warn!(
                "unix-socket rules cannot be enforced on this kernel (cgroup connect_unix/sendmsg_unix need Linux 6.7+): {e}"
            );
            None
        }
    }
}

/// Adds the unix part of an assessment: `hooks` says whether the programs are attached
/// (the pure assessments `--check` prints assume they are); `peer`: the backend also
/// checks the peer's bound name (bpf-lsm's bpf/unixpeer.bpf.c).
pub fn assess(rules: &RuleSet, hooks: bool, peer: bool, a: &mut Assessment) {
    if rules.unix.is_empty() {
        return;
    }
    let label = |o: u32| rules.origin(o).map(|o| o.label.clone()).unwrap_or_default();
    if !hooks {
        for r in rules
            .unix
            .iter()
            .filter(|r| r.action != varmor_core::profile::unix::UnixAction::Allow)
        {
            let line = format!(
                "{}: unix-socket rules need the cgroup connect_unix/sendmsg_unix hooks (Linux 6.7+), which this kernel does not have",
                label(r.origin)
            );
            if r.required {
                a.unenforced.push(line);
            } else {
                a.unenforced_optional.push(line);
            }
        }
        a.unenforced.dedup();
        a.unenforced_optional.dedup();
        return;
    }
    if a.notes.iter().any(|n| n.starts_with("unix:")) {
        return;
    }
    a.notes.push(if peer {
        "unix: socket rules match the address a program connects or sends to as written \
         (a relative socket path, or another spelling of one: `//`, `.`, `..`, /proc, \
         /dev/fd, is refused where a path rule applies) and the name the \
         peer socket was bound at (a symlink or hard link to a denied socket is refused)"
            .into()
    } else {
        "unix: socket rules match the address a program connects or sends to, as written \
         (a relative socket path, or another spelling of one: `//`, `.`, `..`, /proc, \
         /dev/fd, is refused where a path rule applies; a symlink or hard \
         link to a denied socket is not followed by the check)"
            .into()
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optional_rules_are_said_and_required_ones_refused_without_the_hooks() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
        let (rs, _) =
            varmor_core::profile::compile(&format!("{root}/profiles.d/no-host-ipc.yaml")).unwrap();
        let mut a = Assessment::default();
        assess(&rs, false, false, &mut a);
        assert!(a.unenforced.is_empty(), "{:?}", a.unenforced);
        assert_eq!(
            a.unenforced_optional.len(),
            1,
            "{:?}",
            a.unenforced_optional
        );
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("mine.yaml");
        std::fs::write(&p, "unix:\n  - deny: connect\n    paths: [/run/**]\n").unwrap();
        let (rs, _) = varmor_core::profile::compile(p.to_str().unwrap()).unwrap();
        let mut a = Assessment::default();
        assess(&rs, false, false, &mut a);
        assert_eq!(a.unenforced.len(), 1, "a rule the user wrote is required");
        let mut a = Assessment::default();
        assess(&rs, true, false, &mut a);
        assert!(a.unenforced.is_empty() && a.unenforced_optional.is_empty());
    }
}
