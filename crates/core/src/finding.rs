//! Findings: what a check saw, which provisions it bears on, and the evidence a person can check.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where evidence came from (DESIGN.md §2 "evidence source").
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The firmware image, unpacked and inspected statically.
    Firmware,
    /// The live device, probed over the network.
    Device,
    /// The maker's published documents.
    Documents,
    /// The maker's conformance statement (table B.1) and declared profile.
    Statement,
    /// The firmware's own services run under emulation (QEMU user mode) and probed: live
    /// evidence, but not from the real device.
    Emulation,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Firmware => "firmware",
            Source::Device => "device",
            Source::Documents => "documents",
            Source::Statement => "statement",
            Source::Emulation => "emulation",
        }
    }
}

/// What a finding says about the provisions it names.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The evidence shows the provision violated.
    Fail,
    /// The evidence positively shows the provision met (not merely "nothing found").
    Pass,
    /// The check could not decide; `detail` says why.
    Inconclusive,
    /// An observation that informs other verdicts or facts but decides nothing alone.
    Info,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// One line of a network transcript: what was sent (`>`) or received (`<`), trimmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TranscriptLine {
    /// `"sent"` or `"received"` (or `"note"` for the prober's own remarks).
    pub dir: String,
    pub data: String,
}

/// A precise place a person can go and look.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Location {
    /// A file in the extracted tree.
    File {
        /// Path inside the root filesystem, e.g. `/etc/shadow`.
        path: String,
        /// Provenance chain, e.g. `image @0x117790 squashfs-4.0-xz → /etc/shadow`.
        provenance: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        line: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        offset: Option<u64>,
    },
    /// A byte range of the image itself (headers, signature blocks, raw strings).
    Image {
        offset: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        length: Option<u64>,
        /// Provenance of the blob the offset is in (`image` for the input itself).
        provenance: String,
    },
    /// A live network exchange.
    Network {
        host: String,
        port: u16,
        protocol: String,
        #[serde(default)]
        transcript: Vec<TranscriptLine>,
    },
    /// A published document (file or URL).
    Document {
        source: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        line: Option<u32>,
    },
    /// The maker's conformance statement or declared profile.
    Statement {
        file: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        line: Option<u32>,
    },
}

impl Location {
    /// A one-line citation, as printed in reports.
    pub fn cite(&self) -> String {
        match self {
            Location::File {
                provenance,
                line,
                offset,
                ..
            } => {
                let mut s = provenance.clone();
                if let Some(l) = line {
                    s.push_str(&format!(":{l}"));
                }
                if let Some(o) = offset {
                    s.push_str(&format!(" @0x{o:x}"));
                }
                s
            }
            Location::Image {
                offset,
                length,
                provenance,
            } => match length {
                Some(len) => format!("{provenance} @0x{offset:x} (+{len} bytes)"),
                None => format!("{provenance} @0x{offset:x}"),
            },
            Location::Network {
                host,
                port,
                protocol,
                ..
            } => {
                if host.contains(':') {
                    format!("{protocol}://[{host}]:{port}")
                } else {
                    format!("{protocol}://{host}:{port}")
                }
            }
            Location::Document { source, line } => match line {
                Some(l) => format!("{source}:{l}"),
                None => source.clone(),
            },
            Location::Statement { file, line } => match line {
                Some(l) => format!("{file}:{l}"),
                None => file.clone(),
            },
        }
    }
}

/// A location plus a short excerpt of what is there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Evidence {
    pub location: Location,
    /// A short excerpt (one line of a file, a banner, a header field). Secrets found are shown as
    /// found: the reader of an assessment report needs to verify them.
    pub excerpt: String,
}

/// One result of one check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    /// Stable check id, a TS 103 701-like test unit, e.g. `5.1-1-fw-shadow`.
    pub check: String,
    /// Requirement ids this finding bears on: EN provisions (`5.1-1`) or catalogue requirements of
    /// other schemes (`TEC-3-rollback`).
    pub provisions: Vec<String>,
    pub outcome: Outcome,
    pub severity: Severity,
    pub source: Source,
    /// One line, e.g. "root has an empty password".
    pub title: String,
    /// Longer explanation, including why the check decided as it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default)]
    pub evidence: Vec<Evidence>,
    /// True when the check is a heuristic (e.g. taint-free pattern match) a person must confirm.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub heuristic: bool,
}

impl Finding {
    pub fn new(
        check: &str,
        provisions: &[&str],
        outcome: Outcome,
        severity: Severity,
        source: Source,
        title: impl Into<String>,
    ) -> Self {
        Finding {
            check: check.to_string(),
            provisions: provisions.iter().map(|s| s.to_string()).collect(),
            outcome,
            severity,
            source,
            title: title.into(),
            detail: None,
            evidence: Vec::new(),
            heuristic: false,
        }
    }

    pub fn detail(mut self, d: impl Into<String>) -> Self {
        self.detail = Some(d.into());
        self
    }

    pub fn evidence(mut self, location: Location, excerpt: impl Into<String>) -> Self {
        self.evidence.push(Evidence {
            location,
            excerpt: excerpt.into(),
        });
        self
    }

    pub fn heuristic(mut self) -> Self {
        self.heuristic = true;
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RunStatus {
    /// The check ran over `examined` items (files, ports, documents).
    Ran { examined: u64 },
    /// The check did not run; the reason says why (no such evidence, not implemented, opt-in).
    Skipped { reason: String },
}

/// A record that a check ran (or did not), so a verdict can say what was looked at. A provision
/// is never PASS because a check that could not have seen it found nothing; this is how the
/// engine knows which checks could.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CheckRun {
    pub check: String,
    pub source: Source,
    pub provisions: Vec<String>,
    #[serde(flatten)]
    pub status: RunStatus,
}

/// A software component seen in the evidence (SBOM entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Component {
    pub name: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpe: Option<String>,
    /// How it was identified (`opkg-status`, `binary-banner`, ...).
    pub method: String,
    #[serde(default)]
    pub evidence: Vec<Evidence>,
    /// The ELF files this component was identified in (its own binary or library, or one it is
    /// statically linked into; never the package database or script that names it), with their
    /// SHA-256, so an SBOM consumer can tell this build from another of the same version.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileDigest>,
}

/// A file of the extracted image and its SHA-256 (hex).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FileDigest {
    /// Path inside the root filesystem, e.g. `/bin/busybox`.
    pub path: String,
    pub sha256: String,
}

/// Everything one evidence source yields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Observations {
    pub findings: Vec<Finding>,
    pub facts: Vec<crate::facts::InferredFact>,
    pub checks: Vec<CheckRun>,
    pub components: Vec<Component>,
}

impl Observations {
    pub fn extend(&mut self, other: Observations) {
        self.findings.extend(other.findings);
        self.facts.extend(other.facts);
        self.checks.extend(other.checks);
        self.components.extend(other.components);
    }

    /// Record that `check` ran over `examined` items.
    pub fn ran(&mut self, check: &str, source: Source, provisions: &[&str], examined: u64) {
        self.checks.push(CheckRun {
            check: check.to_string(),
            source,
            provisions: provisions.iter().map(|s| s.to_string()).collect(),
            status: RunStatus::Ran { examined },
        });
    }

    /// Record that `check` did not run, and why.
    pub fn skipped(
        &mut self,
        check: &str,
        source: Source,
        provisions: &[&str],
        reason: impl Into<String>,
    ) {
        self.checks.push(CheckRun {
            check: check.to_string(),
            source,
            provisions: provisions.iter().map(|s| s.to_string()).collect(),
            status: RunStatus::Skipped {
                reason: reason.into(),
            },
        });
    }
}
