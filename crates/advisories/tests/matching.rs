//! Matching components against a database of real records (tests/data/feeds): CPE vendor and
//! product both, bounds with their own inclusiveness, purl only within its ecosystem, the curated
//! layer on top, kernel subsystems against a kernel config, and the false-positive patterns that
//! CPE-based scanners are known for.

use std::path::Path;

use iotassure_advisories::feeds::FeedSource;
use iotassure_advisories::{Db, Ignore, KernelConfig, MatchResult, Matcher, Store};
use iotassure_core::finding::Component;

fn store(dir: &Path) -> Store {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/feeds");
    let mut s = Store::open(&dir.join("a.db")).unwrap();
    for f in ["cve5", "nvd", "osv"] {
        s.update_from(&data.join(f)).unwrap();
    }
    s
}

fn comp(name: &str, version: &str, method: &str) -> Component {
    Component {
        name: name.into(),
        version: version.into(),
        purl: None,
        cpe: None,
        method: method.into(),
        evidence: Vec::new(),
        files: Vec::new(),
    }
}

fn run(s: &Store, db: &Db, k: Option<&KernelConfig>, c: &[Component]) -> MatchResult {
    Matcher {
        store: s,
        db,
        kernel_config: k,
    }
    .match_all(c)
    .unwrap()
}

fn ids(r: &MatchResult) -> Vec<String> {
    let mut v: Vec<String> = r
        .hits
        .iter()
        .map(|h| format!("{} {} {}", h.component, h.version, h.id))
        .collect();
    v.sort();
    v
}

#[test]
fn cpe_matches_explain_the_record_the_range_and_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let db = Db::knowledge_only();
    let r = run(&s, &db, None, &[comp("busybox", "1.31.1", "binary-banner")]);
    assert_eq!(ids(&r), ["busybox 1.31.1 CVE-2022-48174"]);
    let h = &r.hits[0];
    assert_eq!(h.source, FeedSource::Nvd);
    assert!(
        h.why.contains("82CC192B")
            && h.why.contains("<= 1.36.1")
            && h.why.contains("vendor `busybox` and product `busybox`"),
        "{}",
        h.why
    );
    // Identified from a binary and matched on CPE alone: shown as lower confidence.
    assert!(h.low_confidence);
    // The same version from a package database is not a guess.
    let r = run(&s, &db, None, &[comp("busybox", "1.31.1", "opkg-status")]);
    assert!(!r.hits[0].low_confidence);
    // 1.36.2 is past NVD's versionEndIncluding.
    assert!(
        run(&s, &db, None, &[comp("busybox", "1.36.2", "binary-banner")])
            .hits
            .is_empty()
    );
}

#[test]
fn end_bounds_are_read_with_their_inclusiveness() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let db = Db::knowledge_only();
    let m = |n: &str, v: &str| {
        !run(&s, &db, None, &[comp(n, v, "opkg-status")])
            .hits
            .is_empty()
    };
    // versionEndExcluding 1.0.2zd / 1.1.1n: the fixed release itself is not affected.
    assert!(m("openssl", "1.0.2zc"));
    assert!(!m("openssl", "1.0.2zd"));
    assert!(m("openssl", "1.0.2"));
    assert!(m("openssl", "1.1.1m"));
    assert!(!m("openssl", "1.1.1n"));
    assert!(m("openssl", "1.1.0"));
    assert!(!m("openssl", "1.0.1u"), "below versionStartIncluding 1.0.2");
    // versionEndIncluding 2016.73 (dropbear's year.release numbering).
    assert!(m("dropbear", "2016.73"));
    assert!(!m("dropbear", "2016.74"));
    assert!(m("dropbear", "2015.71"));
    // dnsmasq <= 2.77; uClibc <= 0.9.33.2 and uClibc-ng <= 1.0.40 from one record.
    assert!(m("dnsmasq", "2.77") && !m("dnsmasq", "2.78"));
    assert!(m("uclibc", "0.9.33.2") && !m("uclibc-ng", "1.0.41") && m("uclibc-ng", "1.0.40"));
}

#[test]
fn vendor_and_product_must_both_match() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = store(dir.path());
    let db = Db::knowledge_only();
    // Another vendor's product called dnsmasq, and a CNA calling some vendor's product "Kernel":
    // neither is thekelleys' dnsmasq or Linux.
    let other = dir.path().join("other.json");
    std::fs::write(
        &other,
        r#"{"id":"CVE-2099-0001","lastModified":"2099-01-01T00:00:00.000","vulnStatus":"Analyzed","descriptions":[{"lang":"en","value":"x"}],
           "configurations":[{"nodes":[{"operator":"OR","negate":false,"cpeMatch":[{"vulnerable":true,"criteria":"cpe:2.3:a:someotherco:dnsmasq:*:*:*:*:*:*:*:*"}]}]}]}"#,
    )
    .unwrap();
    s.update_from(&other).unwrap();
    let cna = dir.path().join("cna.json");
    std::fs::write(
        &cna,
        r#"{"dataType":"CVE_RECORD","cveMetadata":{"cveId":"CVE-2099-0002","state":"PUBLISHED","dateUpdated":"2099-01-01T00:00:00"},
           "containers":{"cna":{"descriptions":[{"lang":"en","value":"y"}],"affected":[{"vendor":"Siemens","product":"Kernel","versions":[{"version":"0","lessThan":"99.0","status":"affected"}]}]}}}"#,
    )
    .unwrap();
    s.update_from(&cna).unwrap();
    let r = run(
        &s,
        &db,
        None,
        &[
            comp("dnsmasq", "2.80", "opkg-status"),
            comp("linux", "4.14.0", "binary-banner"),
        ],
    );
    assert!(!ids(&r).iter().any(|i| i.contains("2099")), "{:?}", ids(&r));
    // The real node.js rows of the OpenSSL record never touch OpenSSL 14.x-looking versions, and
    // OpenSSL 3.0.1 matches only the openssl:openssl row.
    let r = run(&s, &db, None, &[comp("openssl", "3.0.1", "opkg-status")]);
    assert_eq!(r.hits.len(), 1);
    assert!(r.hits[0].why.contains("E7225F27"), "{}", r.hits[0].why);
}

#[test]
fn distribution_records_match_only_their_own_packages() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let db = Db::knowledge_only();
    // Ubuntu's record (fixed in 1:1.30.1-4ubuntu6.5) says nothing about an upstream BusyBox; a
    // firmware's pkg:generic busybox is judged by the NVD CPE record instead.
    let mut generic = comp("busybox", "1.36.1", "binary-banner");
    generic.purl = Some("pkg:generic/busybox@1.36.1".into());
    let r = run(&s, &db, None, &[generic]);
    assert_eq!(r.hits.len(), 1);
    assert_eq!(r.hits[0].source, FeedSource::Nvd);
    // Ubuntu's own package: the revision decides.
    let deb = |v: &str| {
        let mut c = comp("busybox", v, "dpkg-status");
        c.purl = Some(format!("pkg:deb/ubuntu/busybox@{v}?distro=focal"));
        c
    };
    let r = run(&s, &db, None, &[deb("1:1.30.1-4ubuntu6.4")]);
    assert_eq!(ids(&r), ["busybox 1:1.30.1-4ubuntu6.4 CVE-2022-48174"]);
    assert_eq!(r.hits[0].source, FeedSource::Osv);
    assert!(!r.hits[0].low_confidence);
    assert!(run(&s, &db, None, &[deb("1:1.30.1-4ubuntu6.5")])
        .hits
        .is_empty());
    // A Debian package of the same name is not Ubuntu's.
    let mut d = deb("1:1.30.1-4ubuntu6.4");
    d.purl = Some("pkg:deb/debian/busybox@1:1.30.1-4".into());
    assert!(run(&s, &db, None, &[d]).hits.is_empty());
}

#[test]
fn nvd_branch_ranges_win_over_a_coarse_cna_range() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let db = Db::knowledge_only();
    let cfg = KernelConfig::parse("CONFIG_NF_TABLES=m\n");
    // 5.15.149 carries the fix (NVD: < 5.15.149 on that branch); the CNA says only "< 6.8".
    let r = run(
        &s,
        &db,
        Some(&cfg),
        &[comp("linux", "5.15.149", "binary-banner")],
    );
    assert!(r.hits.is_empty(), "{:?}", ids(&r));
    assert!(
        r.set_aside
            .iter()
            .any(|x| x.id == "CVE-2024-1086" && x.reason.contains("coarser range")),
        "{:?}",
        r.set_aside
    );
    let r = run(
        &s,
        &db,
        Some(&cfg),
        &[comp("linux", "5.15.148", "binary-banner")],
    );
    assert_eq!(ids(&r), ["linux 5.15.148 CVE-2024-1086"]);
    assert_eq!(r.hits[0].also, [FeedSource::Cve5]);
    assert!(r.hits[0].condition.is_none());
}

#[test]
fn a_kernel_cve_in_a_subsystem_the_config_does_not_build_is_set_aside() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let db = Db::knowledge_only();
    let k = [comp("linux", "4.14.180", "binary-banner")];
    let off = KernelConfig::parse("CONFIG_NETFILTER=y\n# CONFIG_NF_TABLES is not set\n");
    let r = run(&s, &db, Some(&off), &k);
    assert!(r.hits.is_empty());
    assert!(
        r.set_aside
            .iter()
            .any(|x| x.id == "CVE-2024-1086" && x.reason.contains("CONFIG_NF_TABLES")),
        "{:?}",
        r.set_aside
    );
    // Without the config the evidence cannot decide: a hit carrying the build option as its condition.
    let r = run(&s, &db, None, &k);
    assert_eq!(r.hits.len(), 1);
    assert!(r.hits[0]
        .condition
        .as_deref()
        .unwrap()
        .contains("CONFIG_NF_TABLES"));
}

#[test]
fn the_curated_layer_overrides_and_corrects_the_feeds() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    // NVD files CVE-2019-12107 under `miniupnp.free:miniupnpd`; the curated alias finds it.
    let knowledge = Db::knowledge_only();
    let r = run(
        &s,
        &knowledge,
        None,
        &[comp("miniupnpd", "2.1", "binary-string")],
    );
    assert_eq!(ids(&r), ["miniupnpd 2.1 CVE-2019-12107"]);
    assert!(r.hits[0].why.contains("curated alias"), "{}", r.hits[0].why);
    // With the curated table, its own entry is used and the feed's is set aside, saying so.
    let full = Db::builtin();
    let r = run(
        &s,
        &full,
        None,
        &[comp("miniupnpd", "2.1", "binary-string")],
    );
    assert!(r.hits.is_empty());
    assert!(
        r.set_aside[0].reason.contains("miniupnpd.yaml"),
        "{:?}",
        r.set_aside
    );
    // A curated correction drops a feed match, with its reason.
    let mut db = Db::knowledge_only();
    db.add_ignore(Ignore {
        id: "CVE-2017-14491".into(),
        component: "dnsmasq".into(),
        reason: "test: backported in this vendor build".into(),
    })
    .unwrap();
    let r = run(&s, &db, None, &[comp("dnsmasq", "2.77", "opkg-status")]);
    assert!(r.hits.is_empty());
    assert!(r.set_aside[0]
        .reason
        .starts_with("curated correction: test"));
}

#[test]
fn an_unparseable_version_is_set_aside_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let r = run(
        &s,
        &Db::knowledge_only(),
        None,
        &[comp("busybox", "git-HEAD", "binary-banner")],
    );
    assert!(r.hits.is_empty());
    assert!(
        r.set_aside[0].reason.contains("cannot be compared"),
        "{:?}",
        r.set_aside
    );
}
