//! Unit tests of crates/core/src/dnswire.rs: queries, replies, compression, CNAME chains, hostile input.

use super::*;

fn q(name: &str) -> (Vec<u8>, Query) {
    let m = build_query(0x1234, name, TYPE_A);
    let p = parse_query(&m).unwrap();
    (m, p)
}

#[test]
fn a_query_parses_and_is_refused_with_its_question() {
    let (m, p) = q("Registry.NPMJS.org");
    assert_eq!(p.name, "registry.npmjs.org");
    assert_eq!((p.id, p.qtype, p.qclass), (0x1234, TYPE_A, CLASS_IN));
    let r = reply(&m, &p, RCODE_REFUSED);
    assert_eq!(&r[0..2], &[0x12, 0x34]);
    assert_eq!(r[3] & 0xf, RCODE_REFUSED);
    assert_eq!(&r[12..], &m[12..]);
}

#[test]
fn hostile_queries_are_errors_not_panics() {
    let (m, _) = q("a.example");
    for cut in 0..m.len() {
        assert!(parse_query(&m[..cut]).is_err(), "cut {cut}");
    }
    let mut two = m.clone();
    two[5] = 2;
    assert_eq!(parse_query(&two), Err(WireError::Questions(2)));
    let mut answer = m.clone();
    answer[2] |= 0x80;
    assert!(matches!(parse_query(&answer), Err(WireError::NotQuery(_))));
    // A pointer in a query, a dot inside a label, a label running past the end.
    let mut ptr = m[..12].to_vec();
    ptr.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
    assert!(matches!(parse_query(&ptr), Err(WireError::Name(_))));
    let mut dot = m[..12].to_vec();
    dot.extend_from_slice(&[3, b'a', b'.', b'b', 0, 0, 1, 0, 1]);
    assert!(matches!(parse_query(&dot), Err(WireError::Name(_))));
    let mut long = m[..12].to_vec();
    long.extend_from_slice(&[60, b'a']);
    assert!(parse_query(&long).is_err());
    assert!(parse_query(&vec![0; MAX_MSG + 1]).is_err());
    // A name over 255 bytes.
    let mut big = m[..12].to_vec();
    for _ in 0..5 {
        big.push(63);
        big.extend_from_slice(&[b'a'; 63]);
    }
    big.extend_from_slice(&[0, 0, 1, 0, 1]);
    assert!(matches!(parse_query(&big), Err(WireError::Name(_))));
    assert!(formerr(&m).is_some_and(|f| f[3] & 0xf == RCODE_FORMERR));
}

#[test]
fn answers_follow_cname_chains_and_ignore_other_owners() {
    let (m, p) = q("www.example");
    let recs = vec![
        (
            "www.example".to_string(),
            TYPE_CNAME,
            60,
            encode_name("cdn.example"),
        ),
        ("cdn.example".to_string(), TYPE_A, 30, vec![10, 0, 0, 1]),
        ("other.example".to_string(), TYPE_A, 30, vec![10, 0, 0, 2]),
        ("www.example".to_string(), TYPE_AAAA, 99, vec![0xfd; 16]),
    ];
    let a = build_answer(&m, &p, &recs);
    let got = answer_addrs(&a, &p).unwrap();
    assert_eq!(
        got,
        vec![
            ("10.0.0.1".parse().unwrap(), 30),
            (IpAddr::V6(Ipv6Addr::from([0xfd; 16])), 99)
        ]
    );
    // Another id, another question: not an answer to this query.
    let (_, other) = q("x.example");
    assert_eq!(answer_addrs(&a, &other), Err(WireError::Mismatch));
    for cut in 12..a.len() {
        assert!(
            answer_addrs(&a[..cut], &p).map_or(true, |v| v.len() < 2),
            "cut {cut}"
        );
    }
    // NXDOMAIN gives nothing.
    let nx = reply(&m, &p, RCODE_NXDOMAIN);
    assert_eq!(answer_addrs(&nx, &p), Ok(vec![]));
}

#[test]
fn compression_loops_and_forward_pointers_are_refused() {
    let (m, p) = q("a.example");
    let mut a = reply(&m, &p, 0);
    a[7] = 1;
    let here = a.len();
    // A pointer to itself.
    a.extend_from_slice(&[0xc0 | (here >> 8) as u8, here as u8]);
    a.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4]);
    assert!(matches!(answer_addrs(&a, &p), Err(WireError::Name(_))));
}

#[test]
fn ttls_are_cut_to_the_longest_the_allow_map_keeps() {
    let (m, p) = q("www.example");
    let recs = vec![
        ("www.example".to_string(), TYPE_A, 86_400, vec![10, 0, 0, 1]),
        ("www.example".to_string(), TYPE_A, 30, vec![10, 0, 0, 2]),
    ];
    let mut a = build_answer(&m, &p, &recs);
    clamp_ttls(&mut a, 3600).unwrap();
    assert_eq!(
        answer_addrs(&a, &p).unwrap(),
        vec![
            ("10.0.0.1".parse().unwrap(), 3600),
            ("10.0.0.2".parse().unwrap(), 30)
        ]
    );
    for cut in 12..a.len() {
        let mut short = a[..cut].to_vec();
        let _ = clamp_ttls(&mut short, 1);
    }
}
