//! The maker's VEX (OpenVEX and CycloneDX), keyed on vulnerability + component + product: a
//! `not_affected` statement sets the match aside and keeps it visible; a statement for another
//! component or another product, or on a CVE alone, changes nothing. The documents are laid
//! out per the OpenVEX 0.2 and CycloneDX 1.6 specifications.

use iotassure_advisories::{assess_with, Db, Options, Vex};
use iotassure_core::finding::{Component, Observations, Outcome};
use time::macros::date;

fn comps() -> Vec<Component> {
    ["dropbear 2014.65", "openssl 1.0.2k"]
        .iter()
        .map(|s| {
            let (n, v) = s.split_once(' ').unwrap();
            Component {
                name: n.into(),
                version: v.into(),
                purl: None,
                cpe: None,
                method: "opkg-status".into(),
                evidence: Vec::new(),
                files: Vec::new(),
            }
        })
        .collect()
}

fn run(vex: &str, product: Option<&str>) -> Observations {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("vex.json");
    std::fs::write(&p, vex).unwrap();
    let mut v = Vex::default();
    v.load(&p).unwrap();
    assess_with(
        &Db::builtin(),
        &comps(),
        &Options {
            today: date!(2026 - 11 - 21),
            vex: Some(v),
            product: product.map(str::to_string),
            ..Options::default()
        },
    )
}

fn fails_on(o: &Observations, id: &str) -> bool {
    o.findings
        .iter()
        .any(|f| f.outcome == Outcome::Fail && f.detail.as_deref().unwrap_or("").contains(id))
}

fn openvex(product: &str, sub: &str, status: &str) -> String {
    format!(
        r#"{{"@context":"https://openvex.dev/ns/v0.2.0","@id":"https://example.invalid/vex/1","author":"Acme","timestamp":"2026-01-01T00:00:00Z","version":1,
        "statements":[{{"vulnerability":{{"name":"CVE-2016-7406"}},"products":[{{"@id":"{product}","subcomponents":[{{"@id":"{sub}"}}]}}],
        "status":"{status}","justification":"vulnerable_code_not_present","impact_statement":"built without the dbclient"}}]}}"#
    )
}

#[test]
fn not_affected_for_this_component_in_this_product_sets_the_match_aside_visibly() {
    let base = assess_with(
        &Db::builtin(),
        &comps(),
        &Options {
            today: date!(2026 - 11 - 21),
            ..Options::default()
        },
    );
    assert!(fails_on(&base, "CVE-2016-7406"));
    let o = run(
        &openvex(
            "pkg:generic/acme/router@1.0",
            "pkg:generic/dropbear@2014.65",
            "not_affected",
        ),
        Some("pkg:generic/acme/router@1.0"),
    );
    assert!(!fails_on(&o, "CVE-2016-7406"));
    let info = o
        .findings
        .iter()
        .find(|f| {
            f.title
                .contains("CVE-2016-7406 set aside by the maker's VEX")
        })
        .unwrap();
    assert_eq!(info.outcome, Outcome::Info);
    assert!(info
        .detail
        .as_deref()
        .unwrap()
        .contains("vulnerable_code_not_present: built without the dbclient"));
    // dropbear's other CVEs still fail.
    assert!(o
        .findings
        .iter()
        .any(|f| f.outcome == Outcome::Fail && f.title.starts_with("dropbear 2014.65")));
}

#[test]
fn a_statement_for_another_product_component_or_version_changes_nothing() {
    let theirs = openvex(
        "pkg:generic/other/camera@2.0",
        "pkg:generic/dropbear@2014.65",
        "not_affected",
    );
    assert!(fails_on(
        &run(&theirs, Some("pkg:generic/acme/router@1.0")),
        "CVE-2016-7406"
    ));
    // Unknown product: a product-scoped statement is not applied.
    assert!(fails_on(&run(&theirs, None), "CVE-2016-7406"));
    let other_version = openvex(
        "pkg:generic/acme/router@1.0",
        "pkg:generic/dropbear@2016.74",
        "not_affected",
    );
    assert!(fails_on(
        &run(&other_version, Some("pkg:generic/acme/router@1.0")),
        "CVE-2016-7406"
    ));
    // Keyed on the component: the same CVE id on OpenSSL does not touch dropbear.
    let wrong_component = openvex(
        "pkg:generic/acme/router@1.0",
        "pkg:generic/openssl@1.0.2k",
        "not_affected",
    );
    assert!(fails_on(
        &run(&wrong_component, Some("pkg:generic/acme/router@1.0")),
        "CVE-2016-7406"
    ));
}

#[test]
fn affected_is_recorded_and_the_match_stands() {
    let o = run(
        &openvex(
            "pkg:generic/acme/router@1.0",
            "pkg:generic/dropbear@2014.65",
            "affected",
        ),
        Some("pkg:generic/acme/router@1.0"),
    );
    assert!(fails_on(&o, "CVE-2016-7406"));
    assert!(o
        .findings
        .iter()
        .any(|f| f.title.contains("VEX says CVE-2016-7406 is affected")));
}

#[test]
fn cyclonedx_vex_by_cpe_and_a_cve_alone_is_refused() {
    let cdx = r#"{"bomFormat":"CycloneDX","specVersion":"1.6","version":1,
      "metadata":{"component":{"type":"firmware","bom-ref":"fw","name":"router","purl":"pkg:generic/acme/router@1.0"}},
      "components":[{"type":"application","bom-ref":"db","name":"dropbear","version":"2014.65","cpe":"cpe:2.3:a:dropbear_ssh_project:dropbear_ssh:2014.65:*:*:*:*:*:*:*"}],
      "vulnerabilities":[{"id":"CVE-2016-7406","analysis":{"state":"not_affected","justification":"code_not_reachable","detail":"dbclient not shipped"},"affects":[{"ref":"db"}]}]}"#;
    let o = run(cdx, Some("pkg:generic/acme/router@1.0"));
    assert!(!fails_on(&o, "CVE-2016-7406"));
    assert!(o.findings.iter().any(|f| f
        .detail
        .as_deref()
        .unwrap_or("")
        .contains("code_not_reachable: dbclient not shipped")));
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bare.json");
    std::fs::write(&p, r#"{"@context":"https://openvex.dev/ns/v0.2.0","statements":[{"vulnerability":{"name":"CVE-2016-7406"},"status":"not_affected","justification":"component_not_present"}]}"#).unwrap();
    let e = Vex::default().load(&p).unwrap_err().to_string();
    assert!(e.contains("bare.json") && e.contains("CVE alone"), "{e}");
}

#[test]
fn vex_out_states_each_match_with_its_analysis() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("vex.json");
    std::fs::write(
        &p,
        openvex(
            "pkg:generic/acme/router@1.0",
            "pkg:generic/dropbear@2014.65",
            "not_affected",
        ),
    )
    .unwrap();
    let mut v = Vex::default();
    v.load(&p).unwrap();
    let opts = Options {
        today: date!(2026 - 11 - 21),
        vex: Some(v),
        product: Some("pkg:generic/acme/router@1.0".into()),
        ..Options::default()
    };
    let doc = iotassure_advisories::cyclonedx_vex(&Db::builtin(), &comps(), &opts);
    assert_eq!(doc["specVersion"], "1.6");
    let vulns = doc["vulnerabilities"].as_array().unwrap();
    let by = |id: &str| {
        vulns
            .iter()
            .find(|x| x["id"] == id)
            .unwrap_or_else(|| panic!("{id}"))
    };
    let set_aside = by("CVE-2016-7406");
    assert_eq!(set_aside["analysis"]["state"], "not_affected");
    assert_eq!(set_aside["analysis"]["justification"], "code_not_present");
    assert_eq!(
        set_aside["affects"][0]["ref"],
        "pkg:generic/dropbear@2014.65"
    );
    // Another dropbear CVE stands: exploitable, with the upgrade as the response.
    let standing = vulns
        .iter()
        .find(|x| {
            x["affects"][0]["ref"] == "pkg:generic/dropbear@2014.65" && x["id"] != "CVE-2016-7406"
        })
        .unwrap();
    assert_eq!(standing["analysis"]["state"], "exploitable");
    assert_eq!(standing["analysis"]["response"][0], "update");
    // Every affects ref names a component of the document.
    let refs: Vec<&str> = doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["bom-ref"].as_str().unwrap())
        .collect();
    assert!(vulns
        .iter()
        .all(|x| refs.contains(&x["affects"][0]["ref"].as_str().unwrap())));
}

#[test]
fn ubuntus_real_openvex_is_read_and_does_not_touch_a_firmware_busybox() {
    // Canonical's statement that its busybox packages are `fixed` (document fields under
    // `metadata`) names Ubuntu packages: it says nothing about an upstream BusyBox in firmware,
    // which a CVE-keyed VEX would wrongly clear.
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/feeds/vex/ubuntu-CVE-2022-48174.openvex.json");
    let mut v = Vex::default();
    assert_eq!(v.load(&p).unwrap(), 1);
    assert_eq!(v.statements[0].state, iotassure_advisories::VexState::Fixed);
    assert_eq!(v.statements[0].components.len(), 5);
    let bb = [Component {
        name: "busybox".into(),
        version: "1.21.0".into(),
        purl: None,
        cpe: None,
        method: "binary-banner".into(),
        evidence: Vec::new(),
        files: Vec::new(),
    }];
    let o = assess_with(
        &Db::builtin(),
        &bb,
        &Options {
            today: date!(2026 - 11 - 21),
            vex: Some(v),
            ..Options::default()
        },
    );
    assert!(fails_on(&o, "CVE-2022-48174"));
    assert!(!o.findings.iter().any(|f| f.title.contains("maker's VEX")));

    // Ubuntu's own package at the fixed revision, as a package database reports it: the
    // statement names it exactly, so the match is set aside as fixed.
    let p2 = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/feeds/vex/ubuntu-CVE-2022-48174.openvex.json");
    let mut v = Vex::default();
    v.load(&p2).unwrap();
    let deb = [Component {
        name: "busybox".into(),
        version: "1:1.21.0-1ubuntu1.4+esm1".into(),
        purl: Some("pkg:deb/ubuntu/busybox@1:1.21.0-1ubuntu1.4+esm1?arch=amd64".into()),
        cpe: None,
        method: "dpkg-status".into(),
        evidence: Vec::new(),
        files: Vec::new(),
    }];
    let o = assess_with(
        &Db::builtin(),
        &deb,
        &Options {
            today: date!(2026 - 11 - 21),
            vex: Some(v),
            ..Options::default()
        },
    );
    assert!(
        o.findings.iter().any(|f| f
            .title
            .contains("CVE-2022-48174 set aside by the maker's VEX (fixed)")),
        "{:#?}",
        o.findings.iter().map(|f| &f.title).collect::<Vec<_>>()
    );
}
