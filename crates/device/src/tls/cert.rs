//! The server certificate, read with x509-parser: who it names, who signed it, the key and its
//! size, the signature algorithm and the validity period.

use serde::Serialize;
use x509_parser::prelude::*;
use x509_parser::public_key::PublicKey;

#[derive(Debug, Clone, Serialize)]
pub struct CertInfo {
    pub subject: String,
    pub issuer: String,
    pub self_signed: bool,
    /// `RSA`, `EC`, `Ed25519`, `DSA`...
    pub key_type: String,
    pub key_bits: usize,
    pub signature: String,
    pub not_before: String,
    pub not_after: String,
    pub expired: bool,
    pub not_yet_valid: bool,
    pub names: Vec<String>,
    /// `SHA256:` + base64 of the SubjectPublicKeyInfo: the same on two units means one key.
    pub key_fingerprint: String,
}

impl CertInfo {
    /// Weaknesses that fall short of best practice: (what, why).
    pub fn weaknesses(&self) -> Vec<String> {
        let mut w = Vec::new();
        match self.key_type.as_str() {
            "RSA" | "DSA" if self.key_bits < 2048 => w.push(format!(
                "{}-{} key (below 2048 bits)",
                self.key_type, self.key_bits
            )),
            "EC" if self.key_bits < 224 => {
                w.push(format!("EC-{} key (below 224 bits)", self.key_bits))
            }
            _ => {}
        }
        let s = self.signature.to_ascii_lowercase();
        if s.contains("md5") || s.contains("md2") || s.contains("sha1") {
            w.push(format!("signed with {}", self.signature));
        }
        if self.expired {
            w.push(format!("expired on {}", self.not_after));
        }
        if self.not_yet_valid {
            w.push(format!("not valid before {}", self.not_before));
        }
        w
    }

    pub fn summary(&self) -> String {
        format!(
            "subject {}; issuer {}{}; {} {} bits; {}; valid {} to {}",
            self.subject,
            self.issuer,
            if self.self_signed {
                " (self-signed)"
            } else {
                ""
            },
            self.key_type,
            self.key_bits,
            self.signature,
            self.not_before,
            self.not_after
        )
    }
}

fn sig_name(oid: &str) -> String {
    match oid {
        "1.2.840.113549.1.1.2" => "md2WithRSAEncryption",
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption",
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.10" => "RSASSA-PSS",
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption",
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption",
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption",
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256",
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384",
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512",
        "1.2.840.10040.4.3" => "dsa-with-sha1",
        "2.16.840.1.101.3.4.3.2" => "dsa-with-sha256",
        "1.3.101.112" => "Ed25519",
        "1.3.101.113" => "Ed448",
        other => return other.to_string(),
    }
    .to_string()
}

pub fn parse(der: &[u8]) -> Option<CertInfo> {
    let (_, c) = parse_x509_certificate(der).ok()?;
    let spki = c.public_key();
    let alg = spki.algorithm.algorithm.to_id_string();
    let (key_type, key_bits) = match spki.parsed() {
        Ok(PublicKey::RSA(k)) => ("RSA".to_string(), k.key_size()),
        Ok(PublicKey::EC(k)) => ("EC".to_string(), k.key_size()),
        Ok(PublicKey::DSA(y)) => ("DSA".to_string(), y.len() * 8),
        _ if alg == "1.3.101.112" => ("Ed25519".to_string(), 256),
        _ if alg == "1.3.101.113" => ("Ed448".to_string(), 456),
        _ => (alg.clone(), 0),
    };
    let now = ::time::OffsetDateTime::now_utc().unix_timestamp();
    let v = c.validity();
    let mut names = Vec::new();
    for attr in c.subject().iter_common_name() {
        if let Ok(s) = attr.as_str() {
            names.push(s.to_string());
        }
    }
    if let Ok(Some(san)) = c.subject_alternative_name() {
        for n in &san.value.general_names {
            match n {
                GeneralName::DNSName(d) => names.push(d.to_string()),
                GeneralName::IPAddress(ip) => {
                    if ip.len() == 4 {
                        names.push(std::net::Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]).to_string());
                    } else if let Ok(b) = <[u8; 16]>::try_from(*ip) {
                        names.push(std::net::Ipv6Addr::from(b).to_string());
                    }
                }
                _ => {}
            }
        }
    }
    names.dedup();
    Some(CertInfo {
        subject: c.subject().to_string(),
        issuer: c.issuer().to_string(),
        self_signed: c.subject().as_raw() == c.issuer().as_raw(),
        key_type,
        key_bits,
        signature: sig_name(&c.signature_algorithm.algorithm.to_id_string()),
        not_before: v.not_before.to_string(),
        not_after: v.not_after.to_string(),
        expired: v.not_after.timestamp() < now,
        not_yet_valid: v.not_before.timestamp() > now,
        names,
        key_fingerprint: crate::text::fingerprint(spki.raw),
    })
}
