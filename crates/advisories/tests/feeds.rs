//! The feed readers and the local database, on real records (tests/data/feeds, sources in its
//! README): CVE JSON 5, NVD 2.0 and OSV files, a folder, a zip; idempotent and incremental
//! re-import; withdrawal; hostile input refused with the file named.

use std::io::Write;
use std::path::{Path, PathBuf};

use iotassure_advisories::feeds::{read_path, FeedRecord, FeedSource, Target};
use iotassure_advisories::Store;

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/feeds")
}

fn read_all(p: &Path) -> (Vec<FeedRecord>, usize) {
    let mut out = Vec::new();
    let rejected = read_path(p, &mut |r| {
        out.push(r);
        Ok(())
    })
    .unwrap_or_else(|e| panic!("{e}"));
    (out, rejected.len())
}

#[test]
fn nvd_configurations_become_cpe_rows_with_their_bounds() {
    let (recs, rej) = read_all(&data().join("nvd/CVE-2022-0778.json"));
    assert_eq!(rej, 0);
    let r = &recs[0];
    assert_eq!(
        (r.source, r.id.as_str()),
        (FeedSource::Nvd, "CVE-2022-0778")
    );
    assert_eq!(r.modified, "2024-06-21T19:15:21");
    assert_eq!(r.cvss, Some(7.5));
    let openssl: Vec<_> = r
        .affected
        .iter()
        .filter(|a| matches!(&a.target, Target::Cpe { vendor, product, .. } if vendor == "openssl" && product == "openssl"))
        .collect();
    assert_eq!(openssl.len(), 3);
    let b = &openssl[0].bounds;
    assert_eq!(
        (
            b.start.as_deref(),
            b.start_incl,
            b.end.as_deref(),
            b.end_incl
        ),
        (Some("1.0.2"), true, Some("1.0.2zd"), false)
    );
    assert!(
        openssl[0].place.contains("F3BC593C"),
        "{}",
        openssl[0].place
    );
    // versionStartExcluding is kept as exclusive (node.js 14.0.0).
    assert!(r
        .affected
        .iter()
        .any(|a| a.bounds.start.as_deref() == Some("14.0.0") && !a.bounds.start_incl));
    // A CPE with a fixed version (`debian_linux:9.0`) is an exact row; `-` versions are noted.
    assert!(r
        .affected
        .iter()
        .any(|a| a.bounds.exact.as_deref() == Some("9.0")));
}

#[test]
fn nvd_platform_entries_of_and_configurations_are_not_affected_products() {
    let (recs, _) = read_all(&data().join("nvd/CVE-2017-14491.json"));
    let r = &recs[0];
    assert!(
        !r.affected
            .iter()
            .any(|a| matches!(&a.target, Target::Cpe { part: 'h', .. })),
        "vulnerable:false hardware kept"
    );
    let rugged = r
        .affected
        .iter()
        .find(|a| a.place.contains("ruggedcom_rm1224_firmware"))
        .unwrap();
    assert!(
        rugged.place.contains("AND configuration"),
        "{}",
        rugged.place
    );
    // A kernel CPE with an update field: `6.8:rc1` is the release candidate 6.8-rc1.
    let (k, _) = read_all(&data().join("nvd/CVE-2024-1086.json"));
    assert!(k[0]
        .affected
        .iter()
        .any(|a| a.bounds.exact.as_deref() == Some("6.8-rc1")));
}

#[test]
fn cve5_records_use_the_cna_words_and_note_what_cannot_be_compared() {
    let (recs, _) = read_all(&data().join("cve5"));
    assert_eq!(recs.len(), 4);
    let linux = recs.iter().find(|r| r.id == "CVE-2024-1086").unwrap();
    assert_eq!(linux.source, FeedSource::Cve5);
    assert_eq!(linux.modified, "2024-01-31T12:14:34");
    assert_eq!(linux.cvss, Some(7.8));
    let row = &linux.affected[0];
    assert_eq!(
        row.target,
        Target::Named {
            vendor: "linux".into(),
            product: "kernel".into()
        }
    );
    assert_eq!(
        (
            row.bounds.start.as_deref(),
            row.bounds.end.as_deref(),
            row.bounds.end_incl
        ),
        (Some("3.15"), Some("6.8"), false)
    );
    // OpenSSL's CNA writes its ranges as prose: nothing usable, and each one is noted.
    let ossl = recs.iter().find(|r| r.id == "CVE-2022-0778").unwrap();
    assert!(ossl.affected.is_empty());
    assert_eq!(
        ossl.notes
            .iter()
            .filter(|n| n.contains("cannot be compared"))
            .count(),
        3,
        "{:?}",
        ossl.notes
    );
    // MITRE's n/a records name no product.
    let bb = recs.iter().find(|r| r.id == "CVE-2022-48174").unwrap();
    assert!(bb.affected.is_empty() && bb.notes.iter().any(|n| n.contains("n/a")));
}

#[test]
fn osv_distribution_records_keep_their_purl_and_cve() {
    let (recs, _) = read_all(&data().join("osv"));
    let r = &recs[0];
    assert_eq!(r.id, "UBUNTU-CVE-2022-48174");
    assert!(r.aliases.contains(&"CVE-2022-48174".to_string()));
    let fixed = r.affected.iter().find(|a| a.bounds.end.is_some()).unwrap();
    assert_eq!(
        fixed.target,
        Target::Purl {
            ptype: "deb".into(),
            namespace: "ubuntu".into(),
            name: "busybox".into(),
            distro: "focal".into(),
            ecosystem: "Ubuntu:20.04:LTS".into()
        }
    );
    assert_eq!(fixed.bounds.end.as_deref(), Some("1:1.30.1-4ubuntu6.5"));
}

fn zip_of(files: &[(String, Vec<u8>)], to: &Path) {
    let f = std::fs::File::create(to).unwrap();
    let mut z = zip::ZipWriter::new(f);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in files {
        z.start_file(name.as_str(), opts).unwrap();
        z.write_all(bytes).unwrap();
    }
    z.finish().unwrap();
}

#[test]
fn update_imports_all_three_formats_and_reimport_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sub/advisories.db");
    let mut s = Store::open(&db).unwrap();
    // The cvelistV5 bulk layout: a zip of cves/YEAR/NNxxx/ID.json.
    let mut files = Vec::new();
    for e in std::fs::read_dir(data().join("cve5")).unwrap() {
        let p = e.unwrap().path();
        let id = p.file_stem().unwrap().to_string_lossy().to_string();
        files.push((
            format!("cves/{}/xxxx/{id}.json", &id[4..8]),
            std::fs::read(&p).unwrap(),
        ));
    }
    let zip = dir.path().join("cves.zip");
    zip_of(&files, &zip);
    let a = s.update_from(&zip).unwrap();
    assert_eq!((a.read, a.added), (4, 4));
    let b = s.update_from(&data().join("nvd")).unwrap();
    assert_eq!((b.read, b.added), (7, 7));
    let c = s.update_from(&data().join("osv")).unwrap();
    assert_eq!(c.added, 1);
    let snap = s.snapshot().unwrap();
    let counts: Vec<(String, u64)> = snap
        .sources
        .iter()
        .map(|x| (x.source.clone(), x.records))
        .collect();
    assert_eq!(
        counts,
        vec![("cve5".into(), 4), ("nvd".into(), 7), ("osv".into(), 1)]
    );
    assert_eq!(
        snap.sources[1].newest.as_deref(),
        Some("2026-06-17T04:43:25")
    );
    assert!(snap.updated_at.is_some());
    // Again: nothing changes, and the digest is the same.
    let again = s.update_from(&data().join("nvd")).unwrap();
    assert_eq!((again.added, again.updated, again.unchanged), (0, 0, 7));
    assert_eq!(s.snapshot().unwrap().digest, snap.digest);
}

#[test]
fn a_newer_record_replaces_an_older_one_and_a_rejected_one_is_removed() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(&dir.path().join("a.db")).unwrap();
    s.update_from(&data().join("nvd/CVE-2019-12107.json"))
        .unwrap();
    let before = s.snapshot().unwrap();
    let text = std::fs::read_to_string(data().join("nvd/CVE-2019-12107.json")).unwrap();
    // An older copy does not win over the stored one.
    let older = dir.path().join("older.json");
    std::fs::write(
        &older,
        text.replace("2026-06-17T02:14:04.063", "2020-01-01T00:00:00.000")
            .replace("through 2.1", "OLD"),
    )
    .unwrap();
    assert_eq!(s.update_from(&older).unwrap().unchanged, 1);
    assert!(!s.by_cpe("miniupnp.free", "miniupnpd").unwrap()[0]
        .summary
        .contains("OLD"));
    // A newer one replaces it, and the digest changes.
    let newer = dir.path().join("newer.json");
    std::fs::write(
        &newer,
        text.replace("2026-06-17T02:14:04.063", "2027-01-01T00:00:00.000")
            .replace("\"2.1\"", "\"2.2\""),
    )
    .unwrap();
    assert_eq!(s.update_from(&newer).unwrap().updated, 1);
    let rows = s.by_cpe("miniupnp.free", "miniupnpd").unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].bounds.end.as_deref(), Some("2.2"));
    assert_ne!(s.snapshot().unwrap().digest, before.digest);
    // NVD marks a withdrawn CVE `Rejected`: the record goes.
    let rejected = dir.path().join("rejected.json");
    std::fs::write(
        &rejected,
        text.replace("2026-06-17T02:14:04.063", "2028-01-01T00:00:00.000")
            .replace("\"Modified\"", "\"Rejected\""),
    )
    .unwrap();
    assert_eq!(s.update_from(&rejected).unwrap().withdrawn, 1);
    assert!(s.by_cpe("miniupnp.free", "miniupnpd").unwrap().is_empty());
    assert_eq!(s.snapshot().unwrap().records(), 0);
}

#[test]
fn hostile_feed_files_are_errors_or_rejections_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Store::open(&dir.path().join("a.db")).unwrap();
    // Truncated JSON in a known format: listed as rejected with the file and position.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, b"{\"cveMetadata\": {\"cveId\": \"CVE-1\", ").unwrap();
    let r = s.update_from(&bad).unwrap();
    assert_eq!(r.rejected.len(), 1);
    assert!(
        r.rejected[0].file.ends_with("bad.json") && r.rejected[0].reason.contains("line 1"),
        "{:?}",
        r.rejected
    );
    // A zip that is not one: an error naming it.
    let z = dir.path().join("broken.zip");
    std::fs::write(&z, b"PK\x03\x04garbage").unwrap();
    let e = s.update_from(&z).unwrap_err().to_string();
    assert!(e.contains("broken.zip"), "{e}");
    // A zip entry that is not a record: rejected under `zip!entry`.
    let z2 = dir.path().join("mixed.zip");
    zip_of(&[("x/notes.json".into(), b"[1,2,3]".to_vec())], &z2);
    let r = s.update_from(&z2).unwrap();
    assert!(
        r.rejected[0].file.ends_with("mixed.zip!x/notes.json"),
        "{:?}",
        r.rejected
    );
    // A missing path is an error naming it.
    let e = s
        .update_from(&dir.path().join("nope"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("nope"), "{e}");
    assert_eq!(s.snapshot().unwrap().records(), 0);
}
