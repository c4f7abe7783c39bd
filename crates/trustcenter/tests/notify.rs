//! Webhooks reach the maker (received here on loopback, signature checked with the published
//! key); a shortened support period expires the certificate (5.3-13); two instances on one
//! PostgreSQL database certify, suspend and revoke the same certificates concurrently without a
//! lost update, and the history and audit chain stay consistent.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use common::{Backend, Tc};
use serde_json::{json, Value};

/// Accepts up to `n` POSTs on loopback, answers 200, sends (headers, body) down the channel.
fn receiver(n: usize) -> (String, mpsc::Receiver<(Vec<String>, String)>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for s in l.incoming().take(n) {
            let mut s = s.unwrap();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut headers = Vec::new();
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if r.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
                headers.push(line.trim_end().to_string());
            }
            let mut body = vec![0; len];
            r.read_exact(&mut body).unwrap();
            s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .unwrap();
            let _ = tx.send((headers, String::from_utf8(body).unwrap()));
        }
    });
    (url, rx)
}

both!(webhook_notifies_the_maker_signed, |b: Backend| {
    let Some(tc) = Tc::start(b) else { return };
    let (_, lab) = tc.org_token("Lab", "lab", "certifier");
    let (maker_id, maker) = tc.org_token("Example Plugs Ltd", "maker", "maker");
    let (url, rx) = receiver(4);
    let (s, v) = common::call(
        "PUT",
        &format!("{}/api/v1/orgs/{maker_id}/webhook", tc.base),
        Some(&maker),
        Some(json!({"url": url}).to_string().into_bytes()),
    );
    assert_eq!(s, 200, "{v}");
    let (_, sub) = tc.post_raw(
        &format!("/api/v1/assessments?maker={maker_id}&support_end=2031-12-31"),
        Some(&lab),
        common::passing_report(),
    );
    let (s, cert) = tc.post(
        "/api/v1/certificates",
        Some(&lab),
        &json!({"assessment": sub["id"], "profile": "uk-psti"}),
    );
    assert_eq!(s, 201, "{cert}");
    let (s, _) = tc.post(
        &format!(
            "/api/v1/certificates/{}/status",
            cert["id"].as_str().unwrap()
        ),
        Some(&lab),
        &json!({"status": "suspended", "reason": "lab found a default password"}),
    );
    assert_eq!(s, 200);
    let (_, keys) = tc.get("/api/v1/keys", None);
    let key =
        iotassure_attest::PublicKey::from_pem(keys[0]["public_key_pem"].as_str().unwrap()).unwrap();
    let mut events = Vec::new();
    for _ in 0..2 {
        let (headers, body) = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("a webhook arrives");
        let sig = headers
            .iter()
            .find_map(|h| {
                h.strip_prefix("x-iotassure-signature: ")
                    .or_else(|| h.strip_prefix("X-Iotassure-Signature: "))
            })
            .expect("signed");
        let b64 = sig.split("sig=").nth(1).unwrap();
        use base64::Engine;
        let raw: [u8; 64] = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap()
            .try_into()
            .unwrap();
        assert!(
            key.verify(body.as_bytes(), &raw),
            "the webhook body verifies with the published key"
        );
        let mut tampered = body.clone().into_bytes();
        tampered[10] ^= 1;
        assert!(!key.verify(&tampered, &raw));
        let v: Value = serde_json::from_str(&body).unwrap();
        events.push(v["event"].as_str().unwrap().to_string());
    }
    assert_eq!(events, ["certificate.issued", "certificate.suspended"]);
});

both!(
    shortened_support_period_expires_the_certificate,
    |b: Backend| {
        let Some(tc) = Tc::start(b) else { return };
        let (_, lab) = tc.org_token("Lab", "lab", "certifier");
        let (maker_id, _) = tc.org_token("Example Plugs Ltd", "maker", "maker");
        let (_, op) = tc.org_token("Op", "operator", "operator");
        let (_, sub) = tc.post_raw(
            &format!("/api/v1/assessments?maker={maker_id}&support_end=2031-12-31"),
            Some(&lab),
            common::passing_report(),
        );
        let (_, cert) = tc.post(
            "/api/v1/certificates",
            Some(&lab),
            &json!({"assessment": sub["id"], "profile": "uk-psti"}),
        );
        let id = cert["id"].as_str().unwrap();
        let sha = sub["image_sha256"].as_str().unwrap();
        // The maker ends support early: resubmitting with the new end date moves it.
        let (s, _) = tc.post_raw(
            &format!("/api/v1/assessments?maker={maker_id}&support_end=2025-06-30"),
            Some(&lab),
            common::passing_report(),
        );
        assert_eq!(s, 201);
        // Admission denies at once, before any sweep (the dates are checked at query time)...
        let (_, d) = tc.get(&format!("/api/v1/admission?sha256={sha}"), Some(&op));
        assert_eq!(d["decision"], "deny", "{d}");
        assert!(
            d["reason"]
                .as_str()
                .unwrap()
                .contains("support period ended on 2025-06-30"),
            "{d}"
        );
        // ...and the re-check records it as expired.
        let (s, run) = tc.post("/api/v1/recheck", Some(&lab), &json!({}));
        assert_eq!(s, 200, "{run}");
        assert_eq!(run["expired"], 1, "{run}");
        let (_, c) = tc.get(&format!("/api/v1/certificates/{id}"), None);
        assert_eq!(c["status"], "expired");
        assert!(
            c["status_reason"].as_str().unwrap().contains("5.3-13"),
            "{c}"
        );
    }
);

/// Two instances on one PostgreSQL database: concurrent status changes from both, on the same
/// certificates, with optimistic versions. Every accepted change is in the history in order,
/// the row_version equals the number of accepted changes + 1, and the audit chain verifies.
#[test]
fn two_instances_on_one_postgres() {
    if common::pg_url().is_none() {
        return;
    }
    let Some(a) = Tc::start(Backend::Postgres) else {
        return;
    };
    let data_b = tempfile::tempdir().unwrap();
    let b =
        a.rt.block_on(iotassure_trustcenter::Server::start(common::config(
            data_b.path(),
            &a.db_url,
        )))
        .unwrap();
    assert!(
        b.admin_token.is_none(),
        "the second instance joins, it does not bootstrap"
    );
    let base_b = format!("http://{}", b.addr);
    let (_, lab) = a.org_token("Lab", "lab", "certifier");
    let (maker_id, _) = a.org_token("Example Plugs Ltd", "maker", "maker");
    let (_, sub) = a.post_raw(
        &format!("/api/v1/assessments?maker={maker_id}&support_end=2031-12-31"),
        Some(&lab),
        common::passing_report(),
    );
    let (_, cert) = a.post(
        "/api/v1/certificates",
        Some(&lab),
        &json!({"assessment": sub["id"], "profile": "uk-psti"}),
    );
    let id = cert["id"].as_str().unwrap().to_string();
    let bases = [a.base.clone(), base_b.clone()];
    let mut handles = Vec::new();
    for (w, base) in bases.iter().cycle().take(4).enumerate() {
        let base = base.clone();
        let lab = lab.clone();
        let id = id.clone();
        handles.push(std::thread::spawn(move || {
            let mut accepted = 0;
            for i in 0..25 {
                let (_, c) = common::call("GET", &format!("{base}/api/v1/certificates/{id}"), None, None);
                let to = if c["status"] == "valid" { "suspended" } else { "valid" };
                let body = json!({"status": to, "reason": format!("worker {w} step {i}"), "expected_version": c["row_version"]});
                let (s, v) = common::call("POST", &format!("{base}/api/v1/certificates/{id}/status"), Some(&lab), Some(body.to_string().into_bytes()));
                match s {
                    200 => accepted += 1,
                    409 => {}
                    _ => panic!("{s} {v}"),
                }
            }
            accepted
        }));
    }
    let accepted: i64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert!(accepted > 0);
    let (_, c) = a.get(&format!("/api/v1/certificates/{id}"), None);
    assert_eq!(c["row_version"], accepted + 1, "no lost update: {c}");
    let hist = c["history"].as_array().unwrap();
    assert_eq!(hist.len() as i64, accepted + 1);
    for w in hist.windows(2) {
        assert_ne!(
            w[0]["status"], w[1]["status"],
            "every accepted change is a real transition"
        );
    }
    let (_, chain) = common::call(
        "GET",
        &format!("{base_b}/api/v1/audit/verify"),
        Some(&a.admin),
        None,
    );
    assert_eq!(chain["ok"], true, "{chain}");
    // Both instances publish every key.
    let (_, ka) = a.get("/api/v1/keys", None);
    let (_, kb) = common::call("GET", &format!("{base_b}/api/v1/keys"), None, None);
    assert_eq!(ka, kb);
    assert_eq!(
        ka.as_array().unwrap().len(),
        2,
        "each instance signs with its own published key"
    );
}
