//! varmor-kernel: the kernel side of a profile, shared by varmord and the launcher.
//!
//! Rooms: `bpf` (loading the BPF objects compiled from bpf/*.bpf.c, their maps and pins),
//! `encode` (a rule set into map entries), `enforcer` (one `Enforcer` per backend:
//! bpf-lsm and compat, plus the Landlock plan the launcher applies), `guards` (the
//! directories above a protected path), `procfs` (mountinfo).

pub mod bpf;
pub mod encode;
pub mod enforcer;
pub mod guards;
pub mod procfs;
