//! The errors of varmor-run's side modes (`--desktop`, `--learn`), one type each, carrying
//! their sources: the messages name the file, the line or the app.

use std::path::PathBuf;

use thiserror::Error;

use varmor_core::profile::ProfileError;

/// `varmor-run --desktop install|remove|list`.
#[derive(Debug, Error)]
pub enum DesktopError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error("neither XDG_DATA_HOME nor HOME is set to an absolute path")]
    NoDataHome,
    #[error("`{0}` is not an application name (the .desktop file's name, e.g. firefox-esr)")]
    NotAnApp(String),
    #[error("{}: larger than {max} bytes", path.display())]
    TooLarge { path: PathBuf, max: u64 },
    /// A .desktop file that does not parse, or an Exec= that cannot be wrapped (the
    /// message names the file and line: crates/launcher/src/desktop_entry.rs).
    #[error("{0}")]
    Parse(String),
    #[error("no profile is named `{0}` or lists it under `wraps:`; pass --profile NAME (see varmor-run --list)")]
    NoProfile(String),
    #[error("no {file} in {dirs}{hint}")]
    NoSource {
        file: String,
        dirs: String,
        hint: String,
    },
    #[error("{} exists and was not written by varmor-run (it has no {marker}= key); move it away first", path.display())]
    Foreign { path: PathBuf, marker: &'static str },
    #[error("no override {} to remove", .0.display())]
    NoOverride(PathBuf),
    #[error("{} was not written by varmor-run (it has no {marker}= key); not removing it", path.display())]
    NotOurs { path: PathBuf, marker: &'static str },
}

/// `varmor-run --learn OUT.yaml -- CMD`.
#[derive(Debug, Error)]
pub enum LearnError {
    #[error("no command given; usage: varmor-run --learn OUT.yaml -- CMD [ARGS...]")]
    NoCommand,
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error(transparent)]
    Run(#[from] Box<super::run::RunError>),
    #[error("{what}: {source}")]
    Sys {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the command did not run (exit {0}); no draft written")]
    DidNotRun(u8),
}

impl LearnError {
    pub fn sys(what: impl Into<String>, source: impl Into<std::io::Error>) -> LearnError {
        LearnError::Sys {
            what: what.into(),
            source: source.into(),
        }
    }
}
