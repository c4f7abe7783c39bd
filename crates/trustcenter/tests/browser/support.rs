//! What the browser tests share: a trust center on 127.0.0.1 whose absolute links come from
//! the Host header, screenshots, sign-in through the form or over plain HTTP, and probes.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use iotassure_trustcenter::Server;
use serde_json::{json, Value};

use crate::common::{self, Backend, Tc};
use crate::webdriver::Browser;

pub const XSS: &str = "<script>window.pwned=1;alert('xss')</script>";

/// A trust center whose absolute links come from the Host header (the test cannot know its port
/// before it binds).
pub fn start(b: Backend) -> Option<Tc> {
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

pub fn shots() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/browser-screenshots")
}

pub fn shot(br: &Browser, name: &str) {
    // Tall enough that most pages fit in one image.
    br.set_window(1280, 1700);
    br.script("window.scrollTo(0, 0);");
    br.screenshot(&shots().join(format!("{name}.png")));
}

pub fn sign_in(br: &Browser, tc: &Tc, token: &str) {
    br.goto(&format!("{}/signin", tc.base));
    br.type_into("#token", token);
    br.click("#signin");
}

pub fn sign_out(br: &Browser) {
    // Error pages carry no session chrome; every other page has the sign-out button.
    if br.try_find("form[action='/signout']").is_none() {
        br.goto(&br.url().split("/").take(3).collect::<Vec<_>>().join("/"));
    }
    br.click("form[action='/signout'] button");
}

/// The browser's session cookie, for requests the test sends itself.
pub fn session_cookie(br: &Browser) -> String {
    br.cookies()
        .into_iter()
        .find(|c| c["name"] == "iotassure_session")
        .map(|c| c["value"].as_str().unwrap().to_string())
        .expect("a session cookie")
}

/// A plain HTTP request (no redirects followed): status, headers, body.
pub fn http(
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

pub fn header<'a>(hs: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    hs.iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}

/// Decodes the one QR code in a PNG.
pub fn decode_qr(png_bytes: &[u8]) -> String {
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

pub fn no_script_ran(br: &Browser) {
    assert_eq!(br.alert(), None, "an alert is open: a stored script ran");
    assert_eq!(
        br.script("return typeof window.pwned;"),
        json!("undefined"),
        "a stored script ran on {}",
        br.url()
    );
}

pub fn shot_lab(br: &Browser, tc: &Tc) {
    br.goto(&format!("{}/lab", tc.base));
    shot(br, "lab");
}

/// The value a `Set-Cookie` header gives `name`, with the whole header.
pub fn set_cookie<'a>(hs: &'a [(String, String)], name: &str) -> Option<(&'a str, &'a str)> {
    header(hs, "set-cookie").into_iter().find_map(|c| {
        let v = c.strip_prefix(name)?.strip_prefix('=')?;
        Some((v.split(';').next().unwrap(), c))
    })
}

/// Signs in without the browser; returns the session cookie's value and its `Set-Cookie`.
pub fn http_sign_in(tc: &Tc, token: &str, extra: &[(&str, &str)]) -> (String, String) {
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

pub fn org_names(tc: &Tc) -> Vec<String> {
    let (_, orgs) = tc.get("/api/v1/orgs", Some(&tc.admin));
    orgs.as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap().to_string())
        .collect()
}

/// The smart plug's report, renamed to `model` and given another image digest (a release of
/// its own).
pub fn report_named(model: &str, sha_byte: &str) -> Vec<u8> {
    let mut r: Value = serde_json::from_slice(&common::passing_report()).unwrap();
    r["subject"]["product"]["model"] = json!(model);
    r["subject"]["firmware"]["sha256"] = json!(sha_byte.repeat(32));
    serde_json::to_vec(&r).unwrap()
}

/// The `csrf` value a page's forms carry.
pub fn page_csrf(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .expect("a form with csrf")
        + 19;
    html[at..].split('"').next().unwrap().to_string()
}

pub fn multipart(parts: &[(&str, &[u8])]) -> (String, Vec<u8>) {
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

pub fn leftovers(tc: &Tc) -> Vec<String> {
    match std::fs::read_dir(tc.data.path().join("web-uploads")) {
        Ok(d) => d
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

pub fn submissions(tc: &Tc) -> usize {
    let (_, log) = tc.get("/api/v1/audit?limit=1000", Some(&tc.admin));
    log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "assessment.submit")
        .count()
}
