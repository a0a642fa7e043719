//! One cgroup2 directory per sandbox: the launcher is moved in before its target runs, so
//! every process of the sandbox is in it. `populated 0` in cgroup.events says the sandbox
//! ended; `cgroup.kill` ends a sandbox whose policy can no longer be enforced.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum CgroupError {
    #[error("cgroup cgroup2: no cgroup2 filesystem is mounted")]
    NoCgroup2,
    #[error("cgroup {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn err(path: &Path, source: std::io::Error) -> CgroupError {
    CgroupError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The cgroup2 mount point, from /proc/self/mountinfo.
pub fn cgroup2_mount() -> Option<PathBuf> {
    let text = varmor_kernel::procfs::read_text("/proc/self/mountinfo").ok()?;
    varmor_kernel::procfs::mounts(&text)
        .into_iter()
        .find(|m| m.fstype == "cgroup2")
        .map(|m| PathBuf::from(m.point))
}

/// varmord's own cgroup directory, created if absent.
pub fn prepare_root(root: Option<&Path>) -> Result<PathBuf, CgroupError> {
    let root = match root {
        Some(r) => r.to_path_buf(),
        None => cgroup2_mount()
            .ok_or(CgroupError::NoCgroup2)?
            .join("varmor"),
    };
    fs::create_dir_all(&root).map_err(|e| err(&root, e))?;
    Ok(root)
}

pub fn sandbox_dir(root: &Path, id: u64) -> PathBuf {
    root.join(format!("sb-{id}"))
}

/// Creates the sandbox's cgroup and moves `pid` (the launcher, single-threaded) into it.
pub fn enter(root: &Path, id: u64, pid: i32) -> Result<PathBuf, CgroupError> {
    let dir = sandbox_dir(root, id);
    fs::create_dir(&dir).map_err(|e| err(&dir, e))?;
    let procs = dir.join("cgroup.procs");
    if let Err(e) = fs::OpenOptions::new()
        .write(true)
        .open(&procs)
        .and_then(|mut f| f.write_all(pid.to_string().as_bytes()))
    {
        let _ = fs::remove_dir(&dir);
        return Err(err(&procs, e));
    }
    Ok(dir)
}

/// Does any process remain in the cgroup?
pub fn populated(dir: &Path) -> bool {
    fs::read_to_string(dir.join("cgroup.events"))
        .map(|t| t.lines().any(|l| l == "populated 1"))
        .unwrap_or(false)
}

/// Kills every process of the sandbox.
pub fn kill(dir: &Path) {
    if let Err(e) = fs::write(dir.join("cgroup.kill"), "1") {
        log::error!("{}: cgroup.kill: {e}", dir.display());
    }
}

/// Removes an empty sandbox cgroup (retrying briefly while the last task is reaped).
pub fn remove(dir: &Path) {
    for _ in 0..50 {
        match fs::remove_dir(dir) {
            Ok(()) => return,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
        }
    }
    log::warn!("{}: could not remove the cgroup", dir.display());
}

/// Sandbox cgroups left by an earlier varmord: their policy is gone, so they are killed.
pub fn stale(root: &Path) -> Vec<PathBuf> {
    fs::read_dir(root)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default()
}
