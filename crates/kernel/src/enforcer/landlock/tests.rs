//! Unit tests of the Landlock plan: expansion, the chain and its grants, the rights.

use std::fs;
use std::path::{Path, PathBuf};

use landlock::AccessFs;

use super::expand::{component_matches, expand};
use super::rights::{make_all, name_rights, rights_for};
use super::{Carry, Plan};
use varmor_core::abi;
use varmor_core::rules::RuleSet;

fn tree() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    let r = t.path();
    for d in [
        "home/alice/.ssh",
        "home/alice/proj",
        "home/bob",
        "home/carol/.config/gcloud",
        "etc/ssh",
    ] {
        fs::create_dir_all(r.join(d)).unwrap();
    }
    fs::write(r.join("home/alice/.bashrc"), "").unwrap();
    fs::write(r.join("etc/ssh/ssh_host_ed25519_key"), "").unwrap();
    fs::write(r.join("etc/ssh/sshd_config"), "").unwrap();
    std::os::unix::fs::symlink(r.join("home/alice/.ssh"), r.join("home/bob/.ssh")).unwrap();
    t
}

fn roots(pattern: &str, r: &Path) -> Vec<String> {
    let mut v: Vec<String> = expand(pattern, r)
        .0
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn wildcards_expand_over_what_exists() {
    let t = tree();
    let r = t.path();
    assert_eq!(
        roots("/home/*/.ssh/**", r),
        [
            "/home/alice/.ssh",
            // bob's .ssh is a symlink: no real path below it matches, but the name
            // itself does not either; carol has none yet: protected all the same.
            "/home/carol/.ssh"
        ]
    );
    assert_eq!(
        roots("/home/*/.netrc", r),
        [
            "/home/alice/.netrc",
            "/home/bob/.netrc",
            "/home/carol/.netrc"
        ]
    );
    assert_eq!(
        roots("/etc/ssh/ssh_host_*_key", r),
        ["/etc/ssh/ssh_host_ed25519_key"]
    );
    assert_eq!(roots("/etc/**", r), ["/etc"]);
    assert_eq!(roots("**/id_rsa", r), ["/"]);
    assert_eq!(roots("/root/.ssh/**", r), ["/root/.ssh"]);
    assert_eq!(
        expand("/etc/ssh/ssh_host_*_key", r).1,
        [PathBuf::from("/etc/ssh")]
    );
}

#[test]
fn component_globs() {
    assert!(component_matches(b"ssh_host_*_key", b"ssh_host_rsa_key"));
    assert!(!component_matches(
        b"ssh_host_*_key",
        b"ssh_host_rsa_key.pub"
    ));
    assert!(component_matches(b"*", b""));
    assert!(component_matches(b"a?c", b"abc"));
    assert!(!component_matches(b"a?c", b"ac"));
}

fn rules(yaml: &str) -> RuleSet {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.yaml");
    fs::write(&p, yaml).unwrap();
    varmor_core::profile::compile(p.to_str().unwrap())
        .unwrap()
        .0
}

#[test]
fn chain_and_grants_leave_siblings_whole() {
    let t = tree();
    let r = t.path();
    let rs = rules(
        "description: t\nfile:\n  - deny: [create, delete, rename, link]\n    paths: [\"/home/*/.ssh/**\", \"/home/*/.config/gcloud/**\"]\n",
    );
    let plan = Plan::new(&rs, Carry::Rules, r);
    let chain: Vec<String> = plan.chain.keys().map(|p| p.display().to_string()).collect();
    assert!(chain.contains(&"/home/alice".to_string()), "{chain:?}");
    assert!(
        chain.contains(&"/home/carol/.config".to_string()),
        "{chain:?}"
    );
    assert!(chain.contains(&"/home".to_string()));
    assert!(chain.contains(&"/".to_string()));
    assert!(!chain.contains(&"/home/alice/proj".to_string()));
    let grants = plan.grants(r);
    let got = |p: &str| {
        grants
            .iter()
            .find(|(g, _)| g == Path::new(p))
            .map(|(_, r)| *r)
    };
    // The project, bob's whole home (no .ssh of his own) and /etc get everything.
    assert_eq!(got("/home/alice/proj"), Some(plan.handled));
    assert_eq!(got("/etc"), Some(plan.handled));
    // Chain directories and the protected roots get no name right.
    for p in ["/home/alice", "/home", "/", "/home/alice/.ssh"] {
        let g = got(p).unwrap_or_default();
        assert!(
            !g.intersects(name_rights() & !AccessFs::Refer),
            "{p}: {g:?}"
        );
    }
    // The symlink in bob's home gets no rule (it would land on alice's .ssh).
    assert_eq!(got("/home/bob/.ssh"), None);
    // Files directly in a chain directory get file rights only.
    let bashrc = got("/home/alice/.bashrc").unwrap_or_default();
    assert!(!bashrc.intersects(name_rights()));
}

#[test]
fn anti_escape_only_on_bpf_lsm() {
    let t = tree();
    let rs = rules("description: t\nfile:\n  - deny: [create]\n    paths: [\"/home/*/.ssh/**\"]\n");
    let plan = Plan::new(&rs, Carry::AntiEscape, t.path());
    assert!(plan.protections.iter().all(|p| p.origin.is_none()));
    assert!(!plan.handled.intersects(make_all()));
}

#[test]
fn truncate_stays_with_fanotify_when_writes_are_denied() {
    assert!(!rights_for(abi::MAY_WRITE | abi::MAY_TRUNCATE).contains(AccessFs::Truncate));
    assert!(rights_for(abi::MAY_TRUNCATE).contains(AccessFs::Truncate));
}

#[test]
fn abstract_sockets_are_scoped_only_when_every_one_is_denied() {
    let all = "description: t\nunix:\n  - deny: [connect, send]\n    abstract: [\"@**\"]\n";
    let root = Path::new("/");
    assert!(Plan::new(&rules(all), Carry::AntiEscape, root).scope_abstract);
    assert!(Plan::new(&rules(all), Carry::Rules, root).scope_abstract);
    let some = "description: t\nunix:\n  - deny: connect\n    abstract: [\"@dbus-*\"]\n";
    assert!(!Plan::new(&rules(some), Carry::Rules, root).scope_abstract);
    let allowed = format!("{all}  - allow: connect\n    abstract: [\"@/tmp/.X11-unix/*\"]\n");
    assert!(!Plan::new(&rules(&allowed), Carry::Rules, root).scope_abstract);
    let mut complain = rules(all);
    complain.mode = varmor_core::rules::Mode::Complain;
    assert!(!Plan::new(&complain, Carry::Rules, root).scope_abstract);
    assert!(!Plan::new(&rules("description: t\n"), Carry::Rules, root).scope_abstract);
}

#[test]
fn read_only_cgroup_mounts_leave_no_cgroup_rule_and_files_get_file_rights() {
    use super::CgroupHold;
    let t = tree();
    let r = t.path();
    fs::create_dir_all(r.join("sys/fs/cgroup")).unwrap();
    let rs =
        rules("description: t\nfile:\n  - deny: [rename]\n    paths: [/etc/ssh/sshd_config]\n");
    let held = Plan::new(&rs, Carry::Rules, r);
    assert!(held.protections.iter().any(|p| p.origin.is_none()));
    let ro = Plan::with_cgroups(&rs, Carry::Rules, CgroupHold::ReadOnlyMounts, r);
    assert!(
        ro.protections.iter().all(|p| p.origin.is_some()),
        "{:?}",
        ro.protections
    );
    assert!(!ro.handled.contains(AccessFs::WriteFile));
    // The protected file's own rule holds file rights only (none of the handled ones
    // here): Landlock would refuse a rule of directory rights on a file.
    let file = Path::new("/etc/ssh/sshd_config");
    for (p, g) in ro.grants(r) {
        if p == file {
            assert!(AccessFs::from_file(landlock::ABI::V6).contains(g), "{g:?}");
        }
    }
    // Nothing at all to withhold: no grant (the domain is scopes alone).
    let none = Plan::with_cgroups(
        &rules("description: t\n"),
        Carry::Rules,
        CgroupHold::ReadOnlyMounts,
        r,
    );
    assert!(none.handled.is_empty() && none.grants(r).is_empty());
}
