//! End-of-life and age facts for common firmware components: a small compiled-in table.
//!
//! Sources (as published by each project):
//! - Linux: kernel.org "Releases" (longterm branches and their projected EOL) and the last
//!   stable release of each retired branch in the kernel.org archive.
//! - OpenSSL: openssl.org/policies/releasestrat.html and the "Release and Support" notes
//!   (0.9.8 and 1.0.0 ended 2015-12-31, 1.0.1 2016-12-31, 1.0.2 2019-12-31, 1.1.0
//!   2019-09-11, 1.1.1 2023-09-11, 3.0 LTS 2026-09-07).
//! - Dropbear versions are their release year (`2014.65`); BusyBox and dnsmasq release dates
//!   from their project news pages (busybox.net/news.html, thekelleys.org.uk/dnsmasq).
//! - Fixed-in versions: dropbear 2016.74 (CVE-2016-7406..7409), dropbear 2018.76
//!   (CVE-2018-15599), dnsmasq 2.78 (CVE-2017-14491..14496), dnsmasq 2.83 (DNSpooq,
//!   CVE-2020-25681..25687), BusyBox 1.34.0 (CVE-2021-42373..42386).

/// What is known about one component version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// No security fixes are published for it any more.
    pub end_of_life: bool,
    /// One line: "Linux 2.6.36 branch: end of life since 2011-02 (last 2.6.36.4)".
    pub summary: String,
}

/// Compares dotted versions numerically, with trailing letters (`1.0.2n`) after the number.
pub fn cmp_version(a: &str, b: &str) -> std::cmp::Ordering {
    let parts = |s: &str| -> Vec<(u64, String)> {
        s.split(['.', '-', '_'])
            .map(|p| {
                let digits: String = p.chars().take_while(|c| c.is_ascii_digit()).collect();
                let rest: String = p.chars().skip(digits.len()).collect();
                (digits.parse().unwrap_or(0), rest)
            })
            .collect()
    };
    parts(a).cmp(&parts(b))
}

fn major_minor(v: &str) -> Option<(u32, u32)> {
    let mut it = v.split(['.', '-']);
    let a = it.next()?.parse().ok()?;
    let b = it
        .next()?
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect::<String>()
        .parse()
        .ok()?;
    Some((a, b))
}

/// Linux branches: (major, minor, end of life, note). Branches not listed and older than the
/// oldest maintained longterm (5.4) are end of life too.
const LINUX: &[(u32, u32, &str)] = &[
    (2, 4, "2011-12 (last 2.4.37.11)"),
    (
        2,
        6,
        "2016-02 (2.6.32 was the last 2.6 longterm; other 2.6 branches ended earlier)",
    ),
    (3, 2, "2018-05"),
    (3, 4, "2016-10"),
    (3, 10, "2017-11"),
    (3, 14, "2016-09"),
    (3, 16, "2020-06"),
    (3, 18, "2017-01 (extended to 2019-05, last 3.18.140)"),
    (4, 1, "2018-05"),
    (4, 4, "2022-02"),
    (4, 9, "2023-01"),
    (4, 14, "2024-01"),
    (4, 19, "2024-12"),
    (5, 4, "2025-12"),
];

const OPENSSL: &[(&str, &str)] = &[
    ("0.9.8", "2015-12-31"),
    ("1.0.0", "2015-12-31"),
    ("1.0.1", "2016-12-31"),
    ("1.0.2", "2019-12-31"),
    ("1.1.0", "2019-09-11"),
    ("1.1.1", "2023-09-11"),
    ("3.1", "2025-03-14"),
];

/// (component, fixed in, what) — versions below `fixed in` carry these known vulnerabilities.
const FIXED_IN: &[(&str, &str, &str)] = &[
    (
        "dropbear",
        "2016.74",
        "CVE-2016-7406..7409 (format string, memory corruption)",
    ),
    ("dropbear", "2018.76", "CVE-2018-15599 (user enumeration)"),
    (
        "dnsmasq",
        "2.78",
        "CVE-2017-14491..14496 (remote code execution in DNS/DHCP)",
    ),
    (
        "dnsmasq",
        "2.83",
        "DNSpooq CVE-2020-25681..25687 (cache poisoning, overflows)",
    ),
    (
        "busybox",
        "1.34.0",
        "CVE-2021-42373..42386 (awk, hush, ash and others)",
    ),
];

/// BusyBox release years by minor version (busybox.net news).
const BUSYBOX_YEAR: &[(u32, u32)] = &[
    (0, 2004),
    (1, 2006),
    (2, 2006),
    (3, 2006),
    (4, 2007),
    (5, 2007),
    (6, 2007),
    (7, 2007),
    (8, 2007),
    (9, 2007),
    (10, 2008),
    (11, 2008),
    (12, 2008),
    (13, 2009),
    (14, 2009),
    (15, 2009),
    (16, 2010),
    (17, 2010),
    (18, 2010),
    (19, 2011),
    (20, 2012),
    (21, 2013),
    (22, 2014),
    (23, 2014),
    (24, 2015),
    (25, 2016),
    (26, 2016),
    (27, 2017),
    (28, 2017),
    (29, 2018),
    (30, 2018),
    (31, 2019),
    (32, 2020),
    (33, 2021),
    (34, 2021),
    (35, 2021),
    (36, 2023),
    (37, 2024),
];

/// What the table knows about `name` at `version` (`name` as in the classifier table).
pub fn note(name: &str, version: &str) -> Option<Note> {
    let mut parts: Vec<String> = Vec::new();
    let mut eol = false;
    match name {
        "linux" => {
            let (a, b) = major_minor(version)?;
            if let Some((_, _, when)) = LINUX.iter().find(|(x, y, _)| (*x, *y) == (a, b)) {
                eol = true;
                parts.push(format!("Linux {a}.{b} branch: end of life since {when}"));
            } else if (a, b) < (5, 4) {
                eol = true;
                parts.push(format!(
                    "Linux {a}.{b}: not a maintained branch (older than the oldest longterm, 5.4)"
                ));
            }
        }
        "openssl" => {
            if let Some((series, when)) = OPENSSL.iter().find(|(s, _)| {
                version.starts_with(s)
                    && version[s.len()..]
                        .chars()
                        .next()
                        .is_none_or(|c| !c.is_ascii_digit())
            }) {
                eol = true;
                parts.push(format!("OpenSSL {series}: end of life since {when}"));
            }
        }
        "busybox" => {
            let (a, b) = major_minor(version)?;
            if a == 1 {
                if let Some((_, y)) = BUSYBOX_YEAR.iter().find(|(m, _)| *m == b) {
                    parts.push(format!("BusyBox 1.{b} series released {y}"));
                }
            }
        }
        "dropbear" => {
            if let Some(y) = version.get(..4).and_then(|y| y.parse::<u32>().ok()) {
                parts.push(format!("dropbear release of {y}"));
            }
        }
        _ => {}
    }
    for (n, fixed, what) in FIXED_IN {
        if *n == name && cmp_version(version, fixed).is_lt() {
            parts.push(format!("older than {fixed}, which fixed {what}"));
        }
    }
    if parts.is_empty() {
        return None;
    }
    Some(Note {
        end_of_life: eol,
        summary: parts.join("; "),
    })
}

/// Whether the note names known vulnerabilities (a fixed-in entry applied).
pub fn has_known_vulns(n: &Note) -> bool {
    n.summary.contains("which fixed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_numerically() {
        assert!(cmp_version("2014.65", "2016.74").is_lt());
        assert!(cmp_version("2.72", "2.8").is_gt());
        assert!(cmp_version("1.0.2n", "1.0.2").is_gt());
        assert!(cmp_version("1.27.2", "1.34.0").is_lt());
    }

    #[test]
    fn table() {
        let cases = [
            ("linux", "2.6.36", true),
            ("linux", "3.18.77", true),
            ("linux", "6.6.30", false),
            ("openssl", "0.9.8zh", true),
            ("openssl", "1.0.2n", true),
            ("openssl", "3.0.13", false),
            ("openssl", "1.1.10", false),
        ];
        for (n, v, eol) in cases {
            assert_eq!(note(n, v).is_some_and(|x| x.end_of_life), eol, "{n} {v}");
        }
        let d = note("dropbear", "2014.65").unwrap();
        assert!(has_known_vulns(&d) && d.summary.contains("CVE-2016-7406"));
        assert!(note("dropbear", "2022.83").is_some_and(|n| !has_known_vulns(&n)));
        assert!(note("dnsmasq", "2.90").is_none());
    }
}
