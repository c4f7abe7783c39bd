//! `--advisories PATH`, `--advisories-db FILE`, `--advisories-max-age DAYS` and `--kernel-config
//! FILE` (shared by `assess` and `probe`), and the one call that judges every component of an
//! assessment against the advisory knowledge, after all evidence is gathered: the curated table,
//! OSV files given on the command line, and the local feed database on top (no network).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use iotassure_advisories::{summary_notes_now, Db};
use iotassure_advisories::{KernelConfig, Matcher, Options, Snapshot, Store, Vex};
use iotassure_core::finding::{Observations, Source};

use crate::progress::Stderr;

#[derive(Args, Debug, Clone, Default)]
pub struct AdvisoryArgs {
    /// Extra advisories in OSV JSON (a file with one record or an array, or a folder of them),
    /// added to the built-in table; a record with the same id for the same component replaces
    /// the built-in one. Unusable records are listed in the report. Repeatable.
    #[arg(long = "advisories", value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// The advisory database built by `iotassure advisories update` (CVE JSON 5, NVD 2.0, OSV).
    /// Default: $XDG_DATA_HOME/iotassure/advisories.db (~/.local/share/…) when it exists.
    #[arg(
        long = "advisories-db",
        value_name = "FILE",
        env = "IOTASSURE_ADVISORIES_DB"
    )]
    pub db: Option<PathBuf>,
    /// Warn (on the console and in the report) when the advisory database is older than this.
    #[arg(long = "advisories-max-age", value_name = "DAYS", default_value_t = 30)]
    pub max_age: i64,
    /// The firmware kernel's build configuration (`.config`): a Linux CVE in a subsystem it does
    /// not build is set aside (and shown so); without it such CVEs are INCONCLUSIVE.
    #[arg(long = "kernel-config", value_name = "FILE")]
    pub kernel_config: Option<PathBuf>,
    /// The maker's VEX (OpenVEX or CycloneDX VEX). A statement applies to the vulnerability, the
    /// component (purl or CPE) and the product it names, never to a CVE id alone; `not_affected`
    /// sets a match aside and keeps it visible. Repeatable.
    #[arg(long = "vex", value_name = "FILE")]
    pub vex: Vec<PathBuf>,
    /// The assessed product as VEX documents name it (a purl such as
    /// `pkg:generic/acme/router@1.0`); statements scoped to a product apply only when it is given.
    #[arg(long = "vex-product", value_name = "ID")]
    pub vex_product: Option<String>,
}

/// Everything the advisory step needs, loaded before the assessment starts.
pub struct Advisories {
    pub db: Db,
    feed: Option<(Store, Snapshot)>,
    kernel: Option<KernelConfig>,
    max_age: i64,
    note: Option<String>,
    vex: Option<Vex>,
    product: Option<String>,
}

impl AdvisoryArgs {
    /// The built-in database plus every feed given, and the advisory database when there is one.
    /// A feed or database that cannot be read is an error.
    pub fn load(&self, progress: &Stderr) -> Result<Advisories> {
        let mut db = Db::builtin();
        for p in &self.paths {
            let n = db
                .load_osv(p)
                .with_context(|| format!("loading advisories from {}", p.display()))?;
            let r = db.feeds().last().expect("a feed was just loaded");
            progress.line(&format!(
                "advisories: {} from {} ({} records in {} files; {} parts not used{})",
                n,
                p.display(),
                r.records,
                r.files,
                r.skipped.len(),
                if r.skipped.is_empty() {
                    String::new()
                } else {
                    format!(", e.g. {} {}", r.skipped[0].id, r.skipped[0].reason)
                }
            ));
        }
        let (path, explicit) = match &self.db {
            Some(p) => (Some(p.clone()), true),
            None => (iotassure_advisories::store::default_path(), false),
        };
        let mut feed = None;
        let mut note = None;
        match path {
            Some(p) if explicit || p.is_file() => {
                let store = Store::open_existing(&p)?;
                let snap = store.snapshot()?;
                progress.line(&format!("advisories: {}", snap.describe()));
                if let Some(d) = snap.age_days_now().filter(|d| *d > self.max_age) {
                    progress.line(&format!(
                        "warning: the advisory database is {d} days old (more than {}); run `iotassure advisories update`",
                        self.max_age
                    ));
                }
                feed = Some((store, snap));
            }
            Some(p) => {
                note = Some(format!(
                    "No advisory database ({} does not exist): only the curated table was used. Build one with `iotassure advisories update --from FEED…`.",
                    p.display()
                ))
            }
            None => note = Some("No advisory database given and no data folder known: only the curated table was used.".into()),
        }
        let kernel = match &self.kernel_config {
            Some(p) => Some(KernelConfig::parse(
                &std::fs::read_to_string(p)
                    .with_context(|| format!("reading the kernel config {}", p.display()))?,
            )),
            None => None,
        };
        let vex = if self.vex.is_empty() {
            None
        } else {
            let mut v = Vex::default();
            for p in &self.vex {
                let n = v.load(p)?;
                progress.line(&format!(
                    "advisories: {n} VEX statements from {}",
                    p.display()
                ));
            }
            Some(v)
        };
        Ok(Advisories {
            db,
            feed,
            kernel,
            max_age: self.max_age,
            note,
            vex,
            product: self.vex_product.clone(),
        })
    }
}

/// Judges every component in `obs` (whatever source found it) and adds the findings. Returns the
/// assessment's own VEX (CycloneDX 1.6 `vulnerabilities`) for `vex.cdx.json`.
pub fn judge(a: &Advisories, obs: &mut Observations, default_source: Source) -> serde_json::Value {
    let mut notes: Vec<String> = a.note.iter().cloned().collect();
    let mut owned = None;
    if let Some((store, snap)) = &a.feed {
        let matcher = Matcher {
            store,
            db: &a.db,
            kernel_config: a.kernel.as_ref(),
        };
        match matcher.match_all(&obs.components) {
            Ok(r) => {
                let mut db = a.db.clone();
                db.add_feed_hits(&r);
                notes.extend(summary_notes_now(snap, &r, a.max_age));
                owned = Some(db);
            }
            Err(e) => notes.push(format!(
                "The advisory database could not be read: {e}; only the curated table was used."
            )),
        }
    }
    let opts = Options {
        default_source,
        notes,
        vex: a.vex.clone(),
        product: a.product.clone(),
        kernel_config: a.kernel.clone(),
        ..Options::default()
    };
    let db = owned.as_ref().unwrap_or(&a.db);
    let judged = iotassure_advisories::assess_with(db, &obs.components, &opts);
    let vex = iotassure_advisories::cyclonedx_vex(db, &obs.components, &opts);
    obs.extend(judged);
    vex
}
