//! Ed25519 keys. A key id is `ed25519:` + the first 16 hex digits of SHA-256 over the raw
//! 32-byte public key, so anyone holding the public key can recompute it.
//!
//! Files: a private key is the PKCS#8 v1 PEM of the 32-byte seed (`-----BEGIN PRIVATE KEY-----`,
//! what `openssl genpkey -algorithm ed25519` writes), created with mode 0600 and never
//! overwritten; a public key is SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`), or
//! JSON `{"keyid": "ed25519:…", "alg": "ed25519", "public_key_pem": "-----BEGIN PUBLIC KEY-----…"}`
//! (an object, or an array of them as `GET /api/v1/keys` answers).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use base64::Engine;
use ed25519_dalek::Signer;
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

/// An Ed25519 private key (the seed is wiped from memory on drop).
#[derive(Clone)]
pub struct SigningKey(ed25519_dalek::SigningKey);

/// An Ed25519 public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey(ed25519_dalek::VerifyingKey);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.key_id())
    }
}

impl SigningKey {
    /// A new key from the operating system's random source.
    pub fn generate() -> SigningKey {
        SigningKey(ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng))
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// The public key's id ([`PublicKey::key_id`]).
    pub fn key_id(&self) -> String {
        self.public_key().key_id()
    }

    /// The 64-byte Ed25519 signature of `msg`.
    pub fn sign(&self, msg: &[u8]) -> [u8; 64] {
        self.0.sign(msg).to_bytes()
    }

    /// PKCS#8 v1 PEM (`-----BEGIN PRIVATE KEY-----`).
    pub fn to_pem(&self) -> String {
        let mut der = PKCS8_PREFIX.to_vec();
        der.extend_from_slice(&self.0.to_bytes());
        pem("PRIVATE KEY", &der)
    }

    /// Reads PKCS#8 PEM; `path` only names the source in errors.
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

    /// Reads a private key file written by [`SigningKey::write_new`] (or `openssl genpkey`).
    pub fn read(path: &Path) -> Result<SigningKey, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Io {
            path: path.display().to_string(),
            source,
        })?;
        SigningKey::from_pem(&text, &path.display().to_string())
    }
}

impl PublicKey {
    /// `ed25519:` + the first 16 hex digits of SHA-256 over the raw 32-byte public key.
    pub fn key_id(&self) -> String {
        let h = sha2::Sha256::digest(self.0.as_bytes());
        format!("ed25519:{}", &hex::encode(h)[..16])
    }

    /// Strict RFC 8032 verification: non-canonical signatures and small-order keys are refused.
    pub fn verify(&self, msg: &[u8], sig: &[u8; 64]) -> bool {
        self.0
            .verify_strict(msg, &ed25519_dalek::Signature::from_bytes(sig))
            .is_ok()
    }

    /// The raw 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }

    /// SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`): DER `302a300506032b6570032100`
    /// followed by the 32 key bytes.
    pub fn to_pem(&self) -> String {
        let mut der = SPKI_PREFIX.to_vec();
        der.extend_from_slice(self.0.as_bytes());
        pem("PUBLIC KEY", &der)
    }

    /// `{"keyid", "alg": "ed25519", "public_key_pem"}`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "keyid": self.key_id(),
            "alg": "ed25519",
            "public_key_pem": self.to_pem(),
        })
    }

    /// Reads an Ed25519 SubjectPublicKeyInfo PEM (`None`: not one).
    pub fn from_pem(text: &str) -> Option<PublicKey> {
        let der = unpem(text, "PUBLIC KEY")?;
        let raw: [u8; 32] = der.strip_prefix(&SPKI_PREFIX[..])?.try_into().ok()?;
        ed25519_dalek::VerifyingKey::from_bytes(&raw)
            .ok()
            .map(PublicKey)
    }

    /// Reads the JSON form: one object `{keyid, alg, public_key_pem}` or an array of them. A
    /// `keyid` that is not the key's own id, or an `alg` other than `ed25519`, is refused.
    pub fn from_json(text: &str) -> Result<Vec<PublicKey>, String> {
        let v: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| format!("neither a PEM PUBLIC KEY nor JSON: {e}"))?;
        let items = match v {
            serde_json::Value::Array(a) => a,
            o => vec![o],
        };
        let mut keys = Vec::new();
        for it in items {
            let pem = it
                .get("public_key_pem")
                .and_then(|p| p.as_str())
                .ok_or("a JSON key without `public_key_pem`")?;
            if let Some(alg) = it.get("alg") {
                if alg.as_str() != Some("ed25519") {
                    return Err(format!("`alg` is {alg}; only \"ed25519\" is known"));
                }
            }
            let k =
                PublicKey::from_pem(pem).ok_or("`public_key_pem` is not an Ed25519 public key")?;
            if let Some(id) = it.get("keyid") {
                if id.as_str() != Some(k.key_id().as_str()) {
                    return Err(format!(
                        "keyid {id} does not belong to its key ({})",
                        k.key_id()
                    ));
                }
            }
            keys.push(k);
        }
        if keys.is_empty() {
            return Err("no keys".into());
        }
        Ok(keys)
    }

    /// PEM or JSON, told apart by their content.
    pub fn parse_any(text: &str) -> Result<Vec<PublicKey>, String> {
        if text.contains("-----BEGIN ") && !text.trim_start().starts_with(['{', '[']) {
            return PublicKey::from_pem(text)
                .map(|k| vec![k])
                .ok_or_else(|| "not an Ed25519 PEM PUBLIC KEY".into());
        }
        PublicKey::from_json(text)
    }

    /// Reads a key file: [`PublicKey::parse_any`].
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
        PublicKey::parse_any(&text).map_err(|message| KeyError::Format {
            path: shown,
            message,
        })
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

/// A folder of keys (0700): `current` names the signing key's id; `ed25519_<hex>.key` (0600) and
/// `ed25519_<hex>.pub.pem` for every key ever current (the id with `_` for `:`), so a rotation
/// keeps the old ones for verification. Files are only ever added; `current` is replaced by
/// rename.
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
                let current = SigningKey::generate();
                install(dir, &current)?;
                Ok(KeyRing {
                    dir: dir.to_path_buf(),
                    current,
                })
            }
            Err(source) => Err(KeyError::Io {
                path: pointer.display().to_string(),
                source,
            }),
        }
    }

    /// The signing key.
    pub fn current(&self) -> &SigningKey {
        &self.current
    }

    /// Makes a new current key; the old one stays in the folder.
    pub fn rotate(&mut self) -> Result<&SigningKey, KeyError> {
        let key = SigningKey::generate();
        install(&self.dir, &key)?;
        self.current = key;
        Ok(&self.current)
    }

    /// Every public key in the folder, current and retired, ordered by key id.
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
        out.sort_by_key(PublicKey::key_id);
        out.dedup();
        Ok(out)
    }
}

/// Writes `key`'s files into `dir` and makes it current.
fn install(dir: &Path, key: &SigningKey) -> Result<(), KeyError> {
    let id = key.key_id();
    key.write_new(&dir.join(file_name(&id, "key")))?;
    let pubp = dir.join(file_name(&id, "pub.pem"));
    std::fs::write(&pubp, key.public_key().to_pem()).map_err(|source| KeyError::Io {
        path: pubp.display().to_string(),
        source,
    })?;
    // The pointer changes last, by rename: a crash leaves the old key current.
    let tmp = dir.join("current.tmp");
    std::fs::write(&tmp, &id).map_err(|source| KeyError::Io {
        path: tmp.display().to_string(),
        source,
    })?;
    std::fs::rename(&tmp, dir.join("current")).map_err(|source| KeyError::Io {
        path: dir.display().to_string(),
        source,
    })
}

/// `ed25519:0123…` → `ed25519_0123….key` (no colon in file names).
fn file_name(id: &str, ext: &str) -> String {
    format!("{}.{ext}", id.replace(':', "_"))
}
