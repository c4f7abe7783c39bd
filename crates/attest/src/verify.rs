//! Offline verification: the envelope's signature by one of the given keys, the statement, the
//! image's digest among the subjects, and (optionally) the validity dates.

use std::io::Read;
use std::path::Path;

use sha2::Digest;

use crate::dsse::{decode_sig, pae, Envelope};
use crate::keys::PublicKey;
use crate::statement::{Statement, IN_TOTO_PAYLOAD_TYPE, STATEMENT_TYPE};

/// What a valid envelope says.
#[derive(Debug, Clone)]
pub struct Verified {
    pub key_id: String,
    pub statement: Statement,
    /// The image's SHA-256, when an image was given (it matched a subject).
    pub image_sha256: Option<String>,
}

/// Why an envelope is not valid (exit 1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    #[error("no signature verifies with the given key(s) ({0})")]
    BadSignature(String),
    #[error("payloadType is {0:?}; expected {IN_TOTO_PAYLOAD_TYPE:?}")]
    PayloadType(String),
    #[error("the payload is not an in-toto Statement v1: {0}")]
    Statement(String),
    #[error("the image's SHA-256 {image} is not a subject of the statement ({subjects})")]
    Digest { image: String, subjects: String },
    #[error("the attestation's validity ended at {0}")]
    Expired(String),
}

/// Why it could not be checked at all (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("the envelope is not DSSE JSON: {0}")]
    Malformed(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// Checks `envelope_json` against `keys`; with `image`, also that the image's digest is a
/// subject; with `now` (RFC 3339 UTC), that a certification predicate's `validUntil` is later.
pub fn verify_envelope(
    envelope_json: &[u8],
    keys: &[PublicKey],
    image: Option<&Path>,
    now: Option<&str>,
) -> Result<Result<Verified, Invalid>, VerifyError> {
    let env: Envelope =
        serde_json::from_slice(envelope_json).map_err(|e| VerifyError::Malformed(e.to_string()))?;
    let payload = env
        .payload_bytes()
        .ok_or_else(|| VerifyError::Malformed("`payload` is not base64".into()))?;
    let msg = pae(&env.payload_type, &payload);
    let mut key_id = None;
    'sigs: for s in &env.signatures {
        let Some(sig) = decode_sig(&s.sig) else {
            continue;
        };
        for k in keys {
            if (s.keyid.is_empty() || s.keyid == k.key_id()) && k.verify(&msg, &sig) {
                key_id = Some(k.key_id());
                break 'sigs;
            }
        }
    }
    let Some(key_id) = key_id else {
        let ids: Vec<String> = keys.iter().map(PublicKey::key_id).collect();
        return Ok(Err(Invalid::BadSignature(ids.join(", "))));
    };
    // Only what was signed is read from here on.
    if env.payload_type != IN_TOTO_PAYLOAD_TYPE {
        return Ok(Err(Invalid::PayloadType(env.payload_type)));
    }
    let statement: Statement = match serde_json::from_slice(&payload) {
        Ok(s) => s,
        Err(e) => return Ok(Err(Invalid::Statement(e.to_string()))),
    };
    if statement.type_ != STATEMENT_TYPE {
        return Ok(Err(Invalid::Statement(format!(
            "`_type` is {:?}",
            statement.type_
        ))));
    }
    let mut image_sha256 = None;
    if let Some(path) = image {
        let h = sha256_file(path)?;
        if !statement
            .subject
            .iter()
            .any(|s| s.digest.sha256.eq_ignore_ascii_case(&h))
        {
            let subjects = statement
                .subject
                .iter()
                .map(|s| s.digest.sha256.clone())
                .collect::<Vec<_>>()
                .join(", ");
            return Ok(Err(Invalid::Digest { image: h, subjects }));
        }
        image_sha256 = Some(h);
    }
    if let (Some(now), Some(until)) = (
        now,
        statement
            .predicate
            .get("validUntil")
            .and_then(|v| v.as_str()),
    ) {
        if until <= now {
            return Ok(Err(Invalid::Expired(until.to_string())));
        }
    }
    Ok(Ok(Verified {
        key_id,
        statement,
        image_sha256,
    }))
}

/// Streams a file through SHA-256.
pub fn sha256_file(path: &Path) -> Result<String, VerifyError> {
    let io = |source| VerifyError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}
