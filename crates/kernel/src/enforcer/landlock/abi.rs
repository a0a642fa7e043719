//! Landlock rights the running kernel's ABI lacks: a rule that compat carries through
//! Landlock (create, delete, rename, link, truncate on protected paths) is not enforced
//! for a right the kernel does not know, and the user is told so, rule by rule, instead
//! of the ruleset passing as "partially enforced" in silence.

use landlock::{Access, AccessFs, BitFlags, ABI};

use super::{rights_text, Plan};
use varmor_core::rules::RuleSet;

/// The first Landlock ABI (and Linux release) that knows each right we use.
const INTRODUCED: &[(AccessFs, i64, &str)] = &[
    (AccessFs::Refer, 2, "5.19"),
    (AccessFs::Truncate, 3, "6.2"),
    (AccessFs::IoctlDev, 5, "6.10"),
];

/// The running kernel's Landlock ABI version, None without Landlock.
pub fn kernel_abi() -> Option<i64> {
    // SAFETY: LANDLOCK_CREATE_RULESET_VERSION (1) with a NULL attr and size 0 only asks.
    let v = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            1u32,
        )
    };
    (v > 0).then_some(v)
}

/// The rights of `ABI n` (n <= 0: none).
pub fn rights_of(n: i64) -> BitFlags<AccessFs> {
    if n <= 0 {
        return BitFlags::empty();
    }
    AccessFs::from_all(ABI::from(n.min(i64::from(i32::MAX)) as i32))
}

/// One line per rule whose Landlock rights the kernel (ABI `abi`, None: no Landlock)
/// cannot enforce, naming the rule, the rights, and the ABI and Linux that have them.
pub fn unenforced(plan: &Plan, rules: &RuleSet, abi: Option<i64>) -> Vec<String> {
    let have = rights_of(abi.unwrap_or(0));
    let mut out: Vec<String> = Vec::new();
    for p in &plan.protections {
        let Some(origin) = p.origin else { continue };
        let lacking = p.rights & !have;
        if lacking.is_empty() {
            continue;
        }
        let label = rules
            .origin(origin)
            .map(|o| format!("{} ({}:{})", o.label, o.file, o.line))
            .unwrap_or_else(|| format!("rule {origin}"));
        let need = INTRODUCED
            .iter()
            .filter(|(r, _, _)| lacking.contains(*r))
            .map(|(_, n, linux)| format!("ABI {n}, Linux {linux}"))
            .max()
            .unwrap_or_else(|| "ABI 1, Linux 5.13".into());
        let line = format!(
            "{label}: {} under {} (this kernel's Landlock: {}; needs {need})",
            rights_text(lacking),
            p.root.display(),
            abi.map_or("none".to_string(), |n| format!("ABI {n}")),
        );
        if !out.contains(&line) {
            out.push(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enforcer::landlock::Carry;

    fn rules(yaml: &str) -> RuleSet {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.yaml");
        std::fs::write(&p, yaml).unwrap();
        varmor_core::profile::compile(p.to_str().unwrap())
            .unwrap()
            .0
    }

    #[test]
    fn truncate_on_abi_2_is_named_and_nothing_on_abi_3() {
        let rs = rules("file:\n  - deny: truncate\n    paths: [/var/tmp/varmor-none/**]\n");
        let plan = Plan::new(&rs, Carry::Rules, std::path::Path::new("/"));
        let on2 = unenforced(&plan, &rs, Some(2));
        assert_eq!(on2.len(), 1, "{on2:?}");
        assert!(
            on2[0].contains("file[0]") && on2[0].contains("truncate") && on2[0].contains("ABI 3"),
            "{on2:?}"
        );
        assert!(unenforced(&plan, &rs, Some(3)).is_empty());
        assert!(!unenforced(&plan, &rs, None).is_empty());
    }

    #[test]
    fn rights_of_grows_with_the_abi() {
        assert!(!rights_of(1).contains(AccessFs::Refer));
        assert!(rights_of(2).contains(AccessFs::Refer));
        assert!(!rights_of(2).contains(AccessFs::Truncate));
        assert!(rights_of(7).contains(AccessFs::Truncate | AccessFs::IoctlDev));
        assert!(rights_of(0).is_empty());
    }
}
