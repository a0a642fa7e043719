//! varmor-launcher: varmor-run's side, run as the user. Namespaces, privileges, Landlock
//! (the plan from varmor-kernel, applied here), seccomp, exec, and the client of varmord's
//! socket; `run` strings the steps together, `report` prints `--check` and `--list`.
//!
//! It depends on varmor-core and varmor-kernel, never on varmor-daemon: what it needs of
//! varmord is the protocol's typed answer (varmor_core::proto), nothing of its code.

pub mod cgroupfs;
pub mod client;
pub mod desktop;
pub mod desktop_entry;
pub mod error;
pub mod exec;
pub mod landlock;
pub mod learn;
pub mod learn_allow;
pub mod learn_draft;
pub mod ns;
pub mod oci;
pub mod privs;
pub mod ps;
pub mod report;
pub mod run;
pub mod seccomp;
pub mod shell;
pub mod side_error;
pub mod timing;
