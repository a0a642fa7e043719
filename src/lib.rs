//! varmor-run: a setuid-free sandbox launcher whose profiles the kernel enforces.
//!
//! Rooms: `profile` (YAML -> typed rules), `rules` (the compiled, bounded rule set both
//! binaries share), `abi` (the Rust twin of bpf/varmor.h), `cli` (command lines).

pub mod abi;
pub mod bpf;
pub mod cli;
pub mod daemon;
pub mod dnswire;
pub mod encode;
pub mod enforcer;
pub mod guards;
pub mod launcher;
pub mod matcher;
pub mod probe;
pub mod procfs;
pub mod profile;
pub mod proto;
pub mod report;
pub mod rules;
pub mod say;
