//! What the unpack engine reports about an image: its layout (chunks at offsets) and how the
//! extraction went. Shared here so reports can carry it without depending on the engine.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// Magic matched but little of the header could be validated.
    Low,
    /// Header fields are consistent.
    Medium,
    /// Header checksum verified or the payload decoded.
    High,
}

/// One identified region of an image or of a blob extracted from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LayoutEntry {
    /// Provenance of the blob this region is in (`image` for the input itself).
    pub parent: String,
    pub offset: u64,
    pub size: u64,
    /// Format id from the registry (`squashfs-4.0`, `lzma`, `tplink-v1`), or `unknown`.
    pub format: String,
    /// binwalk-style description of the header fields.
    pub description: String,
    pub confidence: Confidence,
    /// Nesting depth (0 for regions of the input itself).
    pub depth: u32,
    /// Where its contents went in the tree, if extracted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extracted_to: Option<String>,
    /// Shannon entropy in bits per byte, reported for unknown regions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entropy: Option<f64>,
    /// Machine-readable header facts (snake_case keys): an ESP image's `entry_point`,
    /// `segments`, `sha256`, `secure_boot_v2_signature`; a kernel's `linux_version`; a FIT
    /// image's `signatures`. The description says the same for people.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub facts: std::collections::BTreeMap<String, serde_json::Value>,
}

/// A problem met while unpacking; extraction went on with the rest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UnpackProblem {
    /// Provenance of the blob (`image`, `image @0x200 lzma`).
    pub parent: String,
    pub offset: u64,
    pub format: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct UnpackSummary {
    /// The input as given.
    pub input: String,
    pub sha256: String,
    pub size: u64,
    /// `directory`, or the format of the outermost container.
    pub kind: String,
    pub layout: Vec<LayoutEntry>,
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    pub special: u64,
    pub bytes_written: u64,
    /// True when any chunk failed or a limit was hit: the tree is incomplete.
    pub partial: bool,
    pub problems: Vec<UnpackProblem>,
    /// Limits that were reached, each with its message.
    pub limits_hit: Vec<String>,
}
