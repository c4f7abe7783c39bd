//! The database: one pool over SQLite or PostgreSQL (sqlx `Any`), the migrations, writing
//! transactions and the hash-chained audit log.
//!
//! Every state change goes through [`Store::write`]: it opens a transaction whose first
//! statement locks the audit head (a row lock on PostgreSQL, the write lock on SQLite), so
//! appends to the chain are serialised across instances and the change and its audit entry
//! commit together or not at all.

use std::str::FromStr;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::Value;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, ConnectOptions, Row, Transaction};

use crate::util;

pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "registry",
        include_str!("../migrations/0001_registry.sql"),
    ),
    (2, "desk", include_str!("../migrations/0002_desk.sql")),
    (3, "web", include_str!("../migrations/0003_web.sql")),
    (
        4,
        "component_method",
        include_str!("../migrations/0004_component_method.sql"),
    ),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Store {
    pub pool: AnyPool,
    pub backend: Backend,
}

pub type Tx = Transaction<'static, Any>;

/// One audit entry before it is chained.
pub struct Audit<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub subject: &'a str,
    pub before: Value,
    pub after: Value,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ChainCheck {
    pub ok: bool,
    pub entries: i64,
    /// The first entry whose hash or link does not verify.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_bad: Option<i64>,
    pub detail: String,
    pub head: String,
}

impl Store {
    /// Opens `url` (`sqlite://PATH` or `postgres://…`) and applies the migrations.
    pub async fn open(url: &str) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            bail!("--db {url}: expected sqlite://PATH or postgres://USER@HOST/DB");
        };
        let opts = AnyConnectOptions::from_str(url)
            .with_context(|| format!("--db: cannot parse {url}"))?
            .disable_statement_logging();
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 8 } else { 16 })
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, meta| {
                if backend == Backend::Sqlite {
                    sqlite_pragmas(conn, meta)
                } else {
                    Box::pin(async { Ok(()) })
                }
            })
            .connect_with(opts)
            .await
            .with_context(|| format!("connecting to {}", redact(url)))?;
        let store = Store { pool, backend };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
        )
        .execute(&mut *conn)
        .await?;
        drop(conn);
        for (version, name, sql) in MIGRATIONS {
            let mut tx = self.pool.begin().await?;
            // Two instances starting at once: the second waits on the lock, then sees the row.
            if self.backend == Backend::Postgres {
                sqlx::raw_sql("LOCK TABLE schema_migrations IN EXCLUSIVE MODE")
                    .execute(&mut *tx)
                    .await?;
            }
            let done: Option<i64> =
                sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = $1")
                    .bind(*version)
                    .fetch_optional(&mut *tx)
                    .await?;
            if done.is_some() {
                tx.commit().await?;
                continue;
            }
            sqlx::raw_sql(sql)
                .execute(&mut *tx)
                .await
                .with_context(|| format!("migration {version} ({name})"))?;
            sqlx::query(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            )
            .bind(*version)
            .bind(*name)
            .bind(util::now())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// Begins a writing transaction, holding the audit-head lock from its first statement.
    pub async fn write(&self) -> Result<Tx, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE audit_head SET seq = seq WHERE id = 1")
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }

    /// The audit chain's length: it grows with every state change, so caches key on it.
    pub async fn generation(&self) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar("SELECT seq FROM audit_head WHERE id = 1")
            .fetch_one(&self.pool)
            .await
    }

    /// Recomputes the whole chain from the first entry.
    pub async fn verify_chain(&self) -> Result<ChainCheck> {
        let rows = sqlx::query(
            "SELECT seq, at, actor, action, subject, before_state, after_state, prev_hash, hash FROM audit_log ORDER BY seq",
        )
        .fetch_all(&self.pool)
        .await?;
        let head: (i64, String) = sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        let mut prev = GENESIS.to_string();
        let n = rows.len() as i64;
        for (expect_seq, r) in (1i64..).zip(rows) {
            let seq: i64 = r.try_get("seq")?;
            let e = Entry {
                seq,
                at: r.try_get("at")?,
                actor: r.try_get("actor")?,
                action: r.try_get("action")?,
                subject: r.try_get("subject")?,
                before: r.try_get("before_state")?,
                after: r.try_get("after_state")?,
            };
            let prev_hash: String = r.try_get("prev_hash")?;
            let hash: String = r.try_get("hash")?;
            let bad = |detail: String| ChainCheck {
                ok: false,
                entries: n,
                first_bad: Some(seq),
                detail,
                head: head.1.clone(),
            };
            if seq != expect_seq {
                return Ok(bad(format!(
                    "entry {expect_seq} is missing (next is {seq})"
                )));
            }
            if prev_hash != prev {
                return Ok(bad(format!(
                    "entry {seq} does not link to entry {}",
                    seq - 1
                )));
            }
            if e.hash(&prev) != hash {
                return Ok(bad(format!(
                    "entry {seq} ({} {}) was changed after it was written",
                    e.action, e.subject
                )));
            }
            prev = hash;
        }
        if head.0 != n || head.1 != prev {
            return Ok(ChainCheck {
                ok: false,
                entries: n,
                first_bad: Some(n + 1),
                detail: format!(
                    "the chain head says {} entries ending in {}, the log has {n} ending in {prev}: entries were removed",
                    head.0, head.1
                ),
                head: head.1,
            });
        }
        Ok(ChainCheck {
            ok: true,
            entries: n,
            first_bad: None,
            detail: format!("{n} entries, every hash and link verifies"),
            head: prev,
        })
    }
}

/// WAL: readers never block the writer. synchronous=FULL: a commit is on disk before the client
/// hears 2xx, so it survives kill -9 and power loss. busy_timeout: writers queue, not fail.
fn sqlite_pragmas<'c>(
    conn: &'c mut sqlx::AnyConnection,
    _meta: sqlx::pool::PoolConnectionMetadata,
) -> futures_util::future::BoxFuture<'c, Result<(), sqlx::Error>> {
    Box::pin(async move {
        use sqlx::Executor;
        conn.execute(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON;",
        )
        .await?;
        Ok(())
    })
}

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

struct Entry {
    seq: i64,
    at: String,
    actor: String,
    action: String,
    subject: String,
    before: String,
    after: String,
}

impl Entry {
    /// SHA-256 over the previous hash and the entry's fields, each length-prefixed so no two
    /// different entries share an encoding.
    fn hash(&self, prev: &str) -> String {
        let mut buf = Vec::new();
        for part in [
            prev,
            &self.seq.to_string(),
            &self.at,
            &self.actor,
            &self.action,
            &self.subject,
            &self.before,
            &self.after,
        ] {
            buf.extend_from_slice(part.len().to_string().as_bytes());
            buf.push(b':');
            buf.extend_from_slice(part.as_bytes());
            buf.push(b'\n');
        }
        util::sha256_hex(&buf)
    }
}

/// Appends an entry to the chain inside `tx` (which [`Store::write`] opened).
pub async fn audit(tx: &mut Tx, a: Audit<'_>) -> Result<i64, sqlx::Error> {
    audit_many(tx, vec![a]).await
}

/// Appends entries in order, chained one to the next, with one multi-row insert per chunk.
/// Returns the last sequence number.
pub async fn audit_many(tx: &mut Tx, entries: Vec<Audit<'_>>) -> Result<i64, sqlx::Error> {
    let (mut seq, mut prev): (i64, String) =
        sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(&mut **tx)
            .await?;
    if entries.is_empty() {
        return Ok(seq);
    }
    let at = util::now();
    let mut rows = Vec::with_capacity(entries.len());
    for a in entries {
        seq += 1;
        let e = Entry {
            seq,
            at: at.clone(),
            actor: a.actor.to_string(),
            action: a.action.to_string(),
            subject: a.subject.to_string(),
            before: a.before.to_string(),
            after: a.after.to_string(),
        };
        let hash = e.hash(&prev);
        rows.push(vec![
            Arg::Int(e.seq),
            Arg::Text(e.at),
            Arg::Text(e.actor),
            Arg::Text(e.action),
            Arg::Text(e.subject),
            Arg::Text(e.before),
            Arg::Text(e.after),
            Arg::Text(std::mem::replace(&mut prev, hash.clone())),
            Arg::Text(hash),
        ]);
    }
    insert_many(
        tx,
        "audit_log",
        &[
            "seq",
            "at",
            "actor",
            "action",
            "subject",
            "before_state",
            "after_state",
            "prev_hash",
            "hash",
        ],
        rows,
    )
    .await?;
    sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
        .bind(seq)
        .bind(&prev)
        .execute(&mut **tx)
        .await?;
    Ok(seq)
}

/// The numbered-parameter sigil for statements with many parameters: `?NNN` on SQLite, whose
/// parser looks `$NNN` names up one by one (quadratic in the count), `$NNN` on PostgreSQL.
pub fn placeholder(tx: &Tx) -> char {
    if (**tx).backend_name() == "SQLite" {
        '?'
    } else {
        '$'
    }
}

/// `(?1, ?2), (?3, ?4)` for `rows` × `cols` parameters numbered from `first`, with sigil `p`.
pub fn values(p: char, rows: usize, cols: usize, first: usize) -> String {
    let mut out = String::new();
    let mut n = first;
    for r in 0..rows {
        out.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..cols {
            if c > 0 {
                out.push_str(", ");
            }
            out.push_str(&format!("{p}{n}"));
            n += 1;
        }
        out.push(')');
    }
    out
}

/// A value for [`insert_many`].
#[derive(Debug, Clone)]
pub enum Arg {
    Text(String),
    OptText(Option<String>),
    Int(i64),
}

/// `INSERT INTO table (cols) VALUES (...), (...)`: one statement per few dozen rows instead of
/// one per row.
pub async fn insert_many(
    tx: &mut Tx,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<Arg>>,
) -> Result<(), sqlx::Error> {
    // Binding is quadratic in a statement's parameter count somewhere below sqlx's Any layer,
    // so statements stay small: ~200 parameters measured fastest (bench_recheck).
    const PARAMS_PER_STATEMENT: usize = 200;
    let per = (PARAMS_PER_STATEMENT / columns.len()).max(1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<Arg>> = rows.by_ref().take(per).collect();
        let p = placeholder(tx);
        let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
        sql.push_str(&values(p, chunk.len(), columns.len(), 1));
        let mut q = sqlx::query(&sql).persistent(false);
        for row in chunk {
            debug_assert_eq!(row.len(), columns.len());
            for a in row {
                q = match a {
                    Arg::Text(t) => q.bind(t),
                    Arg::OptText(t) => q.bind(t),
                    Arg::Int(i) => q.bind(i),
                };
            }
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db` for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let cred = &url[s + 3..at];
            match cred.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &cred[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}
