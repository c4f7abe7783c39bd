//! TFTP (RFC 1350): a read request for a file that should not exist. Any reply (an ERROR packet,
//! or DATA) shows an unauthenticated file service.

pub const PROBE_FILE: &str = "iotassure-probe-does-not-exist";

pub fn rrq() -> Vec<u8> {
    let mut p = vec![0, 1];
    p.extend_from_slice(PROBE_FILE.as_bytes());
    p.push(0);
    p.extend_from_slice(b"octet");
    p.push(0);
    p
}

/// Describes a reply: `ERROR 1: File not found`, `DATA block 1 (n bytes)`.
pub fn describe(b: &[u8]) -> Option<String> {
    if b.len() < 4 {
        return None;
    }
    match u16::from_be_bytes([b[0], b[1]]) {
        3 => Some(format!(
            "DATA block {} ({} bytes)",
            u16::from_be_bytes([b[2], b[3]]),
            b.len() - 4
        )),
        5 => Some(format!(
            "ERROR {}: {}",
            u16::from_be_bytes([b[2], b[3]]),
            String::from_utf8_lossy(&b[4..]).trim_end_matches('\0')
        )),
        6 => Some("OACK".into()),
        _ => None,
    }
}
