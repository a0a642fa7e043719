//! Differential test: the kernel's matcher (bpf/path.bpf.h, bpf/netmatch.bpf.h, run in this
//! kernel through bpf/matchtest.bpf.c with BPF_PROG_TEST_RUN) against the Rust reference
//! (crates/core/src/matcher.rs) on thousands of generated cases, with the rules in real pinned maps.
//! Needs root and BPF; otherwise prints why and returns.

use std::net::IpAddr;

use varmor_core::abi;
use varmor_core::matcher::{reference_net, reference_path, PathIndex};
use varmor_core::profile::file::{Access, Action, PathRule};
use varmor_core::profile::net::{parse_addr, Dirs, NetRule, Ports};
use varmor_core::profile::pattern::{Pattern, PatternKind};
use varmor_core::rules::RuleSet;
use varmor_kernel::bpf::matchtest::TempPins;
use varmor_kernel::bpf::{Maps, MatchTest};
use varmor_kernel::encode::encode;

/// xorshift64*: deterministic cases without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
}

const SEGS: &[&str] = &["a", "b", "ab", "etc", "curl", "x.y", "c"];

fn long_seg() -> String {
    "L".repeat(120)
}

fn gen_path(r: &mut Rng) -> String {
    let n = 1 + r.below(5);
    let mut segs: Vec<String> = (0..n).map(|_| r.pick(SEGS).to_string()).collect();
    match r.below(8) {
        0 => segs.insert(0, long_seg()),
        1 => segs.insert(r.below(n), format!("{}/{}", long_seg(), long_seg())),
        2 => segs.insert(
            0,
            format!(
                "{}/{}/{}/{}",
                long_seg(),
                long_seg(),
                long_seg(),
                long_seg()
            ),
        ),
        _ => {}
    }
    format!("/{}", segs.join("/"))
}

fn gen_pattern(r: &mut Rng) -> String {
    let wild = ["*", "?", "a*", "*b", "x.?"];
    let n = 1 + r.below(3);
    let mut segs: Vec<String> = (0..n).map(|_| r.pick(SEGS).to_string()).collect();
    if r.below(6) == 0 {
        segs.insert(0, long_seg());
    }
    let body = segs.join("/");
    let w = r.pick(&wild).to_string();
    match r.below(9) {
        0 | 1 => format!("/{body}"),
        2 | 3 => format!("/{body}/**"),
        4 | 5 => format!("**/{body}"),
        6 => format!("/{}/**/{}", segs[0], w),
        7 => format!("/{}/{w}/**", segs[0]),
        _ => format!("**/{w}/{}", segs[n - 1]),
    }
}

fn gen_rules(r: &mut Rng) -> Vec<PathRule> {
    let n = 1 + r.below(40);
    let mut globs = 0;
    let mut out = Vec::new();
    for _ in 0..n {
        let Ok(pattern) = Pattern::parse(&gen_pattern(r)) else {
            continue;
        };
        if pattern.kind() == PatternKind::Glob {
            globs += 1;
            if globs > abi::GLOB_RULES {
                continue;
            }
        }
        if matches!(pattern.kind(), PatternKind::Prefix | PatternKind::Suffix)
            && pattern.literal().len() > abi::LPM_PATH_MAX
        {
            continue; // widened by design (crates/kernel/src/encode.rs)
        }
        let access = Access::from_bits(1 << r.below(3)).unwrap_or(Access::EXEC);
        let action = if r.below(3) == 0 {
            Action::Audit
        } else {
            Action::Deny
        };
        out.push(PathRule {
            pattern,
            access,
            action,
            origin: r.below(50) as u32,
        });
    }
    out
}

const ADDRS: &[&str] = &[
    "1.1.1.1",
    "10.0.0.0/8",
    "10.1.0.0/16",
    "127.0.0.0/8",
    "0.0.0.0/0",
    "::1",
    "2001:db8::/32",
    "::/0",
    "::ffff:127.0.0.1",
    "fe80::/10",
];
const QUERIES: &[&str] = &[
    "1.1.1.1",
    "1.1.1.2",
    "10.1.2.3",
    "10.2.0.1",
    "127.0.0.1",
    "8.8.8.8",
    "::1",
    "2001:db8::5",
    "fe80::1",
    "::ffff:127.0.0.1",
    "::ffff:10.1.2.3",
    "::2",
];

fn gen_net(r: &mut Rng) -> Vec<NetRule> {
    let n = 1 + r.below(12);
    (0..n)
        .map(|i| {
            let addrs = (0..r.below(3))
                .filter_map(|_| parse_addr(ADDRS[r.below(ADDRS.len())]).ok().flatten())
                .collect();
            let ports = match r.below(4) {
                0 => vec![],
                1 => vec![Ports { lo: 80, hi: 80 }],
                2 => vec![Ports { lo: 1000, hi: 2000 }],
                _ => vec![
                    Ports { lo: 22, hi: 22 },
                    Ports { lo: 443, hi: 443 },
                    Ports {
                        lo: 60000,
                        hi: 65535,
                    },
                ],
            };
            NetRule {
                action: if r.below(3) == 0 {
                    Action::Audit
                } else {
                    Action::Deny
                },
                dirs: Dirs::try_from(1 + r.below(7) as u32).unwrap_or(Dirs::ALL),
                addrs,
                ports,
                origin: (i * 3 % 7) as u32,
            }
        })
        .collect()
}

#[test]
fn kernel_matcher_equals_reference() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipping: needs root to load BPF programs");
        return;
    }
    let pins = TempPins::new("matchtest");
    let maps = match Maps::open(&pins.0) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("skipping: BPF maps unavailable: {e}");
            return;
        }
    };
    let mt = MatchTest::load(&pins.0).expect("matchtest.bpf.o loads");
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut path_cases, mut net_cases, mut long_cases, mut hits) =
        (0usize, 0usize, 0usize, 0usize);
    for round in 0..120u32 {
        let ns = 0x7e00_0000 + round;
        let mut rs = RuleSet::empty("diff");
        rs.paths = gen_rules(&mut r);
        rs.net = gen_net(&mut r);
        let e = encode(&rs, ns, u64::from(round));
        maps.populate(&e).expect("populate");
        let ix = PathIndex::new(&rs.paths);
        for _ in 0..40 {
            let p = gen_path(&mut r);
            let want = ix.lookup(p.as_bytes());
            assert_eq!(want, reference_path(&rs.paths, p.as_bytes()));
            let got = mt.path(ns, p.as_bytes()).expect("mt_path");
            let ctx = || {
                format!(
                    "path {p} ({} bytes), rules {:?}",
                    p.len(),
                    rs.paths
                        .iter()
                        .map(|r| r.pattern.as_str())
                        .collect::<Vec<_>>()
                )
            };
            assert_eq!(got.deny, want.deny.bits(), "deny of {}", ctx());
            assert_eq!(got.audit, want.audit.bits(), "audit of {}", ctx());
            assert_eq!(
                got.deny_rule,
                want.deny_rule.unwrap_or(abi::NO_RULE),
                "deny rule of {}",
                ctx()
            );
            assert_eq!(
                got.audit_rule,
                want.audit_rule.unwrap_or(abi::NO_RULE),
                "audit rule of {}",
                ctx()
            );
            path_cases += 1;
            long_cases += usize::from(p.len() >= abi::PATH_MAX);
            hits += usize::from(got.deny | got.audit != 0);
        }
        for _ in 0..30 {
            let a: IpAddr = r.pick(QUERIES).parse().unwrap();
            let port = *r.pick(&[80u16, 443, 22, 1000, 1500, 2001, 65535, 0]);
            let dir = *r.pick(&[abi::NET_CONNECT, abi::NET_SEND, abi::NET_BIND]);
            let got = mt.net(ns, dir, a, port).expect("mt_net");
            assert_eq!(
                got,
                reference_net(&rs, dir, a, port),
                "{a} port {port} dir {dir}: {:?}",
                rs.net
            );
            net_cases += 1;
        }
        maps.clear(&e).expect("clear");
        assert_eq!(
            maps.count_ns_entries(ns),
            0,
            "entries of namespace {ns} left after clear"
        );
    }
    eprintln!(
        "compared {path_cases} path cases ({long_cases} of >= {} bytes, {hits} matching) and {net_cases} network cases",
        abi::PATH_MAX
    );
    assert!(
        hits > path_cases / 10,
        "too few matching cases to mean anything"
    );
}

#[test]
fn kernel_path_builder_equals_getcwd() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipping: needs root to load BPF programs");
        return;
    }
    let pins = TempPins::new("cwdtest");
    if let Err(e) = Maps::open(&pins.0) {
        eprintln!("skipping: BPF maps unavailable: {e}");
        return;
    }
    let mt = MatchTest::load(&pins.0).expect("matchtest.bpf.o loads");
    let (path, trunc) = mt.cwd().expect("mt_cwd");
    let cwd = std::env::current_dir().unwrap();
    assert!(!trunc);
    assert_eq!(String::from_utf8_lossy(&path), cwd.to_string_lossy());
    // A kernel read that fails (here: pointers into the first user page) leaves the
    // path truncated, never a path made of stale or zeroed bytes.
    assert_eq!(
        mt.bad_reads_truncate().expect("mt_bad_reads"),
        [true, true, true],
        "unreadable directory dentry, leaf dentry, mount"
    );
}

#[test]
fn lsm_probe_reports_the_kernel() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipping: needs root");
        return;
    }
    eprintln!("probe_lsm: {:?}", varmor_kernel::bpf::probe_lsm());
    eprintln!(
        "verify_lsm_objects: {:?}",
        varmor_kernel::bpf::verify_lsm_objects()
    );
}
