//! Notices to organisations' webhooks. A notice is written to the outbox in the same transaction
//! as the change it announces, so it is never lost and never sent for a change that rolled back;
//! a delivery loop posts it, signed with the service's key, and retries with back-off.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use sqlx::Row;

use crate::server::AppState;
use crate::store::Tx;
use crate::util;

const MAX_ATTEMPTS: i64 = 8;
const BATCH: i64 = 50;

/// Queues a notice for `org` (dropped at delivery time if the organisation has no webhook).
pub async fn enqueue(tx: &mut Tx, org: &str, event: &str, data: Value) -> Result<(), sqlx::Error> {
    let id = util::new_id();
    let now = util::now();
    let body = json!({"id": id, "event": event, "at": now, "data": data}).to_string();
    sqlx::query("INSERT INTO outbox (id, org_id, event, body, created_at, attempts, next_attempt, delivered_at, last_error) VALUES ($1, $2, $3, $4, $5, 0, $5, NULL, NULL)")
        .bind(&id)
        .bind(org)
        .bind(event)
        .bind(&body)
        .bind(&now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Queues many notices with multi-row inserts: (organisation, event, data).
pub async fn enqueue_many(
    tx: &mut Tx,
    notices: Vec<(String, String, Value)>,
) -> Result<(), sqlx::Error> {
    use crate::store::{insert_many, Arg};
    let now = util::now();
    let rows = notices
        .into_iter()
        .map(|(org, event, data)| {
            let id = util::new_id();
            let body = json!({"id": id, "event": event, "at": now, "data": data}).to_string();
            vec![
                Arg::Text(id),
                Arg::Text(org),
                Arg::Text(event),
                Arg::Text(body),
                Arg::Text(now.clone()),
                Arg::Int(0),
                Arg::Text(now.clone()),
            ]
        })
        .collect();
    insert_many(
        tx,
        "outbox",
        &[
            "id",
            "org_id",
            "event",
            "body",
            "created_at",
            "attempts",
            "next_attempt",
        ],
        rows,
    )
    .await
}

/// Runs until the process ends: delivers due notices every `every`.
pub async fn run(state: Arc<AppState>, every: Duration) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = state.outbox_wake.notified() => {}
        }
        if let Err(e) = deliver_due(&state).await {
            eprintln!("trust center: webhook delivery: {e:#}");
        }
    }
}

/// Delivers the notices that are due; returns how many were delivered.
pub async fn deliver_due(state: &AppState) -> anyhow::Result<usize> {
    let now = util::now();
    let rows = sqlx::query(
        "SELECT x.id, x.body, x.attempts, x.next_attempt, o.webhook_url FROM outbox x JOIN organisations o ON o.id = x.org_id \
         WHERE x.delivered_at IS NULL AND x.attempts < $1 AND x.next_attempt <= $2 ORDER BY x.created_at LIMIT $3",
    )
    .bind(MAX_ATTEMPTS)
    .bind(&now)
    .bind(BATCH)
    .fetch_all(&state.store.pool)
    .await?;
    let mut delivered = 0;
    for r in rows {
        let id: String = r.try_get("id")?;
        let body: String = r.try_get("body")?;
        let attempts: i64 = r.try_get("attempts")?;
        let due: String = r.try_get("next_attempt")?;
        let url: Option<String> = r.try_get("webhook_url")?;
        // Claim it: only the instance whose update matches the old due time sends it.
        let lease = util::stamp(time::OffsetDateTime::now_utc() + time::Duration::seconds(30));
        let claimed = sqlx::query("UPDATE outbox SET next_attempt = $1 WHERE id = $2 AND next_attempt = $3 AND delivered_at IS NULL")
            .bind(&lease)
            .bind(&id)
            .bind(&due)
            .execute(&state.store.pool)
            .await?
            .rows_affected();
        if claimed != 1 {
            continue;
        }
        let Some(url) = url else {
            sqlx::query("UPDATE outbox SET delivered_at = $1, last_error = $2 WHERE id = $3")
                .bind(util::now())
                .bind("no webhook registered; kept for the record")
                .bind(&id)
                .execute(&state.store.pool)
                .await?;
            continue;
        };
        let signature = state.keys.sign_detached(body.as_bytes());
        let b = body.clone();
        let sent = tokio::task::spawn_blocking(move || post(&url, &b, &signature)).await?;
        match sent {
            Ok(()) => {
                delivered += 1;
                sqlx::query("UPDATE outbox SET delivered_at = $1, attempts = $2, last_error = NULL WHERE id = $3")
                    .bind(util::now())
                    .bind(attempts + 1)
                    .bind(&id)
                    .execute(&state.store.pool)
                    .await?;
            }
            Err(e) => {
                let backoff = 2i64.pow((attempts as u32).min(10));
                let next =
                    util::stamp(time::OffsetDateTime::now_utc() + time::Duration::seconds(backoff));
                sqlx::query("UPDATE outbox SET attempts = $1, next_attempt = $2, last_error = $3 WHERE id = $4")
                    .bind(attempts + 1)
                    .bind(&next)
                    .bind(e.chars().take(500).collect::<String>())
                    .bind(&id)
                    .execute(&state.store.pool)
                    .await?;
            }
        }
    }
    Ok(delivered)
}

fn post(url: &str, body: &str, signature: &str) -> Result<(), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(5)))
        .max_redirects(0)
        .http_status_as_error(false)
        .build()
        .into();
    let resp = agent
        .post(url)
        .header("Content-Type", "application/json")
        .header("X-Iotassure-Signature", signature)
        .send(body)
        .map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    if (200..300).contains(&status) {
        Ok(())
    } else {
        Err(format!("HTTP {status}"))
    }
}
