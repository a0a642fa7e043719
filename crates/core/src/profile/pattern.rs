//! Path patterns: the glob syntax of profiles, checked once and classified by how the
//! kernel looks them up (exact hash, prefix trie, reversed-suffix trie, bounded glob list).
//!
//! Semantics (string globs over a normalised absolute path):
//! - `*` any run of characters except `/` (possibly empty); `?` one character except `/`;
//! - `**` any run of characters including `/` (possibly empty); at most one per pattern;
//! - anything else matches itself. A pattern without wildcards is precise: it matches
//!   exactly that path (`/etc/shadow` never matches `/etc/shadow-`).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::abi;

/// How a pattern is stored in the kernel, and so how it can be looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PatternKind {
    /// No wildcard: `/etc/shadow`.
    Exact,
    /// Literal then `**`: `/home/alice/.ssh/**`.
    Prefix,
    /// `**` then literal: `**/curl`.
    Suffix,
    /// Anything else: `/home/*/.ssh/**`, `**/id_rsa*`.
    Glob,
}

/// A validated path pattern. Serialises as its text and re-validates when deserialised,
/// so a pattern received over varmord's socket is checked exactly like one from YAML.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Pattern {
    text: String,
    kind: PatternKind,
}

impl Pattern {
    /// Parses and classifies `text`, saying what is accepted instead when it cannot.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = |why: &str| Err(format!("`{text}`: {why}"));
        if text.is_empty() {
            return bad("empty pattern; write an absolute path such as /etc/shadow or a glob such as **/curl");
        }
        if text.contains('\0') {
            return bad("contains a NUL byte");
        }
        if !(text.starts_with('/') || text.starts_with("**")) {
            return bad("a pattern is an absolute path (/etc/shadow) or starts with ** (**/curl)");
        }
        if text.len() >= abi::PATH_MAX {
            return bad(&format!("longer than {} bytes", abi::PATH_MAX - 1));
        }
        if let Some(c) = text
            .chars()
            .find(|c| matches!(c, '[' | ']' | '{' | '}' | '\\'))
        {
            return bad(&format!(
                "`{c}` is not supported; use *, ? and one ** (or several rules)"
            ));
        }
        let globstars = text.matches("**").count();
        if text.contains("***") {
            return bad("`***` is ambiguous; use `**` (any path) or `*` (one component)");
        }
        if globstars > 1 {
            return bad("two `**` in one pattern are not supported; split it into two rules or use `*` for one component");
        }
        if text.len() > 1 && text.ends_with('/') {
            return bad("ends with `/`; write `/dir/**` for everything below a directory");
        }
        if text.contains("//") {
            return bad("contains `//`; paths are matched in normal form");
        }
        for comp in text.split('/') {
            if comp == "." || comp == ".." {
                return bad("contains a `.` or `..` component; paths are matched after resolution");
            }
        }
        Self::classified(text)
    }

    /// An abstract unix-socket name pattern: `@` then the name (`@/tmp/.X11-unix/X0`,
    /// `@dbus-*`, `@**` for every name), the same wildcards as paths. Names have no
    /// normal form, so `//`, `.` and a trailing `/` are taken as written.
    pub fn parse_abstract(text: &str) -> Result<Self, String> {
        let bad = |why: &str| Err(format!("`{text}`: {why}"));
        if !text.starts_with('@') || text.len() < 2 {
            return bad("an abstract socket name is written `@name` (e.g. `@/tmp/.X11-unix/X0`, `@**` for all)");
        }
        if text.contains('\0') {
            return bad("contains a NUL byte");
        }
        if text.len() >= abi::PATH_MAX {
            return bad(&format!("longer than {} bytes", abi::PATH_MAX - 1));
        }
        if let Some(c) = text
            .chars()
            .find(|c| matches!(c, '[' | ']' | '{' | '}' | '\\'))
        {
            return bad(&format!(
                "`{c}` is not supported; use *, ? and one ** (or several rules)"
            ));
        }
        if text.contains("***") || text.matches("**").count() > 1 {
            return bad("use at most one `**` (and never `***`)");
        }
        Self::classified(text)
    }

    fn classified(text: &str) -> Result<Self, String> {
        let bad = |why: &str| Err(format!("`{text}`: {why}"));
        let globstars = text.matches("**").count();
        let stars_outside = text
            .replace("**", "")
            .chars()
            .filter(|&c| c == '*' || c == '?')
            .count();
        let kind = if globstars == 0 && stars_outside == 0 {
            PatternKind::Exact
        } else if stars_outside == 0 && text.ends_with("**") {
            PatternKind::Prefix
        } else if stars_outside == 0 && text.starts_with("**") && globstars == 1 {
            PatternKind::Suffix
        } else {
            if text.len() >= abi::GLOB_MAX {
                return bad(&format!(
                    "a pattern with wildcards inside is at most {} bytes",
                    abi::GLOB_MAX - 1
                ));
            }
            if stars_outside > 8 {
                return bad("more than 8 `*`/`?` in one pattern");
            }
            PatternKind::Glob
        };
        Ok(Pattern {
            text: text.to_string(),
            kind,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn kind(&self) -> PatternKind {
        self.kind
    }

    /// The literal the kernel keys on: the whole path (exact), the part before `**`
    /// (prefix), the part after `**` (suffix, not yet reversed), or the glob itself.
    pub fn literal(&self) -> &str {
        match self.kind {
            PatternKind::Exact | PatternKind::Glob => &self.text,
            PatternKind::Prefix => &self.text[..self.text.len() - 2],
            PatternKind::Suffix => &self.text[2..],
        }
    }

    /// vArmor-compatible pattern flags for this pattern.
    pub fn flags(&self) -> u32 {
        match self.kind {
            PatternKind::Exact => abi::PRECISE | abi::PREFIX,
            PatternKind::Prefix => abi::GREEDY | abi::PREFIX,
            PatternKind::Suffix => abi::GREEDY | abi::SUFFIX,
            PatternKind::Glob => abi::GLOB,
        }
    }

    /// Does this pattern match `path` (a normalised absolute path)?
    pub fn matches(&self, path: &[u8]) -> bool {
        match self.kind {
            PatternKind::Exact => path == self.text.as_bytes(),
            PatternKind::Prefix => path.starts_with(self.literal().as_bytes()),
            PatternKind::Suffix => path.ends_with(self.literal().as_bytes()),
            PatternKind::Glob => glob_match(self.text.as_bytes(), path),
        }
    }
}

impl TryFrom<String> for Pattern {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Pattern::parse(&s)
    }
}

impl From<Pattern> for String {
    fn from(p: Pattern) -> String {
        p.text
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Glob matching with `*`/`?` confined to one component and one `**` crossing them.
/// The pattern is split at `**`; each half is matched with component-bounded stars.
pub fn glob_match(pat: &[u8], path: &[u8]) -> bool {
    match find_globstar(pat) {
        None => seg_match(pat, path),
        Some(i) => {
            let (head, tail) = (&pat[..i], &pat[i + 2..]);
            // head matches path[..a], `**` takes path[a..b], tail matches path[b..]:
            // it suffices that the shortest head match ends before the longest tail match starts.
            let first_a = (0..=path.len()).find(|&a| seg_match(head, &path[..a]));
            let last_b = (0..=path.len())
                .rev()
                .find(|&b| seg_match(tail, &path[b..]));
            matches!((first_a, last_b), (Some(a), Some(b)) if a <= b)
        }
    }
}

fn find_globstar(pat: &[u8]) -> Option<usize> {
    pat.windows(2).position(|w| w == b"**")
}

/// Anchored match where `*` never crosses `/` (iterative, one backtrack point).
fn seg_match(pat: &[u8], s: &[u8]) -> bool {
    let (mut p, mut i) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        if p < pat.len() && (pat[p] == s[i] || (pat[p] == b'?' && s[i] != b'/')) {
            p += 1;
            i += 1;
        } else if p < pat.len() && pat[p] == b'*' {
            star = Some((p, i));
            p += 1;
        } else if let Some((sp, si)) = star {
            // A `*` may only swallow non-slash characters.
            if s[si] == b'/' {
                return false;
            }
            p = sp + 1;
            i = si + 1;
            star = Some((sp, si + 1));
        } else {
            return false;
        }
    }
    pat[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        Pattern::parse(p).unwrap().matches(s.as_bytes())
    }

    #[test]
    fn classifies() {
        let k = |p: &str| Pattern::parse(p).unwrap().kind();
        assert_eq!(k("/etc/shadow"), PatternKind::Exact);
        assert_eq!(k("/home/alice/.ssh/**"), PatternKind::Prefix);
        assert_eq!(k("**/curl"), PatternKind::Suffix);
        assert_eq!(k("/home/*/.ssh/**"), PatternKind::Glob);
        assert_eq!(k("**/id_rsa*"), PatternKind::Glob);
        assert_eq!(k("/etc/ssh/ssh_host_*"), PatternKind::Glob);
        assert_eq!(Pattern::parse("**/curl").unwrap().flags(), 0xa);
        assert_eq!(Pattern::parse("/etc/hostname").unwrap().flags(), 0x5);
    }

    #[test]
    fn precise_is_exact() {
        assert!(m("/etc/shadow", "/etc/shadow"));
        assert!(!m("/etc/shadow", "/etc/shadow-"));
        assert!(!m("/etc/shadow", "/etc/shadow/x"));
        assert!(!m("/etc/shadow", "/etc/shado"));
    }

    #[test]
    fn globs() {
        assert!(m("**/curl", "/usr/bin/curl"));
        assert!(m("**/curl", "/tmp/curl"));
        assert!(!m("**/curl", "/usr/bin/mycurl"));
        assert!(m("/home/*/.ssh/**", "/home/bob/.ssh/id_ed25519"));
        assert!(!m("/home/*/.ssh/**", "/home/bob/x/.ssh/id"));
        assert!(m("**/id_rsa*", "/root/.ssh/id_rsa.pub"));
        assert!(!m("**/id_rsa*", "/root/.ssh/id_rsa/x"));
        assert!(m("/var/log/*.log", "/var/log/syslog.log"));
        assert!(!m("/var/log/*.log", "/var/log/a/b.log"));
        assert!(m("/tmp/?", "/tmp/a"));
        assert!(!m("/tmp/?", "/tmp/ab"));
        assert!(m("/a/**/b*", "/a/x/y/bz"));
        assert!(!m("/a/**/b*", "/a/x/y/bz/q"));
    }

    #[test]
    fn rejects_with_reason() {
        for (p, why) in [
            ("/etc/**/x/**", "two `**`"),
            ("etc/passwd", "absolute path"),
            ("/etc/", "ends with `/`"),
            ("/etc/../shadow", "`..`"),
            ("/etc//shadow", "`//`"),
            ("/etc/[ab]", "not supported"),
            ("", "empty"),
            ("/a/***", "ambiguous"),
        ] {
            let e = Pattern::parse(p).unwrap_err();
            assert!(e.contains(why), "{p}: {e}");
        }
        assert!(Pattern::parse(&format!("/{}", "a".repeat(300))).is_err());
    }
}
