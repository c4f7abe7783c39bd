//! Signed attestations, verifiable offline with nothing but the public key:
//!
//! - [`dsse`]: the DSSE envelope v1 and its pre-authentication encoding (PAE), signed with Ed25519;
//! - [`statement`]: in-toto Statement v1, the iotassure certification predicate
//!   (`https://iotassure.dev/attestation/certification/v1`) and the SLSA Verification Summary
//!   Attestation v1 used for admission answers;
//! - [`keys`]: Ed25519 keys, their ids, PEM files, and a key ring that keeps retired keys;
//! - [`verify`]: signature, statement and image-digest checks, with "invalid" kept apart from
//!   "could not check".
//!
//! docs/attestation.md describes the format with a real example.

pub mod dsse;
pub mod keys;
pub mod statement;
pub mod verify;

pub use dsse::{pae, Envelope, Signature};
pub use keys::{KeyError, KeyRing, PublicKey, SigningKey};
pub use statement::{
    CertificationPredicate, Digest, Issuer, Product, ProvisionVerdict, Statement, Subject,
    Verifier, VsaInput, VsaPolicy, VsaPredicate, CERTIFICATION_PREDICATE, IN_TOTO_PAYLOAD_TYPE,
    STATEMENT_TYPE, VSA_PREDICATE,
};
pub use verify::{verify_envelope, Invalid, Verified, VerifyError};

/// Serialises `statement`, signs it, and wraps it in an envelope.
pub fn sign_statement(
    statement: &Statement,
    key: &SigningKey,
) -> Result<Envelope, serde_json::Error> {
    let payload = serde_json::to_vec(statement)?;
    Ok(dsse::sign(IN_TOTO_PAYLOAD_TYPE, &payload, key))
}
