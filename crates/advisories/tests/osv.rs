//! OSV feeds: records written by hand in the OSV schema's format (as osv.dev and GitHub publish
//! them), loaded from files and folders; unusable records are reported, malformed files are
//! errors naming the file.

use iotassure_advisories::Db;
use iotassure_core::Severity;
use time::macros::date;

const DNSMASQ_DEBIAN: &str = r#"{
  "schema_version": "1.6.0",
  "id": "DSA-TEST-1",
  "modified": "2024-01-01T00:00:00Z",
  "published": "2024-01-01T00:00:00Z",
  "aliases": ["CVE-2099-0001"],
  "summary": "dnsmasq: heap overflow in a test parser",
  "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}],
  "affected": [{
    "package": {"ecosystem": "Debian:12", "name": "dnsmasq", "purl": "pkg:deb/debian/dnsmasq"},
    "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "2.91-1"}]}]
  }],
  "references": [{"type": "ADVISORY", "url": "https://security-tracker.debian.org/tracker/DSA-TEST-1"}]
}"#;

const VENDOR_ARRAY: &str = r#"[
  {
    "id": "VENDOR-2024-7",
    "modified": "2024-05-01T00:00:00Z",
    "details": "The vendor web daemon accepts an unauthenticated firmware upload.\nMore text.",
    "database_specific": {"severity": "CRITICAL"},
    "affected": [{
      "package": {"ecosystem": "Vendor", "name": "acme-webd"},
      "ranges": [{"type": "SEMVER", "events": [{"introduced": "1.2.0"}, {"fixed": "1.4.1"}]}],
      "versions": ["0.9.9"]
    }]
  },
  {
    "id": "GHSA-git-only",
    "modified": "2024-05-01T00:00:00Z",
    "affected": [{
      "package": {"ecosystem": "GIT", "name": "https://example.invalid/repo.git"},
      "ranges": [{"type": "GIT", "repo": "https://example.invalid/repo.git", "events": [{"introduced": "0"}, {"fixed": "abc123"}]}]
    }]
  },
  {
    "id": "OSV-withdrawn",
    "modified": "2024-05-01T00:00:00Z",
    "withdrawn": "2024-06-01T00:00:00Z",
    "affected": []
  },
  {
    "id": "CVE-2016-7406",
    "modified": "2024-05-01T00:00:00Z",
    "summary": "feed copy of a built-in advisory",
    "affected": [{
      "package": {"name": "dropbear"},
      "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"last_affected": "2016.73"}]}]
    }]
  }
]"#;

#[test]
fn loads_a_file_and_matches_by_alias_and_purl() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("dsa.json");
    std::fs::write(&f, DNSMASQ_DEBIAN).unwrap();
    let mut db = Db::builtin();
    assert_eq!(db.load_osv(&f).unwrap(), 1);
    let m = db.lookup("dnsmasq", "2.90").unwrap();
    let hit = m
        .advisories
        .iter()
        .find(|h| h.advisory.id == "DSA-TEST-1")
        .expect("feed advisory applies to dnsmasq 2.90");
    assert_eq!(hit.advisory.cvss, Some(9.8));
    assert_eq!(hit.fixed, Some("2.91-1"));
    assert_eq!(hit.advisory.aliases, ["CVE-2099-0001"]);
    assert!(hit.advisory.source.contains("security-tracker.debian.org"));
    assert!(db
        .lookup("dnsmasq-full", "2.91")
        .unwrap()
        .advisories
        .iter()
        .all(|h| h.advisory.id != "DSA-TEST-1"));
    let r = &db.feeds()[0];
    assert_eq!((r.files, r.records, r.added, r.replaced), (1, 1, 1, 0));
    assert!(r.skipped.is_empty(), "{:?}", r.skipped);
}

#[test]
fn folder_with_unknown_packages_and_unusable_records() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("a.json"), DNSMASQ_DEBIAN).unwrap();
    std::fs::write(dir.path().join("sub/vendor.json"), VENDOR_ARRAY).unwrap();
    std::fs::write(dir.path().join("README.md"), "not a feed").unwrap();
    let mut db = Db::builtin();
    let n = db.load_osv(dir.path()).unwrap();
    assert_eq!(n, 3, "{:?}", db.feeds());
    let r = &db.feeds()[0];
    assert_eq!((r.files, r.records, r.added, r.replaced), (2, 5, 2, 1));
    assert_eq!(r.new_components, ["acme-webd"]);
    let reasons: Vec<String> = r
        .skipped
        .iter()
        .map(|s| format!("{} {}", s.id, s.reason))
        .collect();
    assert!(
        reasons
            .iter()
            .any(|s| s.starts_with("GHSA-git-only") && s.contains("GIT range")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|s| s == "OSV-withdrawn withdrawn"),
        "{reasons:?}"
    );
    // A package the table did not know becomes a component of its own.
    let v = db.lookup("acme-webd", "1.3.0").unwrap();
    assert_eq!(v.advisories.len(), 1);
    assert_eq!(v.advisories[0].advisory.severity(), Severity::Critical);
    assert_eq!(
        v.advisories[0].advisory.summary,
        "The vendor web daemon accepts an unauthenticated firmware upload."
    );
    assert_eq!(db.lookup("acme-webd", "0.9.9").unwrap().advisories.len(), 1);
    assert!(db
        .lookup("acme-webd", "1.4.1")
        .unwrap()
        .advisories
        .is_empty());
    assert!(db
        .lookup("acme-webd", "1.0.0")
        .unwrap()
        .advisories
        .is_empty());
    // The feed's record replaced the built-in CVE-2016-7406 (now last_affected 2016.73).
    let d = db
        .lookup_on("dropbear", "2016.73", date!(2026 - 01 - 01))
        .unwrap();
    let h = d
        .advisories
        .iter()
        .find(|h| h.advisory.id == "CVE-2016-7406")
        .unwrap();
    assert_eq!(h.last_affected, Some("2016.73"));
    assert_eq!(
        db.advisories().filter(|a| a.id == "CVE-2016-7406").count(),
        1
    );
}

#[test]
fn malformed_files_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("broken.json", "{\"id\": \"X\", ", "not valid JSON (line 1"),
        ("number.json", "42", "expected an OSV record"),
        (
            "noid.json",
            "{\"modified\": \"2024-01-01T00:00:00Z\"}",
            "no `id`",
        ),
        ("nomod.json", "{\"id\": \"X-1\"}", "X-1: no `modified`"),
        (
            "arr.json",
            "[{\"id\": \"A\", \"modified\": \"m\"}, 7]",
            "record 1: not a JSON object",
        ),
    ];
    for (name, text, want) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        let mut db = Db::builtin();
        let e = db.load_osv(&p).expect_err(name).to_string();
        assert!(e.contains(name) && e.contains(want), "{name}: {e}");
    }
    let mut db = Db::builtin();
    let e = db
        .load_osv(dir.path().join("missing.json"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing.json"), "{e}");
}

#[test]
fn records_without_usable_ranges_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("odd.json");
    std::fs::write(
        &p,
        r#"{"id": "ODD-1", "modified": "m", "affected": [
            {"package": {"name": "openssl"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "v0.0.0-2019-abcdef"}, {"fixed": "pseudo"}]}]},
            {"package": {"name": "openssl"}, "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "1.0.2"}, {"limit": "1.0.3"}]}]},
            {"ranges": []}
        ]}"#,
    )
    .unwrap();
    let mut db = Db::builtin();
    assert_eq!(db.load_osv(&p).unwrap(), 1);
    let r = &db.feeds()[0];
    let all = r
        .skipped
        .iter()
        .map(|s| s.reason.clone())
        .collect::<Vec<_>>()
        .join(" | ");
    assert!(all.contains("affected[0]: nothing usable"), "{all}");
    assert!(all.contains("`limit` event"), "{all}");
    assert!(all.contains("affected[2]: no `package`"), "{all}");
    assert!(all.contains("taken as medium"), "{all}");
}

/// A record scored only with CVSS v4 (as GitHub now publishes many) is rated by that score: a
/// 9.3 is critical even when the record's own word says "MODERATE".
#[test]
fn a_record_scored_only_with_cvss_v4_is_rated_by_it() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("v4.json");
    std::fs::write(
        &f,
        r#"{
  "id": "GHSA-v4only-test",
  "modified": "2025-01-01T00:00:00Z",
  "severity": [{"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}],
  "database_specific": {"severity": "MODERATE"},
  "affected": [{"package": {"ecosystem": "Vendor", "name": "acme-webd"},
                "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": "2.0.0"}]}]}]
}"#,
    )
    .unwrap();
    let mut db = Db::builtin();
    assert_eq!(db.load_osv(&f).unwrap(), 1);
    let m = db.lookup("acme-webd", "1.0.0").unwrap();
    let hit = m
        .advisories
        .iter()
        .find(|h| h.advisory.id == "GHSA-v4only-test")
        .unwrap();
    assert_eq!(hit.advisory.cvss, Some(9.3));
    assert_eq!(hit.advisory.severity(), Severity::Critical);
}
