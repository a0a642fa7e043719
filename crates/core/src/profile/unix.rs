//! Unix-socket rules (`unix:`): connect / send to path sockets by glob and to abstract
//! sockets by name, with `allow:` rules that exempt sockets from every deny rule (the
//! allow-list mode: `deny: all` on `**` and `@**`, then the few sockets allowed).
//! Kernel side: bpf/unix.bpf.c; `$SSH_AUTH_SOCK` and `$XDG_RUNTIME_DIR` in a path are
//! expanded when the launcher compiles the profile (varmord only ever sees patterns).

use serde::{Deserialize, Serialize};

use super::file::Action;
use super::pattern::Pattern;
use crate::abi;

/// The variables a unix path may name; anything else after `$` is an error.
pub const VARIABLES: [&str; 2] = ["SSH_AUTH_SOCK", "XDG_RUNTIME_DIR"];

/// What a rule does: deny, audit, or allow (exempt from every deny rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnixAction {
    Deny,
    Audit,
    Allow,
}

impl UnixAction {
    /// As the path maps know it (an allow is stored with the audits, shifted).
    pub fn action(self) -> Action {
        match self {
            UnixAction::Deny => Action::Deny,
            UnixAction::Audit | UnixAction::Allow => Action::Audit,
        }
    }
}

/// Directions: bit set of abi::UNIX_CONNECT | UNIX_SEND.
pub const UNIX_ALL: u32 = abi::UNIX_CONNECT | abi::UNIX_SEND;

/// A pattern over abstract names (`@name`); re-checked when deserialised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AbstractPattern(pub Pattern);

impl TryFrom<String> for AbstractPattern {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Pattern::parse_abstract(&s).map(AbstractPattern)
    }
}
impl From<AbstractPattern> for String {
    fn from(p: AbstractPattern) -> String {
        p.0.into()
    }
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}
impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(t) => vec![t],
            OneOrMany::Many(v) => v,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUnixRule {
    #[serde(default)]
    deny: Option<OneOrMany>,
    #[serde(default)]
    audit: Option<OneOrMany>,
    #[serde(default)]
    allow: Option<OneOrMany>,
    #[serde(default)]
    paths: Option<OneOrMany>,
    #[serde(default, rename = "abstract")]
    abstract_names: Option<OneOrMany>,
    /// false: where the kernel cannot enforce the rule, say so at launch and run anyway
    /// (shipped includes such as no-host-ipc); true (the default): refuse to launch.
    #[serde(default)]
    required: Option<bool>,
}

/// A `unix:` rule after its checks (variables expanded).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawUnixRule")]
pub struct UnixRuleSpec {
    pub action: UnixAction,
    pub dirs: u32,
    pub paths: Vec<Pattern>,
    pub abstract_names: Vec<AbstractPattern>,
    pub required: bool,
}

fn parse_dirs(names: Vec<String>) -> Result<u32, String> {
    let mut bits = 0;
    for n in names {
        bits |= match n.as_str() {
            "connect" => abi::UNIX_CONNECT,
            "send" => abi::UNIX_SEND,
            "all" => UNIX_ALL,
            _ => {
                return Err(format!(
                    "unknown direction `{n}`; expected connect, send or all"
                ))
            }
        };
    }
    if bits == 0 {
        return Err("empty direction list; name connect, send or all".into());
    }
    Ok(bits)
}

/// `$SSH_AUTH_SOCK/..`-style expansion with `env` (the launcher passes its environment).
/// An unset or empty variable drops the path (there is no such socket to name); a value
/// that is not a plain absolute path is an error naming the variable.
pub fn expand(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Option<String>, String> {
    let Some(rest) = text.strip_prefix('$') else {
        return Ok(Some(text.to_string()));
    };
    let (var, tail) = match VARIABLES.iter().find(|v| rest.starts_with(*v)) {
        Some(v) => (*v, &rest[v.len()..]),
        None => {
            return Err(format!(
                "`{text}`: only ${} and ${} may be named in a unix path",
                VARIABLES[0], VARIABLES[1]
            ))
        }
    };
    if !(tail.is_empty() || tail.starts_with('/')) {
        return Err(format!("`{text}`: write `${var}` or `${var}/...`"));
    }
    let Some(val) = env(var).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let val = val.trim_end_matches('/');
    if !val.starts_with('/') || val.contains(['*', '?', '[', ']', '{', '}', '\\']) {
        return Err(format!(
            "`{text}`: ${var} is `{val}`, not a plain absolute path; set it to one or drop the entry"
        ));
    }
    Ok(Some(format!("{val}{tail}")))
}

fn from_env(var: &str) -> Option<String> {
    std::env::var(var).ok()
}

impl TryFrom<RawUnixRule> for UnixRuleSpec {
    type Error = String;
    fn try_from(r: RawUnixRule) -> Result<Self, String> {
        let (action, dirs) = match (r.deny, r.audit, r.allow) {
            (Some(d), None, None) => (UnixAction::Deny, d),
            (None, Some(a), None) => (UnixAction::Audit, a),
            (None, None, Some(a)) => (UnixAction::Allow, a),
            (None, None, None) => {
                return Err(
                    "missing `deny:`, `audit:` or `allow:` (what this rule is about)".into(),
                )
            }
            _ => return Err("give one of `deny:`, `audit:` or `allow:`; write two rules".into()),
        };
        let dirs = parse_dirs(dirs.into_vec())?;
        let mut paths = Vec::new();
        for p in r.paths.map(OneOrMany::into_vec).unwrap_or_default() {
            if let Some(p) = expand(&p, &from_env)? {
                if p.starts_with('@') {
                    return Err(format!("`{p}`: an abstract name goes under `abstract:`"));
                }
                paths.push(Pattern::parse(&p)?);
            }
        }
        let abstract_names = r
            .abstract_names
            .map(OneOrMany::into_vec)
            .unwrap_or_default()
            .into_iter()
            .map(|a| Pattern::parse_abstract(&a).map(AbstractPattern))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(UnixRuleSpec {
            action,
            dirs,
            paths,
            abstract_names,
            required: r.required.unwrap_or(true),
        })
    }
}

/// A compiled unix rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnixRule {
    pub action: UnixAction,
    pub dirs: u32,
    pub paths: Vec<Pattern>,
    pub abstract_names: Vec<AbstractPattern>,
    pub origin: u32,
    /// false: not enforcing it (a kernel without the hooks) is said, not refused.
    #[serde(default = "required_default")]
    pub required: bool,
}

fn required_default() -> bool {
    true
}

impl UnixRule {
    /// Does the rule name `socket` (a path as written, or `@name`) for direction `dir`?
    pub fn covers(&self, dir: u32, socket: &[u8]) -> bool {
        self.dirs & dir != 0
            && if socket.first() == Some(&b'@') {
                self.abstract_names.iter().any(|p| p.0.matches(socket))
            } else {
                self.paths.iter().any(|p| p.matches(socket))
            }
    }
}

/// An absolute socket name that is not its socket's own spelling, so that no pattern can
/// match it as written (bpf/unix.bpf.c's unmatchable()): a `//`, a `.` or `..` component,
/// or a way through procfs's magic links (`/proc/self/fd/N` of an O_PATH descriptor,
/// `/proc/self/cwd/NAME`, `/proc/self/root/...`, and `/dev/fd/N`, `/dev/stdin`... which
/// the host links to `/proc/self/fd`).
pub fn unmatchable(socket: &[u8]) -> bool {
    let socket = &socket[..socket.len().min(108)];
    if [&b"/proc/"[..], b"/dev/fd/", b"/dev/std"]
        .iter()
        .any(|p| socket.starts_with(p))
    {
        return true;
    }
    let at = |j: usize| socket.get(j).copied().unwrap_or(0);
    (0..socket.len()).filter(|&i| socket[i] == b'/').any(|i| {
        let (c1, c2, c3) = (at(i + 1), at(i + 2), at(i + 3));
        c1 == b'/'
            || (c1 == b'.' && (c2 == b'/' || c2 == 0))
            || (c1 == b'.' && c2 == b'.' && (c3 == b'/' || c3 == 0))
    })
}

/// The reference decision (bpf/unix.bpf.c gives the same): the origin of the first deny
/// rule covering `socket`, unless an allow rule covers it. A relative path, or an absolute
/// one that is `unmatchable`, is denied by the first rule with any path for `dir` (it
/// cannot be matched as written).
pub fn reference_deny(rules: &[UnixRule], dir: u32, socket: &[u8]) -> Option<u32> {
    let relative = !socket.starts_with(b"@") && (!socket.starts_with(b"/") || unmatchable(socket));
    if relative {
        return rules
            .iter()
            .filter(|r| r.action == UnixAction::Deny && r.dirs & dir != 0 && !r.paths.is_empty())
            .map(|r| r.origin)
            .min();
    }
    let allowed = rules
        .iter()
        .any(|r| r.action == UnixAction::Allow && r.covers(dir, socket));
    if allowed {
        return None;
    }
    rules
        .iter()
        .filter(|r| r.action == UnixAction::Deny && r.covers(dir, socket))
        .map(|r| r.origin)
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(yaml: &str) -> Vec<UnixRule> {
        crate::profile::compile_text("t", yaml).unwrap().unix
    }

    #[test]
    fn expands_only_the_two_variables() {
        let env = |v: &str| match v {
            "SSH_AUTH_SOCK" => Some("/tmp/ssh-x/agent.1".to_string()),
            "XDG_RUNTIME_DIR" => Some("/run/user/1000/".to_string()),
            _ => None,
        };
        assert_eq!(
            expand("$SSH_AUTH_SOCK", &env).unwrap().as_deref(),
            Some("/tmp/ssh-x/agent.1")
        );
        assert_eq!(
            expand("$XDG_RUNTIME_DIR/bus", &env).unwrap().as_deref(),
            Some("/run/user/1000/bus")
        );
        assert_eq!(expand("$SSH_AUTH_SOCK", &|_| None).unwrap(), None);
        assert!(expand("$HOME/x", &env)
            .unwrap_err()
            .contains("only $SSH_AUTH_SOCK"));
        assert!(expand("$XDG_RUNTIME_DIRx", &env).is_err());
        let star = |_: &str| Some("/tmp/*".to_string());
        assert!(expand("$SSH_AUTH_SOCK", &star)
            .unwrap_err()
            .contains("plain absolute"));
    }

    #[test]
    fn rejects_with_position_and_reason() {
        for (yaml, why) in [
            (
                "unix:\n  - deny: [dial]\n    paths: [/x]\n",
                "unknown direction",
            ),
            (
                "unix:\n  - deny: all\n    allow: all\n    paths: [/x]\n",
                "give one of",
            ),
            ("unix:\n  - paths: [/x]\n", "missing `deny:`"),
            ("unix:\n  - deny: all\n    abstract: [name]\n", "`@name`"),
            (
                "unix:\n  - deny: all\n    paths: [\"@x\"]\n",
                "under `abstract:`",
            ),
            ("unix:\n  - deny: all\n    path: [/x]\n", "unknown field"),
        ] {
            let e = crate::profile::parse_text(yaml, "p.yaml")
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("p.yaml:") && e.contains(why), "{yaml}: {e}");
        }
    }

    #[test]
    fn allow_exempts_from_every_deny_whatever_the_order() {
        let r = rules(
            "unix:\n  - allow: connect\n    paths: [/run/ok.sock]\n  - deny: all\n    paths: [\"**\"]\n    abstract: [\"@**\"]\n",
        );
        let c = abi::UNIX_CONNECT;
        assert_eq!(reference_deny(&r, c, b"/run/ok.sock"), None);
        assert_eq!(reference_deny(&r, abi::UNIX_SEND, b"/run/ok.sock"), Some(1));
        assert_eq!(reference_deny(&r, c, b"/run/other"), Some(1));
        assert_eq!(reference_deny(&r, c, b"@x"), Some(1));
        assert_eq!(reference_deny(&r, c, b"rel.sock"), Some(1));
        for other in [
            &b"/proc/self/fd/3"[..],
            b"/proc/self/root/run/ok.sock",
            b"/dev/fd/3",
            b"/dev/stdin",
            b"/run//ok.sock",
            b"/run/./ok.sock",
            b"/run/x/../ok.sock",
            b"/run/ok.sock/.",
        ] {
            assert!(unmatchable(other), "{other:?}");
            assert_eq!(reference_deny(&r, c, other), Some(1), "{other:?}");
        }
        for plain in [
            &b"/run/ok.sock"[..],
            b"/run/.ok",
            b"/run/..ok",
            b"/procx/s",
            b"/dev/fdx",
        ] {
            assert!(!unmatchable(plain), "{plain:?}");
        }
        let only_abstract = rules("unix:\n  - deny: all\n    abstract: [\"@dbus-*\"]\n");
        assert_eq!(reference_deny(&only_abstract, c, b"rel.sock"), None);
        assert_eq!(reference_deny(&only_abstract, c, b"@dbus-1"), Some(0));
        assert_eq!(reference_deny(&only_abstract, c, b"/dbus-1"), None);
    }
}
