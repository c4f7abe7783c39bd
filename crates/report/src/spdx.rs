//! SPDX 2.3 SBOM (JSON), with the same rules as the CycloneDX one ([`crate::sbom`]): the
//! product by its maker's name, one package per component, purls of a real type where one
//! exists, the image's SHA-256.
//!
//! Licences are `NOASSERTION`: a firmware image rarely says under which licence each binary was
//! built, and guessing would be worse than saying nothing.

use iotassure_assess::Report;
use serde_json::{json, Value};

/// SPDX ids allow letters, digits, `.` and `-` only.
fn id_part(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// SPDX wants `YYYY-MM-DDThh:mm:ssZ`, without fractions of a second.
fn created(ts: &str) -> String {
    let b = ts.as_bytes();
    if b.len() >= 19 && b[10] == b'T' {
        format!("{}Z", &ts[..19])
    } else {
        "1970-01-01T00:00:00Z".into()
    }
}

pub fn spdx(r: &Report) -> Value {
    let product = crate::sbom::product(r);
    let mut prod = json!({
        "SPDXID": "SPDXRef-Product",
        "name": product.name,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "primaryPackagePurpose": "FIRMWARE",
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": "NOASSERTION",
        "copyrightText": "NOASSERTION",
        "supplier": product.supplier.as_ref().map(|s| format!("Organization: {s}")).unwrap_or_else(|| "NOASSERTION".into()),
    });
    if let Some(v) = &product.version {
        prod["versionInfo"] = json!(v);
    }
    if let Some(h) = &product.sha256 {
        prod["checksums"] = json!([{ "algorithm": "SHA256", "checksumValue": h }]);
    }
    let mut packages = vec![prod];
    let mut relationships = vec![json!({
        "spdxElementId": "SPDXRef-DOCUMENT",
        "relationshipType": "DESCRIBES",
        "relatedSpdxElement": "SPDXRef-Product",
    })];
    for (i, p) in crate::sbom::packages(r).iter().enumerate() {
        let id = format!("SPDXRef-Package-{i}-{}", id_part(&p.name));
        let mut refs = vec![json!({
            "referenceCategory": "PACKAGE-MANAGER",
            "referenceType": "purl",
            "referenceLocator": p.purl,
        })];
        if let Some(cpe) = &p.cpe {
            refs.push(json!({ "referenceCategory": "SECURITY", "referenceType": "cpe23Type", "referenceLocator": cpe }));
        }
        let mut source = format!("identified by {}", p.methods.join(", "));
        if let Some(e) = p.evidence.first() {
            source.push_str(&format!(" at {}", e.location.cite()));
        }
        let mut pkg = json!({
            "SPDXID": id,
            "name": p.name,
            "versionInfo": p.version,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": false,
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": "NOASSERTION",
            "copyrightText": "NOASSERTION",
            "externalRefs": refs,
            "sourceInfo": source,
        });
        let mut comment = Vec::new();
        if !p.merged_versions.is_empty() {
            comment.push(format!(
                "Also seen as version {} (a less precise reading of the same package).",
                p.merged_versions.join(", ")
            ));
        }
        if let Some(f) = p.sole_file() {
            pkg["checksums"] = json!([{ "algorithm": "SHA256", "checksumValue": f.sha256 }]);
            pkg["packageFileName"] = json!(f.path);
        } else if !p.files.is_empty() {
            comment.push(format!(
                "Files (SHA-256): {}.",
                p.files
                    .iter()
                    .map(|f| format!("{} {}", f.path, f.sha256))
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
        }
        if !comment.is_empty() {
            pkg["comment"] = json!(comment.join(" "));
        }
        packages.push(pkg);
        relationships.push(json!({
            "spdxElementId": "SPDXRef-Product",
            "relationshipType": "CONTAINS",
            "relatedSpdxElement": id,
        }));
    }
    let seed = format!(
        "{}|{}|{}",
        product.name,
        product.sha256.as_deref().unwrap_or(""),
        r.generated_at
    );
    let ns = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, seed.as_bytes());
    json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": format!("SBOM of {}", product.name),
        "documentNamespace": format!("https://iotassure.dev/spdx/{}-{ns}", id_part(&product.name)),
        "creationInfo": {
            "created": created(&r.generated_at),
            "creators": [format!("Tool: {}-{}", r.tool.name, r.tool.version)],
        },
        "documentDescribes": ["SPDXRef-Product"],
        "packages": packages,
        "relationships": relationships,
    })
}
