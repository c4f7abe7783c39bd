//! Uploads for the trust center to assess: streamed under a cap (an oversized one leaves nothing
//! behind), claimed with a lease, and never done twice: a worker whose lease passed and whose job
//! another worker took stores nothing.

mod common;

use std::time::Duration;

use common::{Backend, Tc};
use iotassure_trustcenter::auth::Role;
use iotassure_trustcenter::jobs;
use serde_json::Value;

fn multipart(parts: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    let b = "testboundary7";
    let mut body = Vec::new();
    for (name, data) in parts {
        body.extend_from_slice(
            format!("--{b}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{name}.bin\"\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{b}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={b}"), body)
}

both!(oversized_upload_leaves_nothing, |b: Backend| {
    let Some(tc) = Tc::start(b) else { return };
    let (maker_id, maker) = tc.org_token("Maker", "maker", "maker");
    let _ = maker_id;
    let statement = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/smart-plug/smart-plug.ics.yaml"
    ))
    .unwrap();
    // The test server caps uploads at 1 MiB (common::config).
    let big = vec![0x5a; 3 << 20];
    let (ct, body) = multipart(&[("statement", &statement), ("image", &big)]);
    let (s, v) = common::call_h(
        "POST",
        &format!("{}/api/v1/jobs", tc.base),
        Some(&maker),
        Some(body),
        &[("Content-Type", &ct)],
    );
    assert_eq!(s, 413, "{v}");
    let uploads = tc.data.path().join("uploads");
    let left: Vec<_> = std::fs::read_dir(&uploads)
        .map(|r| r.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "nothing half-written stays: {left:?}");
    // Missing statement, unknown part: refused.
    let (ct, body) = multipart(&[("image", b"small image")]);
    let (s, v) = common::call_h(
        "POST",
        &format!("{}/api/v1/jobs", tc.base),
        Some(&maker),
        Some(body),
        &[("Content-Type", &ct)],
    );
    assert_eq!(s, 422, "{v}");
    let (ct, body) = multipart(&[
        ("statement", &statement),
        ("image", b"x"),
        ("../../etc/passwd", b"x"),
    ]);
    let (s, v) = common::call_h(
        "POST",
        &format!("{}/api/v1/jobs", tc.base),
        Some(&maker),
        Some(body),
        &[("Content-Type", &ct)],
    );
    assert_eq!(s, 422, "{v}");
    // A good one is queued.
    let (ct, body) = multipart(&[("statement", &statement), ("image", b"tiny image")]);
    let (s, v) = common::call_h(
        "POST",
        &format!("{}/api/v1/jobs", tc.base),
        Some(&maker),
        Some(body),
        &[("Content-Type", &ct)],
    );
    assert_eq!(s, 202, "{v}");
    assert_eq!(v["state"], "queued");
    let (s, j) = tc.get(
        &format!("/api/v1/jobs/{}", v["id"].as_str().unwrap()),
        Some(&maker),
    );
    assert_eq!((s, &j["state"]), (200, &Value::from("queued")), "{j}");
});

both!(a_job_whose_lease_passed_is_not_done_twice, |b: Backend| {
    let Some(tc) = Tc::start(b) else { return };
    let (_, lab) = tc.org_token("Lab", "lab", "certifier");
    let (maker_id, _) = tc.org_token("Example Plugs Ltd", "maker", "maker");
    let statement = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/smart-plug/smart-plug.ics.yaml"
    ))
    .unwrap();
    let (ct, body) = multipart(&[("statement", &statement), ("image", b"any image")]);
    let (s, v) = common::call_h(
        "POST",
        &format!("{}/api/v1/jobs", tc.base),
        Some(&lab),
        Some(body),
        &[("Content-Type", &ct)],
    );
    assert_eq!(s, 422, "a lab must name the maker: {v}");
    let mut with_maker = multipart(&[("statement", &statement), ("image", b"any image")]).1;
    let text = format!(
        "--testboundary7\r\nContent-Disposition: form-data; name=\"maker\"\r\n\r\n{maker_id}\r\n"
    );
    with_maker.splice(0..0, text.into_bytes());
    let (s, v) = common::call_h(
        "POST",
        &format!("{}/api/v1/jobs", tc.base),
        Some(&lab),
        Some(with_maker),
        &[("Content-Type", &ct)],
    );
    assert_eq!(s, 202, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    let st = &tc.server.as_ref().unwrap().state;
    let report = common::passing_report();
    tc.rt.block_on(async {
        // Worker A claims with a lease that passes at once (it "dies").
        let a = jobs::claim(st, "worker:a", Duration::from_millis(0))
            .await
            .unwrap()
            .expect("a job");
        assert_eq!((a.id.as_str(), a.attempts), (id.as_str(), 1));
        assert_eq!(a.submitter_role, Role::Certifier);
        tokio::time::sleep(Duration::from_millis(20)).await;
        // Worker B takes it over.
        let b = jobs::claim(st, "worker:b", Duration::from_secs(600))
            .await
            .unwrap()
            .expect("the expired job");
        assert_eq!((b.id.as_str(), b.attempts), (id.as_str(), 2));
        assert!(
            jobs::claim(st, "worker:c", Duration::from_secs(600))
                .await
                .unwrap()
                .is_none(),
            "nothing else to take"
        );
        // A wakes up and finishes late: refused, nothing stored.
        let late = jobs::finish(st, "worker:a", &a, &report).await;
        assert!(late.is_err(), "a worker that lost its lease stores nothing");
        let done = jobs::finish(st, "worker:b", &b, &report)
            .await
            .expect("B finishes");
        let again = jobs::finish(st, "worker:b", &b, &report).await;
        assert!(again.is_err(), "a job is done once");
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM assessments")
            .fetch_one(&st.store.pool)
            .await
            .unwrap();
        assert_eq!(n, 1, "one assessment for one job");
        let j = jobs::get(
            st,
            &iotassure_trustcenter::auth::Caller {
                role: Role::Admin,
                org: None,
                token_id: None,
            },
            &id,
        )
        .await
        .unwrap();
        assert_eq!(
            (j.state.as_str(), j.assessment.as_deref(), j.attempts),
            ("done", Some(done.as_str()), 2)
        );
    });
    let (_, chain) = tc.get("/api/v1/audit/verify", Some(&tc.admin));
    assert_eq!(chain["ok"], true, "{chain}");
});
