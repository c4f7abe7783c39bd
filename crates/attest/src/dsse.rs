//! DSSE envelope v1 (<https://github.com/secure-systems-lab/dsse/blob/master/envelope.md>).
//! The signature covers PAE(payloadType, payload), never the JSON around it, so whitespace or key
//! order in the envelope cannot change what was signed.

use base64::Engine;
use serde::{Deserialize, Serialize};

use crate::keys::SigningKey;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    /// Base64 (standard alphabet, padded) of the payload bytes.
    pub payload: String,
    pub payload_type: String,
    pub signatures: Vec<Signature>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
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

pub(crate) fn decode_sig(s: &str) -> Option<[u8; 64]> {
    B64.decode(s.as_bytes()).ok()?.try_into().ok()
}
