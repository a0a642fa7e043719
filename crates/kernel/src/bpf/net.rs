//! The cgroup programs of bpf/net.bpf.c (sock_addr hooks, sock_create) and of
//! bpf/srcroute.bpf.c (setsockopt, sock_create, skb egress: source routes), attached with
//! BPF links that are pinned under `<pin_dir>/links/`, so the hooks outlive varmord and a
//! restarted varmord adopts them instead of attaching twice.

use std::os::fd::AsRawFd;
use std::path::Path;

use libbpf_rs::{Link, ObjectBuilder};

use super::{bpf_err, io_err, link_dir, object, BpfError, Maps};

/// Program names in bpf/net.bpf.c (read from the object); each link is pinned as
/// `links/<name>`.
pub const NET_PROGS: &[&str] = super::names::net::PROGRAMS;

/// Program names in bpf/srcroute.bpf.c, attached and pinned with the network programs.
pub const SRCROUTE_PROGS: &[&str] = super::names::srcroute::PROGRAMS;

/// The attached network hooks.
#[derive(Debug)]
pub struct NetHooks {
    links: Vec<Link>,
    /// How many of the links were found pinned (adopted) rather than attached now.
    pub adopted: usize,
}

impl NetHooks {
    /// Loads bpf/net.bpf.c and bpf/srcroute.bpf.c against the maps pinned in `pin_dir`
    /// (creating them if needed), attaches their programs to the cgroup2 directory
    /// `cgroup`, and pins the links. Links already pinned there are adopted as they are.
    /// All or nothing: when the second object fails, the first's links are detached.
    pub fn attach(pin_dir: &Path, cgroup: &Path) -> Result<NetHooks, BpfError> {
        let (mut links, mut adopted) =
            attach_cgroup_progs(pin_dir, cgroup, object!("net"), "net.bpf.o", NET_PROGS)?;
        match attach_cgroup_progs(
            pin_dir,
            cgroup,
            object!("srcroute"),
            "srcroute.bpf.o",
            SRCROUTE_PROGS,
        ) {
            Ok((l, a)) => {
                links.extend(l);
                adopted += a;
            }
            Err(e) => {
                drop(links);
                let _ = detach_pinned(pin_dir, NET_PROGS);
                return Err(e);
            }
        }
        Ok(NetHooks { links, adopted })
    }

    /// Number of attached programs (NET_PROGS.len() + SRCROUTE_PROGS.len() when complete).
    pub fn len(&self) -> usize {
        self.links.len()
    }

    pub fn is_empty(&self) -> bool {
        self.links.is_empty()
    }

    /// Detaches every pinned network link under `pin_dir` and removes the pins.
    pub fn detach_and_unpin(pin_dir: &Path) -> Result<(), BpfError> {
        detach_pinned(pin_dir, SRCROUTE_PROGS)?;
        detach_pinned(pin_dir, NET_PROGS)
    }
}

/// Loads the object `obj` against the maps pinned in `pin_dir` (creating them if needed),
/// attaches its programs `names` to the cgroup2 directory `cgroup` and pins the links
/// under `<pin_dir>/links/`; links already pinned there are adopted as they are. All or
/// nothing: on an error, what this call attached is detached again. Returns the links
/// and how many were adopted.
pub(crate) fn attach_cgroup_progs(
    pin_dir: &Path,
    cgroup: &Path,
    obj_bytes: &[u8],
    obj_name: &str,
    names: &[&str],
) -> Result<(Vec<Link>, usize), BpfError> {
    Maps::open(pin_dir)?;
    let dir = link_dir(pin_dir);
    std::fs::create_dir_all(&dir).map_err(io_err(format!("creating {}", dir.display())))?;
    let mut links = Vec::new();
    let mut adopted = 0;
    let missing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| {
            match Some(dir.join(n))
                .filter(|p| p.exists())
                .map(Link::open)
                .transpose()
            {
                Ok(Some(l)) => {
                    links.push(l);
                    adopted += 1;
                    false
                }
                _ => true,
            }
        })
        .collect();
    if missing.is_empty() {
        return Ok((links, adopted));
    }
    let cg = std::fs::File::open(cgroup)
        .map_err(io_err(format!("opening cgroup {}", cgroup.display())))?;
    let mut b = ObjectBuilder::default();
    b.pin_root_path(pin_dir)
        .map_err(bpf_err("setting the pin root"))?;
    let obj = b
        .open_memory(obj_bytes)
        .map_err(bpf_err(format!("opening {obj_name}")))?
        .load()
        .map_err(bpf_err(format!("loading the programs of {obj_name}")))?;
    let mut fresh = Vec::new();
    for prog in obj.progs_mut() {
        let name = prog.name().to_string_lossy().into_owned();
        if !missing.contains(&name.as_str()) {
            continue;
        }
        let attached = prog
            .attach_cgroup(cg.as_raw_fd())
            .map_err(bpf_err(format!("attaching {name} to {}", cgroup.display())))
            .and_then(|mut l| {
                l.pin(dir.join(&name))
                    .map_err(bpf_err(format!("pinning link {name}")))?;
                Ok(l)
            });
        match attached {
            Ok(l) => fresh.push(l),
            Err(e) => {
                for mut l in fresh {
                    let _ = l.unpin();
                    let _ = l.detach();
                }
                return Err(e);
            }
        }
    }
    links.extend(fresh);
    Ok((links, adopted))
}

/// Detaches the pinned links `names` under `pin_dir` and removes their pins.
pub(crate) fn detach_pinned(pin_dir: &Path, names: &[&str]) -> Result<(), BpfError> {
    let dir = link_dir(pin_dir);
    for n in names {
        let p = dir.join(n);
        if !p.exists() {
            continue;
        }
        let mut l =
            Link::open(&p).map_err(bpf_err(format!("opening pinned link {}", p.display())))?;
        l.detach().map_err(bpf_err(format!("detaching {n}")))?;
        l.unpin()
            .map_err(bpf_err(format!("unpinning {}", p.display())))?;
    }
    let _ = std::fs::remove_dir(&dir);
    Ok(())
}
