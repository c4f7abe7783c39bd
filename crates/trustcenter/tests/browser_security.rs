//! The web pages' security in a real browser: forged and missing CSRF tokens are refused with the
//! state unchanged; session cookies are HttpOnly, SameSite=Strict (Secure behind TLS), die with
//! their token and at sign-out; a maker cannot open another maker's records by changing an id;
//! script in stored text does not run.

mod common;
#[path = "browser/support.rs"]
mod support;
#[path = "browser/webdriver.rs"]
mod webdriver;

use common::Backend;
use serde_json::json;
use support::*;

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

    // A session past its expiry is no session (the clock moved on behind the service's back).
    let (old, _) = http_sign_in(&tc, &tc.admin, &[]);
    let oc = format!("iotassure_session={old}");
    let (s, _, _) = http(
        "GET",
        &format!("{}/admin", tc.base),
        &[("Cookie", &oc)],
        None,
    );
    assert_eq!(s, 200);
    tc.rt.block_on(async {
        use sqlx::Connection;
        let mut c = sqlx::AnyConnection::connect(&tc.db_url).await.unwrap();
        let n = sqlx::query(
            "UPDATE web_sessions SET expires_at = '2000-01-01T00:00:00.000000Z' WHERE id_hash = $1",
        )
        .bind(iotassure_trustcenter::util::sha256_hex(old.as_bytes()))
        .execute(&mut c)
        .await
        .unwrap()
        .rows_affected();
        assert_eq!(n, 1);
    });
    let (s, hs, _) = http(
        "GET",
        &format!("{}/admin", tc.base),
        &[("Cookie", &oc)],
        None,
    );
    assert_eq!(s, 303);
    assert_eq!(header(&hs, "location"), ["/signin?next=/admin"]);

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
