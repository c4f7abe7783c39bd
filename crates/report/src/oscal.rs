//! OSCAL 1.1 assessment-results and the assessment-plan they import.
//!
//! Controls are those of the catalogue export (`iotassure catalog export --format oscal`, ids
//! `en303645-5.1-1`); the documents point at it as `oscal-catalog.json`, which `assess --format
//! oscal` writes beside them, so every reference resolves inside the output folder.
//!
//! - Each of the 68 EN provisions is a finding whose target is the provision's statement part
//!   (`en303645-5.1-1_smt`). PASS → `satisfied` (reason `pass`); FAIL → `not-satisfied` (reason
//!   `fail`); INCONCLUSIVE → `not-satisfied` (reason `other`): OSCAL has no "undecided", and a
//!   provision the evidence does not show met must not read as met. NOT APPLICABLE →
//!   `satisfied` (reason `other`): table B.1 counts a conditional provision whose condition is
//!   false as conformant. The iotassure verdict and its basis (verified or declared) are props, so
//!   nothing is lost in the mapping. The schemes' own requirements (TEC-*) are not controls of
//!   the catalogue and are left out.
//! - Each piece of evidence is an observation: method TEST for the live device (the tool acted on
//!   it), EXAMINE for the firmware, the documents and the statement (read, not exercised); the
//!   subject is the inventory item of that evidence source.
//! - The plan has no system security plan to import; its `import-ssp` points at the maker's
//!   conformance statement with the IXIT facts, the document that plays that role here.
//!
//! UUIDs are name-based (v5) on the image digest and the report time, so rendering one report
//! twice gives the same documents.

use iotassure_assess::model::{Basis, RequirementVerdict};
use iotassure_assess::{Report, Verdict};
use iotassure_core::catalog::oscal::{control_id, OSCAL_NS};
use iotassure_core::finding::{Location, Source};
use serde_json::{json, Value};
use uuid::Uuid;

pub const OSCAL_VERSION: &str = "1.1.2";
pub const PLAN_FILE: &str = "oscal-assessment-plan.json";
pub const CATALOG_FILE: &str = "oscal-catalog.json";

struct Ids {
    seed: String,
}

impl Ids {
    fn new(r: &Report) -> Ids {
        let digest = r
            .subject
            .firmware
            .as_ref()
            .map(|f| f.sha256.clone())
            .unwrap_or_default();
        Ids {
            seed: format!("{digest}|{}", r.generated_at),
        }
    }
    fn uuid(&self, what: &str) -> String {
        Uuid::new_v5(
            &Uuid::NAMESPACE_URL,
            format!("https://iotassure.dev/oscal/{}/{what}", self.seed).as_bytes(),
        )
        .to_string()
    }
}

/// A markup-line: one line, not empty.
fn line(s: &str) -> String {
    let t = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.is_empty() {
        "(none)".into()
    } else {
        t
    }
}

/// A prop value: no surrounding whitespace, not empty.
fn prop(name: &str, value: &str) -> Value {
    json!({ "name": name, "ns": OSCAL_NS, "value": line(value) })
}

fn metadata(r: &Report, title: &str) -> Value {
    json!({
        "title": title,
        "last-modified": r.generated_at,
        "version": r.tool.version,
        "oscal-version": OSCAL_VERSION,
        "props": [
            prop("tool", &format!("{} {}", r.tool.name, r.tool.version)),
            prop("catalog-version", &r.tool.catalog_version),
            prop("profile", &r.selected_profile),
        ],
    })
}

fn product_line(r: &Report) -> String {
    let p = crate::sbom::product(r);
    match &p.version {
        Some(v) => format!("{} firmware {v}", p.name),
        None => p.name,
    }
}

/// The evidence sources as inventory items: the image, the device, the documents, the statement.
fn inventory(r: &Report, ids: &Ids) -> Vec<Value> {
    let mut v = Vec::new();
    if let Some(fw) = &r.subject.firmware {
        let mut props = vec![prop("evidence-source", "firmware")];
        if !fw.sha256.is_empty() {
            props.push(prop("sha256", &fw.sha256));
        }
        v.push(json!({
            "uuid": ids.uuid("subject/firmware"),
            "description": format!("Firmware image of {} ({} bytes, {}).", product_line(r), fw.size, fw.kind),
            "props": props,
        }));
    }
    if let Some(d) = &r.subject.device {
        v.push(json!({
            "uuid": ids.uuid("subject/device"),
            "description": format!("The live device at {d}, probed over the network."),
            "props": [prop("evidence-source", "device")],
        }));
    }
    if !r.subject.documents.is_empty() {
        v.push(json!({
            "uuid": ids.uuid("subject/documents"),
            "description": format!("The maker's published documents: {}.", r.subject.documents.join(", ")),
            "props": [prop("evidence-source", "documents")],
        }));
    }
    if let Some(st) = &r.statement {
        v.push(json!({
            "uuid": ids.uuid("subject/statement"),
            "description": format!("The maker's conformance statement (table B.1 and IXIT facts), {}.", st.file),
            "props": [prop("evidence-source", "statement")],
        }));
    }
    v
}

fn subject_uuid(src: Source, ids: &Ids) -> String {
    ids.uuid(&format!("subject/{}", src.as_str()))
}

fn method(src: Source) -> &'static str {
    match src {
        Source::Device | Source::Emulation => "TEST",
        Source::Firmware | Source::Documents | Source::Statement => "EXAMINE",
    }
}

/// The state, the reason token and a remark for a verdict (see the module docs).
fn status(r: &Report, v: &RequirementVerdict) -> Value {
    let (state, reason) = match v.verdict {
        Verdict::Pass => ("satisfied", "pass"),
        Verdict::Fail => ("not-satisfied", "fail"),
        Verdict::Inconclusive => ("not-satisfied", "other"),
        Verdict::NotApplicable => ("satisfied", "other"),
    };
    json!({ "state": state, "reason": reason, "remarks": crate::public_text(r, &format!("{}: {}", v.verdict.as_str(), v.reason)) })
}

fn basis(b: Basis) -> &'static str {
    match b {
        Basis::Verified => "verified",
        Basis::Declared => "declared",
        Basis::None => "none",
    }
}

pub fn oscal_results(r: &Report) -> Value {
    let ids = Ids::new(r);
    let has_subject = |s: Source| match s {
        Source::Firmware => r.subject.firmware.is_some(),
        Source::Device => r.subject.device.is_some(),
        Source::Emulation => r.findings.iter().any(|f| f.source == Source::Emulation),
        Source::Documents => !r.subject.documents.is_empty(),
        Source::Statement => r.statement.is_some(),
    };
    let mut observations = Vec::new();
    // (finding index, evidence index) → observation uuid, for the findings' related-observations.
    let mut obs_of: Vec<Vec<String>> = vec![Vec::new(); r.findings.len()];
    for (fi, f) in r.findings.iter().enumerate() {
        let items: Vec<(usize, Option<&iotassure_core::finding::Evidence>)> =
            if f.evidence.is_empty() {
                vec![(0, None)]
            } else {
                f.evidence
                    .iter()
                    .enumerate()
                    .map(|(i, e)| (i, Some(e)))
                    .collect()
            };
        for (ei, e) in items {
            let uuid = ids.uuid(&format!("observation/{fi}/{ei}"));
            let mut o = json!({
                "uuid": uuid,
                "title": line(&crate::public_text(r, &f.title)),
                "description": crate::public_text(r, f.detail.as_deref().unwrap_or(&f.title)),
                "methods": [method(f.source)],
                "types": ["finding"],
                "collected": r.generated_at,
                "props": [
                    prop("check", &f.check),
                    prop("outcome", &format!("{:?}", f.outcome).to_lowercase()),
                    prop("severity", f.severity.as_str()),
                    prop("provisions", &f.provisions.join(" ")),
                ],
            });
            if has_subject(f.source) {
                o["subjects"] = json!([{ "subject-uuid": subject_uuid(f.source, &ids), "type": "inventory-item" }]);
            }
            if let Some(e) = e {
                let mut ev = json!({
                    "description": crate::public_text(r, &format!("{}: {}", e.location.cite(), e.excerpt)),
                    "props": [prop("location", &crate::public_text(r, &e.location.cite()))],
                });
                if let Location::Network { transcript, .. } = &e.location {
                    if !transcript.is_empty() {
                        let t: Vec<String> = transcript
                            .iter()
                            .take(50)
                            .map(|l| format!("{} {}", l.dir, l.data))
                            .collect();
                        ev["remarks"] = json!(t.join("\n"));
                    }
                }
                o["relevant-evidence"] = json!([ev]);
            }
            obs_of[fi].push(uuid);
            observations.push(o);
        }
    }

    let findings: Vec<Value> = r
        .verdicts
        .iter()
        .filter(|v| v.scheme == "en303645")
        .map(|v| {
            let cid = control_id(&v.id);
            let mut f = json!({
                "uuid": ids.uuid(&format!("finding/{}", v.id)),
                "title": line(&format!("{} {}", v.id, v.title)),
                "description": crate::public_text(r, &v.reason),
                "props": [
                    prop("verdict", v.verdict.as_str()),
                    prop("basis", basis(v.basis)),
                    prop("status-label", &v.status_label),
                ],
                "target": {
                    "type": "statement-id",
                    "target-id": format!("{cid}_smt"),
                    "status": status(r, v),
                },
            });
            let related: Vec<Value> = v
                .findings
                .iter()
                .filter_map(|i| obs_of.get(*i))
                .flatten()
                .map(|u| json!({ "observation-uuid": u }))
                .collect();
            if !related.is_empty() {
                f["related-observations"] = json!(related);
            }
            f
        })
        .collect();

    let include: Vec<Value> = r
        .verdicts
        .iter()
        .filter(|v| v.scheme == "en303645")
        .map(|v| json!({ "control-id": control_id(&v.id) }))
        .collect();
    let mut result = json!({
        "uuid": ids.uuid("result"),
        "title": line(&format!("EN 303 645 assessment of {}", product_line(r))),
        "description": format!(
            "Verdicts of {} {} for each provision of ETSI EN 303 645 V2.1.1, with the evidence they rest on. Profile {}: {}.",
            r.tool.name,
            r.tool.version,
            r.selected_profile,
            r.selected().map(|p| p.outcome.as_str()).unwrap_or("unknown")
        ),
        "start": r.generated_at,
        "end": r.generated_at,
        "reviewed-controls": { "control-selections": [{ "include-controls": include }] },
        "findings": findings,
    });
    let inv = inventory(r, &ids);
    if !inv.is_empty() {
        result["local-definitions"] = json!({ "inventory-items": inv });
    }
    if !observations.is_empty() {
        result["observations"] = json!(observations);
    }
    json!({
        "assessment-results": {
            "uuid": ids.uuid("assessment-results"),
            "metadata": metadata(r, &format!("iotassure assessment results: {}", product_line(r))),
            "import-ap": { "href": PLAN_FILE },
            "results": [result],
            "back-matter": { "resources": [catalog_resource(&ids)] },
        }
    })
}

fn catalog_resource(ids: &Ids) -> Value {
    json!({
        "uuid": ids.uuid("resource/catalog"),
        "title": "ETSI EN 303 645 V2.1.1 (iotassure catalogue, OSCAL)",
        "description": "The controls these documents name, as `iotassure catalog export --format oscal` writes them.",
        "rlinks": [{ "href": CATALOG_FILE, "media-type": "application/oscal.catalog+json" }],
    })
}

pub fn oscal_plan(r: &Report) -> Value {
    let ids = Ids::new(r);
    let statement_uuid = ids.uuid("resource/statement");
    let statement = match &r.statement {
        Some(st) => json!({
            "uuid": statement_uuid,
            "title": "The maker's conformance statement (EN 303 645 table B.1) with the IXIT facts",
            "description": format!("The statement {} declares support (Y, N, N/A) per provision and the device profile facts that decide the Annex B conditions; the assessment checks the evidence against it.", st.file),
            "rlinks": [{ "href": crate::uri_escape(&st.file) }],
        }),
        None => json!({
            "uuid": statement_uuid,
            "title": "No conformance statement was given",
            "description": "The assessment ran on evidence alone: the device profile facts were inferred, and what only the maker can declare stays INCONCLUSIVE.",
        }),
    };
    let include: Vec<Value> = r
        .verdicts
        .iter()
        .filter(|v| v.scheme == "en303645")
        .map(|v| json!({ "control-id": control_id(&v.id) }))
        .collect();
    let inv = inventory(r, &ids);
    let subjects: Vec<Value> = inv
        .iter()
        .map(|i| json!({ "subject-uuid": i["uuid"], "type": "inventory-item" }))
        .collect();
    let mut activities = vec![json!({
        "uuid": ids.uuid("activity/examine"),
        "title": "Examine the firmware, the published documents and the statement",
        "description": "Static inspection of the unpacked firmware image (accounts, keys, services, hardening, update mechanism, components) and reading of the documents and the conformance statement (ETSI TS 103 701 conceptual tests).",
        "props": [{ "name": "method", "value": "EXAMINE" }],
    })];
    if r.subject.device.is_some() {
        activities.push(json!({
            "uuid": ids.uuid("activity/test"),
            "title": "Test the live device",
            "description": "Bounded network probes of the given target only: services, TLS, default credentials (ETSI TS 103 701 functional tests).",
            "props": [{ "name": "method", "value": "TEST" }],
        }));
    }
    let mut local = json!({ "activities": activities });
    if !inv.is_empty() {
        local["inventory-items"] = json!(inv);
    }
    let mut plan = json!({
        "uuid": ids.uuid("assessment-plan"),
        "metadata": metadata(r, &format!("iotassure assessment plan: {}", product_line(r))),
        "import-ssp": { "href": format!("#{statement_uuid}") },
        "local-definitions": local,
        "terms-and-conditions": { "parts": [{
            "name": "assumptions",
            "title": "Verdicts",
            "prose": "PASS only on positive evidence; FAIL on evidence of a violation; INCONCLUSIVE (with the evidence still needed) where no usable evidence decides; NOT APPLICABLE for a conditional provision whose Annex B condition is false. A verdict resting only on the maker's statement is marked declared.",
        }] },
        "reviewed-controls": { "control-selections": [{ "include-controls": include }] },
        "back-matter": { "resources": [statement, catalog_resource(&ids)] },
    });
    if !subjects.is_empty() {
        plan["assessment-subjects"] =
            json!([{ "type": "inventory-item", "include-subjects": subjects }]);
    }
    json!({ "assessment-plan": plan })
}
