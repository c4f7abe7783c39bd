//! The service's signing keys and what it signs: certificate attestations (in-toto Statement v1
//! in a DSSE envelope), admission answers (SLSA VSA v1), and webhook bodies (detached).
//!
//! Private keys live in DATA/keys/ (mode 0600), one file per key; the public halves are also
//! published in the database so that every instance on one PostgreSQL lists every key. A
//! rotation makes a new current key and keeps the old ones for verification.

use std::path::{Path, PathBuf};
use std::sync::RwLock;

use anyhow::{Context, Result};
use iotassure_assess::{Report, Verdict};
use iotassure_attest as attest;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::Row;
use utoipa::ToSchema;

use crate::admission::Decision;
use crate::certify::Certificate;
use crate::problem::Problem;
use crate::store::{audit, Audit, Store};
use crate::util;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PublishedKey {
    pub keyid: String,
    pub alg: String,
    pub public_key_pem: String,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<String>,
}

pub struct Keys {
    dir: PathBuf,
    current: RwLock<attest::SigningKey>,
}

impl Keys {
    /// Loads the current key from `dir`, creating the folder and a first key when missing, and
    /// publishes its public half.
    pub async fn open(dir: &Path, store: &Store) -> Result<Keys> {
        let ring = attest::KeyRing::open_or_create(dir)
            .with_context(|| format!("signing keys in {}", dir.display()))?;
        let current = ring.current().clone();
        let keys = Keys {
            dir: dir.to_path_buf(),
            current: RwLock::new(current),
        };
        keys.publish(store, None).await?;
        Ok(keys)
    }

    fn key(&self) -> attest::SigningKey {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    async fn publish(&self, store: &Store, retire: Option<&str>) -> Result<()> {
        let k = self.key();
        let mut tx = store.write().await?;
        let exists: Option<String> =
            sqlx::query_scalar("SELECT keyid FROM signing_keys WHERE keyid = $1")
                .bind(k.key_id())
                .fetch_optional(&mut *tx)
                .await?;
        if exists.is_none() {
            sqlx::query("INSERT INTO signing_keys (keyid, alg, public_key_pem, created_at, retired_at) VALUES ($1, 'ed25519', $2, $3, NULL)")
                .bind(k.key_id())
                .bind(k.public_key().to_pem())
                .bind(util::now())
                .execute(&mut *tx)
                .await?;
            if let Some(old) = retire {
                sqlx::query("UPDATE signing_keys SET retired_at = $1 WHERE keyid = $2")
                    .bind(util::now())
                    .bind(old)
                    .execute(&mut *tx)
                    .await?;
            }
            audit(
                &mut tx,
                Audit {
                    actor: "system",
                    action: "key.publish",
                    subject: &k.key_id(),
                    before: json!({"current": retire}),
                    after: json!({"current": k.key_id()}),
                },
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn published(&self, store: &Store) -> Result<Vec<PublishedKey>, Problem> {
        let rows = sqlx::query("SELECT keyid, alg, public_key_pem, created_at, retired_at FROM signing_keys ORDER BY created_at")
            .fetch_all(&store.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(PublishedKey {
                    keyid: r.try_get("keyid")?,
                    alg: r.try_get("alg")?,
                    public_key_pem: r.try_get("public_key_pem")?,
                    created_at: r.try_get("created_at")?,
                    retired_at: r.try_get("retired_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    pub async fn rotate(&self, store: &Store, actor: &str) -> Result<PublishedKey, Problem> {
        let old = self.key().key_id();
        let mut ring = attest::KeyRing::open_or_create(&self.dir)
            .map_err(|e| Problem::internal(format!("{e:#}")))?;
        ring.rotate()
            .map_err(|e| Problem::internal(format!("{e:#}")))?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = ring.current().clone();
        self.publish(store, Some(&old)).await?;
        let new = self.key().key_id();
        let mut tx = store.write().await?;
        audit(
            &mut tx,
            Audit {
                actor,
                action: "key.rotate",
                subject: &new,
                before: json!({"current": old}),
                after: json!({"current": new}),
            },
        )
        .await?;
        tx.commit().await?;
        self.published(store)
            .await?
            .into_iter()
            .find(|k| k.keyid == new)
            .ok_or_else(|| Problem::internal("new key not published"))
    }

    /// `ed25519 keyid=…; sig=BASE64` over `body`, for webhook receivers.
    pub fn sign_detached(&self, body: &[u8]) -> String {
        use base64::Engine;
        let k = self.key();
        format!(
            "ed25519 keyid={}; sig={}",
            k.key_id(),
            base64::engine::general_purpose::STANDARD.encode(k.sign(body))
        )
    }

    /// The certificate's attestation: returns (envelope JSON, key id).
    pub fn sign_certificate(
        &self,
        c: &Certificate,
        report: &Report,
        profile_requirements: &[String],
        report_sha256: &str,
        (issuer, lab): (&str, &str),
    ) -> Result<(String, String), Problem> {
        let k = self.key();
        let wanted: std::collections::HashSet<&str> =
            profile_requirements.iter().map(String::as_str).collect();
        let verdicts = report
            .verdicts
            .iter()
            .filter(|v| v.scheme == "en303645" || wanted.contains(v.id.as_str()))
            .map(|v| attest::ProvisionVerdict {
                provision: v.id.clone(),
                verdict: match v.verdict {
                    Verdict::Pass => "PASS",
                    Verdict::Fail => "FAIL",
                    Verdict::Inconclusive => "INCONCLUSIVE",
                    Verdict::NotApplicable => "NOT APPLICABLE",
                }
                .into(),
                basis: match v.basis {
                    iotassure_assess::Basis::Verified => "verified",
                    iotassure_assess::Basis::Declared => "declared",
                    iotassure_assess::Basis::None => "none",
                }
                .into(),
            })
            .collect();
        let predicate = attest::CertificationPredicate {
            certificate_id: c.id.clone(),
            profile: c.profile.clone(),
            assurance_level: c.level as u8,
            assurance_level_name: c.level_name.clone(),
            verdicts,
            report_digest: attest::Digest {
                sha256: report_sha256.to_string(),
            },
            tool_version: report.tool.version.clone(),
            issued_at: c.issued_at.clone(),
            valid_from: c.valid_from.clone(),
            valid_until: c.valid_until.clone(),
            support_period_end: c.support_end.clone(),
            issuer: attest::Issuer {
                name: issuer.to_string(),
                lab: lab.to_string(),
                key_id: k.key_id(),
            },
            product: attest::Product {
                maker: c.maker.clone(),
                model: c.model.clone(),
                hardware_version: c.hardware_version.clone(),
                firmware_version: c.firmware_version.clone(),
            },
        };
        let name = format!("{}/{}@{}", c.maker, c.model, c.firmware_version);
        let statement = attest::Statement::certification(&name, &c.image_sha256, &predicate);
        let env = attest::sign_statement(&statement, &k)
            .map_err(|e| Problem::internal(format!("signing: {e}")))?;
        Ok((
            serde_json::to_string_pretty(&env).map_err(|e| Problem::internal(e.to_string()))?,
            k.key_id(),
        ))
    }

    /// An admission decision as a signed SLSA Verification Summary Attestation.
    pub fn sign_vsa(&self, d: &Decision, verifier: &str) -> Result<String, Problem> {
        let k = self.key();
        let sha = d
            .sha256
            .clone()
            .ok_or_else(|| Problem::not_found("no registered image matches: nothing to attest"))?;
        let vsa = attest::VsaPredicate {
            verifier: attest::Verifier {
                id: format!("{verifier} ({})", k.key_id()),
            },
            time_verified: util::now(),
            resource_uri: format!("sha256:{sha}"),
            policy: attest::VsaPolicy {
                uri: format!(
                    "https://iotassure.dev/policy/admission/{}",
                    d.profile.clone().unwrap_or_else(|| "none".into())
                ),
                digest: None,
            },
            input_attestations: d
                .certificate
                .iter()
                .map(|c| attest::VsaInput {
                    uri: format!("/api/v1/certificates/{c}/attestation"),
                    digest: None,
                })
                .collect(),
            verification_result: if d.decision == "allow" {
                "PASSED".into()
            } else {
                "FAILED".into()
            },
            verified_levels: d
                .level
                .map(|l| vec![format!("IOTASSURE_LEVEL_{l}")])
                .unwrap_or_default(),
            slsa_version: "1.0".into(),
        };
        let statement = attest::Statement::vsa(&sha, &vsa);
        let env = attest::sign_statement(&statement, &k)
            .map_err(|e| Problem::internal(format!("signing: {e}")))?;
        serde_json::to_string_pretty(&env).map_err(|e| Problem::internal(e.to_string()))
    }
}
