//! CycloneDX 1.6 SBOM (JSON) from the components an assessment identified.
//!
//! Each component carries its purl and CPE, a type (`operating-system` for the kernel,
//! `firmware` for MCU SDKs, `library` otherwise), and `evidence`: how it was identified
//! (`identity` with the technique: manifest analysis for package databases, binary analysis
//! for version banners, filename for library names) and where (`occurrences` with the
//! provenance chain and byte offset or line). The subject is the product by its maker's name
//! (see [`crate::sbom`]), and a package found several ways appears once.

use iotassure_assess::Report;
use iotassure_core::finding::Location;
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

fn component_type(name: &str) -> &'static str {
    match name {
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
    let components: Vec<Value> = crate::sbom::packages(r)
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut bom_ref = c.purl.clone();
            if !refs.insert(bom_ref.clone()) {
                bom_ref = format!("{bom_ref}#{i}");
                refs.insert(bom_ref.clone());
            }
            let methods: Vec<Value> = c
                .methods
                .iter()
                .map(|m| {
                    let (t, conf) = technique(m);
                    json!({ "technique": t, "confidence": conf, "value": m })
                })
                .collect();
            let best = methods
                .iter()
                .filter_map(|m| m["confidence"].as_f64())
                .fold(0.0, f64::max);
            let mut props =
                vec![json!({ "name": "iotassure:identified-by", "value": c.methods.join(", ") })];
            for v in &c.merged_versions {
                props.push(json!({ "name": "iotassure:also-seen-as-version", "value": v }));
            }
            let mut v = json!({
                "type": component_type(&c.name),
                "bom-ref": bom_ref,
                "name": c.name,
                "version": c.version,
                "purl": c.purl,
                "properties": props,
            });
            if let Some(cpe) = &c.cpe {
                v["cpe"] = json!(cpe);
            }
            if let Some(f) = c.sole_file() {
                v["hashes"] = json!([{ "alg": "SHA-256", "content": f.sha256 }]);
            }
            // Every file with its digest, as sha256sum prints them: with several files no one
            // hash is the component's, and even with one the path says which file it was.
            for f in &c.files {
                v["properties"]
                    .as_array_mut()
                    .expect("built above")
                    .push(json!({ "name": "iotassure:file-sha256", "value": format!("{}  {}", f.sha256, f.path) }));
            }
            let mut ev = json!({
                "identity": [{ "field": "purl", "confidence": best, "methods": methods }],
            });
            if !c.evidence.is_empty() {
                ev["occurrences"] = json!(c
                    .evidence
                    .iter()
                    .map(|e| {
                        let mut o = occurrence(&e.location);
                        o["additionalContext"] = json!(e.excerpt);
                        o
                    })
                    .collect::<Vec<_>>());
            }
            v["evidence"] = ev;
            v
        })
        .collect();
    let product = crate::sbom::product(r);
    let mut subject = json!({ "type": "firmware", "bom-ref": "subject", "name": product.name });
    if let Some(v) = &product.version {
        subject["version"] = json!(v);
    }
    if let Some(s) = &product.supplier {
        subject["supplier"] = json!({ "name": s });
    }
    let mut seed = format!("{}\n{}", product.name, r.generated_at);
    if let Some(h) = &product.sha256 {
        subject["hashes"] = json!([{ "alg": "SHA-256", "content": h }]);
        seed.push_str(h);
    }
    let meta = json!({
        "timestamp": r.generated_at,
        "tools": { "components": [{ "type": "application", "name": r.tool.name, "version": r.tool.version }] },
        "component": subject,
    });
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
