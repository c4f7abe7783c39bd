//! The JSON Schema of report.json, as `iotassure report schema` prints it: generated from the
//! model, then given an `$id`, a pinned `schema_version` pattern, and closed objects.
//!
//! The model is closed: every object lists all its members, so a validator refuses a member it
//! does not know (a misspelt or forged field). Maps (`additionalProperties` already set) stay
//! open. An object whose members are split between its own `properties` and the branches of a
//! `oneOf` (a flattened enum, e.g. a check run's state) is closed branch by branch, each branch
//! carrying the shared members, because draft-07 has no `unevaluatedProperties`.

use serde_json::{json, Map, Value};

use crate::model::{Report, REPORT_SCHEMA, REPORT_SCHEMA_VERSION};

/// The `$id` of this major version of the schema.
pub fn schema_id() -> String {
    let major = REPORT_SCHEMA_VERSION.split('.').next().unwrap_or("1");
    format!("{REPORT_SCHEMA}/v{major}.json")
}

pub fn report_schema() -> Value {
    let mut s = serde_json::to_value(schemars::schema_for!(Report)).expect("schema is JSON");
    close(&mut s);
    let major = REPORT_SCHEMA_VERSION.split('.').next().unwrap_or("1");
    if let Value::Object(o) = &mut s {
        o.insert("$id".into(), json!(schema_id()));
        if let Some(Value::Object(props)) = o.get_mut("properties") {
            props.insert(
                "schema_version".into(),
                json!({"type": "string", "pattern": format!("^{major}\\.[0-9]+$"),
                       "description": format!("{major}.MINOR: readers of major version {major} read every minor version")}),
            );
            props.insert("schema".into(), json!({"const": REPORT_SCHEMA}));
        }
    }
    s
}

fn close(v: &mut Value) {
    match v {
        Value::Object(o) => {
            let shared = o.get("properties").and_then(Value::as_object).cloned();
            let mut split = false;
            if let Some(shared) = &shared {
                for key in ["oneOf", "anyOf"] {
                    if let Some(Value::Array(branches)) = o.get_mut(key) {
                        for b in branches.iter_mut() {
                            merge_into(b, shared);
                        }
                        split = true;
                    }
                }
            }
            if shared.is_some() && !split && !o.contains_key("additionalProperties") {
                o.insert("additionalProperties".into(), Value::Bool(false));
            }
            for (_, child) in o.iter_mut() {
                close(child);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(close),
        _ => {}
    }
}

fn merge_into(branch: &mut Value, shared: &Map<String, Value>) {
    if let Value::Object(b) = branch {
        let props = b
            .entry("properties")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(p) = props {
            for (k, v) in shared {
                p.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_are_closed_and_the_version_pinned() {
        let s = report_schema();
        assert_eq!(s["$id"], "https://iotassure.dev/schema/report/v1.json");
        assert_eq!(s["additionalProperties"], false);
        assert_eq!(s["properties"]["schema_version"]["pattern"], "^1\\.[0-9]+$");
        let run = &s["definitions"]["CheckRun"];
        assert!(run.get("additionalProperties").is_none());
        for b in run["oneOf"].as_array().unwrap() {
            assert_eq!(b["additionalProperties"], false);
            assert!(b["properties"]["check"].is_object(), "{b}");
        }
    }
}
