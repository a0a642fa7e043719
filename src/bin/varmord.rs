//! varmord: the root helper of varmor-run (see crates/daemon/src/ and varmord(8)).

use clap::Parser;
use varmor_core::cli::{DaemonCli, Format};

fn main() -> std::process::ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format_target(false)
        .init();
    // The start-up canary's child (crates/daemon/src/canary.rs) is this binary too; it is not a
    // user-facing option, so it is not in DaemonCli, --help or the completions.
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == varmor_daemon::canary_child::ARG)
    {
        return varmor_daemon::canary_child::main().into();
    }
    let cli = DaemonCli::parse();
    // One handler thread per connection: cap glibc's per-thread malloc arenas so RSS
    // stays flat under bursts of launches.
    // SAFETY: mallopt only sets an allocator tunable; called before any other thread.
    unsafe { libc::mallopt(libc::M_ARENA_MAX, 2) };
    if !log::log_enabled!(log::Level::Debug) {
        // The LSM probe's expected refusal would otherwise print libbpf's load log.
        libbpf_rs::set_print(None);
    }
    if cli.probe {
        let p = varmor_daemon::probe::probe();
        match cli.format {
            Format::Text => print!("{}", p.text()),
            Format::Json => println!("{}", serde_json::to_string_pretty(&p).unwrap_or_default()),
        }
        return if p.backend_auto.is_some() {
            0.into()
        } else {
            1.into()
        };
    }
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } != 0 {
        varmor_core::say!(
            "varmord: must run as root (it loads BPF programs and answers fanotify events)"
        );
        return 1.into();
    }
    match varmor_daemon::run(&cli) {
        Ok(()) => 0.into(),
        Err(e) => {
            varmor_core::say!("varmord: {e}");
            1.into()
        }
    }
}
