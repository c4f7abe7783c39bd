//! Moving a report through its states, and the thread between reporter and maker. Each change is
//! one transaction: the report row (guarded by its row version), the thread event, the audit
//! entry and, for the reporter's words, the maker's webhook notice.

use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;

use super::{authorise, load_by_secret, Party, Report, State};
use crate::auth::Caller;
use crate::problem::{ApiResult, Problem};
use crate::server::AppState;
use crate::store::{audit, Audit, Tx};
use crate::util;

const MAX_MESSAGE: usize = 32 << 10;

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Transition {
    pub to: State,
    /// Shown to the reporter on the thread.
    #[serde(default)]
    pub note: String,
    /// With `triaged`: is the report a real vulnerability?
    #[serde(default)]
    pub valid: Option<bool>,
    /// With `fixed`: the firmware version that fixes it.
    #[serde(default)]
    pub fixed_version: Option<String>,
    /// With `duplicate`: the tracking id of the report it duplicates.
    #[serde(default)]
    pub duplicate_of: Option<String>,
    /// The `row_version` read; a report changed since is refused with 409.
    #[serde(default)]
    pub row_version: Option<i64>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Message {
    pub body: String,
}

/// `at` is the same stamp the report row takes, so "updated at" and the event agree exactly.
pub(crate) async fn add_event(
    tx: &mut Tx,
    report: &str,
    at: &str,
    author: &str,
    kind: &str,
    state: Option<State>,
    body: &str,
) -> Result<(), sqlx::Error> {
    let seq: i64 = sqlx::query_scalar(
        "SELECT COALESCE(MAX(seq), 0) + 1 FROM vuln_report_events WHERE report_id = $1",
    )
    .bind(report)
    .fetch_one(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO vuln_report_events (report_id, seq, at, author, kind, state, body) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(report)
    .bind(seq)
    .bind(at)
    .bind(author)
    .bind(kind)
    .bind(state.map(State::as_str))
    .bind(body)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn check_body(s: &str, what: &str) -> ApiResult<()> {
    if s.len() > MAX_MESSAGE {
        return Err(Problem::invalid(format!(
            "`{what}`: at most {MAX_MESSAGE} bytes"
        )));
    }
    if s.contains('\0') {
        return Err(Problem::invalid(format!("`{what}` contains a NUL byte")));
    }
    Ok(())
}

/// Moves a report on. Roles: the report's maker, admin.
pub async fn transition(st: &AppState, who: &Caller, id: &str, t: Transition) -> ApiResult<Report> {
    let (row, party) = authorise(st, who, id).await?;
    if party == Party::Reporter {
        return Err(Problem::forbidden(
            "only the maker (or an admin) moves a report on; the reporter writes on the thread",
        ));
    }
    check_body(&t.note, "note")?;
    let from = row.times.state;
    if !from.next(row.valid).contains(&t.to) {
        return Err(Problem::conflict(format!(
            "a report that is {} cannot become {} (next: {})",
            from.as_str(),
            t.to.as_str(),
            from.next(row.valid)
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    if t.row_version.is_some_and(|v| v != row.row_version) {
        return Err(Problem::conflict(
            "the report changed since you read it; read it again",
        ));
    }
    let valid = match (t.to, t.valid) {
        (State::Triaged, None) => {
            return Err(Problem::invalid(
                "`valid` (true or false) is required to triage",
            ))
        }
        (State::Triaged, v) => v,
        (_, Some(_)) => return Err(Problem::invalid("`valid` goes with `triaged` only")),
        (_, None) => row.valid,
    };
    let fixed_version = match (t.to, t.fixed_version.as_deref().map(str::trim)) {
        (State::Fixed, Some(v)) if !v.is_empty() && v.len() <= 100 => Some(v.to_string()),
        (State::Fixed, _) => {
            return Err(Problem::invalid(
                "`fixed_version` (the firmware version with the fix, at most 100 bytes) is required to mark a report fixed",
            ))
        }
        (_, Some(_)) => return Err(Problem::invalid("`fixed_version` goes with `fixed` only")),
        (_, None) => row.fixed_version.clone(),
    };
    let duplicate_of = match (t.to, t.duplicate_of.as_deref()) {
        (State::Duplicate, Some(d)) => {
            let n: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM vuln_reports WHERE tracking = $1 AND maker_id = $2 AND id <> $3",
            )
            .bind(d)
            .bind(&row.maker.id)
            .bind(&row.id)
            .fetch_one(&st.store.pool)
            .await?;
            if n == 0 {
                return Err(Problem::invalid(format!(
                    "`duplicate_of`: no other report {d:?} for this maker"
                )));
            }
            Some(d.to_string())
        }
        (State::Duplicate, None) => {
            return Err(Problem::invalid(
                "`duplicate_of` (the tracking id of the original) is required",
            ))
        }
        (_, Some(_)) => {
            return Err(Problem::invalid(
                "`duplicate_of` goes with `duplicate` only",
            ))
        }
        (_, None) => None,
    };
    let now = util::now();
    let set = |col: &str, cond: bool| {
        if cond {
            format!(", {col} = $6")
        } else {
            String::new()
        }
    };
    let closing = matches!(t.to, State::Rejected | State::Duplicate | State::Disclosed)
        || (t.to == State::Triaged && valid == Some(false));
    let sql = format!(
        "UPDATE vuln_reports SET state = $1, valid = $2, fixed_version = $3, duplicate_of = $4, row_version = row_version + 1, last_update_at = $6{}{}{}{}{} WHERE id = $5 AND row_version = $7",
        set("acknowledged_at", t.to == State::Acknowledged),
        set("triaged_at", t.to == State::Triaged),
        set("fixed_at", t.to == State::Fixed),
        set("disclosed_at", t.to == State::Disclosed),
        set("closed_at", closing),
    );
    let mut tx = st.store.write().await?;
    let n = sqlx::query(&sql)
        .bind(t.to.as_str())
        .bind(valid.map(i64::from))
        .bind(&fixed_version)
        .bind(&duplicate_of)
        .bind(&row.id)
        .bind(&now)
        .bind(row.row_version)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if n != 1 {
        return Err(Problem::conflict(
            "the report changed while this transition was applied; read it again",
        ));
    }
    add_event(
        &mut tx,
        &row.id,
        &now,
        party.author(),
        "transition",
        Some(t.to),
        &t.note,
    )
    .await?;
    audit(
        &mut tx,
        Audit {
            actor: &who.actor(),
            action: "report.transition",
            subject: &row.id,
            before: json!({"state": from.as_str()}),
            after: json!({"state": t.to.as_str(), "valid": valid, "fixed_version": fixed_version, "duplicate_of": duplicate_of}),
        },
    )
    .await?;
    tx.commit().await?;
    st.changed();
    super::get(st, who, id).await
}

/// A message on the thread from the maker, an admin or the signed-in reporter.
pub async fn message(st: &AppState, who: &Caller, id: &str, m: Message) -> ApiResult<Report> {
    let (row, party) = authorise(st, who, id).await?;
    post(st, &who.actor(), &row, party, m).await?;
    super::get(st, who, id).await
}

/// A message on the thread from the holder of the follow-up secret.
pub async fn message_by_secret(st: &AppState, secret: &str, m: Message) -> ApiResult<Report> {
    let row = load_by_secret(st, secret).await?;
    post(st, "reporter:follow-up", &row, Party::Reporter, m).await?;
    super::follow(st, secret).await
}

async fn post(
    st: &AppState,
    actor: &str,
    row: &super::ReportRow,
    party: Party,
    m: Message,
) -> ApiResult<()> {
    if m.body.trim().is_empty() {
        return Err(Problem::invalid("`body` is empty"));
    }
    check_body(&m.body, "body")?;
    let now = util::now();
    let mut tx = st.store.write().await?;
    if party != Party::Reporter {
        // The maker's word to the reporter restarts the status-update clock.
        sqlx::query("UPDATE vuln_reports SET last_update_at = $1, row_version = row_version + 1 WHERE id = $2")
            .bind(&now)
            .bind(&row.id)
            .execute(&mut *tx)
            .await?;
    }
    add_event(
        &mut tx,
        &row.id,
        &now,
        party.author(),
        "message",
        None,
        &m.body,
    )
    .await?;
    audit(
        &mut tx,
        Audit {
            actor,
            action: "report.message",
            subject: &row.id,
            before: serde_json::Value::Null,
            after: json!({"author": party.author(), "bytes": m.body.len()}),
        },
    )
    .await?;
    if party == Party::Reporter {
        crate::webhook::enqueue(
            &mut tx,
            &row.maker.id,
            "report.message",
            json!({"report": row.id, "tracking": row.tracking}),
        )
        .await?;
    }
    tx.commit().await?;
    st.changed();
    Ok(())
}
