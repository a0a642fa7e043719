//! The launcher (varmor-run's side): namespaces, privileges, Landlock, seccomp, exec, and
//! the client of varmord's socket. `run` strings the steps together.

pub mod cgroupfs;
pub mod client;
pub mod desktop;
pub mod desktop_entry;
pub mod error;
pub mod exec;
pub mod landlock;
pub mod landlock_abi;
pub mod learn;
pub mod learn_allow;
pub mod learn_draft;
pub mod ns;
pub mod oci;
pub mod privs;
pub mod ps;
pub mod run;
pub mod seccomp;
pub mod shell;
pub mod side_error;
pub mod timing;
