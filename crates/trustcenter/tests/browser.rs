//! The web pages in a real browser: headless Chromium driven through chromedriver (W3C WebDriver)
//! against the real server on 127.0.0.1. An admin signs in and creates organisations and tokens;
//! a lab uploads a report.json, certifies it, and the public label page shows it; the QR code
//! decodes to the label page's URL; a suspension's reason shows in the label's history. The lab's
//! upload is capped, CSRF-checked first and leaves nothing when cut off.
//!
//! Screenshots of each main page go to `target/browser-screenshots/`.

mod common;
#[path = "browser/support.rs"]
mod support;
#[path = "browser/webdriver.rs"]
mod webdriver;

use std::time::Duration;

use common::{Backend, Tc};
use iotassure_trustcenter::Server;
use serde_json::{json, Value};
use support::*;

#[test]
fn admin_lab_label_and_qr() {
    let Some(br) = webdriver::launch() else {
        return;
    };
    let tc = start(Backend::Sqlite).unwrap();

    // Unsigned, the admin page sends the browser to the sign-in page and back.
    br.goto(&format!("{}/admin", tc.base));
    assert!(br.url().contains("/signin?next=/admin"), "{}", br.url());
    shot(&br, "signin");
    br.type_into("#token", "iat_not-a-real-token");
    br.click("#signin");
    assert!(br.text("#signin-error").contains("unknown or revoked"));
    br.type_into("#token", &tc.admin);
    br.click("#signin");
    assert!(br.url().ends_with("/admin"), "{}", br.url());
    assert!(br.text("#chain-result").starts_with("Verified"));

    // Organisations and tokens, through the forms.
    for (name, kind) in [("Example Plugs Ltd", "maker"), ("Test Lab", "lab")] {
        br.type_into("#org-name", name);
        br.select("#org-kind", kind);
        br.click("#create-org");
    }
    let (_, orgs) = tc.get("/api/v1/orgs", Some(&tc.admin));
    let names: Vec<&str> = orgs
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Example Plugs Ltd", "Test Lab"]);
    let make_token = |role: &str, org: &str| {
        br.select("#token-role", role);
        br.select("#token-org", org);
        br.type_into("#token-label", &format!("{role} for {org}"));
        br.click("#create-token");
        br.text("#new-token")
    };
    let lab = make_token("certifier", "Test Lab");
    shot(&br, "admin-token-created");
    let maker = make_token("maker", "Example Plugs Ltd");
    assert!(lab.starts_with("iat_") && maker.starts_with("iat_") && lab != maker);
    // The secret works on the API, as the role it was made for.
    let (s, _) = tc.get("/api/v1/orgs", Some(&lab));
    assert_eq!(s, 200);
    let (s, _) = tc.get("/api/v1/orgs", Some(&maker));
    assert_eq!(s, 403);
    // Reloading the admin page never shows a secret again.
    br.goto(&format!("{}/admin", tc.base));
    assert!(br.try_find("#new-token").is_none());
    assert!(!br.source().contains(&lab));
    shot(&br, "admin");
    sign_out(&br);

    // The lab uploads the smart plug's report, then certifies it.
    sign_in(&br, &tc, &lab);
    assert!(br.url().ends_with("/lab"), "{}", br.url());
    br.select("#maker", "Example Plugs Ltd");
    br.script("document.getElementById('support_end').value = '2031-12-31';");
    let file = common::data("smart-plug.report.json");
    br.type_into_file("#report", &file);
    br.click("#upload-report");
    assert!(br.url().contains("/assessments/"), "{}", br.url());
    assert!(br.text("h1").contains("SP-1 Smart Plug"));
    shot(&br, "lab-assessment");
    br.select("#profile", "uk-psti:");
    br.click("#certify-btn");
    let label_url = br.url();
    assert!(label_url.contains("/registry/"), "{label_url}");
    let cert_id = label_url.rsplit('/').next().unwrap().to_string();

    // The public label page, signed out.
    sign_out(&br);
    br.goto(&label_url);
    assert_eq!(br.text("#model"), "SP-1 Smart Plug");
    assert_eq!(br.text("#maker"), "Example Plugs Ltd");
    assert_eq!(br.text("#status"), "VALID");
    assert!(br.text("#firmware").starts_with("2.4.1"));
    assert!(
        br.text("#support").contains("until 31 December 2031"),
        "{}",
        br.text("#support")
    );
    let (_, api_cert) = tc.get(&format!("/api/v1/certificates/{cert_id}"), None);
    assert!(br
        .text("#level")
        .starts_with(&format!("Level {} of 4", api_cert["level"])));
    // One bar per clause in the chart, with one segment per non-zero verdict count.
    let clauses = api_cert["clauses"].as_array().unwrap();
    let bars = br.script("return document.querySelectorAll('#chart g').length;");
    assert_eq!(bars, json!(clauses.len()));
    // A verified pass, a declared-only pass and a justified recommendation are segments of their
    // own: never drawn as each other.
    let n = |c: &Value, k: &str| c[k].as_u64().unwrap_or(0);
    let segs: u64 = clauses
        .iter()
        .map(|c| {
            [
                n(c, "pass") - n(c, "pass_declared"),
                n(c, "pass_declared"),
                n(c, "fail"),
                n(c, "justified"),
                n(c, "inconclusive"),
                n(c, "not_applicable"),
            ]
            .iter()
            .filter(|x| **x > 0)
            .count() as u64
        })
        .sum();
    assert_eq!(
        br.script("return document.querySelectorAll('#chart rect').length;"),
        json!(segs)
    );
    let justified: u64 = clauses.iter().map(|c| n(c, "justified")).sum();
    assert_eq!(
        br.script("return document.querySelectorAll('#chart rect.justified').length > 0;"),
        json!(justified > 0)
    );
    assert_eq!(
        br.script("return document.querySelectorAll('#chart rect.fail').length;"),
        json!(clauses.iter().filter(|c| n(c, "fail") > 0).count())
    );
    // The attestation link serves the signed envelope.
    let href = br.script("return document.getElementById('attestation').href;");
    let (s, _, env) = http("GET", href.as_str().unwrap(), &[], None);
    assert_eq!(s, 200);
    let env: Value = serde_json::from_slice(&env).unwrap();
    assert_eq!(env["payloadType"], "application/vnd.in-toto+json");
    shot(&br, "label");

    // The QR code in the PNG is the label page's address.
    let host = tc.base.trim_start_matches("http://");
    let (s, hs, png) = http(
        "GET",
        &format!("{}/registry/{cert_id}/qr.png", tc.base),
        &[("Host", host)],
        None,
    );
    assert_eq!(s, 200);
    assert_eq!(header(&hs, "content-type"), ["image/png"]);
    assert_eq!(decode_qr(&png), label_url);
    let (s, hs, svg) = http(
        "GET",
        &format!("{}/registry/{cert_id}/qr.svg", tc.base),
        &[],
        None,
    );
    assert_eq!(s, 200);
    assert_eq!(header(&hs, "content-type"), ["image/svg+xml"]);
    assert!(String::from_utf8(svg).unwrap().starts_with("<?xml"));

    // The lab suspends it with a reason that carries a script; the history shows the text.
    sign_in(&br, &tc, &lab);
    let reason = format!("battery overheats {XSS}");
    br.select(
        &format!("form[action='/lab/certificates/{cert_id}/status'] select"),
        "suspend",
    );
    br.type_into(
        &format!("form[action='/lab/certificates/{cert_id}/status'] input[name=reason]"),
        &reason,
    );
    br.click(&format!(
        "form[action='/lab/certificates/{cert_id}/status'] button"
    ));
    assert_eq!(br.url(), label_url);
    assert_eq!(br.text("#status"), "SUSPENDED");
    let newest = br.text("#history tbody tr:first-child .reason");
    assert_eq!(newest, reason, "shown exactly as given, as text");
    assert!(br.source().contains("&lt;script&gt;window.pwned"));
    no_script_ran(&br);
    shot(&br, "label-suspended");
    shot_lab(&br, &tc);
    sign_out(&br);

    // The public registry lists and finds it.
    br.goto(&format!("{}/registry", tc.base));
    assert!(br.text("#total").starts_with("1 certificate"));
    shot(&br, "registry");
    br.goto(&format!(
        "{}/registry?model=smart&status=suspended",
        tc.base
    ));
    assert!(br.text("#certificates").contains("SP-1 Smart Plug"));
    br.goto(&format!("{}/registry?model=smart&status=valid", tc.base));
    assert!(br.text("#total").starts_with("0 certificates"));

    // The maker sees its certificate and assessment, and sets its webhook.
    sign_in(&br, &tc, &maker);
    assert!(br.url().ends_with("/maker"), "{}", br.url());
    let page = br.body_text();
    assert!(page.contains("SP-1 Smart Plug") && page.contains("SUSPENDED"));
    br.type_into("#url", "https://hooks.example.com/iotassure");
    br.click("#save-webhook");
    assert!(br.text("#saved").contains("Webhook saved"));
    let (_, orgs) = tc.get("/api/v1/orgs", Some(&tc.admin));
    let plugs = orgs
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "Example Plugs Ltd")
        .unwrap();
    assert_eq!(plugs["webhook_url"], "https://hooks.example.com/iotassure");
    shot(&br, "maker");

    // Every step above is in the audit chain, which still verifies.
    let (_, chain) = tc.get("/api/v1/audit/verify", Some(&tc.admin));
    assert_eq!(chain["ok"], true, "{chain}");
}

#[test]
fn qr_encodes_the_configured_public_url() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let data = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}?mode=rwc", data.path().join("tc.db").display());
    let mut config = common::config(data.path(), &db);
    config.public_url = Some("https://tc.example.org/".into());
    let server = rt.block_on(Server::start(config)).unwrap();
    let tc = Tc {
        base: format!("http://{}", server.addr),
        admin: server.admin_token.clone().unwrap(),
        data,
        db_url: db,
        rt,
        server: Some(server),
    };
    let (_, lab) = tc.org_token("Test Lab", "lab", "certifier");
    let (maker_id, _) = tc.org_token("Example Plugs Ltd", "maker", "maker");
    let (_, sub) = tc.post_raw(
        &format!("/api/v1/assessments?maker={maker_id}"),
        Some(&lab),
        common::passing_report(),
    );
    let (_, cert) = tc.post(
        "/api/v1/certificates",
        Some(&lab),
        &json!({"assessment": sub["id"], "profile": "uk-psti"}),
    );
    let id = cert["id"].as_str().unwrap();
    // A forged Host header changes nothing: the configured URL is printed.
    let (s, _, png) = http(
        "GET",
        &format!("{}/registry/{id}/qr.png", tc.base),
        &[("Host", "evil.example")],
        None,
    );
    assert_eq!(s, 200);
    assert_eq!(
        decode_qr(&png),
        format!("https://tc.example.org/registry/{id}")
    );
    // An unknown certificate has no code.
    let (s, _, _) = http(
        "GET",
        &format!(
            "{}/registry/{}/qr.png",
            tc.base, "00000000-0000-4000-8000-000000000000"
        ),
        &[],
        None,
    );
    assert_eq!(s, 404);
    // The public_url is https: cookies are Secure even without a proxy header.
    let (_, whole) = http_sign_in(&tc, &tc.admin, &[]);
    assert!(whole.contains("; Secure"), "{whole}");
}

/// The lab's upload without a browser: over the cap it is a 413 page, with a forged token a 403
/// before anything is written, and a connection dropped halfway leaves neither a record nor a
/// file; a whole, honest upload goes through.
#[test]
fn lab_upload_is_capped_and_leaves_nothing() {
    use std::io::Write;
    let tc = start(Backend::Sqlite).unwrap();
    let (_, lab) = tc.org_token("Test Lab", "lab", "certifier");
    let (maker_id, _) = tc.org_token("Example Plugs Ltd", "maker", "maker");
    let (session, _) = http_sign_in(&tc, &lab, &[]);
    let cookie = format!("iotassure_session={session}");
    let (_, _, page) = http(
        "GET",
        &format!("{}/lab", tc.base),
        &[("Cookie", &cookie)],
        None,
    );
    let csrf = page_csrf(&String::from_utf8(page).unwrap());
    let url = format!("{}/lab/submit", tc.base);
    let post = |parts: &[(&str, &[u8])]| {
        let (ct, body) = multipart(parts);
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        let mut r = agent
            .post(&url)
            .header("Cookie", &cookie)
            .header("Content-Type", &ct)
            .send(&body[..])
            .unwrap();
        let s = r.status().as_u16();
        (s, r.body_mut().read_to_string().unwrap_or_default())
    };
    let report = common::passing_report();
    let huge = vec![b' '; (4 << 20) + 1];

    let (s, page) = post(&[
        ("csrf", csrf.as_bytes()),
        ("maker", maker_id.as_bytes()),
        ("report", &huge),
    ]);
    assert_eq!(s, 413, "{page}");
    assert!(page.contains("--max-body"), "{page}");
    let (s, page) = post(&[
        ("csrf", b"forged"),
        ("maker", maker_id.as_bytes()),
        ("report", &report),
    ]);
    assert_eq!(s, 403, "{page}");
    // The token must come first, so a forged request cannot make the server write first.
    let (s, _) = post(&[
        ("maker", maker_id.as_bytes()),
        ("report", &report),
        ("csrf", csrf.as_bytes()),
    ]);
    assert_eq!(s, 403);
    assert_eq!(submissions(&tc), 0);
    assert!(leftovers(&tc).is_empty(), "{:?}", leftovers(&tc));

    // Killed halfway: the connection drops after half the report.
    let (ct, body) = multipart(&[
        ("csrf", csrf.as_bytes()),
        ("maker", maker_id.as_bytes()),
        ("report", &report),
    ]);
    let half = body.len() / 2;
    let addr = tc.base.trim_start_matches("http://");
    let mut sock = std::net::TcpStream::connect(addr).unwrap();
    write!(
        sock,
        "POST /lab/submit HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nContent-Type: {ct}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    sock.write_all(&body[..half]).unwrap();
    sock.flush().unwrap();
    // Streamed: the first half reaches the disk, in a temporary file, before the rest is sent.
    let during = wait_for(|| {
        let l = leftovers(&tc);
        (l.len() == 1 && l[0].ends_with(".json.partial")).then_some(l)
    });
    assert!(during.is_some(), "no partial file: {:?}", leftovers(&tc));
    drop(sock);
    let cleaned = wait_for(|| leftovers(&tc).is_empty().then_some(()));
    assert!(cleaned.is_some(), "{:?}", leftovers(&tc));
    assert_eq!(submissions(&tc), 0);

    // The whole form goes through to the assessment page.
    let (s, _) = post(&[
        ("csrf", csrf.as_bytes()),
        ("maker", maker_id.as_bytes()),
        ("support_end", b"2031-12-31"),
        ("report", &report),
    ]);
    assert_eq!(s, 303);
    assert_eq!(submissions(&tc), 1);
    assert!(leftovers(&tc).is_empty(), "{:?}", leftovers(&tc));
}

/// More certificates than one page holds: the list pages through them, 20 at a time.
#[test]
fn registry_pages_through_results() {
    let tc = start(Backend::Sqlite).unwrap();
    let (_, lab) = tc.org_token("Test Lab", "lab", "certifier");
    let (maker_id, _) = tc.org_token("Example Plugs Ltd", "maker", "maker");
    for i in 0..23 {
        let mut r: Value = serde_json::from_slice(&common::passing_report()).unwrap();
        r["subject"]["firmware"]["sha256"] = json!(format!("{i:064x}"));
        r["subject"]["product"]["firmware_version"] = json!(format!("3.0.{i}"));
        let (s, sub) = tc.post_raw(
            &format!("/api/v1/assessments?maker={maker_id}"),
            Some(&lab),
            serde_json::to_vec(&r).unwrap(),
        );
        assert_eq!(s, 201, "{sub}");
        let (s, c) = tc.post(
            "/api/v1/certificates",
            Some(&lab),
            &json!({"assessment": sub["id"], "profile": "uk-psti"}),
        );
        assert_eq!(s, 201, "{c}");
    }
    let rows = |html: &str| html.matches("<a href=\"/registry/").count();
    let (s, _, p1) = http(
        "GET",
        &format!("{}/registry?model=plug", tc.base),
        &[],
        None,
    );
    assert_eq!(s, 200);
    let p1 = String::from_utf8(p1).unwrap();
    assert!(p1.contains("23 certificates found"));
    assert_eq!(rows(&p1), 20);
    assert!(p1.contains("Page 1 of 2"));
    let next = "/registry?model=plug&#38;maker=&#38;status=&#38;page=2";
    assert!(p1.contains(next), "the next link keeps the search");
    let (_, _, p2) = http(
        "GET",
        &format!("{}{}", tc.base, next.replace("&#38;", "&")),
        &[],
        None,
    );
    let p2 = String::from_utf8(p2).unwrap();
    assert_eq!(rows(&p2), 3);
    assert!(p2.contains("Page 2 of 2") && p2.contains("rel=\"prev\""));
    // A hostile query is a page, not a crash.
    let (s, _, _) = http("GET", &format!("{}/registry?page=abc", tc.base), &[], None);
    assert_eq!(s, 400);
}

/// Polls `f` for up to 10 s (a loaded CI machine is slow, a correct server gets there).
fn wait_for<T>(mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let t0 = std::time::Instant::now();
    while t0.elapsed() < Duration::from_secs(10) {
        if let Some(t) = f() {
            return Some(t);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}
