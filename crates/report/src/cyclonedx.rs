//! CycloneDX 1.6 SBOM (JSON) from the components an assessment identified.
//!
//! Each component carries its purl and CPE, a type (`operating-system` for the kernel,
//! `firmware` for MCU SDKs, `library` otherwise), and `evidence`: how it was identified
//! (`identity` with the technique: manifest analysis for package databases, binary analysis
//! for version banners, filename for library names) and where (`occurrences` with the
//! provenance chain and byte offset or line).

use iotassure_assess::Report;
use iotassure_core::finding::{Component, Location};
use serde_json::{json, Value};

/// CycloneDX identity technique for an iotassure method.
fn technique(method: &str) -> (&'static str, f64) {
    match method {
        m if m.ends_with("-status") || m.ends_with("-installed") || m == "release-file" => {
            ("manifest-analysis", 0.9)
        }
        "binary-banner"
        | "binary-string"
        | "module-vermagic"
        | "kernel-release-string"
        | "esp-app-desc" => ("binary-analysis", 0.8),
        "library-file-name" | "modules-dir" => ("filename", 0.6),
        _ => ("other", 0.5),
    }
}

fn component_type(c: &Component) -> &'static str {
    match c.name.as_str() {
        "linux" => "operating-system",
        "esp-idf" => "framework",
        "openwrt" | "exploitlab" | "debian" | "ubuntu" | "alpine" => "operating-system",
        _ => "library",
    }
}

fn occurrence(loc: &Location) -> Value {
    let mut o = json!({ "location": loc.cite() });
    match loc {
        Location::File { line, offset, .. } => {
            if let Some(l) = line {
                o["line"] = json!(l);
            }
            if let Some(off) = offset {
                o["offset"] = json!(off);
            }
        }
        Location::Image { offset, .. } => o["offset"] = json!(offset),
        _ => {}
    }
    o
}

pub fn cyclonedx(r: &Report) -> Value {
    let mut refs = std::collections::BTreeSet::new();
    let components: Vec<Value> = r
        .components
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut bom_ref = c.purl.clone().unwrap_or_else(|| format!("component-{i}"));
            if !refs.insert(bom_ref.clone()) {
                bom_ref = format!("{bom_ref}#{i}");
                refs.insert(bom_ref.clone());
            }
            let methods: Vec<Value> = c
                .method
                .split(", ")
                .map(|m| {
                    let (t, conf) = technique(m);
                    json!({ "technique": t, "confidence": conf, "value": m })
                })
                .collect();
            let best = methods.iter().filter_map(|m| m["confidence"].as_f64()).fold(0.0, f64::max);
            let mut v = json!({
                "type": component_type(c),
                "bom-ref": bom_ref,
                "name": c.name,
                "version": c.version,
                "properties": [{ "name": "iotassure:identified-by", "value": c.method }],
            });
            if let Some(p) = &c.purl {
                v["purl"] = json!(p);
            }
            if let Some(cpe) = &c.cpe {
                v["cpe"] = json!(cpe);
            }
            let mut ev = json!({
                "identity": [{ "field": if c.purl.is_some() { "purl" } else { "name" }, "confidence": best, "methods": methods }],
            });
            if !c.evidence.is_empty() {
                ev["occurrences"] = json!(c.evidence.iter().map(|e| {
                    let mut o = occurrence(&e.location);
                    o["additionalContext"] = json!(e.excerpt);
                    o
                }).collect::<Vec<_>>());
            }
            v["evidence"] = ev;
            v
        })
        .collect();
    let subject = r
        .subject
        .firmware
        .as_ref()
        .map(|f| f.input.clone())
        .unwrap_or_else(|| "device".into());
    let mut meta = json!({
        "timestamp": r.generated_at,
        "tools": { "components": [{ "type": "application", "name": r.tool.name, "version": r.tool.version }] },
        "component": { "type": "firmware", "bom-ref": "subject", "name": subject },
    });
    let mut seed = format!("{subject}\n{}", r.generated_at);
    if let Some(fw) = &r.subject.firmware {
        if !fw.sha256.is_empty() {
            meta["component"]["hashes"] = json!([{ "alg": "SHA-256", "content": fw.sha256 }]);
            seed.push_str(&fw.sha256);
        }
    }
    let serial = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, seed.as_bytes());
    let deps: Vec<Value> = vec![json!({
        "ref": "subject",
        "dependsOn": components.iter().map(|c| c["bom-ref"].clone()).collect::<Vec<_>>(),
    })];
    json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": format!("urn:uuid:{serial}"),
        "version": 1,
        "metadata": meta,
        "components": components,
        "dependencies": deps,
    })
}
