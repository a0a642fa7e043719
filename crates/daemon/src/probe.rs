//! What the running kernel can do, and which backend `auto` picks (`varmord --probe`).
//! Claims (an LSM list, a program that attaches) are reported as claims; whether hooks
//! fire is measured by the start-up canary on private pins and a private cgroup, for
//! both backends, exactly as varmord measures it before it confines anything.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::backend::{self, Unusable};
use crate::canary::{HookSeen, Proof};
use varmor_kernel::enforcer::Enforcer;

/// Whether a backend's hooks were seen firing on this boot.
#[derive(Debug, Serialize)]
pub struct Measured {
    /// None: the canary could not run (not root, no cgroup2).
    pub fires: Option<bool>,
    /// Why not, when not.
    pub why: Option<String>,
    pub hooks: Vec<HookSeen>,
}

#[derive(Debug, Serialize)]
pub struct Probe {
    pub kernel: String,
    pub btf: bool,
    /// /sys/kernel/security/lsm.
    pub lsm_list: Option<String>,
    /// `bpf` is in the active LSM list (a claim: the canary is the proof).
    pub bpf_lsm_listed: Option<bool>,
    /// Loading and attaching one LSM program: Ok, or the kernel's exact answer.
    pub bpf_lsm_attach: Result<(), String>,
    pub bpf_lsm_hooks: Measured,
    pub landlock_abi: Option<i64>,
    pub fanotify_perm: Result<(), String>,
    pub cgroup2: Option<String>,
    pub compat_hooks: Measured,
    pub unprivileged_userns: bool,
    pub backend_auto: Option<&'static str>,
}

fn fanotify_perm() -> Result<(), String> {
    use nix::sys::fanotify::{EventFFlags, Fanotify, InitFlags};
    Fanotify::init(
        InitFlags::FAN_CLASS_CONTENT | InitFlags::FAN_CLOEXEC,
        EventFFlags::O_RDONLY,
    )
    .map(drop)
    .map_err(|e| e.to_string())
}

fn sysctl_nonzero(path: &str) -> bool {
    std::fs::read_to_string(path)
        .map(|s| s.trim() != "0")
        .unwrap_or(true)
}

type Prove = fn(&Path, &Path) -> Result<(Box<dyn Enforcer>, Proof), Unusable>;

/// Runs one backend's canary on private pins and a private cgroup, then removes them.
fn measure(prove: Prove, cgroup2: Option<&Path>) -> Measured {
    let not_run = |why: &str| Measured {
        fires: None,
        why: Some(why.into()),
        hooks: vec![],
    };
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return not_run("unknown: the canary needs root");
    }
    let Some(cg) = cgroup2 else {
        return not_run("unknown: no cgroup2 mounted");
    };
    let tag = format!("varmor-probe-{}", std::process::id());
    let pins = PathBuf::from(varmor_kernel::bpf::DEFAULT_PIN_DIR).with_file_name(&tag);
    let cgroup = cg.join(&tag);
    if let Err(e) = varmor_kernel::bpf::ensure_pin_dir(&pins) {
        return not_run(&e.to_string());
    }
    let m = match crate::cgroup::prepare_root(Some(&cgroup)) {
        Err(e) => not_run(&e.to_string()),
        Ok(root) => {
            let m = match prove(&pins, &root) {
                Ok((enforcer, proof)) => {
                    drop(enforcer);
                    Measured {
                        fires: Some(true),
                        why: None,
                        hooks: proof.hooks,
                    }
                }
                Err(Unusable::Silent(proof)) => Measured {
                    fires: Some(false),
                    why: Some(Unusable::Silent(proof.clone()).to_string()),
                    hooks: proof.hooks,
                },
                Err(e) => Measured {
                    fires: Some(false),
                    why: Some(e.to_string()),
                    hooks: vec![],
                },
            };
            let _ = std::fs::remove_dir(&root);
            m
        }
    };
    let _ = varmor_kernel::bpf::NetHooks::detach_and_unpin(&pins);
    let _ = varmor_kernel::bpf::UnixHooks::detach_and_unpin(&pins);
    let _ = varmor_kernel::bpf::LsmHooks::detach_and_unpin(&pins);
    let _ = varmor_kernel::bpf::Maps::unpin_all(&pins);
    let _ = std::fs::remove_dir(varmor_kernel::bpf::link_dir(&pins));
    let _ = std::fs::remove_dir(&pins);
    m
}

pub fn probe() -> Probe {
    let lsm_list = backend::lsm_list();
    let cgroup2 = crate::cgroup::cgroup2_mount();
    let bpf_lsm_hooks = measure(backend::bpf_lsm, cgroup2.as_deref());
    let compat_hooks = measure(backend::compat, cgroup2.as_deref());
    let backend_auto = if bpf_lsm_hooks.fires == Some(true) {
        Some("bpf-lsm")
    } else if compat_hooks.fires == Some(true) {
        Some("compat")
    } else {
        None
    };
    Probe {
        kernel: nix::sys::utsname::uname()
            .map(|u| u.release().to_string_lossy().into_owned())
            .unwrap_or_default(),
        btf: Path::new("/sys/kernel/btf/vmlinux").exists(),
        bpf_lsm_listed: lsm_list.as_deref().map(backend::bpf_listed),
        lsm_list,
        bpf_lsm_attach: varmor_kernel::bpf::probe_lsm(),
        bpf_lsm_hooks,
        landlock_abi: varmor_kernel::enforcer::landlock::kernel_abi(),
        fanotify_perm: fanotify_perm(),
        cgroup2: cgroup2.map(|p| p.display().to_string()),
        compat_hooks,
        unprivileged_userns: sysctl_nonzero("/proc/sys/user/max_user_namespaces")
            && sysctl_nonzero("/proc/sys/kernel/unprivileged_userns_clone"),
        backend_auto,
    }
}

fn measured_text(out: &mut String, label: &str, m: &Measured) {
    let verdict = match m.fires {
        Some(true) => "yes".to_string(),
        Some(false) => format!("no: {}", m.why.as_deref().unwrap_or("")),
        None => m.why.clone().unwrap_or_default(),
    };
    out.push_str(&format!("{label:<21}{verdict}\n"));
    for h in &m.hooks {
        out.push_str(&format!(
            "  {:<19}{} ({}: {})\n",
            h.hook.name(),
            if h.fires { "yes" } else { "no" },
            h.mechanism,
            h.detail
        ));
    }
}

impl Probe {
    pub fn text(&self) -> String {
        let yes = |b: bool| if b { "yes" } else { "no" };
        let res = |r: &Result<(), String>| match r {
            Ok(()) => "yes".to_string(),
            Err(e) => format!("no ({e})"),
        };
        let mut o = format!(
            "kernel               {}\nBTF                  {}\nactive LSMs          {}\nBPF LSM listed       {}\nBPF LSM attach       {}\n",
            self.kernel,
            yes(self.btf),
            self.lsm_list.as_deref().unwrap_or("unknown (securityfs)"),
            self.bpf_lsm_listed.map_or("unknown (securityfs)", yes),
            res(&self.bpf_lsm_attach),
        );
        measured_text(&mut o, "BPF LSM hooks fire", &self.bpf_lsm_hooks);
        o.push_str(&format!(
            "Landlock ABI         {}\nfanotify perm events {}\ncgroup2              {}\n",
            self.landlock_abi.map_or("none".into(), |v| v.to_string()),
            res(&self.fanotify_perm),
            self.cgroup2.as_deref().unwrap_or("not mounted"),
        ));
        measured_text(&mut o, "compat hooks fire", &self.compat_hooks);
        o.push_str(&format!(
            "unprivileged userns  {}\nbackend (auto)       {}\n",
            yes(self.unprivileged_userns),
            self.backend_auto.unwrap_or("none usable"),
        ));
        o
    }
}
