//! CVSS base scores from vector strings (OSV gives vectors, not scores), computed by the RustSec
//! `cvss` crate: v3.0 and v3.1 (FIRST specification §7.1, appendix A) and v4.0 (the FIRST
//! MacroVector lookup). A record with both is scored by its v3 vector, which most feeds and the
//! curated table were scored with; a record with only v4 is scored by v4, so a v4 9.3 reads as
//! critical.

use std::str::FromStr;

/// The base score of a complete `CVSS:3.0/…`, `CVSS:3.1/…` or `CVSS:4.0/…` vector; `None` for
/// anything else (v2, partial vectors).
pub fn base_score(vector: &str) -> Option<f32> {
    let v = vector.trim();
    let score = if v.starts_with("CVSS:3.") && has_base(v, &V3_BASE) {
        cvss::v3::Vector::from_str(v).ok()?.score().value()
    } else if v.starts_with("CVSS:4.0/") && has_base(v, &V4_BASE) {
        cvss::v4::Vector::from_str(v).ok()?.score().value()
    } else {
        return None;
    };
    // One decimal, as published; f64 → f32 keeps it exact to that digit.
    Some(((score * 10.0).round() / 10.0) as f32)
}

const V3_BASE: [&str; 8] = ["AV", "AC", "PR", "UI", "S", "C", "I", "A"];
const V4_BASE: [&str; 11] = [
    "AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA",
];

/// The crate scores a vector with base metrics missing (as if they were absent); a partial
/// vector is not a score, so every base metric must be there.
fn has_base(v: &str, base: &[&str]) -> bool {
    let keys: Vec<&str> = v
        .split('/')
        .skip(1)
        .filter_map(|m| m.split_once(':').map(|(k, _)| k))
        .collect();
    base.iter().all(|b| keys.contains(b))
}

/// Scores the vectors of one record: its v3 vector if it has one, else its v4 vector.
pub fn record_score<'a>(vectors: impl IntoIterator<Item = &'a str>) -> Option<f32> {
    let vectors: Vec<&str> = vectors.into_iter().collect();
    vectors
        .iter()
        .filter(|v| v.trim().starts_with("CVSS:3."))
        .find_map(|v| base_score(v))
        .or_else(|| vectors.iter().find_map(|v| base_score(v)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_scores() {
        // (vector, NVD base score)
        let cases = [
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8), // e.g. CVE-2017-14491
            ("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 7.5), // CVE-2014-0160
            ("CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.0), // CVE-2016-5195 (CNA)
            ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8),
            ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H", 8.1), // CVE-2024-6387
            ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 9.9),
            ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:N/I:L/A:N", 4.0),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
            // v4.0, scores from FIRST's calculator.
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                9.3,
            ),
            (
                "CVSS:4.0/AV:L/AC:L/AT:N/PR:L/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                8.5,
            ),
        ];
        for (v, s) in cases {
            assert_eq!(base_score(v), Some(s), "{v}");
        }
        assert_eq!(base_score("CVSS:2.0/AV:N"), None);
        assert_eq!(base_score("CVSS:3.1/AV:N/AC:L"), None);
        assert_eq!(base_score("CVSS:4.0/AV:N"), None);
    }

    #[test]
    fn a_record_prefers_v3_and_falls_back_to_v4() {
        let v3 = "CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:N/I:L/A:N";
        let v4 = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N";
        assert_eq!(record_score([v4, v3]), Some(4.0));
        assert_eq!(record_score([v4]), Some(9.3));
        assert_eq!(record_score(["CVSS:2.0/AV:N"]), None);
    }
}
