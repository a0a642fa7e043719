//! Exec rules (`exec:`): binaries that may not be executed, by path pattern.
//! Kernel side: bpf/exec.bpf.c (bprm_check_security + mmap_file), fanotify FAN_OPEN_EXEC_PERM (compat).
//!
//! A name rule follows the file, not the spelling: symlinks, relative paths and `#!`
//! interpreters resolve to the real path before matching, and `ld.so BINARY` is caught
//! as a loader opening a denied binary. A copy under a *different* name is a different
//! file: name rules cannot promise anything about it (see varmor-profile(5)).

use serde::Deserialize;

use super::file::{action_of, Action};
use super::pattern::Pattern;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExecRule {
    #[serde(default)]
    deny: Option<Vec<Pattern>>,
    #[serde(default)]
    audit: Option<Vec<Pattern>>,
}

/// An `exec:` rule: `- deny: ["**/curl", /usr/bin/wget]` or `- audit: [...]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawExecRule")]
pub struct ExecRuleSpec {
    pub action: Action,
    pub paths: Vec<Pattern>,
}

impl TryFrom<RawExecRule> for ExecRuleSpec {
    type Error = String;
    fn try_from(r: RawExecRule) -> Result<Self, String> {
        let (action, paths) = action_of(r.deny, r.audit)?;
        if paths.is_empty() {
            return Err("empty list; name at least one binary pattern such as **/curl".into());
        }
        Ok(ExecRuleSpec { action, paths })
    }
}
