//! Certificates: issued by a lab for a stored assessment under a profile that passes, with an
//! assurance level, a signed attestation and a dated status history.
//!
//! Assurance levels, in the spirit of Singapore CLS levels 1-4 (docs/trustcenter.md):
//! 1. declaration only: the profile passes, but no provision of it rests on evidence;
//! 2. documents verified: the maker's published documents were assessed;
//! 3. firmware analysed: documents and the firmware image were assessed;
//! 4. live device tested: documents, firmware and the live device were assessed.
//!
//! A level above 1 also needs at least one of the profile's provisions verified by evidence.

use std::collections::BTreeMap;

use iotassure_assess::{Basis, Report, Verdict};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::Row;
use utoipa::ToSchema;

use crate::auth::{Caller, Role};
use crate::problem::{ApiResult, Problem};
use crate::server::AppState;
use crate::store::{audit, Audit, Tx};
use crate::util;
use crate::webhook;

pub const STATUSES: [&str; 4] = ["valid", "suspended", "revoked", "expired"];
const MAX_VALID_DAYS: i64 = 5 * 366;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CertifyRequest {
    /// The stored assessment's id.
    pub assessment: String,
    /// A catalogue profile: `uk-psti`, `en303645-m`, `en303645-mr`, `fi-label`, ...
    pub profile: String,
    /// Days of validity (default 365; capped at the support period's end).
    #[serde(default)]
    pub valid_days: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    /// `suspended`, `revoked` or `valid` (reinstates a suspended certificate).
    pub status: String,
    pub reason: String,
    /// Optimistic concurrency: the `row_version` the caller saw. A stale one is refused (409).
    #[serde(default)]
    pub expected_version: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema, Clone)]
pub struct HistoryEntry {
    pub seq: i64,
    pub status: String,
    pub reason: String,
    pub at: String,
    pub actor: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema, Clone, Default)]
pub struct ClauseSummary {
    pub clause: String,
    pub pass: u32,
    /// Of `pass`, those the maker's statement alone decided.
    #[serde(default)]
    pub pass_declared: u32,
    /// Not met and not justified.
    pub fail: u32,
    /// Recommendations not met, with a justification (clause 4): not failures.
    #[serde(default)]
    pub justified: u32,
    pub inconclusive: u32,
    pub not_applicable: u32,
}

#[derive(Debug, Serialize, Deserialize, ToSchema, Clone)]
pub struct Certificate {
    pub id: String,
    pub status: String,
    pub status_reason: String,
    pub profile: String,
    pub level: i64,
    pub level_name: String,
    /// Provisions of the profile that passed on evidence.
    pub verified: i64,
    /// Provisions of the profile that passed on the maker's statement only.
    pub declared: i64,
    pub valid_from: String,
    pub valid_until: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub support_end: Option<String>,
    pub issued_at: String,
    pub issued_by: String,
    pub key_id: String,
    pub maker: String,
    pub maker_id: String,
    pub model: String,
    pub hardware_version: String,
    pub firmware_version: String,
    pub image_sha256: String,
    pub assessment_id: String,
    pub row_version: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<HistoryEntry>,
    /// EN 303 645 verdicts per clause (5.1 ... 6), from the assessment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clauses: Vec<ClauseSummary>,
    /// EN 303 645 provisions whose verdict rests, at least in part, on the firmware's services
    /// run under emulation (`assess --emulate`) rather than on the device itself.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emulated: Vec<String>,
}

pub fn level_name(level: i64) -> &'static str {
    match level {
        4 => "live device tested",
        3 => "firmware analysed",
        2 => "documents verified",
        _ => "declaration only",
    }
}

/// The level rule (module docs): from which evidence sources the report used, and whether any
/// of the profile's provisions passed on evidence.
pub fn assurance_level(report: &Report, verified: i64) -> i64 {
    if verified == 0 {
        return 1;
    }
    let docs = !report.subject.documents.is_empty();
    let fw = report.subject.firmware.is_some();
    let dev = report.subject.device.is_some();
    match (docs, fw, dev) {
        (true, true, true) => 4,
        (true, true, false) => 3,
        (true, false, _) => 2,
        _ => 1,
    }
}

/// The profile's requirements that keep it from passing, as `{id, verdict, reason}`.
pub fn judge(
    report: &Report,
    profile: &str,
) -> ApiResult<(
    iotassure_assess::rollup::ProfileResult,
    Vec<Value>,
    i64,
    i64,
)> {
    let cat = iotassure_core::catalog::catalog();
    let p = cat
        .profiles
        .iter()
        .find(|p| p.id == profile)
        .ok_or_else(|| {
            Problem::invalid(format!(
                "`profile`: no profile {profile:?}; one of {}",
                cat.profiles
                    .iter()
                    .map(|p| p.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
    // Recomputed from the verdicts, not read from the report's own roll-up.
    let result = iotassure_assess::rollup::roll_up(cat, p, &report.verdicts);
    let mut blocking = Vec::new();
    let (mut verified, mut declared) = (0, 0);
    for id in &result.requirements {
        let Some(v) = report.verdict(id) else {
            blocking.push(json!({"id": id, "verdict": "MISSING", "reason": "the report has no verdict for it"}));
            continue;
        };
        let justified_ok = v.verdict == Verdict::Fail
            && v.justified
            && p.rule == iotassure_core::catalog::PassRule::AllPassOrJustified;
        match v.verdict {
            Verdict::Pass | Verdict::NotApplicable => match v.basis {
                Basis::Verified => verified += 1,
                Basis::Declared => declared += 1,
                Basis::None => {}
            },
            _ if justified_ok => declared += 1,
            _ => {
                blocking.push(json!({"id": id, "verdict": v.verdict.as_str(), "reason": v.reason}))
            }
        }
    }
    Ok((result, blocking, verified, declared))
}

pub async fn issue(st: &AppState, who: &Caller, req: CertifyRequest) -> ApiResult<Certificate> {
    who.require(&[Role::Certifier])?;
    if !util::is_id(&req.assessment) {
        return Err(Problem::invalid("`assessment`: not an assessment id"));
    }
    let days = req.valid_days.unwrap_or(365);
    if !(1..=MAX_VALID_DAYS).contains(&days) {
        return Err(Problem::invalid(format!(
            "`valid_days`: 1 to {MAX_VALID_DAYS}"
        )));
    }
    let row = sqlx::query(
        "SELECT a.report, a.report_sha256, a.firmware_id, f.sha256, f.version, f.support_end, p.model, p.hardware_version, p.maker_id, o.name AS maker_name \
         FROM assessments a JOIN firmware f ON f.id = a.firmware_id JOIN products p ON p.id = f.product_id JOIN organisations o ON o.id = p.maker_id WHERE a.id = $1",
    )
    .bind(&req.assessment)
    .fetch_optional(&st.store.pool)
    .await?
    .ok_or_else(|| Problem::not_found("no such assessment"))?;
    let text: String = row.try_get("report")?;
    let report: Report = serde_json::from_str(&text)
        .map_err(|e| Problem::internal(format!("stored report unreadable: {e}")))?;
    let (result, blocking, verified, declared) = judge(&report, &req.profile)?;
    if !blocking.is_empty() {
        return Err(Problem::invalid(format!(
            "profile {} does not pass ({}): {} requirement(s) block it",
            req.profile,
            result.outcome.as_str(),
            blocking.len()
        ))
        .with(json!({"blocking": blocking})));
    }
    let support_end: Option<String> = row.try_get("support_end")?;
    let today = time::OffsetDateTime::now_utc();
    let mut until = today + time::Duration::days(days);
    if let Some(end) = support_end.as_deref().and_then(util::parse_date) {
        if end < today.date() {
            return Err(Problem::invalid(format!(
                "the support period ended on {end}: an unsupported release cannot be certified (5.3-13)"
            )));
        }
        let end_t = end.with_hms(23, 59, 59).expect("valid time").assume_utc();
        if end_t < until {
            until = end_t;
        }
    }
    let level = assurance_level(&report, verified);
    let firmware_id: String = row.try_get("firmware_id")?;
    let id = util::new_id();
    let now = util::now();
    let cert = Certificate {
        id: id.clone(),
        status: "valid".into(),
        status_reason: format!("issued for assessment {}", req.assessment),
        profile: req.profile.clone(),
        level,
        level_name: level_name(level).into(),
        verified,
        declared,
        valid_from: now.clone(),
        valid_until: util::stamp(until),
        support_end: support_end.clone(),
        issued_at: now.clone(),
        issued_by: who.org.clone().unwrap_or_default(),
        key_id: String::new(),
        maker: row.try_get("maker_name")?,
        maker_id: row.try_get("maker_id")?,
        model: row.try_get("model")?,
        hardware_version: row.try_get("hardware_version")?,
        firmware_version: row.try_get("version")?,
        image_sha256: row.try_get("sha256")?,
        assessment_id: req.assessment.clone(),
        row_version: 1,
        history: Vec::new(),
        clauses: Vec::new(),
        emulated: Vec::new(),
    };
    let report_sha256: String = row.try_get("report_sha256")?;
    let lab_name: String = sqlx::query_scalar("SELECT name FROM organisations WHERE id = $1")
        .bind(&cert.issued_by)
        .fetch_optional(&st.store.pool)
        .await?
        .unwrap_or_default();
    let (envelope, key_id) = st.keys.sign_certificate(
        &cert,
        &report,
        &result.requirements,
        &report_sha256,
        (&st.config.name, &lab_name),
    )?;
    let cert = Certificate { key_id, ..cert };

    let mut tx = st.store.write().await?;
    let dup: Option<String> = sqlx::query_scalar(
        "SELECT id FROM certificates WHERE firmware_id = $1 AND profile = $2 AND status = 'valid'",
    )
    .bind(&firmware_id)
    .bind(&req.profile)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(d) = dup {
        return Err(Problem::conflict(format!(
            "this firmware already holds valid certificate {d} under {}",
            req.profile
        )));
    }
    sqlx::query(
        "INSERT INTO certificates (id, assessment_id, firmware_id, profile, level, verified, declared, status, status_reason, valid_from, valid_until, support_end, issued_by, issued_at, key_id, envelope, row_version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, 1)",
    )
    .bind(&cert.id)
    .bind(&cert.assessment_id)
    .bind(&firmware_id)
    .bind(&cert.profile)
    .bind(cert.level)
    .bind(cert.verified)
    .bind(cert.declared)
    .bind(&cert.status)
    .bind(&cert.status_reason)
    .bind(&cert.valid_from)
    .bind(&cert.valid_until)
    .bind(&cert.support_end)
    .bind(&cert.issued_by)
    .bind(&cert.issued_at)
    .bind(&cert.key_id)
    .bind(&envelope)
    .execute(&mut *tx)
    .await?;
    history(
        &mut tx,
        &cert.id,
        1,
        "valid",
        &cert.status_reason,
        &who.actor(),
    )
    .await?;
    audit(&mut tx, Audit {
        actor: &who.actor(),
        action: "certificate.issue",
        subject: &cert.id,
        before: Value::Null,
        after: json!({"status": "valid", "profile": cert.profile, "level": level, "firmware": firmware_id, "valid_until": cert.valid_until}),
    })
    .await?;
    webhook::enqueue(
        &mut tx,
        &cert.maker_id,
        "certificate.issued",
        json!({"certificate": cert.id, "status": "valid", "profile": cert.profile}),
    )
    .await?;
    tx.commit().await?;
    st.changed();
    get(st, &cert.id).await
}

pub async fn history(
    tx: &mut Tx,
    cert: &str,
    seq: i64,
    status: &str,
    reason: &str,
    actor: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO certificate_history (certificate_id, seq, status, reason, at, actor) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(cert)
        .bind(seq)
        .bind(status)
        .bind(reason)
        .bind(util::now())
        .bind(actor)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Moves a certificate to `to`, inside `tx`, with history, audit entry and a notice to the maker.
/// Returns false when it is already there.
pub async fn transition(
    tx: &mut Tx,
    cert: &str,
    to: &str,
    reason: &str,
    actor: &str,
    expected: Option<i64>,
) -> ApiResult<bool> {
    let r = sqlx::query("SELECT c.status, c.row_version, p.maker_id FROM certificates c JOIN firmware f ON f.id = c.firmware_id JOIN products p ON p.id = f.product_id WHERE c.id = $1")
        .bind(cert)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| Problem::not_found("no such certificate"))?;
    let from: String = r.try_get("status")?;
    let version: i64 = r.try_get("row_version")?;
    let maker: String = r.try_get("maker_id")?;
    if let Some(e) = expected {
        if e != version {
            return Err(Problem::conflict(format!(
                "the certificate changed since you read it (row_version {version}, you sent {e}); read it again"
            )));
        }
    }
    if from == to {
        return Ok(false);
    }
    let allowed = matches!(
        (from.as_str(), to),
        ("valid", "suspended")
            | ("valid", "revoked")
            | ("valid", "expired")
            | ("suspended", "valid")
            | ("suspended", "revoked")
            | ("suspended", "expired")
    );
    if !allowed {
        return Err(Problem::conflict(format!(
            "a {from} certificate cannot become {to}"
        )));
    }
    let n = sqlx::query("UPDATE certificates SET status = $1, status_reason = $2, row_version = row_version + 1 WHERE id = $3 AND row_version = $4")
        .bind(to)
        .bind(reason)
        .bind(cert)
        .bind(version)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if n != 1 {
        return Err(Problem::conflict(
            "the certificate changed concurrently; read it again",
        ));
    }
    let seq: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(seq), 0) FROM certificate_history WHERE certificate_id = $1",
    )
    .bind(cert)
    .fetch_one(&mut **tx)
    .await?;
    history(tx, cert, seq + 1, to, reason, actor).await?;
    audit(
        tx,
        Audit {
            actor,
            action: "certificate.status",
            subject: cert,
            before: json!({"status": from, "row_version": version}),
            after: json!({"status": to, "reason": reason, "row_version": version + 1}),
        },
    )
    .await?;
    webhook::enqueue(
        tx,
        &maker,
        &format!("certificate.{to}"),
        json!({"certificate": cert, "status": to, "previous": from, "reason": reason}),
    )
    .await?;
    Ok(true)
}

/// Many automatic transitions at once (the re-check's suspensions and expiries): the same rules,
/// history, audit entries and notices as [`transition`], in a few set-based statements instead of
/// six per certificate. Returns the ids actually moved.
pub async fn transition_many(
    tx: &mut Tx,
    items: &[(String, &'static str, String)],
    actor: &str,
) -> ApiResult<Vec<String>> {
    use crate::store::{audit_many, insert_many, Arg};
    let mut moved = Vec::new();
    for chunk in items.chunks(60) {
        let mut sql = String::from(
            "SELECT c.id, c.status, c.row_version, p.maker_id, (SELECT COALESCE(MAX(h.seq), 0) FROM certificate_history h WHERE h.certificate_id = c.id) AS hseq \
             FROM certificates c JOIN firmware f ON f.id = c.firmware_id JOIN products p ON p.id = f.product_id WHERE c.id IN (",
        );
        let p = crate::store::placeholder(tx);
        let list: Vec<String> = (1..=chunk.len()).map(|i| format!("{p}{i}")).collect();
        sql.push_str(&list.join(", "));
        sql.push(')');
        let mut q = sqlx::query(&sql).persistent(false);
        for (id, _, _) in chunk {
            q = q.bind(id);
        }
        let rows = q.fetch_all(&mut **tx).await?;
        let mut current = std::collections::HashMap::new();
        for r in rows {
            let id: String = r.try_get("id")?;
            current.insert(
                id,
                (
                    r.try_get::<String, _>("status")?,
                    r.try_get::<i64, _>("row_version")?,
                    r.try_get::<String, _>("maker_id")?,
                    r.try_get::<i64, _>("hseq")?,
                ),
            );
        }
        let mut upd = Vec::new();
        let mut hist = Vec::new();
        let mut audits = Vec::new();
        let mut notices = Vec::new();
        let now = util::now();
        for (id, to, reason) in chunk {
            let Some((from, version, maker, hseq)) = current.get(id) else {
                continue;
            };
            let allowed = matches!(
                (from.as_str(), *to),
                ("valid", "suspended") | ("valid", "expired") | ("suspended", "expired")
            );
            if !allowed {
                continue;
            }
            upd.push((id.clone(), *to, reason.clone()));
            hist.push(vec![
                Arg::Text(id.clone()),
                Arg::Int(hseq + 1),
                Arg::Text(to.to_string()),
                Arg::Text(reason.clone()),
                Arg::Text(now.clone()),
                Arg::Text(actor.to_string()),
            ]);
            audits.push((
                id.clone(),
                json!({"status": from, "row_version": version}),
                json!({"status": to, "reason": reason, "row_version": version + 1}),
            ));
            notices.push((
                maker.clone(),
                format!("certificate.{to}"),
                json!({"certificate": id, "status": to, "previous": from, "reason": reason}),
            ));
            moved.push(id.clone());
        }
        if upd.is_empty() {
            continue;
        }
        // One UPDATE ... FROM (VALUES ...) for the chunk: both SQLite (3.33+) and PostgreSQL
        // name the VALUES columns column1, column2, ...
        let mut sql = format!(
            "UPDATE certificates SET status = v.column2, status_reason = v.column3, row_version = row_version + 1 FROM (VALUES {}",
            crate::store::values(p, upd.len(), 3, 1)
        );
        sql.push_str(") AS v WHERE certificates.id = v.column1");
        let mut q = sqlx::query(&sql).persistent(false);
        for (id, to, reason) in &upd {
            q = q.bind(id.clone()).bind(to.to_string()).bind(reason.clone());
        }
        q.execute(&mut **tx).await?;
        insert_many(
            tx,
            "certificate_history",
            &["certificate_id", "seq", "status", "reason", "at", "actor"],
            hist,
        )
        .await?;
        audit_many(
            tx,
            audits
                .iter()
                .map(|(id, before, after)| Audit {
                    actor,
                    action: "certificate.status",
                    subject: id,
                    before: before.clone(),
                    after: after.clone(),
                })
                .collect(),
        )
        .await?;
        webhook::enqueue_many(tx, notices).await?;
    }
    Ok(moved)
}

pub async fn change_status(
    st: &AppState,
    who: &Caller,
    id: &str,
    c: StatusChange,
) -> ApiResult<Certificate> {
    who.require(&[Role::Admin, Role::Certifier])?;
    if !util::is_id(id) {
        return Err(Problem::not_found("no such certificate"));
    }
    if !["valid", "suspended", "revoked"].contains(&c.status.as_str()) {
        return Err(Problem::invalid(
            "`status`: suspended, revoked or valid (expiry is decided by the dates)",
        ));
    }
    let reason = c.reason.trim();
    if reason.is_empty() || reason.len() > 2000 {
        return Err(Problem::invalid("`reason`: say why, in 1-2000 characters"));
    }
    let mut tx = st.store.write().await?;
    transition(
        &mut tx,
        id,
        &c.status,
        reason,
        &who.actor(),
        c.expected_version,
    )
    .await?;
    tx.commit().await?;
    st.changed();
    get(st, id).await
}

const SELECT: &str = "SELECT c.id, c.status, c.status_reason, c.profile, c.level, c.verified, c.declared, c.valid_from, c.valid_until, c.support_end, c.issued_at, c.key_id, c.assessment_id, c.row_version, \
     li.name AS lab_name, f.version, f.sha256, p.model, p.hardware_version, p.maker_id, o.name AS maker_name \
     FROM certificates c JOIN firmware f ON f.id = c.firmware_id JOIN products p ON p.id = f.product_id \
     JOIN organisations o ON o.id = p.maker_id LEFT JOIN organisations li ON li.id = c.issued_by";

fn cert_row(r: &sqlx::any::AnyRow) -> Result<Certificate, sqlx::Error> {
    let level: i64 = r.try_get("level")?;
    Ok(Certificate {
        id: r.try_get("id")?,
        status: r.try_get("status")?,
        status_reason: r.try_get("status_reason")?,
        profile: r.try_get("profile")?,
        level,
        level_name: level_name(level).into(),
        verified: r.try_get("verified")?,
        declared: r.try_get("declared")?,
        valid_from: r.try_get("valid_from")?,
        valid_until: r.try_get("valid_until")?,
        support_end: r.try_get("support_end")?,
        issued_at: r.try_get("issued_at")?,
        issued_by: r
            .try_get::<Option<String>, _>("lab_name")?
            .unwrap_or_default(),
        key_id: r.try_get("key_id")?,
        maker: r.try_get("maker_name")?,
        maker_id: r.try_get("maker_id")?,
        model: r.try_get("model")?,
        hardware_version: r.try_get("hardware_version")?,
        firmware_version: r.try_get("version")?,
        image_sha256: r.try_get("sha256")?,
        assessment_id: r.try_get("assessment_id")?,
        row_version: r.try_get("row_version")?,
        history: Vec::new(),
        clauses: Vec::new(),
        emulated: Vec::new(),
    })
}

/// One certificate with its history and clause summary (public).
pub async fn get(st: &AppState, id: &str) -> ApiResult<Certificate> {
    if !util::is_id(id) {
        return Err(Problem::not_found("no such certificate"));
    }
    let r = sqlx::query(&format!("{SELECT} WHERE c.id = $1"))
        .bind(id)
        .fetch_optional(&st.store.pool)
        .await?
        .ok_or_else(|| Problem::not_found("no such certificate"))?;
    let mut c = cert_row(&r)?;
    let rows = sqlx::query("SELECT seq, status, reason, at, actor FROM certificate_history WHERE certificate_id = $1 ORDER BY seq")
        .bind(id)
        .fetch_all(&st.store.pool)
        .await?;
    for h in rows {
        c.history.push(HistoryEntry {
            seq: h.try_get("seq")?,
            status: h.try_get("status")?,
            reason: h.try_get("reason")?,
            at: h.try_get("at")?,
            // The public sees the role, not which token acted.
            actor: h
                .try_get::<String, _>("actor")?
                .split(':')
                .next()
                .unwrap_or("")
                .to_string(),
        });
    }
    let report: Option<String> = sqlx::query_scalar("SELECT report FROM assessments WHERE id = $1")
        .bind(&c.assessment_id)
        .fetch_optional(&st.store.pool)
        .await?;
    if let Some(rep) = report.and_then(|t| serde_json::from_str::<Report>(&t).ok()) {
        c.clauses = clauses(&rep);
        c.emulated = emulated(&rep);
    }
    Ok(c)
}

/// A label must tell evidence from an emulated device apart from the device itself (the
/// assurance level already stops at 3 for such a report): these are the decided provisions
/// whose findings include one from the emulation.
pub fn emulated(report: &Report) -> Vec<String> {
    report
        .verdicts
        .iter()
        .filter(|v| v.scheme == "en303645")
        .filter(|v| matches!(v.verdict, Verdict::Pass | Verdict::Fail))
        .filter(|v| {
            v.findings.iter().any(|&i| {
                report
                    .findings
                    .get(i)
                    .is_some_and(|f| f.source == iotassure_core::finding::Source::Emulation)
            })
        })
        .map(|v| v.id.clone())
        .collect()
}

fn clauses(report: &Report) -> Vec<ClauseSummary> {
    let mut by: BTreeMap<(u32, u32), ClauseSummary> = BTreeMap::new();
    for v in report.verdicts.iter().filter(|v| v.scheme == "en303645") {
        let clause = v.id.split('-').next().unwrap_or(&v.id).to_string();
        let mut nums = clause.split('.').map(|n| n.parse::<u32>().unwrap_or(0));
        let key = (nums.next().unwrap_or(0), nums.next().unwrap_or(0));
        let e = by.entry(key).or_insert_with(|| ClauseSummary {
            clause: clause.clone(),
            ..Default::default()
        });
        match v.verdict {
            Verdict::Pass => {
                e.pass += 1;
                if v.is_declared() {
                    e.pass_declared += 1;
                }
            }
            Verdict::Fail if v.justified => e.justified += 1,
            Verdict::Fail => e.fail += 1,
            Verdict::Inconclusive => e.inconclusive += 1,
            Verdict::NotApplicable => e.not_applicable += 1,
        }
    }
    by.into_values().collect()
}

#[derive(Debug, Default, Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct Search {
    /// Maker organisation name (exact) or id.
    pub maker: Option<String>,
    /// Model (substring, case-insensitive).
    pub model: Option<String>,
    /// Firmware version (exact).
    pub firmware: Option<String>,
    /// `valid`, `suspended`, `revoked` or `expired`.
    pub status: Option<String>,
    /// Image SHA-256.
    pub sha256: Option<String>,
    /// 1-based page.
    pub page: Option<i64>,
    /// Items per page, 1-100 (default 20).
    pub per_page: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Page {
    pub items: Vec<Certificate>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}

pub async fn search(st: &AppState, q: Search) -> ApiResult<Page> {
    let per_page = q.per_page.unwrap_or(20);
    if !(1..=100).contains(&per_page) {
        return Err(Problem::invalid("`per_page`: 1-100"));
    }
    let page = q.page.unwrap_or(1);
    if !(1..=1_000_000).contains(&page) {
        return Err(Problem::invalid("`page`: 1 or more"));
    }
    if let Some(s) = &q.status {
        if !STATUSES.contains(&s.as_str()) {
            return Err(Problem::invalid(format!(
                "`status`: one of {}",
                STATUSES.join(", ")
            )));
        }
    }
    // Fixed SQL with optional filters: `$n IS NULL OR ...` keeps one statement for every search.
    let filter = " WHERE ($1 IS NULL OR o.name = $1 OR o.id = $1) AND ($2 IS NULL OR LOWER(p.model) LIKE $2) \
                  AND ($3 IS NULL OR f.version = $3) AND ($4 IS NULL OR c.status = $4) AND ($5 IS NULL OR f.sha256 = $5)";
    let model = q
        .model
        .as_ref()
        .map(|m| format!("%{}%", m.to_lowercase().replace(['%', '_'], "")));
    let sha = q.sha256.as_ref().map(|s| s.to_ascii_lowercase());
    let total: i64 = sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM certificates c JOIN firmware f ON f.id = c.firmware_id JOIN products p ON p.id = f.product_id JOIN organisations o ON o.id = p.maker_id{filter}"
    ))
    .bind(&q.maker)
    .bind(&model)
    .bind(&q.firmware)
    .bind(&q.status)
    .bind(&sha)
    .fetch_one(&st.store.pool)
    .await?;
    let rows = sqlx::query(&format!(
        "{SELECT}{filter} ORDER BY c.issued_at DESC, c.id LIMIT $6 OFFSET $7"
    ))
    .bind(&q.maker)
    .bind(&model)
    .bind(&q.firmware)
    .bind(&q.status)
    .bind(&sha)
    .bind(per_page)
    .bind((page - 1) * per_page)
    .fetch_all(&st.store.pool)
    .await?;
    let items = rows.iter().map(cert_row).collect::<Result<_, _>>()?;
    Ok(Page {
        items,
        page,
        per_page,
        total,
    })
}

pub async fn envelope(st: &AppState, id: &str) -> ApiResult<String> {
    if !util::is_id(id) {
        return Err(Problem::not_found("no such certificate"));
    }
    sqlx::query_scalar("SELECT envelope FROM certificates WHERE id = $1")
        .bind(id)
        .fetch_optional(&st.store.pool)
        .await?
        .ok_or_else(|| Problem::not_found("no such certificate"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use iotassure_core::finding::Source;

    fn example() -> Report {
        serde_json::from_str(include_str!("../tests/data/smart-plug.report.json")).unwrap()
    }

    #[test]
    fn a_label_names_the_verdicts_that_rest_on_an_emulated_device() {
        let mut report = example();
        assert!(emulated(&report).is_empty(), "the example has no emulation");
        // The findings behind 5.5-1 become the emulation's, as `assess --emulate` would record them.
        let idx = report.verdict("5.5-1").unwrap().findings.clone();
        for i in idx {
            report.findings[i].source = Source::Emulation;
        }
        assert_eq!(emulated(&report), vec!["5.5-1".to_string()]);
        // An INCONCLUSIVE verdict decided nothing, so it is never listed.
        let v = report
            .verdicts
            .iter_mut()
            .find(|v| v.id == "5.5-1")
            .unwrap();
        v.verdict = Verdict::Inconclusive;
        assert!(emulated(&report).is_empty());
    }
}
