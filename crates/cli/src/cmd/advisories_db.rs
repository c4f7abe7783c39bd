//! `iotassure advisories update --from PATH…` and `iotassure advisories status`: the local
//! advisory database that `assess --advisories-db` (and the default data-folder database) uses.
//! The user brings the feed files (cvelistV5 folders or its bulk zip, NVD 2.0 JSON, OSV files,
//! folders or ecosystem zips); nothing here reaches the network.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use iotassure_advisories::Store;

#[derive(Subcommand)]
pub enum Command {
    /// Import feed files into the advisory database (idempotent; newer records replace older
    /// ones by their dateUpdated / lastModified / modified; withdrawn ones are removed).
    Update {
        /// A feed file, folder or zip (CVE JSON 5, NVD CVE API 2.0, OSV). Repeatable.
        #[arg(long = "from", value_name = "PATH", required = true, num_args = 1..)]
        from: Vec<PathBuf>,
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

pub fn run(c: Command) -> Result<u8> {
    match c {
        Command::Update { from, db, json } => {
            let path = db.path()?;
            let mut store = Store::open(&path)?;
            let mut reports = Vec::new();
            for f in &from {
                let t = std::time::Instant::now();
                let r = store.update_from(f)?;
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
