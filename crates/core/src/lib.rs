//! The shared vocabulary of iotassure (DESIGN.md §2).
//!
//! Every layer speaks these types: the catalogue of provisions, the findings a check yields with
//! their evidence, the device-profile facts that decide the Annex B conditions, and the extracted
//! file tree the firmware checks read. The crate has no I/O beyond reading an extracted tree, so the
//! evidence sources (unpack, inspect, device, documents) depend on it and never on each other.

pub mod catalog;
pub mod facts;
pub mod finding;
pub mod ixit;
pub mod layout;
pub mod memory;
pub mod progress;
pub mod tree;

/// The file iotassure writes into every output folder, so that `--force` replaces only folders
/// iotassure wrote (a JSON object: `format` = "iotassure-output", `version`, `command`).
pub const OUTPUT_MARKER: &str = ".iotassure-output";

pub use catalog::{catalog, Catalog, Provision, Status};
pub use facts::{Fact, FactKey, FactOrigin, InferredFact};
pub use finding::{
    CheckRun, Component, Evidence, Finding, Location, Observations, Outcome, RunStatus, Severity,
    Source, TranscriptLine,
};
pub use layout::{Confidence, LayoutEntry, UnpackProblem, UnpackSummary};
pub use progress::{NoProgress, Progress};
pub use tree::{Entry, EntryKind, Rootfs, Tree};
