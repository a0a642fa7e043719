//! `varmor-run --desktop install|remove|list`: per-user .desktop overrides that start an
//! application confined (like firecfg, without root).
//!
//! `install APP` copies APP.desktop from $XDG_DATA_DIRS into $XDG_DATA_HOME/applications,
//! where it shadows the system file, with every `Exec=` prefixed by
//! `varmor-run --profile P --` and the key `X-Varmor-Profile=P` that marks it as ours.
//! Everything else (Name, Icon, translations, TryExec, comments) is kept line for line.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::desktop_entry as entry;
use super::side_error::DesktopError;

use entry::{exec_args, exec_quote, DesktopFile};
use varmor_core::cli::DesktopCmd;
use varmor_core::profile::{compile, lookup};

/// The key that marks an override as written by varmor-run; its value is the profile.
pub const MARKER: &str = "X-Varmor-Profile";
const MAIN: &str = "Desktop Entry";
/// Largest .desktop file read (bytes).
const MAX_FILE: u64 = 1 << 20;

/// Carries out `cmd`; returns what to print.
pub fn desktop(cmd: &DesktopCmd, profile: Option<&str>) -> Result<String, DesktopError> {
    match cmd {
        DesktopCmd::Install { app } => install(app, profile),
        DesktopCmd::Remove { app } => remove(app),
        DesktopCmd::List => list(),
    }
}

/// $XDG_DATA_HOME, else ~/.local/share (relative values are ignored, as the spec says).
fn data_home() -> Result<PathBuf, DesktopError> {
    let abs = |v: std::ffi::OsString| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
    if let Some(p) = std::env::var_os("XDG_DATA_HOME").and_then(abs) {
        return Ok(p);
    }
    std::env::var_os("HOME")
        .and_then(abs)
        .map(|h| h.join(".local/share"))
        .ok_or(DesktopError::NoDataHome)
}

/// $XDG_DATA_DIRS, else /usr/local/share:/usr/share.
fn data_dirs() -> Vec<PathBuf> {
    let v = std::env::var("XDG_DATA_DIRS")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "/usr/local/share:/usr/share".into());
    v.split(':')
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .collect()
}

/// APP as a desktop file id without `.desktop`.
fn app_id(app: &str) -> Result<&str, DesktopError> {
    let id = app.strip_suffix(".desktop").unwrap_or(app);
    if id.is_empty() || id.starts_with('.') || id.contains('/') || id.contains(char::is_control) {
        return Err(DesktopError::NotAnApp(app.to_string()));
    }
    Ok(id)
}

fn read(path: &Path) -> Result<DesktopFile, DesktopError> {
    let shown = path.display().to_string();
    let io = |source| DesktopError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.len() > MAX_FILE {
        return Err(DesktopError::TooLarge {
            path: path.to_path_buf(),
            max: MAX_FILE,
        });
    }
    let text = std::fs::read_to_string(path).map_err(io)?;
    DesktopFile::parse(&text, &shown).map_err(DesktopError::Parse)
}

/// The profile of an override we wrote, None for anybody else's file.
fn ours(path: &Path) -> Option<String> {
    let f = read(path).ok()?;
    f.get(MAIN, MARKER).map(entry::unescape)
}

fn user_file(id: &str) -> Result<PathBuf, DesktopError> {
    Ok(data_home()?
        .join("applications")
        .join(format!("{id}.desktop")))
}

/// The profile to use: the one given, else one named like the app, else the first one
/// (in lookup order) whose `wraps:` lists the app.
fn choose_profile(id: &str, given: Option<&str>) -> Result<String, DesktopError> {
    if let Some(p) = given {
        return Ok(p.to_string());
    }
    if lookup::resolve(id, None).is_ok() {
        return Ok(id.to_string());
    }
    for l in lookup::list().into_iter().filter(|l| !l.shadowed) {
        let wraps = varmor_core::profile::parse_file(&l.path).map(|pf| pf.raw.wraps);
        if wraps.is_ok_and(|w| w.iter().any(|c| c == id)) {
            return Ok(l.name);
        }
    }
    Err(DesktopError::NoProfile(id.to_string()))
}

/// Where the system's `id.desktop` is, or an error naming where it was looked for.
fn find_source(id: &str, home: &Path) -> Result<PathBuf, DesktopError> {
    let dirs: Vec<PathBuf> = data_dirs()
        .into_iter()
        .map(|d| d.join("applications"))
        .filter(|d| d != &home.join("applications"))
        .collect();
    let file = format!("{id}.desktop");
    if let Some(p) = dirs
        .iter()
        .map(|d| d.join(&file))
        .find(|p| p.is_file() && ours(p).is_none())
    {
        return Ok(p);
    }
    let mut near: Vec<String> = dirs
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".desktop").map(str::to_string))
        .filter(|n| n.contains(id))
        .collect();
    near.sort();
    near.dedup();
    let hint = match near.len() {
        0 => String::new(),
        _ => format!("; did you mean {}?", near[..near.len().min(5)].join(", ")),
    };
    let shown: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    Err(DesktopError::NoSource {
        file,
        dirs: shown.join(", "),
        hint,
    })
}

/// `Exec=` value `raw` prefixed with `prefix`, unless varmor-run already starts it.
fn wrap_exec(
    prefix: &str,
    prog: &str,
    shown: &str,
    line: usize,
    raw: &str,
) -> Result<Option<String>, String> {
    let args = exec_args(raw).map_err(|e| format!("{shown}:{line}: Exec: {e}"))?;
    let Some(first) = args.first() else {
        return Err(format!("{shown}:{line}: empty Exec="));
    };
    let base = |s: &str| s.rsplit('/').next().unwrap_or_default().to_string();
    if first == prog || base(first) == "varmor-run" {
        return Ok(None);
    }
    Ok(Some(format!("{prefix} {raw}")))
}

fn install(app: &str, profile: Option<&str>) -> Result<String, DesktopError> {
    let id = app_id(app)?;
    let home = data_home()?;
    let target = user_file(id)?;
    if target.exists() && ours(&target).is_none() {
        return Err(DesktopError::Foreign {
            path: target,
            marker: MARKER,
        });
    }
    let source = find_source(id, &home)?;
    let name = choose_profile(id, profile)?;
    let (_, top) = compile(&name)?;
    // A path is made absolute: the desktop runs Exec= from a directory of its choosing.
    let profile = if name.contains('/') || name.ends_with(".yaml") {
        let p = top.path.canonicalize().unwrap_or(top.path);
        p.display().to_string()
    } else {
        name
    };
    let shown = source.display().to_string();
    let mut f = read(&source)?;
    if f.get(MAIN, "Exec").is_none() {
        return Err(DesktopError::Parse(format!(
            "{shown}: [{MAIN}] has no Exec= to wrap"
        )));
    }
    let prog = super::shell::program();
    let prefix = format!(
        "{} --profile {} --",
        exec_quote(&prog),
        exec_quote(&profile)
    );
    let wrapped = f
        .rewrite("Exec", |_, line, raw| {
            wrap_exec(&prefix, &prog, &shown, line, raw)
        })
        .map_err(DesktopError::Parse)?;
    // D-Bus activation would start the app without Exec=, unconfined.
    f.rewrite("DBusActivatable", |g, _, v| {
        Ok((g == MAIN && v.trim() == "true").then(|| "false".to_string()))
    })
    .map_err(DesktopError::Parse)?;
    f.insert(MAIN, MARKER, &entry::escape(&profile));
    f.prepend_comment(&format!(
        "Written by varmor-run --desktop install {id} from {shown}: starts it confined by profile {profile}. Undo: varmor-run --desktop remove {id}"
    ));
    let dir = home.join("applications");
    std::fs::create_dir_all(&dir).map_err(|source| DesktopError::Io {
        path: dir.clone(),
        source,
    })?;
    let werr = |source: std::io::Error| DesktopError::Io {
        path: target.clone(),
        source,
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".varmor-")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map_err(werr)?;
    tmp.write_all(f.text().as_bytes()).map_err(werr)?;
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(werr)?;
    }
    tmp.as_file().sync_all().map_err(werr)?;
    tmp.persist(&target).map_err(|e| werr(e.error))?;
    Ok(format!(
        "installed {} (profile {profile}, from {shown}; {wrapped} Exec= line{} wrapped)\n",
        target.display(),
        if wrapped == 1 { "" } else { "s" }
    ))
}

fn remove(app: &str) -> Result<String, DesktopError> {
    let id = app_id(app)?;
    let target = user_file(id)?;
    if !target.exists() {
        return Err(DesktopError::NoOverride(target));
    }
    let Some(profile) = ours(&target) else {
        return Err(DesktopError::NotOurs {
            path: target,
            marker: MARKER,
        });
    };
    std::fs::remove_file(&target).map_err(|source| DesktopError::Io {
        path: target.clone(),
        source,
    })?;
    Ok(format!(
        "removed {} (profile {profile})\n",
        target.display()
    ))
}

fn list() -> Result<String, DesktopError> {
    let dir = data_home()?.join("applications");
    let mut rows: Vec<(String, String, String)> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter_map(|p| {
                let id = p
                    .file_name()?
                    .to_str()?
                    .strip_suffix(".desktop")?
                    .to_string();
                let profile = ours(&p)?;
                Some((id, profile, p.display().to_string()))
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    if rows.is_empty() {
        return Ok(format!(
            "no varmor-run desktop overrides in {}\n",
            dir.display()
        ));
    }
    rows.sort();
    let mut s = format!("{:<24} {:<20} PATH\n", "APP", "PROFILE");
    for (id, profile, path) in rows {
        s += &format!("{id:<24} {profile:<20} {path}\n");
    }
    Ok(s)
}
