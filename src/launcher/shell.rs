//! `varmor-run --shell-init SHELL`: aliases/functions that run each profile's `wraps:`
//! commands confined.

use crate::cli::Shell;

/// The text to `eval` in `shell`'s rc file.
pub fn init_script(_shell: Shell) -> Result<String, String> {
    Err("--shell-init is not implemented yet".into())
}
