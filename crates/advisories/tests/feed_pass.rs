//! The advisory pass on top of the feed database: feed matches become findings beside the
//! curated ones, a build-option doubt is INCONCLUSIVE with its reason, and the report's summary
//! carries the database snapshot, a staleness warning and every record set aside.

use std::path::Path;

use iotassure_advisories::{assess_with, summary_notes, Db, KernelConfig, Matcher, Options, Store};
use iotassure_core::finding::{Component, Observations, Outcome};

fn store(dir: &Path) -> Store {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/feeds");
    let mut s = Store::open(&dir.join("a.db")).unwrap();
    for f in ["cve5", "nvd", "osv"] {
        s.update_from(&data.join(f)).unwrap();
    }
    s
}

fn comp(name: &str, version: &str) -> Component {
    Component {
        name: name.into(),
        version: version.into(),
        purl: None,
        cpe: None,
        method: "binary-banner".into(),
        evidence: Vec::new(),
        files: Vec::new(),
    }
}

fn assess(
    s: &Store,
    k: Option<&KernelConfig>,
    comps: &[Component],
    now: time::OffsetDateTime,
) -> Observations {
    let mut db = Db::builtin();
    let r = Matcher {
        store: s,
        db: &db,
        kernel_config: k,
    }
    .match_all(comps)
    .unwrap();
    db.add_feed_hits(&r);
    let notes = summary_notes(&s.snapshot().unwrap(), &r, 30, now);
    assess_with(
        &db,
        comps,
        &Options {
            notes,
            // As `assess --kernel-config` gives it: to the matcher and to the pass.
            kernel_config: k.cloned(),
            ..Options::default()
        },
    )
}

fn d(f: &iotassure_core::finding::Finding) -> &str {
    f.detail.as_deref().unwrap_or("")
}

fn about<'a>(o: &'a Observations, id: &str) -> Vec<&'a iotassure_core::finding::Finding> {
    o.findings
        .iter()
        .filter(|f| d(f).contains(id) && f.outcome != Outcome::Info)
        .collect()
}

#[test]
fn a_feed_only_kernel_cve_is_inconclusive_without_the_config_and_fails_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let now = time::OffsetDateTime::now_utc();
    let comps = [comp("linux", "5.10.1")];
    let o = assess(&s, None, &comps, now);
    let f = about(&o, "CVE-2024-1086");
    assert!(!f.is_empty());
    assert!(
        f.iter().all(|f| f.outcome == Outcome::Inconclusive),
        "{f:#?}"
    );
    assert!(d(f[0]).contains("CONFIG_NF_TABLES"), "{}", d(f[0]));
    let on = KernelConfig::parse("CONFIG_NF_TABLES=y\n");
    let o = assess(&s, Some(&on), &comps, now);
    let f = about(&o, "CVE-2024-1086");
    assert!(f.iter().any(|f| f.outcome == Outcome::Fail), "{f:#?}");
    // The finding explains the match, and says it is a CPE match on a binary banner.
    assert!(
        d(f[0]).contains("match: nvd CVE-2024-1086") && d(f[0]).contains("9E23B69A"),
        "{}",
        d(f[0])
    );
    // Curated matches stand beside it, so the finding as a whole is not marked heuristic; the
    // feed match's own line says it is the weaker kind.
    assert!(
        d(f[0]).contains(
            "lower confidence: a CPE match for a component identified only from a binary"
        ),
        "{}",
        d(f[0])
    );
    assert!(
        d(f[0]).contains("CVE-2022-0847 (Dirty Pipe)"),
        "{}",
        d(f[0])
    );
    let off = KernelConfig::parse("# CONFIG_NF_TABLES is not set\n");
    let o = assess(&s, Some(&off), &comps, now);
    assert!(about(&o, "CVE-2024-1086").is_empty());
}

#[test]
fn the_summary_records_the_snapshot_the_set_aside_records_and_staleness() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let snap = s.snapshot().unwrap();
    let now = time::OffsetDateTime::now_utc();
    let o = assess(&s, None, &[comp("busybox", "1.31.1")], now);
    let summary = o
        .findings
        .iter()
        .find(|f| f.title.starts_with("advisories:"))
        .unwrap();
    assert!(
        d(summary).contains(&format!("digest sha256:{}", snap.digest)),
        "{}",
        d(summary)
    );
    assert!(d(summary).contains("nvd 7 records"), "{}", d(summary));
    // The curated entry judged busybox; the feed's record for the same CVE is shown as set aside.
    assert!(
        d(summary).contains(
            "Set aside: CVE-2022-48174 for busybox 1.31.1: the curated table's entry (busybox.yaml"
        ),
        "{}",
        d(summary)
    );
    assert!(!d(summary).contains("WARNING"));
    assert!(about(&o, "CVE-2022-48174")
        .iter()
        .any(|f| f.outcome == Outcome::Fail));
    let later = now + time::Duration::days(45);
    let o = assess(&s, None, &[comp("busybox", "1.31.1")], later);
    let summary = o
        .findings
        .iter()
        .find(|f| f.title.starts_with("advisories:"))
        .unwrap();
    assert!(
        d(summary)
            .contains("WARNING: the advisory database was last updated 45 days ago (more than 30)"),
        "{}",
        d(summary)
    );
}
