//! VEX out: the assessment's own advisory matches as a CycloneDX 1.6 document (`components` and
//! `vulnerabilities` with `analysis.state`, justification and detail), so a maker, a lab or the
//! trust center's re-check can read what was matched, what was set aside by the maker's VEX and
//! what the evidence could not decide.
//!
//! States: a match that stands is `exploitable` (the version lies in a published affected
//! range; `response: update` when a fixed release exists); one that depends on a build option is
//! `in_triage` with the condition; one the maker's VEX takes off the product is `not_affected`
//! (or `resolved` for OpenVEX `fixed`) with the justification mapped to CycloneDX's words.

use std::collections::BTreeSet;

use iotassure_core::finding::Component;
use serde_json::{json, Value};

use crate::{Db, Options};

/// OpenVEX justifications in CycloneDX's vocabulary.
fn justification(j: &str) -> &str {
    match j {
        "component_not_present" | "vulnerable_code_not_present" => "code_not_present",
        "vulnerable_code_not_in_execute_path" => "code_not_reachable",
        "vulnerable_code_cannot_be_controlled_by_adversary" => "requires_environment",
        "inline_mitigations_already_exist" => "protected_by_mitigating_control",
        other => other,
    }
}

/// The CycloneDX VEX document for `components` (each name and version once).
pub fn cyclonedx_vex(db: &Db, components: &[Component], opts: &Options) -> Value {
    let mut seen = BTreeSet::new();
    let mut comps = Vec::new();
    let mut vulns = Vec::new();
    for c in components {
        let Some(info) = db.identify(c) else { continue };
        let version = c.version.trim().to_string();
        if !seen.insert((info.name.clone(), version.clone())) {
            continue;
        }
        let Some(mut m) = db.lookup_on(&info.name, &version, opts.today) else {
            continue;
        };
        // The report's own rule (pass.rs), so the VEX and the findings never disagree.
        if info.name == "linux" {
            crate::pass::kernel_subsystems(opts.kernel_config.as_ref(), &mut m);
        }
        if m.advisories.is_empty() {
            continue;
        }
        let bom_ref = info.purl(&version);
        let mut cv = json!({ "type": "library", "bom-ref": bom_ref, "name": info.name, "version": version, "purl": bom_ref });
        if let Some(cpe) = info.cpe(&version) {
            cv["cpe"] = json!(cpe);
        }
        comps.push(cv);
        for h in &m.advisories {
            let a = h.advisory;
            let mut ids: Vec<&str> = vec![a.id.as_str()];
            ids.extend(a.aliases.iter().map(String::as_str));
            let statement = opts.vex.as_ref().and_then(|v| {
                v.find(
                    &ids,
                    info,
                    &version,
                    c.purl.as_slice(),
                    opts.product.as_deref(),
                )
            });
            let mut analysis = match statement {
                Some(s) if s.state.suppresses() => {
                    let mut x = json!({
                        "state": if s.state == crate::VexState::Fixed { "resolved" } else { "not_affected" },
                        "detail": format!("the maker's VEX ({}): {}", s.file, s.detail.as_deref().unwrap_or(s.state.as_str())),
                    });
                    if let Some(j) = &s.justification {
                        x["justification"] = json!(justification(j));
                    }
                    x
                }
                _ if h.condition().is_some() => json!({
                    "state": "in_triage",
                    "detail": h.condition().unwrap_or_default(),
                }),
                _ => {
                    let fix = h
                        .fixed
                        .map(|f| format!("; fixed in {f}"))
                        .unwrap_or_default();
                    let mut x = json!({
                        "state": "exploitable",
                        "detail": format!("{} {version} lies in the published affected range{fix}{}", info.name, if a.low_confidence { " (a CPE match for a component identified only from a binary: lower confidence)" } else { "" }),
                    });
                    if h.fixed.is_some() {
                        x["response"] = json!(["update"]);
                    }
                    x
                }
            };
            if let Some(s) = statement.filter(|s| !s.state.suppresses()) {
                analysis["detail"] = json!(format!(
                    "{}; the maker's VEX says {}",
                    analysis["detail"].as_str().unwrap_or(""),
                    s.state.as_str()
                ));
            }
            let mut v = json!({
                "id": a.id,
                "source": { "url": a.source },
                "description": a.summary,
                "affects": [{ "ref": bom_ref, "versions": [{ "version": version, "status": if analysis["state"] == "not_affected" || analysis["state"] == "resolved" { "unaffected" } else { "affected" } }] }],
                "analysis": analysis,
            });
            if let Some(s) = a.cvss {
                v["ratings"] =
                    json!([{ "score": s, "severity": a.severity().as_str(), "method": "CVSSv31" }]);
            } else {
                v["ratings"] = json!([{ "severity": a.severity().as_str() }]);
            }
            vulns.push(v);
        }
    }
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "metadata": { "tools": { "components": [{ "type": "application", "name": "iotassure" }] } },
        "components": comps,
        "vulnerabilities": vulns,
    })
}
