//! What the running kernel can do, and which backend `auto` picks (`varmord --probe`).

use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct Probe {
    pub kernel: String,
    pub btf: bool,
    /// `bpf` is in /sys/kernel/security/lsm.
    pub bpf_lsm_listed: Option<bool>,
    /// Loading and attaching one LSM program: Ok, or the kernel's exact answer.
    pub bpf_lsm_attach: Result<(), String>,
    pub landlock_abi: Option<i64>,
    pub fanotify_perm: Result<(), String>,
    pub cgroup2: Option<String>,
    pub unprivileged_userns: bool,
    pub backend_auto: Option<&'static str>,
}

fn landlock_abi() -> Option<i64> {
    // SAFETY: LANDLOCK_CREATE_RULESET_VERSION (1) with a NULL attr and size 0 only asks.
    let v = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            1u32,
        )
    };
    (v > 0).then_some(v)
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

/// Mounts securityfs when absent so the LSM list can be read.
fn lsm_list() -> Option<String> {
    let p = "/sys/kernel/security/lsm";
    if std::fs::metadata(p).is_err() {
        let _ = nix::mount::mount(
            Some("securityfs"),
            "/sys/kernel/security",
            Some("securityfs"),
            nix::mount::MsFlags::empty(),
            None::<&str>,
        );
    }
    std::fs::read_to_string(p).ok()
}

pub fn probe() -> Probe {
    let bpf_lsm_attach = crate::bpf::probe_lsm();
    let fan = fanotify_perm();
    let cgroup2 = crate::daemon::cgroup::cgroup2_mount().map(|p| p.display().to_string());
    let backend_auto = if bpf_lsm_attach.is_ok() {
        Some("bpf-lsm")
    } else if fan.is_ok() && cgroup2.is_some() {
        Some("compat")
    } else {
        None
    };
    Probe {
        kernel: nix::sys::utsname::uname()
            .map(|u| u.release().to_string_lossy().into_owned())
            .unwrap_or_default(),
        btf: std::path::Path::new("/sys/kernel/btf/vmlinux").exists(),
        bpf_lsm_listed: lsm_list().map(|l| l.trim().split(',').any(|m| m == "bpf")),
        bpf_lsm_attach,
        landlock_abi: landlock_abi(),
        fanotify_perm: fan,
        cgroup2,
        unprivileged_userns: sysctl_nonzero("/proc/sys/user/max_user_namespaces")
            && sysctl_nonzero("/proc/sys/kernel/unprivileged_userns_clone"),
        backend_auto,
    }
}

impl Probe {
    pub fn text(&self) -> String {
        let yes = |b: bool| if b { "yes" } else { "no" };
        let res = |r: &Result<(), String>| match r {
            Ok(()) => "yes".to_string(),
            Err(e) => format!("no ({e})"),
        };
        format!(
            "kernel               {}\nBTF                  {}\nBPF LSM listed       {}\nBPF LSM attach       {}\nLandlock ABI         {}\nfanotify perm events {}\ncgroup2              {}\nunprivileged userns  {}\nbackend (auto)       {}\n",
            self.kernel,
            yes(self.btf),
            self.bpf_lsm_listed.map_or("unknown (securityfs)", yes),
            res(&self.bpf_lsm_attach),
            self.landlock_abi.map_or("none".into(), |v| v.to_string()),
            res(&self.fanotify_perm),
            self.cgroup2.as_deref().unwrap_or("not mounted"),
            yes(self.unprivileged_userns),
            self.backend_auto.unwrap_or("none usable"),
        )
    }
}
