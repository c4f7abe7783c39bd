//! Static inspection: the extracted tree → findings, each tied to EN 303 645 provisions with
//! evidence (path with provenance chain, line or offset, excerpt).
//!
//! Checks are registered in [`checks::CHECKS`]. Each one records that it ran (and over how many
//! items), so the verdict engine can tell "looked and found nothing" from "could not look".

pub mod checks;
pub mod crack;
pub mod facts;
pub mod text;

use std::time::Duration;

use iotassure_core::finding::Observations;
use iotassure_core::progress::Progress;
use iotassure_core::tree::{RootfsView, Tree};

pub use crack::Wordlist;

#[derive(Debug, Clone)]
pub struct Options {
    /// Candidate passwords for cracking (built-in list plus `--creds` files).
    pub wordlist: Wordlist,
    /// Wall time for cracking all hashes of an image.
    pub crack_budget: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            wordlist: Wordlist::builtin(),
            crack_budget: Duration::from_secs(20),
        }
    }
}

/// What a check sees.
pub struct Ctx<'a> {
    pub tree: &'a Tree,
    pub roots: Vec<RootfsView<'a>>,
    pub opts: &'a Options,
}

pub fn inspect(tree: &Tree, opts: &Options, progress: &dyn Progress) -> Observations {
    let ctx = Ctx {
        tree,
        roots: tree.rootfs_views(),
        opts,
    };
    let mut obs = Observations::default();
    progress.stage("inspecting");
    for check in checks::CHECKS {
        progress.note(check.id);
        (check.run)(&ctx, &mut obs);
    }
    facts::infer(&ctx, &mut obs);
    obs
}
