//! CoAP (RFC 7252): a confirmable GET of /.well-known/core (RFC 6690 resource discovery).

pub fn get_well_known_core(message_id: u16) -> Vec<u8> {
    let mut m = vec![0x40, 0x01];
    m.extend_from_slice(&message_id.to_be_bytes());
    // Uri-Path (11) ".well-known", then Uri-Path "core" (delta 0).
    m.push(0xbb);
    m.extend_from_slice(b".well-known");
    m.push(0x04);
    m.extend_from_slice(b"core");
    m
}

/// (class.detail code as "2.05", payload) of a CoAP reply.
pub fn parse(b: &[u8]) -> Option<(String, Vec<u8>)> {
    if b.len() < 4 || b[0] >> 6 != 1 {
        return None;
    }
    let tkl = (b[0] & 0x0f) as usize;
    let code = format!("{}.{:02}", b[1] >> 5, b[1] & 0x1f);
    let mut i = 4 + tkl;
    // Skip options up to the payload marker.
    while i < b.len() && b[i] != 0xff {
        let delta = b[i] >> 4;
        let len = b[i] & 0x0f;
        i += 1;
        let ext = |n: u8, i: &mut usize| -> Option<usize> {
            match n {
                13 => {
                    let v = *b.get(*i)? as usize + 13;
                    *i += 1;
                    Some(v)
                }
                14 => {
                    let v = u16::from_be_bytes([*b.get(*i)?, *b.get(*i + 1)?]) as usize + 269;
                    *i += 2;
                    Some(v)
                }
                15 => None,
                n => Some(n as usize),
            }
        };
        ext(delta, &mut i)?;
        let l = ext(len, &mut i)?;
        i += l;
    }
    let payload = if i < b.len() {
        b[i + 1..].to_vec()
    } else {
        Vec::new()
    };
    Some((code, payload))
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_reply() {
        let r = [
            0x60, 0x45, 0x12, 0x34, 0xc1, 0x28, 0xff, b'<', b'/', b'a', b'>',
        ];
        let (code, p) = super::parse(&r).unwrap();
        assert_eq!(code, "2.05");
        assert_eq!(p, b"</a>");
        assert_eq!(super::get_well_known_core(7)[4], 0xbb);
    }
}
