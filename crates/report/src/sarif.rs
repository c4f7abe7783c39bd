//! SARIF 2.1.0 for CI: GitHub code scanning and any other SARIF reader.
//!
//! One rule per check id (help text: what it looks at and the provisions it bears on); one result
//! per FAIL or INCONCLUSIVE finding. The artifact is the image, the path inside it a logical
//! location, the line (or the image offset) the region.
//!
//! GitHub code scanning's limits (docs.github.com, "SARIF results exceed limit" and "SARIF
//! support for code scanning"): at most 25,000 results and 25,000 rules per run, of which only
//! 5,000 results are shown; 1,000 locations per result, of which 100 are shown; 20 tags per
//! rule, of which 10 are shown; a rule's short and full descriptions at most 1,024 characters.
//! We stay inside what is *shown*: 5,000 results (most severe first, the rest counted in a
//! notification), 100 locations, 10 tags, texts cut at 1,024 characters.
//!
//! `partialFingerprints` use our own key (`iotassure/v1`). GitHub recomputes
//! `primaryLocationLineHash` from the source file, which for a firmware image is meaningless, so
//! that key is left to it. Ours hashes the check id, the place inside the image and the
//! normalised title: nothing of the run (time, host path, order) goes in, so two runs on one
//! image give the same fingerprints and CI shows only new findings.

use std::collections::{BTreeMap, BTreeSet};

use iotassure_assess::Report;
use iotassure_core::catalog::catalog;
use iotassure_core::finding::{Finding, Location, Outcome, Severity};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub const MAX_RESULTS: usize = 5_000;
pub const MAX_LOCATIONS: usize = 100;
pub const MAX_TAGS: usize = 10;
pub const MAX_TEXT: usize = 1_024;
pub const FINGERPRINT_KEY: &str = "iotassure/v1";

/// Cuts `s` to `MAX_TEXT` characters (not bytes), marking the cut.
fn clip(s: &str) -> String {
    if s.chars().count() <= MAX_TEXT {
        return s.to_string();
    }
    let mut t: String = s.chars().take(MAX_TEXT - 1).collect();
    t.push('…');
    t
}

/// A FAIL is a `fail` result with a level from its severity. An INCONCLUSIVE one is a `review`
/// result, which SARIF (3.27.10) allows no level but `none`: its level is left out.
fn level(f: &Finding) -> Option<&'static str> {
    match (f.outcome, f.severity) {
        (Outcome::Inconclusive, _) => None,
        (_, Severity::Critical | Severity::High) => Some("error"),
        (_, Severity::Medium) => Some("warning"),
        _ => Some("note"),
    }
}

/// GitHub's `security-severity` bands: > 9.0 critical, 7.0–8.9 high, 4.0–6.9 medium, 0.1–3.9 low.
fn security_severity(s: Severity) -> Option<&'static str> {
    match s {
        Severity::Critical => Some("9.5"),
        Severity::High => Some("8.0"),
        Severity::Medium => Some("5.5"),
        Severity::Low => Some("3.0"),
        Severity::Info => None,
    }
}

/// The image as the report names it. A relative path is kept (in CI it is the path in the
/// repository, which is what code scanning links to); an absolute one is cut to its file name,
/// because the assessor's disk layout means nothing to the reader and would break fingerprints
/// across machines.
fn image_uri(r: &Report) -> String {
    let Some(fw) = &r.subject.firmware else {
        return r.subject.device.clone().unwrap_or_else(|| "device".into());
    };
    let p = std::path::Path::new(&fw.input);
    let s = if p.is_absolute() {
        p.file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| "firmware".into())
    } else {
        fw.input.trim_start_matches("./").to_string()
    };
    crate::uri_escape(&s)
}

/// Where, inside the evidence, a location points; stable across runs on one image.
fn place(loc: &Location) -> String {
    match loc {
        Location::File { path, .. } => path.clone(),
        Location::Image {
            offset, provenance, ..
        } => format!("{provenance}@0x{offset:x}"),
        Location::Network {
            host,
            port,
            protocol,
            ..
        } => format!("{protocol}://{host}:{port}"),
        Location::Document { source, .. } => source.clone(),
        Location::Statement { file, .. } => file.clone(),
    }
}

/// Lower case, one space between words: cosmetic rewording of whitespace or case does not make
/// a finding new.
fn normalise(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

pub fn fingerprint(f: &Finding) -> String {
    let at = f
        .evidence
        .first()
        .map(|e| place(&e.location))
        .unwrap_or_default();
    let mut h = Sha256::new();
    for part in [f.check.as_str(), at.as_str(), normalise(&f.title).as_str()] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    hex::encode(&h.finalize()[..16])
}

fn location(r: &Report, loc: &Location, image: &str) -> Value {
    let (uri, region, logical) = match loc {
        Location::File {
            path,
            provenance,
            line,
            ..
        } => (
            image.to_string(),
            line.map(|l| json!({ "startLine": l.max(1) })),
            Some(
                json!({ "name": path, "fullyQualifiedName": crate::public_text(r, provenance), "kind": "resource" }),
            ),
        ),
        Location::Image {
            offset,
            length,
            provenance,
        } => {
            let mut reg = json!({ "byteOffset": offset });
            if let Some(len) = length {
                reg["byteLength"] = json!(len);
            }
            (
                image.to_string(),
                Some(reg),
                Some(
                    json!({ "name": format!("@0x{offset:x}"), "fullyQualifiedName": crate::public_text(r, provenance), "kind": "resource" }),
                ),
            )
        }
        Location::Network { .. } => (crate::uri_escape(&loc.cite()), None, None),
        Location::Document { source, line } => (
            crate::uri_escape(source),
            line.map(|l| json!({ "startLine": l.max(1) })),
            None,
        ),
        Location::Statement { file, line } => (
            crate::uri_escape(file),
            line.map(|l| json!({ "startLine": l.max(1) })),
            None,
        ),
    };
    let mut phys = json!({ "artifactLocation": { "uri": uri } });
    if let Some(r) = region {
        phys["region"] = r;
    }
    let mut v = json!({ "physicalLocation": phys });
    if let Some(l) = logical {
        v["logicalLocations"] = json!([l]);
    }
    v
}

fn rule(check: &str, provisions: &BTreeSet<String>, r: &Report, worst: Option<Severity>) -> Value {
    let cat = catalog();
    let lines: Vec<String> = provisions
        .iter()
        .map(|p| {
            let title = cat
                .provision(p)
                .map(|x| format!("{}: {}", x.title, x.requirement))
                .or_else(|| r.verdict(p).map(|v| v.title.clone()))
                .unwrap_or_default();
            format!("- {p} {title}")
        })
        .collect();
    let source = r
        .checks
        .iter()
        .find(|c| c.check == check)
        .map(|c| c.source.as_str())
        .unwrap_or("firmware");
    let short = format!("iotassure check {check} ({source} evidence)");
    let full = format!(
        "The {source} check {check} bears on {}.",
        provisions.iter().cloned().collect::<Vec<_>>().join(", ")
    );
    let help = format!(
        "{full} A FAIL result shows a provision violated; an INCONCLUSIVE result names what a person must still confirm. The provisions (ETSI EN 303 645 V2.1.1 and scheme requirements):\n{}",
        lines.join("\n")
    );
    let mut tags: Vec<String> = vec!["security".into(), "firmware".into()];
    tags.extend(provisions.iter().map(|p| format!("en303645/{p}")));
    tags.truncate(MAX_TAGS);
    let mut props = json!({ "tags": tags, "provisions": provisions });
    if let Some(s) = worst.and_then(security_severity) {
        props["security-severity"] = json!(s);
    }
    json!({
        "id": check,
        "name": check,
        "shortDescription": { "text": clip(&short) },
        "fullDescription": { "text": clip(&full) },
        "help": { "text": help.clone(), "markdown": help },
        "properties": props,
    })
}

pub fn sarif(r: &Report) -> Value {
    let image = image_uri(r);
    // Every check that ran or yielded a finding gets a rule, so a rule list is stable whatever
    // it found.
    let mut checks: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for c in &r.checks {
        checks
            .entry(c.check.clone())
            .or_default()
            .extend(c.provisions.iter().cloned());
    }
    let reported: Vec<&Finding> = r
        .findings
        .iter()
        .filter(|f| matches!(f.outcome, Outcome::Fail | Outcome::Inconclusive))
        .collect();
    let mut worst: BTreeMap<&str, Severity> = BTreeMap::new();
    for f in &reported {
        checks
            .entry(f.check.clone())
            .or_default()
            .extend(f.provisions.iter().cloned());
        let w = worst.entry(f.check.as_str()).or_insert(f.severity);
        *w = (*w).max(f.severity);
    }
    let index: BTreeMap<&str, usize> = checks
        .keys()
        .enumerate()
        .map(|(i, k)| (k.as_str(), i))
        .collect();
    let rules: Vec<Value> = checks
        .iter()
        .map(|(c, p)| rule(c, p, r, worst.get(c.as_str()).copied()))
        .collect();

    // Most severe first (a stable sort keeps the report's order within a severity), so that
    // what a cap drops is the least severe.
    let mut ordered = reported.clone();
    ordered.sort_by_key(|f| (std::cmp::Reverse(f.severity), f.outcome != Outcome::Fail));
    let dropped = ordered.len().saturating_sub(MAX_RESULTS);
    ordered.truncate(MAX_RESULTS);
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let results: Vec<Value> = ordered
        .iter()
        .map(|f| {
            let mut fp = fingerprint(f);
            // Two findings alike in check, place and title (e.g. two lines of one file) must
            // still be two alerts: the second gets an occurrence number, deterministic because
            // the report's order is.
            let n = seen.entry(fp.clone()).or_insert(0);
            *n += 1;
            if *n > 1 {
                fp = format!("{fp}:{n}");
            }
            let mut text = f.title.clone();
            if let Some(d) = &f.detail {
                text.push_str(". ");
                text.push_str(d);
            }
            if f.outcome == Outcome::Inconclusive {
                text = format!("INCONCLUSIVE: {text}");
            }
            let mut locs: Vec<Value> = f
                .evidence
                .iter()
                .take(MAX_LOCATIONS)
                .map(|e| {
                    let mut l = location(r, &e.location, &image);
                    l["message"] = json!({ "text": clip(&crate::public_text(r, &e.excerpt)) });
                    l
                })
                .collect();
            if locs.is_empty() {
                locs.push(json!({ "physicalLocation": { "artifactLocation": { "uri": image } } }));
            }
            let related: Vec<Value> = locs
                .iter()
                .skip(1)
                .enumerate()
                .map(|(i, l)| {
                    let mut l = l.clone();
                    l["id"] = json!(i + 1);
                    l
                })
                .collect();
            let mut res = json!({
                "ruleId": f.check,
                "ruleIndex": index[f.check.as_str()],
                "kind": if f.outcome == Outcome::Fail { "fail" } else { "review" },
                "message": { "text": clip(&crate::public_text(r, &text)) },
                "locations": [locs[0].clone()],
                "partialFingerprints": { FINGERPRINT_KEY: fp },
                "properties": {
                    "outcome": f.outcome,
                    "severity": f.severity.as_str(),
                    "source": f.source.as_str(),
                    "provisions": f.provisions,
                    "heuristic": f.heuristic,
                },
            });
            if let Some(l) = level(f) {
                res["level"] = json!(l);
            }
            if !related.is_empty() {
                res["relatedLocations"] = json!(related);
            }
            res
        })
        .collect();

    let mut invocation = json!({ "executionSuccessful": true });
    if dropped > 0 {
        invocation["toolExecutionNotifications"] = json!([{
            "level": "warning",
            "message": { "text": format!("{dropped} less severe results were left out: code scanning shows at most {MAX_RESULTS} per run. report.json has them all.") },
        }]);
    }
    let mut run = json!({
        "tool": { "driver": {
            "name": r.tool.name,
            "version": r.tool.version,
            "semanticVersion": r.tool.version,
            "informationUri": "https://iotassure.dev",
            "rules": rules,
            "properties": { "catalog_version": r.tool.catalog_version },
        } },
        // One category per image, so that a repository that assesses several images in CI
        // keeps an alert list per image instead of each upload replacing the last.
        "automationDetails": { "id": format!("iotassure/{image}/") },
        "invocations": [invocation],
        "artifacts": [artifact(r, &image)],
        "results": results,
        "properties": {
            "profile": r.selected_profile,
            "profile_outcome": r.selected().map(|p| p.outcome.as_str()),
        },
    });
    if r.subject.firmware.is_none() {
        run.as_object_mut().unwrap().remove("artifacts");
    }
    json!({
        "$schema": "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json",
        "version": "2.1.0",
        "runs": [run],
    })
}

fn artifact(r: &Report, image: &str) -> Value {
    let mut a = json!({ "location": { "uri": image }, "roles": ["analysisTarget"] });
    if let Some(fw) = &r.subject.firmware {
        a["length"] = json!(fw.size);
        if !fw.sha256.is_empty() {
            a["hashes"] = json!({ "sha-256": fw.sha256 });
        }
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_counts_characters_not_bytes() {
        let s = "é".repeat(2000);
        let c = clip(&s);
        assert_eq!(c.chars().count(), MAX_TEXT);
        assert!(c.ends_with('…'));
        assert_eq!(clip("short"), "short");
    }
}
