//! SNMP v1/v2c GetRequest for sysDescr.0 and sysName.0, encoded and decoded by hand (BER).

/// Builds a GetRequest. `version`: 0 = v1, 1 = v2c.
pub fn get_request(version: u8, community: &str, request_id: u32) -> Vec<u8> {
    let oids: [&[u8]; 2] = [&[0x2b, 6, 1, 2, 1, 1, 1, 0], &[0x2b, 6, 1, 2, 1, 1, 5, 0]];
    let mut vbl = Vec::new();
    for o in oids {
        let mut vb = tlv(0x06, o);
        vb.extend(tlv(0x05, &[]));
        vbl.extend(tlv(0x30, &vb));
    }
    let mut pdu = tlv(0x02, &int_bytes(request_id));
    pdu.extend(tlv(0x02, &[0]));
    pdu.extend(tlv(0x02, &[0]));
    pdu.extend(tlv(0x30, &vbl));
    let mut msg = tlv(0x02, &[version]);
    msg.extend(tlv(0x04, community.as_bytes()));
    msg.extend(tlv(0xa0, &pdu));
    tlv(0x30, &msg)
}

fn int_bytes(v: u32) -> Vec<u8> {
    let mut b = v.to_be_bytes().to_vec();
    while b.len() > 1 && b[0] == 0 && b[1] < 0x80 {
        b.remove(0);
    }
    if b[0] >= 0x80 {
        b.insert(0, 0);
    }
    b
}

fn tlv(tag: u8, val: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = val.len();
    if n < 128 {
        out.push(n as u8);
    } else if n < 256 {
        out.extend_from_slice(&[0x81, n as u8]);
    } else {
        out.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]);
    }
    out.extend_from_slice(val);
    out
}

/// Reads one TLV: (tag, value, rest).
fn read_tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *b.first()?;
    let l0 = *b.get(1)? as usize;
    let (len, off) = if l0 < 0x80 {
        (l0, 2)
    } else {
        let k = l0 & 0x7f;
        if k == 0 || k > 3 {
            return None;
        }
        let mut n = 0usize;
        for i in 0..k {
            n = n << 8 | *b.get(2 + i)? as usize;
        }
        (n, 2 + k)
    };
    let val = b.get(off..off + len)?;
    Some((tag, val, &b[off + len..]))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnmpReply {
    pub community: String,
    pub error_status: u32,
    /// The values returned (sysDescr, sysName), as text.
    pub values: Vec<String>,
}

pub fn parse_response(b: &[u8]) -> Option<SnmpReply> {
    let (t, msg, _) = read_tlv(b)?;
    if t != 0x30 {
        return None;
    }
    let (_, _ver, r) = read_tlv(msg)?;
    let (t, comm, r) = read_tlv(r)?;
    if t != 0x04 {
        return None;
    }
    let (t, pdu, _) = read_tlv(r)?;
    if t != 0xa2 {
        return None;
    }
    let (_, _rid, r) = read_tlv(pdu)?;
    let (_, es, r) = read_tlv(r)?;
    let (_, _ei, r) = read_tlv(r)?;
    let (_, vbl, _) = read_tlv(r)?;
    let mut values = Vec::new();
    let mut rest = vbl;
    while let Some((_, vb, r2)) = read_tlv(rest) {
        rest = r2;
        if let Some((_, _oid, r3)) = read_tlv(vb) {
            if let Some((vt, v, _)) = read_tlv(r3) {
                // 0x80-0x82: noSuchObject, noSuchInstance, endOfMibView.
                if vt == 0x04 {
                    values.push(String::from_utf8_lossy(v).to_string());
                }
            }
        }
    }
    Some(SnmpReply {
        community: String::from_utf8_lossy(comm).to_string(),
        error_status: es.iter().fold(0u32, |a, &x| a << 8 | x as u32),
        values,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_shape() {
        let q = get_request(1, "public", 0x1234);
        assert_eq!(q[0], 0x30);
        // Turn the request into a response carrying a value, as an agent would.
        let mut vb = tlv(0x06, &[0x2b, 6, 1, 2, 1, 1, 1, 0]);
        vb.extend(tlv(0x04, b"Linux 6.1"));
        let vbl = tlv(0x30, &tlv(0x30, &vb));
        let mut pdu = tlv(0x02, &[1]);
        pdu.extend(tlv(0x02, &[0]));
        pdu.extend(tlv(0x02, &[0]));
        pdu.extend(vbl);
        let mut msg = tlv(0x02, &[1]);
        msg.extend(tlv(0x04, b"public"));
        msg.extend(tlv(0xa2, &pdu));
        let r = parse_response(&tlv(0x30, &msg)).unwrap();
        assert_eq!(r.values, vec!["Linux 6.1"]);
        assert_eq!(r.community, "public");
    }
}
