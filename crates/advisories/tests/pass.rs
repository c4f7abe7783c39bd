//! The advisory pass over components from any source.

use iotassure_advisories::{assess_with, Db, Options};
use iotassure_core::finding::{
    Component, Evidence, Finding, Location, Outcome, RunStatus, Severity, Source,
};
use time::macros::date;

fn opts() -> Options {
    Options {
        today: date!(2026 - 11 - 21),
        default_source: Source::Firmware,
        ..Options::default()
    }
}

fn fw(name: &str, version: &str, path: &str, excerpt: &str) -> Component {
    Component {
        name: name.into(),
        version: version.into(),
        purl: None,
        cpe: None,
        method: "opkg-status".into(),
        evidence: vec![Evidence {
            location: Location::File {
                path: path.into(),
                provenance: format!("image → {path}"),
                line: Some(3),
                offset: None,
            },
            excerpt: excerpt.into(),
        }],
        files: vec![],
    }
}

fn banner(name: &str, version: &str, port: u16, excerpt: &str) -> Component {
    Component {
        name: name.into(),
        version: version.into(),
        purl: None,
        cpe: None,
        method: "banner".into(),
        evidence: vec![Evidence {
            location: Location::Network {
                host: "127.0.0.1".into(),
                port,
                protocol: "ssh".into(),
                transcript: vec![],
            },
            excerpt: excerpt.into(),
        }],
        files: vec![],
    }
}

fn by<'a>(f: &'a [Finding], check: &str, needle: &str) -> Vec<&'a Finding> {
    f.iter()
        .filter(|x| x.check == check && x.title.contains(needle))
        .collect()
}

#[test]
fn firmware_and_banner_of_one_component_become_one_finding_per_check() {
    let db = Db::builtin();
    let comps = [
        fw(
            "dropbear",
            "2014.65",
            "/usr/lib/opkg/status",
            "Package: dropbear Version: 2014.65-2",
        ),
        banner("dropbearmulti", "2014.65", 22, "SSH-2.0-dropbear_2014.65"),
    ];
    let obs = assess_with(&db, &comps, &opts());
    let general = by(&obs.findings, "5.3-8-advisories", "dropbear 2014.65");
    assert_eq!(general.len(), 1, "{:#?}", obs.findings);
    let f = general[0];
    assert_eq!(f.outcome, Outcome::Fail);
    assert_eq!(f.provisions, ["5.2-3", "5.3-8"]);
    assert_eq!(f.severity, Severity::Critical, "CVE-2016-7406 is CVSS 9.8");
    assert_eq!(f.source, Source::Firmware);
    assert_eq!(f.evidence.len(), 2, "both sources' evidence");
    assert!(f
        .evidence
        .iter()
        .any(|e| matches!(e.location, Location::Network { port: 22, .. })));
    let d = f.detail.as_deref().unwrap();
    assert!(
        d.contains("CVE-2016-7406 (CVSS 9.8, fixed in 2016.74)"),
        "{d}"
    );
    assert!(
        d.contains("revision `2`"),
        "the opkg revision is noted: {d}"
    );
    // Role findings: dropbear authenticates users and secures communication.
    let auth = by(&obs.findings, "5.1-3-advisories", "dropbear 2014.65");
    assert_eq!(auth.len(), 1);
    assert_eq!(auth[0].provisions, ["5.1-3"]);
    let ad = auth[0].detail.as_deref().unwrap();
    assert!(
        ad.contains("CVE-2018-15599") && !ad.contains("CVE-2016-7407"),
        "{ad}"
    );
    assert_eq!(by(&obs.findings, "5.5-1-advisories", "dropbear").len(), 1);
    assert!(by(&obs.findings, "5.3-7-advisories", "dropbear").is_empty());
    // Age note and records of the runs.
    assert!(obs.findings.iter().any(|f| f.check == "5.2-3-eol"
        && f.outcome == Outcome::Info
        && f.title.contains("release of 2014")));
    let run = obs
        .checks
        .iter()
        .find(|c| c.check == "5.3-8-advisories")
        .unwrap();
    assert_eq!(run.status, RunStatus::Ran { examined: 1 });
    let upd = obs
        .checks
        .iter()
        .find(|c| c.check == "5.3-7-advisories")
        .unwrap();
    assert!(matches!(upd.status, RunStatus::Skipped { .. }));
}

#[test]
fn device_only_components_are_judged_alike_with_notes() {
    let db = Db::builtin();
    let obs = assess_with(
        &db,
        &[banner("OpenSSH", "7.4p1", 22, "SSH-2.0-OpenSSH_7.4p1")],
        &opts(),
    );
    let f = by(&obs.findings, "5.3-8-advisories", "openssh 7.4p1");
    assert_eq!(f.len(), 1, "{:#?}", obs.findings);
    assert_eq!(f[0].outcome, Outcome::Fail);
    assert_eq!(f[0].source, Source::Device);
    assert!(f[0].detail.as_deref().unwrap().contains("network banner"));
    assert!(obs
        .checks
        .iter()
        .any(|c| c.check == "5.3-8-advisories" && c.source == Source::Device));

    // A distribution build: the version alone does not show the build is vulnerable.
    let obs = assess_with(
        &db,
        &[banner(
            "openssh",
            "7.4p1",
            22,
            "SSH-2.0-OpenSSH_7.4p1 Debian-10+deb9u7",
        )],
        &opts(),
    );
    let f = by(&obs.findings, "5.3-8-advisories", "openssh 7.4p1");
    assert_eq!(f[0].outcome, Outcome::Inconclusive);
    assert!(f[0].heuristic);
    assert!(f[0].detail.as_deref().unwrap().contains("Debian build"));
    assert!(!obs.findings.iter().any(|f| f.outcome == Outcome::Fail));

    // A build host named `debian` in a firmware kernel banner is not a distribution build.
    let obs = assess_with(
        &db,
        &[fw(
            "linux",
            "3.18.9",
            "/boot/vmlinux",
            "Linux version 3.18.9 (root@debian) (gcc",
        )],
        &opts(),
    );
    let f = by(&obs.findings, "5.3-8-advisories", "linux 3.18.9");
    // (Beside it, an INCONCLUSIVE for the flaws in optional subsystems: no kernel config here.)
    assert!(
        f.iter().any(|x| x.outcome == Outcome::Fail && !x.heuristic),
        "{f:#?}"
    );
    // A Debian package version is.
    let obs = assess_with(
        &db,
        &[fw(
            "dnsmasq",
            "2.76-5+deb9u1",
            "/var/lib/dpkg/status",
            "Package: dnsmasq-base Version: 2.76-5+deb9u1",
        )],
        &opts(),
    );
    let f = by(&obs.findings, "5.3-8-advisories", "dnsmasq 2.76");
    assert_eq!(f[0].outcome, Outcome::Inconclusive);
}

#[test]
fn end_of_life_unparsable_and_clean_components() {
    let db = Db::builtin();
    let comps = [
        fw(
            "linux",
            "2.6.36",
            "/lib/modules/2.6.36",
            "kernel modules directory",
        ),
        fw(
            "openssl",
            "1.0.2n",
            "/usr/lib/libcrypto.so.1.0.0",
            "OpenSSL 1.0.2n  7 Dec 2017",
        ),
        fw(
            "dnsmasq",
            "git-2015.1",
            "/usr/sbin/dnsmasq",
            "dnsmasq-git-2015.1",
        ),
        fw("dnsmasq", "2.90", "/usr/sbin/dnsmasq", "dnsmasq-2.90"),
        fw(
            "luci-base",
            "git-15.079",
            "/usr/lib/opkg/status",
            "Package: luci-base",
        ),
        fw(
            "sqlite",
            "3.8.7",
            "/usr/lib/libsqlite3.so",
            "SQLite version 3.8.7",
        ),
    ];
    let obs = assess_with(&db, &comps, &opts());
    let eol = by(&obs.findings, "5.2-3-eol", "linux 2.6.36");
    assert_eq!(eol.len(), 1);
    assert_eq!(eol[0].outcome, Outcome::Fail);
    assert!(eol[0]
        .detail
        .as_deref()
        .unwrap()
        .contains("no security fixes since 2016-03"));
    let ossl = by(&obs.findings, "5.2-3-eol", "openssl 1.0.2n");
    assert_eq!(ossl[0].outcome, Outcome::Fail);
    assert!(by(&obs.findings, "5.5-1-advisories", "openssl 1.0.2n").len() == 1);
    let unparsed = by(&obs.findings, "5.3-8-advisories", "git-2015.1");
    assert_eq!(unparsed.len(), 1);
    assert_eq!(unparsed[0].outcome, Outcome::Inconclusive);
    assert!(unparsed[0]
        .detail
        .as_deref()
        .unwrap()
        .contains("does not start with a number"));
    // No advisory and not end of life: no finding about it at all, and never a PASS.
    assert!(by(&obs.findings, "5.3-8-advisories", "dnsmasq 2.90").is_empty());
    assert!(!obs.findings.iter().any(|f| f.outcome == Outcome::Pass));
    let summary = obs
        .findings
        .iter()
        .find(|f| f.title.starts_with("advisories:"))
        .unwrap();
    let d = summary.detail.as_deref().unwrap();
    assert!(
        d.contains("dnsmasq 2.90") && d.contains("not a PASS"),
        "{d}"
    );
    assert!(
        d.contains("luci-base git-15.079"),
        "unknown components are listed: {d}"
    );
    assert!(d.contains("sqlite 3.8.7"), "known but no data: {d}");
    let run = obs.checks.iter().find(|c| c.check == "5.2-3-eol").unwrap();
    assert_eq!(run.status, RunStatus::Ran { examined: 6 });
}

#[test]
fn no_components_records_skipped_runs() {
    let db = Db::builtin();
    let obs = assess_with(
        &db,
        &[],
        &Options {
            default_source: Source::Device,
            ..opts()
        },
    );
    assert!(obs.findings.is_empty());
    assert!(obs.checks.len() >= 5);
    assert!(obs
        .checks
        .iter()
        .all(|c| c.source == Source::Device && matches!(c.status, RunStatus::Skipped { .. })));
}

#[test]
fn update_role_components_reach_5_3_7_and_feeds_count() {
    // uhttpd has the update role; a feed gives it an advisory.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("u.json");
    std::fs::write(
        &p,
        r#"{"id": "TEST-UHTTPD-1", "modified": "m", "summary": "uhttpd test flaw",
            "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"}],
            "affected": [{"package": {"name": "uhttpd"}, "versions": ["2015.11.08"]}]}"#,
    )
    .unwrap();
    let mut db = Db::builtin();
    db.load_osv(&p).unwrap();
    let obs = assess_with(
        &db,
        &[fw(
            "uhttpd",
            "2015.11.08",
            "/usr/lib/opkg/status",
            "Package: uhttpd Version: 2015.11.08",
        )],
        &opts(),
    );
    let f = by(&obs.findings, "5.3-7-advisories", "uhttpd");
    assert_eq!(f.len(), 1, "{:#?}", obs.findings);
    assert_eq!(f[0].provisions, ["5.3-7"]);
    assert_eq!(f[0].severity, Severity::High);
    let summary = obs
        .findings
        .iter()
        .find(|f| f.title.starts_with("advisories:"))
        .unwrap();
    assert!(summary
        .detail
        .as_deref()
        .unwrap()
        .contains("u.json: 1 records"));
}

/// One CVE gets one answer whichever layer matched it: BlueBorne (Bluetooth) is a curated entry
/// on the 3.18 branch, and the feed matcher's subsystem rule applies to it too.
#[test]
fn a_curated_kernel_flaw_in_an_optional_subsystem_follows_the_kernel_config() {
    let db = Db::builtin();
    let d = |x: &Finding| x.detail.clone().unwrap_or_default();
    let comps = [fw(
        "linux",
        "3.18.9",
        "/boot/vmlinux",
        "Linux version 3.18.9 (builder@host)",
    )];
    let run = |config: Option<&str>| {
        let o = Options {
            kernel_config: config.map(iotassure_advisories::KernelConfig::parse),
            ..opts()
        };
        assess_with(&db, &comps, &o).findings
    };
    let naming = |f: &[Finding], outcome: Outcome| {
        f.iter()
            .filter(|x| x.outcome == outcome && d(x).contains("CVE-2017-1000251"))
            .count()
    };
    // No config: INCONCLUSIVE with the option named, never a FAIL.
    let f = run(None);
    assert_eq!(naming(&f, Outcome::Fail), 0);
    assert!(f.iter().any(|x| x.outcome == Outcome::Inconclusive
        && d(x).contains("CVE-2017-1000251")
        && d(x).contains("CONFIG_BT")));
    // The assessment's VEX says the same: in triage, with the reason.
    let vex = iotassure_advisories::cyclonedx_vex(&db, &comps, &opts());
    let blue = vex["vulnerabilities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == "CVE-2017-1000251")
        .expect("BlueBorne in the VEX")
        .clone();
    assert_eq!(blue["analysis"]["state"], "in_triage", "{blue}");
    assert!(blue["analysis"]["detail"]
        .as_str()
        .unwrap()
        .contains("CONFIG_BT"));
    // Bluetooth built: a FAIL.
    let f = run(Some("CONFIG_BT=m\n"));
    assert!(naming(&f, Outcome::Fail) > 0);
    assert_eq!(naming(&f, Outcome::Inconclusive), 0);
    // Not built: not reported, only listed as set aside, with the reason.
    let f = run(Some("# CONFIG_BT is not set\n"));
    assert_eq!(naming(&f, Outcome::Fail), 0);
    assert_eq!(naming(&f, Outcome::Inconclusive), 0);
    assert!(f.iter().any(
        |x| d(x).contains("Set aside for linux 3.18.9: CVE-2017-1000251")
            && d(x).contains("does not build")
    ));
    // Other 3.18.9 flaws (Dirty COW, in the core) stay FAILs whatever the config says.
    assert!(f
        .iter()
        .any(|x| x.outcome == Outcome::Fail && d(x).contains("CVE-2016-5195")));
}
