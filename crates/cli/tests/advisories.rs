//! End-to-end: `iotassure assess` judges every component against the advisory database (built-in
//! and `--advisories` OSV feeds), and the verdicts cite those findings. Corpus images are skipped
//! with a note when ../shared is absent.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use iotassure_testkit::corpus_image;
use serde_json::Value;

fn assess(image: &Path, extra: &[&str]) -> (Output, Option<Value>, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("report");
    let o = Command::new(env!("CARGO_BIN_EXE_iotassure"))
        .arg("-q")
        .arg("assess")
        .arg(image)
        .arg("--out")
        .arg(&out)
        .args(["--crack-time", "1"])
        .args(extra)
        .output()
        .unwrap();
    let report = fs::read_to_string(out.join("report.json"))
        .ok()
        .map(|t| serde_json::from_str(&t).unwrap());
    (o, report, tmp)
}

fn findings<'a>(r: &'a Value, check: &str) -> Vec<&'a Value> {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == check)
        .collect()
}

/// The failing finding of `check` whose title starts with `subject` (e.g. "dropbear 2014.65").
fn fail<'a>(r: &'a Value, check: &str, subject: &str) -> &'a Value {
    findings(r, check)
        .into_iter()
        .find(|f| f["outcome"] == "fail" && f["title"].as_str().unwrap().starts_with(subject))
        .unwrap_or_else(|| {
            let titles: Vec<&Value> = findings(r, check).iter().map(|f| &f["title"]).collect();
            panic!("no failing {check} for {subject}: {titles:?}")
        })
}

fn verdict<'a>(r: &'a Value, id: &str) -> &'a Value {
    r["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == id && v["scheme"] == "en303645")
        .unwrap_or_else(|| panic!("no verdict {id}"))
}

fn cites(r: &Value, id: &str, check: &str) -> bool {
    verdict(r, id)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| r["findings"][i.as_u64().unwrap() as usize]["check"] == check)
}

#[test]
fn openwrt_image_components_carry_their_advisories() {
    let Some(img) = corpus_image("openwrt-CC-r45001-freifunk-tl-wr841n-v9-squashfs-factory.bin")
    else {
        return;
    };
    let (o, r, _t) = assess(&img, &[]);
    let r = r.unwrap_or_else(|| panic!("{}", String::from_utf8_lossy(&o.stderr)));

    let d = fail(&r, "5.3-8-advisories", "dropbear 2014.65");
    let detail = d["detail"].as_str().unwrap();
    assert!(
        detail.contains("CVE-2016-7406 (CVSS 9.8, fixed in 2016.74)"),
        "{detail}"
    );
    assert_eq!(d["severity"], "critical");
    assert_eq!(d["provisions"], serde_json::json!(["5.2-3", "5.3-8"]));
    // The component's own evidence (opkg status line, binary banner) comes along.
    assert!(d["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["location"]["path"] == "/usr/lib/opkg/status"));
    // dropbear authenticates users and secures communication: 5.1-3 and 5.5-1 too.
    let auth = fail(&r, "5.1-3-advisories", "dropbear 2014.65");
    assert!(auth["detail"].as_str().unwrap().contains("CVE-2018-15599"));
    fail(&r, "5.5-1-advisories", "dropbear 2014.65");

    let m = fail(&r, "5.3-8-advisories", "dnsmasq 2.72");
    assert!(m["detail"].as_str().unwrap().contains("CVE-2017-14491"));
    fail(&r, "5.3-8-advisories", "busybox 1.22.1");
    let k = fail(&r, "5.2-3-eol", "linux 3.18.9");
    assert!(k["detail"].as_str().unwrap().contains("Linux 3.18 branch"));
    fail(&r, "5.3-8-advisories", "linux 3.18.9");

    for (prov, check) in [
        ("5.3-8", "5.3-8-advisories"),
        ("5.2-3", "5.2-3-eol"),
        ("5.1-3", "5.1-3-advisories"),
        ("5.5-1", "5.5-1-advisories"),
    ] {
        assert_eq!(verdict(&r, prov)["verdict"], "FAIL", "{prov}");
        assert!(cites(&r, prov, check), "{prov} cites {check}");
    }
    // The pass ran over the components and says so.
    let runs = r["checks"].as_array().unwrap();
    assert!(runs.iter().any(|c| c["check"] == "5.3-8-advisories"
        && c["state"] == "ran"
        && c["examined"].as_u64() > Some(50)));
}

#[test]
fn emux_openssl_1_0_2n_is_end_of_life_with_advisories() {
    let Some(img) = corpus_image("emux_DV-ARM_rootfs-arm.tar.bz2") else {
        return;
    };
    let (o, r, _t) = assess(&img, &[]);
    let r = r.unwrap_or_else(|| panic!("{}", String::from_utf8_lossy(&o.stderr)));
    let e = fail(&r, "5.2-3-eol", "openssl 1.0.2n");
    assert!(e["detail"]
        .as_str()
        .unwrap()
        .contains("OpenSSL 1.0.2 branch: no security fixes since 2019-12-31"));
    let a = fail(&r, "5.5-1-advisories", "openssl 1.0.2n");
    let d = a["detail"].as_str().unwrap();
    assert!(
        d.contains("CVE-2022-0778") && d.contains("fixed in 1.0.2zd"),
        "{d}"
    );
    let dr = fail(&r, "5.3-8-advisories", "dropbear 2017.75");
    assert!(dr["detail"].as_str().unwrap().contains("CVE-2018-15599"));
    assert!(!dr["detail"].as_str().unwrap().contains("CVE-2016-7406"));
}

#[test]
fn tplink_kernel_2_6_36_is_end_of_life() {
    let Some(img) = corpus_image("tplink-tl-wr841n-v14-2023-kernel.bin") else {
        return;
    };
    let (o, r, _t) = assess(&img, &[]);
    let r = r.unwrap_or_else(|| panic!("{}", String::from_utf8_lossy(&o.stderr)));
    let e = fail(&r, "5.2-3-eol", "linux 2.6.36");
    assert_eq!(e["severity"], "high");
    assert_eq!(verdict(&r, "5.2-3")["verdict"], "FAIL");
}

/// An OSV feed given with --advisories adds to the built-in table: a vendor package the table
/// does not know is matched by name, and unusable records are reported, not dropped silently.
#[test]
fn osv_feed_adds_advisories_to_an_image_of_our_own() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    fs::create_dir_all(root.join("usr/lib/opkg")).unwrap();
    fs::create_dir_all(root.join("etc")).unwrap();
    fs::write(
        root.join("usr/lib/opkg/status"),
        "Package: acme-webd\nVersion: 1.3.0-1\nStatus: install user installed\n\nPackage: dnsmasq\nVersion: 2.90-1\nStatus: install user installed\n",
    )
    .unwrap();
    fs::write(root.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    let feed = tmp.path().join("feed.json");
    fs::write(
        &feed,
        r#"[{"id": "ACME-2024-1", "modified": "2024-01-01T00:00:00Z",
             "summary": "acme-webd accepts unauthenticated firmware uploads",
             "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
             "affected": [{"package": {"ecosystem": "Vendor", "name": "acme-webd"},
                           "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "1.0"}, {"fixed": "1.4.0"}]}]}]},
            {"id": "GIT-ONLY", "modified": "2024-01-01T00:00:00Z",
             "affected": [{"package": {"name": "x"}, "ranges": [{"type": "GIT", "events": [{"introduced": "0"}]}]}]}]"#,
    )
    .unwrap();
    let (o, r, _t) = assess(&root, &["--advisories", feed.to_str().unwrap()]);
    let r = r.unwrap_or_else(|| panic!("{}", String::from_utf8_lossy(&o.stderr)));
    let f = fail(&r, "5.3-8-advisories", "acme-webd 1.3.0-1");
    assert_eq!(f["severity"], "critical");
    assert!(f["detail"].as_str().unwrap().contains("ACME-2024-1"));
    // dnsmasq 2.90 has no advisory in the table: no finding, and no PASS either.
    assert!(findings(&r, "5.3-8-advisories")
        .iter()
        .all(|f| !f["title"].as_str().unwrap().starts_with("dnsmasq")));
    let summary = findings(&r, "5.3-8-advisories")
        .into_iter()
        .find(|f| f["title"].as_str().unwrap().starts_with("advisories:"))
        .unwrap();
    let s = summary["detail"].as_str().unwrap();
    assert!(
        s.contains("feed.json: 2 records") && s.contains("1 parts skipped"),
        "{s}"
    );

    // A malformed feed stops the run with an error naming the file.
    let bad = tmp.path().join("bad.json");
    fs::write(&bad, "{not json").unwrap();
    let (o, r, _t) = assess(&root, &["--advisories", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(r.is_none());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("bad.json") && err.contains("not valid JSON"),
        "{err}"
    );
}
