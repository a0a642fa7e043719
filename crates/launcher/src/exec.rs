//! Step 9: execve the target, same pid, finding it on PATH like env(1).

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::error::LaunchError;

/// The program `cmd` names: itself when it has a `/`, else the first PATH entry holding an
/// executable file of that name (or the first holding any file, for a 126 answer).
pub fn resolve(cmd: &str) -> Result<PathBuf, LaunchError> {
    if cmd.contains('/') {
        return if Path::new(cmd).exists() {
            Ok(PathBuf::from(cmd))
        } else {
            Err(LaunchError::NotFound(cmd.into()))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    let mut found_non_exec = None;
    for dir in std::env::split_paths(&path) {
        let p = dir.join(cmd);
        if let Ok(m) = std::fs::metadata(&p) {
            if m.is_file() && m.permissions().mode() & 0o111 != 0 {
                return Ok(p);
            }
            found_non_exec.get_or_insert(p);
        }
    }
    found_non_exec.ok_or_else(|| LaunchError::NotFound(cmd.into()))
}

/// Replaces this process with `cmd`; returns only the reason it could not.
pub fn exec(cmd: &[String]) -> LaunchError {
    let Some(first) = cmd.first() else {
        return LaunchError::NotFound(String::new());
    };
    let prog = match resolve(first) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let cstr = |s: &[u8]| CString::new(s).map_err(|_| LaunchError::NotFound(first.clone()));
    let (Ok(path), Ok(args)) = (
        cstr(prog.as_os_str().as_bytes()),
        cmd.iter()
            .map(|a| cstr(a.as_bytes()))
            .collect::<Result<Vec<_>, _>>(),
    ) else {
        return LaunchError::NotFound(first.clone());
    };
    let err = nix::unistd::execv(&path, &args).unwrap_err();
    let source = std::io::Error::from(err);
    match err {
        nix::errno::Errno::ENOENT => LaunchError::NotFound(first.clone()),
        _ => LaunchError::CannotExecute {
            cmd: first.clone(),
            source,
        },
    }
}
