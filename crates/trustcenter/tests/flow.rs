//! The trust center's flow on both databases: submit → certify → admission allow; an OSV
//! advisory that hits a component suspends the certificate and admission denies; re-check is
//! idempotent; a VEX not_affected drops the match; revocation; the audit chain verifies.

mod common;

use common::{Backend, Tc};
use serde_json::{json, Value};

fn report_sha(report: &[u8]) -> String {
    let v: Value = serde_json::from_slice(report).unwrap();
    v["subject"]["firmware"]["sha256"]
        .as_str()
        .unwrap()
        .to_string()
}

/// An OSV record against the example's BusyBox at `severity` (a CVSS v3 vector).
pub fn busybox_advisory(id: &str, modified: &str, vector: &str, fixed: &str) -> Value {
    json!({
        "schema_version": "1.6.0",
        "id": id,
        "modified": modified,
        "published": "2026-11-01T00:00:00Z",
        "summary": "test advisory against BusyBox",
        "severity": [{"type": "CVSS_V3", "score": vector}],
        "affected": [{
            "package": {"ecosystem": "Generic", "name": "busybox"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}]
        }]
    })
}

const CRITICAL: &str = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H";
const LOW: &str = "CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N";

both!(certify_admit_suspend, |b: Backend| {
    let Some(tc) = Tc::start(b) else { return };
    let (_, lab) = tc.org_token("Test Lab", "lab", "certifier");
    let (maker_id, _maker) = tc.org_token("Example Plugs Ltd", "maker", "maker");
    let op = {
        let (_, t) = tc.org_token("Network Operator", "operator", "operator");
        t
    };
    let report = common::passing_report();
    let sha = report_sha(&report);

    // Unknown firmware is denied.
    let (s, d) = tc.get(&format!("/api/v1/admission?sha256={sha}"), Some(&op));
    assert_eq!(s, 200);
    assert_eq!(d["decision"], "deny", "{d}");

    let (s, sub) = tc.post_raw(
        &format!("/api/v1/assessments?maker={maker_id}&support_end=2031-12-31"),
        Some(&lab),
        report.clone(),
    );
    assert_eq!(s, 201, "{sub}");
    let assessment = sub["id"].as_str().unwrap().to_string();
    assert_eq!(sub["image_sha256"], sha.as_str());

    // Registered but not certified: deny, and says so.
    let (_, d) = tc.get(&format!("/api/v1/admission?sha256={sha}"), Some(&op));
    assert_eq!(d["decision"], "deny");
    assert!(
        d["reason"].as_str().unwrap().contains("no certificate"),
        "{d}"
    );

    // An assessment of the same release where 5.1-1 fails is refused, naming 5.1-1.
    let mut failing: Value = serde_json::from_slice(&report).unwrap();
    for v in failing["verdicts"].as_array_mut().unwrap() {
        if v["id"] == "5.1-1" {
            v["verdict"] = json!("FAIL");
            v["reason"] = json!("a default password was found");
        }
    }
    let (s, sub2) = tc.post_raw(
        &format!("/api/v1/assessments?maker={maker_id}"),
        Some(&lab),
        serde_json::to_vec(&failing).unwrap(),
    );
    assert_eq!(s, 201, "{sub2}");
    let (s, p) = tc.post(
        "/api/v1/certificates",
        Some(&lab),
        &json!({"assessment": sub2["id"], "profile": "uk-psti"}),
    );
    assert_eq!(s, 422, "{p}");
    let blocking = p["blocking"].as_array().unwrap();
    assert_eq!(blocking.len(), 1, "{p}");
    assert_eq!(blocking[0]["id"], "5.1-1");
    assert_eq!(blocking[0]["verdict"], "FAIL");
    // An unknown profile names the known ones.
    let (s, p) = tc.post(
        "/api/v1/certificates",
        Some(&lab),
        &json!({"assessment": assessment, "profile": "nope"}),
    );
    assert_eq!(s, 422, "{p}");
    assert!(p["detail"].as_str().unwrap().contains("uk-psti"), "{p}");

    let (s, cert) = tc.post(
        "/api/v1/certificates",
        Some(&lab),
        &json!({"assessment": assessment, "profile": "uk-psti"}),
    );
    assert_eq!(s, 201, "{cert}");
    let id = cert["id"].as_str().unwrap().to_string();
    assert_eq!(cert["status"], "valid");
    assert!(
        cert["level"].as_i64().unwrap() >= 3,
        "firmware + documents were assessed: {cert}"
    );
    assert!(
        cert["verified"].as_i64().unwrap() >= 2,
        "5.2-1 and 5.3-13 rest on the documents: {cert}"
    );
    assert_eq!(cert["support_end"], "2031-12-31");
    assert!(!cert["clauses"].as_array().unwrap().is_empty());

    let (_, d) = tc.get(&format!("/api/v1/admission?sha256={sha}"), Some(&op));
    assert_eq!(d["decision"], "allow", "{d}");
    assert_eq!(d["certificate"], id.as_str());
    // By maker + model + version, too.
    let (_, d2) = tc.get(
        "/api/v1/admission?maker=Example%20Plugs%20Ltd&model=SP-1%20Smart%20Plug&version=2.4.1",
        Some(&op),
    );
    assert_eq!(d2["decision"], "allow", "{d2}");

    // The public registry finds it.
    let (s, page) = tc.get(
        "/api/v1/certificates?maker=Example%20Plugs%20Ltd&status=valid",
        None,
    );
    assert_eq!(s, 200);
    assert_eq!(page["total"], 1, "{page}");

    // A low advisory is recorded but does not suspend (threshold: high).
    let (s, l) = tc.post(
        "/api/v1/advisories",
        Some(&lab),
        &busybox_advisory("TEST-LOW-1", "2026-11-02T00:00:00Z", LOW, "9.0.0"),
    );
    assert_eq!(s, 200, "{l}");
    assert_eq!(l["run"]["new_matches"], 1, "{l}");
    assert_eq!(l["run"]["suspended"], 0, "{l}");
    let (_, d) = tc.get(&format!("/api/v1/admission?sha256={sha}"), Some(&op));
    assert_eq!(d["decision"], "allow");

    // A critical one suspends, and admission denies with the advisory as the reason.
    let (s, l) = tc.post(
        "/api/v1/advisories",
        Some(&lab),
        &busybox_advisory("TEST-CRIT-1", "2026-11-02T00:00:00Z", CRITICAL, "9.0.0"),
    );
    assert_eq!(s, 200, "{l}");
    assert_eq!(l["run"]["suspended"], 1, "{l}");
    let run1 = l["run"]["id"].as_str().unwrap().to_string();
    let (_, c) = tc.get(&format!("/api/v1/certificates/{id}"), None);
    assert_eq!(c["status"], "suspended");
    assert!(
        c["status_reason"].as_str().unwrap().contains("TEST-CRIT-1"),
        "{c}"
    );
    let (_, d) = tc.get(&format!("/api/v1/admission?sha256={sha}"), Some(&op));
    assert_eq!(d["decision"], "deny");
    assert!(d["reason"].as_str().unwrap().contains("suspended"), "{d}");

    // Idempotent: loading the same record again changes nothing.
    let (_, again) = tc.post(
        "/api/v1/advisories",
        Some(&lab),
        &busybox_advisory("TEST-CRIT-1", "2026-11-02T00:00:00Z", CRITICAL, "9.0.0"),
    );
    assert_eq!(again["unchanged"], 1, "{again}");
    assert_eq!(again["run"]["new_matches"], 0, "{again}");
    assert_eq!(again["run"]["dropped"], 0, "{again}");

    // A corrected advisory (fixed before the example's version) drops the match.
    let (_, fixed) = tc.post(
        "/api/v1/advisories",
        Some(&lab),
        &busybox_advisory("TEST-CRIT-1", "2026-11-03T00:00:00Z", CRITICAL, "1.0.0"),
    );
    assert_eq!(fixed["updated"], 1, "{fixed}");
    assert_eq!(fixed["run"]["dropped"], 1, "{fixed}");
    let (_, ch) = tc.get(&format!("/api/v1/changes?since={run1}"), Some(&op));
    assert_eq!(ch["dropped"].as_array().unwrap().len(), 1, "{ch}");
    assert_eq!(ch["dropped"][0]["advisory"], "TEST-CRIT-1");

    // What is new for this certificate since the first run.
    let (_, cc) = tc.get(
        &format!("/api/v1/certificates/{id}/changes?since={run1}"),
        None,
    );
    assert_eq!(cc["dropped"].as_array().unwrap().len(), 1, "{cc}");

    // A VEX not_affected drops the low match too.
    let (s, v) = tc.post("/api/v1/vex", Some(&lab), &json!({"firmware": sha, "vulnerability": "TEST-LOW-1", "component": "busybox", "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"}));
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["dropped"], 1, "{v}");

    // The maker fixes it: a new release (BusyBox 1.37.0, another image) is assessed, submitted
    // and certified; the critical advisory does not touch it, and admission allows it.
    let mut fixed_report: Value = serde_json::from_slice(&report).unwrap();
    fixed_report["subject"]["firmware"]["sha256"] = json!("f1".repeat(32));
    fixed_report["subject"]["product"]["firmware_version"] = json!("2.4.2");
    for c in fixed_report["components"].as_array_mut().unwrap() {
        if c["name"] == "busybox" {
            c["version"] = json!("1.37.0");
        }
    }
    let (s, sub3) = tc.post_raw(
        &format!("/api/v1/assessments?maker={maker_id}&support_end=2031-12-31"),
        Some(&lab),
        serde_json::to_vec(&fixed_report).unwrap(),
    );
    assert_eq!(s, 201, "{sub3}");
    let (s, c3) = tc.post(
        "/api/v1/certificates",
        Some(&lab),
        &json!({"assessment": sub3["id"], "profile": "uk-psti"}),
    );
    assert_eq!(s, 201, "{c3}");
    let (_, run) = tc.post("/api/v1/recheck", Some(&lab), &json!({}));
    assert_eq!(run["suspended"], 0, "the fix is not hit: {run}");
    let (_, d) = tc.get(
        &format!("/api/v1/admission?sha256={}", "f1".repeat(32)),
        Some(&op),
    );
    assert_eq!(d["decision"], "allow", "{d}");

    // Reinstate, then revoke: revoked is final.
    let (s, c) = tc.post(
        &format!("/api/v1/certificates/{id}/status"),
        Some(&lab),
        &json!({"status": "valid", "reason": "advisory corrected"}),
    );
    assert_eq!(s, 200, "{c}");
    let (_, d) = tc.get(&format!("/api/v1/admission?sha256={sha}"), Some(&op));
    assert_eq!(d["decision"], "allow");
    let (s, c) = tc.post(
        &format!("/api/v1/certificates/{id}/status"),
        Some(&lab),
        &json!({"status": "revoked", "reason": "maker withdrew the product"}),
    );
    assert_eq!(s, 200, "{c}");
    let hist: Vec<&str> = c["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(hist, ["valid", "suspended", "valid", "revoked"]);
    let (s, _) = tc.post(
        &format!("/api/v1/certificates/{id}/status"),
        Some(&lab),
        &json!({"status": "valid", "reason": "undo"}),
    );
    assert_eq!(s, 409);
    let (_, d) = tc.get(&format!("/api/v1/admission?sha256={sha}"), Some(&op));
    assert_eq!(d["decision"], "deny");

    // Stale row_version: refused.
    let (s, _) = tc.post(
        &format!("/api/v1/certificates/{id}/status"),
        Some(&lab),
        &json!({"status": "suspended", "reason": "x", "expected_version": 1}),
    );
    assert_eq!(s, 409);

    let (s, chain) = tc.get("/api/v1/audit/verify", Some(&tc.admin));
    assert_eq!(s, 200);
    assert_eq!(chain["ok"], true, "{chain}");
    assert!(chain["entries"].as_i64().unwrap() > 10);
});

both!(expired_support_period_denies, |b: Backend| {
    let Some(tc) = Tc::start(b) else { return };
    let (_, lab) = tc.org_token("Lab", "lab", "certifier");
    let (maker_id, _) = tc.org_token("Example Plugs Ltd", "maker", "maker");
    let report = common::passing_report();
    // A support period already over: certification is refused (5.3-13).
    let (s, sub) = tc.post_raw(
        &format!("/api/v1/assessments?maker={maker_id}&support_end=2020-01-01"),
        Some(&lab),
        report,
    );
    assert_eq!(s, 201, "{sub}");
    let (s, p) = tc.post(
        "/api/v1/certificates",
        Some(&lab),
        &json!({"assessment": sub["id"], "profile": "uk-psti"}),
    );
    assert_eq!(s, 422, "{p}");
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("support period ended"),
        "{p}"
    );
});
