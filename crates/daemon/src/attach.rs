//! `attach_chmod`: varmord takes over a compat sandbox's seccomp chmod filter (the
//! launcher's user-notification fd) and answers its chmod calls from the sandbox's rules.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::sync::Arc;

use super::handler::{refuse, Shared};
use super::peer::Peer;
use varmor_core::proto::{RefuseCode, Response};
use varmor_kernel::enforcer::Report;

/// Takes over the chmod filter of a sandbox the caller owns (compat; set once).
pub fn attach_chmod(shared: &Shared, peer: &Peer, claimed_ns: u64, fd: Option<File>) -> Response {
    let Some(fd) = fd else {
        return refuse(RefuseCode::BadFrame, "attach_chmod carries no descriptor");
    };
    let kind = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap_or_default();
    if kind.as_os_str() != "anon_inode:seccomp notify" {
        return refuse(
            RefuseCode::BadFrame,
            "attach_chmod: the descriptor is not a seccomp notification fd",
        );
    }
    if claimed_ns != peer.mnt_ns {
        return refuse(
            RefuseCode::NotYourNamespace,
            format!("namespace {claimed_ns} is not the one the caller is in"),
        );
    }
    let mut reg = shared.registry.lock().unwrap_or_else(|p| p.into_inner());
    let Some(sb) = reg.live_mut(peer.mnt_ns, peer.uid) else {
        return refuse(
            RefuseCode::NotYourNamespace,
            "no sandbox of yours lives in this namespace",
        );
    };
    if sb.chmod.is_some() {
        return refuse(
            RefuseCode::AlreadyConfined,
            "this sandbox's chmod filter is already attached; it is set once",
        );
    }
    let sink = sb.sink.clone();
    let report: Report = {
        let sink = sink.clone();
        Arc::new(move |d| sink.emit(d))
    };
    match varmor_kernel::enforcer::compat::chmod::start(
        fd.into(),
        sink.rules.clone(),
        sb.id,
        report,
    ) {
        Ok(g) => {
            sb.chmod = Some(g);
            Response::Attached
        }
        Err(e) => refuse(RefuseCode::Internal, format!("chmod answerer: {e}")),
    }
}
