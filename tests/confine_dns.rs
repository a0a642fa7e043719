//! Real-kernel test of allow-list mode (`network_default: deny` + `network_allow:`): the
//! sandbox's DNS, sent to any address on port 53, is redirected by bpf/net.bpf.c to its
//! resolver in varmord, which answers only allowed names (asking this test's own zone
//! server on 127.0.0.53, `varmord --dns-upstream`) and allows the answered addresses.
//! Inside: an allowed name resolves (UDP unconnected and connected, TCP, IPv6, glibc's
//! getent) and connects on its allowed port, but not before it was resolved in the sandbox;
//! a denied name is REFUSED with a line naming the process; the
//! address of a denied name, a hard-coded address, another port of an allowed address and
//! UDP to an unanswered address get EPERM with a line; a deny rule wins over an answered
//! name. Outside, the same connects and sends work. And `npm install` under npm-install
//! from a local registry reached by name installs, while the package's postinstall cannot
//! connect elsewhere. Loopback only (127.0.1.x listeners).

mod common;

#[path = "common/dns.rs"]
mod dns;

use std::io::Write;
use std::net::{TcpListener, UdpSocket};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use dns::*;
use varmor_core::dnswire;

/// Runs in the sandbox (or outside, as the control) when VARMOR_DNS_CHILD is set.
#[test]
fn dns_child_helper() {
    let Ok(actions) = std::env::var("VARMOR_DNS_CHILD") else {
        return;
    };
    for a in actions.split(' ') {
        println!("VARMOR:RES {a} {}", act(a));
    }
    std::io::stdout().flush().unwrap();
}

#[test]
fn names_resolve_and_connect_only_when_allowed() {
    if common::need_root("names_resolve_and_connect_only_when_allowed").is_none() {
        return;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let (zone, server) = zone_server(stop.clone());
    let allowed = Listener::on("127.0.1.1");
    let allowed_other_port = Listener::on("127.0.1.1");
    let denied = Listener::on("127.0.1.2");
    let hard = Listener::on("127.0.1.3");
    let wild = Listener::on("127.0.1.5");
    let blocked = Listener::on("127.0.1.7");
    let udp_sink = UdpSocket::bind("127.0.1.4:0").unwrap();
    let udp_at = udp_sink.local_addr().unwrap().to_string();
    let allowed_port = allowed.0.local_addr().unwrap().port();

    let short = Listener::on("127.0.1.8");
    let d = common::Daemon::start_with(&[
        "--dns-upstream",
        &zone.to_string(),
        "--dns-grace",
        "1",
        "--dns-local-answers",
    ]);
    let yaml = format!(
        "description: allow-list test\n\
         network_default: deny\n\
         network_allow:\n  \
           - hosts: allowed.varmor.test\n    ports: [{allowed_port}]\n  \
           - hosts: \"*.wild.varmor.test\"\n\
         network:\n  - deny: connect\n    addresses: 127.0.1.7\n"
    );
    let profile = common::write_profile(d.dir.path(), "dnsallow", &yaml);
    let have_v6 = UdpSocket::bind("[::1]:0").is_ok();
    let mut acts: Vec<String> = [
        "q:allowed.varmor.test".to_string(),
        format!("tcp:{}", allowed.at()),
        format!("tcp:{}", allowed_other_port.at()),
        "q:denied.varmor.test".into(),
        format!("tcp:{}", denied.at()),
        format!("tcp:{}", hard.at()),
        format!("udp:{udp_at}"),
        // An allowed name's address, known (resolved outside) but not yet answered here.
        format!("tcp:{}#before", wild.at()),
        "cq:x.wild.varmor.test".into(),
        format!("tcp:{}", wild.at()),
        "tq:blocked.wild.varmor.test".into(),
        format!("tcp:{}", blocked.at()),
        format!("qat:{zone}/denied.varmor.test"),
        // TTL 1 + grace 1: allowed at once, refused once both have passed.
        "q:short.wild.varmor.test".into(),
        format!("tcp:{}#fresh", short.at()),
        "sleep:3000".into(),
        format!("tcp:{}#expired", short.at()),
    ]
    .to_vec();
    if have_v6 {
        acts.push("q6:allowed.varmor.test".into());
        acts.push("qm:allowed.varmor.test".into());
    }
    let mut c = d.cmd(&["--profile", &profile, "--"]);
    c.arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "dns_child_helper",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("VARMOR_DNS_CHILD", acts.join(" "))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = c.output().expect("run varmor-run");
    let (so, se) = (common::stdout(&out), common::stderr(&out));
    let got = results(&so);
    let ctx = format!(
        "stdout:\n{so}\nstderr:\n{se}\nvarmord:\n{}",
        d.stderr_text()
    );
    let res = |a: &str| {
        got.iter()
            .find(|(x, _)| x == a)
            .map(|(_, r)| r.clone())
            .unwrap_or_else(|| panic!("no result for {a}\n{ctx}"))
    };
    let eperm = libc::EPERM.to_string();
    // Allowed names resolve through the redirect; the reply shows the server asked.
    assert_eq!(
        res("q:allowed.varmor.test"),
        format!("rcode=0 addrs=127.0.1.1 from={NS4}"),
        "{ctx}"
    );
    assert_eq!(res(&format!("tcp:{}", allowed.at())), "0", "{ctx}");
    assert_eq!(
        res("cq:x.wild.varmor.test"),
        format!("rcode=0 addrs=127.0.1.5 from={NS4} peer={NS4}"),
        "{ctx}"
    );
    assert_eq!(res(&format!("tcp:{}#before", wild.at())), eperm, "{ctx}");
    assert_eq!(res(&format!("tcp:{}", wild.at())), "0", "{ctx}");
    assert_eq!(
        res("tq:blocked.wild.varmor.test"),
        format!("rcode=0 addrs=127.0.1.7 peer={NS4}"),
        "{ctx}"
    );
    // Refused: a denied name, its address, a hard-coded address, another port of an
    // allowed address, UDP to an address nothing answered, an answered address a deny
    // rule covers, a query straight to another server's port.
    assert_eq!(
        res("q:denied.varmor.test"),
        format!("rcode={} addrs= from={NS4}", dnswire::RCODE_REFUSED),
        "{ctx}"
    );
    for a in [&denied, &hard, &allowed_other_port, &blocked] {
        assert_eq!(res(&format!("tcp:{}", a.at())), eperm, "{} {ctx}", a.at());
    }
    assert_eq!(res(&format!("udp:{udp_at}")), eperm, "{ctx}");
    assert_eq!(
        res(&format!("qat:{zone}/denied.varmor.test")),
        format!("err={eperm}"),
        "{ctx}"
    );
    assert_eq!(res(&format!("tcp:{}#fresh", short.at())), "0", "{ctx}");
    assert_eq!(res(&format!("tcp:{}#expired", short.at())), eperm, "{ctx}");
    if have_v6 {
        assert_eq!(
            res("q6:allowed.varmor.test"),
            format!("rcode=0 addrs= from={NS6}"),
            "{ctx}"
        );
        // Redirected by sendmsg4 (udpv6_sendmsg hands a mapped address to udp_sendmsg);
        // the reply still shows the server asked, mapped, not the resolver.
        assert_eq!(
            res("qm:allowed.varmor.test"),
            format!("rcode=0 addrs=127.0.1.1 from={NS4M}"),
            "{ctx}"
        );
    }
    // Each refusal is a line naming its rule.
    let line = |what: &str, rule: &str| {
        assert!(
            se.lines()
                .any(|l| l.contains(&format!("denied {what}")) && l.contains(rule)),
            "no line `denied {what}` naming {rule}\n{ctx}"
        )
    };
    line("resolve denied.varmor.test", "rule network default deny");
    // ... and names the process that asked.
    line("resolve denied.varmor.test", " by confine_dns-");
    for a in [&denied, &hard, &allowed_other_port] {
        line(&format!("connect {}", a.at()), "rule network default deny");
    }
    line(&format!("send {udp_at}"), "rule network default deny");
    line(&format!("connect {}", blocked.at()), "rule network[0]");
    assert_clean(&d);

    // glibc's resolver (connected UDP, A and AAAA in parallel) through the host's
    // resolv.conf nameserver, whatever its address.
    let g = d.run(&[
        "--profile",
        &profile,
        "--",
        "getent",
        "hosts",
        "allowed.varmor.test",
    ]);
    assert!(
        common::stdout(&g).contains("127.0.1.1"),
        "getent in the sandbox: {}{}",
        common::stdout(&g),
        common::stderr(&g)
    );

    // Outside: the same connects and sends work, the zone answers directly.
    let outside: Vec<String> = vec![
        format!("tcp:{}", denied.at()),
        format!("tcp:{}", hard.at()),
        format!("tcp:{}", blocked.at()),
        format!("udp:{udp_at}"),
        format!("qat:{zone}/denied.varmor.test"),
    ];
    let o = child(&outside).output().unwrap();
    let og = results(&common::stdout(&o));
    assert_eq!(og.len(), outside.len(), "{og:?}");
    for (a, r) in &og {
        if a.starts_with("qat:") {
            assert_eq!(
                r,
                &format!("rcode=0 addrs=127.0.1.2 from={zone}"),
                "outside {a}"
            );
        } else {
            assert_eq!(r, "0", "outside {a}");
        }
    }
    drop(d);
    stop.store(true, Ordering::SeqCst);
    server.join().unwrap();
}

/// `--check` shows the compiled allow list; mistakes name the file, line and field.
#[test]
fn allow_lists_compile_and_errors_name_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let check = |name: &str, yaml: &str| {
        let p = common::write_profile(dir.path(), name, yaml);
        let o = Command::new(env!("CARGO_BIN_EXE_varmor-run"))
            .args(["--check", &p])
            .output()
            .unwrap();
        (p, format!("{}{}", common::stdout(&o), common::stderr(&o)))
    };
    let (p, ok) = check(
        "ok",
        "description: x\nnetwork_default: deny\nnetwork_allow:\n  - hosts: [registry.npmjs.org, \"*.pythonhosted.org\"]\n    ports: [443]\n  - addresses: 10.0.0.0/8\n",
    );
    assert!(ok.contains(&format!("NETWORK ALLOW LIST (2 entries; connect/send to anything else denied, {p}:2 network default deny)")), "{ok}");
    assert!(ok.contains(&format!("hosts registry.npmjs.org,*.pythonhosted.org addresses - ports 443  {p}:4 network_allow[0]")), "{ok}");
    assert!(
        ok.contains(&format!(
            "hosts - addresses 10.0.0.0/8 ports any  {p}:6 network_allow[1]"
        )),
        "{ok}"
    );
    for (name, yaml, want) in [
        ("badhost", "description: x\nnetwork_default: deny\nnetwork_allow:\n  - hosts: [a*.b]\n", ":4:"),
        ("nodeny", "description: x\nnetwork_allow:\n  - hosts: a.example\n", ":3:1: network_allow[0]: allow entries need `network_default: deny`"),
        ("field", "description: x\nnetwork_default: deny\nnetwork_allow:\n  - hosts: a.example\n    port: 443\n", ":5:5: network_allow[0]: unknown field `port`"),
        ("empty", "description: x\nnetwork_default: deny\nnetwork_allow:\n  - ports: 443\n", "names `hosts:` or `addresses:`"),
        ("default", "description: x\nnetwork_default: maybe\n", ":2:"),
    ] {
        let (p, out) = check(name, yaml);
        assert!(out.contains(&p) && out.contains(want), "{name}: want {want}: {out}");
    }
}

/// The issue's end-to-end case: `npm install` under npm-install plus an allow entry for a
/// local registry's name installs from it, and the package's postinstall cannot connect
/// anywhere else (EPERM and a line).
#[test]
fn npm_install_from_a_registry_reached_by_name() {
    if common::need_root("npm_install_from_a_registry_reached_by_name").is_none() {
        return;
    }
    if Command::new("npm").arg("--version").output().is_err() {
        return common::skip("npm_install_from_a_registry_reached_by_name: no npm");
    }
    let stop = Arc::new(AtomicBool::new(false));
    let (zone, server) = zone_server(stop.clone());
    let other = Listener::on("127.0.1.3");
    let work = tempfile::Builder::new()
        .prefix("varmor-npm")
        .tempdir()
        .unwrap();
    let w = work.path();
    for d in ["pkg", "app", "home", "cache"] {
        std::fs::create_dir_all(w.join(d)).unwrap();
    }
    std::fs::write(
        w.join("pkg/package.json"),
        r#"{"name":"hello-pkg","version":"1.0.0","scripts":{"postinstall":"node postinstall.js"}}"#,
    )
    .unwrap();
    std::fs::write(
        w.join("pkg/postinstall.js"),
        format!(
            r#"const fs = require('fs'), path = require('path');
const done = (r) => fs.writeFileSync(path.join(process.env.INIT_CWD, 'postinstall.log'), r + '\n');
const c = require('net').connect({}, '127.0.1.3');
c.on('connect', () => {{ c.destroy(); done('connect=ALLOWED'); }});
c.on('error', (e) => done('connect=' + e.code));
"#,
            other.0.local_addr().unwrap().port()
        ),
    )
    .unwrap();
    let packed = Command::new("npm")
        .args(["pack", "--silent", "--pack-destination", ".."])
        .current_dir(w.join("pkg"))
        .env("HOME", w.join("home"))
        .env("npm_config_cache", w.join("cache"))
        .output()
        .unwrap();
    assert!(
        packed.status.success(),
        "npm pack: {}",
        common::stderr(&packed)
    );
    let tgz = std::fs::read(w.join("hello-pkg-1.0.0.tgz")).unwrap();
    let reg = TcpListener::bind("127.0.1.10:0").unwrap();
    let port = reg.local_addr().unwrap().port();
    let http = registry(reg, tgz, stop.clone());

    let d =
        common::Daemon::start_with(&["--dns-upstream", &zone.to_string(), "--dns-local-answers"]);
    let yaml = format!(
        "description: npm-install and a local registry\n\
         include: [\"{}\"]\n\
         network_allow:\n  - hosts: registry.varmor.test\n    ports: [{port}]\n",
        common::profile("npm-install")
    );
    let profile = common::write_profile(d.dir.path(), "npm-local", &yaml);
    let mut c = d.cmd(&["--profile", &profile, "--"]);
    c.args(["npm", "install", "--no-audit", "--no-fund"])
        .arg(format!("--registry=http://registry.varmor.test:{port}/"))
        .arg("hello-pkg")
        .current_dir(w.join("app"))
        .env("HOME", w.join("home"))
        .env("npm_config_cache", w.join("cache"))
        .env("npm_config_update_notifier", "false");
    let o = c.output().unwrap();
    let ctx = format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        common::stdout(&o),
        common::stderr(&o)
    );
    assert!(o.status.success(), "npm install: {ctx}");
    assert!(
        w.join("app/node_modules/hello-pkg/package.json").is_file(),
        "{ctx}"
    );
    let log = std::fs::read_to_string(w.join("app/postinstall.log")).unwrap_or_default();
    assert_eq!(log.trim(), "connect=EPERM", "{ctx}");
    let want = format!("denied connect {}", other.at());
    assert!(
        common::stderr(&o)
            .lines()
            .any(|l| l.contains(&want) && l.contains("rule network default deny")),
        "no line `{want}`: {ctx}"
    );
    drop(d);
    stop.store(true, Ordering::SeqCst);
    server.join().unwrap();
    http.join().unwrap();
}

/// A local process trickling bytes into a sandbox's resolver (its TCP port, which anyone
/// on the host can connect to) does not hold up cleanup: the resolver's drop joins its
/// TCP thread and varmord's reaper waits for that, every other sandbox's cleanup too.
#[test]
fn a_trickling_tcp_client_does_not_stall_cleanup() {
    use libbpf_rs::{MapCore, MapFlags};
    if common::need_root("a_trickling_tcp_client_does_not_stall_cleanup").is_none() {
        return;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let (zone, server) = zone_server(stop.clone());
    let d =
        common::Daemon::start_with(&["--dns-upstream", &zone.to_string(), "--dns-local-answers"]);
    let profile = common::write_profile(
        d.dir.path(),
        "trickle",
        "description: x\nnetwork_default: deny\nnetwork_allow:\n  - hosts: allowed.varmor.test\n",
    );
    let mut run = d
        .cmd(&["--profile", &profile, "--", "sleep", "3"])
        .spawn()
        .unwrap();
    // The sandbox's resolver port, from v_dns (network byte order).
    let maps = varmor_kernel::bpf::Maps::open(&d.pins()).unwrap();
    let v_dns = maps.map(varmor_kernel::bpf::names::map::V_DNS).unwrap();
    let t = std::time::Instant::now();
    let port = loop {
        let found = v_dns.keys().find_map(|k| {
            let v = v_dns.lookup(&k, MapFlags::ANY).ok()??;
            Some(u16::from_be_bytes([v[0], v[1]]))
        });
        if let Some(p) = found {
            break p;
        }
        assert!(t.elapsed().as_secs() < 30, "no resolver in v_dns");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    // A 256-byte message that never completes: one byte every half second.
    conn.write_all(&[1, 0]).unwrap();
    let trickling = Arc::new(AtomicBool::new(true));
    let tr = trickling.clone();
    let trickler = std::thread::spawn(move || {
        for _ in 0..120 {
            if !tr.load(Ordering::SeqCst) || conn.write_all(&[0]).is_err() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(500));
        }
    });
    assert!(run.wait().unwrap().success());
    let sandboxes = || {
        std::fs::read_dir(&d.cgroup)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("sb-"))
            .count()
    };
    let t = std::time::Instant::now();
    while sandboxes() > 0 && t.elapsed().as_secs() < 10 {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let left = sandboxes();
    trickling.store(false, Ordering::SeqCst);
    trickler.join().unwrap();
    assert_eq!(left, 0, "sandbox cgroup still there 10 s after it ended");
    assert_clean(&d);
    drop(d);
    stop.store(true, Ordering::SeqCst);
    server.join().unwrap();
}

/// ICMP echo ("ping") sockets send where no sock_addr hook looks (sendto runs none): in
/// allow-list mode they, raw and SCTP sockets cannot be created (EPERM). Run in a network
/// namespace of its own whose net.ipv4.ping_group_range lets everyone ping (systemd's
/// default), so the host's setting is not changed; outside the sandbox the ping goes.
#[test]
fn ping_sockets_are_refused_in_allow_list_mode() {
    if common::need_root("ping_sockets_are_refused_in_allow_list_mode").is_none() {
        return;
    }
    let d = common::Daemon::start_with(&["--dns-upstream", "127.0.0.1:9"]);
    let profile = common::write_profile(
        d.dir.path(),
        "noping",
        "description: x\nnetwork_default: deny\nnetwork_allow:\n  - addresses: 127.0.1.1\n",
    );
    let run = |sandboxed: bool| {
        let inner = d.cmd(&["--profile", &profile, "--"]);
        let mut argv: Vec<String> = vec![];
        if sandboxed {
            argv.push(inner.get_program().to_string_lossy().into_owned());
            argv.extend(inner.get_args().map(|a| a.to_string_lossy().into_owned()));
        }
        let mut c = Command::new("unshare");
        c.args([
            "-n",
            "sh",
            "-c",
            "ip link set lo up && sysctl -q -w net.ipv4.ping_group_range='0 2147483647' && exec \"$@\"",
            "sh",
        ])
        .args(argv)
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", "dns_child_helper", "--nocapture", "--test-threads=1"])
        .env("VARMOR_DNS_CHILD", "ping:127.0.0.9")
        .stdin(Stdio::null());
        let o = c.output().unwrap();
        let got = results(&common::stdout(&o));
        (got, format!("{}{}", common::stdout(&o), common::stderr(&o)))
    };
    let (outside, ctx) = run(false);
    if outside.is_empty() {
        return common::skip(&format!(
            "ping_sockets_are_refused_in_allow_list_mode: no netns: {ctx}"
        ));
    }
    assert_eq!(
        outside,
        vec![("ping:127.0.0.9".to_string(), "0".to_string())],
        "{ctx}"
    );
    let (inside, ctx) = run(true);
    assert_eq!(
        inside,
        vec![("ping:127.0.0.9".to_string(), libc::EPERM.to_string())],
        "{ctx}"
    );
}

/// Without `varmord --dns-local-answers`, an allowed name whose answer is a loopback
/// address (the test zone's are) does not make that address reachable: the answer is
/// relayed, the connect gets EPERM, and the resolve line says why. Outside it connects.
#[test]
fn a_local_answer_is_not_allowed_by_name() {
    if common::need_root("a_local_answer_is_not_allowed_by_name").is_none() {
        return;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let (zone, server) = zone_server(stop.clone());
    let allowed = Listener::on("127.0.1.1");
    let d = common::Daemon::start_with(&["--dns-upstream", &zone.to_string()]);
    let profile = common::write_profile(
        d.dir.path(),
        "local",
        "description: x\nnetwork_default: deny\nnetwork_allow:\n  - hosts: allowed.varmor.test\n",
    );
    let acts = [
        "q:allowed.varmor.test".to_string(),
        format!("tcp:{}", allowed.at()),
    ];
    let mut c = d.cmd(&["--profile", &profile, "--"]);
    c.arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "dns_child_helper",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("VARMOR_DNS_CHILD", acts.join(" "));
    let o = c.output().unwrap();
    let (out, se) = (common::stdout(&o), common::stderr(&o));
    let ctx = format!("stdout:\n{out}\nstderr:\n{se}");
    let res = results(&out);
    assert_eq!(res.len(), 2, "{ctx}");
    assert!(res[0].1.starts_with("rcode=0 addrs=127.0.1.1"), "{ctx}");
    assert_eq!(res[1].1, libc::EPERM.to_string(), "{ctx}");
    assert!(
        se.lines().any(|l| l.contains(
            "denied resolve allowed.varmor.test (answered 127.0.1.1: a local address is not allowed by name"
        )),
        "{ctx}"
    );
    let outside = child(&acts[1..]).output().unwrap();
    assert_eq!(
        results(&common::stdout(&outside)),
        vec![(acts[1].clone(), "0".to_string())]
    );
    drop(d);
    stop.store(true, Ordering::SeqCst);
    server.join().unwrap();
}
