//! Version banners printed through a format string. A daemon that prints
//! `pppd %s started by %s, uid %d` keeps its version as a separate string (`2.4.7`), which
//! the compiler places beside the format that uses it. The version is taken only from a
//! neighbour of such a format string and only when it is shaped like a version; a number
//! merely near the program's name (help text) never counts. The table is data: one row per
//! component, with the formats that print its version and the literal banners that carry it.

/// One component's banners.
pub(super) struct FormatBanner {
    /// Canonical component name (the advisories table's, when it knows it).
    pub name: &'static str,
    /// Format strings that print the version (`%s`); the version is a neighbour string.
    pub formats: &'static [&'static str],
    /// Literal banners: the prefix, then the version (`udhcp 0.9.8`).
    pub literal: &'static [&'static str],
    /// A binary that also carries one of these is another component's applet (busybox's
    /// udhcpd reports busybox's own version).
    pub not_with: &'static [&'static str],
}

pub(super) static FORMAT_BANNERS: &[FormatBanner] = &[
    FormatBanner {
        name: "pppd",
        formats: &["pppd %s started by %s, uid %d", "pppd version %s"],
        literal: &["pppd version "],
        not_with: &[],
    },
    FormatBanner {
        name: "udhcpd",
        formats: &["udhcp server (v%s) started", "udhcpcd, version %s"],
        literal: &["udhcp server (v", "udhcp "],
        not_with: &["BusyBox v"],
    },
];

/// Neighbours looked at on each side of a format string.
const NEIGHBOURS: usize = 2;

/// `2.4.7`, `2.4.2b3`, `0.9.9-pre`: a short dotted version with a small major number.
pub(super) fn version_shaped(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    (2..=4).contains(&parts.len())
        && s.len() <= 16
        && parts[0].len() <= 2
        && parts[0].bytes().all(|b| b.is_ascii_digit())
        && parts[1].starts_with(|c: char| c.is_ascii_digit())
        && s.bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase() || b".-".contains(&b))
}

/// The NUL-separated strings of `data` with their offsets (empty ones skipped).
fn strings(data: &[u8]) -> Vec<(usize, &[u8])> {
    let mut out = Vec::new();
    let mut start = 0usize;
    for s in data.split(|b| *b == 0) {
        if !s.is_empty() && s.len() < 256 {
            out.push((start, s));
        }
        start += s.len() + 1;
    }
    out
}

/// Every literal and format of the table, for one pass over a binary that says which rows
/// can match at all.
static ANCHORS: std::sync::LazyLock<(aho_corasick::AhoCorasick, Vec<usize>)> =
    std::sync::LazyLock::new(|| {
        let mut pats = Vec::new();
        let mut rows = Vec::new();
        for (i, row) in FORMAT_BANNERS.iter().enumerate() {
            for p in row.literal.iter().chain(row.formats) {
                pats.push(*p);
                rows.push(i);
            }
        }
        (
            aho_corasick::AhoCorasick::new(pats).expect("banner anchors"),
            rows,
        )
    });

/// (component, version, offset, excerpt) for every banner row the binary matches.
pub(super) fn scan(data: &[u8]) -> Vec<(&'static str, String, usize, String)> {
    let mut out = Vec::new();
    let (ac, rows) = &*ANCHORS;
    let mut candidate = vec![false; FORMAT_BANNERS.len()];
    for m in ac.find_overlapping_iter(data) {
        candidate[rows[m.pattern().as_usize()]] = true;
    }
    let mut all: Option<Vec<(usize, &[u8])>> = None;
    for (row, _) in FORMAT_BANNERS.iter().zip(&candidate).filter(|(_, c)| **c) {
        if row
            .not_with
            .iter()
            .any(|m| memchr::memmem::find(data, m.as_bytes()).is_some())
        {
            continue;
        }
        let mut hit: Option<(String, usize, String)> = None;
        for lit in row.literal {
            let mut at = 0;
            while let Some(p) = memchr::memmem::find(&data[at..], lit.as_bytes()) {
                let start = at + p + lit.len();
                let tail: Vec<u8> = data[start..]
                    .iter()
                    .take(17)
                    .take_while(|b| !b" )\0\n".contains(b))
                    .copied()
                    .collect();
                let v = String::from_utf8_lossy(&tail).into_owned();
                if version_shaped(&v) {
                    hit = Some((v.clone(), at + p, format!("{lit}{v}")));
                    break;
                }
                at = start;
            }
            if hit.is_some() {
                break;
            }
        }
        let has_format = row
            .formats
            .iter()
            .any(|f| memchr::memmem::find(data, f.as_bytes()).is_some());
        if hit.is_none() && has_format {
            let ss = all.get_or_insert_with(|| strings(data));
            'formats: for fmt in row.formats {
                for (i, (_, s)) in ss.iter().enumerate() {
                    if *s != fmt.as_bytes() {
                        continue;
                    }
                    let lo = i.saturating_sub(NEIGHBOURS);
                    let hi = (i + NEIGHBOURS).min(ss.len() - 1);
                    for (off, n) in ss[lo..=hi].iter() {
                        let Ok(v) = std::str::from_utf8(n) else {
                            continue;
                        };
                        if version_shaped(v) {
                            hit = Some((v.to_string(), *off, format!("\"{fmt}\" … \"{v}\"")));
                            break 'formats;
                        }
                    }
                }
            }
        }
        if let Some((v, off, ex)) = hit {
            out.push((row.name, v, off, ex));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        for v in ["2.4.7", "2.4.2b3", "0.9.8", "0.9.9-pre"] {
            assert!(version_shaped(v), "{v}");
        }
        for v in ["2014.65", "v1.0", "1", "%s", "1.2.3.4.5", "2.4.7 (x)"] {
            assert!(!version_shaped(v), "{v}");
        }
    }

    #[test]
    fn neighbour_of_a_format_only() {
        let b = b"\0pppd %s started by %s, uid %d\x002.4.7\0other\0";
        assert_eq!(scan(b)[0].1, "2.4.7");
        // A version far from the format string is not taken.
        let far = b"\0pppd %s started by %s, uid %d\0a\0b\0c\x002.4.7\0";
        assert!(scan(far).is_empty());
        let bb = b"\0BusyBox v1.22.1\0udhcp 1.22.1\0";
        assert!(scan(bb).is_empty(), "busybox's applet");
        assert_eq!(scan(b"\0udhcp 0.9.8\0")[0].1, "0.9.8");
    }
}
