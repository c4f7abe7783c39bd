//! Raw ClientHellos for any version from SSLv3 to TLS 1.3, offering exactly the cipher suites
//! asked for: the only way to learn what a server *accepts* (a TLS library offers only what it
//! considers safe). The cipher-suite registry is tls-parser's IANA table.

use std::sync::OnceLock;

use tls_parser::{TlsCipherKx, TlsCipherSuite};

pub const SSL3: u16 = 0x0300;
pub const TLS10: u16 = 0x0301;
pub const TLS11: u16 = 0x0302;
pub const TLS12: u16 = 0x0303;
pub const TLS13: u16 = 0x0304;

pub fn version_name(v: u16) -> String {
    match v {
        0x0200 => "SSLv2".into(),
        SSL3 => "SSLv3".into(),
        TLS10 => "TLS 1.0".into(),
        TLS11 => "TLS 1.1".into(),
        TLS12 => "TLS 1.2".into(),
        TLS13 => "TLS 1.3".into(),
        v => format!("0x{v:04x}"),
    }
}

/// Every suite IANA lists (and tls-parser knows), TLS 1.3 suites apart, signalling values out.
pub fn all_suites() -> &'static [u16] {
    static ALL: OnceLock<Vec<u16>> = OnceLock::new();
    ALL.get_or_init(|| {
        (0u16..=0xffff)
            .filter(|&id| id != 0x00ff && id != 0x5600)
            .filter(|&id| TlsCipherSuite::from_id(id).is_some_and(|s| s.kx != TlsCipherKx::Tls13))
            .collect()
    })
}

pub fn tls13_suites() -> &'static [u16] {
    &[0x1301, 0x1302, 0x1303, 0x1304, 0x1305]
}

pub fn suite_name(id: u16) -> String {
    TlsCipherSuite::from_id(id)
        .map(|s| s.name.to_string())
        .unwrap_or_else(|| format!("0x{id:04x}"))
}

#[derive(Debug, Clone)]
pub struct HelloSpec {
    /// The highest version offered (`client_version`, or `supported_versions` for TLS 1.3).
    pub version: u16,
    pub suites: Vec<u16>,
    /// Host name for SNI (omitted for an IP address).
    pub sni: Option<String>,
}

impl HelloSpec {
    /// Every suite, at `version` (TLS 1.3 suites added when `version` is TLS 1.3).
    pub fn broad(version: u16, host: &str) -> HelloSpec {
        let mut suites: Vec<u16> = Vec::new();
        if version >= TLS13 {
            suites.extend_from_slice(tls13_suites());
        }
        suites.extend_from_slice(all_suites());
        HelloSpec {
            version,
            suites,
            sni: sni_for(host),
        }
    }
}

pub fn sni_for(host: &str) -> Option<String> {
    (host.parse::<std::net::IpAddr>().is_err() && !host.is_empty()).then(|| host.to_string())
}

/// A fixed X25519 public key (RFC 7748 §6.1, Alice's): the probe never finishes a TLS 1.3
/// handshake, it only reads the ServerHello, so no secret is needed.
const X25519_PUB: [u8; 32] = [
    0x85, 0x20, 0xf0, 0x09, 0x89, 0x30, 0xa7, 0x54, 0x74, 0x8b, 0x7d, 0xdc, 0xb4, 0x3e, 0xf7, 0x5a,
    0x0d, 0xbf, 0x3a, 0x0d, 0x26, 0x38, 0x1a, 0xf4, 0xeb, 0xa4, 0xa9, 0x8e, 0xaa, 0x9b, 0x4e, 0x6a,
];

fn ext(out: &mut Vec<u8>, typ: u16, data: &[u8]) {
    out.extend_from_slice(&typ.to_be_bytes());
    out.extend_from_slice(&(data.len() as u16).to_be_bytes());
    out.extend_from_slice(data);
}

fn u16_list(items: &[u16], len_bytes: usize) -> Vec<u8> {
    let mut v = Vec::new();
    let n = items.len() * 2;
    if len_bytes == 1 {
        v.push(n as u8);
    } else {
        v.extend_from_slice(&(n as u16).to_be_bytes());
    }
    for i in items {
        v.extend_from_slice(&i.to_be_bytes());
    }
    v
}

/// The record bytes of a ClientHello for `spec`.
pub fn client_hello(spec: &HelloSpec) -> Vec<u8> {
    let legacy = spec.version.min(TLS12);
    let mut body = Vec::new();
    body.extend_from_slice(&legacy.to_be_bytes());
    // Random: not secret, only needs to differ between hellos.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    for i in 0..32u32 {
        body.push(((seed >> ((i % 16) * 8)) as u8) ^ (i as u8).wrapping_mul(37));
    }
    body.push(0); // session id
    body.extend(u16_list(&spec.suites, 2));
    body.extend_from_slice(&[1, 0]); // compression: null only
    let mut exts = Vec::new();
    if let Some(h) = &spec.sni {
        let mut d = Vec::new();
        d.extend_from_slice(&((h.len() + 3) as u16).to_be_bytes());
        d.push(0);
        d.extend_from_slice(&(h.len() as u16).to_be_bytes());
        d.extend_from_slice(h.as_bytes());
        ext(&mut exts, 0, &d);
    }
    if spec.version > SSL3 {
        // Named groups: x25519, P-256, P-384, P-521, x448. No FFDHE groups, so a server's own DH
        // parameters (and their size) show in DHE key exchanges.
        ext(&mut exts, 10, &u16_list(&[29, 23, 24, 25, 30], 2));
        ext(&mut exts, 11, &[1, 0]);
        ext(&mut exts, 0xff01, &[0]);
        ext(&mut exts, 35, &[]);
    }
    if spec.version >= TLS12 {
        let sig = [
            0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0807, 0x0808, 0x0809, 0x080a, 0x080b,
            0x0401, 0x0501, 0x0601, 0x0201, 0x0203, 0x0202, 0x0402, 0x0502, 0x0602, 0x0101,
        ];
        ext(&mut exts, 13, &u16_list(&sig, 2));
    }
    if spec.version >= TLS13 {
        ext(&mut exts, 43, &u16_list(&[TLS13], 1));
        ext(&mut exts, 45, &[1, 1]);
        let mut ks = Vec::new();
        ks.extend_from_slice(&(36u16).to_be_bytes());
        ks.extend_from_slice(&29u16.to_be_bytes());
        ks.extend_from_slice(&32u16.to_be_bytes());
        ks.extend_from_slice(&X25519_PUB);
        ext(&mut exts, 51, &ks);
    }
    if !exts.is_empty() {
        body.extend_from_slice(&(exts.len() as u16).to_be_bytes());
        body.extend(exts);
    }
    let mut hs = vec![1];
    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend(body);
    // Record version: SSLv3 hellos say 3.0; later ones the customary 3.1 (some stacks reject more).
    let rec_ver = if spec.version == SSL3 { SSL3 } else { TLS10 };
    let mut rec = vec![0x16];
    rec.extend_from_slice(&rec_ver.to_be_bytes());
    rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
    rec.extend(hs);
    rec
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_parses_back() {
        assert!(all_suites().len() > 200, "{}", all_suites().len());
        let h = client_hello(&HelloSpec::broad(TLS13, "device.example"));
        let (_, rec) = tls_parser::parse_tls_plaintext(&h).expect("tls-parser reads our hello");
        match &rec.msg[0] {
            tls_parser::TlsMessage::Handshake(tls_parser::TlsMessageHandshake::ClientHello(ch)) => {
                assert_eq!(ch.version, tls_parser::TlsVersion::Tls12);
                assert_eq!(ch.ciphers.len(), all_suites().len() + 5);
            }
            m => panic!("{m:?}"),
        }
    }
}
