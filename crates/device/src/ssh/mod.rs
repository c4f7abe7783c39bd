//! A minimal SSH-2 client: key exchange (curve25519-sha256 or ecdh-sha2-nistp256/384), one of
//! chacha20-poly1305@openssh.com or aes128/256-ctr with hmac-sha2-256/hmac-sha1, then the
//! `ssh-userauth` service: "none" (which methods does the server offer?), "password" and
//! "keyboard-interactive" attempts. Enough to test default credentials and brute-force
//! protection; it never opens a channel. The server's host-key signature is not verified: the
//! probe talks to a device under test, it does not trust it with anything.
//!
//! Why by hand: the mature clients are libssh2 (C, OpenSSL) or async stacks (russh, tokio). This
//! needs only ring (already here for rustls) and the aes/ctr crates.

pub mod wire;

use std::io;
use std::time::Duration;

use ctr::cipher::{KeyIvInit, StreamCipher};
use ring::rand::SecureRandom;
use ring::{agreement, digest, hmac};

use crate::conn::Conn;
use crate::log::Exchange;
use crate::services::ssh_id;
use wire::{put_mpint, put_str, put_u32, Reader};

const MSG_DISCONNECT: u8 = 1;
const MSG_IGNORE: u8 = 2;
const MSG_UNIMPLEMENTED: u8 = 3;
const MSG_DEBUG: u8 = 4;
const MSG_SERVICE_REQUEST: u8 = 5;
const MSG_SERVICE_ACCEPT: u8 = 6;
const MSG_EXT_INFO: u8 = 7;
const MSG_KEXINIT: u8 = 20;
const MSG_NEWKEYS: u8 = 21;
const MSG_KEX_ECDH_INIT: u8 = 30;
const MSG_KEX_ECDH_REPLY: u8 = 31;
const MSG_USERAUTH_REQUEST: u8 = 50;
const MSG_USERAUTH_FAILURE: u8 = 51;
const MSG_USERAUTH_SUCCESS: u8 = 52;
const MSG_USERAUTH_BANNER: u8 = 53;
const MSG_USERAUTH_INFO_REQUEST: u8 = 60;
const MSG_USERAUTH_INFO_RESPONSE: u8 = 61;

const KEX: &[&str] = &[
    "curve25519-sha256",
    "curve25519-sha256@libssh.org",
    "ecdh-sha2-nistp256",
    "ecdh-sha2-nistp384",
];
const HOSTKEY: &[&str] = &[
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "rsa-sha2-512",
    "rsa-sha2-256",
    "ssh-rsa",
    "ssh-dss",
];
const CIPHERS: &[&str] = &["chacha20-poly1305@openssh.com", "aes128-ctr", "aes256-ctr"];
const MACS: &[&str] = &["hmac-sha2-256", "hmac-sha1"];

#[derive(Debug)]
pub enum SshError {
    Io(io::Error),
    /// The server offers nothing this client implements.
    NoCommonAlgorithm(String),
    Protocol(String),
    Disconnected(String),
}

impl std::fmt::Display for SshError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SshError::Io(e) => write!(f, "{e}"),
            SshError::NoCommonAlgorithm(s) => write!(
                f,
                "no common {s} (this client speaks {})",
                match s.as_str() {
                    "kex" => KEX.join(","),
                    "cipher" => CIPHERS.join(","),
                    "mac" => MACS.join(","),
                    _ => HOSTKEY.join(","),
                }
            ),
            SshError::Protocol(s) => write!(f, "protocol error: {s}"),
            SshError::Disconnected(s) => write!(f, "disconnected: {s}"),
        }
    }
}

impl From<io::Error> for SshError {
    fn from(e: io::Error) -> Self {
        SshError::Io(e)
    }
}

enum Cipher {
    None,
    Chacha {
        seal: Box<ring::aead::chacha20_poly1305_openssh::SealingKey>,
        open: Box<ring::aead::chacha20_poly1305_openssh::OpeningKey>,
    },
    AesCtr {
        enc: Box<dyn StreamCipherBox>,
        dec: Box<dyn StreamCipherBox>,
        mac_out: Box<hmac::Key>,
        mac_in: Box<hmac::Key>,
        mac_len: usize,
    },
}

trait StreamCipherBox: Send {
    fn apply(&mut self, b: &mut [u8]);
}

impl<T: StreamCipher + Send> StreamCipherBox for T {
    fn apply(&mut self, b: &mut [u8]) {
        self.apply_keystream(b);
    }
}

/// An SSH transport after key exchange, ready for `ssh-userauth`.
pub struct Session {
    conn: Conn,
    cipher: Cipher,
    seq_out: u32,
    seq_in: u32,
    buf: Vec<u8>,
    timeout: Duration,
    pub server_ident: String,
    /// Auth banner text, if the server sent one.
    pub banner: Option<String>,
    /// The server's host key blob (K_S of the key exchange), e.g. `ssh-ed25519` + key.
    pub host_key: Vec<u8>,
}

/// What the server said to an authentication attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthResult {
    Success,
    /// Refused; the methods that can continue.
    Failure(Vec<String>),
}

fn choose(client: &[&str], server: &[String], what: &str) -> Result<String, SshError> {
    client
        .iter()
        .find(|c| server.iter().any(|s| s == *c))
        .map(|s| s.to_string())
        .ok_or_else(|| SshError::NoCommonAlgorithm(what.into()))
}

fn name_list(b: &mut Vec<u8>, l: &[&str]) {
    put_str(b, l.join(",").as_bytes());
}

impl Session {
    /// Connects (the caller opened `conn`), exchanges versions and keys, requests ssh-userauth.
    pub fn establish(
        mut conn: Conn,
        ex: &mut Exchange<'_>,
        timeout: Duration,
    ) -> Result<Session, SshError> {
        let rng = ring::rand::SystemRandom::new();
        let ours = ssh_id::client_ident();
        conn.send(ex, format!("{ours}\r\n").as_bytes())?;
        let mut s = Session {
            conn,
            cipher: Cipher::None,
            seq_out: 0,
            seq_in: 0,
            buf: Vec::new(),
            timeout,
            server_ident: String::new(),
            banner: None,
            host_key: Vec::new(),
        };
        // Version line.
        let start = std::time::Instant::now();
        let ident = loop {
            if let Some((id, rest)) = ssh_id::split_ident(&s.buf) {
                let rest = rest.to_vec();
                ex.received(format!("{id}\r\n").as_bytes());
                s.buf = rest;
                break id;
            }
            if start.elapsed() > timeout || s.conn.eof || s.buf.len() > 8192 {
                return Err(SshError::Protocol("no SSH version line".into()));
            }
            let c = s.conn.read_chunk(timeout)?;
            s.buf.extend(c);
        };
        s.server_ident = ident.clone();
        // KEXINIT.
        let mut cookie = [0u8; 16];
        rng.fill(&mut cookie)
            .map_err(|_| SshError::Protocol("no randomness".into()))?;
        let mut kexinit = vec![MSG_KEXINIT];
        kexinit.extend_from_slice(&cookie);
        name_list(&mut kexinit, KEX);
        name_list(&mut kexinit, HOSTKEY);
        name_list(&mut kexinit, CIPHERS);
        name_list(&mut kexinit, CIPHERS);
        name_list(&mut kexinit, MACS);
        name_list(&mut kexinit, MACS);
        name_list(&mut kexinit, &["none"]);
        name_list(&mut kexinit, &["none"]);
        name_list(&mut kexinit, &[]);
        name_list(&mut kexinit, &[]);
        kexinit.push(0);
        put_u32(&mut kexinit, 0);
        s.send_packet(ex, &kexinit, "KEXINIT")?;
        let server_kexinit = s.recv_until(ex, |t| t == MSG_KEXINIT)?;
        let sk = ssh_id::parse_kexinit(&server_kexinit)
            .ok_or_else(|| SshError::Protocol("bad KEXINIT".into()))?;
        let kex = choose(KEX, &sk.kex, "kex")?;
        choose(HOSTKEY, &sk.host_key, "host key")?;
        let cipher = choose(CIPHERS, &sk.ciphers, "cipher")?;
        let mac = if cipher.starts_with("chacha") {
            String::new()
        } else {
            choose(MACS, &sk.macs, "mac")?
        };
        ex.note(format!(
            "negotiated {kex}, {cipher}{}",
            if mac.is_empty() {
                String::new()
            } else {
                format!(", {mac}")
            }
        ));
        // ECDH.
        let (alg, hash): (&agreement::Algorithm, &digest::Algorithm) = match kex.as_str() {
            "ecdh-sha2-nistp256" => (&agreement::ECDH_P256, &digest::SHA256),
            "ecdh-sha2-nistp384" => (&agreement::ECDH_P384, &digest::SHA384),
            _ => (&agreement::X25519, &digest::SHA256),
        };
        let priv_key = agreement::EphemeralPrivateKey::generate(alg, &rng)
            .map_err(|_| SshError::Protocol("key generation".into()))?;
        let q_c = priv_key
            .compute_public_key()
            .map_err(|_| SshError::Protocol("public key".into()))?
            .as_ref()
            .to_vec();
        let mut init = vec![MSG_KEX_ECDH_INIT];
        put_str(&mut init, &q_c);
        s.send_packet(ex, &init, "KEX_ECDH_INIT")?;
        let reply = s.recv_until(ex, |t| t == MSG_KEX_ECDH_REPLY)?;
        let mut r = Reader(&reply[1..]);
        let k_s = r
            .string()
            .ok_or_else(|| SshError::Protocol("bad ECDH reply".into()))?
            .to_vec();
        let q_s = r
            .string()
            .ok_or_else(|| SshError::Protocol("bad ECDH reply".into()))?
            .to_vec();
        s.host_key = k_s.clone();
        let shared = agreement::agree_ephemeral(
            priv_key,
            &agreement::UnparsedPublicKey::new(alg, &q_s),
            |k| k.to_vec(),
        )
        .map_err(|_| SshError::Protocol("ECDH failed".into()))?;
        let mut k = Vec::new();
        put_mpint(&mut k, &shared);
        let mut h = Vec::new();
        put_str(&mut h, ours.as_bytes());
        put_str(&mut h, ident.as_bytes());
        put_str(&mut h, &kexinit);
        put_str(&mut h, &server_kexinit);
        put_str(&mut h, &k_s);
        put_str(&mut h, &q_c);
        put_str(&mut h, &q_s);
        h.extend_from_slice(&k);
        let session_id = digest::digest(hash, &h).as_ref().to_vec();
        s.send_packet(ex, &[MSG_NEWKEYS], "NEWKEYS")?;
        s.recv_until(ex, |t| t == MSG_NEWKEYS)?;
        let derive = |letter: u8, len: usize| -> Vec<u8> {
            let mut out = {
                let mut c = digest::Context::new(hash);
                c.update(&k);
                c.update(&session_id);
                c.update(&[letter]);
                c.update(&session_id);
                c.finish().as_ref().to_vec()
            };
            while out.len() < len {
                let mut c = digest::Context::new(hash);
                c.update(&k);
                c.update(&session_id);
                c.update(&out);
                out.extend_from_slice(c.finish().as_ref());
            }
            out.truncate(len);
            out
        };
        s.cipher = if cipher.starts_with("chacha") {
            let kc: [u8; 64] = derive(b'C', 64).try_into().expect("64 bytes");
            let kd: [u8; 64] = derive(b'D', 64).try_into().expect("64 bytes");
            Cipher::Chacha {
                seal: Box::new(ring::aead::chacha20_poly1305_openssh::SealingKey::new(&kc)),
                open: Box::new(ring::aead::chacha20_poly1305_openssh::OpeningKey::new(&kd)),
            }
        } else {
            let klen = if cipher == "aes256-ctr" { 32 } else { 16 };
            let (iv_c, iv_s, k_c, k_s2) = (
                derive(b'A', 16),
                derive(b'B', 16),
                derive(b'C', klen),
                derive(b'D', klen),
            );
            let (alg, mlen) = if mac == "hmac-sha2-256" {
                (hmac::HMAC_SHA256, 32)
            } else {
                (hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, 20)
            };
            let (m_c, m_s) = (derive(b'E', mlen), derive(b'F', mlen));
            let mk = |key: &[u8], iv: &[u8]| -> Box<dyn StreamCipherBox> {
                if key.len() == 32 {
                    Box::new(ctr::Ctr128BE::<aes::Aes256>::new(key.into(), iv.into()))
                } else {
                    Box::new(ctr::Ctr128BE::<aes::Aes128>::new(key.into(), iv.into()))
                }
            };
            Cipher::AesCtr {
                enc: mk(&k_c, &iv_c),
                dec: mk(&k_s2, &iv_s),
                mac_out: Box::new(hmac::Key::new(alg, &m_c)),
                mac_in: Box::new(hmac::Key::new(alg, &m_s)),
                mac_len: mlen,
            }
        };
        let mut req = vec![MSG_SERVICE_REQUEST];
        put_str(&mut req, b"ssh-userauth");
        s.send_packet(ex, &req, "SERVICE_REQUEST ssh-userauth")?;
        s.recv_until(ex, |t| t == MSG_SERVICE_ACCEPT)?;
        Ok(s)
    }

    fn send_packet(
        &mut self,
        ex: &mut Exchange<'_>,
        payload: &[u8],
        what: &str,
    ) -> Result<(), SshError> {
        let block = match self.cipher {
            Cipher::AesCtr { .. } => 16,
            _ => 8,
        };
        // chacha20-poly1305 leaves the length out of the padding arithmetic (it is sealed apart).
        let counted = if matches!(self.cipher, Cipher::Chacha { .. }) {
            1 + payload.len()
        } else {
            5 + payload.len()
        };
        let mut pad = block - counted % block;
        if pad < 4 {
            pad += block;
        }
        let len = 1 + payload.len() + pad;
        let mut pkt = Vec::with_capacity(4 + len + 32);
        put_u32(&mut pkt, len as u32);
        pkt.push(pad as u8);
        pkt.extend_from_slice(payload);
        let mut padding = vec![0u8; pad];
        let _ = ring::rand::SystemRandom::new().fill(&mut padding);
        pkt.extend_from_slice(&padding);
        let plain = pkt.clone();
        match &mut self.cipher {
            Cipher::None => {}
            Cipher::Chacha { seal, .. } => {
                let mut tag = [0u8; 16];
                seal.seal_in_place(self.seq_out, &mut pkt, &mut tag);
                pkt.extend_from_slice(&tag);
            }
            Cipher::AesCtr { enc, mac_out, .. } => {
                let mut m = self.seq_out.to_be_bytes().to_vec();
                m.extend_from_slice(&plain);
                let tag = hmac::sign(mac_out, &m);
                enc.apply(&mut pkt);
                pkt.extend_from_slice(tag.as_ref());
            }
        }
        self.seq_out = self.seq_out.wrapping_add(1);
        // The log keeps the packet as sent (encrypted after NEWKEYS); the evidence says what it was.
        self.conn
            .send_as(ex, &pkt, &format!("SSH {what}"))
            .map_err(SshError::Io)
    }

    fn fill(&mut self, want: usize) -> Result<(), SshError> {
        let end = std::time::Instant::now() + self.timeout;
        while self.buf.len() < want {
            if self.conn.eof {
                return Err(SshError::Disconnected("connection closed".into()));
            }
            let left = end.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(SshError::Io(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "SSH read timed out",
                )));
            }
            let c = self.conn.read_chunk(left)?;
            self.buf.extend(c);
        }
        Ok(())
    }

    /// One packet's payload.
    fn recv_packet(&mut self) -> Result<Vec<u8>, SshError> {
        let payload = match &mut self.cipher {
            Cipher::None => {
                self.fill(4)?;
                let len = u32::from_be_bytes(self.buf[..4].try_into().expect("4")) as usize;
                if !(5..=256 * 1024).contains(&len) {
                    return Err(SshError::Protocol(format!("packet length {len}")));
                }
                self.fill(4 + len)?;
                let pkt: Vec<u8> = self.buf.drain(..4 + len).collect();
                let pad = pkt[4] as usize;
                pkt.get(5..4 + len - pad)
                    .ok_or_else(|| SshError::Protocol("padding".into()))?
                    .to_vec()
            }
            Cipher::Chacha { .. } => {
                self.fill(4)?;
                let Cipher::Chacha { open, .. } = &self.cipher else {
                    unreachable!()
                };
                let lenb =
                    open.decrypt_packet_length(self.seq_in, self.buf[..4].try_into().expect("4"));
                let len = u32::from_be_bytes(lenb) as usize;
                if !(5..=256 * 1024).contains(&len) {
                    return Err(SshError::Protocol(format!("packet length {len}")));
                }
                self.fill(4 + len + 16)?;
                let mut pkt: Vec<u8> = self.buf.drain(..4 + len + 16).collect();
                let tag: [u8; 16] = pkt[4 + len..].try_into().expect("16");
                pkt.truncate(4 + len);
                let Cipher::Chacha { open, .. } = &self.cipher else {
                    unreachable!()
                };
                let plain = open
                    .open_in_place(self.seq_in, &mut pkt, &tag)
                    .map_err(|_| SshError::Protocol("bad MAC".into()))?;
                let pad = *plain
                    .first()
                    .ok_or_else(|| SshError::Protocol("empty".into()))?
                    as usize;
                plain
                    .get(1..len.saturating_sub(pad))
                    .ok_or_else(|| SshError::Protocol("padding".into()))?
                    .to_vec()
            }
            Cipher::AesCtr { .. } => {
                self.fill(16)?;
                let Cipher::AesCtr { dec, mac_len, .. } = &mut self.cipher else {
                    unreachable!()
                };
                let mac_len = *mac_len;
                let mut first: Vec<u8> = self.buf[..16].to_vec();
                dec.apply(&mut first);
                let len = u32::from_be_bytes(first[..4].try_into().expect("4")) as usize;
                if !(12..=256 * 1024).contains(&len) || (len + 4) % 16 != 0 {
                    return Err(SshError::Protocol(format!("packet length {len}")));
                }
                self.fill(4 + len + mac_len)?;
                let Cipher::AesCtr { dec, mac_in, .. } = &mut self.cipher else {
                    unreachable!()
                };
                let mut rest: Vec<u8> = self.buf[16..4 + len].to_vec();
                dec.apply(&mut rest);
                first.extend(rest);
                let mut m = self.seq_in.to_be_bytes().to_vec();
                m.extend_from_slice(&first);
                hmac::verify(mac_in, &m, &self.buf[4 + len..4 + len + mac_len])
                    .map_err(|_| SshError::Protocol("bad MAC".into()))?;
                self.buf.drain(..4 + len + mac_len);
                let pad = first[4] as usize;
                first
                    .get(5..4 + len - pad)
                    .ok_or_else(|| SshError::Protocol("padding".into()))?
                    .to_vec()
            }
        };
        self.seq_in = self.seq_in.wrapping_add(1);
        Ok(payload)
    }

    /// Receives packets until one satisfies `want` (by message type); others are handled.
    fn recv_until(
        &mut self,
        ex: &mut Exchange<'_>,
        want: impl Fn(u8) -> bool,
    ) -> Result<Vec<u8>, SshError> {
        for _ in 0..64 {
            let p = self.recv_packet()?;
            let t = *p
                .first()
                .ok_or_else(|| SshError::Protocol("empty packet".into()))?;
            if want(t) {
                ex.received_as(&p, format!("SSH {}", msg_name(t)));
                return Ok(p);
            }
            match t {
                MSG_IGNORE | MSG_DEBUG | MSG_EXT_INFO | MSG_UNIMPLEMENTED => continue,
                MSG_USERAUTH_BANNER => {
                    let mut r = Reader(&p[1..]);
                    self.banner = r.text();
                    ex.received_as(
                        &p,
                        format!(
                            "SSH USERAUTH_BANNER {}",
                            self.banner.clone().unwrap_or_default().trim()
                        ),
                    );
                }
                MSG_DISCONNECT => {
                    let mut r = Reader(&p[1..]);
                    let _code = r.u32();
                    let why = r.text().unwrap_or_default();
                    ex.received_as(&p, format!("SSH DISCONNECT {why}"));
                    return Err(SshError::Disconnected(why));
                }
                other => {
                    ex.received_as(&p, format!("SSH message {other}"));
                    return Err(SshError::Protocol(format!("unexpected message {other}")));
                }
            }
        }
        Err(SshError::Protocol("too many packets".into()))
    }

    fn auth_reply(&mut self, ex: &mut Exchange<'_>) -> Result<AuthResult, SshError> {
        let p = self.recv_until(ex, |t| {
            t == MSG_USERAUTH_SUCCESS || t == MSG_USERAUTH_FAILURE || t == MSG_USERAUTH_INFO_REQUEST
        })?;
        match p[0] {
            MSG_USERAUTH_SUCCESS => Ok(AuthResult::Success),
            MSG_USERAUTH_FAILURE => {
                let mut r = Reader(&p[1..]);
                let methods = r
                    .text()
                    .unwrap_or_default()
                    .split(',')
                    .filter(|m| !m.is_empty())
                    .map(String::from)
                    .collect();
                Ok(AuthResult::Failure(methods))
            }
            _ => Err(SshError::Protocol("unexpected INFO_REQUEST".into())),
        }
    }

    /// The "none" method: the reply lists the methods the server accepts.
    pub fn auth_none(&mut self, ex: &mut Exchange<'_>, user: &str) -> Result<AuthResult, SshError> {
        let mut m = vec![MSG_USERAUTH_REQUEST];
        put_str(&mut m, user.as_bytes());
        put_str(&mut m, b"ssh-connection");
        put_str(&mut m, b"none");
        self.send_packet(ex, &m, &format!("USERAUTH_REQUEST {user} none"))?;
        self.auth_reply(ex)
    }

    pub fn auth_password(
        &mut self,
        ex: &mut Exchange<'_>,
        user: &str,
        pass: &str,
    ) -> Result<AuthResult, SshError> {
        let mut m = vec![MSG_USERAUTH_REQUEST];
        put_str(&mut m, user.as_bytes());
        put_str(&mut m, b"ssh-connection");
        put_str(&mut m, b"password");
        m.push(0);
        put_str(&mut m, pass.as_bytes());
        self.send_packet(ex, &m, &format!("USERAUTH_REQUEST password {user}:{pass}"))?;
        self.auth_reply(ex)
    }

    /// keyboard-interactive, answering every prompt with the password.
    pub fn auth_keyboard(
        &mut self,
        ex: &mut Exchange<'_>,
        user: &str,
        pass: &str,
    ) -> Result<AuthResult, SshError> {
        let mut m = vec![MSG_USERAUTH_REQUEST];
        put_str(&mut m, user.as_bytes());
        put_str(&mut m, b"ssh-connection");
        put_str(&mut m, b"keyboard-interactive");
        put_str(&mut m, b"");
        put_str(&mut m, b"");
        self.send_packet(
            ex,
            &m,
            &format!("USERAUTH_REQUEST keyboard-interactive {user}"),
        )?;
        for _ in 0..4 {
            let p = self.recv_until(ex, |t| {
                t == MSG_USERAUTH_SUCCESS
                    || t == MSG_USERAUTH_FAILURE
                    || t == MSG_USERAUTH_INFO_REQUEST
            })?;
            match p[0] {
                MSG_USERAUTH_SUCCESS => return Ok(AuthResult::Success),
                MSG_USERAUTH_FAILURE => {
                    let mut r = Reader(&p[1..]);
                    return Ok(AuthResult::Failure(
                        r.text()
                            .unwrap_or_default()
                            .split(',')
                            .filter(|m| !m.is_empty())
                            .map(String::from)
                            .collect(),
                    ));
                }
                _ => {
                    let mut r = Reader(&p[1..]);
                    let _name = r.string();
                    let _instr = r.string();
                    let _lang = r.string();
                    let n = r.u32().unwrap_or(0).min(8);
                    let mut resp = vec![MSG_USERAUTH_INFO_RESPONSE];
                    put_u32(&mut resp, n);
                    for _ in 0..n {
                        put_str(&mut resp, pass.as_bytes());
                    }
                    self.send_packet(ex, &resp, &format!("USERAUTH_INFO_RESPONSE {n} x {pass}"))?;
                }
            }
        }
        Err(SshError::Protocol(
            "keyboard-interactive did not settle".into(),
        ))
    }

    pub fn eof(&self) -> bool {
        self.conn.eof
    }

    pub fn close(self) {
        self.conn.close();
    }
}

fn msg_name(t: u8) -> &'static str {
    match t {
        MSG_KEXINIT => "KEXINIT",
        MSG_NEWKEYS => "NEWKEYS",
        MSG_KEX_ECDH_REPLY => "KEX_ECDH_REPLY",
        MSG_SERVICE_ACCEPT => "SERVICE_ACCEPT",
        MSG_USERAUTH_SUCCESS => "USERAUTH_SUCCESS",
        MSG_USERAUTH_FAILURE => "USERAUTH_FAILURE",
        MSG_USERAUTH_INFO_REQUEST => "USERAUTH_INFO_REQUEST",
        _ => "message",
    }
}
