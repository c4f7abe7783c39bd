//! Secrets and certificates (5.4-1, 5.4-3, 5.4-4, 5.5-1): PEM and DER private keys (RSA, EC,
//! DSA, PKCS#8, OpenSSH; encrypted or not), dropbear and OpenSSH host keys, certificates
//! (self-signed, weak keys, SHA-1/MD5 signatures, expiry) and API tokens or cloud keys from a
//! pattern table. A key in the image is identical in every unit: a hard-coded, shared
//! critical security parameter. Zero-byte key files are placeholders a first boot fills.

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use base64::Engine;
use iotassure_core::finding::{Finding, Location, Observations, Outcome, Severity, Source};
use x509_parser::prelude::*;

use super::Check;
use crate::text::line_of;
use crate::{Ctx, FileRec};

pub const CHECK: Check = Check {
    id: "5.4-3-fw-keys",
    provisions: &["5.4-1", "5.4-3", "5.4-4", "5.5-1"],
    run,
};

const KEY_LABELS: &[&str] = &[
    "RSA PRIVATE KEY",
    "EC PRIVATE KEY",
    "DSA PRIVATE KEY",
    "PRIVATE KEY",
    "ENCRYPTED PRIVATE KEY",
    "OPENSSH PRIVATE KEY",
];

/// Token table: (anchor, name, validator of the bytes after the anchor).
struct Token {
    anchor: &'static str,
    name: &'static str,
    /// Characters that must follow, and how many.
    charset: fn(u8) -> bool,
    len: usize,
}

fn upper_digit(b: u8) -> bool {
    b.is_ascii_uppercase() || b.is_ascii_digit()
}
fn alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}
fn url_b64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

static TOKENS: &[Token] = &[
    Token {
        anchor: "AKIA",
        name: "AWS access key id",
        charset: upper_digit,
        len: 16,
    },
    Token {
        anchor: "ASIA",
        name: "AWS temporary access key id",
        charset: upper_digit,
        len: 16,
    },
    Token {
        anchor: "AIza",
        name: "Google API key",
        charset: url_b64,
        len: 35,
    },
    Token {
        anchor: "ghp_",
        name: "GitHub personal access token",
        charset: alnum,
        len: 36,
    },
    Token {
        anchor: "github_pat_",
        name: "GitHub fine-grained token",
        charset: url_b64,
        len: 60,
    },
    Token {
        anchor: "glpat-",
        name: "GitLab access token",
        charset: url_b64,
        len: 20,
    },
    Token {
        anchor: "xoxb-",
        name: "Slack bot token",
        charset: url_b64,
        len: 24,
    },
    Token {
        anchor: "xoxp-",
        name: "Slack user token",
        charset: url_b64,
        len: 24,
    },
    Token {
        anchor: "sk_live_",
        name: "Stripe secret key",
        charset: alnum,
        len: 24,
    },
    Token {
        anchor: "SG.",
        name: "SendGrid API key",
        charset: url_b64,
        len: 22,
    },
    Token {
        anchor: "AccountKey=",
        name: "Azure storage account key",
        charset: |b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/',
        len: 86,
    },
    Token {
        anchor: "\"private_key\": \"-----BEGIN",
        name: "Google service-account key",
        charset: |_| true,
        len: 0,
    },
];

static PEM: LazyLock<AhoCorasick> = LazyLock::new(|| {
    let mut pats: Vec<String> = KEY_LABELS
        .iter()
        .map(|l| format!("-----BEGIN {l}-----"))
        .collect();
    pats.push("-----BEGIN CERTIFICATE-----".into());
    AhoCorasick::new(pats).expect("patterns")
});

static TOKEN_AC: LazyLock<AhoCorasick> =
    LazyLock::new(|| AhoCorasick::new(TOKENS.iter().map(|t| t.anchor)).expect("patterns"));

fn looks_like_key_name(path: &str) -> bool {
    let base = path.rsplit('/').next().unwrap_or("").to_ascii_lowercase();
    base.ends_with(".key")
        || base.ends_with("_key")
        || base.contains("host_key")
        || base.ends_with(".pem")
        || base.contains("private")
}

/// A tiny DER reader: (tag, content, rest).
fn der(data: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *data.first()?;
    let l0 = *data.get(1)? as usize;
    let (len, hdr) = if l0 < 0x80 {
        (l0, 2)
    } else {
        let n = l0 & 0x7f;
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *data.get(2 + i)? as usize;
        }
        (len, 2 + n)
    };
    let content = data.get(hdr..hdr + len)?;
    Some((tag, content, &data[hdr + len..]))
}

fn int_bits(content: &[u8]) -> usize {
    let c: &[u8] = {
        let mut c = content;
        while c.len() > 1 && c[0] == 0 {
            c = &c[1..];
        }
        c
    };
    if c.is_empty() {
        return 0;
    }
    (c.len() - 1) * 8 + (8 - c[0].leading_zeros() as usize)
}

/// Describes a DER private key: "RSA 2048-bit", "EC (P-256)", "DSA", "PKCS#8 RSA 2048-bit".
pub fn describe_der_key(data: &[u8]) -> Option<String> {
    let (tag, seq, _) = der(data)?;
    if tag != 0x30 {
        return None;
    }
    let (t0, v, rest) = der(seq)?;
    if t0 != 0x02 || v.len() != 1 {
        return None;
    }
    let (t1, c1, rest1) = der(rest)?;
    match (v[0], t1) {
        // PKCS#1 RSAPrivateKey: version 0, modulus, publicExponent, …
        (0, 0x02) => {
            let (t2, _, rest2) = der(rest1)?;
            if t2 != 0x02 {
                return None;
            }
            if int_bits(c1) > 256 {
                let (t3, _, _) = der(rest2)?;
                if t3 == 0x02 {
                    return Some(format!("RSA {}-bit", int_bits(c1)));
                }
            }
            // DSA: version, p, q, g, y, x.
            Some("DSA".into())
        }
        // PKCS#8: version 0, AlgorithmIdentifier, OCTET STRING.
        (0, 0x30) => {
            let (_, oid, _) = der(c1)?;
            let alg = if oid == [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01] {
                let (_, inner, _) = der(rest1)?;
                describe_der_key(inner).unwrap_or_else(|| "RSA".into())
            } else if oid == [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01] {
                "EC".into()
            } else if oid == [0x2b, 0x65, 0x70] {
                "Ed25519".into()
            } else {
                "unknown algorithm".into()
            };
            Some(format!("PKCS#8 {alg}"))
        }
        // SEC1 ECPrivateKey: version 1, OCTET STRING key.
        (1, 0x04) => Some(format!("EC ({}-bit)", c1.len() * 8)),
        _ => None,
    }
}

/// dropbear's binary host-key format: a length-prefixed algorithm name.
pub fn dropbear_key_type(data: &[u8]) -> Option<&str> {
    let n = u32::from_be_bytes(data.get(..4)?.try_into().ok()?) as usize;
    let name = std::str::from_utf8(data.get(4..4 + n)?).ok()?;
    [
        "ssh-rsa",
        "ssh-dss",
        "ssh-ed25519",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
    ]
    .contains(&name)
    .then_some(name)
}

fn run(ctx: &Ctx<'_>, obs: &mut Observations) {
    let mut examined = 0u64;
    let mut ca_certs = 0usize;
    for root in &ctx.roots {
        for f in &root.files {
            examined += 1;
            if f.entry.size == 0 {
                if looks_like_key_name(&f.path) {
                    obs.findings.push(
                        Finding::new(CHECK.id, &["5.4-3"], Outcome::Info, Severity::Info, Source::Firmware, format!("{} is an empty key placeholder", f.path))
                            .detail("A 0-byte key file is filled at first boot (a per-device key), not a key shipped in the image.")
                            .evidence(root.location(&f.path, None, None), "0 bytes"),
                    );
                }
                continue;
            }
            let loc = |line: Option<u32>, off: Option<u64>| root.location(&f.path, line, off);
            pem_blocks(f, &loc, &mut ca_certs, obs);
            binary_keys(f, &loc, obs);
            tokens(
                &f.data,
                f.is_text(),
                &|off| loc(f.is_text().then(|| line_of(&f.data, off)), Some(off as u64)),
                &f.path,
                obs,
            );
        }
    }
    for b in &ctx.blobs {
        examined += 1;
        let prov = b.blob.provenance.clone();
        let at = |off: usize| Location::Image {
            offset: off as u64,
            length: None,
            provenance: prov.clone(),
        };
        tokens(&b.data, false, &at, &b.blob.provenance, obs);
        for m in PEM.find_iter(&b.data) {
            if m.pattern().as_usize() < KEY_LABELS.len() && pem_body(&b.data, m.end()).is_some() {
                obs.findings.push(
                    Finding::new(
                        CHECK.id,
                        &["5.4-3", "5.4-4"],
                        Outcome::Fail,
                        Severity::High,
                        Source::Firmware,
                        format!(
                            "{} embedded in {}",
                            KEY_LABELS[m.pattern().as_usize()],
                            b.blob.provenance
                        ),
                    )
                    .detail("A private key compiled into the firmware is the same in every unit.")
                    .evidence(at(m.start()), KEY_LABELS[m.pattern().as_usize()]),
                );
            }
        }
    }
    if ca_certs > 0 {
        obs.findings.push(
            Finding::new(CHECK.id, &["5.5-1"], Outcome::Info, Severity::Info, Source::Firmware, format!("{ca_certs} CA certificates in trust bundles"))
                .detail("Trust anchors (public certificates in CA bundles) are not secrets; their own signature algorithms do not matter."),
        );
    }
    obs.ran(CHECK.id, Source::Firmware, CHECK.provisions, examined);
}

/// The base64 body of a PEM block starting at `start` (after the BEGIN line), if it is one.
fn pem_body(data: &[u8], start: usize) -> Option<(usize, Vec<u8>)> {
    let end = memchr::memmem::find(
        &data[start..(start + 64 * 1024).min(data.len())],
        b"-----END ",
    )?;
    let body = &data[start..start + end];
    if body.contains(&0) {
        return None;
    }
    // Skip RFC 1421 headers (Proc-Type, DEK-Info) before the base64.
    let text = String::from_utf8_lossy(body);
    let b64: String = text
        .lines()
        .filter(|l| !l.contains(':'))
        .flat_map(|l| l.trim().chars())
        .collect();
    if b64.len() < 64 {
        return None;
    }
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64.as_bytes())
        .ok()?;
    Some((start + end, der))
}

fn pem_blocks(
    f: &FileRec<'_>,
    loc: &dyn Fn(Option<u32>, Option<u64>) -> Location,
    ca_certs: &mut usize,
    obs: &mut Observations,
) {
    let data = &f.data;
    if memchr::memmem::find(data, b"-----BEGIN ").is_none() {
        return;
    }
    let certs_in_file = memchr::memmem::find_iter(data, b"-----BEGIN CERTIFICATE-----").count();
    let in_bundle = certs_in_file > 3
        || f.path.starts_with("/etc/ssl/certs/")
        || f.path.starts_with("/usr/share/ca-certificates/")
        || f.path.contains("ca-bundle")
        || f.path.contains("cacert");
    let has_key = KEY_LABELS
        .iter()
        .any(|l| memchr::memmem::find(data, format!("-----BEGIN {l}-----").as_bytes()).is_some());
    for m in PEM.find_iter(data) {
        let idx = m.pattern().as_usize();
        let Some((_, der)) = pem_body(data, m.end()) else {
            continue;
        };
        let line = f.is_text().then(|| line_of(data, m.start()));
        let where_ = loc(line, Some(m.start() as u64));
        if idx < KEY_LABELS.len() {
            let label = KEY_LABELS[idx];
            let encrypted = label.starts_with("ENCRYPTED")
                || memchr::memmem::find(
                    &data[m.start()..(m.end() + 200).min(data.len())],
                    b"ENCRYPTED",
                )
                .is_some();
            let what = if encrypted {
                None
            } else {
                describe_der_key(&der)
            };
            let mut fd = Finding::new(
                CHECK.id,
                if encrypted { &["5.4-3", "5.4-4"] } else { &["5.4-1", "5.4-3", "5.4-4"] },
                Outcome::Fail,
                if encrypted { Severity::Medium } else { Severity::High },
                Source::Firmware,
                format!("{}{label}{} in {}", if encrypted { "encrypted " } else { "" }, what.map(|w| format!(" ({w})")).unwrap_or_default(), f.path),
            )
            .detail(format!(
                "The key ships in the firmware, so every unit holds the same one: a hard-coded critical security parameter{}. Anyone with the image can impersonate or decrypt for every device.{}",
                if certs_in_file > 0 { ", paired with a certificate in the same file (a TLS identity)" } else { "" },
                if encrypted { " It is encrypted, but the passphrase must also be on the device." } else { "" }
            ))
            .evidence(where_, format!("-----BEGIN {label}----- … ({} bytes DER)", der.len()));
            if f.path.contains("host_key") || f.path.contains("ssh") {
                fd.title = format!("static SSH host key in the image: {}", f.path);
            }
            obs.findings.push(fd);
        } else if in_bundle {
            *ca_certs += 1;
        } else {
            certificate(&der, &f.path, has_key, where_, obs);
        }
    }
}

fn certificate(der: &[u8], path: &str, has_key: bool, where_: Location, obs: &mut Observations) {
    let Ok((_, cert)) = X509Certificate::from_der(der) else {
        obs.findings.push(
            Finding::new(
                CHECK.id,
                &["5.5-1"],
                Outcome::Info,
                Severity::Info,
                Source::Firmware,
                format!("unparseable certificate in {path}"),
            )
            .evidence(where_, "-----BEGIN CERTIFICATE-----"),
        );
        return;
    };
    let subject = cert.subject().to_string();
    let self_signed = cert.subject() == cert.issuer();
    let spki = cert.public_key();
    let key = match spki.parsed() {
        Ok(x509_parser::public_key::PublicKey::RSA(r)) => ("RSA", int_bits(r.modulus)),
        Ok(x509_parser::public_key::PublicKey::EC(e)) => ("EC", e.key_size()),
        Ok(x509_parser::public_key::PublicKey::DSA(_)) => ("DSA", 0),
        _ => ("other", 0),
    };
    let sig_oid = cert.signature_algorithm.algorithm.to_id_string();
    let sig = match sig_oid.as_str() {
        "1.2.840.113549.1.1.4" => Some("MD5 with RSA"),
        "1.2.840.113549.1.1.5" => Some("SHA-1 with RSA"),
        "1.2.840.10040.4.3" => Some("SHA-1 with DSA"),
        "1.2.840.10045.4.1" => Some("SHA-1 with ECDSA"),
        "1.2.840.113549.1.1.2" => Some("MD2 with RSA"),
        _ => None,
    };
    let not_after = cert.validity().not_after;
    let now = ASN1Time::now();
    let expired = not_after < now;
    let ex = format!(
        "subject {subject}; {} {}-bit; valid {} to {}; {}",
        key.0,
        key.1,
        cert.validity().not_before,
        not_after,
        if self_signed {
            "self-signed"
        } else {
            "CA-issued"
        }
    );
    let mut problems = Vec::new();
    if key.0 == "RSA" && key.1 < 2048 {
        problems.push(format!("a weak {}-bit RSA key", key.1));
    }
    if let Some(s) = sig {
        problems.push(format!("a {s} signature"));
    }
    if !problems.is_empty() {
        obs.findings.push(
            Finding::new(CHECK.id, &["5.5-1"], Outcome::Fail, Severity::Medium, Source::Firmware, format!("certificate in {path} has {}", problems.join(" and ")))
                .detail("Best-practice cryptography (5.5-1) excludes RSA keys under 2048 bits and MD5/SHA-1 certificate signatures.")
                .evidence(where_.clone(), ex.clone()),
        );
    }
    let mut notes = Vec::new();
    if self_signed {
        notes.push("self-signed");
    }
    if expired {
        notes.push("expired");
    }
    if has_key {
        notes.push("its private key is in the same file");
    }
    obs.findings.push(
        Finding::new(CHECK.id, &["5.5-1"], Outcome::Info, if expired { Severity::Low } else { Severity::Info }, Source::Firmware,
            format!("certificate in {path}{}", if notes.is_empty() { String::new() } else { format!(" ({})", notes.join(", ")) }))
            .detail("A self-signed certificate shipped in the image cannot be validated by clients; every unit presents the same one.")
            .evidence(where_, ex),
    );
}

/// DER keys and binary host keys by file name.
fn binary_keys(
    f: &FileRec<'_>,
    loc: &dyn Fn(Option<u32>, Option<u64>) -> Location,
    obs: &mut Observations,
) {
    if !looks_like_key_name(&f.path) && !f.base().ends_with(".der") {
        return;
    }
    if f.is_text() {
        return;
    }
    let what = if let Some(t) = dropbear_key_type(&f.data) {
        Some(format!("dropbear {t} host key"))
    } else {
        describe_der_key(&f.data).map(|d| format!("DER private key ({d})"))
    };
    let Some(what) = what else { return };
    obs.findings.push(
        Finding::new(CHECK.id, &["5.4-1", "5.4-3", "5.4-4"], Outcome::Fail, Severity::Critical, Source::Firmware,
            format!("static {what} in the image: {}", f.path))
        .detail("A host key shipped in the image is the same on every unit: a shared critical security parameter. Anyone with the image can impersonate any device; host keys must be generated on first boot.")
        .evidence(loc(None, Some(0)), format!("{what}, {} bytes", f.data.len())),
    );
}

fn tokens(
    data: &[u8],
    text: bool,
    at: &dyn Fn(usize) -> Location,
    path: &str,
    obs: &mut Observations,
) {
    let mut n = 0;
    for m in TOKEN_AC.find_iter(data) {
        let t = &TOKENS[m.pattern().as_usize()];
        let rest = &data[m.end()..];
        if rest.len() < t.len || !rest[..t.len].iter().all(|b| (t.charset)(*b)) {
            continue;
        }
        // The token must end there (not be part of a longer identifier) and not start inside one.
        if t.len > 0 && rest.get(t.len).is_some_and(|b| b.is_ascii_alphanumeric()) {
            continue;
        }
        if m.start() > 0 && data[m.start() - 1].is_ascii_alphanumeric() {
            continue;
        }
        let shown =
            String::from_utf8_lossy(&data[m.start()..m.end() + t.len.min(rest.len())]).to_string();
        obs.findings.push(
            Finding::new(CHECK.id, &["5.4-3"], Outcome::Fail, Severity::High, Source::Firmware, format!("{} in {path}", t.name))
                .detail(format!("A cloud credential compiled into the firmware is shared by every unit and recoverable by anyone with the image.{}", if text { "" } else { " (found in binary data)" }))
                .evidence(at(m.start()), shown),
        );
        n += 1;
        if n >= 10 {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_keys() {
        // PKCS#1 RSA: SEQUENCE { 0, n (2048-bit), e, … } (truncated after e is enough here).
        let mut n = vec![0x00];
        n.push(0xc1);
        n.extend(vec![0x55; 255]);
        let mut body = vec![0x02, 0x01, 0x00, 0x02, 0x82, 0x01, 0x01];
        body.extend(&n);
        body.extend([0x02, 0x03, 0x01, 0x00, 0x01]);
        body.extend([0x02, 0x01, 0x05]);
        let mut key = vec![0x30, 0x82, (body.len() >> 8) as u8, body.len() as u8];
        key.extend(&body);
        assert_eq!(describe_der_key(&key).as_deref(), Some("RSA 2048-bit"));
        // SEC1 EC key.
        let mut ec = vec![0x30, 0x25, 0x02, 0x01, 0x01, 0x04, 0x20];
        ec.extend([7u8; 32]);
        assert_eq!(describe_der_key(&ec).as_deref(), Some("EC (256-bit)"));
        assert!(describe_der_key(b"\x30\x03\x02\x01").is_none());
        let mut db = 7u32.to_be_bytes().to_vec();
        db.extend(b"ssh-rsa\0\0\0\x03");
        assert_eq!(dropbear_key_type(&db), Some("ssh-rsa"));
        assert_eq!(dropbear_key_type(b"\0\0\0\x04junk"), None);
    }

    #[test]
    fn token_table() {
        let mut obs = Observations::default();
        let at = |o: usize| Location::Image {
            offset: o as u64,
            length: None,
            provenance: "t".into(),
        };
        tokens(b"key=AKIAIOSFODNN7EXAMPLE\n", true, &at, "t", &mut obs);
        tokens(
            b"XAKIAIOSFODNN7EXAMPLEX AIzaShort",
            true,
            &at,
            "t",
            &mut obs,
        );
        assert_eq!(obs.findings.len(), 1);
        assert!(obs.findings[0].title.contains("AWS"));
    }
}
