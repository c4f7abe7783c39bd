//! MQTT 3.1.1: CONNECT/CONNACK (anonymous and with credentials), SUBSCRIBE/SUBACK and PUBLISH
//! parsing, enough to tell whether a broker lets anyone in and what it says.

pub fn encode_len(mut n: usize, out: &mut Vec<u8>) {
    loop {
        let mut b = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            b |= 0x80;
        }
        out.push(b);
        if n == 0 {
            break;
        }
    }
}

fn str_field(s: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s);
}

/// A CONNECT packet (protocol level 4, clean session, keepalive 30 s).
pub fn connect(client_id: &str, creds: Option<(&str, &str)>) -> Vec<u8> {
    let mut v = Vec::new();
    str_field(b"MQTT", &mut v);
    v.push(4);
    let mut flags = 0x02u8;
    if let Some((_, p)) = creds {
        flags |= 0x80;
        if !p.is_empty() {
            flags |= 0x40;
        }
    }
    v.push(flags);
    v.extend_from_slice(&30u16.to_be_bytes());
    str_field(client_id.as_bytes(), &mut v);
    if let Some((u, p)) = creds {
        str_field(u.as_bytes(), &mut v);
        if !p.is_empty() {
            str_field(p.as_bytes(), &mut v);
        }
    }
    let mut out = vec![0x10];
    encode_len(v.len(), &mut out);
    out.extend(v);
    out
}

pub fn subscribe(packet_id: u16, topics: &[&str]) -> Vec<u8> {
    let mut v = packet_id.to_be_bytes().to_vec();
    for t in topics {
        str_field(t.as_bytes(), &mut v);
        v.push(0);
    }
    let mut out = vec![0x82];
    encode_len(v.len(), &mut out);
    out.extend(v);
    out
}

pub fn publish(topic: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    str_field(topic, &mut v);
    v.extend_from_slice(payload);
    let mut out = vec![0x30];
    encode_len(v.len(), &mut out);
    out.extend(v);
    out
}

pub const DISCONNECT: [u8; 2] = [0xe0, 0x00];
pub const PINGREQ: [u8; 2] = [0xc0, 0x00];

/// Splits a stream into packets: (type/flags byte, body). Stops at an incomplete packet.
pub fn packets(mut b: &[u8]) -> Vec<(u8, &[u8])> {
    let mut out = Vec::new();
    while b.len() >= 2 {
        let mut len = 0usize;
        let mut mult = 1usize;
        let mut i = 1;
        loop {
            let Some(&c) = b.get(i) else { return out };
            len += (c & 0x7f) as usize * mult;
            mult *= 128;
            i += 1;
            if c & 0x80 == 0 || i > 4 {
                break;
            }
        }
        if b.len() < i + len {
            break;
        }
        out.push((b[0], &b[i..i + len]));
        b = &b[i + len..];
    }
    out
}

/// CONNACK return code, if `b` starts with a CONNACK.
pub fn connack(b: &[u8]) -> Option<u8> {
    let (t, body) = *packets(b).first()?;
    (t == 0x20 && body.len() >= 2).then(|| body[1])
}

pub fn connack_meaning(rc: u8) -> &'static str {
    match rc {
        0 => "accepted",
        1 => "refused: unacceptable protocol version",
        2 => "refused: identifier rejected",
        3 => "refused: server unavailable",
        4 => "refused: bad user name or password",
        5 => "refused: not authorized",
        _ => "refused: unknown code",
    }
}

/// (topic, payload) of a PUBLISH body (QoS 0 or with packet id).
pub fn parse_publish(t: u8, body: &[u8]) -> Option<(String, Vec<u8>)> {
    if t & 0xf0 != 0x30 || body.len() < 2 {
        return None;
    }
    let n = u16::from_be_bytes([body[0], body[1]]) as usize;
    let topic = String::from_utf8_lossy(body.get(2..2 + n)?).to_string();
    let mut off = 2 + n;
    if (t >> 1) & 3 > 0 {
        off += 2;
    }
    Some((topic, body.get(off..)?.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_roundtrip() {
        let c = connect("x", Some(("u", "p")));
        assert_eq!(c[0], 0x10);
        assert_eq!(connack(&[0x20, 2, 0, 5]), Some(5));
        let p = publish(b"$SYS/broker/version", b"mosquitto version 2.0.11");
        let ps = packets(&p);
        assert_eq!(
            parse_publish(ps[0].0, ps[0].1).unwrap().0,
            "$SYS/broker/version"
        );
        let mut big = Vec::new();
        encode_len(321, &mut big);
        assert_eq!(big, vec![0xc1, 0x02]);
    }
}
