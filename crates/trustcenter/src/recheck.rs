//! Re-check: advisories in, matched against the stored components of every certified release
//! with the advisories crate's own lookup (one matching engine for assessments and the trust
//! center), the differences with the last run recorded, certificates that a new advisory at or
//! above the configured severity hits suspended, and passed dates expired.
//!
//! A run is idempotent: the same advisories give the same matches, and nothing new. A match that
//! no longer applies (a corrected range, a VEX `not_affected`) is marked dropped, not deleted, so
//! "what changed since run X" is answered from the table.

use std::collections::{BTreeMap, HashMap, HashSet};

use iotassure_advisories::Db;
use iotassure_core::finding::Severity;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::Row;
use utoipa::ToSchema;

use crate::auth::{Caller, Role};
use crate::certify;
use crate::problem::{ApiResult, Problem};
use crate::server::AppState;
use crate::store::{audit, insert_many, Arg, Audit, Tx};
use crate::util;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, Default)]
pub struct Run {
    pub id: String,
    pub started_at: String,
    pub finished_at: String,
    /// Advisories known to the trust center.
    pub advisories: i64,
    /// Certified firmware releases checked.
    pub firmware: i64,
    pub new_matches: i64,
    pub dropped: i64,
    pub suspended: i64,
    pub expired: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Loaded {
    pub records: usize,
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Records or parts not used, with the reason.
    pub skipped: Vec<String>,
    pub run: Run,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MatchRow {
    pub firmware_id: String,
    pub image_sha256: String,
    pub advisory: String,
    pub component: String,
    pub version: String,
    pub severity: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    pub first_seen: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dropped_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StatusEvent {
    pub certificate: String,
    pub status: String,
    pub reason: String,
    pub at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Changes {
    /// The run the changes are counted from (exclusive); none: all runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    pub runs: Vec<Run>,
    pub new: Vec<MatchRow>,
    pub dropped: Vec<MatchRow>,
    pub status_changes: Vec<StatusEvent>,
}

#[derive(Debug, Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ChangesQuery {
    /// A re-check run id: changes after it. Default: the changes of the latest run.
    pub since: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VexStatement {
    /// The image SHA-256 of the firmware release the statement is about.
    pub firmware: String,
    /// The advisory id (CVE or OSV id).
    pub vulnerability: String,
    /// The component name as the registry lists it.
    pub component: String,
    /// `not_affected`, `affected`, `fixed` or `under_investigation` (OpenVEX).
    pub status: String,
    /// Required for `not_affected` (OpenVEX justification, e.g. `vulnerable_code_not_present`).
    #[serde(default)]
    pub justification: String,
}

/// Severity threshold names, lowest first.
pub fn parse_severity(s: &str) -> Option<Severity> {
    match s {
        "low" => Some(Severity::Low),
        "medium" => Some(Severity::Medium),
        "high" => Some(Severity::High),
        "critical" => Some(Severity::Critical),
        _ => None,
    }
}

/// Stores OSV records (an object or an array) and runs a re-check, in one transaction.
pub async fn load(st: &AppState, who: &Caller, body: &[u8]) -> ApiResult<Loaded> {
    who.require(&[Role::Admin, Role::Certifier])?;
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        Problem::bad_request(format!(
            "the body is not JSON (line {}, column {}): {e}",
            e.line(),
            e.column()
        ))
    })?;
    let records: Vec<Value> = match value {
        Value::Array(a) => a,
        v @ Value::Object(_) => vec![v],
        _ => {
            return Err(Problem::invalid(
                "expected an OSV record or an array of them",
            ))
        }
    };
    // Validate with the advisories crate first: a record it refuses is refused here too.
    let mut scratch = Db::knowledge_only();
    let mut skipped = Vec::new();
    let mut checked = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let text = r.to_string();
        let rep = scratch
            .load_osv_bytes(&format!("record {i}"), text.as_bytes())
            .map_err(|e| Problem::invalid(e.to_string()))?;
        skipped.extend(
            rep.skipped
                .iter()
                .map(|s| format!("{}: {}", s.id, s.reason)),
        );
        let id = r
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let modified = r
            .get("modified")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        checked.push((id, modified, text));
    }
    let mut tx = st.store.write().await?;
    let (mut added, mut updated, mut unchanged) = (0, 0, 0);
    let now = util::now();
    for (id, modified, text) in &checked {
        let old: Option<(String, String)> =
            sqlx::query_as("SELECT modified, record FROM advisories WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        match old {
            None => {
                sqlx::query("INSERT INTO advisories (id, record, modified, loaded_at) VALUES ($1, $2, $3, $4)")
                    .bind(id)
                    .bind(text)
                    .bind(modified)
                    .bind(&now)
                    .execute(&mut *tx)
                    .await?;
                added += 1;
            }
            Some((m, rec)) if m == *modified && rec == *text => unchanged += 1,
            Some((m, _)) if m.as_str() > modified.as_str() => unchanged += 1,
            Some(_) => {
                sqlx::query("UPDATE advisories SET record = $1, modified = $2, loaded_at = $3 WHERE id = $4")
                    .bind(text)
                    .bind(modified)
                    .bind(&now)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                updated += 1;
            }
        }
    }
    if added + updated > 0 {
        audit(&mut tx, Audit {
            actor: &who.actor(),
            action: "advisories.load",
            subject: "advisories",
            before: Value::Null,
            after: json!({"added": added, "updated": updated, "ids": checked.iter().map(|c| &c.0).collect::<Vec<_>>()}),
        })
        .await?;
    }
    let run = run_in(st, &mut tx, &who.actor()).await?;
    tx.commit().await?;
    st.changed();
    Ok(Loaded {
        records: checked.len(),
        added,
        updated,
        unchanged,
        skipped,
        run,
    })
}

/// The feed database's records that apply to one stored component, with the advisories loaded
/// into the trust center as the curated layer on top (the matcher's rule: curated wins). A record
/// whose application depends on a build option the evidence cannot decide is left out: it is
/// INCONCLUSIVE in the assessment report and no ground to suspend a certificate. A CPE-only
/// match for a component read from a binary is kept and says so in its label.
fn feed_matches(
    store: &iotassure_advisories::store::Store,
    db: &Db,
    fw: &str,
    c: &iotassure_core::finding::Component,
) -> ApiResult<Vec<(Key, Found)>> {
    let matcher = iotassure_advisories::matching::Matcher {
        store,
        db,
        kernel_config: None,
    };
    let mut r = iotassure_advisories::matching::MatchResult::default();
    matcher
        .match_one(c, &mut r)
        .map_err(|e| Problem::internal(format!("matching {} {}: {e}", c.name, c.version)))?;
    Ok(r.hits
        .into_iter()
        .filter(|h| h.condition.is_none())
        .map(|h| {
            let severity = match h.cvss {
                Some(s) => iotassure_advisories::model::severity_of_score(s),
                None => h
                    .severity
                    .as_deref()
                    .and_then(parse_severity)
                    .unwrap_or(Severity::Medium),
            };
            let confidence = if h.low_confidence {
                "; CPE match on a binary's banner"
            } else {
                ""
            };
            let found = Found {
                version: c.version.clone(),
                severity,
                score: h.cvss,
                fixed: None,
                label: format!(
                    "{} ({}, {} {}; feed {}{confidence})",
                    h.id,
                    severity.as_str(),
                    c.name,
                    c.version,
                    h.place
                ),
            };
            ((fw.to_string(), h.id, h.component), found)
        })
        .collect())
}

/// A re-check on its own (new VEX, a daily sweep of the dates).
pub async fn run(st: &AppState, who: &Caller) -> ApiResult<Run> {
    who.require(&[Role::Admin, Role::Certifier])?;
    let mut tx = st.store.write().await?;
    let r = run_in(st, &mut tx, &who.actor()).await?;
    tx.commit().await?;
    st.changed();
    Ok(r)
}

type Key = (String, String, String);

struct Found {
    version: String,
    severity: Severity,
    score: Option<f32>,
    fixed: Option<String>,
    label: String,
}

pub async fn run_in(st: &AppState, tx: &mut Tx, actor: &str) -> ApiResult<Run> {
    let started = util::now();
    let run_id = util::new_id();
    let mut db = Db::knowledge_only();
    let recs: Vec<(String, String)> =
        sqlx::query_as("SELECT id, record FROM advisories ORDER BY id")
            .fetch_all(&mut **tx)
            .await?;
    for (id, rec) in &recs {
        if let Err(e) = db.load_osv_bytes(id, rec.as_bytes()) {
            eprintln!("trust center: stored advisory {id} no longer loads: {e}");
        }
    }
    let comps = sqlx::query(
        "SELECT DISTINCT m.firmware_id, m.name, m.version, m.purl, m.cpe, m.method FROM components m \
         WHERE m.firmware_id IN (SELECT firmware_id FROM certificates WHERE status IN ('valid', 'suspended'))",
    )
    .fetch_all(&mut **tx)
    .await?;
    let vex: HashSet<Key> = sqlx::query_as::<_, (String, String, String)>(
        "SELECT firmware_id, advisory_id, component FROM vex WHERE status IN ('not_affected', 'fixed')",
    )
    .fetch_all(&mut **tx)
    .await?
    .into_iter()
    .collect();
    let mut firmware = HashSet::new();
    let mut current: HashMap<Key, Found> = HashMap::new();
    let feeds = match &st.config.advisories_db {
        Some(path) => Some(
            iotassure_advisories::store::Store::open_existing(path).map_err(|e| {
                Problem::internal(format!(
                    "the advisory database {} cannot be read: {e}",
                    path.display()
                ))
            })?,
        ),
        None => None,
    };
    for r in &comps {
        let fw: String = r.try_get("firmware_id")?;
        let name: String = r.try_get("name")?;
        let version: String = r.try_get("version")?;
        firmware.insert(fw.clone());
        if let Some(store) = &feeds {
            let component = iotassure_core::finding::Component {
                name: name.clone(),
                version: version.clone(),
                purl: r.try_get("purl")?,
                cpe: r.try_get("cpe")?,
                method: r
                    .try_get::<Option<String>, _>("method")?
                    .unwrap_or_else(|| "binary-banner".into()),
                evidence: Vec::new(),
                files: Vec::new(),
            };
            for (key, found) in feed_matches(store, &db, &fw, &component)? {
                if !vex.contains(&key) {
                    current.entry(key).or_insert(found);
                }
            }
        }
        let Some(m) = db.lookup(&name, &version) else {
            continue;
        };
        for h in &m.advisories {
            let key = (fw.clone(), h.advisory.id.clone(), m.component.name.clone());
            if vex.contains(&key) {
                continue;
            }
            // As for the feed's records above: a hit the version alone does not decide (a
            // pre-release of the first affected release, a kernel subsystem the stored evidence
            // cannot show is built) is INCONCLUSIVE in the report and no ground to suspend.
            let subsystem = m.component.name == "linux"
                && iotassure_advisories::matching::subsystem_of(&h.advisory.summary).is_some();
            if h.condition().is_some() || subsystem {
                continue;
            }
            current.insert(
                key,
                Found {
                    version: version.clone(),
                    severity: h.advisory.severity(),
                    score: h.advisory.cvss,
                    fixed: h.fixed.map(str::to_string),
                    label: format!(
                        "{} ({}, {} {version})",
                        h.advisory.label(),
                        h.advisory.severity().as_str(),
                        m.component.title
                    ),
                },
            );
        }
    }
    // Every match row, active or dropped: a new match whose row was dropped earlier is revived.
    let mut active: HashSet<Key> = HashSet::new();
    let mut dropped_before: HashSet<Key> = HashSet::new();
    for (f, a, c, d) in sqlx::query_as::<_, (String, String, String, Option<String>)>(
        "SELECT firmware_id, advisory_id, component, dropped_at FROM matches",
    )
    .fetch_all(&mut **tx)
    .await?
    {
        if d.is_none() {
            active.insert((f, a, c));
        } else {
            dropped_before.insert((f, a, c));
        }
    }
    let mut new_by_fw: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut rows = Vec::new();
    for (key, f) in current.iter().filter(|(k, _)| !active.contains(*k)) {
        if dropped_before.contains(key) {
            sqlx::query("DELETE FROM matches WHERE firmware_id = $1 AND advisory_id = $2 AND component = $3")
                .bind(&key.0)
                .bind(&key.1)
                .bind(&key.2)
                .execute(&mut **tx)
                .await?;
        }
        rows.push(vec![
            Arg::Text(key.0.clone()),
            Arg::Text(key.1.clone()),
            Arg::Text(key.2.clone()),
            Arg::Text(f.version.clone()),
            Arg::Text(f.severity.as_str().into()),
            Arg::OptText(f.score.map(|s| s.to_string())),
            Arg::OptText(f.fixed.clone()),
            Arg::Text(run_id.clone()),
            Arg::Text(started.clone()),
        ]);
        if f.severity >= st.config.suspend_at {
            new_by_fw
                .entry(key.0.clone())
                .or_default()
                .push(f.label.clone());
        }
    }
    let new_matches = rows.len() as i64;
    insert_many(
        tx,
        "matches",
        &[
            "firmware_id",
            "advisory_id",
            "component",
            "version",
            "severity",
            "score",
            "fixed",
            "first_run",
            "first_seen",
        ],
        rows,
    )
    .await?;
    let gone: Vec<&Key> = active
        .iter()
        .filter(|k| !current.contains_key(*k))
        .collect();
    let dropped = gone.len() as i64;
    for chunk in gone.chunks(60) {
        let p = crate::store::placeholder(tx);
        let mut sql = format!(
            "UPDATE matches SET dropped_run = {p}1, dropped_at = {p}2 FROM (VALUES {}",
            crate::store::values(p, chunk.len(), 3, 3)
        );
        sql.push_str(") AS v WHERE matches.firmware_id = v.column1 AND matches.advisory_id = v.column2 AND matches.component = v.column3");
        let mut q = sqlx::query(&sql)
            .persistent(false)
            .bind(&run_id)
            .bind(&started);
        for k in chunk {
            q = q.bind(k.0.clone()).bind(k.1.clone()).bind(k.2.clone());
        }
        q.execute(&mut **tx).await?;
    }
    let valid: Vec<(String, String)> =
        sqlx::query_as("SELECT id, firmware_id FROM certificates WHERE status = 'valid'")
            .fetch_all(&mut **tx)
            .await?;
    let mut suspend = Vec::new();
    for (cert, fw) in valid {
        if let Some(labels) = new_by_fw.get_mut(&fw) {
            labels.sort();
            suspend.push((
                cert,
                "suspended",
                format!("new advisories: {}", labels.join("; ")),
            ));
        }
    }
    let suspended = certify::transition_many(tx, &suspend, actor).await?.len() as i64;
    let expired = expire_in(tx, actor).await?;
    let r = Run {
        id: run_id,
        started_at: started,
        finished_at: util::now(),
        advisories: recs.len() as i64,
        firmware: firmware.len() as i64,
        new_matches,
        dropped,
        suspended,
        expired,
    };
    sqlx::query("INSERT INTO recheck_runs (id, started_at, finished_at, advisories, firmware, new_matches, dropped, suspended, expired) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)")
        .bind(&r.id)
        .bind(&r.started_at)
        .bind(&r.finished_at)
        .bind(r.advisories)
        .bind(r.firmware)
        .bind(r.new_matches)
        .bind(r.dropped)
        .bind(r.suspended)
        .bind(r.expired)
        .execute(&mut **tx)
        .await?;
    audit(
        tx,
        Audit {
            actor,
            action: "recheck.run",
            subject: &r.id,
            before: Value::Null,
            after: json!(r),
        },
    )
    .await?;
    Ok(r)
}

/// Certificates whose validity or support period has ended become `expired` (5.3-13).
async fn expire_in(tx: &mut Tx, actor: &str) -> ApiResult<i64> {
    let now = util::now();
    let today = util::today();
    let rows = sqlx::query(
        "SELECT c.id, c.valid_until, f.support_end FROM certificates c JOIN firmware f ON f.id = c.firmware_id \
         WHERE c.status IN ('valid', 'suspended') AND (c.valid_until <= $1 OR (f.support_end IS NOT NULL AND f.support_end < $2))",
    )
    .bind(&now)
    .bind(&today)
    .fetch_all(&mut **tx)
    .await?;
    let mut items = Vec::new();
    for r in rows {
        let id: String = r.try_get("id")?;
        let until: String = r.try_get("valid_until")?;
        let end: Option<String> = r.try_get("support_end")?;
        let reason = match end {
            Some(e) if e < today => format!("the support period ended on {e} (5.3-13)"),
            _ => format!("validity ended on {}", &until[..10]),
        };
        items.push((id, "expired", reason));
    }
    let n = certify::transition_many(tx, &items, actor).await?.len() as i64;
    Ok(n)
}

/// What changed since run `since` (exclusive), for the registry or one certificate's firmware.
pub async fn changes(
    st: &AppState,
    q: ChangesQuery,
    certificate: Option<&str>,
) -> ApiResult<Changes> {
    let pool = &st.store.pool;
    let since_at: Option<String> = match &q.since {
        Some(s) => {
            if !util::is_id(s) {
                return Err(Problem::invalid("`since`: a re-check run id"));
            }
            Some(
                sqlx::query_scalar("SELECT started_at FROM recheck_runs WHERE id = $1")
                    .bind(s)
                    .fetch_optional(pool)
                    .await?
                    .ok_or_else(|| Problem::not_found("no such re-check run"))?,
            )
        }
        None => None,
    };
    let run_rows = match &since_at {
        Some(t) => {
            sqlx::query("SELECT * FROM recheck_runs WHERE started_at > $1 ORDER BY started_at")
                .bind(t)
                .fetch_all(pool)
                .await?
        }
        None => {
            sqlx::query("SELECT * FROM recheck_runs ORDER BY started_at DESC LIMIT 1")
                .fetch_all(pool)
                .await?
        }
    };
    let mut runs = Vec::new();
    for r in &run_rows {
        runs.push(Run {
            id: r.try_get("id")?,
            started_at: r.try_get("started_at")?,
            finished_at: r.try_get("finished_at")?,
            advisories: r.try_get("advisories")?,
            firmware: r.try_get("firmware")?,
            new_matches: r.try_get("new_matches")?,
            dropped: r.try_get("dropped")?,
            suspended: r.try_get("suspended")?,
            expired: r.try_get("expired")?,
        });
    }
    let firmware: Option<String> = match certificate {
        Some(c) => Some(
            sqlx::query_scalar("SELECT firmware_id FROM certificates WHERE id = $1")
                .bind(c)
                .fetch_optional(pool)
                .await?
                .ok_or_else(|| Problem::not_found("no such certificate"))?,
        ),
        None => None,
    };
    let mut new = Vec::new();
    let mut dropped = Vec::new();
    for run in &runs {
        for (col, out) in [("first_run", &mut new), ("dropped_run", &mut dropped)] {
            let rows = sqlx::query(&format!(
                "SELECT m.*, f.sha256 FROM matches m JOIN firmware f ON f.id = m.firmware_id WHERE m.{col} = $1 AND ($2 IS NULL OR m.firmware_id = $2) ORDER BY m.firmware_id, m.advisory_id"
            ))
            .bind(&run.id)
            .bind(&firmware)
            .fetch_all(pool)
            .await?;
            for m in rows {
                out.push(MatchRow {
                    firmware_id: m.try_get("firmware_id")?,
                    image_sha256: m.try_get("sha256")?,
                    advisory: m.try_get("advisory_id")?,
                    component: m.try_get("component")?,
                    version: m.try_get("version")?,
                    severity: m.try_get("severity")?,
                    fixed: m.try_get("fixed")?,
                    first_seen: m.try_get("first_seen")?,
                    dropped_at: m.try_get("dropped_at")?,
                });
            }
        }
    }
    let from = since_at
        .clone()
        .or_else(|| runs.first().map(|r| r.started_at.clone()))
        .unwrap_or_default();
    let hist = sqlx::query(
        "SELECT h.certificate_id, h.status, h.reason, h.at FROM certificate_history h \
         WHERE h.at >= $1 AND h.seq > 1 AND ($2 IS NULL OR h.certificate_id = $2) ORDER BY h.at",
    )
    .bind(&from)
    .bind(certificate)
    .fetch_all(pool)
    .await?;
    let status_changes = hist
        .iter()
        .map(|h| {
            Ok(StatusEvent {
                certificate: h.try_get("certificate_id")?,
                status: h.try_get("status")?,
                reason: h.try_get("reason")?,
                at: h.try_get("at")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(Changes {
        since: q.since,
        runs,
        new,
        dropped,
        status_changes,
    })
}

pub async fn vex(st: &AppState, who: &Caller, v: VexStatement) -> ApiResult<Run> {
    who.require(&[Role::Maker, Role::Certifier, Role::Admin])?;
    const STATUS: [&str; 4] = ["not_affected", "affected", "fixed", "under_investigation"];
    if !STATUS.contains(&v.status.as_str()) {
        return Err(Problem::invalid(format!(
            "`status`: one of {}",
            STATUS.join(", ")
        )));
    }
    if v.status == "not_affected" && v.justification.trim().is_empty() {
        return Err(Problem::invalid(
            "`justification`: required for not_affected (OpenVEX)",
        ));
    }
    if !util::is_sha256(&v.firmware) {
        return Err(Problem::invalid("`firmware`: the image SHA-256"));
    }
    let row = sqlx::query("SELECT f.id, p.maker_id FROM firmware f JOIN products p ON p.id = f.product_id WHERE f.sha256 = $1")
        .bind(v.firmware.to_ascii_lowercase())
        .fetch_optional(&st.store.pool)
        .await?
        .ok_or_else(|| Problem::not_found("no such firmware"))?;
    let fw: String = row.try_get("id")?;
    let maker: String = row.try_get("maker_id")?;
    if !who.may_see_org(&maker) {
        return Err(Problem::not_found("no such firmware"));
    }
    let mut tx = st.store.write().await?;
    sqlx::query("DELETE FROM vex WHERE firmware_id = $1 AND advisory_id = $2 AND component = $3")
        .bind(&fw)
        .bind(&v.vulnerability)
        .bind(&v.component)
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO vex (firmware_id, advisory_id, component, status, justification, at) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(&fw)
        .bind(&v.vulnerability)
        .bind(&v.component)
        .bind(&v.status)
        .bind(&v.justification)
        .bind(util::now())
        .execute(&mut *tx)
        .await?;
    audit(&mut tx, Audit {
        actor: &who.actor(),
        action: "vex.statement",
        subject: &fw,
        before: Value::Null,
        after: json!({"vulnerability": v.vulnerability, "component": v.component, "status": v.status, "justification": v.justification}),
    })
    .await?;
    let r = run_in(st, &mut tx, &who.actor()).await?;
    tx.commit().await?;
    st.changed();
    Ok(r)
}
