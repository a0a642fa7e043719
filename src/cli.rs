//! Command lines of `varmor-run` and `varmord` (clap derive). The man pages and shell
//! completions in man/ and completions/ are generated from these by `varmor-gen`.

use std::path::PathBuf;

use clap::{Args, Parser, ValueEnum};

pub const DEFAULT_SOCKET: &str = "/run/varmor/varmord.sock";
pub const DEFAULT_PIN_DIR: &str = "/sys/fs/bpf/varmor";

const RUN_EXAMPLES: &str = "\
Examples:
  varmor-run --profile nocurl -- bash          a shell in which curl and wget cannot run
  varmor-run --profile no-secrets -- npm install
  varmor-run --check base                      show what a profile compiles to
  varmor-run --list                            every profile found, and where
  alias curl='varmor-run --profile nonet -- curl'
  Exec=varmor-run --profile firefox -- firefox %u      (in a .desktop file)

Exit status: the target's own status when it ran; 125 when varmor-run itself failed
(bad profile, varmord unreachable or refusing); 126 when the target cannot be executed;
127 when it is not found.";

/// Runs a program confined by a profile whose rules the kernel enforces.
#[derive(Debug, Parser)]
#[command(name = "varmor-run", version, about, after_help = RUN_EXAMPLES, arg_required_else_help = true)]
pub struct RunCli {
    #[command(flatten)]
    pub mode: RunMode,

    /// varmord's socket.
    #[arg(long, env = "VARMOR_SOCKET", default_value = DEFAULT_SOCKET, value_name = "PATH")]
    pub socket: PathBuf,

    /// Run even where the backend cannot enforce every rule; print what is not enforced.
    #[arg(long)]
    pub allow_partial: bool,

    /// Log what the profile would deny, deny nothing.
    #[arg(long)]
    pub complain: bool,

    /// No denial lines on this terminal (they still go to varmord's log).
    #[arg(long, short)]
    pub quiet: bool,

    /// Also apply this Docker/OCI seccomp JSON profile.
    #[arg(long, value_name = "FILE")]
    pub seccomp: Option<PathBuf>,

    /// Output format for --check and --list.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// The program and its arguments (after `--`).
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// What varmor-run is asked to do; exactly one.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct RunMode {
    /// Confine CMD with this profile (a name from the profile directories, or a path).
    #[arg(long, short, value_name = "NAME|PATH")]
    pub profile: Option<String>,

    /// Validate a profile and print its compiled rules; exit 0 when it is valid.
    #[arg(long, value_name = "NAME|PATH")]
    pub check: Option<String>,

    /// List every profile found, where it came from, and its description.
    #[arg(long)]
    pub list: bool,
}

/// Resolved form of RunMode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunAction {
    Run { profile: String },
    Check { profile: String },
    List,
}

impl RunMode {
    pub fn action(&self) -> RunAction {
        match (&self.profile, &self.check) {
            (Some(p), _) => RunAction::Run { profile: p.clone() },
            (None, Some(c)) => RunAction::Check { profile: c.clone() },
            (None, None) => RunAction::List,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// Which enforcement backend varmord uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendChoice {
    /// bpf-lsm where the kernel lets LSM programs attach, compat otherwise.
    Auto,
    /// BPF LSM programs (the model).
    BpfLsm,
    /// fanotify + Landlock + cgroup BPF (kernels without a usable BPF LSM).
    Compat,
}

const DAEMON_EXAMPLES: &str = "\
Examples:
  varmord --probe                              what this kernel offers, which backend auto picks
  varmord --socket /tmp/v.sock --pin-dir /sys/fs/bpf/varmor-test --backend compat
  systemctl enable --now varmord.socket        (packaged units)

Exit status: 0 after a clean stop (SIGTERM/SIGINT); 1 when no backend is usable or the
socket cannot be served; --probe exits 0 when some backend is usable, 1 otherwise.";

/// Root helper of varmor-run: loads the BPF programs once and confines namespaces on request.
#[derive(Debug, Parser)]
#[command(name = "varmord", version, about, after_help = DAEMON_EXAMPLES)]
pub struct DaemonCli {
    /// Socket to listen on (mode 0666: any local user may confine itself).
    #[arg(long, default_value = DEFAULT_SOCKET, value_name = "PATH")]
    pub socket: PathBuf,

    /// bpffs directory for pinned programs and maps (bpffs is mounted when absent).
    #[arg(long, default_value = DEFAULT_PIN_DIR, value_name = "DIR")]
    pub pin_dir: PathBuf,

    /// Enforcement backend.
    #[arg(long, value_enum, default_value_t = BackendChoice::Auto)]
    pub backend: BackendChoice,

    /// Also append every denial line to this file.
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,

    /// cgroup2 directory under which each sandbox gets its own cgroup.
    #[arg(long, value_name = "DIR")]
    pub cgroup_root: Option<PathBuf>,

    /// Report what this kernel offers and which backend `auto` picks, then exit.
    #[arg(long)]
    pub probe: bool,

    /// Output format for --probe.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clis_are_consistent() {
        RunCli::command().debug_assert();
        DaemonCli::command().debug_assert();
    }

    #[test]
    fn modes_are_exclusive() {
        assert!(RunCli::try_parse_from(["varmor-run", "--list", "--check", "x"]).is_err());
        let c =
            RunCli::try_parse_from(["varmor-run", "--profile", "nocurl", "--", "bash", "-c", "x"])
                .unwrap();
        assert_eq!(
            c.mode.action(),
            RunAction::Run {
                profile: "nocurl".into()
            }
        );
        assert_eq!(c.command, ["bash", "-c", "x"]);
    }
}
