//! The disclosure desk's pages in a real browser: a researcher files, the maker acknowledges and
//! answers, the follow-up page shows it.

mod common;
#[path = "browser/support.rs"]
mod support;
#[path = "browser/webdriver.rs"]
mod webdriver;

use common::Backend;
use serde_json::json;
use support::*;

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
    // The attachment, through the API with the page's session (a read).
    let href = br.script("return document.querySelector('a.attachment').href;");
    let cookie = format!("iotassure_session={}", session_cookie(&br));
    let (s, _, body) = http("GET", href.as_str().unwrap(), &[("Cookie", &cookie)], None);
    assert_eq!(s, 200);
    assert_eq!(body, std::fs::read(&poc).unwrap());
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
