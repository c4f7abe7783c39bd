//! `--advisories PATH` (shared by `assess` and `probe`) and the one call that judges every
//! component of an assessment against the advisory database, after all evidence is gathered.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use iotassure_advisories::{Db, Options};
use iotassure_core::finding::{Observations, Source};

use crate::progress::Stderr;

#[derive(Args, Debug, Clone, Default)]
pub struct AdvisoryArgs {
    /// Extra advisories in OSV JSON (a file with one record or an array, or a folder of them),
    /// added to the built-in table; a record with the same id for the same component replaces
    /// the built-in one. Unusable records are listed in the report. Repeatable.
    #[arg(long = "advisories", value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

impl AdvisoryArgs {
    /// The built-in database plus every feed given. A feed that cannot be read is an error.
    pub fn load(&self, progress: &Stderr) -> Result<Db> {
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
        Ok(db)
    }
}

/// Judges every component in `obs` (whatever source found it) and adds the findings.
pub fn judge(db: &Db, obs: &mut Observations, default_source: Source) {
    let judged = iotassure_advisories::assess_with(
        db,
        &obs.components,
        &Options {
            default_source,
            ..Options::default()
        },
    );
    obs.extend(judged);
}
