//! Where profiles live: $XDG_CONFIG_HOME/varmor/profiles.d, /etc/varmor/profiles.d,
//! /usr/share/varmor/profiles.d, then the checkout's profiles.d when run from a checkout.
//! A name with a `/` or ending in `.yaml` is a path.

use std::path::{Path, PathBuf};

use super::ProfileError;

/// Where a profile directory sits in the lookup order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    User,
    System,
    Installed,
    Checkout,
}

impl Source {
    pub fn label(self) -> &'static str {
        match self {
            Source::User => "user",
            Source::System => "/etc",
            Source::Installed => "installed",
            Source::Checkout => "shipped (checkout)",
        }
    }
}

/// The profile directories, first hit wins.
pub fn search_dirs() -> Vec<(Source, PathBuf)> {
    let mut dirs = Vec::new();
    let xdg = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")));
    if let Some(x) = xdg {
        dirs.push((Source::User, x.join("varmor/profiles.d")));
    }
    dirs.push((Source::System, PathBuf::from("/etc/varmor/profiles.d")));
    dirs.push((
        Source::Installed,
        PathBuf::from("/usr/share/varmor/profiles.d"),
    ));
    if let Some(c) = checkout_dir() {
        dirs.push((Source::Checkout, c));
    }
    dirs
}

/// The checkout's profiles.d when the running binary was built inside a checkout.
fn checkout_dir() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    exe.ancestors()
        .find(|d| d.join("Cargo.toml").is_file() && d.join("profiles.d").is_dir())
        .map(|d| d.join("profiles.d"))
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Resolves a profile name or path; `near` is the including profile's directory.
pub fn resolve(name: &str, near: Option<&Path>) -> Result<PathBuf, ProfileError> {
    if name.contains('/') || name.ends_with(".yaml") {
        let p = match near {
            Some(dir) if Path::new(name).is_relative() => dir.join(name),
            _ => PathBuf::from(name),
        };
        if p.is_file() {
            return Ok(p);
        }
        return Err(ProfileError::File {
            file: p.display().to_string(),
            msg: "no such profile file".into(),
        });
    }
    if !valid_name(name) {
        return Err(ProfileError::File {
            file: name.into(),
            msg: "not a profile name (letters, digits, `-`, `_`, `.`) nor a path".into(),
        });
    }
    let file = format!("{name}.yaml");
    let mut searched = Vec::new();
    for dir in near
        .into_iter()
        .map(Path::to_path_buf)
        .chain(search_dirs().into_iter().map(|(_, d)| d))
    {
        let p = dir.join(&file);
        if p.is_file() {
            return Ok(p);
        }
        searched.push(dir.display().to_string());
    }
    Err(ProfileError::NotFound {
        name: name.into(),
        searched: searched.join(", "),
    })
}

/// One entry of `--list`.
#[derive(Debug)]
pub struct Listed {
    pub name: String,
    pub source: Source,
    pub path: PathBuf,
    /// The description, or the error that stops the profile from loading.
    pub description: Result<String, String>,
    /// Hidden by a profile of the same name earlier in the lookup order.
    pub shadowed: bool,
}

/// Every profile found, in lookup order.
pub fn list() -> Vec<Listed> {
    let mut out: Vec<Listed> = Vec::new();
    for (source, dir) in search_dirs() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        {
            let name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_string();
            let shadowed = out.iter().any(|l| l.name == name);
            let description = super::parse_file(&path)
                .map(|pf| pf.raw.description.unwrap_or_default())
                .map_err(|e| e.to_string());
            out.push(Listed {
                name,
                source,
                path,
                description,
                shadowed,
            });
        }
    }
    out
}
