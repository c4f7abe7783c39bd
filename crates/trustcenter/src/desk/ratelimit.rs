//! The anonymous-report limit: fixed one-hour windows counted in the database, so several
//! instances on one PostgreSQL share them, and counted in the filing transaction, so a refused or
//! failed filing costs nothing.

use std::net::IpAddr;

use crate::problem::Problem;
use crate::store::Tx;
use crate::util;

/// Anonymous reports from one address per hour. A researcher with more to say asks for a token.
pub const PER_ADDRESS: i64 = 5;
/// Anonymous reports from everyone per hour: address rotation cannot flood the desk.
pub const OVERALL: i64 = 200;

/// The bucket of an address: IPv6 by /64, the block one subscriber usually holds.
fn bucket(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => format!("anon:{v4}"),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("anon:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// Counts one anonymous report against both limits; past either, a 429 with `Retry-After`.
pub async fn take_anonymous(tx: &mut Tx, peer: Option<IpAddr>) -> Result<(), Problem> {
    let now = util::now();
    // The window is the hour: `2026-12-04T05`.
    let window = now[..13].to_string();
    let mut buckets = vec![("anon:*".to_string(), OVERALL)];
    if let Some(ip) = peer {
        buckets.push((bucket(ip), PER_ADDRESS));
    }
    for (b, limit) in buckets {
        sqlx::query(
            "INSERT INTO rate_windows (bucket, window_start, count) VALUES ($1, $2, 1) \
             ON CONFLICT (bucket, window_start) DO UPDATE SET count = rate_windows.count + 1",
        )
        .bind(&b)
        .bind(&window)
        .execute(&mut **tx)
        .await?;
        let n: i64 = sqlx::query_scalar(
            "SELECT count FROM rate_windows WHERE bucket = $1 AND window_start = $2",
        )
        .bind(&b)
        .bind(&window)
        .fetch_one(&mut **tx)
        .await?;
        if n > limit {
            let minutes: i64 = now[14..16].parse().unwrap_or(0);
            let retry = (60 - minutes) * 60;
            let who = if b == "anon:*" {
                "from everyone"
            } else {
                "from your address"
            };
            return Err(Problem::new(
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "Too many requests",
                format!(
                    "at most {limit} anonymous reports an hour {who}; try again later, or ask the trust center for a researcher token"
                ),
            )
            .with(serde_json::json!({"retry_after": retry})));
        }
    }
    // Old windows are dropped as new ones open; one indexed delete per filing.
    sqlx::query("DELETE FROM rate_windows WHERE window_start < $1")
        .bind(&window)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
