//! varmor-run: the user's launcher (see crates/launcher/src/ and varmor-run(1)).
//! Exit status: the target's own; 125 launcher error; 126 cannot execute; 127 not found.

use clap::Parser;
use varmor_core::cli::{Format, RunAction, RunCli};

/// Prints `r`'s text to stdout (exit 0) or its error (exit 125).
fn print_or_fail<E: std::fmt::Display>(r: Result<String, E>) -> std::process::ExitCode {
    match r {
        Ok(text) => {
            print!("{text}");
            0.into()
        }
        Err(e) => {
            varmor_core::say!("varmor-run: {e}");
            125.into()
        }
    }
}

fn main() -> std::process::ExitCode {
    let cli = RunCli::parse();
    let action = match cli.mode.action(cli.profile.as_deref()) {
        Ok(a) => a,
        Err(e) => {
            use clap::CommandFactory;
            RunCli::command()
                .error(clap::error::ErrorKind::ArgumentConflict, e)
                .exit()
        }
    };
    match action {
        RunAction::ShellInit(sh) => {
            print_or_fail(Ok::<_, String>(varmor_launcher::shell::init_script(sh)))
        }
        RunAction::Desktop { cmd, profile } => {
            print_or_fail(varmor_launcher::desktop::desktop(&cmd, profile.as_deref()))
        }
        RunAction::Ps => print_or_fail(varmor_launcher::ps::ps(&cli.socket, cli.format)),
        RunAction::Learn { out, profile } => {
            match varmor_launcher::learn::learn(&cli, &out, profile.as_deref()) {
                Ok((summary, code)) => {
                    eprint!("{summary}");
                    code.into()
                }
                Err(e) => print_or_fail(Err(e)),
            }
        }
        RunAction::List => {
            let list = varmor_core::profile::lookup::list();
            match cli.format {
                Format::Text => print!("{}", varmor_launcher::report::list_text(&list)),
                Format::Json => {
                    let v: Vec<_> = list
                        .iter()
                        .map(|l| {
                            serde_json::json!({
                                "name": l.name, "source": l.source.label(), "path": l.path,
                                "description": l.description.as_ref().ok(), "error": l.description.as_ref().err(),
                                "shadowed": l.shadowed,
                            })
                        })
                        .collect();
                    println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
                }
            }
            0.into()
        }
        RunAction::Check { profile } => match varmor_core::profile::compile(&profile) {
            Ok((rs, pf)) => {
                match cli.format {
                    Format::Text => print!("{}", varmor_launcher::report::check_text(&rs, &pf)),
                    Format::Json => {
                        let a = varmor_kernel::enforcer::compat::assess(&rs);
                        println!(
                            "{}",
                            serde_json::to_string_pretty(
                                &serde_json::json!({"rules": rs, "compat_notes": a.notes, "compat_not_enforced": a.unenforced})
                            )
                            .unwrap_or_default()
                        );
                    }
                }
                0.into()
            }
            Err(e) => {
                varmor_core::say!("varmor-run: {e}");
                1.into()
            }
        },
        RunAction::Run { profile } => {
            let err = varmor_launcher::run::run(&cli, &profile);
            varmor_core::say!("varmor-run: {err}");
            err.exit_code().into()
        }
    }
}
