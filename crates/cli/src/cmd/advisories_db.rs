//! `iotassure advisories update --from PATH…` and `iotassure advisories status`: the local
//! advisory database that `assess --advisories-db` (and the default data-folder database) uses.
//! The user brings the feed files (cvelistV5 folders or its bulk zip, NVD 2.0 JSON, OSV files,
//! folders or ecosystem zips), or points `--from` at a URL of their own mirror; an assessment
//! never reaches the network.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use iotassure_advisories::Store;

#[derive(Subcommand)]
pub enum Command {
    /// Import feed files into the advisory database (idempotent; newer records replace older
    /// ones by their dateUpdated / lastModified / modified; withdrawn ones are removed).
    Update {
        /// A feed file, folder or zip (CVE JSON 5, NVD CVE API 2.0, OSV), or the http(s) URL of one
        /// file on your own mirror (downloaded next to the database, then imported). Repeatable.
        #[arg(long = "from", value_name = "PATH|URL", required = true, num_args = 1..)]
        from: Vec<String>,
        #[command(flatten)]
        db: DbArg,
        /// Print the import reports as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Records per source, the newest record's date, the last update and the database's age.
    Status {
        #[command(flatten)]
        db: DbArg,
        /// Print as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
pub struct DbArg {
    /// The database file (default: $XDG_DATA_HOME/iotassure/advisories.db, else
    /// ~/.local/share/iotassure/advisories.db).
    #[arg(
        long = "advisories-db",
        value_name = "FILE",
        env = "IOTASSURE_ADVISORIES_DB"
    )]
    db: Option<PathBuf>,
}

impl DbArg {
    fn path(&self) -> Result<PathBuf> {
        self.db
            .clone()
            .or_else(iotassure_advisories::store::default_path)
            .context("no --advisories-db given, and neither XDG_DATA_HOME nor HOME is set")
    }
}

/// A downloaded feed is refused past this size (NVD's and cvelistV5's largest files are a few
/// hundred MiB).
const MAX_DOWNLOAD: u64 = 4 << 30;

/// Downloads one feed file from the user's mirror into a temporary file beside the database.
fn fetch(url: &str, db: &std::path::Path) -> Result<tempfile::NamedTempFile> {
    let dir = db
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(3600)))
        .build()
        .into();
    let mut resp = agent
        .get(url)
        .call()
        .with_context(|| format!("GET {url}"))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".feed-")
        .tempfile_in(dir)
        .with_context(|| format!("a temporary file in {}", dir.display()))?;
    let mut reader = resp.body_mut().with_config().limit(MAX_DOWNLOAD).reader();
    std::io::copy(&mut reader, tmp.as_file_mut())
        .with_context(|| format!("downloading {url} (at most {} MiB)", MAX_DOWNLOAD >> 20))?;
    Ok(tmp)
}

pub fn run(c: Command) -> Result<u8> {
    match c {
        Command::Update { from, db, json } => {
            let path = db.path()?;
            let mut store = Store::open(&path)?;
            let mut reports = Vec::new();
            for f in &from {
                let t = std::time::Instant::now();
                let download = if f.starts_with("http://") || f.starts_with("https://") {
                    Some(fetch(f, &path)?)
                } else {
                    None
                };
                let local = download
                    .as_ref()
                    .map(|d| d.path().to_path_buf())
                    .unwrap_or_else(|| PathBuf::from(f));
                let mut r = store.update_from(&local)?;
                if download.is_some() {
                    r.path = f.clone();
                }
                if !json {
                    println!(
                        "{}: {} records read in {:.1} s: {} added, {} updated, {} unchanged, {} withdrawn, {} documents not records",
                        r.path,
                        r.read,
                        t.elapsed().as_secs_f64(),
                        r.added,
                        r.updated,
                        r.unchanged,
                        r.withdrawn,
                        r.rejected.len()
                    );
                    for x in r.rejected.iter().take(5) {
                        println!("  not a record: {}: {}", x.file, x.reason);
                    }
                }
                reports.push(r);
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&reports)?);
            } else {
                println!("{}", store.snapshot()?.describe());
            }
            Ok(crate::EXIT_PASS)
        }
        Command::Status { db, json } => {
            let path = db.path()?;
            let store = Store::open_existing(&path)?;
            let snap = store.snapshot()?;
            let age = snap.age_days_now();
            if json {
                let mut v = serde_json::to_value(&snap)?;
                v["age_days"] = serde_json::json!(age);
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                println!("advisory database {}", snap.path);
                for s in &snap.sources {
                    println!(
                        "  {:<5} {:>8} records, newest {}",
                        s.source,
                        s.records,
                        s.newest.as_deref().unwrap_or("-")
                    );
                }
                println!(
                    "  last update {} ({})",
                    snap.updated_at.as_deref().unwrap_or("never"),
                    match age {
                        Some(d) => format!("{d} days ago"),
                        None => "age unknown".into(),
                    }
                );
                println!("  digest sha256:{}", snap.digest);
            }
            Ok(crate::EXIT_PASS)
        }
    }
}
