//! JSON Signature Format (JSF 0.82) with Ed25519, as CycloneDX's `signature` property takes it,
//! over the JSON Canonicalization Scheme (RFC 8785) form of the signed object.
//!
//! The signing is done here; the key stays with the caller (a closure signs the bytes), so this
//! crate needs no key handling.

use base64::Engine;
use serde_json::{json, Map, Number, Value};

const B64URL: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The RFC 8785 form of `v`: object members sorted by their UTF-16 code units, no whitespace,
/// strings escaped as ECMAScript's JSON.stringify does, numbers as ECMAScript prints them.
pub fn canonical(v: &Value) -> String {
    let mut out = String::new();
    write(v, &mut out);
    out
}

fn write(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number(n)),
        Value::String(s) => string(s, out),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(x, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                string(k, out);
                out.push(':');
                write(&m[*k], out);
            }
            out.push('}');
        }
    }
}

/// ECMAScript's Number::toString: integers without a fraction, the shortest digits that read
/// back to the same double, exponent form below 1e-6 and from 1e21 (`1e+21`, `1.5e-7`).
fn number(n: &Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    let f = n.as_f64().unwrap_or(0.0);
    if f == 0.0 {
        return "0".into();
    }
    let a = f.abs();
    if (1e-6..1e21).contains(&a) {
        // Rust prints the shortest round-trip digits without an exponent, as ECMAScript does
        // in this range; an integral value prints without ".0".
        let s = format!("{f}");
        return s.strip_suffix(".0").map(str::to_string).unwrap_or(s);
    }
    let s = format!("{f:e}");
    match s.split_once('e') {
        Some((m, e)) if !e.starts_with('-') => format!("{m}e+{e}"),
        _ => s,
    }
}

fn string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Signs the object `doc` in place: adds `signature` (algorithm Ed25519, the public key as a
/// JWK, `key_id`), signs the canonical form of the whole object with that signature but no
/// `value`, and adds the value. A verifier removes `value`, canonicalizes and checks.
pub fn sign_ed25519(
    doc: &mut Value,
    public_key: &[u8; 32],
    key_id: &str,
    sign: impl FnOnce(&[u8]) -> [u8; 64],
) {
    let mut sig = Map::new();
    sig.insert("algorithm".into(), json!("Ed25519"));
    sig.insert("keyId".into(), json!(key_id));
    sig.insert(
        "publicKey".into(),
        json!({ "kty": "OKP", "crv": "Ed25519", "x": B64URL.encode(public_key) }),
    );
    doc["signature"] = Value::Object(sig);
    let bytes = canonical(doc);
    let value = sign(bytes.as_bytes());
    doc["signature"]["value"] = json!(B64URL.encode(value));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_form_follows_rfc8785() {
        // Key order by UTF-16 code units, numbers as ECMAScript prints them, minimal escapes.
        let v: Value = serde_json::from_str(
            r#"{"b":[1.0,0.5,-0.0,1e21,1.5e-7,100],"a":"x\u0001\n\"/é","\uff61":3,"€":1,"\ud83d\ude00":2}"#,
        )
        .unwrap();
        assert_eq!(
            canonical(&v),
            "{\"a\":\"x\\u0001\\n\\\"/é\",\"b\":[1,0.5,0,1e+21,1.5e-7,100],\"€\":1,\"😀\":2,\"｡\":3}"
        );
    }
}
