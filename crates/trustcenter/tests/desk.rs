//! The disclosure desk end to end, on both databases: a researcher files a report (anonymous and
//! signed in, JSON and multipart with attachments) and follows it by its secret; the maker
//! acknowledges, answers, triages and fixes; the deadlines move as time passes (received_at is
//! moved back in the database, as a clock would); the fix links to the fixed release once that
//! is certified; the maker's track record comes out in figures computed independently here.

mod common;

use common::{Backend, Tc};
use serde_json::{json, Value};

/// A certified smart plug (2.4.1) of "Example Plugs Ltd"; returns (maker id, maker token, lab
/// token, certificate id).
fn certified(tc: &Tc) -> (String, String, String, String) {
    let (_, lab) = tc.org_token("Lab", "lab", "certifier");
    let (maker_id, maker) = tc.org_token("Example Plugs Ltd", "maker", "maker");
    let (s, sub) = tc.post_raw(
        &format!("/api/v1/assessments?maker={maker_id}&support_end=2031-12-31"),
        Some(&lab),
        common::passing_report(),
    );
    assert_eq!(s, 201, "{sub}");
    let (s, cert) = tc.post(
        "/api/v1/certificates",
        Some(&lab),
        &json!({"assessment": sub["id"], "profile": "uk-psti"}),
    );
    assert_eq!(s, 201, "{cert}");
    (
        maker_id,
        maker,
        lab,
        cert["id"].as_str().unwrap().to_string(),
    )
}

/// Runs SQL against the test's database (to move the clock back).
fn sql(tc: &Tc, q: &str) {
    tc.rt.block_on(async {
        let store = iotassure_trustcenter::Store::open(&tc.db_url)
            .await
            .unwrap();
        sqlx::query(q).execute(&store.pool).await.unwrap();
    });
}

fn days_ago(n: i64) -> String {
    let t = time::OffsetDateTime::now_utc() - time::Duration::days(n);
    iotassure_trustcenter::util::stamp(t)
}

both!(
    report_followed_from_receipt_to_certified_fix,
    |b: Backend| {
        let Some(tc) = Tc::start(b) else { return };
        let (maker_id, maker, lab, cert) = certified(&tc);

        // The policy comes from the assessed disclosure-policy document: "within 3 business days"
        // (→ 5 calendar days), "at least every 14 days", "within 90 days".
        let (s, pol) = tc.get(&format!("/api/v1/orgs/{maker_id}/disclosure-policy"), None);
        assert_eq!(s, 200, "{pol}");
        assert_eq!(
            pol["policy"],
            json!({"ack_days": 5, "update_days": 14, "fix_days": 90, "disclose_days": 90})
        );
        assert!(
            pol["basis"]["ack_days"]
                .as_str()
                .unwrap()
                .contains("3 business days"),
            "{pol}"
        );

        // An anonymous researcher files against the certificate, with a CVSS v4 vector.
        let title = "Telnet <script>alert(1)</script> root shell — \u{1b}[2J";
        let (s, filed) = tc.post(
            "/api/v1/reports",
            None,
            &json!({
                "certificate": cert,
                "title": title,
                "description": "telnetd on port 23 gives a root shell without a password.",
                "affected_versions": "2.4.1",
                "cvss": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                "contact": "researcher@example.org"
            }),
        );
        assert_eq!(s, 201, "{filed}");
        let secret = filed["secret"].as_str().unwrap().to_string();
        assert!(secret.starts_with("iaf_"));
        assert!(filed["tracking"].as_str().unwrap().starts_with("VR-"));
        assert_eq!(filed["follow_url"], format!("/report/follow/{secret}"));
        assert_eq!(filed["deadlines"]["acknowledge"]["standing"], "pending");
        let id = filed["id"].as_str().unwrap().to_string();

        // The secret is stored only as its hash (SQLite: the database and its write-ahead log).
        for f in ["tc.db", "tc.db-wal"] {
            let db = std::fs::read(tc.data.path().join(f)).unwrap_or_default();
            assert!(
                !db.windows(secret.len()).any(|w| w == secret.as_bytes()),
                "{f}"
            );
        }

        // The reporter follows it: text exactly as given, CVSS v4 scored as critical (9.3).
        let (s, r) = tc.get(&format!("/api/v1/follow/{secret}"), None);
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["title"], title);
        assert_eq!(r["state"], "received");
        assert_eq!(r["cvss"]["score"], 9.3);
        assert_eq!(r["cvss"]["rating"], "critical");
        assert_eq!(r["product"]["name"], "SP-1 Smart Plug B2");
        assert_eq!(r["firmware"]["name"], "2.4.1");
        let (s, _) = tc.get("/api/v1/follow/iaf_not-the-secret", None);
        assert_eq!(s, 404);

        // Time passes: ten days without an answer → the acknowledgement is overdue.
        sql(
            &tc,
            &format!(
            "UPDATE vuln_reports SET received_at = '{}', last_update_at = '{}' WHERE id = '{id}'",
            days_ago(10),
            days_ago(10)
        ),
        );
        let (_, r) = tc.get(&format!("/api/v1/follow/{secret}"), None);
        assert_eq!(r["deadlines"]["acknowledge"]["standing"], "overdue");
        assert_eq!(r["deadlines"]["overdue"], true);
        let (s, list) = tc.get("/api/v1/reports", Some(&maker));
        assert_eq!(s, 200, "{list}");
        assert_eq!(list[0]["id"], id.as_str());
        assert_eq!(list[0]["deadlines"]["overdue"], true);

        // The maker acknowledges (late) and answers; the reporter sees both and replies.
        let (s, r) = tc.post(
            &format!("/api/v1/reports/{id}/transition"),
            Some(&maker),
            &json!({"to": "acknowledged", "note": "Thanks, we are looking at it."}),
        );
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["deadlines"]["acknowledge"]["standing"], "late");
        assert_eq!(r["deadlines"]["update"]["standing"], "pending");
        let (s, _) = tc.post(
            &format!("/api/v1/reports/{id}/messages"),
            Some(&maker),
            &json!({"body": "Reproduced on 2.4.1."}),
        );
        assert_eq!(s, 200);
        let (s, r) = tc.post(
            &format!("/api/v1/follow/{secret}/messages"),
            None,
            &json!({"body": "Also on port 2323."}),
        );
        assert_eq!(s, 200, "{r}");
        let events: Vec<(String, String)> = r["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["author"].as_str().unwrap().to_string(),
                    e["body"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            events,
            [
                ("reporter", ""),
                ("maker", "Thanks, we are looking at it."),
                ("maker", "Reproduced on 2.4.1."),
                ("reporter", "Also on port 2323."),
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );

        // The process is enforced: no fix before triage, triage needs `valid`, fixed needs a version.
        let (s, v) = tc.post(
            &format!("/api/v1/reports/{id}/transition"),
            Some(&maker),
            &json!({"to": "fixed", "fixed_version": "2.4.2"}),
        );
        assert_eq!(s, 409, "{v}");
        let (s, _) = tc.post(
            &format!("/api/v1/reports/{id}/transition"),
            Some(&maker),
            &json!({"to": "triaged"}),
        );
        assert_eq!(s, 422);
        let (s, _) = tc.post(
            &format!("/api/v1/reports/{id}/transition"),
            Some(&maker),
            &json!({"to": "triaged", "valid": true}),
        );
        assert_eq!(s, 200);
        let (s, _) = tc.post(
            &format!("/api/v1/reports/{id}/transition"),
            Some(&maker),
            &json!({"to": "fixed"}),
        );
        assert_eq!(s, 422);
        let (s, r) = tc.post(
            &format!("/api/v1/reports/{id}/transition"),
            Some(&maker),
            &json!({"to": "fixed", "fixed_version": "2.4.2", "note": "Fixed in 2.4.2."}),
        );
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["deadlines"]["fix"]["standing"], "met");
        assert!(
            r.get("fixed_in").is_none(),
            "2.4.2 is not in the registry yet: {r}"
        );

        // The lab assesses and certifies 2.4.2: the report now links to it.
        let mut next: Value = serde_json::from_slice(&common::passing_report()).unwrap();
        next["subject"]["product"]["firmware_version"] = json!("2.4.2");
        next["subject"]["firmware"]["sha256"] = json!("11".repeat(32));
        let (s, sub) = tc.post_raw(
            &format!("/api/v1/assessments?maker={maker_id}&support_end=2031-12-31"),
            Some(&lab),
            serde_json::to_vec(&next).unwrap(),
        );
        assert_eq!(s, 201, "{sub}");
        let (s, cert2) = tc.post(
            "/api/v1/certificates",
            Some(&lab),
            &json!({"assessment": sub["id"], "profile": "uk-psti"}),
        );
        assert_eq!(s, 201, "{cert2}");
        let (_, r) = tc.get(&format!("/api/v1/follow/{secret}"), None);
        assert_eq!(r["fixed_in"]["version"], "2.4.2");
        assert_eq!(r["fixed_in"]["certificate"], cert2["id"]);
        assert_eq!(r["fixed_in"]["certificate_status"], "valid");

        // Every step is in the audit chain, and the chain verifies.
        let (_, audit) = tc.get("/api/v1/audit?limit=1000", Some(&tc.admin));
        let actions: Vec<&str> = audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["subject"] == id.as_str())
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(
            actions,
            [
                "report.file",
                "report.transition",
                "report.message",
                "report.message",
                "report.transition",
                "report.transition"
            ]
        );
        let (_, chain) = tc.get("/api/v1/audit/verify", Some(&tc.admin));
        assert_eq!(chain["ok"], true, "{chain}");

        // The track record: one report, acknowledged late (10 days against 5: missed), fixed on
        // time (met), and three update intervals after the acknowledgement, each within 14 days
        // (the message, the triage, the fix: met) — 4 met, 1 missed.
        let (s, tr) = tc.get(&format!("/api/v1/orgs/{maker_id}/track-record"), None);
        assert_eq!(s, 200, "{tr}");
        let f = &tr["figures"];
        assert_eq!(tr["schema"], "iotassure-track-record/1");
        assert_eq!(f["reports"], 1);
        assert_eq!(f["open"], 0);
        assert_eq!(f["fixed"], 1);
        assert_eq!(f["median_days_to_acknowledge"], 10.0);
        assert_eq!(f["median_days_to_fix"], 10.0);
        assert_eq!(f["deadlines_missed"], 1, "{tr}");
        assert_eq!(f["deadlines_met"], 4, "{tr}");
        assert_eq!(f["on_time_share"], 0.8);
        assert_eq!(f["overdue_now"], 0);
    }
);

both!(
    maker_policy_and_track_record_over_several_reports,
    |b: Backend| {
        let Some(tc) = Tc::start(b) else { return };
        let (maker_id, maker, _, _) = certified(&tc);
        // The maker sets its own policy; a bad one is refused.
        let put = |body: Value, token: &str| {
            common::call(
                "PUT",
                &format!("{}/api/v1/orgs/{maker_id}/disclosure-policy", tc.base),
                Some(token),
                Some(body.to_string().into_bytes()),
            )
        };
        let (s, v) = put(
            json!({"ack_days": 0, "update_days": 14, "fix_days": 90, "disclose_days": 90}),
            &maker,
        );
        assert_eq!(s, 422, "{v}");
        let (s, v) = put(
            json!({"ack_days": 2, "update_days": 7, "fix_days": 30, "disclose_days": 60}),
            &maker,
        );
        assert_eq!(s, 200, "{v}");
        assert!(v["basis"]["fix_days"]
            .as_str()
            .unwrap()
            .starts_with("set by the maker"));
        let researcher = tc.token("researcher");
        let file = |title: &str| {
            let (s, f) = tc.post(
                "/api/v1/reports",
                Some(&researcher),
                &json!({"maker": "Example Plugs Ltd", "title": title, "description": "d"}),
            );
            assert_eq!(s, 201, "{f}");
            assert_eq!(f["policy"]["ack_days"], 2);
            f["id"].as_str().unwrap().to_string()
        };
        let a = file("A");
        let b2 = file("B");
        let c = file("C");
        // A: 40 days old, acknowledged on day 1, rejected on day 3.
        // B: 40 days old, never answered (ack and fix overdue).
        // C: new, acknowledged at once.
        for id in [&a, &b2] {
            sql(
            &tc,
            &format!(
                "UPDATE vuln_reports SET received_at = '{}', last_update_at = '{}' WHERE id = '{id}'",
                days_ago(40),
                days_ago(40)
            ),
        );
        }
        for (to, body) in [
            ("acknowledged", json!({"to": "acknowledged"})),
            (
                "rejected",
                json!({"to": "rejected", "note": "works as designed"}),
            ),
        ] {
            let (s, v) = tc.post(
                &format!("/api/v1/reports/{a}/transition"),
                Some(&maker),
                &body,
            );
            assert_eq!(s, 200, "{to}: {v}");
        }
        sql(
            &tc,
            &format!(
                "UPDATE vuln_reports SET acknowledged_at = '{}', closed_at = '{}' WHERE id = '{a}'",
                days_ago(39),
                days_ago(37)
            ),
        );
        let (s, _) = tc.post(
            &format!("/api/v1/reports/{c}/transition"),
            Some(&maker),
            &json!({"to": "acknowledged"}),
        );
        assert_eq!(s, 200);
        // The researcher sees the reports it filed, but cannot move them.
        let (s, mine) = tc.get("/api/v1/reports", Some(&researcher));
        assert_eq!(s, 200);
        assert_eq!(mine.as_array().unwrap().len(), 3);
        assert_eq!(mine[0]["id"], b2.as_str(), "overdue first: {mine}");
        let (s, _) = tc.post(
            &format!("/api/v1/reports/{c}/transition"),
            Some(&researcher),
            &json!({"to": "triaged", "valid": true}),
        );
        assert_eq!(s, 403);
        let (s, _) = tc.get("/api/v1/reports?overdue=true", Some(&maker));
        assert_eq!(s, 200);
        let (_, tr) = tc.get("/api/v1/orgs/Example%20Plugs%20Ltd/track-record", None);
        let f = &tr["figures"];
        assert_eq!(f["reports"], 3);
        assert_eq!(f["open"], 2);
        assert_eq!(f["overdue_now"], 1);
        // A: answered on day 1 of 2 (met), no fix owed (rejected). B: ack and fix missed. C: ack
        // met, its fix not due yet. Median to acknowledge: A 1 day, C 0 → 0.5.
        assert_eq!(f["deadlines_met"], 2, "{tr}");
        assert_eq!(f["deadlines_missed"], 2, "{tr}");
        assert_eq!(f["on_time_share"], 0.5);
        assert_eq!(f["median_days_to_acknowledge"], 0.5, "{tr}");
    }
);

both!(
    hostile_and_unauthorised_reports_are_refused,
    |b: Backend| {
        let Some(tc) = Tc::start(b) else { return };
        let (maker_a, token_a, _, cert) = certified(&tc);
        let (_, token_b) = tc.org_token("Other Maker", "maker", "maker");
        let researcher = tc.token("researcher");
        let (s, f) = tc.post(
            "/api/v1/reports",
            Some(&researcher),
            &json!({"certificate": cert, "title": "t", "description": "d"}),
        );
        assert_eq!(s, 201, "{f}");
        let id = f["id"].as_str().unwrap();
        // Another maker: the same 404 as a missing report, for reading and for moving.
        let (s, _) = tc.get(&format!("/api/v1/reports/{id}"), Some(&token_b));
        assert_eq!(s, 404);
        let (s, _) = tc.post(
            &format!("/api/v1/reports/{id}/transition"),
            Some(&token_b),
            &json!({"to": "acknowledged"}),
        );
        assert_eq!(s, 404);
        let (s, list) = tc.get("/api/v1/reports", Some(&token_b));
        assert_eq!((s, list.as_array().unwrap().len()), (200, 0));
        // Another researcher cannot read it either; its own reporter can.
        let other = tc.token("researcher");
        let (s, _) = tc.get(&format!("/api/v1/reports/{id}"), Some(&other));
        assert_eq!(s, 404);
        let (s, _) = tc.get(&format!("/api/v1/reports/{id}"), Some(&researcher));
        assert_eq!(s, 200);
        // A maker sets only its own policy.
        let (s, _) = common::call(
            "PUT",
            &format!("{}/api/v1/orgs/{maker_a}/disclosure-policy", tc.base),
            Some(&token_b),
            Some(
                json!({"ack_days": 1, "update_days": 1, "fix_days": 1, "disclose_days": 1})
                    .to_string()
                    .into_bytes(),
            ),
        );
        assert_eq!(s, 403);
        // Bad input: each a 4xx naming the field, nothing stored.
        for (body, want, says) in [
            (
                json!({"maker": maker_a, "title": "t", "description": "d", "cvss": "CVSS:3.1/AV:X"}),
                422,
                "cvss",
            ),
            (
                json!({"maker": maker_a, "title": "t\u{0}", "description": "d"}),
                422,
                "NUL",
            ),
            (
                json!({"maker": maker_a, "title": "", "description": "d"}),
                422,
                "title",
            ),
            (
                json!({"maker": maker_a, "title": "x".repeat(201), "description": "d"}),
                422,
                "title",
            ),
            (
                json!({"title": "t", "description": "d"}),
                422,
                "name what the report is about",
            ),
            (
                json!({"maker": "No Such Maker", "title": "t", "description": "d"}),
                422,
                "maker",
            ),
            (
                json!({"maker": maker_a, "title": "t", "description": "d", "extra": 1}),
                422,
                "unknown field",
            ),
        ] {
            let (s, v) = tc.post("/api/v1/reports", Some(&researcher), &body);
            assert_eq!(s, want, "{body} → {v}");
            assert!(v["detail"].as_str().unwrap().contains(says), "{v}");
        }
        let (_, list) = tc.get("/api/v1/reports", Some(&token_a));
        assert_eq!(list.as_array().unwrap().len(), 1);
        // Anonymous reports: five an hour from one address, then 429 with Retry-After.
        for i in 0..5 {
            let (s, v) = tc.post(
                "/api/v1/reports",
                None,
                &json!({"maker": maker_a, "title": format!("anon {i}"), "description": "d"}),
            );
            assert_eq!(s, 201, "{v}");
        }
        let (s, v) = tc.post(
            "/api/v1/reports",
            None,
            &json!({"maker": maker_a, "title": "one too many", "description": "d"}),
        );
        assert_eq!(s, 429, "{v}");
        assert!(v["retry_after"].as_i64().unwrap() > 0);
        // A signed-in researcher is not limited.
        let (s, _) = tc.post(
            "/api/v1/reports",
            Some(&researcher),
            &json!({"maker": maker_a, "title": "signed in", "description": "d"}),
        );
        assert_eq!(s, 201);
    }
);

both!(
    attachments_are_streamed_capped_and_served_as_downloads,
    |b: Backend| {
        let Some(tc) = Tc::start(b) else { return };
        let (maker_id, maker, _, _) = certified(&tc);
        let researcher = tc.token("researcher");
        let boundary = "XdeskBoundaryX";
        let part = |name: &str, file: Option<&str>, body: &[u8]| -> Vec<u8> {
            let mut v = format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"")
                .into_bytes();
            if let Some(f) = file {
                v.extend_from_slice(
                    format!("; filename=\"{f}\"\r\nContent-Type: application/octet-stream")
                        .as_bytes(),
                );
            }
            v.extend_from_slice(b"\r\n\r\n");
            v.extend_from_slice(body);
            v.extend_from_slice(b"\r\n");
            v
        };
        let send = |parts: Vec<Vec<u8>>| {
            let mut body: Vec<u8> = parts.concat();
            body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
            common::call_h(
                "POST",
                &format!("{}/api/v1/reports", tc.base),
                Some(&researcher),
                Some(body),
                &[(
                    "Content-Type",
                    &format!("multipart/form-data; boundary={boundary}"),
                )],
            )
        };
        let poc = b"#!/bin/sh\necho pwned\n".to_vec();
        let (s, f) = send(vec![
            part("maker", None, maker_id.as_bytes()),
            part("title", None, b"Hard-coded key"),
            part("description", None, b"See the attached proof of concept."),
            part("attachment", Some("../../etc/poc<1>.sh"), &poc),
            part("attachment", Some("notes.txt"), b"notes"),
        ]);
        assert_eq!(s, 201, "{f}");
        let id = f["id"].as_str().unwrap().to_string();
        let (_, r) = tc.get(&format!("/api/v1/reports/{id}"), Some(&maker));
        assert_eq!(r["attachments"][0]["name"], "../../etc/poc<1>.sh");
        assert_eq!(r["attachments"][0]["size"], poc.len());
        assert_eq!(
            r["attachments"][0]["sha256"],
            iotassure_trustcenter::util::sha256_hex(&poc)
        );
        // Served as an opaque download with a tamed name.
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut resp = agent
            .get(&format!("{}/api/v1/reports/{id}/attachments/0", tc.base))
            .header("Authorization", &format!("Bearer {maker}"))
            .call()
            .unwrap();
        assert_eq!(resp.status(), 200);
        let h = |k: &str| resp.headers().get(k).unwrap().to_str().unwrap().to_string();
        assert_eq!(h("content-type"), "application/octet-stream");
        assert_eq!(h("x-content-type-options"), "nosniff");
        assert_eq!(
            h("content-disposition"),
            "attachment; filename=\".._.._etc_poc_1_.sh\""
        );
        assert_eq!(resp.body_mut().read_to_vec().unwrap(), poc);
        // Past the 10 MiB cap: 413, no report, no file left behind.
        let big = vec![b'A'; (10 << 20) + 1];
        let (s, v) = send(vec![
            part("maker", None, maker_id.as_bytes()),
            part("title", None, b"too big"),
            part("description", None, b"d"),
            part("attachment", Some("big.bin"), &big),
        ]);
        assert_eq!(s, 413, "{v}");
        let (_, list) = tc.get("/api/v1/reports", Some(&maker));
        assert_eq!(list.as_array().unwrap().len(), 1);
        let left: Vec<_> = std::fs::read_dir(tc.data.path().join("reports"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        assert_eq!(left, [id], "only the filed report's folder stays");
    }
);
