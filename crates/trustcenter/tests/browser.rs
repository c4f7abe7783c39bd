//! The web pages in a real browser: headless Chromium driven through chromedriver (W3C WebDriver)
//! against the real server on 127.0.0.1. Flows: an admin signs in and creates organisations and
//! tokens; a lab uploads a report.json, certifies it, and the public label page shows it; the QR
//! code decodes to the label page's URL; a suspension's reason shows in the label's history.
//! Security: forged and missing CSRF tokens are refused with the state unchanged; a maker cannot
//! open another maker's records by changing an id; script in stored text does not run.
//!
//! Screenshots of each main page go to `target/browser-screenshots/`.

mod common;
#[path = "browser/webdriver.rs"]
mod webdriver;

use std::path::PathBuf;
use std::time::Duration;

use common::{Backend, Tc};
use iotassure_trustcenter::Server;
use serde_json::{json, Value};
use webdriver::Browser;

const XSS: &str = "<script>window.pwned=1;alert('xss')</script>";

/// A trust center whose absolute links come from the Host header (the test cannot know its port
/// before it binds).
fn start(b: Backend) -> Option<Tc> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    let db_url = match b {
        Backend::Sqlite => format!("sqlite://{}?mode=rwc", data.path().join("tc.db").display()),
        Backend::Postgres => common::fresh_pg_db(&rt)?,
    };
    let mut config = common::config(data.path(), &db_url);
    config.public_url_from_host = true;
    let server: Server = rt.block_on(Server::start(config)).expect("start");
    Some(Tc {
        base: format!("http://{}", server.addr),
        admin: server.admin_token.clone().unwrap(),
        data,
        db_url,
        rt,
        server: Some(server),
    })
}

fn shots() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/browser-screenshots")
}

fn shot(br: &Browser, name: &str) {
    // Tall enough that most pages fit in one image.
    br.set_window(1280, 1700);
    br.screenshot(&shots().join(format!("{name}.png")));
}

fn sign_in(br: &Browser, tc: &Tc, token: &str) {
    br.goto(&format!("{}/signin", tc.base));
    br.type_into("#token", token);
    br.click("#signin");
}

fn sign_out(br: &Browser) {
    // Error pages carry no session chrome; every other page has the sign-out button.
    if br.try_find("form[action='/signout']").is_none() {
        br.goto(&br.url().split("/").take(3).collect::<Vec<_>>().join("/"));
    }
    br.click("form[action='/signout'] button");
}

/// The browser's session cookie, for requests the test sends itself.
fn session_cookie(br: &Browser) -> String {
    br.cookies()
        .into_iter()
        .find(|c| c["name"] == "iotassure_session")
        .map(|c| c["value"].as_str().unwrap().to_string())
        .expect("a session cookie")
}

/// A plain HTTP request (no redirects followed): status, headers, body.
fn http(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(60)))
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let resp = match body {
        None => {
            let mut r = agent.get(url);
            for (k, v) in headers {
                r = r.header(*k, *v);
            }
            r.call()
        }
        Some(b) => {
            let mut r = agent
                .post(url)
                .header("Content-Type", "application/x-www-form-urlencoded");
            for (k, v) in headers {
                r = r.header(*k, *v);
            }
            r.send(b.as_bytes())
        }
    };
    let _ = method;
    let mut resp = resp.unwrap();
    let status = resp.status().as_u16();
    let hs = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let body = resp
        .body_mut()
        .with_config()
        .limit(16 << 20)
        .read_to_vec()
        .unwrap();
    (status, hs, body)
}

fn header<'a>(hs: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    hs.iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}

/// Decodes the one QR code in a PNG.
fn decode_qr(png_bytes: &[u8]) -> String {
    let dec = png::Decoder::new(png_bytes);
    let mut r = dec.read_info().unwrap();
    let mut buf = vec![0; r.output_buffer_size()];
    let info = r.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Grayscale);
    let (w, h) = (info.width as usize, info.height as usize);
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| buf[y * w + x]);
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the PNG");
    grids[0].decode().unwrap().1
}

fn no_script_ran(br: &Browser) {
    assert_eq!(br.alert(), None, "an alert is open: a stored script ran");
    assert_eq!(
        br.script("return typeof window.pwned;"),
        json!("undefined"),
        "a stored script ran on {}",
        br.url()
    );
}

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
    let segs: u64 = clauses
        .iter()
        .map(|c| {
            ["pass", "fail", "inconclusive", "not_applicable"]
                .iter()
                .filter(|k| c[**k].as_u64().unwrap() > 0)
                .count() as u64
        })
        .sum();
    assert_eq!(
        br.script("return document.querySelectorAll('#chart rect').length;"),
        json!(segs)
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

fn shot_lab(br: &Browser, tc: &Tc) {
    br.goto(&format!("{}/lab", tc.base));
    shot(br, "lab");
}

/// The value a `Set-Cookie` header gives `name`, with the whole header.
fn set_cookie<'a>(hs: &'a [(String, String)], name: &str) -> Option<(&'a str, &'a str)> {
    header(hs, "set-cookie").into_iter().find_map(|c| {
        let v = c.strip_prefix(name)?.strip_prefix('=')?;
        Some((v.split(';').next().unwrap(), c))
    })
}

/// Signs in without the browser; returns the session cookie's value and its `Set-Cookie`.
fn http_sign_in(tc: &Tc, token: &str, extra: &[(&str, &str)]) -> (String, String) {
    let (s, hs, _) = http("GET", &format!("{}/signin", tc.base), extra, None);
    assert_eq!(s, 200);
    let (pre, _) = set_cookie(&hs, "iotassure_presession").expect("a pre-session cookie");
    let cookie = format!("iotassure_presession={pre}");
    let mut headers = vec![("Cookie", cookie.as_str())];
    headers.extend_from_slice(extra);
    let (s, hs, body) = http(
        "POST",
        &format!("{}/signin", tc.base),
        &headers,
        Some(&format!("csrf={pre}&token={token}&next=")),
    );
    assert_eq!(s, 303, "{}", String::from_utf8_lossy(&body));
    let (v, whole) = set_cookie(&hs, "iotassure_session").expect("a session cookie");
    (v.to_string(), whole.to_string())
}

fn org_names(tc: &Tc) -> Vec<String> {
    let (_, orgs) = tc.get("/api/v1/orgs", Some(&tc.admin));
    orgs.as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap().to_string())
        .collect()
}

both!(csrf_and_sessions, |b: Backend| {
    let Some(br) = webdriver::launch() else {
        return;
    };
    let Some(tc) = start(b) else { return };
    sign_in(&br, &tc, &tc.admin);
    assert!(br.url().ends_with("/admin"));
    let session = session_cookie(&br);
    let c = br
        .cookies()
        .into_iter()
        .find(|c| c["name"] == "iotassure_session")
        .unwrap();
    assert_eq!(c["httpOnly"], true, "{c}");
    assert_eq!(c["sameSite"], "Strict", "{c}");
    assert_eq!(c["secure"], false, "plain HTTP here: {c}");
    assert_eq!(c["path"], "/", "{c}");
    // Script cannot read it.
    assert_eq!(br.script("return document.cookie;"), json!(""));

    // A forged CSRF token in the browser's own form: 403, nothing created.
    let before = org_names(&tc);
    br.script("document.querySelectorAll('input[name=csrf]').forEach(i => i.value = 'forged');");
    br.type_into("#org-name", "Forged Org");
    br.click("#create-org");
    assert!(br.text("h1").starts_with("403"), "{}", br.text("h1"));
    assert!(br.text("#problem").contains("anti-forgery"));
    assert_eq!(org_names(&tc), before);

    // The same request from outside the browser: without the field, and with a wrong one.
    let cookie = format!("iotassure_session={session}");
    let url = format!("{}/admin/orgs", tc.base);
    for body in [
        "name=Missing+Csrf&kind=maker",
        "name=Wrong+Csrf&kind=maker&csrf=iat_x",
    ] {
        let (s, _, page) = http("POST", &url, &[("Cookie", &cookie)], Some(body));
        assert_eq!(s, 403, "{body}");
        assert!(String::from_utf8_lossy(&page).contains("anti-forgery"));
    }
    assert_eq!(org_names(&tc), before);
    // With the page's token the same request goes through, so the refusals above were the token's.
    br.goto(&format!("{}/admin", tc.base));
    let csrf = br.script("return document.querySelector('input[name=csrf]').value;");
    let (s, hs, _) = http(
        "POST",
        &url,
        &[("Cookie", &cookie)],
        Some(&format!(
            "name=Right+Csrf&kind=maker&csrf={}",
            csrf.as_str().unwrap()
        )),
    );
    assert_eq!(s, 303);
    assert_eq!(header(&hs, "location"), ["/admin#orgs"]);
    assert!(org_names(&tc).contains(&"Right Csrf".to_string()));

    // The cookie authorises reads of the API, never its writes (those need the bearer token).
    let (s, _) = common::call_h(
        "GET",
        &format!("{}/api/v1/orgs", tc.base),
        None,
        None,
        &[("Cookie", &cookie)],
    );
    assert_eq!(s, 200);
    let (s, _) = common::call_h(
        "POST",
        &format!("{}/api/v1/orgs", tc.base),
        None,
        Some(br#"{"name":"Via Cookie","kind":"maker"}"#.to_vec()),
        &[("Cookie", &cookie)],
    );
    assert_eq!(s, 401);

    // Sign-in itself is CSRF-checked (against the pre-session cookie).
    let (s, hs, _) = http(
        "POST",
        &format!("{}/signin", tc.base),
        &[("Cookie", "iotassure_presession=iat_a")],
        Some(&format!("csrf=iat_b&token={}", tc.admin)),
    );
    assert_eq!(s, 403);
    assert!(set_cookie(&hs, "iotassure_session").is_none());

    // Behind a TLS proxy the cookie is Secure.
    let (_, whole) = http_sign_in(&tc, &tc.admin, &[("X-Forwarded-Proto", "https")]);
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Secure"] {
        assert!(whole.contains(attr), "{whole}");
    }

    // Revoking the token ends its sessions.
    let (_, org) = tc.post(
        "/api/v1/orgs",
        Some(&tc.admin),
        &json!({"name": "Gamma", "kind": "maker"}),
    );
    let (_, t) = tc.post(
        "/api/v1/tokens",
        Some(&tc.admin),
        &json!({"role": "maker", "org": org["id"]}),
    );
    let (maker_session, _) = http_sign_in(&tc, t["token"].as_str().unwrap(), &[]);
    let mc = format!("iotassure_session={maker_session}");
    let (s, _, _) = http(
        "GET",
        &format!("{}/maker", tc.base),
        &[("Cookie", &mc)],
        None,
    );
    assert_eq!(s, 200);
    let (s, _) = common::call(
        "DELETE",
        &format!("{}/api/v1/tokens/{}", tc.base, t["id"].as_str().unwrap()),
        Some(&tc.admin),
        None,
    );
    assert_eq!(s, 200);
    let (s, hs, _) = http(
        "GET",
        &format!("{}/maker", tc.base),
        &[("Cookie", &mc)],
        None,
    );
    assert_eq!(s, 303);
    assert_eq!(header(&hs, "location"), ["/signin?next=/maker"]);

    // Signing out deletes the session: the old cookie value is worthless.
    sign_out(&br);
    assert!(br.try_find("form[action='/signout']").is_none());
    let (s, hs, _) = http(
        "GET",
        &format!("{}/admin", tc.base),
        &[("Cookie", &cookie)],
        None,
    );
    assert_eq!(s, 303);
    assert_eq!(header(&hs, "location"), ["/signin?next=/admin"]);
});

/// The smart plug's report, renamed to `model` and given another image digest (a release of
/// its own).
fn report_named(model: &str, sha_byte: &str) -> Vec<u8> {
    let mut r: Value = serde_json::from_slice(&common::passing_report()).unwrap();
    r["subject"]["product"]["model"] = json!(model);
    r["subject"]["firmware"]["sha256"] = json!(sha_byte.repeat(32));
    serde_json::to_vec(&r).unwrap()
}

#[test]
fn maker_isolation_and_escaping() {
    let Some(br) = webdriver::launch() else {
        return;
    };
    let tc = start(Backend::Sqlite).unwrap();
    let (_, lab) = tc.org_token("Test Lab", "lab", "certifier");
    let (alpha_id, alpha) = tc.org_token("Alpha Plugs", "maker", "maker");
    let (_, beta) = tc.org_token("Beta Devices", "maker", "maker");
    let hostile_model = format!("SP-1 {XSS}");
    let (s, sub) = tc.post_raw(
        &format!("/api/v1/assessments?maker={alpha_id}&support_end=2030-06-30"),
        Some(&lab),
        report_named(&hostile_model, "ab"),
    );
    assert_eq!(s, 201, "{sub}");
    let assessment = sub["id"].as_str().unwrap().to_string();
    let (s, cert) = tc.post(
        "/api/v1/certificates",
        Some(&lab),
        &json!({"assessment": assessment, "profile": "uk-psti"}),
    );
    assert_eq!(s, 201, "{cert}");
    let cert_id = cert["id"].as_str().unwrap().to_string();

    // Beta changes the id in the address bar: the same 404 as for an id that does not exist.
    sign_in(&br, &tc, &beta);
    for path in [
        format!("/assessments/{assessment}"),
        format!("/assessments/{assessment}/report.html"),
    ] {
        br.goto(&format!("{}{path}", tc.base));
        assert!(
            br.text("h1").starts_with("404"),
            "{path}: {}",
            br.text("h1")
        );
        assert!(!br.source().contains("SP-1"), "{path} leaks the record");
    }
    br.goto(&format!("{}/maker", tc.base));
    assert!(!br.body_text().contains("SP-1"));
    // Pages of other roles: 403 pages, not errors.
    for path in ["/lab", "/admin", "/admin/audit"] {
        br.goto(&format!("{}{path}", tc.base));
        assert!(
            br.text("h1").starts_with("403"),
            "{path}: {}",
            br.text("h1")
        );
    }
    sign_out(&br);

    // Alpha sees its own record; the hostile model name shows as text and runs nowhere.
    sign_in(&br, &tc, &alpha);
    let pages = [
        "/maker".to_string(),
        format!("/assessments/{assessment}"),
        format!("/registry/{cert_id}"),
        "/registry".to_string(),
    ];
    for path in &pages {
        br.goto(&format!("{}{path}", tc.base));
        assert!(br.body_text().contains(&hostile_model), "{path}");
        assert!(br.source().contains("SP-1 &lt;script&gt;"), "{path}");
        no_script_ran(&br);
    }
    br.goto(&format!("{}/registry/{cert_id}", tc.base));
    assert_eq!(br.text("#model"), hostile_model);
    shot(&br, "label-hostile-model");
    sign_out(&br);

    // Signed out, the maker's pages send to the sign-in page, which leads back.
    br.goto(&format!("{}/assessments/{assessment}", tc.base));
    assert!(
        br.url().contains("/signin?next=/assessments/"),
        "{}",
        br.url()
    );
    br.type_into("#token", &alpha);
    br.click("#signin");
    assert!(
        br.url().ends_with(&format!("/assessments/{assessment}")),
        "{}",
        br.url()
    );
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

/// The `csrf` value a page's forms carry.
fn page_csrf(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .expect("a form with csrf")
        + 19;
    html[at..].split('"').next().unwrap().to_string()
}

fn multipart(parts: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----iotassure-test-boundary-7d3f";
    let mut body = Vec::new();
    for (name, data) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        if *name == "report" {
            body.extend_from_slice(b"Content-Disposition: form-data; name=\"report\"; filename=\"report.json\"\r\nContent-Type: application/json\r\n\r\n");
        } else {
            body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            );
        }
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn leftovers(tc: &Tc) -> Vec<String> {
    match std::fs::read_dir(tc.data.path().join("web-uploads")) {
        Ok(d) => d
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

fn submissions(tc: &Tc) -> usize {
    let (_, log) = tc.get("/api/v1/audit?limit=1000", Some(&tc.admin));
    log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "assessment.submit")
        .count()
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
    std::thread::sleep(Duration::from_millis(300));
    // Streamed: the first half is already on disk, in a temporary file.
    let during = leftovers(&tc);
    assert!(
        during.len() == 1 && during[0].ends_with(".json.partial"),
        "{during:?}"
    );
    drop(sock);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(submissions(&tc), 0);
    assert!(leftovers(&tc).is_empty(), "{:?}", leftovers(&tc));

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

/// The disclosure desk in the browser: an anonymous researcher files from a label page and gets a
/// follow-up link; the maker sees the report on its dashboard, acknowledges and answers; the
/// follow-up page shows both and the acknowledgement deadline turns from due to met.
#[test]
fn disclosure_desk_flow() {
    let Some(br) = webdriver::launch() else {
        return;
    };
    let tc = start(Backend::Sqlite).unwrap();
    let (_, lab) = tc.org_token("Test Lab", "lab", "certifier");
    let (maker_id, maker) = tc.org_token("Example Plugs Ltd", "maker", "maker");
    let (_, other) = tc.org_token("Beta Devices", "maker", "maker");
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
    let cert_id = cert["id"].as_str().unwrap();

    // Anonymous: from the label page to the report form, which names the product.
    br.goto(&format!("{}/registry/{cert_id}", tc.base));
    br.click("#report-vuln");
    assert!(br.text("#about").contains("SP-1 Smart Plug"));
    let title = format!("Telnet left open {XSS}");
    br.type_into("#title", &title);
    br.type_into(
        "#description",
        "Port 23 answers with a root shell.\nSteps: nc plug 23",
    );
    br.type_into("#affected_versions", "2.4.1");
    br.type_into("#cvss", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H");
    br.type_into("#contact", "researcher@example.org");
    let poc = tc.data.path().join("poc.txt");
    std::fs::write(&poc, b"telnet plug 23\n# whoami\nroot\n").unwrap();
    br.type_into_file("#attachment", &poc);
    shot(&br, "report-form");
    br.click("#file-report");
    let tracking = br.text("#tracking");
    assert!(tracking.starts_with("VR-"), "{tracking}");
    shot(&br, "report-filed");
    br.click("#follow-link");
    let follow_url = br.url();
    assert!(follow_url.contains("/report/follow/iaf_"), "{follow_url}");
    assert_eq!(br.text("#state"), "RECEIVED");
    assert_eq!(br.text("#report-title"), title);
    no_script_ran(&br);
    let ack_before = br.text("#deadline-table tbody tr:first-child");
    assert!(
        ack_before.starts_with("Acknowledge") && ack_before.ends_with("due"),
        "{ack_before}"
    );
    assert!(br.body_text().contains("poc.txt (29 bytes)"));
    assert!(br.body_text().contains("9.8 (critical)"));

    // Another maker changing the id in the address bar: the desk's 404.
    sign_in(&br, &tc, &other);
    br.goto(&format!("{}/maker", tc.base));
    assert!(!br.body_text().contains(&tracking));
    let (_, list) = tc.get("/api/v1/reports", Some(&maker));
    let report_id = list[0]["id"].as_str().unwrap().to_string();
    br.goto(&format!("{}/maker/reports/{report_id}", tc.base));
    assert!(br.text("h1").starts_with("404"), "{}", br.text("h1"));
    assert!(!br.source().contains("Telnet"));
    sign_out(&br);

    // The maker: the report on the dashboard, then acknowledge and answer.
    sign_in(&br, &tc, &maker);
    assert!(br.text("#reports").contains(&tracking));
    assert!(br.text("#reports").contains(&title));
    no_script_ran(&br);
    shot(&br, "maker-with-report");
    br.click(&format!("#reports a[href='/maker/reports/{report_id}']"));
    no_script_ran(&br);
    br.select("#to", "acknowledged");
    br.type_into("#note", "Thank you: we are looking at it.");
    br.click("#transition-btn");
    assert_eq!(br.text("#state"), "ACKNOWLEDGED");
    br.type_into(
        "#message",
        "Reproduced on 2.4.1; a fix is planned for 2.4.2.",
    );
    br.click("#send-message");
    assert!(br.text("#events").contains("a fix is planned for 2.4.2"));
    shot(&br, "maker-report");
    sign_out(&br);

    // The reporter's follow-up page shows both, and the deadline has moved on.
    br.goto(&follow_url);
    assert_eq!(br.text("#state"), "ACKNOWLEDGED");
    let thread = br.text("#events");
    assert!(
        thread.contains("Thank you: we are looking at it."),
        "{thread}"
    );
    assert!(thread.contains("a fix is planned for 2.4.2"), "{thread}");
    let ack_after = br.text("#deadline-table tbody tr:first-child");
    assert!(ack_after.ends_with("met"), "{ack_after}");
    assert!(br.text("#deadline-table").contains("Next status update"));
    // The reporter answers on the thread, and a forged form is refused.
    br.type_into("#message", "Thanks, I will wait for 2.4.2.");
    br.click("#send-message");
    assert!(br.text("#events").contains("I will wait for 2.4.2"));
    no_script_ran(&br);
    shot(&br, "follow-up");
    let (s, _, _) = http(
        "POST",
        &format!("{follow_url}/messages"),
        &[("Cookie", "iotassure_presession=iat_a")],
        Some("csrf=iat_b&body=forged"),
    );
    assert_eq!(s, 403);
    br.goto(&follow_url);
    assert!(!br.text("#events").contains("forged"));

    // The track record that went into the dashboard, as the API states it.
    let (_, record) = tc.get(&format!("/api/v1/orgs/{maker_id}/track-record"), None);
    let f = &record["figures"];
    assert_eq!(f["reports"], 1, "{record}");
    assert_eq!(f["acknowledged"], 1, "{record}");
    sign_in(&br, &tc, &maker);
    let line = br.text("#track-record");
    assert!(
        line.starts_with("Track record: 1 report, 1 open, 0 overdue now"),
        "{line}"
    );
    eprintln!("track record after the flow: {f}");
    eprintln!("dashboard: {line}");
}
