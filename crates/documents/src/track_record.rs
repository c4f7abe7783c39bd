//! A maker's track record at a trust center's disclosure desk (`iotassure tc track-record`, or
//! `GET /api/v1/orgs/{maker}/track-record`) as evidence: the published policy's timelines for
//! 5.2-1, and whether reported vulnerabilities were acted on in time for 5.2-2.
//!
//! The model below is this crate's own reading of the `iotassure-track-record/1` format (only
//! the fields judged), so the documents layer does not depend on the service.

use iotassure_core::finding::{Finding, Location, Observations, Outcome, Severity, Source};
use serde::Deserialize;

pub const SCHEMA: &str = "iotassure-track-record/1";
pub const TIMELY_ID: &str = "5.2-2-desk-record";
pub const POLICY_ID: &str = "5.2-1-desk-policy";

/// At or above this share of deadlines kept (and none overdue now), 5.2-2 passes. EN 303 645
/// gives no figure; this is the line iotassure draws, stated in every finding it decides.
pub const ON_TIME_SHARE: f64 = 0.8;
/// A record this large is not a track record.
const MAX_BYTES: usize = 1 << 20;

#[derive(Debug, Deserialize)]
pub struct TrackRecord {
    pub schema: String,
    pub trust_center: String,
    pub maker: Named,
    pub as_of: String,
    pub policy: PolicyView,
    pub figures: Figures,
}

#[derive(Debug, Deserialize)]
pub struct Named {
    pub name: String,
}

#[derive(Debug, Deserialize)]
pub struct PolicyView {
    pub policy: Policy,
    pub basis: Basis,
}

#[derive(Debug, Deserialize)]
pub struct Policy {
    pub ack_days: i64,
    pub update_days: i64,
    pub fix_days: i64,
    pub disclose_days: i64,
}

#[derive(Debug, Deserialize)]
pub struct Basis {
    pub ack_days: String,
}

#[derive(Debug, Deserialize)]
pub struct Figures {
    pub reports: i64,
    pub open: i64,
    pub fixed: i64,
    pub median_days_to_acknowledge: Option<f64>,
    pub median_days_to_fix: Option<f64>,
    pub deadlines_met: i64,
    pub deadlines_missed: i64,
    pub on_time_share: Option<f64>,
    pub overdue_now: i64,
}

/// Parses a track record; `origin` (the file or URL) names it in errors.
pub fn parse(bytes: &[u8], origin: &str) -> Result<TrackRecord, String> {
    if bytes.len() > MAX_BYTES {
        return Err(format!(
            "{origin}: {} bytes is not a track record (at most {MAX_BYTES})",
            bytes.len()
        ));
    }
    let r: TrackRecord = serde_json::from_slice(bytes).map_err(|e| {
        format!(
            "{origin}: not an iotassure track record (line {}, column {}): {e}",
            e.line(),
            e.column()
        )
    })?;
    if r.schema != SCHEMA {
        return Err(format!(
            "{origin}: schema {:?}, expected {SCHEMA:?}",
            r.schema
        ));
    }
    Ok(r)
}

fn opt_days(x: Option<f64>) -> String {
    x.map(|d| format!("{d} days"))
        .unwrap_or_else(|| "none yet".into())
}

/// Judges the record. `maker` is the manufacturer the statement names; a record about another
/// maker is refused as evidence (INCONCLUSIVE), not silently used.
pub fn judge(r: &TrackRecord, origin: &str, maker: Option<&str>) -> Observations {
    let mut obs = Observations::default();
    let prov_timely = &["5.2-2"];
    let prov_policy = &["5.2-1"];
    obs.ran(TIMELY_ID, Source::Documents, prov_timely, 1);
    obs.ran(POLICY_ID, Source::Documents, prov_policy, 1);
    let loc = Location::Document {
        source: origin.to_string(),
        line: None,
    };
    let f = &r.figures;
    let figures = format!(
        "{} report(s), {} open, {} fixed; median {} to acknowledge, {} to fix; deadlines kept {} of {} come due{}; {} overdue now (trust center {:?}, as of {})",
        f.reports,
        f.open,
        f.fixed,
        opt_days(f.median_days_to_acknowledge),
        opt_days(f.median_days_to_fix),
        f.deadlines_met,
        f.deadlines_met + f.deadlines_missed,
        f.on_time_share
            .map(|s| format!(" ({:.0} %)", s * 100.0))
            .unwrap_or_default(),
        f.overdue_now,
        r.trust_center,
        r.as_of,
    );
    if let Some(m) = maker {
        if !m.eq_ignore_ascii_case(r.maker.name.trim()) {
            obs.findings.push(
                Finding::new(
                    TIMELY_ID,
                    prov_timely,
                    Outcome::Inconclusive,
                    Severity::Info,
                    Source::Documents,
                    format!(
                        "Track record is about {:?}, not the statement's manufacturer {m:?}",
                        r.maker.name
                    ),
                )
                .detail("A track record counts as evidence only for the maker it describes.")
                .evidence(loc, figures),
            );
            return obs;
        }
    }
    let p = &r.policy.policy;
    obs.findings.push(
        Finding::new(
            POLICY_ID,
            prov_policy,
            Outcome::Info,
            Severity::Info,
            Source::Documents,
            format!(
                "The maker's disclosure desk at {} publishes timelines: acknowledge within {} days, status updates every {} days, fix within {} days, disclosure after {} days",
                r.trust_center, p.ack_days, p.update_days, p.fix_days, p.disclose_days
            ),
        )
        .detail(format!(
            "Where the acknowledgement figure comes from: {}. The desk's report form is a public point of contact. 5.2-1 is judged from the published policy itself (--doc); this is supporting evidence.",
            r.policy.basis.ack_days
        ))
        .evidence(loc.clone(), figures.clone()),
    );
    let due = f.deadlines_met + f.deadlines_missed;
    let (outcome, severity, title) = if f.reports == 0 || due == 0 {
        (
            Outcome::Info,
            Severity::Info,
            "No deadline at the disclosure desk has come due yet: nothing to judge timeliness by"
                .to_string(),
        )
    } else if f.overdue_now > 0 || f.on_time_share.unwrap_or(0.0) < ON_TIME_SHARE {
        (
            Outcome::Fail,
            Severity::Medium,
            format!(
                "Reported vulnerabilities are not acted on in time: {} of {} deadlines kept, {} report(s) overdue now",
                f.deadlines_met, due, f.overdue_now
            ),
        )
    } else {
        (
            Outcome::Pass,
            Severity::Info,
            format!(
                "Reported vulnerabilities are acted on in time: {} of {} deadlines kept, none overdue",
                f.deadlines_met, due
            ),
        )
    };
    obs.findings.push(
        Finding::new(TIMELY_ID, prov_timely, outcome, severity, Source::Documents, title)
            .detail(format!(
                "From the trust center's record of the maker's disclosure desk: {figures}. iotassure counts 5.2-2 as met when at least {:.0} % of deadlines that came due were kept and none is overdue now; EN 303 645 gives no figure, so this line is iotassure's.",
                ON_TIME_SHARE * 100.0
            ))
            .evidence(loc, "track record"),
    );
    obs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(met: i64, missed: i64, overdue: i64, maker: &str) -> Vec<u8> {
        let share = if met + missed > 0 {
            serde_json::json!(met as f64 / (met + missed) as f64)
        } else {
            serde_json::Value::Null
        };
        serde_json::to_vec(&serde_json::json!({
            "schema": SCHEMA, "trust_center": "TC", "maker": {"id": "x", "name": maker},
            "as_of": "2026-12-04T00:00:00.000000Z",
            "policy": {"maker": "x", "policy": {"ack_days": 5, "update_days": 14, "fix_days": 90, "disclose_days": 90},
                       "basis": {"ack_days": "set by the maker", "update_days": "", "fix_days": "", "disclose_days": ""}},
            "figures": {"reports": 3, "open": 1, "acknowledged": 3, "fixed": 2, "median_days_to_acknowledge": 1.5,
                        "median_days_to_fix": 30.0, "deadlines_met": met, "deadlines_missed": missed,
                        "on_time_share": share, "overdue_now": overdue},
            "rules": "..."
        }))
        .unwrap()
    }

    fn timely(bytes: &[u8], maker: Option<&str>) -> Finding {
        let r = parse(bytes, "tr.json").unwrap();
        judge(&r, "tr.json", maker)
            .findings
            .into_iter()
            .find(|f| f.check == TIMELY_ID)
            .unwrap()
    }

    #[test]
    fn outcome_follows_the_figures() {
        assert_eq!(
            timely(&record(9, 1, 0, "M"), Some("M")).outcome,
            Outcome::Pass
        );
        assert_eq!(
            timely(&record(7, 3, 0, "M"), Some("M")).outcome,
            Outcome::Fail
        );
        assert_eq!(
            timely(&record(9, 1, 1, "M"), Some("M")).outcome,
            Outcome::Fail
        );
        assert_eq!(
            timely(&record(0, 0, 0, "M"), Some("M")).outcome,
            Outcome::Info
        );
        assert_eq!(
            timely(&record(9, 1, 0, "Other"), Some("M")).outcome,
            Outcome::Inconclusive
        );
        let f = timely(&record(9, 1, 0, "M"), None);
        assert!(f.detail.unwrap().contains("kept 9 of 10 come due (90 %)"));
    }

    #[test]
    fn bad_records_are_named() {
        let e = parse(b"{\"schema\": 1}", "x.json").unwrap_err();
        assert!(
            e.starts_with("x.json: not an iotassure track record"),
            "{e}"
        );
        let e = parse(&vec![b' '; (1 << 20) + 1], "big.json").unwrap_err();
        assert!(e.contains("is not a track record"), "{e}");
    }
}
