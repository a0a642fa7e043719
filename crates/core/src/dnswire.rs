//! A small, bounded DNS message reader/writer (RFC 1035) for varmord's resolver: the
//! sandbox's query (header + one question) and the upstream's answer (A/AAAA records,
//! CNAME chains, name compression). Every length is checked against the message and every
//! count bounded; the sandbox writes the query, so nothing in it is trusted.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use thiserror::Error;

/// Largest message read or written (UDP and TCP alike; EDNS answers above it are refused).
pub const MAX_MSG: usize = 4096;
/// Most records of an answer section looked at.
pub const MAX_RECORDS: usize = 256;
/// Most compression pointers followed in one name.
const MAX_JUMPS: usize = 32;
/// Longest name in wire form (RFC 1035 2.3.4).
const MAX_WIRE_NAME: usize = 255;

pub const TYPE_A: u16 = 1;
pub const TYPE_CNAME: u16 = 5;
pub const TYPE_AAAA: u16 = 28;
pub const TYPE_OPT: u16 = 41;
pub const CLASS_IN: u16 = 1;
pub const RCODE_FORMERR: u8 = 1;
pub const RCODE_SERVFAIL: u8 = 2;
pub const RCODE_NXDOMAIN: u8 = 3;
pub const RCODE_REFUSED: u8 = 5;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum WireError {
    #[error("message of {0} bytes (12 to {MAX_MSG})")]
    Size(usize),
    #[error("truncated at byte {0}")]
    Truncated(usize),
    #[error("not a standard query (flags {0:#06x})")]
    NotQuery(u16),
    #[error("{0} questions (exactly one is answered)")]
    Questions(u16),
    #[error("a query with records in its answer or authority section")]
    Records,
    #[error("bad name at byte {0}")]
    Name(usize),
    #[error("answer does not match the question")]
    Mismatch,
}

fn u16_at(m: &[u8], off: usize) -> Result<u16, WireError> {
    m.get(off..off + 2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .ok_or(WireError::Truncated(off))
}

fn u32_at(m: &[u8], off: usize) -> Result<u32, WireError> {
    m.get(off..off + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or(WireError::Truncated(off))
}

/// Reads the name at `off` (following compression pointers when `pointers`), lower case,
/// no trailing dot ("" is the root). Returns it and the offset after it where it began.
/// Labels hold letters, digits, `-` and `_` only: a name with a dot or a control byte
/// inside a label would not mean what it prints as.
fn read_name(m: &[u8], off: usize, pointers: bool) -> Result<(String, usize), WireError> {
    let mut name = String::new();
    let (mut at, mut end, mut jumps, mut wire) = (off, None, 0usize, 0usize);
    loop {
        let len = *m.get(at).ok_or(WireError::Truncated(at))? as usize;
        match len & 0xc0 {
            0x00 if len == 0 => {
                return Ok((name, end.unwrap_or(at + 1)));
            }
            0x00 => {
                let label = m
                    .get(at + 1..at + 1 + len)
                    .ok_or(WireError::Truncated(at))?;
                wire += len + 1;
                if wire + 1 > MAX_WIRE_NAME {
                    return Err(WireError::Name(at));
                }
                if !label
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
                {
                    return Err(WireError::Name(at));
                }
                if !name.is_empty() {
                    name.push('.');
                }
                name.extend(label.iter().map(|b| b.to_ascii_lowercase() as char));
                at += 1 + len;
            }
            0xc0 if pointers => {
                let target = (u16_at(m, at)? & 0x3fff) as usize;
                jumps += 1;
                // Only backwards, and a bounded number of times: no loops.
                if jumps > MAX_JUMPS || target >= at {
                    return Err(WireError::Name(at));
                }
                end.get_or_insert(at + 2);
                at = target;
            }
            _ => return Err(WireError::Name(at)),
        }
    }
}

/// A sandbox's query: one question, no answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub id: u16,
    pub flags: u16,
    pub name: String,
    pub qtype: u16,
    pub qclass: u16,
    /// Offset just past the question (header + question = what a reply repeats).
    pub question_end: usize,
}

/// Parses a query as a stub resolver sends it (QR 0, opcode QUERY, one question, no
/// compression in it, at most one additional record such as EDNS's OPT).
pub fn parse_query(m: &[u8]) -> Result<Query, WireError> {
    if m.len() < 12 || m.len() > MAX_MSG {
        return Err(WireError::Size(m.len()));
    }
    let (id, flags) = (u16_at(m, 0)?, u16_at(m, 2)?);
    if flags & 0x8000 != 0 || (flags >> 11) & 0xf != 0 {
        return Err(WireError::NotQuery(flags));
    }
    let qd = u16_at(m, 4)?;
    if qd != 1 {
        return Err(WireError::Questions(qd));
    }
    if u16_at(m, 6)? != 0 || u16_at(m, 8)? != 0 || u16_at(m, 10)? > 1 {
        return Err(WireError::Records);
    }
    let (name, off) = read_name(m, 12, false)?;
    let (qtype, qclass) = (u16_at(m, off)?, u16_at(m, off + 2)?);
    Ok(Query {
        id,
        flags,
        name,
        qtype,
        qclass,
        question_end: off + 4,
    })
}

/// A reply to `q` (whose bytes are `query`) with no records and `rcode`.
pub fn reply(query: &[u8], q: &Query, rcode: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(q.question_end);
    out.extend_from_slice(&q.id.to_be_bytes());
    // QR, opcode 0, RD as asked, RA, rcode.
    let flags = 0x8000 | (q.flags & 0x0100) | 0x0080 | u16::from(rcode & 0xf);
    out.extend_from_slice(&flags.to_be_bytes());
    out.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
    out.extend_from_slice(&query[12..q.question_end]);
    out
}

/// FORMERR for a message whose header could be read (the id is kept), else nothing.
pub fn formerr(query: &[u8]) -> Option<Vec<u8>> {
    let id = query.get(0..2)?;
    let mut out = id.to_vec();
    out.extend_from_slice(&(0x8080u16 | u16::from(RCODE_FORMERR)).to_be_bytes());
    out.extend_from_slice(&[0; 8]);
    Some(out)
}

/// The addresses an upstream's answer to `q` gives for `q.name`: A/AAAA records of the
/// name or of a name a CNAME chain from it leads to, each with its TTL (seconds).
/// The answer must be a reply with `q`'s id and question; a non-zero rcode gives none.
pub fn answer_addrs(m: &[u8], q: &Query) -> Result<Vec<(IpAddr, u32)>, WireError> {
    if m.len() < 12 || m.len() > MAX_MSG {
        return Err(WireError::Size(m.len()));
    }
    let flags = u16_at(m, 2)?;
    if u16_at(m, 0)? != q.id || flags & 0x8000 == 0 || u16_at(m, 4)? != 1 {
        return Err(WireError::Mismatch);
    }
    let (name, mut off) = read_name(m, 12, true)?;
    if name != q.name || u16_at(m, off)? != q.qtype || u16_at(m, off + 2)? != q.qclass {
        return Err(WireError::Mismatch);
    }
    off += 4;
    if flags & 0xf != 0 {
        return Ok(vec![]);
    }
    let an = (u16_at(m, 6)? as usize).min(MAX_RECORDS);
    let mut records = Vec::with_capacity(an);
    for _ in 0..an {
        let (owner, o) = read_name(m, off, true)?;
        let (rtype, class, ttl) = (u16_at(m, o)?, u16_at(m, o + 2)?, u32_at(m, o + 4)?);
        let rdlen = u16_at(m, o + 8)? as usize;
        let rdata = o + 10;
        if rdata + rdlen > m.len() {
            return Err(WireError::Truncated(rdata));
        }
        let data = match (rtype, class, rdlen) {
            (TYPE_A, CLASS_IN, 4) => {
                let b: [u8; 4] = m[rdata..rdata + 4]
                    .try_into()
                    .map_err(|_| WireError::Truncated(rdata))?;
                Some(Ok(IpAddr::V4(Ipv4Addr::from(b))))
            }
            (TYPE_AAAA, CLASS_IN, 16) => {
                let b: [u8; 16] = m[rdata..rdata + 16]
                    .try_into()
                    .map_err(|_| WireError::Truncated(rdata))?;
                Some(Ok(IpAddr::V6(Ipv6Addr::from(b))))
            }
            (TYPE_CNAME, CLASS_IN, _) => Some(Err(read_name(m, rdata, true)?.0)),
            _ => None,
        };
        if let Some(d) = data {
            records.push((owner, d, ttl.min(i32::MAX as u32)));
        }
        off = rdata + rdlen;
    }
    // Names the chain reaches, grown until nothing changes (bounded by the record count).
    let mut names: BTreeSet<String> = BTreeSet::from([q.name.clone()]);
    for _ in 0..=records.len() {
        let before = names.len();
        for (owner, d, _) in &records {
            if let Err(target) = d {
                if names.contains(owner) {
                    names.insert(target.clone());
                }
            }
        }
        if names.len() == before {
            break;
        }
    }
    Ok(records
        .into_iter()
        .filter(|(owner, _, _)| names.contains(owner))
        .filter_map(|(_, d, ttl)| d.ok().map(|a| (a, ttl)))
        .collect())
}

/// Cuts every record's TTL in `m` (a reply already checked by `answer_addrs`) to `max`,
/// so that the sandbox asks again before the addresses it was given leave its allow map.
/// The OPT pseudo-record (whose TTL field is flags) is left alone.
pub fn clamp_ttls(m: &mut [u8], max: u32) -> Result<(), WireError> {
    if m.len() < 12 || m.len() > MAX_MSG {
        return Err(WireError::Size(m.len()));
    }
    let (_, mut off) = read_name(m, 12, true)?;
    off += 4;
    let records = [6, 8, 10]
        .iter()
        .map(|&at| u16_at(m, at).map(usize::from))
        .sum::<Result<usize, _>>()?
        .min(MAX_RECORDS * 3);
    for _ in 0..records {
        let (_, o) = read_name(m, off, true)?;
        let (rtype, ttl, rdlen) = (u16_at(m, o)?, u32_at(m, o + 4)?, u16_at(m, o + 8)?);
        if rtype != TYPE_OPT && ttl > max {
            m[o + 4..o + 8].copy_from_slice(&max.to_be_bytes());
        }
        off = o + 10 + usize::from(rdlen);
        if off > m.len() {
            return Err(WireError::Truncated(o + 10));
        }
    }
    Ok(())
}

/// `name` in wire form, uncompressed (labels are not checked: the test zone's builder).
pub fn encode_name(name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for l in name.split('.').filter(|l| !l.is_empty()) {
        out.push(l.len().min(63) as u8);
        out.extend_from_slice(&l.as_bytes()[..l.len().min(63)]);
    }
    out.push(0);
    out
}

/// A query for `name` (the tests' stub resolver).
pub fn build_query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut out = id.to_be_bytes().to_vec();
    out.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    out.extend(encode_name(name));
    out.extend_from_slice(&qtype.to_be_bytes());
    out.extend_from_slice(&CLASS_IN.to_be_bytes());
    out
}

/// An answer to `q` with `records` (owner, type, ttl, rdata), each owner written as a
/// compression pointer to the question's name when it is that name (the tests' server).
pub fn build_answer(query: &[u8], q: &Query, records: &[(String, u16, u32, Vec<u8>)]) -> Vec<u8> {
    let mut out = reply(query, q, 0);
    out[7] = records.len().min(255) as u8;
    for (owner, t, ttl, rdata) in records.iter().take(255) {
        if *owner == q.name {
            out.extend_from_slice(&[0xc0, 12]);
        } else {
            out.extend(encode_name(owner));
        }
        out.extend_from_slice(&t.to_be_bytes());
        out.extend_from_slice(&CLASS_IN.to_be_bytes());
        out.extend_from_slice(&ttl.to_be_bytes());
        out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        out.extend_from_slice(rdata);
    }
    out
}

#[cfg(test)]
#[path = "dnswire_tests.rs"]
mod tests;
