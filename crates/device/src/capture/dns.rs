//! DNS messages seen in a capture: the names the device asks for, and the addresses (A, AAAA,
//! through CNAME chains) the answers give, so destinations can be named.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::services::mdns::name;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Message {
    pub id: u16,
    pub response: bool,
    /// (name, qtype)
    pub questions: Vec<(String, u16)>,
    /// (owner name, address)
    pub addresses: Vec<(String, IpAddr)>,
    /// (alias, canonical name)
    pub cnames: Vec<(String, String)>,
}

/// Parses a DNS message (UDP payload, or TCP payload without its 2-byte length prefix).
pub fn parse(msg: &[u8]) -> Option<Message> {
    if msg.len() < 12 {
        return None;
    }
    let id = u16::from_be_bytes([msg[0], msg[1]]);
    let response = msg[2] & 0x80 != 0;
    let opcode = (msg[2] >> 3) & 0x0f;
    if opcode != 0 {
        return None;
    }
    let qd = u16::from_be_bytes([msg[4], msg[5]]) as usize;
    let an = u16::from_be_bytes([msg[6], msg[7]]) as usize;
    if qd > 16 {
        return None;
    }
    let mut m = Message {
        id,
        response,
        ..Default::default()
    };
    let mut i = 12;
    for _ in 0..qd {
        let (n, j) = name(msg, i, 0)?;
        let t = msg.get(j..j + 4)?;
        m.questions
            .push((n.to_ascii_lowercase(), u16::from_be_bytes([t[0], t[1]])));
        i = j + 4;
    }
    for _ in 0..an.min(64) {
        let Some((owner, j)) = name(msg, i, 0) else {
            break;
        };
        let Some(hdr) = msg.get(j..j + 10) else { break };
        let typ = u16::from_be_bytes([hdr[0], hdr[1]]);
        let len = u16::from_be_bytes([hdr[8], hdr[9]]) as usize;
        let Some(rdata) = msg.get(j + 10..j + 10 + len) else {
            break;
        };
        let owner = owner.to_ascii_lowercase();
        match (typ, len) {
            (1, 4) => m.addresses.push((
                owner,
                IpAddr::V4(Ipv4Addr::new(rdata[0], rdata[1], rdata[2], rdata[3])),
            )),
            (28, 16) => {
                let mut b = [0u8; 16];
                b.copy_from_slice(rdata);
                m.addresses.push((owner, IpAddr::V6(Ipv6Addr::from(b))));
            }
            (5, _) => {
                if let Some((target, _)) = name(msg, j + 10, 0) {
                    m.cnames.push((owner, target.to_ascii_lowercase()));
                }
            }
            _ => {}
        }
        i = j + 10 + len;
    }
    Some(m)
}

pub fn qtype_name(t: u16) -> String {
    match t {
        1 => "A".into(),
        28 => "AAAA".into(),
        5 => "CNAME".into(),
        12 => "PTR".into(),
        16 => "TXT".into(),
        33 => "SRV".into(),
        65 => "HTTPS".into(),
        other => format!("type {other}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_with_cname_chain() {
        // Query www.example.com A; answer: CNAME cdn.example.net, A 10.250.0.9 for cdn.
        let mut m = vec![0x12, 0x34, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0];
        m.extend_from_slice(b"\x03www\x07example\x03com\x00\x00\x01\x00\x01");
        m.extend_from_slice(&[0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 17]);
        m.extend_from_slice(b"\x03cdn\x07example\x03net\x00");
        m.extend_from_slice(&[0xc0, 45, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 250, 0, 9]);
        let p = parse(&m).unwrap();
        assert!(p.response);
        assert_eq!(p.questions, vec![("www.example.com".to_string(), 1)]);
        assert_eq!(
            p.cnames,
            vec![("www.example.com".to_string(), "cdn.example.net".to_string())]
        );
        assert_eq!(
            p.addresses,
            vec![("cdn.example.net".to_string(), "10.250.0.9".parse().unwrap())]
        );
        assert!(parse(&m[..11]).is_none());
    }
}
