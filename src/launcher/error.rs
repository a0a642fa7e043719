//! Launcher errors, each with the exit status scripts can rely on (like env(1)).

use thiserror::Error;

#[derive(Debug, Error)]
pub enum LaunchError {
    #[error("creating the sandbox's namespaces: {0}")]
    Namespace(String),
    #[error("dropping privileges: {0}")]
    Privileges(String),
    #[error("Landlock: {0}")]
    Landlock(String),
    #[error("seccomp: {0}")]
    Seccomp(String),
    #[error("{file}: {msg}")]
    Oci { file: String, msg: String },
    #[error("{0}: command not found")]
    NotFound(String),
    #[error("{cmd}: cannot execute: {source}")]
    CannotExecute { cmd: String, source: std::io::Error },
}

impl LaunchError {
    /// 127 not found, 126 found but not executable, 125 anything of the launcher's own.
    pub fn exit_code(&self) -> u8 {
        match self {
            LaunchError::NotFound(_) => 127,
            LaunchError::CannotExecute { .. } => 126,
            _ => 125,
        }
    }
}
