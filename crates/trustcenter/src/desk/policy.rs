//! Each maker's disclosure policy (the figures the desk holds it to) and its public track record.
//!
//! Where the figures come from, in order: what the maker set here; else what its newest
//! assessed disclosure-policy document says (the excerpts the 5.2-1 and 5.2-2 document checks
//! quoted: "we acknowledge receipt within 3 business days"); else [`Policy::CONVENTIONAL`].
//! Every figure says which of these it came from.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::Row;
use utoipa::ToSchema;

use super::deadlines::{self, Figures, History, Policy};
use super::{read_row, Named, REPORT_COLUMNS, REPORT_FROM};
use crate::auth::{Caller, Role};
use crate::problem::{ApiResult, Problem};
use crate::server::AppState;
use crate::store::{audit, Audit};
use crate::util;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Basis {
    pub ack_days: String,
    pub update_days: String,
    pub fix_days: String,
    pub disclose_days: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PolicyView {
    pub maker: String,
    pub policy: Policy,
    /// Where each figure comes from.
    pub basis: Basis,
}

const CONVENTION: &str = "convention (EN 303 645 5.2-2 note, ISO/IEC 29147): no figure set by the maker or found in an assessed policy";

fn conventional() -> (Policy, Basis) {
    (
        Policy::CONVENTIONAL,
        Basis {
            ack_days: CONVENTION.into(),
            update_days: CONVENTION.into(),
            fix_days: CONVENTION.into(),
            disclose_days: CONVENTION.into(),
        },
    )
}

/// The policy the desk applies to `maker`'s new reports, and why.
pub async fn effective(st: &AppState, maker: &str) -> ApiResult<(Policy, Basis)> {
    let row = sqlx::query(
        "SELECT ack_days, update_days, fix_days, disclose_days, updated_at FROM disclosure_policies WHERE org_id = $1",
    )
    .bind(maker)
    .fetch_optional(&st.store.pool)
    .await?;
    if let Some(r) = row {
        let at: String = r.try_get("updated_at")?;
        let why = format!("set by the maker on {}", &at[..10]);
        return Ok((
            Policy {
                ack_days: r.try_get("ack_days")?,
                update_days: r.try_get("update_days")?,
                fix_days: r.try_get("fix_days")?,
                disclose_days: r.try_get("disclose_days")?,
            },
            Basis {
                ack_days: why.clone(),
                update_days: why.clone(),
                fix_days: why.clone(),
                disclose_days: why,
            },
        ));
    }
    // The newest assessment of any of the maker's products that read a policy document.
    let rows = sqlx::query(
        "SELECT a.id, a.report FROM assessments a JOIN firmware f ON f.id = a.firmware_id JOIN products p ON p.id = f.product_id WHERE p.maker_id = $1 ORDER BY a.created_at DESC LIMIT 5",
    )
    .bind(maker)
    .fetch_all(&st.store.pool)
    .await?;
    for r in rows {
        let id: String = r.try_get("id")?;
        let report: String = r.try_get("report")?;
        let Ok(report) = serde_json::from_str::<Value>(&report) else {
            continue;
        };
        if let Some(p) = from_report(&report, &id) {
            return Ok(p);
        }
    }
    Ok(conventional())
}

/// Reads the figures out of the excerpts a report's disclosure-policy checks quoted. `None`
/// when the report quotes no timeline at all.
pub fn from_report(report: &Value, assessment: &str) -> Option<(Policy, Basis)> {
    let (mut policy, mut basis) = conventional();
    let mut found = false;
    let findings = report.get("findings")?.as_array()?;
    for f in findings {
        let check = f.get("check").and_then(Value::as_str).unwrap_or("");
        if !matches!(check, "5.2-1-doc-policy" | "5.2-2-doc-timely-action") {
            continue;
        }
        for e in f
            .get("evidence")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(text) = e.get("excerpt").and_then(Value::as_str) else {
                continue;
            };
            let lower = text.to_lowercase();
            let Some(days) = days_in(text) else {
                continue;
            };
            let why = format!("assessment {assessment}: the policy says {text:?}");
            if lower.contains("acknowledg") && check == "5.2-1-doc-policy" {
                (policy.ack_days, basis.ack_days) = (days, why);
            } else if lower.contains("update") && check == "5.2-1-doc-policy" {
                (policy.update_days, basis.update_days) = (days, why);
            } else if check == "5.2-2-doc-timely-action" {
                (policy.fix_days, basis.fix_days) = (days, why.clone());
                if lower.contains("disclos") {
                    (policy.disclose_days, basis.disclose_days) = (days, why);
                }
            } else {
                continue;
            }
            found = true;
        }
    }
    (found && policy.check().is_ok()).then_some((policy, basis))
}

/// The first duration or frequency of a sentence, in calendar days. Business (working) days are
/// counted as the calendar days they can span (5 → 7): the deadline must not fall before the
/// maker's own. Hours round up to whole days.
fn days_in(text: &str) -> Option<i64> {
    use iotassure_documents::dates::{find_durations, find_frequency, Unit};
    if let Some(d) = find_durations(text).into_iter().next() {
        let lower = d.text.to_lowercase();
        let n = i64::from(d.amount);
        let days = match d.unit {
            Unit::Hour => (n + 23) / 24,
            _ if lower.contains("business") || lower.contains("working") => (n * 7 + 4) / 5,
            _ => i64::from(d.days()),
        };
        return Some(days.max(1));
    }
    let f = find_frequency(text)?.to_lowercase();
    Some(if f.contains("day") || f == "daily" {
        1
    } else if f.contains("fortnight") || f.contains("bi") {
        14
    } else if f.contains("week") {
        7
    } else if f.contains("month") {
        30
    } else {
        return None;
    })
}

async fn maker_org(st: &AppState, key: &str) -> ApiResult<crate::registry::Org> {
    crate::registry::find_org(st, key)
        .await?
        .filter(|o| o.kind == "maker")
        .ok_or_else(|| Problem::not_found(format!("no maker {key:?}")))
}

/// The policy in force for a maker (public: reporters read it before they report).
pub async fn get(st: &AppState, key: &str) -> ApiResult<PolicyView> {
    let org = maker_org(st, key).await?;
    let (policy, basis) = effective(st, &org.id).await?;
    Ok(PolicyView {
        maker: org.id,
        policy,
        basis,
    })
}

/// Sets a maker's policy. It applies to reports filed from now on; a report keeps the policy it
/// arrived under. Roles: admin, maker (its own).
pub async fn set(st: &AppState, who: &Caller, key: &str, p: Policy) -> ApiResult<PolicyView> {
    who.require(&[Role::Admin, Role::Maker])?;
    let org = maker_org(st, key).await?;
    if who.role == Role::Maker && who.org.as_deref() != Some(org.id.as_str()) {
        return Err(Problem::forbidden("a maker sets only its own policy"));
    }
    p.check().map_err(Problem::invalid)?;
    let (before, _) = effective(st, &org.id).await?;
    let mut tx = st.store.write().await?;
    sqlx::query("DELETE FROM disclosure_policies WHERE org_id = $1")
        .bind(&org.id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO disclosure_policies (org_id, ack_days, update_days, fix_days, disclose_days, source, updated_at) VALUES ($1, $2, $3, $4, $5, 'maker', $6)",
    )
    .bind(&org.id)
    .bind(p.ack_days)
    .bind(p.update_days)
    .bind(p.fix_days)
    .bind(p.disclose_days)
    .bind(util::now())
    .execute(&mut *tx)
    .await?;
    audit(
        &mut tx,
        Audit {
            actor: &who.actor(),
            action: "policy.set",
            subject: &org.id,
            before: json!(before),
            after: json!(p),
        },
    )
    .await?;
    tx.commit().await?;
    st.changed();
    get(st, &org.id).await
}

/// A maker's record at the desk: the figures, and what they rest on.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TrackRecord {
    /// `iotassure-track-record/1`: what `iotassure assess --track-record` reads.
    pub schema: String,
    pub trust_center: String,
    pub maker: Named,
    pub as_of: String,
    pub policy: PolicyView,
    pub figures: Figures,
    /// How the figures are counted (docs/trustcenter.md, "Deadlines").
    pub rules: String,
}

pub const TRACK_RECORD_SCHEMA: &str = "iotassure-track-record/1";

/// Computed from every report the maker has had (public: it is the evidence for 5.2-2).
pub async fn track_record(st: &AppState, key: &str) -> ApiResult<TrackRecord> {
    let org = maker_org(st, key).await?;
    let pool = &st.store.pool;
    let rows = sqlx::query(&format!(
        "SELECT {REPORT_COLUMNS} FROM {REPORT_FROM} WHERE r.maker_id = $1 ORDER BY r.received_at"
    ))
    .bind(&org.id)
    .fetch_all(pool)
    .await?;
    let updates = sqlx::query(
        "SELECT e.report_id, e.at FROM vuln_report_events e JOIN vuln_reports r ON r.id = e.report_id WHERE r.maker_id = $1 AND e.author IN ('maker', 'admin') ORDER BY e.report_id, e.seq",
    )
    .bind(&org.id)
    .fetch_all(pool)
    .await?;
    let mut by_report: std::collections::HashMap<String, Vec<time::OffsetDateTime>> =
        Default::default();
    for u in &updates {
        let id: String = u.try_get("report_id")?;
        let at: String = u.try_get("at")?;
        if let Some(t) = util::parse_time(&at) {
            by_report.entry(id).or_default().push(t);
        }
    }
    let mut histories = Vec::with_capacity(rows.len());
    for r in &rows {
        let row = read_row(r)?;
        histories.push(History {
            maker_updates: by_report.remove(&row.id).unwrap_or_default(),
            times: row.times,
        });
    }
    let now = time::OffsetDateTime::now_utc();
    Ok(TrackRecord {
        schema: TRACK_RECORD_SCHEMA.into(),
        trust_center: st.config.name.clone(),
        maker: Named {
            id: org.id.clone(),
            name: org.name.clone(),
        },
        as_of: util::stamp(now),
        policy: get(st, &org.id).await?,
        figures: deadlines::figures(&histories, now),
        rules: "Each report is held to the policy in force when it arrived. Deadlines counted: the first answer (acknowledge, reject or mark duplicate) within ack_days; from the acknowledgement until fixed or closed, a maker update at least every update_days (each interval is one deadline); the fix within fix_days unless triaged invalid, rejected or a duplicate. A deadline not yet due counts neither way.".into(),
    })
}
