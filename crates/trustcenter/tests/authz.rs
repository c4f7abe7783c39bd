//! The authorisation matrix: every endpoint × every role, against an expected table written
//! here independently of the handlers, plus a maker reaching for another maker's records.

mod common;

use common::{Backend, Tc};
use serde_json::json;

/// Roles, in matrix column order.
const ROLES: [&str; 6] = [
    "admin",
    "certifier",
    "maker",
    "operator",
    "researcher",
    "public",
];

/// Every role, the public included.
const EVERYONE: &[&str] = &ROLES;

/// (method, path template, roles allowed). `{cert}`, `{assessment}`, `{org}`, `{token}` are
/// filled from fixtures. A role not allowed must get 401 (no token) or 403 (another role).
const MATRIX: &[(&str, &str, &[&str])] = &[
    ("GET", "/api/v1/openapi.json", EVERYONE),
    ("GET", "/api/v1/keys", EVERYONE),
    ("POST", "/api/v1/keys/rotate", &["admin"]),
    ("GET", "/api/v1/orgs", &["admin", "certifier"]),
    ("POST", "/api/v1/orgs", &["admin"]),
    ("PUT", "/api/v1/orgs/{org}/webhook", &["admin", "maker"]),
    ("POST", "/api/v1/tokens", &["admin"]),
    ("DELETE", "/api/v1/tokens/{token}", &["admin"]),
    ("POST", "/api/v1/assessments", &["certifier", "maker"]),
    (
        "GET",
        "/api/v1/assessments/{assessment}",
        &["admin", "certifier", "maker"],
    ),
    (
        "GET",
        "/api/v1/assessments/{assessment}/report",
        &["admin", "certifier", "maker"],
    ),
    ("GET", "/api/v1/certificates", EVERYONE),
    ("POST", "/api/v1/certificates", &["certifier"]),
    ("GET", "/api/v1/certificates/{cert}", EVERYONE),
    ("GET", "/api/v1/certificates/{cert}/attestation", EVERYONE),
    (
        "POST",
        "/api/v1/certificates/{cert}/status",
        &["admin", "certifier"],
    ),
    ("GET", "/api/v1/certificates/{cert}/changes", EVERYONE),
    (
        "GET",
        "/api/v1/admission?sha256={sha}",
        &["admin", "certifier", "operator"],
    ),
    (
        "POST",
        "/api/v1/admission/batch",
        &["admin", "certifier", "operator"],
    ),
    ("POST", "/api/v1/advisories", &["admin", "certifier"]),
    ("POST", "/api/v1/recheck", &["admin", "certifier"]),
    (
        "GET",
        "/api/v1/changes",
        &["admin", "certifier", "operator"],
    ),
    ("POST", "/api/v1/vex", &["admin", "certifier", "maker"]),
    ("POST", "/api/v1/jobs", &["certifier", "maker"]),
    (
        "GET",
        "/api/v1/jobs/00000000-0000-4000-8000-000000000000",
        &["admin", "certifier", "maker"],
    ),
    ("GET", "/api/v1/audit", &["admin"]),
    ("GET", "/api/v1/audit/verify", &["admin"]),
    ("POST", "/api/v1/reports", EVERYONE),
    ("GET", "/api/v1/reports", &["admin", "maker", "researcher"]),
    (
        "GET",
        "/api/v1/reports/{report}",
        &["admin", "maker", "researcher"],
    ),
    (
        "POST",
        "/api/v1/reports/{report}/transition",
        &["admin", "maker"],
    ),
    (
        "POST",
        "/api/v1/reports/{report}/messages",
        &["admin", "maker", "researcher"],
    ),
    (
        "GET",
        "/api/v1/reports/{report}/attachments/0",
        &["admin", "maker", "researcher"],
    ),
    ("GET", "/api/v1/follow/{secret}", EVERYONE),
    ("POST", "/api/v1/follow/{secret}/messages", EVERYONE),
    ("GET", "/api/v1/orgs/{org}/disclosure-policy", EVERYONE),
    (
        "PUT",
        "/api/v1/orgs/{org}/disclosure-policy",
        &["admin", "maker"],
    ),
    ("GET", "/api/v1/orgs/{org}/track-record", EVERYONE),
];

both!(matrix, |b: Backend| {
    let Some(tc) = Tc::start(b) else { return };
    let (_, lab) = tc.org_token("Lab", "lab", "certifier");
    let (maker_id, maker) = tc.org_token("Example Plugs Ltd", "maker", "maker");
    let (_, op) = tc.org_token("Operator", "operator", "operator");
    let researcher = tc.token("researcher");
    let report = common::passing_report();
    let (s, sub) = tc.post_raw(
        &format!("/api/v1/assessments?maker={maker_id}&support_end=2031-12-31"),
        Some(&lab),
        report,
    );
    assert_eq!(s, 201, "{sub}");
    let assessment = sub["id"].as_str().unwrap().to_string();
    let sha = sub["image_sha256"].as_str().unwrap().to_string();
    let (s, cert) = tc.post(
        "/api/v1/certificates",
        Some(&lab),
        &json!({"assessment": assessment, "profile": "uk-psti"}),
    );
    assert_eq!(s, 201, "{cert}");
    let cert = cert["id"].as_str().unwrap().to_string();
    // A report filed by the researcher, so "its reporter" is one of the roles tried.
    let (s, filed) = tc.post(
        "/api/v1/reports",
        Some(&researcher),
        &json!({"certificate": cert, "title": "matrix", "description": "d"}),
    );
    assert_eq!(s, 201, "{filed}");
    let report_id = filed["id"].as_str().unwrap().to_string();
    let secret = filed["secret"].as_str().unwrap().to_string();
    let tokens = |role: &str| -> Option<String> {
        match role {
            "admin" => Some(tc.admin.clone()),
            "certifier" => Some(lab.clone()),
            "maker" => Some(maker.clone()),
            "operator" => Some(op.clone()),
            "researcher" => Some(researcher.clone()),
            _ => None,
        }
    };
    let mut checked = 0;
    let mut failures = Vec::new();
    for (method, tpl, allowed) in MATRIX {
        for role in ROLES {
            // A throwaway token to revoke, so the DELETE row can be tried by each role.
            let (_, victim) = tc.post(
                "/api/v1/tokens",
                Some(&tc.admin),
                &json!({"role": "researcher"}),
            );
            let victim_id = victim["id"].as_str().unwrap().to_string();
            let path = tpl
                .replace("{cert}", &cert)
                .replace("{assessment}", &assessment)
                .replace("{org}", &maker_id)
                .replace("{token}", &victim_id)
                .replace("{sha}", &sha)
                .replace("{report}", &report_id)
                .replace("{secret}", &secret);
            // Bodies that would be valid, so a refusal can only come from authorisation.
            let body = match (*method, *tpl) {
                ("POST", "/api/v1/orgs") => Some(json!({"name": format!("Org {role} {checked}"), "kind": "maker"}).to_string()),
                ("PUT", "/api/v1/orgs/{org}/disclosure-policy") => Some(json!({"ack_days": 5, "update_days": 14, "fix_days": 90, "disclose_days": 90}).to_string()),
                ("PUT", _) => Some(json!({"url": "http://127.0.0.1:9/hook"}).to_string()),
                ("POST", "/api/v1/reports") => Some(json!({"certificate": cert, "title": format!("by {role}"), "description": "d"}).to_string()),
                ("POST", "/api/v1/reports/{report}/transition") => Some(json!({"to": "acknowledged"}).to_string()),
                ("POST", p) if p.ends_with("/messages") => Some(json!({"body": format!("from {role}")}).to_string()),
                ("POST", "/api/v1/tokens") => Some(json!({"role": "researcher"}).to_string()),
                ("POST", "/api/v1/assessments") => Some(String::from_utf8(common::passing_report()).unwrap()),
                ("POST", "/api/v1/certificates") => Some(json!({"assessment": assessment, "profile": "uk-psti"}).to_string()),
                ("POST", "/api/v1/certificates/{cert}/status") => Some(json!({"status": "suspended", "reason": "matrix test"}).to_string()),
                ("POST", "/api/v1/admission/batch") => Some(json!({"subjects": [{"sha256": sha}]}).to_string()),
                ("POST", "/api/v1/advisories") => Some("[]".to_string()),
                ("POST", "/api/v1/vex") => Some(json!({"firmware": sha, "vulnerability": "CVE-2000-0001", "component": "busybox", "status": "under_investigation"}).to_string()),
                ("POST", _) => Some(String::new()),
                _ => None,
            };
            let token = tokens(role);
            let url = format!("{}{path}", tc.base);
            let path_q = if *tpl == "/api/v1/assessments" {
                format!("{url}?maker={maker_id}")
            } else {
                url
            };
            let (s, v) = common::call(
                method,
                &path_q,
                token.as_deref(),
                body.map(String::into_bytes),
            );
            let want_allowed = allowed.contains(&role);
            let ok = if want_allowed {
                // Allowed: anything but 401/403 (a 409 duplicate or 422 is a business answer).
                s != 401 && s != 403
            } else if role == "public" {
                s == 401
            } else {
                s == 403
            };
            if !ok {
                failures.push(format!("{method} {tpl} as {role}: {s} {v}"));
            }
            checked += 1;
        }
    }
    assert_eq!(checked, MATRIX.len() * ROLES.len());
    // The OpenAPI document, generated from the handlers, lists every endpoint of the matrix.
    let (_, doc) = tc.get("/api/v1/openapi.json", None);
    assert_eq!(doc["openapi"], "3.1.0");
    for (method, tpl, _) in MATRIX {
        if *tpl == "/api/v1/openapi.json" {
            continue;
        }
        let path = tpl
            .split('?')
            .next()
            .unwrap()
            .replace("{cert}", "{id}")
            .replace("{assessment}", "{id}")
            .replace("{org}", "{id}")
            .replace("{token}", "{id}")
            .replace("{report}", "{id}")
            .replace("/attachments/0", "/attachments/{n}");
        let path = if path.starts_with("/api/v1/jobs/0") {
            "/api/v1/jobs/{id}".to_string()
        } else {
            path
        };
        assert!(
            doc["paths"][&path][method.to_lowercase()].is_object(),
            "{method} {path} is not in openapi.json"
        );
    }
    assert!(
        failures.is_empty(),
        "authorisation matrix broken:\n{}",
        failures.join("\n")
    );
});

both!(maker_cannot_reach_another_makers_records, |b: Backend| {
    let Some(tc) = Tc::start(b) else { return };
    let (_, lab) = tc.org_token("Lab", "lab", "certifier");
    let (maker_a, _token_a) = tc.org_token("Maker A", "maker", "maker");
    let (maker_b, token_b) = tc.org_token("Maker B", "maker", "maker");
    let (s, sub) = tc.post_raw(
        &format!("/api/v1/assessments?maker={maker_a}"),
        Some(&lab),
        common::passing_report(),
    );
    assert_eq!(s, 201, "{sub}");
    let id = sub["id"].as_str().unwrap();
    // B reads A's assessment: the same answer as for a missing id.
    let (s, v) = tc.get(&format!("/api/v1/assessments/{id}"), Some(&token_b));
    assert_eq!(s, 404, "{v}");
    let (s, _) = tc.get(&format!("/api/v1/assessments/{id}/report"), Some(&token_b));
    assert_eq!(s, 404);
    // B submits in A's name.
    let (s, v) = tc.post_raw(
        &format!("/api/v1/assessments?maker={maker_a}"),
        Some(&token_b),
        common::passing_report(),
    );
    assert_eq!(s, 403, "{v}");
    // B sets A's webhook.
    let (s, v) = common::call(
        "PUT",
        &format!("{}/api/v1/orgs/{maker_a}/webhook", tc.base),
        Some(&token_b),
        Some(
            json!({"url": "http://127.0.0.1:9/x"})
                .to_string()
                .into_bytes(),
        ),
    );
    assert_eq!(s, 403, "{v}");
    // B's VEX about A's firmware.
    let (s, v) = tc.post("/api/v1/vex", Some(&token_b), &json!({"firmware": sub["image_sha256"], "vulnerability": "CVE-2000-0001", "component": "busybox", "status": "under_investigation"}));
    assert_eq!(s, 404, "{v}");
    // B's own webhook works.
    let (s, v) = common::call(
        "PUT",
        &format!("{}/api/v1/orgs/{maker_b}/webhook", tc.base),
        Some(&token_b),
        Some(
            json!({"url": "http://127.0.0.1:9/x"})
                .to_string()
                .into_bytes(),
        ),
    );
    assert_eq!(s, 200, "{v}");
    // A token must belong to an organisation of its role's kind.
    let (s, t) = tc.post(
        "/api/v1/tokens",
        Some(&tc.admin),
        &json!({"role": "operator", "org": "Lab"}),
    );
    assert_eq!(
        s, 422,
        "an operator token needs an operator organisation: {t}"
    );
    // A revoked token stops working at once.
    let (_, t) = tc.post(
        "/api/v1/tokens",
        Some(&tc.admin),
        &json!({"role": "operator", "org": "Maker B"}),
    );
    assert!(t.get("token").is_none(), "{t}");
    let (_, op) = tc.org_token("Op", "operator", "operator");
    let (s, _) = tc.get("/api/v1/changes", Some(&op));
    assert_eq!(s, 200);
    let (_, list) = tc.get("/api/v1/audit?limit=1000", Some(&tc.admin));
    let op_token_id = list["entries"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|e| e["action"] == "token.create")
        .unwrap()["subject"]
        .as_str()
        .unwrap()
        .to_string();
    let (s, v) = common::call(
        "DELETE",
        &format!("{}/api/v1/tokens/{op_token_id}", tc.base),
        Some(&tc.admin),
        None,
    );
    assert_eq!(s, 200, "{v}");
    let (s, _) = tc.get("/api/v1/changes", Some(&op));
    assert_eq!(s, 401);
});
