//! Reading the server's first flight after a raw ClientHello: ServerHello (version and suite
//! chosen), Certificate, ServerKeyExchange (DH group size), or an alert. Records and handshake
//! messages are parsed with tls-parser; handshake messages split over records are reassembled.

use tls_parser::{
    parse_tls_message_handshake, parse_tls_raw_record, parse_tls_server_hello_extensions,
    TlsExtension, TlsMessage, TlsMessageHandshake,
};

use super::hello::TLS13;

#[derive(Debug, Clone, Default)]
pub struct ServerFlight {
    /// (level, description) of an alert, if the server sent one first.
    pub alert: Option<(u8, u8)>,
    /// The version chosen (`supported_versions` when present, else ServerHello.version).
    pub version: Option<u16>,
    pub cipher: Option<u16>,
    /// DER certificates, leaf first (TLS ≤ 1.2 only: 1.3 encrypts them).
    pub certs: Vec<Vec<u8>>,
    /// ServerKeyExchange parameters, raw.
    pub ske: Option<Vec<u8>>,
    /// The reply was not TLS at all.
    pub not_tls: bool,
    /// The flight ended (ServerHelloDone, a TLS 1.3 ServerHello, or an alert).
    pub complete: bool,
}

impl ServerFlight {
    pub fn accepted(&self) -> bool {
        self.version.is_some() && self.cipher.is_some()
    }
}

pub fn alert_name(desc: u8) -> &'static str {
    match desc {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        40 => "handshake_failure",
        47 => "illegal_parameter",
        50 => "decode_error",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        109 => "missing_extension",
        112 => "unrecognized_name",
        _ => "alert",
    }
}

/// Parses as much of `buf` as has arrived.
pub fn parse(buf: &[u8]) -> ServerFlight {
    let mut f = ServerFlight::default();
    let mut rest = buf;
    let mut hs = Vec::new();
    if buf.len() >= 3 && !(matches!(buf[0], 0x14..=0x17) && buf[1] == 3) {
        f.not_tls = true;
        f.complete = true;
        return f;
    }
    while let Ok((r, rec)) = parse_tls_raw_record(rest) {
        rest = r;
        match rec.hdr.record_type.0 {
            0x15 => {
                if rec.data.len() >= 2 && f.version.is_none() {
                    f.alert = Some((rec.data[0], rec.data[1]));
                }
                f.complete = true;
                return f;
            }
            0x16 => hs.extend_from_slice(rec.data),
            0x14 => {
                // ChangeCipherSpec: what follows is encrypted.
                f.complete = true;
                break;
            }
            _ => {
                f.complete = true;
                break;
            }
        }
    }
    let mut h = hs.as_slice();
    while h.len() >= 4 {
        let len = u32::from_be_bytes([0, h[1], h[2], h[3]]) as usize;
        if h.len() < 4 + len {
            break;
        }
        let msg = &h[..4 + len];
        h = &h[4 + len..];
        match h_type(msg) {
            2 => {
                if let Ok((_, TlsMessage::Handshake(TlsMessageHandshake::ServerHello(sh)))) =
                    parse_tls_message_handshake(msg)
                {
                    f.version = Some(sh.version.0);
                    f.cipher = Some(sh.cipher.0);
                    if let Some(ext) = sh.ext {
                        if let Ok((_, exts)) = parse_tls_server_hello_extensions(ext) {
                            for e in exts {
                                if let TlsExtension::SupportedVersions(v) = e {
                                    if let Some(v) = v.first() {
                                        f.version = Some(v.0);
                                    }
                                }
                            }
                        }
                    }
                    if f.version == Some(TLS13) {
                        f.complete = true;
                        return f;
                    }
                }
            }
            11 => {
                if let Ok((_, TlsMessage::Handshake(TlsMessageHandshake::Certificate(c)))) =
                    parse_tls_message_handshake(msg)
                {
                    f.certs = c.cert_chain.iter().map(|c| c.data.to_vec()).collect();
                }
            }
            12 => f.ske = Some(msg[4..].to_vec()),
            14 => {
                f.complete = true;
                return f;
            }
            _ => {}
        }
    }
    f
}

fn h_type(msg: &[u8]) -> u8 {
    msg[0]
}

/// Size in bits of the DH prime in a DHE ServerKeyExchange.
pub fn dh_prime_bits(ske: &[u8]) -> Option<usize> {
    let n = u16::from_be_bytes([*ske.first()?, *ske.get(1)?]) as usize;
    let p = ske.get(2..2 + n)?;
    let lead = p.iter().position(|&b| b != 0)?;
    Some((p.len() - lead) * 8 - p[lead].leading_zeros() as usize)
}

/// The named curve of an ECDHE ServerKeyExchange.
pub fn ecdhe_curve(ske: &[u8]) -> Option<u16> {
    match ske {
        [3, a, b, ..] => Some(u16::from_be_bytes([*a, *b])),
        _ => None,
    }
}

pub fn group_name(g: u16) -> String {
    match g {
        23 => "secp256r1".into(),
        24 => "secp384r1".into(),
        25 => "secp521r1".into(),
        29 => "x25519".into(),
        30 => "x448".into(),
        g => format!("group {g}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_alert_and_hello() {
        let a = parse(&[0x15, 3, 1, 0, 2, 2, 40]);
        assert_eq!(a.alert, Some((2, 40)));
        assert!(!a.accepted());
        // ServerHello TLS 1.0, suite 0x002f, no extensions, then ServerHelloDone.
        let mut sh = vec![2, 0, 0, 38, 3, 1];
        sh.extend_from_slice(&[0; 32]);
        sh.extend_from_slice(&[0, 0, 0x2f, 0]);
        sh.extend_from_slice(&[14, 0, 0, 0]);
        let mut rec = vec![0x16, 3, 1, 0, sh.len() as u8];
        rec.extend(sh);
        let f = parse(&rec);
        assert_eq!(
            (f.version, f.cipher, f.complete),
            (Some(0x0301), Some(0x2f), true)
        );
        assert!(parse(b"HTTP/1.1 400").not_tls);
        assert_eq!(dh_prime_bits(&[0, 2, 0x7f, 0xff]), Some(15));
    }
}
