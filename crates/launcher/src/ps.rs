//! `varmor-run --ps`: the caller's live sandboxes (root: everyone's) as varmord knows them.

use std::path::Path;

use varmor_core::cli::Format;
use varmor_core::proto::SandboxInfo;

fn uptime(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

fn user(uid: u32) -> String {
    nix::unistd::User::from_uid(uid.into())
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| uid.to_string())
}

/// The table (or JSON array) for `list`, oldest sandbox first.
pub fn render(mut list: Vec<SandboxInfo>, format: Format) -> String {
    list.sort_by_key(|s| std::cmp::Reverse(s.uptime_secs));
    if format == Format::Json {
        return serde_json::to_string_pretty(&list).unwrap_or_default() + "\n";
    }
    if list.is_empty() {
        return "no live sandboxes\n".into();
    }
    let rows: Vec<[String; 7]> = list
        .iter()
        .map(|s| {
            [
                s.id.to_string(),
                s.pid.to_string(),
                user(s.uid),
                s.profile.clone(),
                s.backend.clone(),
                uptime(s.uptime_secs),
                s.denials.to_string(),
            ]
        })
        .collect();
    let head = [
        "ID", "PID", "USER", "PROFILE", "BACKEND", "UPTIME", "DENIALS",
    ];
    let width: Vec<usize> = (0..head.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].len())
                .chain([head[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[&str]| {
        let mut l: Vec<String> = cells
            .iter()
            .zip(&width)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        if let Some(last) = l.last_mut() {
            *last = last.trim_end().to_string();
        }
        l.join("  ") + "\n"
    };
    let mut out = line(&head);
    for r in &rows {
        out += &line(&r.iter().map(String::as_str).collect::<Vec<_>>());
    }
    out
}

/// Asks varmord and renders the answer.
pub fn ps(socket: &Path, format: Format) -> Result<String, super::client::ClientError> {
    super::client::list(socket).map(|l| render(l, format))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_aligned_and_json_is_parseable() {
        let s = |id, up| SandboxInfo {
            id,
            pid: 4242,
            uid: 0,
            mnt_ns: 4026532000,
            profile: "nocurl".into(),
            backend: "compat".into(),
            uptime_secs: up,
            denials: 3,
        };
        let t = render(vec![s(2, 5), s(1, 3725)], Format::Text);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("ID  PID   USER"), "{t}");
        assert!(
            lines[1].starts_with("1 ") && lines[1].contains("1h02m"),
            "{t}"
        );
        assert!(lines[2].contains("5s") && lines[2].ends_with('3'), "{t}");
        let j: Vec<SandboxInfo> =
            serde_json::from_str(&render(vec![s(1, 1)], Format::Json)).unwrap();
        assert_eq!(j.len(), 1);
        assert_eq!(render(vec![], Format::Text), "no live sandboxes\n");
    }
}
