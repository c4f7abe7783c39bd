//! DSSE envelope v1 (<https://github.com/secure-systems-lab/dsse/blob/master/envelope.md>).
//! The signature covers PAE(payloadType, payload), never the JSON around it, so whitespace or key
//! order in the envelope cannot change what was signed.

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::keys::{PublicKey, SigningKey};
use crate::verify::Invalid;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A DSSE envelope: `{"payload", "payloadType", "signatures": [{"keyid", "sig"}]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// Base64 (standard alphabet, padded) of the payload bytes.
    pub payload: String,
    /// What the payload is; signed with it (`application/vnd.in-toto+json` for a Statement).
    pub payload_type: String,
    pub signatures: Vec<Signature>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    /// The signing key's id ([`PublicKey::key_id`]); empty (or absent) means "try every key".
    #[serde(default)]
    pub keyid: String,
    /// Base64 of the 64-byte Ed25519 signature over PAE.
    pub sig: String,
}

/// `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, lengths in ASCII decimal.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + payload_type.len() + 32);
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type.as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

/// Signs PAE(`payload_type`, `payload`) with `key`: an envelope with one signature.
pub fn sign(payload_type: &str, payload: &[u8], key: &SigningKey) -> Envelope {
    let sig = key.sign(&pae(payload_type, payload));
    Envelope {
        payload: B64.encode(payload),
        payload_type: payload_type.to_string(),
        signatures: vec![Signature {
            keyid: key.key_id(),
            sig: B64.encode(sig),
        }],
    }
}

impl Envelope {
    /// The payload bytes (`None`: not valid base64).
    pub fn payload_bytes(&self) -> Option<Vec<u8>> {
        B64.decode(self.payload.as_bytes()).ok()
    }
}

/// Checks that at least one of `env`'s signatures verifies with one of `keys`: a signature with a
/// `keyid` is tried only with the key of that id, one without a `keyid` with every key. With
/// `expected_type`, a signed envelope of another `payloadType` is refused too. Returns the id of
/// the key that verified and the payload bytes.
pub fn verify(
    env: &Envelope,
    keys: &[PublicKey],
    expected_type: Option<&str>,
) -> Result<(String, Vec<u8>), Invalid> {
    // A payload that is not (canonical) base64 has no bytes that a signature could cover.
    let payload = env.payload_bytes().ok_or(Invalid::Payload)?;
    let msg = pae(&env.payload_type, &payload);
    for s in &env.signatures {
        let Some(sig) = decode_sig(&s.sig) else {
            continue;
        };
        for k in keys {
            let id = k.key_id();
            if (s.keyid.is_empty() || s.keyid == id) && k.verify(&msg, &sig) {
                return match expected_type {
                    Some(t) if t != env.payload_type => Err(Invalid::PayloadType {
                        found: env.payload_type.clone(),
                        expected: t.to_string(),
                    }),
                    _ => Ok((id, payload)),
                };
            }
        }
    }
    let ids: Vec<String> = keys.iter().map(PublicKey::key_id).collect();
    Err(Invalid::BadSignature(ids.join(", ")))
}

pub(crate) fn decode_sig(s: &str) -> Option<[u8; 64]> {
    B64.decode(s.as_bytes()).ok()?.try_into().ok()
}
