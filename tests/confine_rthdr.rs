//! Real-kernel test of source routes in a sandbox with network rules (bpf/srcroute.bpf.c),
//! on the backend VARMOR_TEST_BACKEND: an IPv6 routing header or IPv4 options would send
//! packets through a first hop the address rules never see. Inside: setsockopt
//! IPV6_RTHDR, IPV6_HOPOPTS, IPV6_2292PKTOPTIONS and IP_OPTIONS (an LSRR) get EPERM and a
//! line (the hook runs before the kernel's own checks); control messages (IP_RETOPTS: IPv4
//! options, dropped at egress with a line; IPV6_RTHDR where the kernel takes one:
//! CONFIG_IPV6_MIP6) get EPERM and never arrive; the sandbox's own
//! sockets, given a sticky route from outside, have their packets dropped at egress (EPERM,
//! a line naming the first hop, nothing arrives). Ordinary options (SO_REUSEADDR, one
//! larger than a page, IPV6_V6ONLY, TCP_NODELAY, IP_TOS) and plain UDP work. Outside, and
//! in a sandbox without network rules, the same calls succeed; an allow list refuses
//! them too, complain mode reports them. Loopback only; the socket calls are in
//! tests/common/sockopt.rs.

mod common;

#[path = "common/sockopt.rs"]
mod sockopt;

use std::io::Write;
use std::net::UdpSocket;
use std::process::Stdio;

use sockopt::{act, drain, results};

/// Runs the actions of VARMOR_RTHDR_CHILD (in the sandbox, or outside as the control).
#[test]
fn rthdr_child_helper() {
    let Ok(actions) = std::env::var("VARMOR_RTHDR_CHILD") else {
        return;
    };
    let tag = std::env::var("VARMOR_RTHDR_TAG").unwrap_or_default();
    for a in actions.split(' ') {
        println!("VARMOR:RES {a} {}", act(a, &tag));
    }
    std::io::stdout().flush().unwrap();
}

/// Is there a `denied source route OBJECT` line with `by` naming the sandbox's rule?
fn has_line(stderr: &str, object: &str, by: &str) -> bool {
    stderr.lines().any(|l| {
        l.contains(&format!("denied source route {object}"))
            && l.contains(by)
            && l.contains("— profile netrules, rule network[0]")
    })
}

const NETRULES: &str =
    "description: a network rule\nnetwork:\n  - deny: connect\n    addresses: 127.0.0.9\n";

/// `c` (varmor-run ARGS --, or nothing: outside) running this binary's helper on `acts`:
/// the results, stdout and stderr for messages, and stderr.
fn child(
    c: Option<std::process::Command>,
    acts: &str,
    tag: &str,
) -> (Vec<(String, String)>, String, String) {
    let exe = std::env::current_exe().unwrap();
    let mut c = c.unwrap_or_else(|| std::process::Command::new(&exe));
    if c.get_program() != exe {
        c.arg(&exe);
    }
    c.args([
        "--exact",
        "rthdr_child_helper",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("VARMOR_RTHDR_CHILD", acts)
    .env("VARMOR_RTHDR_TAG", tag)
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let o = c.output().unwrap();
    let (so, se) = (common::stdout(&o), common::stderr(&o));
    (results(&so), format!("stdout:\n{so}\nstderr:\n{se}"), se)
}

#[test]
fn source_routes_are_refused_in_sandboxes_with_network_rules() {
    if common::need_root("source_routes_are_refused_in_sandboxes_with_network_rules").is_none() {
        return;
    }
    let v4 = UdpSocket::bind("127.0.0.1:0").unwrap();
    let v6 = match UdpSocket::bind("[::1]:0") {
        Ok(s) => s,
        Err(e) => return common::skip(&format!("confine_rthdr: no IPv6 loopback: {e}")),
    };
    let (p4, p6) = (
        v4.local_addr().unwrap().port(),
        v6.local_addr().unwrap().port(),
    );
    let acts = format!(
        "rthdr6 hopopts6 pktoptions2292 ipopts4 retopts4:{p4} retnops4:{p4} cmsgrthdr6:{p6} raw6rt:{p6} \
         udp6:{p6} udp4:{p4} reuseaddr bigopt v6only nodelay tos"
    );
    let n_acts = acts.split(' ').count();
    let d = common::Daemon::start();
    let net = common::write_profile(d.dir.path(), "netrules", NETRULES);
    let nonet = common::write_profile(
        d.dir.path(),
        "nonet",
        "description: no network rule\nfile:\n  - deny: read\n    paths: [/nonexistent/varmor]\n",
    );
    let run = |profile: Option<&str>, tag: &str| {
        child(profile.map(|p| d.cmd(&["--profile", p, "--"])), &acts, tag)
    };
    let (outside, octx, _) = run(None, "out");
    let (inside, ictx, ise) = run(Some(&net), "in");
    let (plain, pctx, _) = run(Some(&nonet), "plain");
    let ctx = format!(
        "outside:\n{octx}\ninside:\n{ictx}\nno network rules:\n{pctx}\nvarmord:\n{}",
        d.stderr_text()
    );
    let arrived4 = drain(&v4);
    let arrived6 = drain(&v6);
    eprintln!("outside {outside:?}\ninside {inside:?}\nplain {plain:?}\narrived {arrived4:?} {arrived6:?}");
    for (name, got) in [
        ("outside", &outside),
        ("inside", &inside),
        ("plain", &plain),
    ] {
        assert_eq!(got.len(), n_acts, "{name} ran every action\n{ctx}");
    }
    let res = |v: &[(String, String)], a: &str| {
        v.iter()
            .find(|(x, _)| x.split(':').next() == Some(a))
            .map(|(_, r)| r.clone())
            .unwrap()
    };
    let eperm = libc::EPERM.to_string();
    let raw = res(&outside, "raw6rt") != "nosock";
    let cmsg6 = res(&outside, "cmsgrthdr6") == "0";
    if !cmsg6 {
        common::skip(&format!(
            "confine_rthdr: this kernel takes no IPV6_RTHDR control message (errno {}: no CONFIG_IPV6_MIP6)",
            res(&outside, "cmsgrthdr6")
        ));
    }
    if !raw {
        common::skip(
            "confine_rthdr: no raw IPv6 socket outside; the raw routing header is not tried",
        );
    }
    // Outside: everything the kernel takes works. Without network rules likewise, but a
    // sandbox has no capabilities: what needs CAP_NET_RAW there (hop-by-hop options, IP
    // options on recent kernels, raw sockets) the kernel refuses itself.
    for (a, r) in &outside {
        let untestable =
            (a.starts_with("cmsgrthdr6") && !cmsg6) || (a.starts_with("raw6rt") && !raw);
        if !untestable {
            assert_eq!(r, "0", "{a} outside\n{ctx}");
        }
    }
    for (a, r) in &plain {
        let name = a.split(':').next().unwrap();
        let needs_cap = ["hopopts6", "ipopts4", "retopts4", "raw6rt"].contains(&name);
        let untestable =
            (name == "cmsgrthdr6" && !cmsg6) || (needs_cap && (r == &eperm || r == "nosock"));
        if !untestable {
            assert_eq!(r, "0", "{a} without network rules\n{ctx}");
        }
    }
    assert!(
        !ise.is_empty() && !pctx.contains("denied source route"),
        "a sandbox without network rules got a source-route line\n{ctx}"
    );
    // Inside: the source routes are refused, the rest works.
    for a in [
        "rthdr6",
        "hopopts6",
        "pktoptions2292",
        "ipopts4",
        "retopts4",
    ] {
        assert_eq!(res(&inside, a), eperm, "{a} inside\n{ctx}");
    }
    if cmsg6 {
        assert_eq!(
            res(&inside, "cmsgrthdr6"),
            eperm,
            "cmsgrthdr6 inside\n{ctx}"
        );
    }
    let r = res(&inside, "raw6rt");
    assert!(r == eperm || r == "nosock", "raw6rt inside: {r}\n{ctx}");
    for a in [
        "udp6",
        "udp4",
        "reuseaddr",
        "bigopt",
        "v6only",
        "nodelay",
        "tos",
    ] {
        assert_eq!(res(&inside, a), "0", "{a} inside\n{ctx}");
    }
    // What was refused never arrived; plain datagrams did, the sandbox's included.
    for want in ["udp6-in", "udp6-out", "udp6-plain"] {
        assert!(
            arrived6.iter().any(|g| g == want),
            "{want} arrived: {arrived6:?}\n{ctx}"
        );
    }
    for want in [
        "udp4-in",
        "udp4-out",
        "udp4-plain",
        "retnops4-out",
        "retnops4-plain",
    ] {
        assert!(
            arrived4.iter().any(|g| g == want),
            "{want} arrived: {arrived4:?}\n{ctx}"
        );
    }
    for bad in ["retopts4-in", "retnops4-in", "cmsgrthdr6-in", "raw6rt-in"] {
        assert!(
            !arrived4.iter().chain(&arrived6).any(|g| g == bad),
            "{bad} arrived\n{ctx}"
        );
    }
    // Each refusal by the hook (it runs before the kernel's own checks) is a line naming
    // the process and the sandbox's network rule.
    for o in [
        "setsockopt(IPV6_RTHDR)",
        "setsockopt(IPV6_HOPOPTS)",
        "setsockopt(IPV6_2292PKTOPTIONS)",
        "setsockopt(IP_OPTIONS)",
        // IP_RETOPTS: the control message, dropped at egress.
        "packet to 127.0.0.1 (IPv4 options)",
    ] {
        assert!(
            has_line(&ise, o, " by rthdr_child_hel"),
            "no line `denied source route {o}`\n{ctx}"
        );
    }
    if cmsg6 {
        assert!(
            has_line(&ise, "packet to [::1] (IPv6 routing header)", " by "),
            "{ctx}"
        );
    }
    drop(d);
}

/// The control-message route has no sockopt hook: it is closed at egress, for every socket
/// made in the sandbox. Here the sandbox's own sockets (taken with pidfd_getfd) get a
/// sticky route set outside it, which the kernel accepts from root, and send: the packet
/// is dropped (EPERM, a line naming the first hop), while the same from sockets made
/// outside goes.
#[test]
fn source_routed_packets_of_sandbox_sockets_are_dropped() {
    if common::need_root("source_routed_packets_of_sandbox_sockets_are_dropped").is_none() {
        return;
    }
    let v4 = UdpSocket::bind("127.0.0.1:0").unwrap();
    let Ok(v6) = UdpSocket::bind("[::1]:0") else {
        return common::skip("confine_rthdr: no IPv6 loopback");
    };
    let (p4, p6) = (
        v4.local_addr().unwrap().port(),
        v6.local_addr().unwrap().port(),
    );
    let d = common::Daemon::start();
    let net = common::write_profile(d.dir.path(), "netrules", NETRULES);
    let mut c = d.cmd(&["--profile", &net, "--"]);
    c.arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "rthdr_child_helper",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("VARMOR_RTHDR_CHILD", "hold")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let (pid, fd6, fd4) = sockopt::held(&mut out).expect("the sandbox holds its sockets");
    let (s6, s4) = (sockopt::grab(pid, fd6), sockopt::grab(pid, fd4));
    let in6 = sockopt::routed_send(&s6, libc::AF_INET6, p6, b"egress6-in");
    let in4 = sockopt::routed_send(&s4, libc::AF_INET, p4, b"egress4-in");
    let out6 = sockopt::routed_send(
        &sockopt::udp(libc::AF_INET6),
        libc::AF_INET6,
        p6,
        b"egress6-out",
    );
    let out4 = sockopt::routed_send(
        &sockopt::udp(libc::AF_INET),
        libc::AF_INET,
        p4,
        b"egress4-out",
    );
    drop((s6, s4));
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let o = child.wait_with_output().unwrap();
    let se = common::stderr(&o);
    let arrived: Vec<String> = drain(&v4).into_iter().chain(drain(&v6)).collect();
    let ctx = format!("sandbox {in6} {in4}, outside {out6} {out4}, arrived {arrived:?}\nstderr:\n{se}\nvarmord:\n{}", d.stderr_text());
    eprintln!("{ctx}");
    assert_eq!((out6, out4), (0, 0), "outside\n{ctx}");
    assert_eq!(
        (in6, in4),
        (libc::EPERM, libc::EPERM),
        "sandbox sockets\n{ctx}"
    );
    assert!(!arrived.iter().any(|a| a.ends_with("-in")), "{ctx}");
    assert!(
        has_line(&se, "packet to [::1] (IPv6 routing header)", " by "),
        "{ctx}"
    );
    assert!(
        has_line(&se, "packet to 127.0.0.1 (IPv4 options)", " by "),
        "{ctx}"
    );
    drop(d);
}

/// An allow list counts as network rules (its line names the allow list); complain mode
/// lets the option through with a `would deny` line.
#[test]
fn allow_lists_refuse_and_complain_mode_reports() {
    if common::need_root("allow_lists_refuse_and_complain_mode_reports").is_none() {
        return;
    }
    let d = common::Daemon::start_with(&["--dns-upstream", "127.0.0.1:9"]);
    let allow = common::write_profile(
        d.dir.path(),
        "allowlist",
        "description: an allow list\nnetwork_default: deny\nnetwork_allow:\n  - addresses: 127.0.0.1\n",
    );
    let net = common::write_profile(d.dir.path(), "netrules", NETRULES);
    let run = |args: &[&str]| {
        let (got, _, se) = child(Some(d.cmd(args)), "rthdr6 reuseaddr", "");
        (got, se)
    };
    let (got, se) = run(&["--profile", &allow, "--"]);
    let eperm = libc::EPERM.to_string();
    let want = |r: &str| {
        vec![
            ("rthdr6".to_string(), r.to_string()),
            ("reuseaddr".into(), "0".into()),
        ]
    };
    assert_eq!(got, want(&eperm), "allow list\n{se}");
    assert!(
        se.lines()
            .any(|l| l.contains("denied source route setsockopt(IPV6_RTHDR)")
                && l.contains("rule network default deny")),
        "allow list line\n{se}"
    );
    let (got, se) = run(&["--profile", &net, "--complain", "--"]);
    assert_eq!(got, want("0"), "complain mode\n{se}");
    assert!(
        se.contains("would deny (complain mode) source route setsockopt(IPV6_RTHDR)"),
        "complain mode line\n{se}"
    );
    drop(d);
}
