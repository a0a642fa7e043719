//! One client connection: read one bounded request, check everything against what the
//! kernel says about the peer, confine or refuse, answer, close. A refusal changes nothing.

use std::fs::File;
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::cgroup;
use super::denial::{LineStyle, Sink};
use super::guard::Guard;
use super::peer::{self, Peer};
use super::registry::{Refusal, Registry, Sandbox};
use varmor_core::proto::{
    read_frame, write_frame, ProtoError, RefuseCode, Request, Response, PROTO_VERSION,
};
use varmor_core::rules::RuleSet;
use varmor_kernel::enforcer::{Enforcer, Report, SandboxCtx};

/// How long a client may stall while sending its request (each read). 10 s: a 20,000-rule
/// request from a loaded, slow machine (qemu TCG in the kernel matrix) arrives in pieces.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Shared {
    pub registry: Mutex<Registry>,
    /// Which live sandboxes have ended (a watch on each one's cgroup.events).
    pub emptied: super::emptied::Emptied,
    pub enforcer: Box<dyn Enforcer>,
    pub cgroup_root: std::path::PathBuf,
    pub log: Arc<Mutex<Option<File>>>,
    pub host_ns: Vec<u64>,
    pub guard: Option<Mutex<Guard>>,
    /// This build's pin directory (the resolver writes v_dns and v_net_dyn there).
    pub pins: std::path::PathBuf,
    /// Where allow-list sandboxes' allowed names are resolved (None: nowhere, all fail).
    pub dns_upstream: Option<std::net::SocketAddr>,
    /// Added to every answered TTL (`varmord --dns-grace`).
    pub dns_grace: std::time::Duration,
    /// Answers may allow loopback/unspecified/link-local addresses (`--dns-local-answers`).
    pub dns_local_answers: bool,
}

pub fn refuse(code: RefuseCode, message: impl Into<String>) -> Response {
    Response::Refused {
        code,
        message: message.into(),
    }
}

pub fn handle(shared: &Shared, sock: UnixStream) {
    let _ = sock.set_read_timeout(Some(REQUEST_TIMEOUT));
    let _ = sock.set_write_timeout(Some(REQUEST_TIMEOUT));
    let response = match read_frame::<Request>(&sock, 1) {
        Ok((req, mut fds)) => respond(shared, &sock, req, fds.pop().map(File::from)),
        Err(ProtoError::Closed) => return,
        Err(ProtoError::Io(e))
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            refuse(
                RefuseCode::BadFrame,
                format!("no request within {}s", REQUEST_TIMEOUT.as_secs()),
            )
        }
        Err(ProtoError::OtherVersion { theirs, .. }) => {
            refuse(RefuseCode::BadVersion, version_mismatch(theirs))
        }
        Err(e) => refuse(RefuseCode::BadFrame, e.to_string()),
    };
    if let Response::Refused { code, message } = &response {
        log::warn!("refused: {code:?}: {message}");
    }
    let _ = write_frame(&sock, &response, &[]);
}

fn respond(shared: &Shared, sock: &UnixStream, req: Request, stderr: Option<File>) -> Response {
    let peer = match peer::identify(sock) {
        Ok(p) => p,
        Err(e) => return refuse(RefuseCode::NotYourNamespace, e.to_string()),
    };
    match req {
        Request::List { version } if version == PROTO_VERSION => Response::Sandboxes {
            list: shared
                .registry
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .list(peer.uid),
        },
        Request::Confine {
            version,
            mnt_ns,
            rules,
            quiet,
            learn,
            color,
        } if version == PROTO_VERSION => confine(
            shared,
            peer,
            mnt_ns,
            *rules,
            if quiet { None } else { stderr },
            LineStyle { learn, color },
        ),
        Request::AttachChmod { version, mnt_ns } if version == PROTO_VERSION => {
            super::attach::attach_chmod(shared, &peer, mnt_ns, stderr)
        }
        Request::List { version }
        | Request::Confine { version, .. }
        | Request::AttachChmod { version, .. } => {
            refuse(RefuseCode::BadVersion, version_mismatch(version))
        }
    }
}

/// The refusal of a request from a varmor-run of another release.
fn version_mismatch(theirs: u32) -> String {
    let (older, newer) = if theirs > PROTO_VERSION {
        ("varmord", "varmor-run")
    } else {
        ("varmor-run", "varmord")
    };
    format!(
        "varmor-run speaks protocol {theirs}, this varmord {PROTO_VERSION}: {older} is older than \
         {newer} (two installations, or varmord not restarted after an upgrade); run both from \
         one installation (`systemctl restart varmord` after installing)"
    )
}

fn confine(
    shared: &Shared,
    peer: Peer,
    claimed_ns: u64,
    rules: RuleSet,
    stderr: Option<File>,
    style: LineStyle,
) -> Response {
    if let Err(e) = rules.validate() {
        return refuse(RefuseCode::BadRules, e.to_string());
    }
    if rules.answers_every_name() && !style.learn {
        return refuse(
            RefuseCode::BadRules,
            "answering every name is for learning runs (varmor-run --learn) only",
        );
    }
    if claimed_ns != peer.mnt_ns {
        return refuse(
            RefuseCode::NotYourNamespace,
            format!("namespace {claimed_ns} is not the one the caller is in"),
        );
    }
    if shared.host_ns.contains(&peer.mnt_ns) {
        return refuse(
            RefuseCode::HostNamespace,
            "the host's mount namespace is never confined; unshare one first",
        );
    }
    // Both backends see paths from the namespace's root (bpf-lsm's path builder, compat's
    // fanotify answers); a chrooted caller would name them from elsewhere and exact
    // rules such as /etc/shadow would silently stop matching. The kernel says where the
    // caller's root is: the namespace's own root reads as "/".
    match std::fs::read_link(format!("/proc/{}/root", peer.pid)) {
        Ok(root) if root.as_os_str() == "/" => {}
        Ok(root) => {
            return refuse(
                RefuseCode::Chrooted,
                format!(
                    "varmor-run runs under chroot (its root is {} in its mount namespace): \
                     rules name paths from the namespace's root and would not match; run it \
                     outside the chroot, or give the build root a mount namespace of its own \
                     (unshare -m, then pivot_root instead of chroot)",
                    root.display()
                ),
            )
        }
        Err(e) => {
            return refuse(
                RefuseCode::NotYourNamespace,
                format!("cannot read the caller's root directory: {e}"),
            )
        }
    }
    if peer.ns_owner_uid != peer.uid {
        return refuse(
            RefuseCode::NotYourNamespace,
            format!(
                "namespace owned by uid {}, caller is uid {}",
                peer.ns_owner_uid, peer.uid
            ),
        );
    }
    let wait = shared
        .registry
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .pace(peer.uid);
    match wait {
        Ok(w) if !w.is_zero() => std::thread::sleep(w),
        Ok(_) => {}
        Err(Refusal::TooMany(m)) => return refuse(RefuseCode::Limit, m),
        Err(Refusal::AlreadyConfined) => unreachable!("pace never answers AlreadyConfined"),
    }
    let id = match shared
        .registry
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .reserve(peer.mnt_ns, peer.uid)
    {
        Ok(id) => id,
        Err(Refusal::AlreadyConfined) => {
            return refuse(
                RefuseCode::AlreadyConfined,
                "this namespace already has a policy; it is set once",
            )
        }
        Err(Refusal::TooMany(m)) => return refuse(RefuseCode::Limit, m),
    };
    let result = build(shared, &peer, id, rules, stderr, style);
    let mut reg = shared.registry.lock().unwrap_or_else(|p| p.into_inner());
    match result {
        Ok((sandbox, assessment)) => {
            let dir = sandbox.cgroup.clone();
            reg.activate(sandbox);
            drop(reg);
            // Watched once live, so that an emptiness it reports finds it in the registry.
            shared.emptied.watch(peer.mnt_ns, &dir);
            Response::Confined {
                id,
                backend: shared.enforcer.backend(),
                stricter: assessment.notes,
                unenforced: assessment.unenforced,
                unenforced_optional: assessment.unenforced_optional,
            }
        }
        Err(resp) => {
            reg.unreserve(peer.mnt_ns);
            resp
        }
    }
}

fn report_for(sink: &Arc<Sink>) -> Report {
    let sink = sink.clone();
    Arc::new(move |d| sink.emit(d))
}

/// Allow-list mode: the sandbox's resolver, registered in v_dns before the launcher is
/// answered (so the target's first query already reaches it).
fn start_resolver(
    shared: &Shared,
    ctx: &SandboxCtx,
    report: &Report,
    cgroup: &std::path::Path,
) -> Result<Option<super::resolver::Resolver>, String> {
    let Some(allow) = &ctx.rules.net_allow else {
        return Ok(None);
    };
    if shared.dns_upstream.is_none() && ctx.rules.answers_every_name() {
        // Its static entry allows every address: DNS simply goes where it is sent (and
        // is audited there), and the draft learns no names.
        log::warn!("learning run without an upstream DNS server: names are not learnt");
        return Ok(None);
    }
    let upstream = shared.dns_upstream.ok_or_else(|| {
        "network_default: deny needs an upstream DNS server: /etc/resolv.conf names none \
         (start varmord with --dns-upstream ADDR:PORT)"
            .to_string()
    })?;
    let setup = super::resolver::Setup {
        ns: ctx.ns as u32,
        cgroup: cgroup.to_path_buf(),
        complain: ctx.rules.mode == varmor_core::rules::Mode::Complain,
        allow: allow.clone(),
        upstream,
        grace: shared.dns_grace,
        local_answers: shared.dns_local_answers,
        report: report.clone(),
    };
    super::resolver::Resolver::start(setup, &shared.pins)
        .map(Some)
        .map_err(|e| format!("starting the sandbox's resolver: {e}"))
}

fn build(
    shared: &Shared,
    peer: &Peer,
    id: u64,
    rules: RuleSet,
    stderr: Option<File>,
    style: LineStyle,
) -> Result<(Sandbox, varmor_kernel::enforcer::Assessment), Response> {
    let t0 = std::time::Instant::now();
    // Everything that can fail without leaving a trace goes first: each later step undoes
    // the earlier ones when it fails (cgroup, then confinement, then resolver).
    let ns_fd = peer
        .mnt_ns_fd
        .try_clone()
        .map_err(|e| refuse(RefuseCode::Internal, e.to_string()))?;
    let pidfd = peer
        .pidfd
        .try_clone()
        .map_err(|e| refuse(RefuseCode::Internal, e.to_string()))?;
    let rules = Arc::new(rules);
    let assessment = shared.enforcer.assess(&rules);
    let ta = std::time::Instant::now();
    let dir = cgroup::enter(&shared.cgroup_root, id, peer.pid)
        .map_err(|e| refuse(RefuseCode::Internal, e.to_string()))?;
    let sink = Arc::new(Sink::new(
        id,
        rules.clone(),
        stderr,
        shared.log.clone(),
        style,
    ));
    let report = report_for(&sink);
    let ctx = SandboxCtx {
        id,
        ns: peer.mnt_ns,
        pid: peer.pid,
        uid: peer.uid,
        rules: rules.clone(),
    };
    let t1 = std::time::Instant::now();
    let confinement = match shared.enforcer.confine(&ctx, report) {
        Ok(c) => c,
        Err(e) => {
            cgroup::remove(&dir);
            return Err(refuse(RefuseCode::Unenforceable, e.to_string()));
        }
    };
    let dns = match start_resolver(shared, &ctx, &report_for(&sink), &dir) {
        Ok(d) => d,
        Err(e) => {
            let mut confinement = confinement;
            confinement.release();
            cgroup::remove(&dir);
            return Err(refuse(RefuseCode::Unenforceable, e));
        }
    };
    let t2 = std::time::Instant::now();
    if let Some(g) = &shared.guard {
        g.lock()
            .unwrap_or_else(|p| p.into_inner())
            .hold(id, &dir, &confinement.held_fds());
    }
    log::debug!(
        "sandbox {id}: assess {:?}, cgroup {:?}, enforcer {:?}, guard {:?}",
        ta - t0,
        t1 - ta,
        t2 - t1,
        t2.elapsed()
    );
    let sandbox = Sandbox {
        id,
        ns: peer.mnt_ns,
        pid: peer.pid,
        uid: peer.uid,
        profile: rules.profile.clone(),
        backend: shared.enforcer.name(),
        started: std::time::Instant::now(),
        cgroup: dir,
        sink,
        confinement,
        chmod: None,
        dns,
        _ns_fd: ns_fd,
        _pidfd: pidfd,
    };
    log::info!(
        "sandbox {id}: pid {} uid {} mnt ns {} profile {} ({})",
        peer.pid,
        peer.uid,
        peer.mnt_ns,
        rules.profile,
        sandbox.backend
    );
    Ok((sandbox, assessment))
}
