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
  varmor-run --ps                              your live sandboxes and their denials
  eval \"$(varmor-run --shell-init bash)\"        wrap curl, wget, ... as the profiles say
  varmor-run --desktop install firefox-esr --profile firefox
  varmor-run --learn draft.yaml -- ./build.sh  write a profile from what build.sh did
  Exec=varmor-run --profile firefox -- firefox %u      (in a .desktop file)

Exit status: the target's own status when it ran; 2 on a usage error; 125 when varmor-run
itself failed (bad profile, varmord unreachable or refusing); 126 when the target cannot be
executed; 127 when it is not found.";

/// What both man pages and `--help` say the programs are (the package's description).
const ABOUT: &str = "Setuid-free sandbox launcher with kernel-enforced profiles (BPF LSM, or fanotify + Landlock + cgroup BPF)";

/// Runs a program confined by a profile whose rules the kernel enforces.
#[derive(Debug, Parser)]
#[command(name = "varmor-run", version, about = ABOUT, after_help = RUN_EXAMPLES, arg_required_else_help = true)]
pub struct RunCli {
    /// Confine CMD with this profile (a name from the profile directories, or a path).
    /// With --desktop install: the profile the application starts under; with --learn:
    /// a profile to start from.
    #[arg(long, short, value_name = "NAME|PATH")]
    pub profile: Option<String>,

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

    /// Pass descriptors above 2 on to CMD. By default they are closed at exec: a file or
    /// directory opened outside the sandbox is not checked by its rules.
    #[arg(long)]
    pub keep_fds: bool,

    /// Also apply this Docker/OCI seccomp JSON profile.
    #[arg(long, value_name = "FILE")]
    pub seccomp: Option<PathBuf>,

    /// Output format for --check, --list and --ps.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// The program and its arguments (after `--`).
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

/// What varmor-run is asked to do: one of these, or --profile alone to run CMD.
#[derive(Debug, Args)]
#[group(id = "mode", required = false, multiple = false)]
pub struct RunMode {
    /// Validate a profile and print its compiled rules; exit 0 when it is valid.
    #[arg(long, value_name = "NAME|PATH", conflicts_with = "profile")]
    pub check: Option<String>,

    /// List every profile found, where it came from, and its description.
    #[arg(long, conflicts_with = "profile")]
    pub list: bool,

    /// List your live sandboxes (root: everyone's): pid, profile, backend, uptime, denials.
    #[arg(long, conflicts_with = "profile")]
    pub ps: bool,

    /// Print shell functions that run each profile's `wraps:` commands confined, for this shell
    /// (e.g. `eval "$(varmor-run --shell-init bash)"`).
    #[arg(long, value_enum, value_name = "SHELL", conflicts_with = "profile")]
    pub shell_init: Option<Shell>,

    /// Manage per-user .desktop overrides that start APP confined: `install APP`,
    /// `remove APP`, `list`. The profile is --profile, else one named like APP, else one
    /// whose `wraps:` lists APP.
    #[arg(long, num_args = 1..=2, value_names = ["ACTION", "APP"])]
    pub desktop: Option<Vec<String>>,

    /// Run CMD with every access audited and every name it resolves recorded, nothing
    /// denied (on top of --profile, if given), and write a profile draft of what it did to
    /// OUT: the peers it reached by name become allow entries for those names.
    #[arg(long, value_name = "OUT.yaml")]
    pub learn: Option<PathBuf>,
}

/// Shells `--shell-init` can write for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// What `--desktop` does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DesktopCmd {
    Install { app: String },
    Remove { app: String },
    List,
}

/// Resolved form of RunMode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunAction {
    Run {
        profile: String,
    },
    Check {
        profile: String,
    },
    List,
    Ps,
    ShellInit(Shell),
    Desktop {
        cmd: DesktopCmd,
        profile: Option<String>,
    },
    Learn {
        out: PathBuf,
        profile: Option<String>,
    },
}

impl RunMode {
    /// The one action asked for; a message for a malformed `--desktop`.
    pub fn action(&self, profile: Option<&str>) -> Result<RunAction, String> {
        if let Some(c) = &self.check {
            return Ok(RunAction::Check { profile: c.clone() });
        }
        if self.list {
            return Ok(RunAction::List);
        }
        if self.ps {
            return Ok(RunAction::Ps);
        }
        if let Some(sh) = self.shell_init {
            return Ok(RunAction::ShellInit(sh));
        }
        let profile = profile.map(str::to_string);
        if let Some(out) = &self.learn {
            return Ok(RunAction::Learn {
                out: out.clone(),
                profile,
            });
        }
        if let Some(d) = &self.desktop {
            let app = d.get(1).cloned();
            let cmd = match (d[0].as_str(), app) {
                ("install", Some(app)) => DesktopCmd::Install { app },
                ("remove", Some(app)) => DesktopCmd::Remove { app },
                ("list", None) => DesktopCmd::List,
                (a @ ("install" | "remove"), None) => {
                    return Err(format!(
                        "--desktop {a} needs the application's name (e.g. firefox-esr)"
                    ))
                }
                ("list", Some(_)) => return Err("--desktop list takes no application".into()),
                (other, _) => {
                    return Err(format!(
                        "--desktop `{other}`: expected install APP, remove APP or list"
                    ))
                }
            };
            return Ok(RunAction::Desktop { cmd, profile });
        }
        match profile {
            Some(profile) => Ok(RunAction::Run { profile }),
            None => Err("nothing to do: give --profile NAME -- CMD, or one of --check, --list, --ps, --shell-init, --desktop, --learn".into()),
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

Limits: up to 12,288 live sandboxes (1,024 per user), fewer when the open-file limit holds
fewer (up to 6 descriptors each, 256 kept free; the packaged unit sets
LimitNOFILE=524288): a launch past a limit is refused whole, with a line saying which.

Exit status: 0 after a clean stop (SIGTERM/SIGINT); 1 when no backend is usable or the
socket cannot be served; --probe exits 0 when some backend is usable, 1 otherwise.";

/// Root helper of varmor-run: loads the BPF programs once and confines namespaces on request.
#[derive(Debug, Parser)]
#[command(name = "varmord", version, about = ABOUT, after_help = DAEMON_EXAMPLES)]
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

    /// Where sandboxes in allow-list mode (`network_default: deny`) have their allowed
    /// names resolved [default: the first nameserver of /etc/resolv.conf, port 53].
    #[arg(long, value_name = "ADDR:PORT")]
    pub dns_upstream: Option<std::net::SocketAddr>,

    /// Seconds an answered address stays allowed after its TTL ends (connections that
    /// start just after the answer expires).
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub dns_grace: u32,

    /// Let an allowed name's answer make loopback, unspecified and link-local addresses
    /// reachable (a local mirror named in DNS). Without it such addresses in an answer are
    /// not allowed, and say so in a line: a name's owner cannot open the machine's own
    /// services to the sandbox.
    #[arg(long)]
    pub dns_local_answers: bool,
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
            c.mode.action(c.profile.as_deref()),
            Ok(RunAction::Run {
                profile: "nocurl".into()
            })
        );
        assert_eq!(c.command, ["bash", "-c", "x"]);
        assert!(RunCli::try_parse_from(["varmor-run", "--ps", "--profile", "x"]).is_err());
        // Every mode flag resolves to its own action (--list once fell through to
        // "nothing to do").
        for (args, want) in [
            (&["--list"][..], RunAction::List),
            (&["--list", "--format", "json"], RunAction::List),
            (&["--ps"], RunAction::Ps),
            (
                &["--check", "base"],
                RunAction::Check {
                    profile: "base".into(),
                },
            ),
            (&["--shell-init", "bash"], RunAction::ShellInit(Shell::Bash)),
        ] {
            let c =
                RunCli::try_parse_from(std::iter::once("varmor-run").chain(args.iter().copied()))
                    .unwrap();
            assert_eq!(c.mode.action(c.profile.as_deref()), Ok(want), "{args:?}");
        }
        assert!(RunCli::try_parse_from(["varmor-run", "--ps", "--learn", "o.yaml"]).is_err());
    }

    #[test]
    fn desktop_and_learn_take_a_profile() {
        let c = RunCli::try_parse_from([
            "varmor-run",
            "--desktop",
            "install",
            "xterm",
            "--profile",
            "nonet",
        ])
        .unwrap();
        assert_eq!(
            c.mode.action(c.profile.as_deref()),
            Ok(RunAction::Desktop {
                cmd: DesktopCmd::Install {
                    app: "xterm".into()
                },
                profile: Some("nonet".into())
            })
        );
        let c = RunCli::try_parse_from(["varmor-run", "--desktop", "list"]).unwrap();
        assert!(c.mode.action(c.profile.as_deref()).is_ok());
        for bad in [
            &["--desktop", "install"][..],
            &["--desktop", "frob", "x"],
            &["--desktop", "list", "x"],
        ] {
            let c =
                RunCli::try_parse_from(std::iter::once("varmor-run").chain(bad.iter().copied()))
                    .unwrap();
            assert!(c.mode.action(c.profile.as_deref()).is_err(), "{bad:?}");
        }
        let c = RunCli::try_parse_from(["varmor-run", "--learn", "o.yaml", "--", "ls"]).unwrap();
        assert_eq!(
            c.mode.action(c.profile.as_deref()),
            Ok(RunAction::Learn {
                out: "o.yaml".into(),
                profile: None
            })
        );
    }
}
