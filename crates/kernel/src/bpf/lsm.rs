//! The bpf-lsm backend: loading and attaching the LSM objects (file, exec, caps, ptrace,
//! mount, userns, unixpeer, ftrunc), and probing whether this kernel lets us at all.
//!
//! On kernels where `bpf` is not in the active LSM list, or where LSM/trampoline
//! programs are refused, loading fails; `probe_lsm` returns the kernel's own error text
//! so varmord can say why it uses the compat backend.

use std::path::Path;

use libbpf_rs::{Link, Object, ObjectBuilder};

use super::{bpf_err, io_err, link_dir, object, BpfError, Maps};

/// Objects whose refusal by the kernel leaves the backend usable (said in the log).
/// ftrunc: lsm/file_truncate exists from Linux 6.2 (before, path_truncate sees it all).
const OPTIONAL: [&str; 2] = ["unixpeer", "ftrunc"];

/// (object name, bytes) of every LSM object.
fn objects() -> [(&'static str, &'static [u8]); 8] {
    [
        ("file", object!("file")),
        ("exec", object!("exec")),
        ("caps", object!("caps")),
        ("ptrace", object!("ptrace")),
        ("mount", object!("mount")),
        ("userns", object!("userns")),
        ("unixpeer", object!("unixpeer")),
        ("ftrunc", object!("ftrunc")),
    ]
}

fn load(name: &str, bytes: &[u8], pin_dir: Option<&Path>) -> Result<Object, BpfError> {
    let mut b = ObjectBuilder::default();
    if let Some(p) = pin_dir {
        b.pin_root_path(p)
            .map_err(bpf_err("setting the pin root"))?;
    }
    let open = b
        .open_memory(bytes)
        .map_err(bpf_err(format!("opening {name}.bpf.o")))?;
    open.load()
        .map_err(bpf_err(format!("loading the LSM programs of {name}.bpf.o")))
}

/// Loads one LSM program and attaches it (then detaches it again). `Err` carries the
/// kernel's answer, e.g. "Operation not permitted (os error 1)".
pub fn probe_lsm() -> Result<(), String> {
    let lsms = std::fs::read_to_string("/sys/kernel/security/lsm").unwrap_or_default();
    let obj = load("caps", object!("caps"), None).map_err(|e| {
        let active = if lsms.is_empty() {
            String::new()
        } else {
            format!(" (active LSMs: {})", lsms.trim())
        };
        format!("{e}{active}")
    })?;
    let prog = obj.progs_mut().next().ok_or("caps.bpf.o has no program")?;
    let link = prog
        .attach_lsm()
        .map_err(|e| format!("attaching an LSM program: {e}"))?;
    drop(link);
    Ok(())
}

/// Loads (verifies) every LSM object without attaching anything; `Err` lists the
/// objects the kernel refused and why. Where LSM programs cannot be loaded at all (as on
/// the project's test machines) the shared matching code is still verified through
/// bpf/matchtest.bpf.c.
pub fn verify_lsm_objects() -> Result<(), String> {
    let errs: Vec<String> = objects()
        .iter()
        .filter_map(|(n, b)| load(n, b, None).err().map(|e| format!("{n}: {e}")))
        .collect();
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs.join("; "))
    }
}

/// The attached LSM programs.
#[derive(Debug)]
pub struct LsmHooks {
    links: Vec<Link>,
    pub adopted: usize,
}

impl LsmHooks {
    /// Loads every LSM object against the maps pinned in `pin_dir`, attaches every
    /// program and pins its link as `links/lsm_<program>`; pinned links are adopted.
    /// All or nothing: on failure what this call attached is detached again.
    pub fn attach(pin_dir: &Path) -> Result<LsmHooks, BpfError> {
        Maps::open(pin_dir)?;
        let dir = link_dir(pin_dir);
        std::fs::create_dir_all(&dir).map_err(io_err(format!("creating {}", dir.display())))?;
        let mut hooks = LsmHooks {
            links: vec![],
            adopted: 0,
        };
        let mut fresh: Vec<Link> = vec![];
        let undo = |fresh: Vec<Link>| {
            for mut l in fresh {
                let _ = l.unpin();
                let _ = l.detach();
            }
        };
        for (name, bytes) in objects() {
            let obj = match load(name, bytes, Some(pin_dir)) {
                Ok(o) => o,
                // unixpeer adds to the cgroup unix programs (which check the address as
                // written); ftrunc's hook is new in 6.2 (before, path_truncate sees it all).
                Err(e) if OPTIONAL.contains(&name) => {
                    match name {
                        "unixpeer" => log::warn!(
                            "{e}: unix rules are checked on the address as written only"
                        ),
                        _ => log::info!(
                            "{e}: no lsm/file_truncate on this kernel (before 6.2 path_truncate is asked instead)"
                        ),
                    }
                    continue;
                }
                Err(e) => {
                    undo(fresh);
                    return Err(e);
                }
            };
            for prog in obj.progs_mut() {
                let pin = dir.join(format!("lsm_{}", prog.name().to_string_lossy()));
                if let Some(Ok(l)) = pin.exists().then(|| Link::open(&pin)) {
                    hooks.links.push(l);
                    hooks.adopted += 1;
                    continue;
                }
                let res = prog.attach_lsm().and_then(|mut l| l.pin(&pin).map(|()| l));
                match res {
                    Ok(l) => fresh.push(l),
                    Err(e) => {
                        undo(fresh);
                        return Err(BpfError::Libbpf {
                            what: format!("attaching {}", pin.display()),
                            source: e,
                        });
                    }
                }
            }
        }
        hooks.links.extend(fresh);
        Ok(hooks)
    }

    pub fn len(&self) -> usize {
        self.links.len()
    }

    pub fn is_empty(&self) -> bool {
        self.links.is_empty()
    }

    /// Detaches and unpins every `links/lsm_*` under `pin_dir`.
    pub fn detach_and_unpin(pin_dir: &Path) -> Result<(), BpfError> {
        let dir = link_dir(pin_dir);
        let Ok(rd) = std::fs::read_dir(&dir) else {
            return Ok(());
        };
        for ent in rd.flatten() {
            if !ent.file_name().to_string_lossy().starts_with("lsm_") {
                continue;
            }
            let mut l = Link::open(ent.path())
                .map_err(bpf_err(format!("opening {}", ent.path().display())))?;
            l.unpin().map_err(bpf_err("unpinning an LSM link"))?;
            // Kernels before 6.x cannot BPF_LINK_DETACH a tracing link (EOPNOTSUPP);
            // unpinned, it goes away with this last descriptor.
            match l.detach() {
                Err(e) if e.kind() != libbpf_rs::ErrorKind::Unsupported => {
                    return Err(BpfError::Libbpf {
                        what: "detaching an LSM link".into(),
                        source: e,
                    })
                }
                _ => {}
            }
        }
        Ok(())
    }
}
