//! One query from a sandbox, answered (crates/daemon/src/resolver.rs serves the sockets): a name
//! an allow entry names is asked upstream and its addresses allowed before the reply is
//! relayed; another is REFUSED with a denial line (complain mode: resolved, with one); in
//! a learning run (`Answering::Every`) every name is answered like a named one, and each
//! answer giving addresses is an audit line `resolve NAME (A ADDR, ...)` (read by
//! `varmor-run --learn`).

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::Duration;

use super::{Ctx, UPSTREAM_WAIT};
use varmor_core::dnswire::{self, Query};
use varmor_core::profile::dns::Answering;
use varmor_kernel::enforcer::{Denial, Outcome};

/// The reply to one message from the sandbox (None: not even a header to answer).
pub(super) fn answer(ctx: &Ctx, msg: &[u8], from: SocketAddr, tcp: bool) -> Option<Vec<u8>> {
    let q = match dnswire::parse_query(msg) {
        Ok(q) => q,
        Err(e) => {
            log::debug!("sandbox ns {}: unreadable DNS query: {e}", ctx.ns);
            return dnswire::formerr(msg);
        }
    };
    let learning = ctx.allow.answering == Answering::Every;
    let rule = ctx.allow.allows_name(&q.name);
    if rule.is_none() && !learning {
        return Some(unlisted(ctx, msg, &q, from, tcp));
    }
    // A learning run's unlisted name: any port (its static entry allows every address).
    let (origin, (nports, ports)) = rule.unwrap_or((ctx.allow.origin, (0, Default::default())));
    let servfail = || Some(dnswire::reply(msg, &q, dnswire::RCODE_SERVFAIL));
    let Some(mut reply) = ask_upstream(ctx.upstream, msg, &q) else {
        return servfail();
    };
    let Ok(addrs) = dnswire::answer_addrs(&reply, &q) else {
        return servfail();
    };
    let mut local = Vec::new();
    for &(a, ttl) in &addrs {
        // A name's owner must not open the machine's own services to the sandbox.
        // (Complain mode reports it and allows it.)
        if is_local(a) && !ctx.local_answers && !learning {
            local.push(a.to_string());
            if !ctx.complain {
                continue;
            }
        }
        // A learning run never fails a name: what it connects to is allowed anyway.
        if !ctx.answered.allow(a, ttl, origin, nports, ports) && !learning {
            return servfail();
        }
    }
    if !local.is_empty() {
        let (pid, comm) = owner(ctx, from, tcp);
        (ctx.report)(Denial {
            what: "resolve".into(),
            object: format!(
                "{} (answered {}: a local address is not allowed by name; varmord \
                 --dns-local-answers allows it)",
                q.name,
                local.join(", ")
            ),
            pid,
            comm,
            origin: Some(origin),
            outcome: if ctx.complain {
                Outcome::WouldDeny
            } else {
                Outcome::Denied
            },
        });
    }
    if learning && !addrs.is_empty() {
        let (pid, comm) = owner(ctx, from, tcp);
        (ctx.report)(Denial {
            what: "resolve".into(),
            object: learnt(&q, &addrs),
            pid,
            comm,
            origin: rule.map(|(o, _)| o),
            outcome: Outcome::Audited,
        });
    }
    // The sandbox may cache the answer no longer than its addresses stay allowed.
    if dnswire::clamp_ttls(&mut reply, crate::dynallow::MAX_TTL).is_err() {
        return servfail();
    }
    Some(reply)
}

/// Loopback, unspecified and link-local addresses (IPv4-mapped ones too): the machine's
/// own services and its link's, which no name on the internet should open.
pub fn is_local(a: IpAddr) -> bool {
    match varmor_core::profile::net::canonical(a) {
        IpAddr::V4(v) => v.is_loopback() || v.octets()[0] == 0 || v.is_link_local(),
        IpAddr::V6(v) => {
            v.is_loopback() || v.is_unspecified() || (v.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

/// The process that sent a query from `from` (0, "?" when it cannot be found).
fn owner(ctx: &Ctx, from: SocketAddr, tcp: bool) -> (i32, String) {
    crate::sockowner::owner(&ctx.cgroup, from.port(), tcp, from.is_ipv6())
        .unwrap_or((0, "?".into()))
}

/// A learning run's resolve line object: `registry.npmjs.org (A 104.16.1.34, 104.16.2.34)`
/// (crates/launcher/src/learn_draft.rs reads it back).
fn learnt(q: &Query, addrs: &[(IpAddr, u32)]) -> String {
    let kind = match q.qtype {
        dnswire::TYPE_A => "A".to_string(),
        dnswire::TYPE_AAAA => "AAAA".to_string(),
        t => format!("TYPE{t}"),
    };
    let mut list: Vec<String> = Vec::new();
    for (a, _) in addrs {
        let a = a.to_string();
        if !list.contains(&a) {
            list.push(a);
        }
    }
    format!("{} ({kind} {})", q.name, list.join(", "))
}

/// A name no entry names: REFUSED with a denial line, or in complain mode resolved with one.
fn unlisted(ctx: &Ctx, msg: &[u8], q: &Query, from: SocketAddr, tcp: bool) -> Vec<u8> {
    let (outcome, how) = if ctx.complain {
        (Outcome::WouldDeny, "complain mode: resolved anyway")
    } else {
        (Outcome::Denied, "answered REFUSED")
    };
    if ctx.refused.report(&q.name, std::time::Instant::now()) {
        let (pid, comm) = owner(ctx, from, tcp);
        (ctx.report)(Denial {
            what: "resolve".into(),
            object: format!("{} ({how}: no network_allow entry names it)", q.name),
            pid,
            comm,
            origin: Some(ctx.allow.origin),
            outcome,
        });
    }
    if ctx.complain {
        return ask_upstream(ctx.upstream, msg, q)
            .unwrap_or_else(|| dnswire::reply(msg, q, dnswire::RCODE_SERVFAIL));
    }
    dnswire::reply(msg, q, dnswire::RCODE_REFUSED)
}

/// Sends the query upstream and waits for the reply with its id and question.
fn ask_upstream(upstream: SocketAddr, msg: &[u8], q: &Query) -> Option<Vec<u8>> {
    let local = if upstream.is_ipv4() {
        "0.0.0.0:0"
    } else {
        "[::]:0"
    };
    let s = UdpSocket::bind(local).ok()?;
    s.connect(upstream).ok()?;
    s.send(msg).ok()?;
    let deadline = std::time::Instant::now() + UPSTREAM_WAIT;
    let mut buf = vec![0u8; dnswire::MAX_MSG];
    loop {
        let left = deadline.checked_duration_since(std::time::Instant::now())?;
        s.set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .ok()?;
        let n = s.recv(&mut buf).ok()?;
        if dnswire::answer_addrs(&buf[..n], q).is_ok() {
            return Some(buf[..n].to_vec());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_local;

    #[test]
    fn local_addresses() {
        for a in [
            "127.0.0.1",
            "127.0.1.9",
            "0.0.0.0",
            "0.1.2.3",
            "169.254.169.254",
            "::1",
            "::",
            "fe80::1",
            "febf::1",
            "::ffff:127.0.0.1",
            "::ffff:0.0.0.0",
        ] {
            assert!(is_local(a.parse().unwrap()), "{a}");
        }
        for a in [
            "10.0.0.1",
            "192.168.1.1",
            "8.8.8.8",
            "fd00::1",
            "2001:db8::1",
            "fec0::1",
            "::ffff:8.8.8.8",
        ] {
            assert!(!is_local(a.parse().unwrap()), "{a}");
        }
    }
}
