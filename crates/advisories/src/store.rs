//! The local advisory database: one SQLite file holding every imported feed record and its
//! affected products, indexed by CPE vendor:product, by CNA vendor/product words and by purl
//! type/name, so matching a component is a few index probes whatever the database's size.
//!
//! Imports are idempotent and incremental: a record is keyed on (source, id) and replaced only
//! when the feed's date (`dateUpdated`, `lastModified`, `modified`) is newer than the stored one;
//! a withdrawn or rejected record is removed. Nothing here touches the network: the user brings
//! the feed files.

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::feeds::{self, AffectedRow, Bounds, FeedRecord, FeedSource, Rejected, Target};
use crate::Error;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS record (
    rid INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    id TEXT NOT NULL,
    modified TEXT NOT NULL,
    published TEXT,
    aliases TEXT NOT NULL,
    summary TEXT NOT NULL,
    cvss REAL,
    severity TEXT,
    url TEXT NOT NULL,
    UNIQUE (source, id)
);
CREATE TABLE IF NOT EXISTS affected (
    rid INTEGER NOT NULL REFERENCES record(rid) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    part TEXT,
    k1 TEXT NOT NULL,
    k2 TEXT NOT NULL,
    k3 TEXT,
    exact TEXT,
    v_start TEXT,
    start_incl INTEGER NOT NULL,
    v_end TEXT,
    end_incl INTEGER NOT NULL,
    place TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS affected_key ON affected (kind, k1, k2);
CREATE INDEX IF NOT EXISTS affected_rid ON affected (rid);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
";

/// The database file.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// What one `update` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub path: String,
    /// Records read from the feed.
    pub read: usize,
    pub added: usize,
    pub updated: usize,
    /// Already stored with the same or a newer date.
    pub unchanged: usize,
    /// Withdrawn or rejected records removed (or not added).
    pub withdrawn: usize,
    /// Documents that were not records, with the reason.
    pub rejected: Vec<Rejected>,
}

/// Per-source counts and dates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct SourceStatus {
    pub source: String,
    pub records: u64,
    /// The newest record's date (`YYYY-MM-DDTHH:MM:SS`).
    pub newest: Option<String>,
}

/// What the database holds, and a digest of it: a report records this so that a re-check can
/// say which records changed since.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Snapshot {
    pub path: String,
    pub sources: Vec<SourceStatus>,
    /// When the last import ran (UTC, `YYYY-MM-DDTHH:MM:SS`).
    pub updated_at: Option<String>,
    /// SHA-256 over every (source, id, modified), in order.
    pub digest: String,
}

impl Snapshot {
    /// Whole days since the last import (or since the newest record, for a database that never
    /// recorded one).
    pub fn age_days(&self, now: time::OffsetDateTime) -> Option<i64> {
        let newest = self.sources.iter().filter_map(|s| s.newest.clone()).max();
        let at = self.updated_at.clone().or(newest)?;
        let fmt =
            time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
        let t = time::PrimitiveDateTime::parse(&at, &fmt).ok()?.assume_utc();
        Some((now - t).whole_days())
    }

    /// [`Snapshot::age_days`] as of now.
    pub fn age_days_now(&self) -> Option<i64> {
        self.age_days(time::OffsetDateTime::now_utc())
    }

    pub fn records(&self) -> u64 {
        self.sources.iter().map(|s| s.records).sum()
    }

    /// One line for reports and the console.
    pub fn describe(&self) -> String {
        let per: Vec<String> = self
            .sources
            .iter()
            .map(|s| {
                format!(
                    "{} {} records (newest {})",
                    s.source,
                    s.records,
                    s.newest.as_deref().unwrap_or("-")
                )
            })
            .collect();
        format!(
            "advisory database {}: {}; last update {}; digest sha256:{}",
            self.path,
            if per.is_empty() {
                "empty".to_string()
            } else {
                per.join(", ")
            },
            self.updated_at.as_deref().unwrap_or("never"),
            self.digest
        )
    }
}

/// A stored affected row with its record, as the matcher sees it.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub source: FeedSource,
    pub id: String,
    pub modified: String,
    pub aliases: Vec<String>,
    pub summary: String,
    pub cvss: Option<f32>,
    pub severity: Option<String>,
    pub url: String,
    pub target: Target,
    pub bounds: Bounds,
    pub place: String,
}

fn sql(path: &Path) -> impl Fn(rusqlite::Error) -> Error + '_ {
    move |e| Error::Feed {
        path: path.display().to_string(),
        message: format!("advisory database: {e}"),
    }
}

impl Store {
    /// Opens (creating it and its folder when missing) the database at `path`.
    pub fn open(path: &Path) -> Result<Store, Error> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::Io {
                path: dir.display().to_string(),
                source: e,
            })?;
        }
        let conn = Connection::open(path).map_err(sql(path))?;
        conn.execute_batch(
            "PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;",
        )
        .map_err(sql(path))?;
        conn.execute_batch(SCHEMA).map_err(sql(path))?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// Opens an existing database read-only use; a missing file is an error naming it (an
    /// assessment must not silently run on an empty database).
    pub fn open_existing(path: &Path) -> Result<Store, Error> {
        if !path.is_file() {
            return Err(Error::Feed {
                path: path.display().to_string(),
                message: "no advisory database here; create it with `iotassure advisories update --from FEED…`".into(),
            });
        }
        Store::open(path)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Imports every record under `feed` (file, folder or zip).
    pub fn update_from(&mut self, feed: &Path) -> Result<ImportReport, Error> {
        let path = self.path.clone();
        let mut report = ImportReport {
            path: feed.display().to_string(),
            ..Default::default()
        };
        let tx = self.conn.transaction().map_err(sql(&path))?;
        {
            let mut sink = |r: FeedRecord| -> Result<(), Error> {
                report.read += 1;
                import_one(&tx, &r, &mut report).map_err(sql(&path))
            };
            report.rejected = feeds::read_path(feed, &mut sink)?;
        }
        let now = time::OffsetDateTime::now_utc();
        let fmt =
            time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
        let stamp = now.format(&fmt).unwrap_or_default();
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('updated_at', ?1) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![stamp],
        )
        .map_err(sql(&path))?;
        let digest = digest_of(&tx).map_err(sql(&path))?;
        let sources =
            serde_json::to_string(&sources_of(&tx).map_err(sql(&path))?).unwrap_or_default();
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('sources', ?1) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![sources],
        )
        .map_err(sql(&path))?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('digest', ?1) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![digest],
        )
        .map_err(sql(&path))?;
        tx.commit().map_err(sql(&path))?;
        Ok(report)
    }

    /// Records per source, newest dates, last update and the digest.
    pub fn snapshot(&self) -> Result<Snapshot, Error> {
        let e = sql(&self.path);
        // Counted once per update, like the digest: an assessment only reads them.
        let stored: Option<String> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'sources'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(&e)?;
        let sources = match stored.and_then(|j| serde_json::from_str(&j).ok()) {
            Some(v) => v,
            None => sources_of(&self.conn).map_err(&e)?,
        };
        let updated_at = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'updated_at'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(&e)?;
        // Computed once per update (a full scan of 250,000 rows takes most of a second), so an
        // assessment only reads it.
        let stored: Option<String> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'digest'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(&e)?;
        let digest = match stored {
            Some(d) => d,
            None => digest_of(&self.conn).map_err(&e)?,
        };
        Ok(Snapshot {
            path: self.path.display().to_string(),
            sources,
            updated_at,
            digest,
        })
    }

    /// Affected rows naming CPE `vendor:product` (any part).
    pub fn by_cpe(&self, vendor: &str, product: &str) -> Result<Vec<Candidate>, Error> {
        self.candidates("cpe", vendor, product)
    }

    /// Affected rows whose CNA named `vendor` / `product` (lower case).
    pub fn by_name(&self, vendor: &str, product: &str) -> Result<Vec<Candidate>, Error> {
        self.candidates("named", vendor, product)
    }

    /// Affected rows naming purl type `ptype` and package `name` (any namespace; the matcher
    /// compares it).
    pub fn by_purl(&self, ptype: &str, name: &str) -> Result<Vec<Candidate>, Error> {
        self.candidates("purl", ptype, name)
    }

    fn candidates(&self, kind: &str, k1: &str, k2: &str) -> Result<Vec<Candidate>, Error> {
        let e = sql(&self.path);
        let mut st = self
            .conn
            .prepare_cached(
                "SELECT r.source, r.id, r.modified, r.aliases, r.summary, r.cvss, r.severity, r.url,
                        a.part, a.k3, a.exact, a.v_start, a.start_incl, a.v_end, a.end_incl, a.place
                 FROM affected a JOIN record r ON r.rid = a.rid
                 WHERE a.kind = ?1 AND a.k1 = ?2 AND a.k2 = ?3
                 ORDER BY r.id, r.source, a.place",
            )
            .map_err(&e)?;
        let rows = st
            .query_map(params![kind, k1, k2], |r| {
                let source: String = r.get(0)?;
                let part: Option<String> = r.get(8)?;
                let k3: Option<String> = r.get(9)?;
                let target = match kind {
                    "cpe" => Target::Cpe {
                        part: part.and_then(|p| p.chars().next()).unwrap_or('a'),
                        vendor: k1.to_string(),
                        product: k2.to_string(),
                    },
                    "named" => Target::Named {
                        vendor: k1.to_string(),
                        product: k2.to_string(),
                    },
                    _ => {
                        let k3 = k3.unwrap_or_default();
                        let mut it = k3.split('\u{1f}').map(str::to_string);
                        let mut next = || it.next().unwrap_or_default();
                        let (namespace, distro, ecosystem) = (next(), next(), next());
                        Target::Purl {
                            ptype: k1.to_string(),
                            namespace,
                            name: k2.to_string(),
                            distro,
                            ecosystem,
                        }
                    }
                };
                let aliases: String = r.get(3)?;
                Ok(Candidate {
                    source: FeedSource::parse(&source).unwrap_or(FeedSource::Osv),
                    id: r.get(1)?,
                    modified: r.get(2)?,
                    aliases: aliases
                        .split(' ')
                        .filter(|s| !s.is_empty())
                        .map(str::to_string)
                        .collect(),
                    summary: r.get(4)?,
                    cvss: r.get::<_, Option<f64>>(5)?.map(|x| x as f32),
                    severity: r.get(6)?,
                    url: r.get(7)?,
                    target,
                    bounds: Bounds {
                        exact: r.get(10)?,
                        start: r.get(11)?,
                        start_incl: r.get::<_, i64>(12)? != 0,
                        end: r.get(13)?,
                        end_incl: r.get::<_, i64>(14)? != 0,
                    },
                    place: r.get(15)?,
                })
            })
            .map_err(&e)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(&e)
    }
}

/// Records and newest date per source.
fn sources_of(conn: &Connection) -> rusqlite::Result<Vec<SourceStatus>> {
    let mut st = conn.prepare(
        "SELECT source, COUNT(*), MAX(modified) FROM record GROUP BY source ORDER BY source",
    )?;
    let rows = st.query_map([], |r| {
        Ok(SourceStatus {
            source: r.get(0)?,
            records: r.get::<_, i64>(1)? as u64,
            newest: r.get(2)?,
        })
    })?;
    rows.collect()
}

/// SHA-256 over every (source, id, modified), in order.
fn digest_of(conn: &Connection) -> rusqlite::Result<String> {
    let mut h = Sha256::new();
    let mut st = conn.prepare("SELECT source, id, modified FROM record ORDER BY source, id")?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        for i in 0..3 {
            h.update(r.get_ref(i)?.as_str().unwrap_or("").as_bytes());
            h.update([0]);
        }
    }
    Ok(hex::encode(h.finalize()))
}

fn import_one(
    tx: &rusqlite::Transaction<'_>,
    r: &FeedRecord,
    report: &mut ImportReport,
) -> rusqlite::Result<()> {
    let src = r.source.as_str();
    let existing: Option<(i64, String)> = tx
        .prepare_cached("SELECT rid, modified FROM record WHERE source = ?1 AND id = ?2")?
        .query_row(params![src, r.id], |x| Ok((x.get(0)?, x.get(1)?)))
        .optional()?;
    if r.withdrawn {
        if let Some((rid, _)) = existing {
            tx.prepare_cached("DELETE FROM record WHERE rid = ?1")?
                .execute(params![rid])?;
        }
        report.withdrawn += 1;
        return Ok(());
    }
    if let Some((rid, modified)) = &existing {
        if modified.as_str() >= r.modified.as_str() {
            report.unchanged += 1;
            return Ok(());
        }
        tx.prepare_cached("DELETE FROM record WHERE rid = ?1")?
            .execute(params![rid])?;
        report.updated += 1;
    } else {
        report.added += 1;
    }
    tx.prepare_cached(
        "INSERT INTO record (source, id, modified, published, aliases, summary, cvss, severity, url)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        src,
        r.id,
        r.modified,
        r.published,
        r.aliases.join(" "),
        r.summary,
        r.cvss.map(f64::from),
        r.severity.map(|s| s.as_str()),
        r.url
    ])?;
    let rid = tx.last_insert_rowid();
    let mut ins = tx.prepare_cached(
        "INSERT INTO affected (rid, kind, part, k1, k2, k3, exact, v_start, start_incl, v_end, end_incl, place)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?;
    for AffectedRow {
        target,
        bounds: b,
        place,
    } in &r.affected
    {
        let (kind, part, k1, k2, k3) = match target {
            Target::Cpe {
                part,
                vendor,
                product,
            } => (
                "cpe",
                Some(part.to_string()),
                vendor.as_str(),
                product.as_str(),
                None,
            ),
            Target::Named { vendor, product } => {
                ("named", None, vendor.as_str(), product.as_str(), None)
            }
            Target::Purl {
                ptype,
                namespace,
                name,
                distro,
                ecosystem,
            } => (
                "purl",
                None,
                ptype.as_str(),
                name.as_str(),
                Some(format!("{namespace}\u{1f}{distro}\u{1f}{ecosystem}")),
            ),
        };
        ins.execute(params![
            rid,
            kind,
            part,
            k1,
            k2,
            k3,
            b.exact,
            b.start,
            b.start_incl,
            b.end,
            b.end_incl,
            place
        ])?;
    }
    Ok(())
}

/// The default database: `$XDG_DATA_HOME/iotassure/advisories.db`, else
/// `$HOME/.local/share/iotassure/advisories.db`.
pub fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".local/share"))
        })?;
    Some(base.join("iotassure").join("advisories.db"))
}
