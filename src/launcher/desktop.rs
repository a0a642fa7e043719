//! `varmor-run --desktop install|remove|list`: per-user .desktop overrides that start an
//! application confined (like firecfg, without root).

use crate::cli::DesktopCmd;

/// Carries out `cmd`; returns what to print.
pub fn desktop(_cmd: &DesktopCmd, _profile: Option<&str>) -> Result<String, String> {
    Err("--desktop is not implemented yet".into())
}
