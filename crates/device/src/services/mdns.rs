//! mDNS by unicast to the target's port 5353 (RFC 6762 §6.7 legacy unicast): which DNS-SD
//! service types it announces.

pub fn services_query(id: u16) -> Vec<u8> {
    let mut q = id.to_be_bytes().to_vec();
    q.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in ["_services", "_dns-sd", "_udp", "local"] {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&[0, 12, 0, 1]); // PTR, IN
    q
}

/// A (possibly compressed) domain name at `i`: the name and the offset after it.
pub fn name(msg: &[u8], mut i: usize, depth: u8) -> Option<(String, usize)> {
    let mut labels = Vec::new();
    let mut end = None;
    for _ in 0..64 {
        let l = *msg.get(i)? as usize;
        if l == 0 {
            i += 1;
            break;
        }
        if l & 0xc0 == 0xc0 {
            let ptr = ((l & 0x3f) << 8) | *msg.get(i + 1)? as usize;
            if depth > 8 || ptr >= i {
                return None;
            }
            let (rest, _) = name(msg, ptr, depth + 1)?;
            labels.push(rest);
            end.get_or_insert(i + 2);
            return Some((labels.join("."), end.unwrap_or(i + 2)));
        }
        labels.push(String::from_utf8_lossy(msg.get(i + 1..i + 1 + l)?).to_string());
        i += 1 + l;
    }
    Some((labels.join("."), end.unwrap_or(i)))
}

/// PTR targets in the answer and additional sections (service types and instances).
pub fn ptr_answers(msg: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    if msg.len() < 12 {
        return out;
    }
    let qd = u16::from_be_bytes([msg[4], msg[5]]) as usize;
    let rr = u16::from_be_bytes([msg[6], msg[7]]) as usize
        + u16::from_be_bytes([msg[8], msg[9]]) as usize
        + u16::from_be_bytes([msg[10], msg[11]]) as usize;
    let mut i = 12;
    for _ in 0..qd {
        let Some((_, j)) = name(msg, i, 0) else {
            return out;
        };
        i = j + 4;
    }
    for _ in 0..rr.min(64) {
        let Some((_, j)) = name(msg, i, 0) else { break };
        let Some(hdr) = msg.get(j..j + 10) else { break };
        let typ = u16::from_be_bytes([hdr[0], hdr[1]]);
        let len = u16::from_be_bytes([hdr[8], hdr[9]]) as usize;
        if typ == 12 {
            if let Some((t, _)) = name(msg, j + 10, 0) {
                out.push(t);
            }
        }
        i = j + 10 + len;
    }
    out.sort();
    out.dedup();
    out
}
