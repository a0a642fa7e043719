//! A .desktop file (freedesktop Desktop Entry) kept line for line, so an override changes
//! only the lines it means to and every comment, translation and unknown key survives;
//! plus the Exec= quoting rules. (The crates.io parsers either do not write files back or
//! normalise them, hence this small one.)

/// One line: its text as read, and what it is.
#[derive(Debug, Clone)]
struct Line {
    raw: String,
    /// Index into `groups` of the group the line is in (None before the first header).
    group: Option<usize>,
    /// For `Key=Value` lines: the key (with any `[locale]`) and where the value starts.
    entry: Option<(String, usize)>,
}

/// A parsed .desktop file.
#[derive(Debug, Clone)]
pub struct DesktopFile {
    lines: Vec<Line>,
    groups: Vec<String>,
}

/// `file:line: msg`.
fn at(shown: &str, n: usize, msg: &str) -> String {
    format!("{shown}:{n}: {msg}")
}

impl DesktopFile {
    /// Parses `text`; `shown` names the file in errors.
    pub fn parse(text: &str, shown: &str) -> Result<DesktopFile, String> {
        let mut f = DesktopFile {
            lines: Vec::new(),
            groups: Vec::new(),
        };
        for (i, raw) in text.lines().enumerate() {
            let n = i + 1;
            let t = raw.trim();
            let group = f.groups.len().checked_sub(1);
            let mut entry = None;
            if t.is_empty() || t.starts_with('#') {
            } else if let Some(name) = t.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
                if name.is_empty() || name.contains(['[', ']']) || name.contains(char::is_control) {
                    return Err(at(shown, n, "malformed group header"));
                }
                if f.groups.iter().any(|g| g == name) {
                    return Err(at(shown, n, &format!("group [{name}] appears twice")));
                }
                if f.groups.is_empty() && name != "Desktop Entry" {
                    return Err(at(shown, n, "the first group must be [Desktop Entry]"));
                }
                f.groups.push(name.to_string());
            } else if let Some(eq) = raw.find('=') {
                let key = raw[..eq].trim();
                let base = key.split('[').next().unwrap_or_default();
                if base.is_empty() || !base.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                    return Err(at(shown, n, &format!("`{key}` is not a valid key")));
                }
                let Some(g) = group else {
                    return Err(at(shown, n, "key before the [Desktop Entry] group"));
                };
                if f.lines
                    .iter()
                    .any(|l| l.group == Some(g) && l.entry.as_ref().is_some_and(|(k, _)| k == key))
                {
                    return Err(at(
                        shown,
                        n,
                        &format!("key `{key}` appears twice in its group"),
                    ));
                }
                let value_at = eq + 1 + (raw[eq + 1..].len() - raw[eq + 1..].trim_start().len());
                entry = Some((key.to_string(), value_at));
            } else {
                return Err(at(
                    shown,
                    n,
                    "neither a [group], a Key=Value nor a # comment",
                ));
            }
            f.lines.push(Line {
                raw: raw.to_string(),
                group: f.groups.len().checked_sub(1),
                entry,
            });
        }
        if f.groups.is_empty() {
            return Err(format!("{shown}: no [Desktop Entry] group"));
        }
        Ok(f)
    }

    /// The raw (still escaped) value of `key` in `group`.
    pub fn get(&self, group: &str, key: &str) -> Option<&str> {
        let g = self.groups.iter().position(|x| x == group)?;
        self.lines.iter().find_map(|l| match &l.entry {
            Some((k, v)) if l.group == Some(g) && k == key => Some(&l.raw[*v..]),
            _ => None,
        })
    }

    /// Replaces the value of every `key` (in any group) for which `f(group, line number,
    /// raw value)` returns a new raw value; counts the replacements.
    pub fn rewrite<F>(&mut self, key: &str, mut f: F) -> Result<usize, String>
    where
        F: FnMut(&str, usize, &str) -> Result<Option<String>, String>,
    {
        let mut n = 0;
        for (i, l) in self.lines.iter_mut().enumerate() {
            let (Some((k, v)), Some(g)) = (&l.entry, l.group) else {
                continue;
            };
            if k != key {
                continue;
            }
            if let Some(new) = f(&self.groups[g], i + 1, &l.raw[*v..])? {
                l.raw = format!("{}{new}", &l.raw[..*v]);
                n += 1;
            }
        }
        Ok(n)
    }

    /// Adds `key=value` (raw) to the end of `group`'s entries.
    pub fn insert(&mut self, group: &str, key: &str, value: &str) {
        let Some(g) = self.groups.iter().position(|x| x == group) else {
            return;
        };
        let pos = self
            .lines
            .iter()
            .rposition(|l| {
                l.group == Some(g) && (l.entry.is_some() || l.raw.trim().starts_with('['))
            })
            .map_or(self.lines.len(), |p| p + 1);
        let line = Line {
            raw: format!("{key}={value}"),
            group: Some(g),
            entry: Some((key.to_string(), key.len() + 1)),
        };
        self.lines.insert(pos, line);
    }

    /// Puts a `# text` comment line at the very top.
    pub fn prepend_comment(&mut self, text: &str) {
        let one: String = text.chars().filter(|c| !c.is_control()).collect();
        let line = Line {
            raw: format!("# {one}"),
            group: None,
            entry: None,
        };
        self.lines.insert(0, line);
    }

    /// The file's text, one `\n` after each line.
    pub fn text(&self) -> String {
        self.lines.iter().map(|l| l.raw.clone() + "\n").collect()
    }
}

/// Characters that make an Exec argument need double quotes (the spec's reserved set).
const RESERVED: &str = " \t\n\"'\\><~|&;$*?#()`";

/// A string value's escapes undone: `\s \n \t \r \\` (others kept as they are).
pub fn unescape(v: &str) -> String {
    let mut out = String::new();
    let mut it = v.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('s') => out.push(' '),
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('\\') => out.push('\\'),
            Some(o) => {
                out.push('\\');
                out.push(o);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// The arguments of a raw Exec value (field codes left in place).
pub fn exec_args(raw: &str) -> Result<Vec<String>, String> {
    let s = unescape(raw);
    let mut args = Vec::new();
    let mut it = s.chars().peekable();
    loop {
        while it.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
        let Some(first) = it.next() else {
            break;
        };
        let mut arg = String::new();
        if first == '"' {
            loop {
                match it.next() {
                    None => return Err("unterminated double quote".into()),
                    Some('"') => break,
                    Some('\\') => arg.push(it.next().ok_or("trailing backslash")?),
                    Some(c) => arg.push(c),
                }
            }
        } else {
            arg.push(first);
            while let Some(c) = it.next_if(|c| *c != ' ' && *c != '\t') {
                arg.push(c);
            }
        }
        args.push(arg);
    }
    Ok(args)
}

/// `arg` as one literal Exec argument, escaped for the file (`%` doubled, quoted when it
/// holds a reserved character, then `\` escaped again at the string level).
pub fn exec_quote(arg: &str) -> String {
    let arg = arg.replace('%', "%%");
    let quoted = if !arg.is_empty() && !arg.contains(|c| RESERVED.contains(c)) {
        arg
    } else {
        let mut q = String::from("\"");
        for c in arg.chars() {
            if matches!(c, '"' | '`' | '$' | '\\') {
                q.push('\\');
            }
            q.push(c);
        }
        q + "\""
    };
    escape(&quoted)
}

/// `s` as a string value: `\`, newline, tab and carriage return escaped.
pub fn escape(s: &str) -> String {
    s.replace('\\', r"\\")
        .replace('\n', r"\n")
        .replace('\t', r"\t")
        .replace('\r', r"\r")
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str =
        "# c\n[Desktop Entry]\nName=X\nExec = x %u\n\n[Desktop Action new]\nExec=x --new\n";

    #[test]
    fn round_trip_and_rewrite() {
        let mut f = DesktopFile::parse(T, "t").unwrap();
        assert_eq!(f.text(), T);
        assert_eq!(f.get("Desktop Entry", "Exec"), Some("x %u"));
        let n = f
            .rewrite("Exec", |_, _, v| Ok(Some(format!("w -- {v}"))))
            .unwrap();
        assert_eq!(n, 2);
        f.insert("Desktop Entry", "X-K", "v");
        assert!(f
            .text()
            .contains("Exec = w -- x %u\nX-K=v\n\n[Desktop Action new]\nExec=w -- x --new"));
    }

    #[test]
    fn errors_name_the_line() {
        let e = DesktopFile::parse("[Desktop Entry]\nName=a\nName=b\n", "f.desktop").unwrap_err();
        assert!(e.starts_with("f.desktop:3:"), "{e}");
        assert!(DesktopFile::parse("Name=a\n", "f").is_err());
        assert!(DesktopFile::parse("[Other]\n", "f").is_err());
    }

    #[test]
    fn exec_quoting() {
        assert_eq!(
            exec_args(r#"a "b c" "d\\$e" %u"#).unwrap(),
            ["a", "b c", "d$e", "%u"]
        );
        for arg in [
            "plain",
            "with space",
            "q\"uote",
            "dollar$",
            r"back\slash",
            "50%",
        ] {
            let q = exec_quote(arg);
            assert_eq!(exec_args(&q).unwrap(), [arg.replace('%', "%%")], "{q}");
        }
        assert!(exec_args("\"open").is_err());
    }
}
