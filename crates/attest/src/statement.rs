//! in-toto Statement v1 (<https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md>)
//! and the two predicates the trust center signs.

use serde::{Deserialize, Serialize};

pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
pub const IN_TOTO_PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";
/// The iotassure certification predicate, version 1. Fields are only ever added to v1 (optional);
/// any other change makes a v2.
pub const CERTIFICATION_PREDICATE: &str = "https://iotassure.dev/attestation/certification/v1";
pub const VSA_PREDICATE: &str = "https://slsa.dev/verification_summary/v1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    #[serde(rename = "_type")]
    pub type_: String,
    pub subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    pub predicate_type: String,
    pub predicate: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    pub name: String,
    pub digest: Digest,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digest {
    pub sha256: String,
}

/// What a certificate says, signed: `predicateType` [`CERTIFICATION_PREDICATE`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificationPredicate {
    pub certificate_id: String,
    /// The catalogue profile certified (`uk-psti`, `en303645-m`, ...).
    pub profile: String,
    /// 1 declaration only, 2 documents verified, 3 firmware analysed, 4 live device tested.
    pub assurance_level: u8,
    pub assurance_level_name: String,
    /// Every EN 303 645 provision (and the profile's own requirements) with its verdict.
    pub verdicts: Vec<ProvisionVerdict>,
    /// SHA-256 of the report.json bytes as submitted.
    pub report_digest: Digest,
    pub tool_version: String,
    pub issued_at: String,
    pub valid_from: String,
    pub valid_until: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support_period_end: Option<String>,
    pub issuer: Issuer,
    pub product: Product,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvisionVerdict {
    pub provision: String,
    /// `PASS`, `FAIL`, `INCONCLUSIVE` or `NOT APPLICABLE`.
    pub verdict: String,
    /// `verified` (evidence), `declared` (the maker's statement) or `none`.
    pub basis: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Issuer {
    /// The trust center.
    pub name: String,
    /// The lab (organisation id) that certified.
    pub lab: String,
    pub key_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Product {
    pub maker: String,
    pub model: String,
    pub hardware_version: String,
    pub firmware_version: String,
}

/// SLSA Verification Summary Attestation v1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VsaPredicate {
    pub verifier: Verifier,
    pub time_verified: String,
    pub resource_uri: String,
    pub policy: VsaPolicy,
    #[serde(default)]
    pub input_attestations: Vec<VsaInput>,
    /// `PASSED` (admission: allow) or `FAILED` (deny).
    pub verification_result: String,
    /// `IOTASSURE_LEVEL_1` … `IOTASSURE_LEVEL_4`: the certificate's assurance level.
    #[serde(default)]
    pub verified_levels: Vec<String>,
    pub slsa_version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verifier {
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VsaPolicy {
    pub uri: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<Digest>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VsaInput {
    pub uri: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<Digest>,
}

impl Statement {
    fn new(
        name: &str,
        sha256: &str,
        predicate_type: &str,
        predicate: serde_json::Value,
    ) -> Statement {
        Statement {
            type_: STATEMENT_TYPE.into(),
            subject: vec![Subject {
                name: name.into(),
                digest: Digest {
                    sha256: sha256.to_ascii_lowercase(),
                },
            }],
            predicate_type: predicate_type.into(),
            predicate,
        }
    }

    /// A certificate about the image `sha256`, named `maker/model@version`.
    pub fn certification(name: &str, sha256: &str, p: &CertificationPredicate) -> Statement {
        Statement::new(
            name,
            sha256,
            CERTIFICATION_PREDICATE,
            serde_json::to_value(p).expect("plain data"),
        )
    }

    /// An admission answer about the image `sha256`.
    pub fn vsa(sha256: &str, p: &VsaPredicate) -> Statement {
        Statement::new(
            &format!("sha256:{sha256}"),
            sha256,
            VSA_PREDICATE,
            serde_json::to_value(p).expect("plain data"),
        )
    }
}
