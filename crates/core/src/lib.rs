//! varmor-core: what both binaries agree on, with no BPF and no kernel enforcement in it.
//!
//! Rooms: `profile` (YAML -> typed rules, every error naming file, line and field),
//! `rules` (the compiled, bounded rule set varmord is sent), `matcher` (the reference
//! matcher the BPF matcher is tested against), `abi` (the Rust side of bpf/varmor.h,
//! generated), `proto` (the socket protocol between varmor-run and varmord), `cli` (both
//! command lines, from which man pages and completions are generated), `dnswire` (DNS
//! messages for varmord's resolver) and `say!` (a line to stderr in one write).

pub mod abi;
pub mod cli;
pub mod dnswire;
pub mod matcher;
pub mod profile;
pub mod proto;
pub mod rules;
pub mod say;
