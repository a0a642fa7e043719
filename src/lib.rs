//! varmor-run: a setuid-free sandbox launcher whose profiles the kernel enforces.
//!
//! Rooms: `profile` (YAML -> typed rules), `rules` (the compiled, bounded rule set both
//! binaries share), `abi` (the Rust twin of bpf/varmor.h), `cli` (command lines).

pub mod abi;
pub mod cli;
pub mod profile;
pub mod rules;
pub mod matcher;
pub mod proto;
