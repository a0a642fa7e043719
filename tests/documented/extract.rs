//! The commands the documentation shows, read from the text itself (`--help`, README.md's
//! console/sh blocks, the man pages), so a removed mode or a changed example is noticed.

/// One documented command (or an interactive shell with the commands typed into it).
#[derive(Debug, Clone)]
pub struct Example {
    /// Where it is written: `README.md:123`, `varmor-run --help`, ...
    pub source: String,
    pub cmd: String,
    /// Shown at a `#` prompt (root) rather than `$`.
    pub root: bool,
    /// The commands typed into `cmd` when it starts an interactive shell (`-- bash`).
    pub typed: Vec<String>,
    /// The output lines the documentation shows for it (and for `typed`).
    pub shown: Vec<String>,
}

fn ex(source: String, cmd: &str, root: bool) -> Example {
    Example {
        source,
        cmd: cmd.to_string(),
        root,
        typed: Vec::new(),
        shown: Vec::new(),
    }
}

/// The `Examples:` section of a `--help` text, up to its first empty line.
pub fn help_section(help: &str) -> String {
    let start = help
        .find("Examples:\n")
        .expect("--help has an Examples: section");
    let rest = &help[start..];
    let end = rest.find("\n\n").unwrap_or(rest.len());
    rest[..end].to_string()
}

/// The commands of a `--help` Examples section: each indented line up to its description
/// (two spaces or more).
pub fn help_examples(help: &str, source: &str) -> Vec<Example> {
    help_section(help)
        .lines()
        .skip(1)
        .map(|l| {
            l.trim_start()
                .split("  ")
                .next()
                .unwrap()
                .trim()
                .to_string()
        })
        .filter(|c| !c.is_empty())
        .map(|c| ex(source.to_string(), &c, false))
        .collect()
}

/// roff text as it reads (the escapes the man pages use).
pub fn unroff(s: &str) -> String {
    s.replace("\\-", "-")
        .replace("\\*(Aq", "'")
        .replace("\\(em", "—")
}

/// The Examples text of a generated man page (the same text as --help's).
pub fn man_help_section(roff: &str) -> String {
    let start = roff
        .find(".SH \"EXAMPLES AND EXIT STATUS\"\n")
        .expect("man page has EXAMPLES AND EXIT STATUS");
    help_section(&unroff(&roff[start..]))
}

/// Cuts a trailing comment (`   # ...`, `    (...)`: three spaces or more, or `  #`).
fn strip_comment(l: &str) -> &str {
    let cut = [l.find("   "), l.find("  #")].into_iter().flatten().min();
    cut.map_or(l, |i| &l[..i]).trim_end()
}

/// Sessions in a console block: `$ `/`# ` lines are commands, the rest their output; a
/// command starting an interactive shell takes the following commands as typed input.
fn console(lines: &[String], first_line: usize, file: &str) -> Vec<Example> {
    let mut out: Vec<Example> = Vec::new();
    let mut shell_open = false;
    for (i, l) in lines.iter().enumerate() {
        let prompt = l.strip_prefix("$ ").map(|c| (c, false));
        let prompt = prompt.or_else(|| l.strip_prefix("# ").map(|c| (c, true)));
        match (prompt, out.last_mut()) {
            (Some((c, _)), Some(last)) if shell_open => last.typed.push(strip_comment(c).into()),
            (Some((c, root)), _) => {
                let c = strip_comment(c);
                shell_open = c.ends_with("-- bash");
                out.push(ex(format!("{file}:{}", first_line + i), c, root));
            }
            (None, Some(last)) => last.shown.push(l.clone()),
            (None, None) => {}
        }
    }
    out
}

/// Every command in README.md's ```console and ```sh blocks.
pub fn markdown(md: &str, file: &str) -> Vec<Example> {
    let mut out = Vec::new();
    let mut block: Option<(String, usize, Vec<String>)> = None;
    for (n, l) in md.lines().enumerate() {
        match block.take() {
            None => {
                if let Some(lang) = l.strip_prefix("```") {
                    block = Some((lang.trim().to_string(), n + 2, Vec::new()));
                }
            }
            Some((lang, start, lines)) if l.starts_with("```") => match lang.as_str() {
                "console" => out.extend(console(&lines, start, file)),
                "sh" => out.extend(lines.iter().enumerate().filter_map(|(i, l)| {
                    let c = strip_comment(l.trim());
                    (!c.is_empty() && !c.starts_with('#'))
                        .then(|| ex(format!("{file}:{}", start + i), c, false))
                })),
                _ => {}
            },
            Some((lang, start, mut lines)) => {
                lines.push(l.to_string());
                block = Some((lang, start, lines));
            }
        }
    }
    out
}

/// Every session in a hand-written man page's `.nf` blocks that begin with a prompt.
pub fn roff(text: &str, file: &str) -> Vec<Example> {
    let mut out = Vec::new();
    let mut block: Option<(usize, Vec<String>)> = None;
    for (n, l) in text.lines().enumerate() {
        match (l, block.as_mut()) {
            (".nf", None) => block = Some((n + 2, Vec::new())),
            (".fi", Some(_)) => {
                let (start, lines) = block.take().unwrap();
                // (`# ` opens YAML comments in these pages, never a root prompt.)
                if lines.first().is_some_and(|f| f.starts_with("$ ")) {
                    out.extend(console(&lines, start, file));
                }
            }
            (_, Some((_, lines))) => lines.push(unroff(l)),
            _ => {}
        }
    }
    out
}

/// The `.nf` block that follows the first line mentioning `name` (a file the page shows).
pub fn roff_file(text: &str, name: &str) -> String {
    let at = text
        .find(name)
        .unwrap_or_else(|| panic!("{name} not in the page"));
    let rest = &text[at..];
    let start = rest.find(".nf\n").expect(".nf after it") + 4;
    let end = rest[start..].find(".fi\n").expect(".fi") + start;
    unroff(&rest[start..end])
}

/// Output as the documentation writes it: a shell reading commands from a pipe says
/// `bash: line 1: ...` where the interactive one the page shows says `bash: ...`.
pub fn as_shown(out: &str) -> String {
    out.lines()
        .map(|l| match l.strip_prefix("bash: line ") {
            Some(r) => format!("bash: {}", r.split_once(": ").map_or(r, |x| x.1)),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// What of a shown output line must appear in the real output: up to ` by PID` (pids
/// and paths differ) or to the first column gap, trimmed; None for `...`.
pub fn must_appear(shown: &str) -> Option<String> {
    let s = shown.trim();
    let s = s.split(" by ").next().unwrap();
    let s = s.split("  ").next().unwrap().trim();
    (!s.is_empty() && s != "...").then(|| s.to_string())
}
