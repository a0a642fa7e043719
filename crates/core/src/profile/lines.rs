//! Line numbers for rules in block-style YAML, for denial lines and `--check` output.
//! (Parse errors get exact positions from the YAML parser itself; this only labels rules
//! that parsed fine.)

/// The 1-based line of each item of the top-level sequence `section:`.
/// Flow-style sequences (`file: [...]`) give the section's own line for every item.
pub fn item_lines(text: &str, section: &str) -> Vec<u32> {
    let header = format!("{section}:");
    let mut out = Vec::new();
    let mut inside = false;
    let mut item_indent: Option<usize> = None;
    for (n, line) in text.lines().enumerate() {
        let lineno = n as u32 + 1;
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = line.len() - trimmed.len();
        let is_item = trimmed.starts_with("- ") || trimmed == "-";
        if indent == 0 && !(inside && is_item) {
            inside = trimmed.starts_with(&header);
            if inside && trimmed[header.len()..].trim_start().starts_with('[') {
                return vec![lineno; 4096];
            }
            item_indent = None;
            continue;
        }
        if inside && is_item {
            match item_indent {
                None => {
                    item_indent = Some(indent);
                    out.push(lineno);
                }
                Some(i) if i == indent => out.push(lineno),
                _ => {}
            }
        }
    }
    out
}

/// The first line on which `value` appears as a YAML scalar, or 1.
pub fn find_value_line(text: &str, value: &str) -> usize {
    text.lines()
        .position(|l| l.split('#').next().is_some_and(|code| code.contains(value)))
        .map_or(1, |n| n + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn finds_items() {
        let t = "description: x\nfile:\n  # c\n  - deny: read\n    paths: [/a]\n  - deny: write\n    paths:\n      - /b\nexec:\n- deny: ['**/curl']\n";
        assert_eq!(item_lines(t, "file"), vec![4, 6]);
        assert_eq!(item_lines(t, "exec"), vec![10]);
        assert_eq!(find_value_line(t, "**/curl"), 10);
    }
}
