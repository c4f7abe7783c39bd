//! Offline verification: the envelope's signature by one of the given keys, the statement, the
//! image's digest among the subjects, and (optionally) the validity dates.

use std::io::Read;
use std::path::Path;

use sha2::Digest;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::OffsetDateTime;

use crate::dsse::{self, Envelope};
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

/// Why an envelope is not valid (exit 1): the check ran and said no.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    #[error("no signature verifies with the given key(s) ({0})")]
    BadSignature(String),
    #[error("`payload` is not valid base64, so no signature can cover it")]
    Payload,
    #[error("payloadType is {found:?}; expected {expected:?}")]
    PayloadType { found: String, expected: String },
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
    #[error("the current time {0:?} is not an RFC 3339 time")]
    Now(String),
}

/// Checks `envelope_json` against `keys` (see [`crate::dsse::verify`]): the signature, that the
/// payload is an in-toto Statement v1 (`payloadType` `application/vnd.in-toto+json`); with
/// `image`, that the image's SHA-256 (streamed) is a subject's; with `now` (RFC 3339), that a
/// predicate's `validUntil`, when it has one, is later.
///
/// `Err(VerifyError)`: could not check (unreadable image, envelope not DSSE JSON). `Ok(Err(Invalid))`:
/// checked, not valid. `Ok(Ok(Verified))`: valid. Nothing of the payload is parsed before its
/// signature has verified.
pub fn verify_envelope(
    envelope_json: &[u8],
    keys: &[PublicKey],
    image: Option<&Path>,
    now: Option<&str>,
) -> Result<Result<Verified, Invalid>, VerifyError> {
    let env: Envelope =
        serde_json::from_slice(envelope_json).map_err(|e| VerifyError::Malformed(e.to_string()))?;
    let now = match now {
        Some(n) => Some(parse_time(n).ok_or_else(|| VerifyError::Now(n.to_string()))?),
        None => None,
    };
    let (key_id, payload) = match dsse::verify(&env, keys, Some(IN_TOTO_PAYLOAD_TYPE)) {
        Ok(v) => v,
        Err(why) => return Ok(Err(why)),
    };
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
    if statement.subject.is_empty() {
        return Ok(Err(Invalid::Statement("no subject".into())));
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
    if let Some(now) = now {
        if let Some(until) = statement.predicate.get("validUntil") {
            let Some(end) = until.as_str().and_then(parse_time) else {
                return Ok(Err(Invalid::Statement(format!(
                    "`validUntil` {until} is not an RFC 3339 time"
                ))));
            };
            if end <= now {
                return Ok(Err(Invalid::Expired(until.as_str().unwrap_or("").into())));
            }
        }
    }
    Ok(Ok(Verified {
        key_id,
        statement,
        image_sha256,
    }))
}

/// An RFC 3339 time (any offset), or a date `YYYY-MM-DD`, read as the end of that day (UTC).
fn parse_time(s: &str) -> Option<OffsetDateTime> {
    if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
        return Some(t);
    }
    let d = time::Date::parse(s, format_description!("[year]-[month]-[day]")).ok()?;
    Some(d.next_day()?.midnight().assume_utc())
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
