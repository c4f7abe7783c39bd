//! Admission: "may this firmware join the network?" — `allow` only for a release that holds a
//! valid, unexpired certificate whose support period has not ended (TEC's National Trust Center
//! rule). Answers are cached per audit generation: any state change clears this instance's cache
//! at once and the other instances' within one poll interval (`server::POLL`).

use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;

use crate::auth::{Caller, Role};
use crate::problem::{ApiResult, Problem};
use crate::server::AppState;
use crate::util;

pub const MAX_BATCH: usize = 1000;

#[derive(
    Debug, Clone, Default, Deserialize, Serialize, ToSchema, utoipa::IntoParams, PartialEq, Eq, Hash,
)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    /// The image's SHA-256 (hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Or: the maker's organisation name, the model and the firmware version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maker: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hardware_version: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct Query {
    pub sha256: Option<String>,
    pub maker: Option<String>,
    pub model: Option<String>,
    pub version: Option<String>,
    pub hardware_version: Option<String>,
    /// `json` (default) or `vsa`: a signed SLSA Verification Summary Attestation (DSSE).
    pub format: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Decision {
    /// `allow` or `deny`.
    pub decision: String,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    pub subject: Subject,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    /// Up to 1,000 subjects.
    pub subjects: Vec<Subject>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BatchResult {
    pub results: Vec<Decision>,
}

/// Admission answers by subject, per audit generation.
pub type Cache = crate::cache::GenCache<Subject, Decision>;

fn normalise(s: &Subject) -> ApiResult<Subject> {
    let mut s = s.clone();
    if let Some(h) = &s.sha256 {
        if !util::is_sha256(h) {
            return Err(Problem::invalid("`sha256`: 64 hex digits"));
        }
        s.sha256 = Some(h.to_ascii_lowercase());
        if s.maker.is_some() || s.model.is_some() || s.version.is_some() {
            return Err(Problem::invalid(
                "give either `sha256` or `maker` + `model` + `version`, not both",
            ));
        }
        return Ok(s);
    }
    match (&s.maker, &s.model, &s.version) {
        (Some(a), Some(b), Some(c)) if !a.is_empty() && !b.is_empty() && !c.is_empty() => {
            if [a, b, c].iter().any(|x| x.len() > 200) {
                return Err(Problem::invalid(
                    "`maker`, `model`, `version`: at most 200 characters each",
                ));
            }
            Ok(s)
        }
        _ => Err(Problem::invalid(
            "give `sha256`, or `maker` + `model` + `version`",
        )),
    }
}

pub async fn decide(st: &AppState, who: &Caller, subject: &Subject) -> ApiResult<Decision> {
    who.require(&[Role::Admin, Role::Operator, Role::Certifier])?;
    let s = normalise(subject)?;
    decide_one(st, s).await
}

async fn decide_one(st: &AppState, s: Subject) -> ApiResult<Decision> {
    let now = util::now();
    if let Some(d) = st.admission.get(&s).filter(|_| st.config.admission_cache) {
        // A cached allow stays right only until the certificate's own end.
        if d.valid_until.as_deref().is_none_or(|u| u > now.as_str()) {
            return Ok(d);
        }
    }
    let d = lookup(st, &s, &now).await?;
    if st.config.admission_cache {
        st.admission.put(s, d.clone());
    }
    Ok(d)
}

async fn lookup(st: &AppState, s: &Subject, now: &str) -> ApiResult<Decision> {
    const COLS: &str = "SELECT f.sha256, c.id, c.status, c.status_reason, c.profile, c.level, c.valid_until, f.support_end \
        FROM firmware f LEFT JOIN certificates c ON c.firmware_id = f.id";
    let rows = if let Some(h) = &s.sha256 {
        sqlx::query(&format!("{COLS} WHERE f.sha256 = $1"))
            .bind(h)
            .fetch_all(&st.store.pool)
            .await?
    } else {
        sqlx::query(&format!(
            "{COLS} JOIN products p ON p.id = f.product_id JOIN organisations o ON o.id = p.maker_id \
             WHERE o.name = $1 AND p.model = $2 AND f.version = $3 AND ($4 IS NULL OR p.hardware_version = $4)"
        ))
        .bind(&s.maker)
        .bind(&s.model)
        .bind(&s.version)
        .bind(&s.hardware_version)
        .fetch_all(&st.store.pool)
        .await?
    };
    let deny = |reason: String, sha: Option<String>| Decision {
        decision: "deny".into(),
        reason,
        certificate: None,
        profile: None,
        level: None,
        valid_until: None,
        sha256: sha,
        subject: s.clone(),
    };
    if rows.is_empty() {
        return Ok(deny("this firmware is not in the registry".into(), None));
    }
    let shas: std::collections::BTreeSet<String> = rows
        .iter()
        .filter_map(|r| r.try_get("sha256").ok())
        .collect();
    if shas.len() > 1 {
        return Ok(deny(
            format!(
                "{} different images match this maker, model and version; ask by sha256",
                shas.len()
            ),
            None,
        ));
    }
    let sha = shas.into_iter().next();
    let today = &now[..10];
    let mut best: Option<Decision> = None;
    let mut why = Vec::new();
    for r in &rows {
        let Some(id) = r.try_get::<Option<String>, _>("id")? else {
            continue;
        };
        let status: String = r.try_get("status")?;
        let reason: String = r.try_get("status_reason")?;
        let until: String = r.try_get("valid_until")?;
        let support_end: Option<String> = r.try_get("support_end")?;
        let profile: String = r.try_get("profile")?;
        let level: i64 = r.try_get("level")?;
        let effective = if status == "valid" && until.as_str() <= now {
            why.push(format!(
                "certificate {id} ({profile}) expired on {}",
                &until[..10]
            ));
            continue;
        } else if status == "valid" && support_end.as_deref().is_some_and(|e| e < today) {
            why.push(format!(
                "certificate {id} ({profile}): the support period ended on {}",
                support_end.unwrap_or_default()
            ));
            continue;
        } else {
            status
        };
        if effective != "valid" {
            why.push(format!(
                "certificate {id} ({profile}) is {effective}: {reason}"
            ));
            continue;
        }
        let d = Decision {
            decision: "allow".into(),
            reason: format!(
                "certificate {id} ({profile}, level {level}) is valid until {}",
                &until[..10]
            ),
            certificate: Some(id),
            profile: Some(profile),
            level: Some(level),
            valid_until: Some(until),
            sha256: sha.clone(),
            subject: s.clone(),
        };
        // The strongest certificate wins.
        if best.as_ref().is_none_or(|b| b.level < d.level) {
            best = Some(d);
        }
    }
    Ok(best.unwrap_or_else(|| {
        if why.is_empty() {
            deny(
                "the firmware is registered but holds no certificate".into(),
                sha,
            )
        } else {
            deny(why.join("; "), sha)
        }
    }))
}

pub async fn batch(st: &AppState, who: &Caller, b: Batch) -> ApiResult<BatchResult> {
    who.require(&[Role::Admin, Role::Operator, Role::Certifier])?;
    if b.subjects.len() > MAX_BATCH {
        return Err(Problem::invalid(format!(
            "at most {MAX_BATCH} subjects per batch; got {}",
            b.subjects.len()
        )));
    }
    let mut results = Vec::with_capacity(b.subjects.len());
    for (i, s) in b.subjects.iter().enumerate() {
        let n =
            normalise(s).map_err(|p| Problem::invalid(format!("subjects[{i}]: {}", p.detail)))?;
        results.push(decide_one(st, n).await?);
    }
    Ok(BatchResult { results })
}
