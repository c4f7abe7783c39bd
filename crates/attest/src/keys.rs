//! Ed25519 keys. A key id is `ed25519:` + the first 16 hex digits of SHA-256 over the raw
//! 32-byte public key, so anyone holding the public key can recompute it.
//!
//! Files: a private key is the PKCS#8 v1 PEM of the 32-byte seed (`-----BEGIN PRIVATE KEY-----`,
//! what `openssl genpkey -algorithm ed25519` writes), created with mode 0600 and never
//! overwritten; a public key is SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use base64::Engine;
use ed25519_dalek::{Signer, Verifier};
use sha2::Digest;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410), before the 32 key bytes.
const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];
/// DER prefix of an Ed25519 PKCS#8 v1 private key (RFC 8410), before the 32 seed bytes.
const PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Format { path: String, message: String },
}

#[derive(Clone)]
pub struct SigningKey(ed25519_dalek::SigningKey);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey(ed25519_dalek::VerifyingKey);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.key_id())
    }
}

impl SigningKey {
    pub fn generate() -> SigningKey {
        SigningKey(ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng))
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    pub fn key_id(&self) -> String {
        self.public_key().key_id()
    }

    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        self.0.sign(msg).to_bytes()
    }

    pub fn to_pem(&self) -> String {
        let mut der = PKCS8_PREFIX.to_vec();
        der.extend_from_slice(&self.0.to_bytes());
        pem("PRIVATE KEY", &der)
    }

    pub fn from_pem(text: &str, path: &str) -> Result<SigningKey, KeyError> {
        let der = unpem(text, "PRIVATE KEY").ok_or_else(|| KeyError::Format {
            path: path.into(),
            message: "not a PEM PRIVATE KEY".into(),
        })?;
        let seed: [u8; 32] = der
            .strip_prefix(&PKCS8_PREFIX[..])
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| KeyError::Format {
                path: path.into(),
                message: "not an Ed25519 PKCS#8 key".into(),
            })?;
        Ok(SigningKey(ed25519_dalek::SigningKey::from_bytes(&seed)))
    }

    /// Writes the private key with mode 0600; refuses to replace an existing file.
    pub fn write_new(&self, path: &Path) -> Result<(), KeyError> {
        let io = |source| KeyError::Io {
            path: path.display().to_string(),
            source,
        };
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(io)?;
        f.write_all(self.to_pem().as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)
    }

    pub fn read(path: &Path) -> Result<SigningKey, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Io {
            path: path.display().to_string(),
            source,
        })?;
        SigningKey::from_pem(&text, &path.display().to_string())
    }
}

impl PublicKey {
    pub fn key_id(&self) -> String {
        let h = sha2::Sha256::digest(self.0.as_bytes());
        format!("ed25519:{}", &hex::encode(h)[..16])
    }

    pub fn verify(&self, msg: &[u8], sig: &[u8; 64]) -> bool {
        self.0
            .verify(msg, &ed25519_dalek::Signature::from_bytes(sig))
            .is_ok()
    }

    pub fn to_pem(&self) -> String {
        let mut der = SPKI_PREFIX.to_vec();
        der.extend_from_slice(self.0.as_bytes());
        pem("PUBLIC KEY", &der)
    }

    pub fn from_pem(text: &str) -> Option<PublicKey> {
        let der = unpem(text, "PUBLIC KEY")?;
        let raw: [u8; 32] = der.strip_prefix(&SPKI_PREFIX[..])?.try_into().ok()?;
        ed25519_dalek::VerifyingKey::from_bytes(&raw)
            .ok()
            .map(PublicKey)
    }

    /// Reads keys from a PEM file, a JSON object `{keyid, public_key_pem}`, or a JSON array of
    /// them (what `GET /api/v1/keys` answers).
    pub fn read_any(path: &Path) -> Result<Vec<PublicKey>, KeyError> {
        let shown = path.display().to_string();
        let meta = std::fs::metadata(path).map_err(|source| KeyError::Io {
            path: shown.clone(),
            source,
        })?;
        if meta.len() > 4 << 20 {
            return Err(KeyError::Format {
                path: shown,
                message: "larger than 4 MiB: not a key file".into(),
            });
        }
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Io {
            path: shown.clone(),
            source,
        })?;
        if let Some(k) = PublicKey::from_pem(&text) {
            return Ok(vec![k]);
        }
        let bad = |m: &str| KeyError::Format {
            path: shown.clone(),
            message: m.into(),
        };
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|_| bad("neither a PEM PUBLIC KEY nor JSON with `public_key_pem`"))?;
        let items = match v {
            serde_json::Value::Array(a) => a,
            o => vec![o],
        };
        let mut keys = Vec::new();
        for it in items {
            let pem = it
                .get("public_key_pem")
                .and_then(|p| p.as_str())
                .ok_or_else(|| bad("a JSON key without `public_key_pem`"))?;
            let k = PublicKey::from_pem(pem)
                .ok_or_else(|| bad("`public_key_pem` is not an Ed25519 public key"))?;
            if let Some(id) = it.get("keyid").and_then(|i| i.as_str()) {
                if id != k.key_id() {
                    return Err(bad(&format!(
                        "keyid {id} does not belong to its key ({})",
                        k.key_id()
                    )));
                }
            }
            keys.push(k);
        }
        if keys.is_empty() {
            return Err(bad("no keys"));
        }
        Ok(keys)
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    let b = B64.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

fn unpem(text: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let s = text.find(&begin)? + begin.len();
    let e = text[s..].find(&end)? + s;
    let body: String = text[s..e].chars().filter(|c| !c.is_whitespace()).collect();
    B64.decode(body).ok()
}

/// A folder of keys: `current` names the signing key's id; `<id>.key` (0600) and `<id>.pub.pem`
/// for every key ever current, so a rotation keeps the old ones for verification.
pub struct KeyRing {
    dir: PathBuf,
    current: SigningKey,
}

impl KeyRing {
    /// Opens `dir`, creating it (0700) and a first key when it holds none.
    pub fn open_or_create(dir: &Path) -> Result<KeyRing, KeyError> {
        use std::os::unix::fs::DirBuilderExt;
        let io = |source| KeyError::Io {
            path: dir.display().to_string(),
            source,
        };
        if !dir.exists() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(io)?;
        }
        let pointer = dir.join("current");
        match std::fs::read_to_string(&pointer) {
            Ok(id) => {
                let id = id.trim();
                let current = SigningKey::read(&dir.join(file_name(id, "key")))?;
                if current.key_id() != id {
                    return Err(KeyError::Format {
                        path: pointer.display().to_string(),
                        message: format!("names {id}, but that file holds {}", current.key_id()),
                    });
                }
                Ok(KeyRing {
                    dir: dir.to_path_buf(),
                    current,
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut ring = KeyRing {
                    dir: dir.to_path_buf(),
                    current: SigningKey::generate(),
                };
                ring.install(SigningKey::generate())?;
                Ok(ring)
            }
            Err(source) => Err(KeyError::Io {
                path: pointer.display().to_string(),
                source,
            }),
        }
    }

    pub fn current(&self) -> &SigningKey {
        &self.current
    }

    /// Makes a new current key; the old one stays in the folder.
    pub fn rotate(&mut self) -> Result<&SigningKey, KeyError> {
        self.install(SigningKey::generate())?;
        Ok(&self.current)
    }

    fn install(&mut self, key: SigningKey) -> Result<(), KeyError> {
        let id = key.key_id();
        key.write_new(&self.dir.join(file_name(&id, "key")))?;
        let pubp = self.dir.join(file_name(&id, "pub.pem"));
        std::fs::write(&pubp, key.public_key().to_pem()).map_err(|source| KeyError::Io {
            path: pubp.display().to_string(),
            source,
        })?;
        // The pointer changes last, by rename: a crash leaves the old key current.
        let tmp = self.dir.join("current.tmp");
        std::fs::write(&tmp, &id).map_err(|source| KeyError::Io {
            path: tmp.display().to_string(),
            source,
        })?;
        std::fs::rename(&tmp, self.dir.join("current")).map_err(|source| KeyError::Io {
            path: self.dir.display().to_string(),
            source,
        })?;
        self.current = key;
        Ok(())
    }

    /// Every public key in the folder, current and retired.
    pub fn public_keys(&self) -> Result<Vec<PublicKey>, KeyError> {
        let mut out = Vec::new();
        let rd = std::fs::read_dir(&self.dir).map_err(|source| KeyError::Io {
            path: self.dir.display().to_string(),
            source,
        })?;
        for e in rd.flatten() {
            let p = e.path();
            if p.to_string_lossy().ends_with(".pub.pem") {
                if let Some(k) = std::fs::read_to_string(&p)
                    .ok()
                    .and_then(|t| PublicKey::from_pem(&t))
                {
                    out.push(k);
                }
            }
        }
        Ok(out)
    }
}

/// `ed25519:0123…` → `ed25519_0123….key` (no colon in file names).
fn file_name(id: &str, ext: &str) -> String {
    format!("{}.{ext}", id.replace(':', "_"))
}
