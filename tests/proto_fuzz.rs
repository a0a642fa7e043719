//! Property-based fuzzing of varmord's decoder and validator (bounded, runs in CI):
//! arbitrary bytes and mutated valid requests never panic or hang the decoder, and
//! anything that decodes is either rejected by `RuleSet::validate` or within every bound.
//! A seed corpus lives in tests/corpus/proto/ (one frame body per file).

use std::io::Write;
use std::os::unix::net::UnixStream;

use proptest::prelude::*;
use varmor_core::proto::{read_frame, ProtoError, Request, MAX_FRAME};
use varmor_core::rules::{limits, RuleSet};

fn decode(body: &[u8]) -> Result<Request, ProtoError> {
    let (a, b) = UnixStream::pair().unwrap();
    let mut frame = (body.len() as u32).to_be_bytes().to_vec();
    frame.extend_from_slice(body);
    let writer = std::thread::spawn(move || {
        let _ = (&a).write_all(&frame);
    });
    let r = read_frame::<Request>(&b, 1).map(|(r, _)| r);
    writer.join().unwrap();
    r
}

fn valid_body() -> String {
    let yaml = "file:\n  - deny: read\n    paths: [/etc/shadow, '**/curl', '/home/*/.ssh/**']\nnetwork:\n  - deny: connect\n    addresses: [10.0.0.0/8]\n    ports: [80, '1000-2000']\n";
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("p.yaml");
    std::fs::write(&p, yaml).unwrap();
    let (rules, _) = varmor_core::profile::compile(p.to_str().unwrap()).unwrap();
    serde_json::to_string(&Request::Confine {
        version: varmor_core::proto::PROTO_VERSION,
        mnt_ns: 4026532000,
        rules: Box::new(rules),
        quiet: false,
        learn: false,
        color: false,
    })
    .unwrap()
}

fn check(req: Request) {
    if let Request::Confine { rules, .. } = req {
        if rules.validate().is_ok() {
            assert!(rules.paths.len() <= limits::PATH_RULES);
            assert!(rules.net.len() <= limits::NET_RULES);
            assert!(rules
                .paths
                .iter()
                .all(|r| r.pattern.as_str().len() < varmor_core::abi::PATH_MAX));
            assert!(rules
                .net
                .iter()
                .all(|r| r.ports.iter().all(|p| p.lo >= 1 && p.lo <= p.hi)));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(r) = decode(&body) { check(r) }
    }

    #[test]
    fn mutated_requests_are_rejected_or_bounded(pos in 0usize..4096, byte in any::<u8>(), cut in 0usize..4096) {
        let mut body = valid_body().into_bytes();
        let n = body.len();
        body[pos % n] = byte;
        body.truncate(n - cut % n.max(1) / 8);
        if let Ok(r) = decode(&body) { check(r) }
    }

    #[test]
    fn field_swaps_are_revalidated(field in prop::sample::select(vec![
        ("\"/etc/shadow\"", "\"etc/shadow\""),
        ("\"/etc/shadow\"", "\"/etc/**/x/**\""),
        ("\"10.0.0.0/8\"", "\"10.0.0.1/8\""),
        ("\"10.0.0.0/8\"", "\"999.0.0.0/8\""),
        ("\"lo\":80", "\"lo\":0"),
        ("\"hi\":2000", "\"hi\":10"),
        ("\"access\":4", "\"access\":2147483648"),
        ("\"version\":1,\"profile\"", "\"version\":2,\"profile\""),
        ("\"origin\":0", "\"origin\":99"),
    ])) {
        let body = valid_body().replacen(field.0, field.1, 1);
        prop_assume!(body != valid_body());
        match decode(body.as_bytes()) {
            Err(_) => {}
            Ok(Request::Confine { rules, .. }) => prop_assert!(rules.validate().is_err(), "accepted {}", field.1),
            Ok(other) => prop_assert!(false, "became {:?}", other),
        }
    }
}

#[test]
fn corpus_never_panics() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/proto");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).expect("corpus dir") {
        let body = std::fs::read(e.unwrap().path()).unwrap();
        if let Ok(r) = decode(&body) {
            check(r)
        }
        n += 1;
    }
    assert!(n >= 5, "corpus has {n} entries");
}

#[test]
fn oversize_is_refused_before_reading() {
    let (a, b) = UnixStream::pair().unwrap();
    (&a).write_all(&((MAX_FRAME as u32) + 1).to_be_bytes())
        .unwrap();
    assert!(matches!(
        read_frame::<Request>(&b, 1),
        Err(ProtoError::TooLarge(_))
    ));
    let big = RuleSet::empty("x");
    assert!(big.validate().is_ok());
}
