//! End-to-end: `iotassure advisories update/status` build and describe the local advisory
//! database from real feed records, and `assess --advisories-db` judges a corpus image's
//! components with it, the curated table on top (the corpus test skips with a note when
//! ../shared is absent).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use iotassure_testkit::corpus_image;
use serde_json::Value;

fn feeds() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../advisories/tests/data/feeds")
}

fn run(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_iotassure"))
        .args(args)
        .env_remove("IOTASSURE_ADVISORIES_DB")
        .output()
        .unwrap()
}

fn built(dir: &Path) -> PathBuf {
    let db = dir.join("adv.db");
    let f = feeds();
    let o = run(&[
        "advisories".as_ref(),
        "update".as_ref(),
        "--advisories-db".as_ref(),
        db.as_os_str(),
        "--from".as_ref(),
        f.join("cve5").as_os_str(),
        f.join("nvd").as_os_str(),
        f.join("osv").as_os_str(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("7 records read") && out.contains("7 added"),
        "{out}"
    );
    db
}

#[test]
fn update_then_status_reports_records_per_source_and_age() {
    let t = tempfile::tempdir().unwrap();
    let db = built(t.path());
    let o = run(&[
        "advisories".as_ref(),
        "status".as_ref(),
        "--json".as_ref(),
        "--advisories-db".as_ref(),
        db.as_os_str(),
    ]);
    assert!(o.status.success());
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let per: Vec<(String, u64)> = v["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["source"].as_str().unwrap().to_string(),
                s["records"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        per,
        [
            ("cve5".to_string(), 4),
            ("nvd".to_string(), 7),
            ("osv".to_string(), 1)
        ]
    );
    assert_eq!(v["age_days"], 0);
    assert_eq!(v["digest"].as_str().unwrap().len(), 64);
    // Importing the same feeds again changes nothing.
    let o = run(&[
        "advisories".as_ref(),
        "update".as_ref(),
        "--advisories-db".as_ref(),
        db.as_os_str(),
        "--from".as_ref(),
        feeds().join("nvd").as_os_str(),
    ]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("0 added, 0 updated, 7 unchanged"));
    // A missing database is an error naming it, not an empty answer.
    let missing = t.path().join("none.db");
    let o = run(&[
        "advisories".as_ref(),
        "status".as_ref(),
        "--advisories-db".as_ref(),
        missing.as_os_str(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("none.db"));
}

fn assess(image: &Path, extra: &[&std::ffi::OsStr], out: &Path) -> Value {
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "-q".as_ref(),
        "assess".as_ref(),
        image.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ];
    args.extend(["--crack-time".as_ref(), "1".as_ref()] as [&std::ffi::OsStr; 2]);
    args.extend(extra);
    let o = run(&args);
    let text = std::fs::read_to_string(out.join("report.json"))
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&o.stderr)));
    serde_json::from_str(&text).unwrap()
}

fn details<'a>(r: &'a Value, check: &str) -> Vec<(&'a str, &'a str)> {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == check)
        .map(|f| {
            (
                f["outcome"].as_str().unwrap(),
                f["detail"].as_str().unwrap_or(""),
            )
        })
        .collect()
}

#[test]
fn assess_uses_the_database_under_the_curated_table() {
    let Some(img) = corpus_image("openwrt-CC-r45001-freifunk-tl-wr841n-v9-squashfs-factory.bin")
    else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let db = built(t.path());
    let r = assess(
        &img,
        &["--advisories-db".as_ref(), db.as_os_str()],
        &t.path().join("a"),
    );
    let d = details(&r, "5.3-8-advisories");
    // Linux 3.18.9 is in NVD's range for CVE-2024-1086 (nf_tables), a CVE the curated table lacks;
    // without the kernel config the verdict on it is INCONCLUSIVE, with that reason.
    let k = d
        .iter()
        .find(|(_, x)| x.contains("CVE-2024-1086"))
        .unwrap_or_else(|| panic!("{d:#?}"));
    assert_eq!(k.0, "inconclusive");
    assert!(k.1.contains("CONFIG_NF_TABLES"), "{}", k.1);
    // The summary records the snapshot and what the curated table decided instead.
    let summary = d
        .iter()
        .find(|(o, x)| *o == "info" && x.contains("digest sha256:"))
        .unwrap_or_else(|| panic!("{d:#?}"));
    assert!(summary.1.contains("nvd 7 records"), "{}", summary.1);
    assert!(
        summary
            .1
            .contains("Set aside: CVE-2017-14491 for dnsmasq 2.72: the curated table's entry"),
        "{}",
        summary.1
    );
    // dropbear 2014.65 still fails on the curated CVE-2016-7406.
    assert!(d
        .iter()
        .any(|(o, x)| *o == "fail" && x.contains("CVE-2016-7406")));

    // With a kernel config that does not build nf_tables, the CVE is set aside and says why.
    let cfg = t.path().join("kconfig");
    std::fs::write(&cfg, "CONFIG_NETFILTER=y\n# CONFIG_NF_TABLES is not set\n").unwrap();
    let r = assess(
        &img,
        &[
            "--advisories-db".as_ref(),
            db.as_os_str(),
            "--kernel-config".as_ref(),
            cfg.as_os_str(),
        ],
        &t.path().join("b"),
    );
    let d = details(&r, "5.3-8-advisories");
    assert!(!d
        .iter()
        .any(|(o, x)| *o != "info" && x.contains("CVE-2024-1086")));
    assert!(d.iter().any(|(_, x)| x.contains("Set aside: CVE-2024-1086 for linux 3.18.9: affects the nf_tables subsystem (CONFIG_NF_TABLES)")), "{d:#?}");
}

#[test]
fn assess_applies_the_makers_vex_for_its_product_only() {
    let Some(img) = corpus_image("openwrt-CC-r45001-freifunk-tl-wr841n-v9-squashfs-factory.bin")
    else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let vex = t.path().join("vex.json");
    std::fs::write(
        &vex,
        r#"{"@context":"https://openvex.dev/ns/v0.2.0","@id":"https://example.invalid/vex/7","author":"Freifunk","timestamp":"2026-01-01T00:00:00Z","version":1,
            "statements":[{"vulnerability":{"name":"CVE-2016-7406"},"products":[{"@id":"pkg:generic/freifunk/wr841n@r45001","subcomponents":[{"@id":"pkg:generic/dropbear@2014.65"}]}],
            "status":"not_affected","justification":"vulnerable_code_not_in_execute_path"}]}"#,
    )
    .unwrap();
    let mine = assess(
        &img,
        &[
            "--vex".as_ref(),
            vex.as_os_str(),
            "--vex-product".as_ref(),
            "pkg:generic/freifunk/wr841n@r45001".as_ref(),
        ],
        &t.path().join("a"),
    );
    let d = details(&mine, "5.3-8-advisories");
    assert!(
        !d.iter()
            .any(|(o, x)| *o == "fail" && x.contains("CVE-2016-7406")),
        "{d:#?}"
    );
    assert!(
        d.iter()
            .any(|(o, x)| *o == "info" && x.contains("vulnerable_code_not_in_execute_path")),
        "{d:#?}"
    );
    let other = assess(
        &img,
        &[
            "--vex".as_ref(),
            vex.as_os_str(),
            "--vex-product".as_ref(),
            "pkg:generic/other/product@1".as_ref(),
        ],
        &t.path().join("b"),
    );
    assert!(details(&other, "5.3-8-advisories")
        .iter()
        .any(|(o, x)| *o == "fail" && x.contains("CVE-2016-7406")));
}

/// Serves `body` to `n` requests on loopback (200 for `/feed.json`, 404 otherwise).
fn serve(body: Vec<u8>, n: usize) -> String {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in l.incoming().take(n) {
            let mut s = s.unwrap();
            let mut req = [0u8; 2048];
            let k = s.read(&mut req).unwrap_or(0);
            let ok = String::from_utf8_lossy(&req[..k]).starts_with("GET /feed.json ");
            let (status, b): (&str, &[u8]) = if ok {
                ("200 OK", &body)
            } else {
                ("404 Not Found", b"no")
            };
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                b.len()
            );
            let _ = s.write_all(b);
        }
    });
    format!("http://{addr}")
}

#[test]
fn update_from_a_mirror_url() {
    let t = tempfile::tempdir().unwrap();
    let db = t.path().join("m/adv.db");
    let base = serve(
        std::fs::read(feeds().join("nvd/CVE-2022-48174.json")).unwrap(),
        2,
    );
    let url = format!("{base}/feed.json");
    let o = run(&[
        "advisories".as_ref(),
        "update".as_ref(),
        "--advisories-db".as_ref(),
        db.as_os_str(),
        "--from".as_ref(),
        url.as_ref(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains(&format!("{url}: 1 records read")));
    // The download does not stay behind.
    let left: Vec<_> = std::fs::read_dir(t.path().join("m"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        left.iter()
            .all(|n| n.to_string_lossy().starts_with("adv.db")),
        "{left:?}"
    );
    // A missing file on the mirror is an error naming the URL.
    let bad = format!("{base}/nope.json");
    let o = run(&[
        "advisories".as_ref(),
        "update".as_ref(),
        "--advisories-db".as_ref(),
        db.as_os_str(),
        "--from".as_ref(),
        bad.as_ref(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("nope.json"));
}
