//! Export of the EN 303 645 provisions as an OSCAL 1.1 catalog (JSON).
//!
//! Control ids must be OSCAL tokens, which cannot start with a digit: `5.1-1` becomes
//! `en303645-5.1-1`, with the provision id kept as the `label` prop. Props that OSCAL does not
//! define carry iotassure's namespace. UUIDs are name-based (v5) so the export is reproducible.

use serde_json::{json, Value};
use uuid::Uuid;

use super::Catalog;

/// Namespace for iotassure-defined OSCAL props.
pub const OSCAL_NS: &str = "https://iotassure.dev/ns/oscal";
/// Changed whenever the catalogue data changes.
pub const CATALOG_VERSION: &str = "2026.11.1";
const LAST_MODIFIED: &str = "2026-11-21T00:00:00Z";

fn uuid_for(name: &str) -> String {
    Uuid::new_v5(
        &Uuid::NAMESPACE_URL,
        format!("https://iotassure.dev/catalog/{name}").as_bytes(),
    )
    .to_string()
}

/// `5.1-1` → `en303645-5.1-1`.
pub fn control_id(provision: &str) -> String {
    format!("en303645-{provision}")
}

fn prop(name: &str, value: &str) -> Value {
    json!({ "name": name, "ns": OSCAL_NS, "value": value })
}

pub fn oscal_catalog(cat: &Catalog) -> Value {
    let standard_uuid = uuid_for("resource/en303645");
    let groups: Vec<Value> = cat
        .clauses
        .iter()
        .map(|clause| {
            let controls: Vec<Value> = cat
                .provisions
                .iter()
                .filter(|p| p.clause == clause.id)
                .map(|p| {
                    let cid = control_id(&p.id);
                    let mut props = vec![
                        json!({ "name": "label", "value": p.id }),
                        json!({ "name": "sort-id", "value": sort_id(&p.id) }),
                        prop("status", p.status.as_str()),
                        prop("status-label", &p.status_label()),
                    ];
                    for c in &p.conditions {
                        props.push(prop("condition", &c.to_string()));
                    }
                    for (scheme, items) in cat.crosswalk(&p.id) {
                        for i in items {
                            props.push(prop(&format!("crosswalk-{scheme}"), &i));
                        }
                    }
                    let mut parts = vec![json!({
                        "id": format!("{cid}_smt"),
                        "name": "statement",
                        "prose": p.requirement,
                    })];
                    parts.push(json!({ "id": format!("{cid}_gdn"), "name": "guidance", "prose": p.summary }));
                    if !p.conditions.is_empty() {
                        let text: Vec<String> = p
                            .conditions
                            .iter()
                            .filter_map(|c| cat.condition(*c))
                            .map(|c| format!("Condition {}: {}", c.id, c.text))
                            .collect();
                        parts.push(json!({
                            "id": format!("{cid}_app"),
                            "name": "applicability",
                            "ns": OSCAL_NS,
                            "prose": format!("Applies only where: {}", text.join(" AND ")),
                        }));
                    }
                    json!({
                        "id": cid,
                        "class": "provision",
                        "title": p.title,
                        "props": props,
                        "links": [{ "href": format!("#{standard_uuid}"), "rel": "reference" }],
                        "parts": parts,
                    })
                })
                .collect();
            json!({
                "id": format!("en303645-{}", clause.id),
                "class": "clause",
                "title": clause.title,
                "props": [{ "name": "label", "value": clause.id }],
                "controls": controls,
            })
        })
        .collect();
    json!({
        "catalog": {
            "uuid": uuid_for("catalog"),
            "metadata": {
                "title": "ETSI EN 303 645 V2.1.1 - Cyber Security for Consumer Internet of Things: Baseline Requirements (iotassure catalogue)",
                "last-modified": LAST_MODIFIED,
                "version": CATALOG_VERSION,
                "oscal-version": "1.1.2",
                "remarks": "Provision summaries are iotassure's own words; consult the standard for the normative text.",
            },
            "groups": groups,
            "back-matter": {
                "resources": [{
                    "uuid": standard_uuid,
                    "title": cat.standard,
                    "rlinks": [{ "href": "https://www.etsi.org/deliver/etsi_en/303600_303699/303645/02.01.01_60/en_303645v020101p.pdf" }],
                }],
            },
        }
    })
}

fn sort_id(id: &str) -> String {
    super::provision_sort_key(id)
        .iter()
        .map(|n| format!("{n:03}"))
        .collect::<Vec<_>>()
        .join(".")
}
