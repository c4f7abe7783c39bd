//! CycloneDX 1.6 SBOM (JSON) from the components an assessment identified.

use iotassure_assess::Report;
use serde_json::{json, Value};

pub fn cyclonedx(r: &Report) -> Value {
    let components: Vec<Value> = r
        .components
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut v = json!({
                "type": "library",
                "bom-ref": format!("component-{i}"),
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
            if let Some(e) = c.evidence.first() {
                v["evidence"] = json!({ "occurrences": [{ "location": e.location.cite() }] });
            }
            v
        })
        .collect();
    let subject = r.subject.firmware.as_ref().map(|f| f.input.clone()).unwrap_or_else(|| "device".into());
    let mut meta = json!({
        "timestamp": r.generated_at,
        "tools": { "components": [{ "type": "application", "name": r.tool.name, "version": r.tool.version }] },
        "component": { "type": "firmware", "bom-ref": "subject", "name": subject },
    });
    if let Some(fw) = &r.subject.firmware {
        if !fw.sha256.is_empty() {
            meta["component"]["hashes"] = json!([{ "alg": "SHA-256", "content": fw.sha256 }]);
        }
    }
    json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "metadata": meta,
        "components": components,
    })
}
