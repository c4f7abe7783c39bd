//! Version comparison tables and lookups against the built-in data.

use std::cmp::Ordering;

use iotassure_advisories::{Db, Scheme, Version};
use time::macros::date;

fn cmp(a: &str, b: &str, s: Scheme) -> Ordering {
    let pa = Version::parse(a, s).unwrap_or_else(|e| panic!("{e}"));
    let pb = Version::parse(b, s).unwrap_or_else(|e| panic!("{e}"));
    pa.cmp(&pb)
}

#[test]
fn dotted_versions_compare_like_upstream_numbering() {
    use Ordering::*;
    let cases = [
        // OpenSSL letter releases come after the number, `za` after `z`, `y` before `za`.
        ("1.0.2n", "1.0.2", Greater),
        ("1.0.2n", "1.0.2p", Less),
        ("1.0.2u", "1.0.2za", Less),
        ("1.0.2zd", "1.0.2za", Greater),
        ("0.9.8zh", "0.9.8za", Greater),
        ("1.0.1f", "1.0.1g", Less),
        ("1.1.1", "1.1.10", Less),
        // dropbear YYYY.NN
        ("2014.65", "2016.74", Less),
        ("2017.75", "2017.75", Equal),
        ("2019.77", "2018.76", Greater),
        // dnsmasq: numbers, not strings
        ("2.72", "2.8", Greater),
        ("2.78", "2.83", Less),
        ("2.73rc4", "2.73", Less),
        ("2.72", "2.73rc4", Less),
        ("2.80test3", "2.80", Less),
        // BusyBox
        ("1.22.1", "1.25.0", Less),
        ("1.00", "1.0", Equal),
        ("1.27.2", "1.27.2", Equal),
        ("1.30.0", "1.30", Equal),
        // OpenSSH portable
        ("7.4p1", "7.8", Less),
        ("9.3p1", "9.3p2", Less),
        ("9.8p1", "9.8", Greater),
        ("7.10p1", "7.9p1", Greater),
        // pre-releases
        ("3.0.0-alpha1", "3.0.0", Less),
        ("3.0.0-beta2", "3.0.0-alpha1", Greater),
        ("2.0.0~rc1", "2.0.0", Less),
        ("0.94.14rc21", "0.94.14", Less),
        ("2.4-devel", "2.4", Less),
        ("2.4-devel", "2.3", Greater),
        // thttpd-style letters
        ("2.25b", "2.26", Less),
        ("2.25b", "2.25", Greater),
        // package revisions and epochs are not part of the upstream release
        ("2.4.7-r1", "2.4.7", Equal),
        ("2.72-1", "2.72", Equal),
        ("1:2.80-1+deb10u1", "2.80", Equal),
        ("2017.75-7.1", "2017.75", Equal),
        ("1.9.20141209-1", "2.0", Less),
        ("v2.6", "2.6", Equal),
    ];
    for (a, b, want) in cases {
        assert_eq!(cmp(a, b, Scheme::Dotted), want, "{a} vs {b}");
        assert_eq!(cmp(b, a, Scheme::Dotted), want.reverse(), "{b} vs {a}");
    }
}

#[test]
fn kernel_versions_drop_local_suffixes() {
    use Ordering::*;
    let cases = [
        ("3.18.77", "3.18.9", Greater),
        ("4.9.0-8-amd64", "4.9.0", Equal),
        ("3.18.9+", "3.18.9", Equal),
        ("2.6.36.4-lede", "2.6.36.4", Equal),
        ("4.14.0-rc3", "4.14.0", Less),
        ("5.10.102", "5.10.1", Greater),
        ("2.4.25", "2.4.37.11", Less),
    ];
    for (a, b, want) in cases {
        assert_eq!(cmp(a, b, Scheme::Kernel), want, "{a} vs {b}");
    }
    let v = Version::parse("4.9.0-8-amd64", Scheme::Kernel).unwrap();
    assert_eq!(v.upstream(), "4.9.0");
    assert_eq!(v.revision(), Some("8-amd64"));
    let v = Version::parse("2.4.7-r1", Scheme::Dotted).unwrap();
    assert_eq!((v.upstream(), v.revision()), ("2.4.7", Some("r1")));
}

#[test]
fn unusable_versions_are_errors_with_reasons() {
    for bad in [
        "",
        "git-15.079+x",
        "master-2015-03-09",
        "7",
        "1.2 beta",
        "%s",
        "unknown",
    ] {
        let e = Version::parse(bad, Scheme::Dotted).expect_err(bad);
        assert!(!e.reason.is_empty(), "{bad}");
    }
}

fn ids(db: &Db, name: &str, version: &str) -> Vec<String> {
    db.lookup_on(name, version, date!(2026 - 11 - 21))
        .unwrap_or_else(|| panic!("{name} unknown"))
        .advisories
        .iter()
        .map(|h| h.advisory.id.clone())
        .collect()
}

#[test]
fn lookups_find_the_documented_advisories() {
    let db = Db::builtin();
    let d = ids(&db, "dropbear", "2014.65");
    for id in [
        "CVE-2016-7406",
        "CVE-2017-9078",
        "CVE-2018-15599",
        "CVE-2016-3116",
    ] {
        assert!(d.contains(&id.to_string()), "{id}: {d:?}");
    }
    assert!(
        !d.contains(&"CVE-2012-0920".to_string()),
        "fixed in 2012.55"
    );
    let d = ids(&db, "dropbear", "2017.75");
    assert!(!d.contains(&"CVE-2016-7406".to_string()));
    assert!(
        !d.contains(&"CVE-2017-9078".to_string()),
        "fixed in 2017.75"
    );
    assert!(d.contains(&"CVE-2018-15599".to_string()));

    let m = ids(&db, "dnsmasq", "2.72");
    assert!(m.contains(&"CVE-2017-14491".to_string()) && m.contains(&"CVE-2015-3294".to_string()));
    let m = ids(&db, "dnsmasq", "2.78");
    assert!(!m.contains(&"CVE-2017-14491".to_string()));
    assert!(m.contains(&"CVE-2020-25681".to_string()), "DNSpooq: {m:?}");
    assert!(ids(&db, "dnsmasq", "2.90").is_empty());

    // Heartbleed: 1.0.1 through 1.0.1f only.
    assert!(ids(&db, "openssl", "1.0.1f").contains(&"CVE-2014-0160".to_string()));
    assert!(!ids(&db, "openssl", "1.0.1g").contains(&"CVE-2014-0160".to_string()));
    assert!(!ids(&db, "openssl", "1.0.2n").contains(&"CVE-2014-0160".to_string()));
    assert!(!ids(&db, "openssl", "0.9.8zh").contains(&"CVE-2014-0160".to_string()));
    let o = ids(&db, "openssl", "1.0.2n");
    for id in ["CVE-2018-0732", "CVE-2022-0778", "CVE-2023-0286"] {
        assert!(o.contains(&id.to_string()), "{id}: {o:?}");
    }
    assert!(
        !o.contains(&"CVE-2016-0800".to_string()),
        "DROWN fixed in 1.0.2g"
    );
    assert!(ids(&db, "libssl1.1", "1.1.1k").contains(&"CVE-2021-3711".to_string()));

    // Kernel: per-branch fixes.
    let k = ids(&db, "linux", "3.18.9");
    assert!(k.contains(&"CVE-2016-5195".to_string()), "{k:?}");
    assert!(!ids(&db, "linux", "3.18.44").contains(&"CVE-2016-5195".to_string()));
    assert!(!ids(&db, "linux", "4.4.26").contains(&"CVE-2016-5195".to_string()));
    assert!(ids(&db, "linux", "4.4.25").contains(&"CVE-2016-5195".to_string()));
    assert!(ids(&db, "linux", "5.10.101").contains(&"CVE-2022-0847".to_string()));
    assert!(
        !ids(&db, "linux", "5.4.200").contains(&"CVE-2022-0847".to_string()),
        "before 5.8"
    );

    // OpenSSH regreSSHion: two ranges.
    assert!(ids(&db, "openssh", "9.7p1").contains(&"CVE-2024-6387".to_string()));
    assert!(!ids(&db, "openssh", "8.4p1").contains(&"CVE-2024-6387".to_string()));
    assert!(ids(&db, "openssh", "4.3p2").contains(&"CVE-2024-6387".to_string()));
}

#[test]
fn end_of_life_by_branch_and_date() {
    let db = Db::builtin();
    let eol = |n: &str, v: &str, d: time::Date| db.lookup_on(n, v, d).unwrap().eol;
    let today = date!(2026 - 11 - 21);
    for (n, v) in [
        ("linux", "2.6.36"),
        ("linux", "3.18.77"),
        ("linux", "5.4.280"),
        ("linux", "4.8.3"),
        ("openssl", "0.9.8zh"),
        ("openssl", "1.0.2n"),
        ("openssl", "1.1.1w"),
        ("openssl", "3.0.13"),
        ("openssl", "0.9.7m"),
        ("uclibc", "0.9.33.2"),
        ("uclibc", "whatever"),
        ("php", "7.4.33"),
        ("python", "2.7.18"),
        ("mosquitto", "1.6.12"),
        ("lighttpd", "1.3.16"),
    ] {
        assert!(eol(n, v, today).is_some(), "{n} {v} should be end of life");
    }
    for (n, v) in [
        ("linux", "6.1.100"),
        ("linux", "6.6.30"),
        ("linux", "6.15.2"),
        ("openssl", "3.5.1"),
        ("openssl", "1.1.10"),
        ("lighttpd", "1.4.76"),
        ("mosquitto", "2.0.18"),
        ("python", "3.12.1"),
        ("dnsmasq", "2.72"),
    ] {
        assert!(
            eol(n, v, today).is_none(),
            "{n} {v} should not be end of life"
        );
    }
    // Dates decide: OpenSSL 3.0 was supported until 2026-09-07.
    assert!(eol("openssl", "3.0.13", date!(2026 - 09 - 07)).is_none());
    assert!(eol("openssl", "3.0.13", date!(2026 - 09 - 08)).is_some());
    let e = eol("openssl", "1.0.2n", today).unwrap();
    assert!(
        e.summary.contains("2019-12-31") && e.branch == "1.0.2",
        "{e:?}"
    );
    let m = db.lookup_on("busybox", "1.22.1", today).unwrap();
    assert!(m.eol.is_none());
    assert_eq!(m.age.as_deref(), Some("BusyBox 1.22 series released 2014"));
    let m = db.lookup_on("dropbear", "2014.65", today).unwrap();
    assert_eq!(m.age.as_deref(), Some("Dropbear SSH release of 2014"));
    let m = db.lookup_on("uclibc", "0.9.33.2", today).unwrap();
    assert_eq!(m.eol.unwrap().successor.as_deref(), Some("uClibc-ng"));
}

#[test]
fn unknown_components_are_not_matched() {
    let db = Db::builtin();
    assert!(db.lookup("luci-base", "git-15.079").is_none());
    let m = db.lookup("openssl", "garbage").unwrap();
    assert!(m.version.is_err() && m.advisories.is_empty() && m.eol.is_none());
}
