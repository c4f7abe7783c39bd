//! Bad input gets a clear 4xx problem+json and writes nothing: malformed JSON, a report that
//! fails the report schema, a digest that does not match, an oversized body, unknown fields, and
//! ids that try path traversal or SQL injection.

mod common;

use common::{Backend, Tc};
use serde_json::{json, Value};

fn audit_len(tc: &Tc) -> i64 {
    let (_, v) = tc.get("/api/v1/audit/verify", Some(&tc.admin));
    assert_eq!(v["ok"], true, "{v}");
    v["entries"].as_i64().unwrap()
}

both!(bad_input_is_refused_and_writes_nothing, |b: Backend| {
    let Some(tc) = Tc::start(b) else { return };
    let (_, lab) = tc.org_token("Lab", "lab", "certifier");
    let (maker_id, _) = tc.org_token("Maker", "maker", "maker");
    let before = audit_len(&tc);
    let submit = format!("/api/v1/assessments?maker={maker_id}");
    let good = common::passing_report();

    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("malformed JSON", b"{\"schema\": ".to_vec(), 400),
        ("not JSON at all", b"\x00\x01binary".to_vec(), 400),
        (
            "JSON but not a report",
            br#"{"hello": "world"}"#.to_vec(),
            422,
        ),
        (
            "wrong schema",
            {
                let mut v: Value = serde_json::from_slice(&good).unwrap();
                v["schema"] = json!("https://example.invalid/other");
                serde_json::to_vec(&v).unwrap()
            },
            422,
        ),
        (
            "unknown top-level field",
            {
                let mut v: Value = serde_json::from_slice(&good).unwrap();
                v["injected"] = json!("x");
                serde_json::to_vec(&v).unwrap()
            },
            422,
        ),
        (
            "unknown nested field",
            {
                let mut v: Value = serde_json::from_slice(&good).unwrap();
                v["subject"]["product"]["secret_field"] = json!(1);
                serde_json::to_vec(&v).unwrap()
            },
            422,
        ),
        (
            "verdict that is not one",
            {
                let mut v: Value = serde_json::from_slice(&good).unwrap();
                v["verdicts"][0]["verdict"] = json!("MAYBE");
                serde_json::to_vec(&v).unwrap()
            },
            422,
        ),
        (
            "no firmware sha256",
            {
                let mut v: Value = serde_json::from_slice(&good).unwrap();
                v["subject"]["firmware"]["sha256"] = json!("not-a-digest");
                serde_json::to_vec(&v).unwrap()
            },
            422,
        ),
        ("oversized body", vec![b' '; 5 << 20], 413),
    ];
    for (what, body, want) in cases {
        let (s, v) = tc.post_raw(&submit, Some(&lab), body);
        assert_eq!(s, want, "{what}: {v}");
        assert!(
            v["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{what}: a problem names the reason: {v}"
        );
        assert_eq!(v["status"], want, "{what}");
    }

    // A Content-Digest that does not match the body.
    let (s, v) = common::call_h(
        "POST",
        &format!("{}{submit}", tc.base),
        Some(&lab),
        Some(good.clone()),
        &[(
            "Content-Digest",
            "sha-256=:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:",
        )],
    );
    assert_eq!(s, 400, "{v}");
    assert!(
        v["detail"].as_str().unwrap().contains("does not match"),
        "{v}"
    );

    // Unknown fields and bad values in API bodies.
    let (s, v) = tc.post(
        "/api/v1/orgs",
        Some(&tc.admin),
        &json!({"name": "X", "kind": "maker", "admin": true}),
    );
    assert_eq!(s, 422, "{v}");
    let (s, v) = tc.post(
        "/api/v1/orgs",
        Some(&tc.admin),
        &json!({"name": "X", "kind": "wizard"}),
    );
    assert_eq!(s, 422, "{v}");
    let (s, v) = tc.post(
        "/api/v1/certificates",
        Some(&lab),
        &json!({"assessment": "../../etc/passwd", "profile": "uk-psti"}),
    );
    assert_eq!(s, 422, "{v}");

    // Ids that try traversal or SQL: 404 problem, never a 500.
    for id in [
        "..%2F..%2Fetc%2Fpasswd",
        "1'%20OR%20'1'%3D'1",
        "00000000-0000-0000-0000-000000000000",
        "%00",
    ] {
        let (s, v) = tc.get(&format!("/api/v1/certificates/{id}"), None);
        assert_eq!(s, 404, "{id}: {v}");
        let (s, v) = tc.get(&format!("/api/v1/assessments/{id}"), Some(&lab));
        assert_eq!(s, 404, "{id}: {v}");
    }
    let (s, v) = tc.get(
        "/api/v1/certificates?maker=x'%20OR%201%3D1--&per_page=5",
        None,
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["total"], 0, "a quote in a filter is data, not SQL: {v}");
    let (s, v) = tc.get("/api/v1/certificates?per_page=100000", None);
    assert_eq!(s, 422, "{v}");
    let (s, v) = tc.get("/api/v1/certificates?bogus=1", None);
    assert_eq!(s, 400, "{v}");
    let (s, v) = tc.get("/api/v1/admission?sha256=zz", Some(&tc.admin));
    assert_eq!(s, 422, "{v}");
    let many: Vec<Value> = (0..1001)
        .map(|_| json!({"sha256": "0".repeat(64)}))
        .collect();
    let (s, v) = tc.post(
        "/api/v1/admission/batch",
        Some(&tc.admin),
        &json!({"subjects": many}),
    );
    assert_eq!(s, 422, "{v}");
    let (s, v) = tc.get("/api/v1/nothing-here", None);
    assert_eq!(s, 404, "{v}");
    let (s, v) = tc.post("/api/v1/advisories", Some(&lab), &json!({"id": "X-1"}));
    assert_eq!(s, 422, "an OSV record without `modified`: {v}");

    assert_eq!(audit_len(&tc), before, "refused requests wrote nothing");
    let (_, page) = tc.get("/api/v1/certificates", None);
    assert_eq!(page["total"], 0);
});

both!(tampering_with_the_audit_log_is_detected, |b: Backend| {
    let Some(tc) = Tc::start(b) else { return };
    let (_, _) = tc.org_token("Lab", "lab", "certifier");
    let (s, v) = tc.get("/api/v1/audit/verify", Some(&tc.admin));
    assert_eq!((s, &v["ok"]), (200, &json!(true)), "{v}");
    // Edit an entry behind the service's back.
    let url = tc.db_url.clone();
    let original: String = tc.rt.block_on(async {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&url).await.unwrap();
        let a: String = sqlx::query_scalar("SELECT actor FROM audit_log WHERE seq = 2")
            .fetch_one(&pool)
            .await
            .unwrap();
        sqlx::query("UPDATE audit_log SET actor = 'someone-else' WHERE seq = 2")
            .execute(&pool)
            .await
            .unwrap();
        a
    });
    let (_, v) = tc.get("/api/v1/audit/verify", Some(&tc.admin));
    assert_eq!(v["ok"], false, "{v}");
    assert_eq!(v["first_bad"], 2, "{v}");
    // Put it back: the chain verifies again.
    tc.rt.block_on(async {
        let pool = sqlx::AnyPool::connect(&url).await.unwrap();
        sqlx::query("UPDATE audit_log SET actor = $1 WHERE seq = 2")
            .bind(&original)
            .execute(&pool)
            .await
            .unwrap();
    });
    let (_, v) = tc.get("/api/v1/audit/verify", Some(&tc.admin));
    assert_eq!(v["ok"], true, "{v}");
    // Removing the newest entry is detected by the head.
    tc.rt.block_on(async {
        let pool = sqlx::AnyPool::connect(&url).await.unwrap();
        let n: i64 = sqlx::query_scalar("SELECT MAX(seq) FROM audit_log")
            .fetch_one(&pool)
            .await
            .unwrap();
        sqlx::query("DELETE FROM audit_log WHERE seq = $1")
            .bind(n)
            .execute(&pool)
            .await
            .unwrap();
    });
    let (_, v) = tc.get("/api/v1/audit/verify", Some(&tc.admin));
    assert_eq!(v["ok"], false, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("removed"), "{v}");
});
