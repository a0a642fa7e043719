//! The cgroup sock_addr programs of bpf/unix.bpf.c (`connect_unix`, `sendmsg_unix`;
//! kernel 6.7+), attached and pinned like the network programs (crates/kernel/src/bpf/net.rs). On a
//! kernel without these attach types the attach fails and the enforcers report every
//! unix rule as NOT ENFORCED instead of skipping it.

use std::path::Path;

use libbpf_rs::Link;

use super::net::{attach_cgroup_progs, detach_pinned};
use super::{object, BpfError};

/// Program names in bpf/unix.bpf.c (read from the object); each link is pinned as
/// `links/<name>`.
pub const UNIX_PROGS: &[&str] = super::names::unix::PROGRAMS;

/// The attached unix-socket hooks.
#[derive(Debug)]
pub struct UnixHooks {
    _links: Vec<Link>,
    /// How many of the links were adopted from pins rather than attached now.
    pub adopted: usize,
}

impl UnixHooks {
    /// Attaches (or adopts) both programs at the cgroup2 directory `cgroup`.
    pub fn attach(pin_dir: &Path, cgroup: &Path) -> Result<UnixHooks, BpfError> {
        let (links, adopted) =
            attach_cgroup_progs(pin_dir, cgroup, object!("unix"), "unix.bpf.o", UNIX_PROGS)?;
        Ok(UnixHooks {
            _links: links,
            adopted,
        })
    }

    /// Detaches every pinned unix link under `pin_dir` and removes the pins.
    pub fn detach_and_unpin(pin_dir: &Path) -> Result<(), BpfError> {
        detach_pinned(pin_dir, UNIX_PROGS)
    }
}
