//! SSH identification: the version line and the server's KEXINIT, both sent in the clear before
//! any key exchange (RFC 4253 §4.2, §7.1).

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct KexInit {
    pub kex: Vec<String>,
    pub host_key: Vec<String>,
    pub ciphers: Vec<String>,
    pub macs: Vec<String>,
    pub compression: Vec<String>,
}

/// Our identification line.
pub fn client_ident() -> String {
    format!("SSH-2.0-iotassure_{}", env!("CARGO_PKG_VERSION"))
}

/// Parses an unencrypted binary packet's payload out of `buf` (after the version line).
/// Returns (payload, bytes consumed).
pub fn packet(buf: &[u8]) -> Option<(&[u8], usize)> {
    if buf.len() < 5 {
        return None;
    }
    let len = u32::from_be_bytes(buf[..4].try_into().ok()?) as usize;
    if !(1..=256 * 1024).contains(&len) || buf.len() < 4 + len {
        return None;
    }
    let pad = buf[4] as usize;
    if pad + 1 > len {
        return None;
    }
    Some((&buf[5..4 + len - pad], 4 + len))
}

pub fn parse_kexinit(payload: &[u8]) -> Option<KexInit> {
    if payload.first() != Some(&20) || payload.len() < 17 {
        return None;
    }
    let mut r = &payload[17..];
    let mut lists = Vec::new();
    for _ in 0..10 {
        if r.len() < 4 {
            return None;
        }
        let n = u32::from_be_bytes(r[..4].try_into().ok()?) as usize;
        if r.len() < 4 + n {
            return None;
        }
        let s = String::from_utf8_lossy(&r[4..4 + n]).to_string();
        lists.push(
            s.split(',')
                .filter(|x| !x.is_empty())
                .map(String::from)
                .collect::<Vec<_>>(),
        );
        r = &r[4 + n..];
    }
    Some(KexInit {
        kex: lists[0].clone(),
        host_key: lists[1].clone(),
        ciphers: lists[2].clone(),
        macs: lists[4].clone(),
        compression: lists[6].clone(),
    })
}

/// Splits the server's bytes into its version line and what follows.
pub fn split_ident(buf: &[u8]) -> Option<(String, &[u8])> {
    // Servers may send other lines before the version line (RFC 4253 §4.2).
    let mut off = 0;
    while off < buf.len() {
        let end = buf[off..].iter().position(|&b| b == b'\n')? + off;
        let line = String::from_utf8_lossy(&buf[off..end])
            .trim_end_matches('\r')
            .to_string();
        if line.starts_with("SSH-") {
            return Some((line, &buf[end + 1..]));
        }
        off = end + 1;
    }
    None
}

/// Algorithms a 2024 best-practice reading (RFC 9142, NIST SP 800-131A, BSI TR-02102-4) treats as weak.
pub fn weak_algorithms(k: &KexInit) -> Vec<String> {
    let mut w = Vec::new();
    for a in &k.kex {
        if a.contains("group1-")
            || a == "diffie-hellman-group-exchange-sha1"
            || a == "diffie-hellman-group14-sha1"
            || a.starts_with("gss-") && a.contains("sha1")
        {
            w.push(format!("kex {a}"));
        }
    }
    for a in &k.ciphers {
        if a.contains("cbc")
            || a.contains("arcfour")
            || a.contains("3des")
            || a == "none"
            || a.contains("blowfish")
        {
            w.push(format!("cipher {a}"));
        }
    }
    for a in &k.macs {
        if a.contains("md5")
            || a.contains("-96")
            || a == "none"
            || a == "hmac-sha1"
            || a == "hmac-sha1-etm@openssh.com"
        {
            w.push(format!("mac {a}"));
        }
    }
    for a in &k.host_key {
        if a == "ssh-dss" {
            w.push(format!("host key {a}"));
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kexinit() {
        let mut p = vec![20u8];
        p.extend_from_slice(&[0; 16]);
        for l in [
            "curve25519-sha256,diffie-hellman-group1-sha1",
            "ssh-ed25519",
            "aes128-ctr",
            "aes128-ctr",
            "hmac-sha2-256",
            "hmac-sha1",
            "none",
            "none",
            "",
            "",
        ] {
            p.extend_from_slice(&(l.len() as u32).to_be_bytes());
            p.extend_from_slice(l.as_bytes());
        }
        p.extend_from_slice(&[0, 0, 0, 0, 0]);
        let k = parse_kexinit(&p).unwrap();
        assert_eq!(k.kex.len(), 2);
        assert_eq!(k.macs, vec!["hmac-sha2-256"]);
        assert_eq!(weak_algorithms(&k), vec!["kex diffie-hellman-group1-sha1"]);
        let (id, rest) = split_ident(b"hello\r\nSSH-2.0-dropbear_2022.83\r\nXY").unwrap();
        assert_eq!(id, "SSH-2.0-dropbear_2022.83");
        assert_eq!(rest, b"XY");
    }
}
