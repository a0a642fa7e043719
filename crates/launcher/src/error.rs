//! Launcher errors, each with the exit status scripts can rely on (like env(1)).

use thiserror::Error;

#[derive(Debug, Error)]
pub enum LaunchError {
    /// A call that failed where AppArmor's restriction explains it: the line names the call,
    /// its error and the fix.
    #[error("creating the sandbox's namespaces: {0}")]
    Namespace(String),
    #[error("creating the sandbox's namespaces: {what}: {source}")]
    NamespaceCall {
        what: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("dropping privileges: {what}: {source}")]
    Privileges {
        what: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("Landlock: {0}")]
    Landlock(#[source] landlock::RulesetError),
    #[error("Landlock: {}: {source}", path.display())]
    LandlockRule {
        path: std::path::PathBuf,
        #[source]
        source: landlock::RulesetError,
    },
    #[error("Landlock: the kernel does not enforce Landlock; the rules cannot be kept")]
    LandlockNotEnforced,
    #[error("seccomp: {what}: {source}")]
    Seccomp {
        what: String,
        #[source]
        source: libseccomp::error::SeccompError,
    },
    #[error("{file}: {msg}")]
    Oci { file: String, msg: String },
    #[error("{file}: {source}")]
    OciRead {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}: command not found")]
    NotFound(String),
    #[error("{cmd}: cannot execute: {source}")]
    CannotExecute { cmd: String, source: std::io::Error },
    #[error("cgroup mount {point}: {what}: {source}")]
    CgroupReadOnly {
        point: String,
        what: &'static str,
        source: std::io::Error,
    },
    #[error("{what}: {source}")]
    Syscall {
        what: &'static str,
        source: std::io::Error,
    },
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
