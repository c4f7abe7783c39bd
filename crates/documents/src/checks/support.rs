//! The defined support period.
//!
//! - `5.3-13-doc-support-period` (EN 303 645 5.3-13; UK PSTI Schedule 1 ¶5): PASS when a
//!   support-period statement gives an end date, or a minimum period counted from a stated start
//!   ("5 years from the date of purchase"; PSTI wants an end date, which the detail notes). FAIL
//!   when it speaks of updates or support but defines neither, including "for the lifetime of the
//!   product" left undefined. A period without a start, or a bare year ("until 2028"), is
//!   INCONCLUSIVE. An end date already past is still a published period (PASS) and is reported
//!   as a High Info finding that support has ended.
//! - `5.3-14-doc-not-updateable` (5.3-14): when a document says the device cannot be updated, it
//!   should also give the rationale, hardware replacement support and a defined support period.
//!   The statement also infers the `software_updateable = false` fact.

use iotassure_core::facts::{FactKey, InferredFact};
use iotassure_core::finding::{Evidence, Finding, Observations, Outcome, Severity, Source};
use time::Date;

use super::{Check, Ctx};
use crate::classify::Kind;
use crate::dates::{self, BareYear, Duration, FoundDate, Precision};
use crate::doc::{and_list, with_evidence, Doc};
use crate::patterns::table;

table!(TABLE, "support");

pub const PERIOD_ID: &str = "5.3-13-doc-support-period";
pub const NOT_UPDATEABLE_ID: &str = "5.3-14-doc-not-updateable";

pub const PERIOD: Check = Check {
    id: PERIOD_ID,
    provisions: &["5.3-13"],
    run: run_period,
};
pub const NOT_UPDATEABLE: Check = Check {
    id: NOT_UPDATEABLE_ID,
    provisions: &["5.3-14"],
    run: run_not_updateable,
};

/// What one document says about its support period.
#[derive(Debug, Default)]
pub struct SupportFacts {
    pub end_dates: Vec<(Evidence, FoundDate)>,
    /// (evidence, period, counted from a stated start)
    pub periods: Vec<(Evidence, Duration, bool)>,
    pub bare_years: Vec<(Evidence, BareYear)>,
    pub lifetime: Vec<Evidence>,
    /// Sentences about updates/support (evidence for a FAIL).
    pub mentions: Vec<Evidence>,
}

impl SupportFacts {
    pub fn defined(&self) -> bool {
        !self.end_dates.is_empty() || self.periods.iter().any(|p| p.2)
    }
}

fn cells(s: &str) -> Vec<&str> {
    s.split('|').map(str::trim).collect()
}

/// Is the date at `start` in unit `i` the end of a support period?
fn is_end_date(d: &Doc, i: usize, date: &FoundDate) -> bool {
    let u = &d.units()[i].text;
    let before = &u[..date.start];
    let tail: String = before
        .chars()
        .rev()
        .take(40)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    if TABLE.is_match("start_label", &tail) {
        return false;
    }
    let labelled = |s: &str| TABLE.is_match("context", s) && TABLE.is_match("end_label", s);
    if u.contains(" | ") {
        // A table row: the column header names what the date is.
        let header = d.units()[..i]
            .iter()
            .rev()
            .take(12)
            .find(|h| h.text.contains(" | ") && dates::find_dates(&h.text).is_empty());
        if let Some(h) = header {
            let col = before.matches('|').count();
            return cells(&h.text).get(col).is_some_and(|c| labelled(c));
        }
    }
    let own =
        TABLE.is_match("context", u) || TABLE.is_match("end_label", u) || u.chars().count() < 60;
    own && labelled(&d.window(i as isize - 2, i as isize))
}

pub fn analyze(d: &Doc) -> SupportFacts {
    let mut f = SupportFacts::default();
    for (i, u) in d.units().iter().enumerate() {
        let t = u.text.as_str();
        let context = TABLE.is_match("context", t);
        let found = dates::find_dates(t);
        for date in &found {
            if is_end_date(d, i, date) {
                f.end_dates.push((d.evidence(u), date.clone()));
            }
        }
        if !context {
            continue;
        }
        f.mentions.push(d.evidence(u));
        let lower = t.to_ascii_lowercase();
        let about_updates = !lower.contains("warrant") || lower.contains("update");
        if about_updates {
            let has_start = TABLE.is_match("start", t);
            for p in dates::find_durations(t) {
                if p.unit >= dates::Unit::Month && p.days() >= 180 {
                    f.periods.push((d.evidence(u), p, has_start));
                }
            }
        }
        for y in dates::find_bare_years(t) {
            f.bare_years.push((d.evidence(u), y));
        }
        if TABLE.is_match("lifetime", t) {
            f.lifetime.push(d.evidence(u));
        }
    }
    f
}

fn fmt_date(d: Date) -> String {
    format!("{}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

fn run_period(ctx: &Ctx<'_>, obs: &mut Observations) {
    let prov = &["5.3-13"];
    let docs = ctx.of(Kind::SupportPeriod);
    if docs.is_empty() {
        obs.skipped(
            PERIOD_ID,
            Source::Documents,
            prov,
            ctx.none_among("support-period statement"),
        );
        return;
    }
    obs.ran(PERIOD_ID, Source::Documents, prov, docs.len() as u64);
    let mut all = SupportFacts::default();
    for d in &docs {
        let f = analyze(d);
        all.end_dates.extend(f.end_dates);
        all.periods.extend(f.periods);
        all.bare_years.extend(f.bare_years);
        all.lifetime.extend(f.lifetime);
        all.mentions.extend(f.mentions);
    }
    let names: Vec<String> = docs.iter().map(|d| d.name.clone()).collect();
    let new =
        |o, s, t: String| Finding::new(PERIOD_ID, prov, o, s, Source::Documents, t).heuristic();
    let today = ctx.today();

    if !all.end_dates.is_empty() {
        let list: Vec<String> = all
            .end_dates
            .iter()
            .map(|(_, d)| fmt_date(d.date))
            .collect();
        let coarse = all
            .end_dates
            .iter()
            .any(|(_, d)| d.precision != Precision::Day);
        let mut detail = format!(
            "The defined support period is published with an end date ({}), as EN 303 645 5.3-13 and UK PSTI Schedule 1 ¶5 require.",
            and_list(&list)
        );
        if coarse {
            detail.push_str(" Some dates are given to the month or year only; the last day of that month or year is assumed.");
        }
        let f = new(
            Outcome::Pass,
            Severity::Info,
            format!("Support period published with end date {}", list[0]),
        )
        .detail(detail);
        obs.findings.push(with_evidence(
            f,
            all.end_dates.iter().take(4).map(|(e, _)| e.clone()),
        ));
        let ended: Vec<&(Evidence, FoundDate)> = all
            .end_dates
            .iter()
            .filter(|(_, d)| d.date < today)
            .collect();
        if !ended.is_empty() {
            let when: Vec<String> = ended.iter().map(|(_, d)| fmt_date(d.date)).collect();
            let f = Finding::new(
                PERIOD_ID,
                prov,
                Outcome::Info,
                Severity::High,
                Source::Documents,
                format!("The published support period has ended ({})", and_list(&when)),
            )
            .detail(format!(
                "As of {}, the end date of the published support period is past: the device no longer receives security updates by the maker's own statement. Users should replace it or isolate it.",
                fmt_date(today)
            ))
            .heuristic();
            obs.findings
                .push(with_evidence(f, ended.iter().map(|(e, _)| e.clone())));
        }
        return;
    }
    if let Some((e, p, _)) = all.periods.iter().find(|p| p.2) {
        let f = new(
            Outcome::Pass,
            Severity::Info,
            format!("Support period published as a minimum of {} from a stated start", p.text),
        )
        .detail("EN 303 645 5.3-13 is met by a defined support period. Note: UK PSTI Schedule 1 ¶5 expects the period to be published with an end date; a period counted from purchase or release gives no calendar date, so a PSTI assessor may ask for one.");
        obs.findings.push(with_evidence(f, [e.clone()]));
        return;
    }
    if let Some((e, p, _)) = all.periods.first() {
        let f = new(
            Outcome::Inconclusive,
            Severity::Low,
            format!("Support period stated as {} without saying from when", p.text),
        )
        .detail("A length is given but no start (date of purchase, release, last sale) and no end date, so the end of support cannot be worked out. Clarify with the maker.");
        obs.findings.push(with_evidence(f, [e.clone()]));
        return;
    }
    if let Some((e, y)) = all.bare_years.first() {
        let f = new(
            Outcome::Inconclusive,
            Severity::Low,
            format!("Support period given only as {:?}", y.text),
        )
        .detail(format!(
            "A bare year leaves it unclear whether support ends when {} begins or ends; PSTI expects an end date.",
            y.year
        ));
        obs.findings.push(with_evidence(f, [e.clone()]));
        return;
    }
    if !all.lifetime.is_empty() {
        let f = new(
            Outcome::Fail,
            Severity::High,
            "Support period is \"the lifetime of the product\" without a defined end".into(),
        )
        .detail("EN 303 645 5.3-13 requires the *defined* support period to be published; UK PSTI Schedule 1 ¶5 requires it with an end date. \"Lifetime\" or \"as long as the device is in use\" defines neither a date nor a length.");
        obs.findings
            .push(with_evidence(f, all.lifetime.iter().take(3).cloned()));
        return;
    }
    let f = new(
        Outcome::Fail,
        Severity::High,
        "Support-period statement gives no period or end date".into(),
    )
    .detail(format!(
        "{} speak(s) of updates or support but no sentence gives an end date or a minimum period with a start. EN 303 645 5.3-13 requires the defined support period to be published clearly; UK PSTI Schedule 1 ¶5 requires an end date.",
        and_list(&names)
    ));
    let f = with_evidence(f, docs.iter().map(|d| d.whole()));
    obs.findings
        .push(with_evidence(f, all.mentions.iter().take(3).cloned()));
}

/// A unit that says the device cannot be updated at all (not "will not be updated after …").
pub(crate) fn says_not_updateable(t: &str) -> bool {
    if !TABLE.is_match("not_updateable", t) {
        return false;
    }
    let l = t.to_ascii_lowercase();
    let conditional = [
        "after",
        "beyond",
        "once",
        "no longer",
        "following",
        "older",
        "until",
        "unless",
        "if ",
        "while",
        "during",
        "automatic",
        "manual",
        "without",
    ]
    .iter()
    .any(|w| l.contains(w));
    !conditional && dates::find_dates(t).is_empty()
}

fn run_not_updateable(ctx: &Ctx<'_>, obs: &mut Observations) {
    let prov = &["5.3-14"];
    let docs = ctx.prose();
    if docs.is_empty() {
        obs.skipped(
            NOT_UPDATEABLE_ID,
            Source::Documents,
            prov,
            ctx.none_among("prose document"),
        );
        return;
    }
    obs.ran(
        NOT_UPDATEABLE_ID,
        Source::Documents,
        prov,
        docs.len() as u64,
    );
    for d in docs {
        let Some((i, u)) = d
            .units()
            .iter()
            .enumerate()
            .find(|(_, u)| says_not_updateable(&u.text))
        else {
            continue;
        };
        obs.facts.push(InferredFact {
            key: FactKey::SoftwareUpdateable,
            value: false,
            reason: format!("{} says the device cannot be updated", d.name),
            evidence: vec![d.evidence(u)],
        });
        let mut found = vec![d.evidence(u)];
        let mut missing = Vec::new();
        let window = d.window(i as isize - 1, i as isize + 2);
        if TABLE.is_match("rationale", &window) {
            found.push(d.evidence(u));
        } else {
            missing.push("the rationale for the absence of updates".to_string());
        }
        match d.hits(&TABLE, "replacement").next() {
            Some((_, r, _)) => found.push(d.evidence(r)),
            None => {
                missing.push("the period and method of hardware replacement support".to_string())
            }
        }
        let sf = analyze(d);
        if sf.defined() {
            if let Some((e, _)) = sf.end_dates.first() {
                found.push(e.clone());
            }
        } else {
            missing.push("a defined support period".to_string());
        }
        let new = |o, s, t: String| {
            Finding::new(NOT_UPDATEABLE_ID, prov, o, s, Source::Documents, t).heuristic()
        };
        let f = if missing.is_empty() {
            new(Outcome::Pass, Severity::Info, "Non-updateable device: rationale, hardware replacement and support period published".into())
                .detail("EN 303 645 5.3-14: for a constrained device that cannot be updated, the rationale, the period and method of hardware replacement support, and a defined support period are published.")
        } else {
            new(Outcome::Fail, Severity::Medium, format!("Device stated not updateable, but the documents do not give {}", and_list(&missing)))
                .detail(format!(
                    "EN 303 645 5.3-14: for constrained devices that cannot be updated, the manufacturer should publish the rationale, the period and method of hardware replacement support, and a defined support period. {} says the device cannot be updated but lacks {}.",
                    d.name,
                    and_list(&missing)
                ))
        };
        obs.findings.push(with_evidence(f, found));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::Origin;
    use time::macros::datetime;

    fn run(text: &str) -> Vec<(Outcome, Severity)> {
        let docs = vec![Doc::new("s.html", text, None, Origin::Given)];
        assert!(
            docs[0].is(Kind::SupportPeriod),
            "not classified as support: {text}"
        );
        let ctx = Ctx {
            docs: &docs,
            now: datetime!(2026-06-01 0:00 UTC),
        };
        let mut obs = Observations::default();
        run_period(&ctx, &mut obs);
        obs.findings
            .iter()
            .map(|f| (f.outcome, f.severity))
            .collect()
    }

    #[test]
    fn support_period_table() {
        use Outcome::*;
        let cases: &[(&str, &[(Outcome, Severity)])] = &[
            ("Support period: this camera receives security updates until 31 December 2030.", &[(Pass, Severity::Info)]),
            ("End of support: 2030-12-31", &[(Pass, Severity::Info)]),
            ("<table><tr><th>Model</th><th>Released</th><th>Security updates until</th></tr><tr><td>X1</td><td>2021-03-01</td><td>2031-03-01</td></tr></table>", &[(Pass, Severity::Info)]),
            ("Support period: security updates were provided until 30 June 2024.", &[(Pass, Severity::Info), (Info, Severity::High)]),
            ("We provide security updates for at least 5 years from the date of purchase.", &[(Pass, Severity::Info)]),
            ("We provide security updates for at least 5 years after the product was last placed on the market.", &[(Pass, Severity::Info)]),
            ("Support period: we will provide security updates for at least four years after the device is last available for purchase on our websites.", &[(Pass, Severity::Info)]),
            ("Support period: security updates for at least 5 years from when the device first became available in the UK.", &[(Pass, Severity::Info)]),
            ("Support period: we provide security updates for 5 years.", &[(Inconclusive, Severity::Low)]),
            ("Support period: security updates until 2028.", &[(Inconclusive, Severity::Low)]),
            ("We provide security updates for the lifetime of the product.", &[(Fail, Severity::High)]),
            ("Support period: we regularly release security updates to keep you safe.", &[(Fail, Severity::High)]),
            ("Support period. Last updated: 2019-01-01. We release security updates regularly.", &[(Fail, Severity::High)]),
        ];
        for (text, want) in cases {
            assert_eq!(run(text), *want, "{text}");
        }
    }

    #[test]
    fn not_updateable_table() {
        let run = |t: &str| {
            let docs = vec![Doc::new("g.txt", t, Some(false), Origin::Given)];
            let ctx = Ctx {
                docs: &docs,
                now: datetime!(2026-06-01 0:00 UTC),
            };
            let mut obs = Observations::default();
            run_not_updateable(&ctx, &mut obs);
            (obs.findings.first().map(|f| f.outcome), obs.facts.len())
        };
        assert_eq!(
            run("The sensor's software cannot be updated because it runs from mask ROM. We replace faulty units free of charge for 3 years; send the device back. Support period: until 31 December 2029."),
            (Some(Outcome::Pass), 1)
        );
        assert_eq!(
            run("This device cannot be updated."),
            (Some(Outcome::Fail), 1)
        );
        assert_eq!(
            run("The device will not be updated after 31 December 2029."),
            (None, 0)
        );
        assert_eq!(run("Updates are installed automatically."), (None, 0));
        assert_eq!(
            run("The firmware is not updated automatically; update it in the app."),
            (None, 0)
        );
        assert_eq!(
            run("The camera cannot be updated while it is recording."),
            (None, 0)
        );
    }
}
