//! The verdict engine: findings + device profile + conformance statement → one verdict per
//! requirement (DESIGN.md §2).
//!
//! The order of reasoning, per requirement:
//! 1. Applicability from the Annex B conditions and the resolved facts. A condition that does not
//!    hold makes it NOT APPLICABLE, unless verified evidence shows a violation and the fact that
//!    excluded it was declared against the evidence (evidence beats a contradicted declaration).
//! 2. A verified FAIL finding makes it FAIL.
//! 3. A verified PASS finding (positive evidence of the measure) makes it PASS.
//! 4. Otherwise the statement decides, marked *declared*: Y → PASS, N → FAIL (justified when a
//!    recommendation carries a justification).
//! 5. Otherwise INCONCLUSIVE, saying what was looked at and what evidence is still needed.
//!    Checks that ran and found nothing never make a PASS.

use std::collections::{BTreeMap, BTreeSet};

use iotassure_core::catalog::{Catalog, EvidenceKind, Requirement, Status};
use iotassure_core::facts::{self, Fact, FactKey, FactOrigin};
use iotassure_core::finding::{Observations, Outcome, RunStatus, Source};

use crate::model::{Basis, ConditionState, RequirementVerdict, Verdict};
use crate::statement::{LoadedStatement, Support};

/// Which evidence sources were available to this assessment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Sources {
    pub firmware: bool,
    pub device: bool,
    pub documents: bool,
}

pub struct Decision {
    pub facts: Vec<Fact>,
    pub verdicts: Vec<RequirementVerdict>,
}

pub fn decide(
    cat: &Catalog,
    obs: &Observations,
    statement: Option<&LoadedStatement>,
    sources: Sources,
) -> Decision {
    let declared = statement
        .map(|s| s.statement.profile.to_map())
        .unwrap_or_default();
    let declared_in = statement
        .map(|s| s.file.as_str())
        .unwrap_or("the statement");
    let facts = facts::resolve(&declared, declared_in, &obs.facts);
    let verdicts = cat
        .requirements()
        .into_iter()
        .map(|req| decide_one(cat, &req, obs, statement, &facts, sources))
        .collect();
    Decision {
        facts: facts.into_values().collect(),
        verdicts,
    }
}

fn decide_one(
    cat: &Catalog,
    req: &Requirement<'_>,
    obs: &Observations,
    statement: Option<&LoadedStatement>,
    facts: &BTreeMap<FactKey, Fact>,
    sources: Sources,
) -> RequirementVerdict {
    let conditions: Vec<ConditionState> = req
        .conditions
        .iter()
        .filter_map(|c| cat.condition(*c))
        .map(|c| {
            let fact = facts.get(&c.fact);
            ConditionState {
                id: c.id,
                text: c.text.clone(),
                fact: c.fact.as_str().to_string(),
                holds: fact.map(|f| c.holds(f.value)),
                origin: match fact.map(|f| f.origin) {
                    Some(FactOrigin::Declared) => "declared",
                    Some(FactOrigin::Inferred) => "inferred",
                    None => "unknown",
                }
                .to_string(),
            }
        })
        .collect();
    let failing_condition = conditions.iter().find(|c| c.holds == Some(false));

    let related: Vec<usize> = obs
        .findings
        .iter()
        .enumerate()
        .filter(|(_, f)| f.provisions.iter().any(|p| p == req.id))
        .map(|(i, _)| i)
        .collect();
    let with = |o: Outcome| -> Vec<usize> {
        related
            .iter()
            .copied()
            .filter(|&i| {
                obs.findings[i].outcome == o && obs.findings[i].source != Source::Statement
            })
            .collect()
    };
    let (fails, passes, unsure) = (
        with(Outcome::Fail),
        with(Outcome::Pass),
        with(Outcome::Inconclusive),
    );
    let checks: Vec<String> = {
        let mut seen = BTreeSet::new();
        obs.checks
            .iter()
            .filter(|c| {
                c.provisions.iter().any(|p| p == req.id)
                    && matches!(c.status, RunStatus::Ran { .. })
            })
            .filter(|c| seen.insert(c.check.clone()))
            .map(|c| c.check.clone())
            .collect()
    };
    let entry = statement
        .and_then(|s| s.statement.provisions.get(req.id))
        .cloned();

    let mut v = RequirementVerdict {
        id: req.id.to_string(),
        title: req.title.to_string(),
        scheme: req.scheme.to_string(),
        status: req.status,
        status_label: cat
            .provision(req.id)
            .map(|p| p.status_label())
            .unwrap_or_else(|| req.status.as_str().to_string()),
        verdict: Verdict::Inconclusive,
        basis: Basis::None,
        reason: String::new(),
        findings: related.clone(),
        checks: checks.clone(),
        conditions: conditions.clone(),
        statement: entry.clone(),
        justified: false,
    };
    let titles = |idx: &[usize]| -> String {
        let mut t: Vec<&str> = idx
            .iter()
            .map(|&i| obs.findings[i].title.as_str())
            .collect();
        t.dedup();
        let more = t.len().saturating_sub(3);
        t.truncate(3);
        let mut s = t.join("; ");
        if more > 0 {
            s.push_str(&format!("; and {more} more"));
        }
        s
    };

    if let Some(c) = failing_condition {
        let fact = FactKey::parse(&c.fact).and_then(|k| facts.get(&k));
        let contradicted = fact.is_some_and(|f| f.contradiction.is_some());
        if !contradicted || fails.is_empty() {
            v.verdict = Verdict::NotApplicable;
            v.basis = if c.origin == "declared" {
                Basis::Declared
            } else {
                Basis::Verified
            };
            let why = fact.map(|f| f.reason.as_str()).unwrap_or("");
            let why = if c.origin == "declared" {
                why.to_string()
            } else {
                format!("{}: {why}", c.origin)
            };
            v.reason = format!(
                "Condition {} (\"{}\") does not hold: {} is {} ({why}).",
                c.id,
                c.text.trim_end_matches('.'),
                c.fact,
                fact.map(|f| f.value).unwrap_or_default(),
            );
            if let Some(note) = fact.and_then(|f| f.contradiction.as_ref()) {
                v.reason.push_str(&format!(" Note: {note}."));
            }
            return v;
        }
    }

    if !fails.is_empty() {
        v.verdict = Verdict::Fail;
        v.basis = Basis::Verified;
        v.reason = format!("Evidence shows a violation: {}.", titles(&fails));
        v.reason.push_str(&emulated_note(obs, &fails));
        if let Some(c) = failing_condition {
            v.reason.push_str(&format!(
                " The declared profile would make it not applicable (condition {}), but the evidence contradicts the declaration.",
                c.id
            ));
        }
        if let Some(e) = &entry {
            if e.support == Some(Support::Y) {
                v.reason
                    .push_str(" The statement claims support (Y); the evidence contradicts it.");
            }
        }
        return v;
    }
    if !passes.is_empty() {
        v.verdict = Verdict::Pass;
        v.basis = Basis::Verified;
        v.reason = format!("Evidence shows the measure in place: {}.", titles(&passes));
        v.reason.push_str(&emulated_note(obs, &passes));
        if let Some(e) = &entry {
            if e.support == Some(Support::N) {
                v.reason
                    .push_str(" (The statement says N; the evidence shows otherwise.)");
            }
        }
        return v;
    }

    let looked = if checks.is_empty() {
        String::new()
    } else {
        format!(
            " Checks that ran found no violation ({}); finding nothing is not proof.",
            checks.join(", ")
        )
    };
    match entry.as_ref().and_then(|e| e.support) {
        Some(Support::Y) => {
            v.verdict = Verdict::Pass;
            v.basis = Basis::Declared;
            let detail = entry.as_ref().map(|e| e.detail.trim()).unwrap_or_default();
            v.reason = if detail.is_empty() {
                "Declared supported (Y) in the statement, without detail; not verified.".to_string()
            } else {
                format!(
                    "Declared supported (Y): {}. Not verified by evidence.",
                    detail.trim_end_matches('.')
                )
            };
            v.reason.push_str(&looked);
            if !unsure.is_empty() {
                v.reason
                    .push_str(&format!(" Unresolved: {}.", titles(&unsure)));
            }
            return v;
        }
        Some(Support::N) => {
            let e = entry.as_ref().expect("support implies entry");
            v.verdict = Verdict::Fail;
            v.basis = Basis::Declared;
            v.justified = req.status == Status::R && !e.justification.trim().is_empty();
            v.reason = format!(
                "Declared not supported (N): {}.",
                e.detail.trim().trim_end_matches('.')
            );
            if v.justified {
                v.reason.push_str(&format!(
                    " Justification (4-1): {}.",
                    e.justification.trim().trim_end_matches('.')
                ));
            }
            return v;
        }
        Some(Support::NotApplicable) => {
            // The conditions did not exclude it, or we would have returned above.
            v.reason = format!(
                "The statement says N/A, but its conditions do not exclude it ({}).",
                if conditions.is_empty() {
                    "it is unconditional".to_string()
                } else {
                    conditions
                        .iter()
                        .map(|c| {
                            format!(
                                "condition {}: {}",
                                c.id,
                                match c.holds {
                                    Some(true) => "holds",
                                    Some(false) => "does not hold",
                                    None => "undecided",
                                }
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            );
        }
        None => {}
    }

    v.verdict = Verdict::Inconclusive;
    v.basis = Basis::None;
    let mut reason = std::mem::take(&mut v.reason);
    if !reason.is_empty() {
        reason.push(' ');
    }
    if !unsure.is_empty() {
        reason.push_str(&format!("Checks could not decide: {}.", titles(&unsure)));
        for &i in &unsure {
            if let Some(d) = &obs.findings[i].detail {
                reason.push_str(&format!(" {d}"));
                break;
            }
        }
    } else {
        reason.push_str("No evidence decides it.");
    }
    reason.push_str(&looked);
    let undecided: Vec<String> = conditions
        .iter()
        .filter(|c| c.holds.is_none())
        .map(|c| format!("{} ({})", c.id, c.fact))
        .collect();
    if !undecided.is_empty() {
        reason.push_str(&format!(
            " Applicability undecided: condition {} not declared or inferred.",
            undecided.join(", ")
        ));
    }
    let ran_from = |src: Source| {
        obs.checks.iter().any(|c| {
            c.source == src
                && c.provisions.iter().any(|p| p == req.id)
                && matches!(c.status, RunStatus::Ran { .. })
        })
    };
    let checked = Sources {
        firmware: ran_from(Source::Firmware),
        device: ran_from(Source::Device) || ran_from(Source::Emulation),
        documents: ran_from(Source::Documents),
    };
    let needs = needed_evidence(cat, req.id, sources, checked, statement.is_some());
    if !needs.is_empty() {
        reason.push_str(&format!(" Needs: {}.", needs.join("; ")));
    }
    v.reason = reason;
    v
}

/// Evidence from the firmware's services run under emulation is live evidence, but not from
/// the device itself: the verdict says so, so a label page or an assurance level can tell.
fn emulated_note(obs: &Observations, idx: &[usize]) -> String {
    let emulated = idx
        .iter()
        .filter(|&&i| obs.findings[i].source == Source::Emulation)
        .count();
    match emulated {
        0 => String::new(),
        n if n == idx.len() => " Verified on an emulated device (the image's services under QEMU user mode), not on the device itself.".into(),
        _ => " Partly verified on an emulated device (the image's services under QEMU user mode).".into(),
    }
}

/// What would decide the provision. `checked` says which sources had a check for it that ran:
/// those checks look for violations, so what is missing there is positive evidence, not a check.
fn needed_evidence(
    cat: &Catalog,
    id: &str,
    sources: Sources,
    checked: Sources,
    have_statement: bool,
) -> Vec<String> {
    let kinds: Vec<EvidenceKind> = cat
        .provision(id)
        .map(|p| p.evidence.clone())
        .unwrap_or_else(|| vec![EvidenceKind::Documents, EvidenceKind::Statement]);
    let mut out = Vec::new();
    for k in kinds {
        let s = match k {
            EvidenceKind::Firmware if !sources.firmware => "a firmware image (none given)",
            EvidenceKind::Firmware if checked.firmware => {
                "firmware evidence that the measure is in place (the firmware checks look for violations)"
            }
            EvidenceKind::Firmware => "a firmware check that can see it (not yet automated)",
            EvidenceKind::Device if !sources.device => "a live-device probe (--device, not given)",
            EvidenceKind::Device if checked.device => {
                "device evidence that the measure is in place (the probes that ran look for violations)"
            }
            EvidenceKind::Device => "a device probe that can see it (not yet automated)",
            EvidenceKind::Documents if !sources.documents => {
                "the published documents (--doc, none given)"
            }
            EvidenceKind::Documents if checked.documents => {
                "a document that states it (the documents given do not)"
            }
            EvidenceKind::Documents => "a document check that can see it (not yet automated)",
            EvidenceKind::Statement if !have_statement => {
                "the maker's conformance statement (--ics, not given)"
            }
            EvidenceKind::Statement => "an entry for it in the conformance statement",
        };
        out.push(s.to_string());
    }
    out
}
