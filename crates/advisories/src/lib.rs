//! The advisory knowledge base of iotassure: which software components exist (names, aliases,
//! purl, CPE, role in the device), which release branches are end of life, and which published
//! vulnerabilities affect which versions. [`assess`] applies it once to every component an
//! assessment found, whatever evidence source found it (firmware SBOM, live-device banners), so
//! "known vulnerabilities in X" and "X is end of life" are decided in one place.
//!
//! The built-in tables are `data/*.yaml`, compiled in and validated by tests. OSV feeds
//! (<https://ossf.github.io/osv-schema/>) add advisories at run time ([`Db::load_osv`]).
//! `docs/advisories.md` describes the data model, sources, check ids and limits.
//!
//! The crate depends only on `iotassure-core`: it is knowledge, like the catalogue, so evidence
//! sources (inspect) may use it to name components consistently.

pub mod cvss;
mod db;
mod feed_pass;
pub mod feeds;
pub mod matching;
pub mod model;
mod osv;
mod pass;
pub mod store;
pub mod version;
pub mod vex;
mod vex_out;

pub use db::{
    builtin, today, Corrections, CpeAlias, Db, Eol, FeedReport, Hit, Ignore, Match, Skipped,
    ADVISORY_FILES,
};
pub use feed_pass::{summary_notes, summary_notes_now};
pub use matching::{FeedHit, KernelConfig, MatchResult, Matcher, SetAside};
pub use model::{Advisory, ComponentInfo, Role};
pub use pass::{assess, assess_with, Options};
pub use store::{ImportReport, Snapshot, Store};
pub use version::{Scheme, Version, VersionError};
pub use vex::{Vex, VexState, VexStatement};
pub use vex_out::cyclonedx_vex;

/// Errors loading advisory data.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A built-in table is invalid (caught by the crate's tests).
    #[error("advisory data {file}: {message}")]
    Data { file: String, message: String },
    /// A feed could not be read.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A feed file is not OSV JSON, or a record in it is malformed.
    #[error("{path}: {message}")]
    Feed { path: String, message: String },
}
