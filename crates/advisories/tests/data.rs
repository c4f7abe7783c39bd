//! The built-in tables: they load, every entry is complete and consistent, and the files under
//! data/ are all compiled in.

use std::collections::HashSet;

use iotassure_advisories::{Db, Role, Scheme, Version};

#[test]
fn builtin_tables_load_and_validate() {
    let db = Db::try_builtin().unwrap_or_else(|e| panic!("{e}"));
    assert!(db.components().len() >= 37, "{}", db.components().len());
    assert!(
        db.advisories().count() >= 155,
        "{}",
        db.advisories().count()
    );
    assert!(db.eol_rules().count() >= 11);
}

#[test]
fn every_advisory_is_complete() {
    let db = Db::builtin();
    let mut ids = HashSet::new();
    for a in db.advisories() {
        let c = db
            .component(&a.component)
            .unwrap_or_else(|| panic!("{}: unknown component {}", a.id, a.component));
        assert_eq!(c.name, a.component, "{}: canonical name", a.id);
        assert!(
            ids.insert((a.component.clone(), a.id.clone())),
            "{} twice",
            a.id
        );
        assert!(
            a.id.starts_with("CVE-") && a.id[4..8].parse::<u32>().is_ok(),
            "{}: built-in ids are CVE ids",
            a.id
        );
        assert!(
            a.source.starts_with("https://") || a.source.starts_with("http://"),
            "{}",
            a.id
        );
        assert!(
            !a.summary.trim().is_empty() && a.summary.len() < 200,
            "{}: summary",
            a.id
        );
        assert!(
            a.cvss.is_some() || a.severity.is_some(),
            "{}: severity",
            a.id
        );
        assert!(!a.affected.is_empty(), "{}: ranges", a.id);
        for r in &a.affected {
            for v in [&r.introduced, &r.fixed, &r.last_affected]
                .into_iter()
                .flatten()
            {
                Version::parse(v, c.scheme).unwrap_or_else(|e| panic!("{}: {e}", a.id));
            }
            assert!(
                r.fixed.is_none() || r.last_affected.is_none(),
                "{}: a range has one end",
                a.id
            );
        }
        if let Some(roles) = &a.roles {
            for r in roles {
                assert!(
                    c.roles.contains(r),
                    "{}: role {r:?} not a role of {}",
                    a.id,
                    c.name
                );
            }
        }
    }
}

#[test]
fn component_names_are_unique_and_identifiers_well_formed() {
    let db = Db::builtin();
    let mut names = HashSet::new();
    for c in db.components() {
        for n in std::iter::once(&c.name).chain(&c.aliases) {
            assert!(names.insert(n.to_ascii_lowercase()), "name {n} twice");
        }
        assert!(c.purl.starts_with("pkg:generic/"), "{}", c.purl);
        let cpe = c.cpe("1.2.3").expect("every built-in component has a CPE");
        assert!(
            cpe.starts_with("cpe:2.3:") && cpe.matches(':').count() == 12,
            "{cpe}"
        );
    }
    let l = db.component("kernel").unwrap();
    assert_eq!(l.name, "linux");
    assert_eq!(l.scheme, Scheme::Kernel);
    assert_eq!(
        l.cpe("3.18.9").unwrap(),
        "cpe:2.3:o:linux:linux_kernel:3.18.9:*:*:*:*:*:*:*"
    );
    assert_eq!(db.component("DropbearMulti").unwrap().name, "dropbear");
    assert_eq!(db.component("libssl1.1").unwrap().name, "openssl");
    assert_eq!(db.component("OpenSSH").unwrap().name, "openssh");
    assert_eq!(db.component("luci-app-foo").map(|c| c.name.as_str()), None);
    assert_eq!(
        db.component("busybox").unwrap().purl("1.22.1"),
        "pkg:generic/busybox@1.22.1"
    );
}

#[test]
fn mapping_table_covers_the_roles() {
    let db = Db::builtin();
    let m = db.mapping();
    assert_eq!(m.advisories[0].role, None);
    assert_eq!(m.advisories[0].provisions, ["5.2-3", "5.3-8"]);
    for (role, prov) in [
        (Role::Authentication, "5.1-3"),
        (Role::Communication, "5.5-1"),
        (Role::Update, "5.3-7"),
    ] {
        let r = m
            .advisories
            .iter()
            .find(|r| r.role == Some(role))
            .unwrap_or_else(|| panic!("no row for {role:?}"));
        assert_eq!(r.provisions, [prov]);
        assert!(r.check.starts_with(prov), "{}", r.check);
    }
    assert_eq!(m.eol.check, "5.2-3-eol");
    let cat = iotassure_core::catalog();
    for r in m.advisories.iter().chain([&m.eol]) {
        for p in &r.provisions {
            assert!(cat.provision(p).is_some(), "{p} is not in the catalogue");
        }
    }
}

#[test]
fn every_data_file_is_compiled_in() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/advisories");
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = iotassure_advisories::ADVISORY_FILES
        .iter()
        .map(|(f, _)| f.to_string())
        .collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}
