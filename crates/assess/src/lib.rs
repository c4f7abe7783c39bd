//! From evidence to verdicts: the maker's conformance statement (EN 303 645 Annex B, table B.1),
//! the verdict engine, the profile roll-ups, and the canonical report model they fill.

pub mod bomb;
pub mod model;
pub mod provisioning;
pub mod rollup;
pub mod schema;
pub mod sensors;
pub mod statement;
pub mod verdict;

pub use model::{Basis, Report, RequirementVerdict, Verdict, REPORT_SCHEMA, REPORT_SCHEMA_VERSION};
pub use statement::{Statement, Support};

use iotassure_core::catalog::{catalog, oscal};
use iotassure_core::finding::Observations;
use iotassure_core::layout::UnpackSummary;

use crate::model::{StatementSummary, Subject, Tool};
use crate::statement::LoadedStatement;
use crate::verdict::Sources;

/// Everything an assessment gathered, before judgement.
pub struct Evidence<'a> {
    pub observations: Observations,
    pub statement: Option<&'a LoadedStatement>,
    pub firmware: Option<UnpackSummary>,
    pub device: Option<String>,
    pub documents: Vec<String>,
}

/// Judges the evidence and builds the canonical report. `profile` must be a catalogue profile id.
pub fn assemble(mut ev: Evidence<'_>, profile: &str, tool_version: &str) -> Report {
    if let Some(fw) = &ev.firmware {
        bomb::observe(fw, &mut ev.observations);
    }
    // The declared provisioning of security parameters is judged on all the evidence at once:
    // the image's keys and two units' keys.
    let judged = provisioning::judge(ev.statement, &ev.observations);
    ev.observations.extend(judged);
    let judged = sensors::judge(&ev.observations);
    ev.observations.extend(judged);
    let cat = catalog();
    let sources = Sources {
        firmware: ev.firmware.is_some(),
        device: ev.device.is_some(),
        documents: !ev.documents.is_empty(),
    };
    let decision = verdict::decide(cat, &ev.observations, ev.statement, sources);
    let profiles = rollup::roll_up_all(cat, &decision.verdicts);
    let statement = ev.statement.map(|s| StatementSummary {
        file: s.file.clone(),
        diagnostics: s.check(cat),
    });
    let now = time::OffsetDateTime::now_utc();
    Report {
        schema: REPORT_SCHEMA.to_string(),
        schema_version: REPORT_SCHEMA_VERSION.to_string(),
        tool: Tool {
            name: "iotassure".into(),
            version: tool_version.into(),
            catalog_version: oscal::CATALOG_VERSION.into(),
        },
        // Seconds are the precision a reader needs; nanoseconds are noise on a front page.
        generated_at: now
            .replace_nanosecond(0)
            .unwrap_or(now)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        subject: Subject {
            product: ev
                .statement
                .map(|s| s.statement.product.clone())
                .unwrap_or_default(),
            firmware: ev.firmware,
            device: ev.device,
            documents: ev.documents,
        },
        selected_profile: profile.to_string(),
        facts: decision.facts,
        statement,
        findings: ev.observations.findings,
        checks: ev.observations.checks,
        components: ev.observations.components,
        verdicts: decision.verdicts,
        profiles,
        engagement: None,
    }
}
