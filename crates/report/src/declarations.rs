//! CycloneDX 1.6 declarations: "this product meets these requirements of this standard, with
//! this evidence". The document is the SBOM ([`crate::cyclonedx`]) plus:
//!
//! - `definitions.standards`: ETSI EN 303 645 V2.1.1 with its 68 provisions as requirements, and
//!   each catalogue profile (M, M+R, UK PSTI, the Finnish label, …) as a level listing the
//!   provisions it selects;
//! - `declarations.claims`: one per provision, that the product meets it, with the evidence that
//!   supports it and the counter-evidence (FAIL and INCONCLUSIVE findings) against it;
//! - `declarations.attestations`: the assessor's attestation mapping each provision to its
//!   claim (or, for a FAIL, its counter-claim), with a conformance score and a confidence, and
//!   the selected profile's overall score in the summary.
//!
//! Conformance: PASS and NOT APPLICABLE 1.0, FAIL and INCONCLUSIVE 0.0. Confidence: 0.9 for a
//! verdict verified by evidence (0.7 when a deciding finding is a heuristic a person must
//! confirm), 0.5 for one that rests on the maker's declaration alone, 0.0 for INCONCLUSIVE.
//!
//! Signed only where the caller gives a key ([`crate::jsf`]): the CLI's `--sign-key`.

use std::collections::BTreeSet;

use iotassure_assess::model::{Basis, RequirementVerdict};
use iotassure_assess::{Report, Verdict};
use iotassure_core::catalog::catalog;
use iotassure_core::finding::Outcome;
use serde_json::{json, Value};

const STANDARD: &str = "standard-en303645";

fn req_ref(id: &str) -> String {
    format!("requirement-en303645-{id}")
}

fn claim_ref(id: &str) -> String {
    format!("claim-en303645-{id}")
}

fn standard(r: &Report) -> Value {
    let cat = catalog();
    let requirements: Vec<Value> = cat
        .provisions
        .iter()
        .map(|p| {
            json!({
                "bom-ref": req_ref(&p.id),
                "identifier": p.id,
                "title": p.title,
                "text": p.requirement,
                "descriptions": [p.summary],
                "properties": [{ "name": "iotassure:status", "value": p.status_label() }],
            })
        })
        .collect();
    let known: BTreeSet<&str> = cat.provisions.iter().map(|p| p.id.as_str()).collect();
    let levels: Vec<Value> = cat
        .profiles
        .iter()
        .map(|p| {
            let reqs: Vec<String> = cat
                .profile_requirements(p)
                .iter()
                .filter(|id| known.contains(id.as_str()))
                .map(|id| req_ref(id))
                .collect();
            let mut l = json!({
                "bom-ref": format!("level-{}", p.id),
                "identifier": p.id,
                "title": p.title,
                "description": p.description,
            });
            if !reqs.is_empty() {
                l["requirements"] = json!(reqs);
            }
            l
        })
        .collect();
    json!({
        "bom-ref": STANDARD,
        "name": "ETSI EN 303 645",
        "version": "2.1.1",
        "description": format!("Cyber Security for Consumer Internet of Things: Baseline Requirements (iotassure catalogue {}). The selected profile is level-{}.", r.tool.catalog_version, r.selected_profile),
        "owner": "ETSI",
        "requirements": requirements,
        "levels": levels,
        "externalReferences": [{ "type": "documentation", "url": "https://www.etsi.org/deliver/etsi_en/303600_303699/303645/02.01.01_60/en_303645v020101p.pdf" }],
    })
}

fn conformance(v: &RequirementVerdict) -> f64 {
    match v.verdict {
        Verdict::Pass | Verdict::NotApplicable => 1.0,
        Verdict::Fail | Verdict::Inconclusive => 0.0,
    }
}

fn confidence(r: &Report, v: &RequirementVerdict) -> (f64, &'static str) {
    match (v.verdict, v.basis) {
        (Verdict::Inconclusive, _) | (_, Basis::None) => (0.0, "no usable evidence decides it"),
        (_, Basis::Declared) => (
            0.5,
            "the maker's declaration alone, not verified by evidence",
        ),
        (_, Basis::Verified) => {
            let heuristic = v
                .findings
                .iter()
                .filter_map(|i| r.findings.get(*i))
                .any(|f| f.heuristic);
            if heuristic {
                (
                    0.7,
                    "verified by evidence, partly from a heuristic a person must confirm",
                )
            } else {
                (0.9, "verified by evidence")
            }
        }
    }
}

pub fn declarations(r: &Report) -> Value {
    let mut bom = crate::cyclonedx(r);
    let mut evidence = Vec::new();
    let mut claims = Vec::new();
    let mut map = Vec::new();
    // One evidence object per finding, shared by every claim it bears on.
    let ev_ref = |i: usize| format!("evidence-finding-{i}");
    for (i, f) in r.findings.iter().enumerate() {
        let data: Vec<Value> = f
            .evidence
            .iter()
            .take(100)
            .map(|e| json!({ "name": crate::public_text(r, &e.location.cite()), "contents": { "attachment": { "content": crate::public_text(r, &e.excerpt), "contentType": "text/plain" } } }))
            .collect();
        let mut ev = json!({
            "bom-ref": ev_ref(i),
            "propertyName": format!("iotassure:finding:{}", f.check),
            "description": crate::public_text(r, &match &f.detail { Some(d) => format!("{} ({:?}, {}). {d}", f.title, f.outcome, f.severity.as_str()), None => format!("{} ({:?}, {})", f.title, f.outcome, f.severity.as_str()) }),
            "created": r.generated_at,
        });
        if !data.is_empty() {
            ev["data"] = json!(data);
        }
        evidence.push(ev);
    }
    for v in r.verdicts.iter().filter(|v| v.scheme == "en303645") {
        let mut support = Vec::new();
        let mut counter = Vec::new();
        for &i in &v.findings {
            let Some(f) = r.findings.get(i) else { continue };
            match f.outcome {
                Outcome::Fail | Outcome::Inconclusive => counter.push(ev_ref(i)),
                Outcome::Pass | Outcome::Info => support.push(ev_ref(i)),
            }
        }
        let predicate = match v.verdict {
            Verdict::Fail => format!(
                "The product does not meet EN 303 645 provision {} ({}).",
                v.id, v.title
            ),
            Verdict::NotApplicable => format!(
                "EN 303 645 provision {} ({}) does not apply to the product.",
                v.id, v.title
            ),
            Verdict::Pass => format!(
                "The product meets EN 303 645 provision {} ({}).",
                v.id, v.title
            ),
            Verdict::Inconclusive => format!(
                "Whether the product meets EN 303 645 provision {} ({}) is undecided.",
                v.id, v.title
            ),
        };
        let mut claim = json!({
            "bom-ref": claim_ref(&v.id),
            "target": "subject",
            "predicate": predicate,
            "reasoning": crate::public_text(r, &v.reason),
        });
        if !support.is_empty() {
            claim["evidence"] = json!(support);
        }
        if !counter.is_empty() {
            claim["counterEvidence"] = json!(counter);
        }
        claims.push(claim);
        let (conf, why) = confidence(r, v);
        let mut entry = json!({
            "requirement": req_ref(&v.id),
            "conformance": {
                "score": conformance(v),
                "rationale": crate::public_text(r, &format!("{} ({}): {}", v.verdict.as_str(), crate::basis_str(v.basis), v.reason)),
            },
            "confidence": { "score": conf, "rationale": why },
        });
        if v.verdict == Verdict::Fail {
            entry["counterClaims"] = json!([claim_ref(&v.id)]);
        } else {
            entry["claims"] = json!([claim_ref(&v.id)]);
        }
        map.push(entry);
    }
    let summary = match r.selected() {
        Some(p) => {
            let c = &p.counts;
            let total = c.pass + c.fail + c.inconclusive + c.not_applicable;
            let score = if total == 0 {
                0.0
            } else {
                (c.pass + c.not_applicable) as f64 / total as f64
            };
            format!(
                "Profile {} ({}): {}. Conformance score {:.2} ({} of {} requirements met or not applicable; {} FAIL, {} INCONCLUSIVE).",
                p.id,
                p.title,
                p.outcome.as_str(),
                score,
                c.pass + c.not_applicable,
                total,
                c.fail,
                c.inconclusive
            )
        }
        None => "No profile selected.".into(),
    };
    let assessor = json!({
        "bom-ref": "assessor",
        "thirdParty": false,
        "organization": { "name": format!("{} {}", r.tool.name, r.tool.version) },
    });
    bom["definitions"] = json!({ "standards": [standard(r)] });
    bom["declarations"] = json!({
        "assessors": [assessor],
        "attestations": [{ "summary": summary, "assessor": "assessor", "map": map }],
        "claims": claims,
        "evidence": evidence,
    });
    bom
}
