//! Feed hits into the database the advisory pass reads: each hit becomes an advisory for its
//! component (its range narrowed to what the matcher proved), so the pass judges curated and
//! feed knowledge the same way; what the matcher set aside, the database snapshot and its age
//! become lines of the pass's summary, so they stay visible in the report.

use crate::matching::{FeedHit, MatchResult, Via};
use crate::model::{Advisory, Origin, Range};
use crate::store::Snapshot;
use crate::Db;

impl Db {
    /// Adds every hit as an advisory (a hit for a component the table does not know adds the
    /// component under its reported name). Returns how many were added.
    pub fn add_feed_hits(&mut self, r: &MatchResult) -> usize {
        let mut n = 0;
        for h in &r.hits {
            let component = match self.component(&h.component) {
                Some(c) => c.name.clone(),
                None => match self.feed_component(&h.component, None) {
                    Ok(c) => c,
                    Err(_) => continue,
                },
            };
            let adv = advisory(h, component);
            if let Ok(false) = self.add_advisory(adv) {
                n += 1;
            }
        }
        n
    }
}

fn advisory(h: &FeedHit, component: String) -> Advisory {
    // The matcher compared the version with the record's own bounds (and, for a distribution
    // package, its revision); the range written here contains that version and keeps the fixed
    // release for the report, which is all the pass needs.
    let end_excl = h.bounds.exact.is_none() && !h.bounds.end_incl && h.via != Via::Purl;
    let range = match &h.bounds.end {
        Some(e) if end_excl => Range {
            introduced: Some(h.version.clone()),
            fixed: Some(e.clone()),
            last_affected: None,
        },
        _ => Range {
            introduced: Some(h.version.clone()),
            fixed: None,
            last_affected: Some(h.version.clone()),
        },
    };
    let mut summary = if h.summary.is_empty() {
        format!("{} (no description in the feed)", h.id)
    } else {
        h.summary.clone()
    };
    summary.push_str(&format!(" [match: {}", h.why));
    if !h.also.is_empty() {
        let also: Vec<&str> = h.also.iter().map(|s| s.as_str()).collect();
        summary.push_str(&format!("; also in {}", also.join(", ")));
    }
    if h.low_confidence {
        summary.push_str(
            "; lower confidence: a CPE match for a component identified only from a binary",
        );
    }
    summary.push(']');
    Advisory {
        id: h.id.clone(),
        name: None,
        aliases: h.aliases.clone(),
        component,
        affected: vec![range],
        cvss: h.cvss,
        severity: h
            .severity
            .as_deref()
            .and_then(crate::feeds::severity_of_word),
        summary: summary.replace(['\n', '\r'], " "),
        source: h.url.clone(),
        roles: None,
        note: None,
        origin: Origin::Feed {
            source: h.source.as_str().to_string(),
            via: format!("{:?}", h.via).to_ascii_lowercase(),
        },
        condition: h.condition.clone(),
        low_confidence: h.low_confidence,
    }
}

/// [`summary_notes`] as of now.
pub fn summary_notes_now(snap: &Snapshot, r: &MatchResult, max_age_days: i64) -> Vec<String> {
    summary_notes(snap, r, max_age_days, time::OffsetDateTime::now_utc())
}

/// Summary lines for the report: the snapshot, a staleness warning, and each set-aside record.
pub fn summary_notes(
    snap: &Snapshot,
    r: &MatchResult,
    max_age_days: i64,
    now: time::OffsetDateTime,
) -> Vec<String> {
    let mut v = vec![format!("Feed matching used the {}.", snap.describe())];
    match snap.age_days(now) {
        Some(d) if d > max_age_days => v.push(format!(
            "WARNING: the advisory database was last updated {d} days ago (more than {max_age_days}); vulnerabilities published since are not known to this assessment. Run `iotassure advisories update`."
        )),
        None => v.push("WARNING: the advisory database has never been updated; it holds no records.".into()),
        _ => {}
    }
    for s in &r.set_aside {
        v.push(format!(
            "Set aside: {} for {} {}: {}.",
            s.id, s.component, s.version, s.reason
        ));
    }
    v
}
