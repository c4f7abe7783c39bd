//! The differences the comparison with cve-bin-tool found (bench/compare-cve.sh,
//! docs/advisories.md), on the real NVD records (tests/data/feeds/nvd-ranges): where a curated
//! entry and NVD disagree on the release that brought the bug, the curated layer must be the more
//! precise of the two, never the wider one.

use std::path::Path;

use iotassure_advisories::{Db, Matcher, Store};
use iotassure_core::finding::Component;

fn store(dir: &Path) -> Store {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/feeds/nvd-ranges");
    let mut s = Store::open(&dir.join("a.db")).unwrap();
    s.update_from(&data).unwrap();
    s
}

fn comp(name: &str, version: &str) -> Component {
    Component {
        name: name.into(),
        version: version.into(),
        purl: None,
        cpe: None,
        method: "opkg-status".into(),
        evidence: Vec::new(),
        files: Vec::new(),
    }
}

/// The CVE ids the curated table and the feed database together report for one component.
fn reported(s: &Store, db: &Db, name: &str, version: &str) -> Vec<String> {
    let mut ids: Vec<String> = db
        .lookup(name, version)
        .map(|m| m.advisories.iter().map(|h| h.advisory.id.clone()).collect())
        .unwrap_or_default();
    let r = Matcher {
        store: s,
        db,
        kernel_config: None,
    }
    .match_all(&[comp(name, version)])
    .unwrap();
    ids.extend(r.hits.iter().map(|h| h.id.clone()));
    ids.sort();
    ids.dedup();
    ids
}

#[test]
fn busybox_gunzip_error_bit_exists_only_from_1_32_0() {
    // NVD: 1.32.0 to 1.32.1. The BAD_HUFT/ERR_RET error bit the fix is about came with commit
    // caf5ee0dd (first in 1.32.0); the curated entry used to claim every release up to 1.32.1
    // and so flagged every BusyBox of the corpus (1.00, 1.19.2, 1.22.1, 1.23.2, 1.27.2).
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let db = Db::builtin();
    for old in ["1.00", "1.22.1", "1.27.2", "1.31.1"] {
        assert!(
            !reported(&s, &db, "busybox", old).contains(&"CVE-2021-28831".to_string()),
            "busybox {old}"
        );
    }
    for hit in ["1.32.0", "1.32.1"] {
        assert!(
            reported(&s, &db, "busybox", hit).contains(&"CVE-2021-28831".to_string()),
            "busybox {hit}"
        );
    }
    assert!(!reported(&s, &db, "busybox", "1.33.0").contains(&"CVE-2021-28831".to_string()));
}

#[test]
fn zlib_z_fixed_bug_starts_at_1_2_2_2() {
    // NVD: 1.2.2.2 up to before 1.2.12; the fix's commit message says Z_FIXED brought it in
    // 1.2.2.2. The DIR-300's zlib 1.1.3 was flagged by the curated entry alone.
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let db = Db::builtin();
    let id = "CVE-2018-25032".to_string();
    assert!(!reported(&s, &db, "zlib", "1.1.3").contains(&id));
    assert!(!reported(&s, &db, "zlib", "1.2.2.1").contains(&id));
    assert!(reported(&s, &db, "zlib", "1.2.2.2").contains(&id));
    assert!(reported(&s, &db, "zlib", "1.2.11").contains(&id));
    assert!(!reported(&s, &db, "zlib", "1.2.12").contains(&id));
    // The inflate and crc32 rewrites of 1.2.0 carry CVE-2016-9841/9843; 1.1.3 does not.
    let old = reported(&s, &db, "zlib", "1.1.3");
    assert!(!old.contains(&"CVE-2016-9841".to_string()), "{old:?}");
    assert!(!old.contains(&"CVE-2016-9843".to_string()), "{old:?}");
    assert!(reported(&s, &db, "zlib", "1.2.8").contains(&"CVE-2016-9841".to_string()));
}

#[test]
fn dropbear_listener_double_free_needs_2013_56_although_nvd_says_every_release() {
    // NVD: every dropbear before 2017.75, which is what cve-bin-tool reports for the TP-Link
    // image's dropbear 2012.55. Dropbear's CHANGES says "affects versions 2013.56 to 2016.74";
    // the curated range wins and the feed's wider one is set aside, naming the range used.
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let db = Db::builtin();
    let id = "CVE-2017-9078".to_string();
    assert!(!reported(&s, &db, "dropbear", "2012.55").contains(&id));
    assert!(reported(&s, &db, "dropbear", "2014.65").contains(&id));
    let r = Matcher {
        store: &s,
        db: &db,
        kernel_config: None,
    }
    .match_all(&[comp("dropbear", "2012.55")])
    .unwrap();
    assert!(r.hits.is_empty(), "{:?}", r.hits);
    let aside = r
        .set_aside
        .iter()
        .find(|a| a.id == id)
        .expect("the feed's match is listed as set aside");
    assert!(
        aside
            .reason
            .contains("dropbear.yaml, CVE-2017-9078: from 2013.56 before 2017.75"),
        "{}",
        aside.reason
    );
    // Without the curated table, the feed alone says what NVD says.
    let knowledge = Db::knowledge_only();
    let r = Matcher {
        store: &s,
        db: &knowledge,
        kernel_config: None,
    }
    .match_all(&[comp("dropbear", "2012.55")])
    .unwrap();
    assert_eq!(r.hits.len(), 1);
    assert_eq!(r.hits[0].id, id);
}

#[test]
fn dirty_cow_reaches_the_2_6_36_kernel_nvd_names() {
    // NVD: 2.6.22 up to before 3.2.83 (and on per stable branch). The curated entry used to list
    // only the branches that got a stable fix, so it set aside NVD's match for the TP-Link
    // kernel's 2.6.36 and the image had no Dirty COW finding; cve-bin-tool identifies no kernel at
    // all there.
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let db = Db::builtin();
    let id = "CVE-2016-5195".to_string();
    for hit in ["2.6.22", "2.6.36", "3.3.8", "3.17.4", "3.18.9"] {
        assert!(reported(&s, &db, "linux", hit).contains(&id), "linux {hit}");
    }
    for clean in ["2.6.21", "2.4.25", "3.2.83", "3.18.44", "3.18.77", "4.9"] {
        assert!(
            !reported(&s, &db, "linux", clean).contains(&id),
            "linux {clean}"
        );
    }
}

#[test]
fn a_per_branch_curated_kernel_entry_does_not_hide_nvd_on_branches_it_does_not_name() {
    // Curated CVE-2016-0728: the 3.12, 3.14, 3.16, 3.18, 4.1, 4.3 and 4.4 branches. NVD: from 3.8,
    // per branch (3.8 ≤ v < 3.10.95, 3.17 ≤ v < 3.18.26, …). A 3.10 or 3.17 kernel is on no curated
    // branch: NVD's range is the only statement and stands, saying why; on a branch the curated
    // entry names, it still decides.
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let db = Db::builtin();
    let id = "CVE-2016-0728".to_string();
    let m = |v: &str| {
        Matcher {
            store: &s,
            db: &db,
            kernel_config: None,
        }
        .match_all(&[comp("linux", v)])
        .unwrap()
    };
    for v in ["3.10.50", "3.17.4"] {
        let r = m(v);
        let hit = r.hits.iter().find(|h| h.id == id).expect(v);
        assert!(
            hit.why.contains("speaks only for the branches 3.12, 3.14")
                && hit.why.contains("NVD's range stands"),
            "{}",
            hit.why
        );
        assert!(reported(&s, &db, "linux", v).contains(&id), "{v}");
    }
    // 3.18.9: on a curated branch and inside its range; the curated entry reports it.
    let r = m("3.18.9");
    assert!(r.hits.iter().all(|h| h.id != id));
    assert!(r.set_aside.iter().any(|a| a.id == id));
    assert!(reported(&s, &db, "linux", "3.18.9").contains(&id));
    // 3.18.30: on the curated 3.18 branch past its fix; neither layer reports it.
    assert!(!reported(&s, &db, "linux", "3.18.30").contains(&id));
    // 3.7: before NVD's first range and on no curated branch.
    assert!(!reported(&s, &db, "linux", "3.7.10").contains(&id));
}

#[test]
fn libupnp_under_its_other_nvd_name_is_still_libupnp() {
    // NVD files CVE-2012-5959 under `portable_sdk_for_upnp_project:portable_sdk_for_upnp` (CVE-2012-5958,
    // same disclosure, under `libupnp_project:libupnp`). cve-bin-tool's libupnp checker knows only
    // `libupnp_project` and `pupnp_project`, so no CPE matcher finds it for the TP-Link's libupnp
    // 1.3.1; the curated alias lets the feed match on its own, vendor and product both.
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let r = Matcher {
        store: &s,
        db: &Db::knowledge_only(),
        kernel_config: None,
    }
    .match_all(&[comp("libupnp", "1.3.1")])
    .unwrap();
    let hit = r
        .hits
        .iter()
        .find(|h| h.id == "CVE-2012-5959")
        .expect("matched through the alias");
    assert!(hit.why.contains("curated alias"), "{}", hit.why);
    // Past the range, nothing.
    let r = Matcher {
        store: &s,
        db: &Db::knowledge_only(),
        kernel_config: None,
    }
    .match_all(&[comp("libupnp", "1.6.18")])
    .unwrap();
    assert!(r.hits.iter().all(|h| h.id != "CVE-2012-5959"));
}

/// ppp numbers its betas `2.4.2b3`: a beta of 2.4.2, before it. NVD says CVE-2020-8597 starts
/// at 2.4.2 (the release that brought EAP); DIR-300's pppd 2.4.2b3 already has `eap.c`, but the
/// version cannot show that, so both layers say INCONCLUSIVE with the reason instead of either a
/// FAIL (it is before the range) or silence (the beta may carry the code). A beta of the fixed
/// release is still affected.
#[test]
fn a_beta_of_the_first_affected_release_is_undecided_and_a_beta_of_the_fix_is_affected() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let db = Db::builtin();
    let conditions = |version: &str| -> Vec<Option<String>> {
        db.lookup("pppd", version)
            .map(|m| {
                m.advisories
                    .iter()
                    .filter(|h| h.advisory.id == "CVE-2020-8597")
                    .map(|h| h.condition().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let beta = conditions("2.4.2b3");
    assert_eq!(beta.len(), 1, "{beta:?}");
    assert!(
        beta[0]
            .as_deref()
            .is_some_and(|c| c.contains("pre-release of 2.4.2")),
        "{beta:?}"
    );
    assert_eq!(conditions("2.4.2"), vec![None]);
    assert_eq!(conditions("2.4.9b1"), vec![None]);
    assert!(conditions("2.4.1").is_empty());
    assert!(conditions("2.4.9").is_empty());
    // The feed's NVD range (>= 2.4.2, <= 2.4.8) is read the same way: the curated entry decides,
    // and the NVD record is listed as set aside, never reported as a second, unconditional hit.
    assert!(reported(&s, &db, "pppd", "2.4.2b3").contains(&"CVE-2020-8597".to_string()));
    assert!(!reported(&s, &db, "pppd", "2.4.1").contains(&"CVE-2020-8597".to_string()));
}
