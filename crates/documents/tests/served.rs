//! Documents served over HTTP(S) by a real lighttpd on 127.0.0.0/8: the good set passes, the bad
//! set fails, Policy links are followed only within the named host, redirects to other hosts are
//! refused, large documents are capped, and the server's own access log shows that nothing else
//! was requested.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::*;
use iotassure_assess::Verdict;
use iotassure_core::finding::{Location, Outcome};
use iotassure_core::NoProgress;
use iotassure_documents::{assess_with, DocOptions, DocSource, Trust};

fn urls(s: &Lighttpd, paths: &[&str]) -> Vec<DocSource> {
    paths.iter().map(|p| DocSource::Url(s.url(p))).collect()
}

/// Lays the good sample set out as a maker's site, with the Policy link pointing at `origin`.
fn good_site(root: &Path, origin: &str) {
    let ex = examples().join("good");
    let exp = rfc3339_in(180);
    let site = [
        ("https://iot.example.com", origin),
        ("2027-06-30T23:59:59Z", exp.as_str()),
    ];
    copy_with(
        &ex.join("security.txt"),
        &root.join(".well-known/security.txt"),
        &site,
    );
    copy_with(
        &ex.join("disclosure-policy.html"),
        &root.join("security/disclosure-policy.html"),
        &[],
    );
    copy_with(
        &ex.join("support-period.html"),
        &root.join("support.html"),
        &[],
    );
    copy_with(
        &ex.join("privacy-notice.html"),
        &root.join("privacy.html"),
        &[],
    );
    copy_with(
        &ex.join("quick-start-guide.txt"),
        &root.join("guide.txt"),
        &[],
    );
}

fn bad_site(root: &Path, origin: &str) {
    let ex = examples().join("bad");
    let site = [("https://iot.example.com", origin)];
    copy_with(
        &ex.join("security.txt"),
        &root.join(".well-known/security.txt"),
        &site,
    );
    copy_with(
        &ex.join("security-no-expires.txt"),
        &root.join("other/security.txt"),
        &site,
    );
    copy_with(
        &ex.join("disclosure-policy.html"),
        &root.join("security/disclosure-policy.html"),
        &[],
    );
    copy_with(
        &ex.join("support-period.html"),
        &root.join("support.html"),
        &[],
    );
    copy_with(
        &ex.join("privacy-notice.html"),
        &root.join("privacy.html"),
        &[],
    );
    copy_with(
        &ex.join("quick-start-guide.txt"),
        &root.join("guide.txt"),
        &[],
    );
}

/// Serves `root` on 127.0.0.1, after `site` has written it knowing the server's origin.
fn serve(root: &Path, site: fn(&Path, &str), extra: &str) -> Lighttpd {
    // The origin is known only once the port is; write the site after start (lighttpd reads
    // files per request).
    let s = Lighttpd::start("127.0.0.1", root, extra);
    site(root, &s.origin());
    s
}

#[test]
fn good_site_passes_and_policy_is_followed_on_the_named_host() {
    let root = tempfile::tempdir().unwrap();
    let s = serve(root.path(), good_site, "");
    let sources = urls(
        &s,
        &[
            "/.well-known/security.txt",
            "/support.html",
            "/privacy.html",
            "/guide.txt",
        ],
    );
    let a = assess_with(
        &sources,
        &DocOptions::default(),
        &Trust::default(),
        &NoProgress,
    )
    .unwrap();
    let obs = &a.observations;
    for id in [
        "5.2-1",
        "5.3-13",
        "6-1",
        "6-3",
        "6-5",
        "5.11-3",
        "5.12-2",
        "5.12-3",
        "5.8-3",
        "TEC-2-bug-bounty",
    ] {
        assert_verdict(obs, id, Verdict::Pass);
    }
    // The policy was not named: it was reached through the security.txt Policy field.
    let policy_url = s.url("/security/disclosure-policy.html");
    assert!(a.documents.contains(&policy_url), "{:?}", a.documents);
    let rec = a
        .fetched
        .iter()
        .find(|r| r.url == policy_url)
        .expect("policy fetched");
    assert!(rec.reason.starts_with("Policy: in "), "{rec:?}");
    assert_eq!(rec.status, Some(200));
    // Every request is in the report, with the network exchange as evidence.
    assert_eq!(a.fetched.len(), 5, "{:#?}", a.fetched);
    for r in &a.fetched {
        let f = obs
            .findings
            .iter()
            .find(|f| {
                f.check == "docs-source" && f.evidence.iter().any(|e| e.excerpt.contains(&r.url))
            })
            .unwrap_or_else(|| panic!("{} not recorded in findings", r.url));
        assert!(
            matches!(&f.evidence[0].location, Location::Network { host, port, .. } if host == "127.0.0.1" && *port == s.port)
        );
    }
    // Served over plain HTTP: a low warning, not a failure.
    assert!(with(obs, "5.2-1-doc-securitytxt", Outcome::Info)
        .iter()
        .any(|f| f.title.contains("plain HTTP")));
    // The server saw exactly these requests and nothing else.
    let mut log = s.stop();
    log.sort();
    let mut want: Vec<String> = [
        "/.well-known/security.txt",
        "/guide.txt",
        "/privacy.html",
        "/security/disclosure-policy.html",
        "/support.html",
    ]
    .iter()
    .map(|p| format!("GET {p} HTTP/1.1 200"))
    .collect();
    want.sort();
    let got: Vec<String> = log
        .iter()
        .map(|l| l.rsplit_once(' ').unwrap().0.to_string())
        .collect();
    assert_eq!(got, want);
}

#[test]
fn bad_site_fails_each_provision() {
    let root = tempfile::tempdir().unwrap();
    let s = serve(root.path(), bad_site, "");
    let sources = urls(
        &s,
        &[
            "/.well-known/security.txt",
            "/support.html",
            "/privacy.html",
            "/guide.txt",
        ],
    );
    let a = assess_with(
        &sources,
        &DocOptions::default(),
        &Trust::default(),
        &NoProgress,
    )
    .unwrap();
    let obs = &a.observations;
    for id in ["5.2-1", "5.3-13", "6-1", "TEC-2-bug-bounty"] {
        assert_verdict(obs, id, Verdict::Fail);
    }
    assert!(with(obs, "5.2-1-doc-securitytxt", Outcome::Fail)
        .iter()
        .any(|f| f.title.contains("expired")));
    // The (expired) security.txt's Policy link was still followed: the policy itself fails too.
    let policy = with(obs, "5.2-1-doc-policy", Outcome::Fail);
    assert_eq!(policy.len(), 1, "{}", dump(obs));
    assert!(policy[0].evidence.iter().any(|e| e
        .location
        .cite()
        .contains("/security/disclosure-policy.html")));
    drop(s);

    // The second bad security.txt: no Expires.
    let root = tempfile::tempdir().unwrap();
    let s = serve(root.path(), bad_site, "");
    let a = assess_with(
        &urls(&s, &["/other/security.txt"]),
        &DocOptions::default(),
        &Trust::default(),
        &NoProgress,
    )
    .unwrap();
    assert_verdict(&a.observations, "5.2-1", Verdict::Fail);
    assert!(
        with(&a.observations, "5.2-1-doc-securitytxt", Outcome::Fail)
            .iter()
            .any(|f| f.title.contains("no Expires"))
    );
}

#[test]
fn another_host_is_never_contacted_unless_named() {
    // Host B (127.0.0.2) holds a policy; host A (127.0.0.1) links and redirects to it.
    let root_b = tempfile::tempdir().unwrap();
    copy_with(
        &examples().join("good/disclosure-policy.html"),
        &root_b.path().join("policy.html"),
        &[],
    );
    copy_with(
        &examples().join("good/support-period.html"),
        &root_b.path().join("support.html"),
        &[],
    );
    let b = Lighttpd::start("127.0.0.2", root_b.path(), "");
    let root_a = tempfile::tempdir().unwrap();
    let redirect = format!(
        "url.redirect = (\"^/moved/(.*)$\" => \"{}/$1\", \"^/here/(.*)$\" => \"/$1\")\n",
        b.origin()
    );
    let a = Lighttpd::start("127.0.0.1", root_a.path(), &redirect);
    std::fs::create_dir_all(root_a.path().join(".well-known")).unwrap();
    std::fs::write(
        root_a.path().join(".well-known/security.txt"),
        format!(
            "Contact: mailto:s@x.example\nExpires: {}\nPolicy: {}\n",
            rfc3339_in(100),
            b.url("/policy.html")
        ),
    )
    .unwrap();
    copy_with(
        &examples().join("good/support-period.html"),
        &root_a.path().join("support.html"),
        &[],
    );

    // 1. A redirect to B, B not named: refused with a clear message.
    let err = assess_with(
        &[DocSource::Url(a.url("/moved/support.html"))],
        &DocOptions::default(),
        &Trust::default(),
        &NoProgress,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("refused") && err.contains("127.0.0.2") && err.contains("another host"),
        "{err}"
    );
    // 2. A redirect within A is followed.
    let ok = assess_with(
        &[DocSource::Url(a.url("/here/support.html"))],
        &DocOptions::default(),
        &Trust::default(),
        &NoProgress,
    )
    .unwrap();
    assert_eq!(ok.fetched.len(), 2, "{:#?}", ok.fetched);
    assert_eq!(ok.fetched[0].status, Some(301));
    assert_verdict(&ok.observations, "5.3-13", Verdict::Pass);
    // 3. A Policy link to B, B not named: reported, not fetched.
    let r = assess_with(
        &[DocSource::Url(a.url("/.well-known/security.txt"))],
        &DocOptions::default(),
        &Trust::default(),
        &NoProgress,
    )
    .unwrap();
    let not_read = with(
        &r.observations,
        "5.2-1-doc-securitytxt",
        Outcome::Inconclusive,
    );
    assert!(
        not_read.iter().any(|f| f
            .detail
            .as_deref()
            .unwrap_or("")
            .contains("127.0.0.2 is not a host you named")),
        "{}",
        dump(&r.observations)
    );
    assert_eq!(r.fetched.len(), 1);
    assert_verdict(&r.observations, "5.2-1", Verdict::Inconclusive);

    let log_b = b.stop();
    assert!(log_b.is_empty(), "host B was contacted: {log_b:?}");

    // 4. Once the user names B, both the redirect and the Policy link may go there.
    let b = Lighttpd::start("127.0.0.2", root_b.path(), "");
    let redirect = format!(
        "url.redirect = (\"^/moved/(.*)$\" => \"{}/$1\")\n",
        b.origin()
    );
    let a2 = Lighttpd::start("127.0.0.1", root_a.path(), &redirect);
    std::fs::write(
        root_a.path().join(".well-known/security.txt"),
        format!(
            "Contact: mailto:s@x.example\nExpires: {}\nPolicy: {}\n",
            rfc3339_in(100),
            b.url("/policy.html")
        ),
    )
    .unwrap();
    let r = assess_with(
        &[
            DocSource::Url(a2.url("/.well-known/security.txt")),
            DocSource::Url(b.url("/support.html")),
        ],
        &DocOptions::default(),
        &Trust::default(),
        &NoProgress,
    )
    .unwrap();
    assert_verdict(&r.observations, "5.2-1", Verdict::Pass);
    let moved = assess_with(
        &[
            DocSource::Url(a2.url("/moved/support.html")),
            DocSource::Url(b.url("/support.html")),
        ],
        &DocOptions::default(),
        &Trust::default(),
        &NoProgress,
    )
    .unwrap();
    assert_eq!(moved.fetched[1].url, b.url("/support.html"));
    let mut log_b = b.stop();
    log_b.sort();
    assert_eq!(log_b.len(), 4, "{log_b:?}"); // support + policy, then redirected support + support
}

#[test]
fn redirect_loops_stop_after_five() {
    let root = tempfile::tempdir().unwrap();
    let s = Lighttpd::start(
        "127.0.0.1",
        root.path(),
        "url.redirect = (\"^/loop$\" => \"/loop\")\n",
    );
    let err = assess_with(
        &[DocSource::Url(s.url("/loop"))],
        &DocOptions::default(),
        &Trust::default(),
        &NoProgress,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("more than 5 redirects"), "{err}");
    let log = s.stop();
    assert_eq!(log.len(), 6, "one request and five redirects: {log:?}");
}

#[test]
fn oversized_documents_are_capped_and_say_so() {
    let root = tempfile::tempdir().unwrap();
    let s = Lighttpd::start("127.0.0.1", root.path(), "");
    let mut text = String::from("Privacy notice\n\nAcme Ltd is the data controller.\n");
    while text.len() < 5 << 20 {
        text.push_str("Lorem ipsum dolor sit amet, consectetur adipiscing elit.\n");
    }
    std::fs::write(root.path().join("big.txt"), &text).unwrap();
    let opts = DocOptions {
        max_bytes: 64 * 1024,
        ..DocOptions::default()
    };
    let t0 = Instant::now();
    let a = assess_with(
        &[DocSource::Url(s.url("/big.txt"))],
        &opts,
        &Trust::default(),
        &NoProgress,
    )
    .unwrap();
    assert!(t0.elapsed() < Duration::from_secs(10));
    assert_eq!(a.fetched[0].bytes, 64 * 1024);
    assert!(
        a.fetched[0].note.contains("truncated at 65536 bytes"),
        "{:?}",
        a.fetched[0]
    );
    let src = a
        .observations
        .findings
        .iter()
        .find(|f| f.check == "docs-source")
        .unwrap();
    assert!(
        src.title.contains("truncated at 65536 bytes"),
        "{}",
        src.title
    );
    assert!(src
        .detail
        .as_deref()
        .unwrap()
        .contains("the rest was not examined"));
}

#[test]
fn non_text_content_and_missing_documents_are_clear_errors() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("policy.pdf"), b"%PDF-1.7\n").unwrap();
    let s = Lighttpd::start("127.0.0.1", root.path(), "");
    let e = assess_with(
        &[DocSource::Url(s.url("/policy.pdf"))],
        &DocOptions::default(),
        &Trust::default(),
        &NoProgress,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("application/pdf") && e.contains("not a text document"),
        "{e}"
    );
    let e = assess_with(
        &[DocSource::Url(s.url("/nothere.txt"))],
        &DocOptions::default(),
        &Trust::default(),
        &NoProgress,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("HTTP 404"), "{e}");
}

#[test]
fn broken_policy_link_fails_5_2_1() {
    let root = tempfile::tempdir().unwrap();
    let s = Lighttpd::start("127.0.0.1", root.path(), "");
    std::fs::create_dir_all(root.path().join(".well-known")).unwrap();
    std::fs::write(
        root.path().join(".well-known/security.txt"),
        format!(
            "Contact: mailto:s@x.example\nExpires: {}\nPolicy: {}\n",
            rfc3339_in(100),
            s.url("/gone.html")
        ),
    )
    .unwrap();
    let a = assess_with(
        &[DocSource::Url(s.url("/.well-known/security.txt"))],
        &DocOptions::default(),
        &Trust::default(),
        &NoProgress,
    )
    .unwrap();
    assert_verdict(&a.observations, "5.2-1", Verdict::Fail);
    assert!(
        with(&a.observations, "5.2-1-doc-securitytxt", Outcome::Fail)
            .iter()
            .any(|f| f.title.contains("HTTP 404"))
    );
    // The failed request is in the report too.
    assert!(a
        .observations
        .findings
        .iter()
        .any(|f| f.check == "docs-source"
            && f.evidence.iter().any(|e| e.excerpt.contains("/gone.html"))));
}

#[test]
fn https_with_a_trusted_root_and_refused_without() {
    let openssl = iotassure_testkit::require_tool("openssl", "openssl");
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    let ossl = |args: &[&str]| {
        iotassure_testkit::run(
            std::process::Command::new(&openssl)
                .current_dir(dir.path())
                .args(args),
        );
    };
    // A test CA, and a leaf for 127.0.0.1 it signs (webpki refuses a CA as an end entity).
    ossl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=iotassure test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    ossl(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "leaf.key",
        "-out",
        "leaf.csr",
    ]);
    std::fs::write(
        p("ext.cnf"),
        "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    ossl(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
        "-out",
        "leaf.pem",
    ]);
    let pem = p("server.pem");
    std::fs::write(
        &pem,
        [
            std::fs::read(p("leaf.pem")).unwrap(),
            std::fs::read(p("leaf.key")).unwrap(),
        ]
        .concat(),
    )
    .unwrap();
    let root = tempfile::tempdir().unwrap();
    let s = Lighttpd::start_tls("127.0.0.1", root.path(), Tls { pem: &pem });
    good_site(root.path(), &s.origin());
    let src = [DocSource::Url(s.url("/.well-known/security.txt"))];
    // The built-in roots do not know this certificate.
    let e = assess_with(&src, &DocOptions::default(), &Trust::default(), &NoProgress)
        .unwrap_err()
        .to_string();
    assert!(
        e.to_lowercase().contains("tls") || e.to_lowercase().contains("certificate"),
        "{e}"
    );
    // Trusted explicitly: read over HTTPS, Policy followed over HTTPS, 5.2-1 PASS, no HTTP warning.
    let trust = Trust {
        roots_pem: std::fs::read(p("ca.pem")).unwrap(),
    };
    let a = assess_with(&src, &DocOptions::default(), &trust, &NoProgress).unwrap();
    assert_verdict(&a.observations, "5.2-1", Verdict::Pass);
    assert!(a.fetched.iter().all(|r| r.url.starts_with("https://")));
    assert!(
        with(&a.observations, "5.2-1-doc-securitytxt", Outcome::Info)
            .iter()
            .all(|f| !f.title.contains("plain HTTP"))
    );
}

/// lighttpd always answers; a server that accepts and never replies needs a socket of our own.
#[test]
fn a_silent_server_times_out() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let hold = std::thread::spawn(move || {
        let (c, _) = l.accept().unwrap();
        std::thread::sleep(Duration::from_secs(3));
        drop(c);
    });
    let opts = DocOptions {
        timeout: Duration::from_millis(500),
        ..DocOptions::default()
    };
    let t0 = Instant::now();
    let e = assess_with(
        &[DocSource::Url(format!(
            "http://127.0.0.1:{port}/security.txt"
        ))],
        &opts,
        &Trust::default(),
        &NoProgress,
    )
    .unwrap_err()
    .to_string();
    assert!(
        t0.elapsed() < Duration::from_secs(3),
        "took {:?}",
        t0.elapsed()
    );
    assert!(e.contains("timed out"), "{e}");
    hold.join().unwrap();
}

#[test]
fn login_walls_are_not_public_access() {
    let root = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(examples().join("good/support-period.html")).unwrap();
    // A members-only copy of the same statement, a redirect to a login page, and a folder the
    // server refuses to anonymous readers.
    let gated = good.replacen(
        "<body>",
        "<body><form action=\"/login\"><input type=\"password\" name=\"pw\"></form>",
        1,
    );
    assert_ne!(gated, good, "the example has a <body> to gate");
    std::fs::create_dir_all(root.path().join("members")).unwrap();
    std::fs::create_dir_all(root.path().join("private")).unwrap();
    std::fs::write(root.path().join("members/support.html"), &gated).unwrap();
    std::fs::write(root.path().join("private/support.html"), &good).unwrap();
    std::fs::write(
        root.path().join("login.html"),
        "<html><body><h1>Sign in</h1><p>Please sign in to continue.</p></body></html>",
    )
    .unwrap();
    std::fs::write(root.path().join("support.html"), &good).unwrap();
    let s = Lighttpd::start(
        "127.0.0.1",
        root.path(),
        "server.modules += (\"mod_access\")\n$HTTP[\"url\"] =~ \"^/private/\" { url.access-deny = (\"\") }\nurl.redirect = (\"^/eol\\.html$\" => \"/login.html?next=/eol.html\")\n",
    );
    let run = |paths: &[&str]| {
        assess_with(
            &urls(&s, paths),
            &DocOptions::default(),
            &Trust::default(),
            &NoProgress,
        )
        .unwrap_or_else(|e| panic!("{paths:?}: {e}"))
        .observations
    };
    let check = "5.3-13-doc-public-access";
    for (path, why) in [
        ("/members/support.html", "password field"),
        ("/eol.html", "redirected to a login page"),
        ("/private/support.html", "HTTP 403"),
    ] {
        let obs = run(&[path]);
        let f = with(&obs, check, Outcome::Fail);
        assert!(
            f.iter()
                .any(|f| f.provisions == ["5.3-13"]
                    && f.detail.as_deref().unwrap_or("").contains(why)),
            "{path}: {}",
            dump(&obs)
        );
        assert_verdict(&obs, "5.3-13", Verdict::Fail);
    }
    // The same statement served openly: fetched anonymously, PASS, no wall.
    let obs = run(&["/support.html"]);
    assert!(
        with(&obs, check, Outcome::Fail).is_empty(),
        "{}",
        dump(&obs)
    );
    assert_eq!(with(&obs, check, Outcome::Pass).len(), 1, "{}", dump(&obs));
    // A local file proves nothing about public access.
    let files = iotassure_documents::assess(
        &[DocSource::File(root.path().join("support.html"))],
        &DocOptions::default(),
        &NoProgress,
    )
    .unwrap();
    let files = &files;
    let inc = with(files, check, Outcome::Inconclusive);
    assert!(
        inc.iter()
            .any(|f| f.detail.as_deref().unwrap_or("").contains("local file")),
        "{}",
        dump(files)
    );
    assert!(with(files, check, Outcome::Pass).is_empty());

    // 5.3-14-2b: the statement that the device cannot be updated, gated and open.
    let fixed = "<html><body><p>The X100 sensor cannot be updated: its firmware is in mask ROM.</p></body></html>";
    std::fs::write(root.path().join("fixed.html"), fixed).unwrap();
    std::fs::write(
        root.path().join("members/fixed.html"),
        fixed.replace("<body>", "<body><input type=\"password\" name=\"pw\">"),
    )
    .unwrap();
    let obs = run(&["/members/fixed.html"]);
    assert!(
        with(&obs, check, Outcome::Fail)
            .iter()
            .any(|f| f.provisions.iter().any(|p| p == "5.3-14")),
        "{}",
        dump(&obs)
    );
    let obs = run(&["/fixed.html"]);
    assert!(
        with(&obs, check, Outcome::Pass)
            .iter()
            .any(|f| f.provisions == ["5.3-14"]),
        "{}",
        dump(&obs)
    );
}
