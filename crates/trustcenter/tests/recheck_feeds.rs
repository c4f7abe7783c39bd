//! The re-check uses the same feed database and matcher as an assessment: with `--advisories-db`
//! a certified release whose BusyBox the real NVD record CVE-2022-48174 covers (≤ 1.36.1,
//! CVSS 9.8) is suspended naming the record; without the database nothing matches; a VEX
//! `not_affected` for that release and component drops the match again.

mod common;

use std::path::Path;

use common::Tc;
use iotassure_advisories::store::Store;
use iotassure_trustcenter::Server;
use serde_json::json;

fn start(advisories_db: Option<&Path>) -> Tc {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let data = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}?mode=rwc", data.path().join("tc.db").display());
    let mut config = common::config(data.path(), &db);
    config.advisories_db = advisories_db.map(Path::to_path_buf);
    let server = rt.block_on(Server::start(config)).unwrap();
    Tc {
        base: format!("http://{}", server.addr),
        admin: server.admin_token.clone().unwrap(),
        data,
        db_url: db,
        rt,
        server: Some(server),
    }
}

/// Submits and certifies the smart-plug example (BusyBox 1.36.1 from its banner); the
/// certificate id and the lab's token.
fn certify(tc: &Tc) -> (String, String) {
    certify_report(tc, common::passing_report())
}

/// The example's report with one more component, as a firmware banner would give it.
fn with_component(name: &str, version: &str) -> Vec<u8> {
    let mut r: serde_json::Value = serde_json::from_slice(&common::passing_report()).unwrap();
    r["components"].as_array_mut().unwrap().push(json!({
        "name": name, "version": version, "purl": null, "cpe": null,
        "method": "binary-banner", "evidence": [],
    }));
    serde_json::to_vec(&r).unwrap()
}

fn certify_report(tc: &Tc, report: Vec<u8>) -> (String, String) {
    let (_, lab) = tc.org_token("Test Lab", "lab", "certifier");
    let (maker_id, _) = tc.org_token("Example Plugs Ltd", "maker", "maker");
    let (s, sub) = tc.post_raw(
        &format!("/api/v1/assessments?maker={maker_id}"),
        Some(&lab),
        report,
    );
    assert_eq!(s, 201, "{sub}");
    let (s, cert) = tc.post(
        "/api/v1/certificates",
        Some(&lab),
        &json!({"assessment": sub["id"], "profile": "uk-psti"}),
    );
    assert_eq!(s, 201, "{cert}");
    (cert["id"].as_str().unwrap().to_string(), lab)
}

#[test]
fn the_recheck_matches_the_feed_database() {
    let feeds = tempfile::tempdir().unwrap();
    let path = feeds.path().join("advisories.db");
    let mut store = Store::open(&path).unwrap();
    let nvd = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../advisories/tests/data/feeds/nvd/CVE-2022-48174.json");
    store.update_from(&nvd).unwrap();
    drop(store);

    // Without the database: the curated layer has no such record, nothing is hit.
    let plain = start(None);
    let (id, lab) = certify(&plain);
    let (_, run) = plain.post("/api/v1/recheck", Some(&lab), &json!({}));
    assert_eq!(run["new_matches"], 0, "{run}");
    let (_, c) = plain.get(&format!("/api/v1/certificates/{id}"), None);
    assert_eq!(c["status"], "valid");

    let tc = start(Some(&path));
    let (id, lab) = certify(&tc);
    let (_, run) = tc.post("/api/v1/recheck", Some(&lab), &json!({}));
    assert_eq!(run["new_matches"], 1, "{run}");
    assert_eq!(run["suspended"], 1, "{run}");
    let (_, c) = tc.get(&format!("/api/v1/certificates/{id}"), None);
    assert_eq!(c["status"], "suspended");
    let reason = c["status_reason"].as_str().unwrap();
    assert!(reason.contains("CVE-2022-48174"), "{reason}");
    assert!(
        reason.contains("banner"),
        "a CPE match on a banner says so: {reason}"
    );

    // Idempotent, and a VEX for this release and component drops it.
    let (_, again) = tc.post("/api/v1/recheck", Some(&lab), &json!({}));
    assert_eq!(again["new_matches"], 0, "{again}");
    let (s, v) = tc.post(
        "/api/v1/vex",
        Some(&lab),
        &json!({
            "firmware": c["image_sha256"],
            "vulnerability": "CVE-2022-48174",
            "component": "busybox",
            "status": "not_affected",
            "justification": "vulnerable_code_not_present",
        }),
    );
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["dropped"], 1, "{v}");
}

/// The curated layer's undecided hits are no ground to suspend, as the feed's are not. An OSV
/// record loaded into the trust center with CVE-2020-8597's range as NVD states it (from 2.4.2,
/// the release that brought EAP, fixed in 2.4.9): pppd 2.4.2b3 is a beta of 2.4.2, which the
/// assessment calls INCONCLUSIVE, so the certificate stays valid; 2.4.2 itself is suspended.
#[test]
fn an_undecided_curated_hit_does_not_suspend_but_a_decided_one_does() {
    let advisory = json!({
        "schema_version": "1.6.0",
        "id": "CVE-2020-8597",
        "modified": "2026-11-02T00:00:00Z",
        "published": "2020-02-03T00:00:00Z",
        "summary": "Buffer overflow in pppd's EAP request/response handling (eap.c)",
        "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
        "affected": [{
            "package": {"ecosystem": "Generic", "name": "pppd"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "2.4.2"}, {"fixed": "2.4.9"}]}]
        }]
    });
    let run_with = |version: &str| {
        let tc = start(None);
        let (id, lab) = certify_report(&tc, with_component("pppd", version));
        let (s, l) = tc.post("/api/v1/advisories", Some(&lab), &advisory);
        assert_eq!(s, 200, "{l}");
        let (_, c) = tc.get(&format!("/api/v1/certificates/{id}"), None);
        (l["run"].clone(), c)
    };
    let (run, c) = run_with("2.4.2b3");
    assert_eq!(run["suspended"], 0, "{run}");
    assert_eq!(c["status"], "valid", "{c}");

    let (run, c) = run_with("2.4.2");
    assert_eq!(run["suspended"], 1, "{run}");
    assert_eq!(c["status"], "suspended");
    let reason = c["status_reason"].as_str().unwrap();
    assert!(reason.contains("CVE-2020-8597"), "{reason}");
}
