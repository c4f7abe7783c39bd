//! The canonical report: everything an assessment found and decided, as one JSON document.
//!
//! The schema is versioned (`schema_version`); `iotassure report schema` prints its JSON Schema,
//! and `docs/report-schema.md` explains it. Other formats (Markdown, HTML, SARIF, …) are renderings
//! of this document and can be produced again from it with `iotassure report render`.

use iotassure_core::catalog::Status;
use iotassure_core::facts::Fact;
use iotassure_core::finding::{CheckRun, Component, Finding};
use iotassure_core::layout::UnpackSummary;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::rollup::ProfileResult;
use crate::statement::{Diagnostic, Product, StatementEntry};

pub const REPORT_SCHEMA: &str = "https://iotassure.dev/schema/report";
/// Bumped on any incompatible change; additions of optional fields keep the major number.
pub const REPORT_SCHEMA_VERSION: &str = "1.1";

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Verdict {
    Pass,
    Fail,
    Inconclusive,
    NotApplicable,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Inconclusive => "INCONCLUSIVE",
            Verdict::NotApplicable => "NOT APPLICABLE",
        }
    }
}

/// What a verdict rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// Evidence from the firmware, the device or the published documents.
    Verified,
    /// Only the maker's statement (table B.1 or the declared profile).
    Declared,
    /// Nothing decided it (INCONCLUSIVE).
    None,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ConditionState {
    pub id: u8,
    pub text: String,
    pub fact: String,
    /// `None` when the fact is neither declared nor inferred.
    pub holds: Option<bool>,
    /// `declared`, `inferred` or `unknown`.
    pub origin: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RequirementVerdict {
    /// `5.1-1`, or a scheme's own requirement id (`TEC-3-rollback`).
    pub id: String,
    pub title: String,
    /// `en303645` or the scheme of an own requirement.
    pub scheme: String,
    pub status: Status,
    /// As in table B.1: `M`, `M C(1)`, `R C(3,4)`.
    pub status_label: String,
    pub verdict: Verdict,
    pub basis: Basis,
    /// Why, in a sentence or two; always present.
    pub reason: String,
    /// Indices into `findings` that decided or informed it.
    pub findings: Vec<usize>,
    /// Checks that ran and bear on it (found something or not).
    pub checks: Vec<String>,
    pub conditions: Vec<ConditionState>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statement: Option<StatementEntry>,
    /// A recommendation not met, with a justification in the statement (provision 4-1). Its
    /// `verdict` stays FAIL (the measure is not in place), but it is shown and counted as
    /// JUSTIFIED, never as a failure: clause 4 allows an unmet recommendation with a
    /// justification. Profiles with the `all_pass_or_justified` rule (en303645-mr) accept it;
    /// profiles with `all_pass` do not, and say so.
    #[serde(default)]
    pub justified: bool,
}

impl RequirementVerdict {
    /// The label every output shows: `PASS`, `FAIL`, `JUSTIFIED`, `INCONCLUSIVE` or `N/A`.
    pub fn label(&self) -> &'static str {
        if self.is_justified() {
            "JUSTIFIED"
        } else {
            self.verdict.as_str()
        }
    }

    pub fn is_justified(&self) -> bool {
        self.verdict == Verdict::Fail && self.justified
    }

    /// Decided by the maker's statement alone (shown apart from what evidence decided).
    pub fn is_declared(&self) -> bool {
        self.basis == Basis::Declared
    }
}

/// The front page's facts that are not in the evidence: the report's id, the lab, the client.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Engagement {
    /// The lab's reference for this report (default: `IOTA-YYYYMMDD-` and the image's hash).
    pub report_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub lab: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub client: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Tool {
    pub name: String,
    pub version: String,
    pub catalog_version: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Subject {
    #[serde(default)]
    pub product: Product,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware: Option<UnpackSummary>,
    /// The live target probed, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// Published documents assessed (files or URLs).
    #[serde(default)]
    pub documents: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StatementSummary {
    pub file: String,
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Counts {
    pub pass: usize,
    /// Of `pass`, those the maker's statement alone decided (the rest evidence verified).
    #[serde(default)]
    pub pass_declared: usize,
    /// Not met and not justified.
    pub fail: usize,
    /// Recommendations not met, with a justification (not counted in `fail`).
    #[serde(default)]
    pub justified: usize,
    pub inconclusive: usize,
    pub not_applicable: usize,
}

impl Counts {
    pub fn add(&mut self, v: &RequirementVerdict) {
        match v.verdict {
            Verdict::Pass => {
                self.pass += 1;
                if v.is_declared() {
                    self.pass_declared += 1;
                }
            }
            Verdict::Fail if v.justified => self.justified += 1,
            Verdict::Fail => self.fail += 1,
            Verdict::Inconclusive => self.inconclusive += 1,
            Verdict::NotApplicable => self.not_applicable += 1,
        }
    }

    pub fn total(&self) -> usize {
        self.pass + self.fail + self.justified + self.inconclusive + self.not_applicable
    }

    /// `57 PASS (45 verified, 12 declared), 0 FAIL, 3 JUSTIFIED, 0 INCONCLUSIVE, 8 N/A`.
    pub fn summary(&self) -> String {
        format!(
            "{} PASS ({} verified, {} declared), {} FAIL, {} JUSTIFIED, {} INCONCLUSIVE, {} N/A",
            self.pass,
            self.pass - self.pass_declared,
            self.pass_declared,
            self.fail,
            self.justified,
            self.inconclusive,
            self.not_applicable
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Report {
    /// Always [`REPORT_SCHEMA`].
    pub schema: String,
    pub schema_version: String,
    pub tool: Tool,
    /// RFC 3339, UTC.
    pub generated_at: String,
    pub subject: Subject,
    /// The profile the exit status follows.
    pub selected_profile: String,
    pub facts: Vec<Fact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statement: Option<StatementSummary>,
    pub findings: Vec<Finding>,
    pub checks: Vec<CheckRun>,
    pub components: Vec<Component>,
    /// One per requirement: the 68 EN provisions, then the schemes' own requirements.
    pub verdicts: Vec<RequirementVerdict>,
    pub profiles: Vec<ProfileResult>,
    /// Who the assessment is for and by: the report's front page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engagement: Option<Engagement>,
}

impl Report {
    pub fn verdict(&self, id: &str) -> Option<&RequirementVerdict> {
        self.verdicts.iter().find(|v| v.id == id)
    }

    pub fn selected(&self) -> Option<&ProfileResult> {
        self.profiles.iter().find(|p| p.id == self.selected_profile)
    }

    /// Counts over the 68 EN provisions.
    pub fn en_counts(&self) -> Counts {
        let mut c = Counts::default();
        for v in self.verdicts.iter().filter(|v| v.scheme == "en303645") {
            c.add(v);
        }
        c
    }
}
