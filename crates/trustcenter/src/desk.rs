//! The disclosure desk: coordinated vulnerability disclosure run by the trust center, as the
//! maker's published policy describes it (EN 303 645 5.2-1, 5.2-2; PSTI Schedule 1 ¶2).
//!
//! A researcher, signed in or anonymous (rate-limited per address), reports a vulnerability
//! against a certificate, a firmware release (by SHA-256) or a maker. The reporter gets a
//! tracking id and a follow-up secret, shown once; only its SHA-256 is stored. The follow-up
//! page lives at `/report/follow/{secret}` (API: `/api/v1/follow/{secret}`).
//!
//! The maker moves the report through [`State`] (each transition dated, audited and on the
//! report's thread), answers on the thread, and is held to deadlines computed from the policy in
//! force when the report arrived ([`deadlines`]). Its track record ([`policy::track_record`]) is
//! public: it is the evidence for 5.2-2 that `iotassure assess --track-record` turns into a
//! finding.
//!
//! Text is stored exactly as given and escaped only where it is shown.

pub mod attachments;
pub mod deadlines;
pub mod flow;
pub mod policy;
mod ratelimit;

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::Row;
use utoipa::ToSchema;

pub use deadlines::{Deadlines, Figures, Policy, Standing, State};

use crate::auth::{Caller, Role};
use crate::problem::{ApiResult, Problem};
use crate::server::AppState;
use crate::store::{audit, Audit};
use crate::util;

/// Field limits: a report is prose, not a file (attachments carry files).
const MAX_TITLE: usize = 200;
const MAX_DESCRIPTION: usize = 64 << 10;
const MAX_SHORT: usize = 1000;

#[derive(Debug, Clone, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct NewReport {
    /// The certificate the report is about (its id), or
    #[serde(default)]
    pub certificate: Option<String>,
    /// the firmware release (its image SHA-256), or
    #[serde(default)]
    pub firmware: Option<String>,
    /// the maker (organisation id or name), when no release is named.
    #[serde(default)]
    pub maker: Option<String>,
    pub title: String,
    pub description: String,
    /// Free text: "2.4.0 to 2.4.1", "all".
    #[serde(default)]
    pub affected_versions: String,
    /// A CVSS v3.0, v3.1 or v4.0 vector, validated and scored.
    #[serde(default)]
    pub cvss: Option<String>,
    /// How the maker can reach the reporter (optional: the follow-up page works without it).
    #[serde(default)]
    pub contact: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Filed {
    pub id: String,
    pub tracking: String,
    /// Shown once. Keep it: it opens the follow-up page; only its hash is stored.
    pub secret: String,
    /// The follow-up page (relative to the trust center).
    pub follow_url: String,
    pub state: State,
    pub policy: Policy,
    pub deadlines: Deadlines,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Cvss {
    pub vector: String,
    pub score: f64,
    /// `critical`, `high`, `medium`, `low` or `none`.
    pub rating: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Named {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FixedIn {
    pub firmware_id: String,
    pub version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate_status: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Event {
    pub seq: i64,
    pub at: String,
    /// `reporter`, `maker`, `admin` or `system`.
    pub author: String,
    /// `transition` or `message`.
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<State>,
    pub body: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Report {
    pub id: String,
    pub tracking: String,
    pub maker: Named,
    /// Product model and hardware version, when the report names a release.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<Named>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firmware: Option<Named>,
    pub title: String,
    pub description: String,
    pub affected_versions: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cvss: Option<Cvss>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contact: Option<String>,
    pub state: State,
    /// The triage outcome.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed_version: Option<String>,
    /// The named fixed version, once it is in the registry (and its certificate, when certified).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed_in: Option<FixedIn>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<String>,
    pub received_at: String,
    pub policy: Policy,
    pub deadlines: Deadlines,
    pub events: Vec<Event>,
    pub attachments: Vec<attachments::Info>,
    /// Send it back with a transition to refuse a stale one (409).
    pub row_version: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Summary {
    pub id: String,
    pub tracking: String,
    pub maker: Named,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<Named>,
    pub title: String,
    pub state: State,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cvss: Option<Cvss>,
    pub received_at: String,
    pub deadlines: Deadlines,
}

/// Who a caller is to one report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Party {
    Maker,
    Admin,
    Reporter,
}

impl Party {
    pub(crate) fn author(self) -> &'static str {
        match self {
            Party::Maker => "maker",
            Party::Admin => "admin",
            Party::Reporter => "reporter",
        }
    }
}

/// Scores and rates a CVSS vector (v3.x or v4.0, complete base metrics); anything else is
/// refused, naming the field.
pub fn cvss(vector: &str) -> ApiResult<Cvss> {
    let v = vector.trim();
    let score = iotassure_advisories::cvss::base_score(v).ok_or_else(|| {
        Problem::invalid(format!(
            "`cvss`: {v:?} is not a complete CVSS v3.0, v3.1 or v4.0 base vector"
        ))
    })?;
    let score = f64::from(score);
    let rating = match score {
        0.0 => "none",
        s if s < 4.0 => "low",
        s if s < 7.0 => "medium",
        s if s < 9.0 => "high",
        _ => "critical",
    };
    Ok(Cvss {
        vector: v.to_string(),
        score: (score * 10.0).round() / 10.0,
        rating: rating.into(),
    })
}

fn check_text(field: &str, s: &str, max: usize, required: bool) -> ApiResult<()> {
    if required && s.trim().is_empty() {
        return Err(Problem::invalid(format!("`{field}` is required")));
    }
    if s.len() > max {
        return Err(Problem::invalid(format!(
            "`{field}`: at most {max} bytes (this one has {})",
            s.len()
        )));
    }
    // The one byte neither database keeps as text; everything else is stored as given.
    if s.contains('\0') {
        return Err(Problem::invalid(format!("`{field}` contains a NUL byte")));
    }
    Ok(())
}

impl NewReport {
    pub fn check(&self) -> ApiResult<Option<Cvss>> {
        check_text("title", &self.title, MAX_TITLE, true)?;
        check_text("description", &self.description, MAX_DESCRIPTION, true)?;
        check_text(
            "affected_versions",
            &self.affected_versions,
            MAX_SHORT,
            false,
        )?;
        for (f, v) in [
            ("contact", &self.contact),
            ("cvss", &self.cvss),
            ("maker", &self.maker),
            ("certificate", &self.certificate),
            ("firmware", &self.firmware),
        ] {
            if let Some(v) = v {
                check_text(f, v, MAX_SHORT, false)?;
            }
        }
        self.cvss
            .as_deref()
            .filter(|v| !v.trim().is_empty())
            .map(cvss)
            .transpose()
    }
}

/// Where a report points: the maker always, a product and firmware when a release is named.
struct Target {
    maker: String,
    product: Option<String>,
    firmware: Option<String>,
}

async fn resolve_target(st: &AppState, r: &NewReport) -> ApiResult<Target> {
    let pool = &st.store.pool;
    let release = if let Some(c) = r.certificate.as_deref().filter(|s| !s.is_empty()) {
        let row = sqlx::query(
            "SELECT f.id AS fid, p.id AS pid, p.maker_id FROM certificates c JOIN firmware f ON f.id = c.firmware_id JOIN products p ON p.id = f.product_id WHERE c.id = $1",
        )
        .bind(c)
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Problem::invalid(format!("`certificate`: no certificate {c:?}")))?;
        Some(row)
    } else if let Some(sha) = r.firmware.as_deref().filter(|s| !s.is_empty()) {
        let row = sqlx::query(
            "SELECT f.id AS fid, p.id AS pid, p.maker_id FROM firmware f JOIN products p ON p.id = f.product_id WHERE f.sha256 = $1",
        )
        .bind(sha.to_ascii_lowercase())
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| {
            Problem::invalid(format!("`firmware`: no firmware with SHA-256 {sha:?} in the registry"))
        })?;
        Some(row)
    } else {
        None
    };
    let named = match r.maker.as_deref().filter(|s| !s.is_empty()) {
        Some(m) => {
            let org = crate::registry::find_org(st, m)
                .await?
                .filter(|o| o.kind == "maker")
                .ok_or_else(|| Problem::invalid(format!("`maker`: no maker {m:?}")))?;
            Some(org.id)
        }
        None => None,
    };
    match (release, named) {
        (Some(row), named) => {
            let maker: String = row.try_get("maker_id")?;
            if named.as_ref().is_some_and(|n| *n != maker) {
                return Err(Problem::invalid(
                    "`maker` is not the maker of the named certificate or firmware",
                ));
            }
            Ok(Target {
                maker,
                product: Some(row.try_get("pid")?),
                firmware: Some(row.try_get("fid")?),
            })
        }
        (None, Some(maker)) => Ok(Target {
            maker,
            product: None,
            firmware: None,
        }),
        (None, None) => Err(Problem::invalid(
            "name what the report is about: `certificate`, `firmware` (SHA-256) or `maker`",
        )),
    }
}

/// A tracking id a person can read out: `VR-2026-` and 10 characters of Crockford base32.
fn new_tracking() -> String {
    use rand::RngCore;
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut b = [0u8; 10];
    rand::rngs::OsRng.fill_bytes(&mut b);
    let tail: String = b
        .iter()
        .map(|x| ALPHABET[(*x as usize) % 32] as char)
        .collect();
    format!("VR-{}-{tail}", &util::today()[..4])
}

/// A follow-up secret: like a token, with its own prefix so a leaked one is recognisable.
fn new_secret() -> String {
    util::new_token().replacen("iat_", "iaf_", 1)
}

/// Files a report. `staged` holds the attachments already streamed to disk under their caps;
/// they move into place in the transaction that creates the record, so a failure anywhere leaves
/// neither record nor files.
pub async fn file(
    st: &AppState,
    who: &Caller,
    peer: Option<IpAddr>,
    r: NewReport,
    staged: attachments::Staged,
) -> ApiResult<Filed> {
    let score = r.check()?;
    let target = resolve_target(st, &r).await?;
    let (policy, _) = policy::effective(st, &target.maker).await?;
    let id = util::new_id();
    let tracking = new_tracking();
    let secret = new_secret();
    let now = util::now();
    let mut tx = st.store.write().await?;
    if who.role == Role::Public {
        ratelimit::take_anonymous(&mut tx, peer).await?;
    }
    sqlx::query(
        "INSERT INTO vuln_reports (id, tracking, secret_hash, maker_id, product_id, firmware_id, title, description, affected_versions, cvss_vector, cvss_score10, contact, reporter_org, reporter_token, state, valid, fixed_version, duplicate_of, ack_days, update_days, fix_days, disclose_days, received_at, last_update_at, row_version) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'received', NULL, NULL, NULL, $15, $16, $17, $18, $19, $19, 1)",
    )
    .bind(&id)
    .bind(&tracking)
    .bind(util::sha256_hex(secret.as_bytes()))
    .bind(&target.maker)
    .bind(&target.product)
    .bind(&target.firmware)
    .bind(&r.title)
    .bind(&r.description)
    .bind(&r.affected_versions)
    .bind(score.as_ref().map(|c| c.vector.clone()))
    .bind(score.as_ref().map(|c| (c.score * 10.0).round() as i64))
    .bind(r.contact.as_deref().filter(|c| !c.is_empty()))
    .bind(&who.org)
    .bind(&who.token_id)
    .bind(policy.ack_days)
    .bind(policy.update_days)
    .bind(policy.fix_days)
    .bind(policy.disclose_days)
    .bind(&now)
    .execute(&mut *tx)
    .await?;
    flow::add_event(
        &mut tx,
        &id,
        &now,
        "reporter",
        "transition",
        Some(State::Received),
        "",
    )
    .await?;
    let files = staged.commit_rows(&mut tx, &id).await?;
    audit(
        &mut tx,
        Audit {
            actor: &who.actor(),
            action: "report.file",
            subject: &id,
            before: Value::Null,
            after: json!({"tracking": tracking, "maker": target.maker, "firmware": target.firmware, "attachments": files, "anonymous": who.role == Role::Public}),
        },
    )
    .await?;
    crate::webhook::enqueue(
        &mut tx,
        &target.maker,
        "report.received",
        json!({"report": id, "tracking": tracking, "title": r.title, "cvss": score.as_ref().map(|c| c.score)}),
    )
    .await?;
    // Files go into place before the commit: a committed report never lacks its attachments.
    let placed = staged.place(st, &id)?;
    if let Err(e) = tx.commit().await {
        placed.undo();
        return Err(e.into());
    }
    st.changed();
    let times = deadlines::Times {
        state: State::Received,
        valid: None,
        received: util::parse_time(&now).expect("own stamp"),
        acknowledged: None,
        fixed: None,
        closed: None,
        last_update: util::parse_time(&now).expect("own stamp"),
        policy,
    };
    Ok(Filed {
        follow_url: format!("/report/follow/{secret}"),
        id,
        tracking,
        secret,
        state: State::Received,
        policy,
        deadlines: deadlines::deadlines(&times, time::OffsetDateTime::now_utc()),
    })
}

const REPORT_COLUMNS: &str = "r.id, r.tracking, r.maker_id, o.name AS maker_name, r.product_id, p.model, p.hardware_version, r.firmware_id, f.version AS fw_version, r.title, r.description, r.affected_versions, r.cvss_vector, r.contact, r.reporter_token, r.state, r.valid, r.fixed_version, r.duplicate_of, r.ack_days, r.update_days, r.fix_days, r.disclose_days, r.received_at, r.acknowledged_at, r.fixed_at, r.closed_at, r.last_update_at, r.row_version";
const REPORT_FROM: &str = "vuln_reports r JOIN organisations o ON o.id = r.maker_id LEFT JOIN products p ON p.id = r.product_id LEFT JOIN firmware f ON f.id = r.firmware_id";

pub(crate) struct ReportRow {
    pub id: String,
    pub tracking: String,
    pub maker: Named,
    pub product: Option<Named>,
    pub product_id: Option<String>,
    pub firmware: Option<Named>,
    pub title: String,
    pub description: String,
    pub affected_versions: String,
    pub cvss: Option<Cvss>,
    pub contact: Option<String>,
    pub reporter_token: Option<String>,
    pub valid: Option<bool>,
    pub fixed_version: Option<String>,
    pub duplicate_of: Option<String>,
    pub received_at: String,
    pub times: deadlines::Times,
    pub row_version: i64,
}

fn time_col(r: &sqlx::any::AnyRow, c: &str) -> Result<Option<time::OffsetDateTime>, sqlx::Error> {
    Ok(r.try_get::<Option<String>, _>(c)?
        .as_deref()
        .and_then(util::parse_time))
}

pub(crate) fn read_row(r: &sqlx::any::AnyRow) -> ApiResult<ReportRow> {
    let state: String = r.try_get("state")?;
    let state = State::parse(&state)
        .ok_or_else(|| Problem::internal(format!("unknown report state {state:?}")))?;
    let valid: Option<i64> = r.try_get("valid")?;
    let received_at: String = r.try_get("received_at")?;
    let stamp = |c: &str| -> ApiResult<time::OffsetDateTime> {
        time_col(r, c)?.ok_or_else(|| Problem::internal(format!("report {c} unreadable")))
    };
    let product_id: Option<String> = r.try_get("product_id")?;
    let product = match &product_id {
        Some(pid) => Some(Named {
            id: pid.clone(),
            name: format!(
                "{} {}",
                r.try_get::<String, _>("model")?,
                r.try_get::<String, _>("hardware_version")?
            )
            .trim()
            .to_string(),
        }),
        None => None,
    };
    let firmware = match r.try_get::<Option<String>, _>("firmware_id")? {
        Some(fid) => Some(Named {
            id: fid,
            name: r.try_get("fw_version")?,
        }),
        None => None,
    };
    let vector: Option<String> = r.try_get("cvss_vector")?;
    Ok(ReportRow {
        id: r.try_get("id")?,
        tracking: r.try_get("tracking")?,
        maker: Named {
            id: r.try_get("maker_id")?,
            name: r.try_get("maker_name")?,
        },
        product,
        product_id,
        firmware,
        title: r.try_get("title")?,
        description: r.try_get("description")?,
        affected_versions: r.try_get("affected_versions")?,
        cvss: vector.as_deref().and_then(|v| cvss(v).ok()),
        contact: r.try_get("contact")?,
        reporter_token: r.try_get("reporter_token")?,
        valid: valid.map(|v| v != 0),
        fixed_version: r.try_get("fixed_version")?,
        duplicate_of: r.try_get("duplicate_of")?,
        times: deadlines::Times {
            state,
            valid: valid.map(|v| v != 0),
            received: stamp("received_at")?,
            acknowledged: time_col(r, "acknowledged_at")?,
            fixed: time_col(r, "fixed_at")?,
            closed: time_col(r, "closed_at")?,
            last_update: stamp("last_update_at")?,
            policy: Policy {
                ack_days: r.try_get("ack_days")?,
                update_days: r.try_get("update_days")?,
                fix_days: r.try_get("fix_days")?,
                disclose_days: r.try_get("disclose_days")?,
            },
        },
        received_at,
        row_version: r.try_get("row_version")?,
    })
}

/// What the caller is to the report, or the same 404 as for a missing one.
fn party(who: &Caller, row: &ReportRow) -> ApiResult<Party> {
    if who.role == Role::Admin {
        return Ok(Party::Admin);
    }
    if who.role == Role::Maker && who.org.as_deref() == Some(row.maker.id.as_str()) {
        return Ok(Party::Maker);
    }
    if who.token_id.is_some() && row.reporter_token == who.token_id {
        return Ok(Party::Reporter);
    }
    Err(Problem::not_found("no such report"))
}

pub(crate) async fn load_row(st: &AppState, id: &str) -> ApiResult<ReportRow> {
    if !util::is_id(id) {
        return Err(Problem::not_found("no such report"));
    }
    let row = sqlx::query(&format!(
        "SELECT {REPORT_COLUMNS} FROM {REPORT_FROM} WHERE r.id = $1"
    ))
    .bind(id)
    .fetch_optional(&st.store.pool)
    .await?
    .ok_or_else(|| Problem::not_found("no such report"))?;
    read_row(&row)
}

pub(crate) async fn load_by_secret(st: &AppState, secret: &str) -> ApiResult<ReportRow> {
    if secret.len() > 200 {
        return Err(Problem::not_found("no such report"));
    }
    let row = sqlx::query(&format!(
        "SELECT {REPORT_COLUMNS} FROM {REPORT_FROM} WHERE r.secret_hash = $1"
    ))
    .bind(util::sha256_hex(secret.as_bytes()))
    .fetch_optional(&st.store.pool)
    .await?
    .ok_or_else(|| Problem::not_found("no such report (check the follow-up link)"))?;
    read_row(&row)
}

/// The report as the maker, an admin or its signed-in reporter sees it.
pub async fn get(st: &AppState, who: &Caller, id: &str) -> ApiResult<Report> {
    let row = load_row(st, id).await?;
    party(who, &row)?;
    view(st, row).await
}

/// The report as the holder of its follow-up secret sees it.
pub async fn follow(st: &AppState, secret: &str) -> ApiResult<Report> {
    let row = load_by_secret(st, secret).await?;
    view(st, row).await
}

pub(crate) async fn authorise(
    st: &AppState,
    who: &Caller,
    id: &str,
) -> ApiResult<(ReportRow, Party)> {
    let row = load_row(st, id).await?;
    let p = party(who, &row)?;
    Ok((row, p))
}

async fn view(st: &AppState, row: ReportRow) -> ApiResult<Report> {
    let pool = &st.store.pool;
    let events = sqlx::query(
        "SELECT seq, at, author, kind, state, body FROM vuln_report_events WHERE report_id = $1 ORDER BY seq",
    )
    .bind(&row.id)
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| {
        Ok(Event {
            seq: r.try_get("seq")?,
            at: r.try_get("at")?,
            author: r.try_get("author")?,
            kind: r.try_get("kind")?,
            state: r
                .try_get::<Option<String>, _>("state")?
                .as_deref()
                .and_then(State::parse),
            body: r.try_get("body")?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let attachments = attachments::list(st, &row.id).await?;
    let fixed_in = match &row.fixed_version {
        Some(v) => fixed_in(st, &row, v).await?,
        None => None,
    };
    let deadlines = deadlines::deadlines(&row.times, time::OffsetDateTime::now_utc());
    Ok(Report {
        id: row.id,
        tracking: row.tracking,
        maker: row.maker,
        product: row.product,
        firmware: row.firmware,
        title: row.title,
        description: row.description,
        affected_versions: row.affected_versions,
        cvss: row.cvss,
        contact: row.contact,
        state: row.times.state,
        valid: row.valid,
        fixed_version: row.fixed_version,
        fixed_in,
        duplicate_of: row.duplicate_of,
        received_at: row.received_at,
        policy: row.times.policy,
        deadlines,
        events,
        attachments,
        row_version: row.row_version,
    })
}

/// The release the maker named as the fix, once it is in the registry: of the report's product,
/// or of any of the maker's products when the report named none. Read at view time, so the link
/// appears as soon as the fixed release is assessed and certified.
async fn fixed_in(st: &AppState, row: &ReportRow, version: &str) -> ApiResult<Option<FixedIn>> {
    let q = if row.product_id.is_some() {
        "SELECT f.id, f.version, c.id AS cert, c.status FROM firmware f LEFT JOIN certificates c ON c.firmware_id = f.id WHERE f.product_id = $1 AND f.version = $2 ORDER BY c.issued_at DESC"
    } else {
        "SELECT f.id, f.version, c.id AS cert, c.status FROM firmware f JOIN products p ON p.id = f.product_id LEFT JOIN certificates c ON c.firmware_id = f.id WHERE p.maker_id = $1 AND f.version = $2 ORDER BY c.issued_at DESC"
    };
    let key = row
        .product_id
        .clone()
        .unwrap_or_else(|| row.maker.id.clone());
    let r = sqlx::query(q)
        .bind(key)
        .bind(version)
        .fetch_optional(&st.store.pool)
        .await?;
    Ok(match r {
        Some(r) => Some(FixedIn {
            firmware_id: r.try_get("id")?,
            version: r.try_get("version")?,
            certificate: r.try_get("cert")?,
            certificate_status: r.try_get("status")?,
        }),
        None => None,
    })
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Admin only: one maker's reports (organisation id or name).
    pub maker: Option<String>,
    /// Only reports in this state.
    pub state: Option<String>,
    /// Only reports with a deadline overdue now.
    pub overdue: Option<bool>,
}

/// Reports, overdue ones first, then oldest first. A maker sees its own; a researcher the ones it
/// filed signed in; an admin all (or one maker's).
pub async fn list(st: &AppState, who: &Caller, q: ListQuery) -> ApiResult<Vec<Summary>> {
    who.require(&[Role::Admin, Role::Maker, Role::Researcher])?;
    let (clause, key) = match who.role {
        Role::Maker => ("r.maker_id = $1", who.org.clone().unwrap_or_default()),
        Role::Researcher => (
            "r.reporter_token = $1",
            who.token_id.clone().unwrap_or_default(),
        ),
        _ => match &q.maker {
            Some(m) => {
                let org = crate::registry::find_org(st, m)
                    .await?
                    .ok_or_else(|| Problem::invalid(format!("`maker`: no organisation {m:?}")))?;
                ("r.maker_id = $1", org.id)
            }
            None => ("$1 = $1", String::new()),
        },
    };
    let state = match q.state.as_deref() {
        Some(s) => Some(State::parse(s).ok_or_else(|| {
            Problem::invalid(format!(
                "`state`: one of {}",
                State::ALL.map(|s| s.as_str()).join(", ")
            ))
        })?),
        None => None,
    };
    // A maker's desk holds hundreds of reports, not millions: read them and order in memory by
    // the deadline rule, which SQL cannot express portably.
    let rows = sqlx::query(&format!(
        "SELECT {REPORT_COLUMNS} FROM {REPORT_FROM} WHERE {clause} ORDER BY r.received_at LIMIT 10000"
    ))
    .bind(key)
    .fetch_all(&st.store.pool)
    .await?;
    let now = time::OffsetDateTime::now_utc();
    let mut out = Vec::new();
    for r in &rows {
        let row = read_row(r)?;
        if state.is_some_and(|s| s != row.times.state) {
            continue;
        }
        let d = deadlines::deadlines(&row.times, now);
        if q.overdue.is_some_and(|o| o != d.overdue) {
            continue;
        }
        out.push(Summary {
            id: row.id,
            tracking: row.tracking,
            maker: row.maker,
            product: row.product,
            title: row.title,
            state: row.times.state,
            cvss: row.cvss,
            received_at: row.received_at,
            deadlines: d,
        });
    }
    out.sort_by_key(|s| !s.deadlines.overdue);
    Ok(out)
}
