//! The privacy notice.
//!
//! - `6-1-doc-privacy` (EN 303 645 6-1): the notice says which personal data is processed, by
//!   whom (the controller), for what purposes, and which third parties are involved (or that
//!   none are). PASS with all four; FAIL naming what is missing.
//! - `6-3-doc-consent-withdrawal` (6-3): the notice tells consumers they can withdraw consent:
//!   PASS as documented evidence (the capability itself is not exercised).
//! - `6-5-doc-telemetry` (6-5): where the notice says telemetry is collected, it also says what
//!   for and by whom. PASS, or INCONCLUSIVE naming the gap (the purpose may be stated elsewhere).
//!
//! Also infers the Annex B facts `telemetry_collected` (condition 6) and
//! `consent_based_processing` (condition 7) from what the notice says.

use iotassure_core::facts::{FactKey, InferredFact};
use iotassure_core::finding::{Evidence, Finding, Observations, Outcome, Severity, Source};

use super::{Check, Ctx};
use crate::classify::Kind;
use crate::doc::{and_list, with_evidence, Doc};
use crate::patterns::table;
use crate::text::negated;

table!(TABLE, "privacy");

pub const NOTICE_ID: &str = "6-1-doc-privacy";
pub const WITHDRAW_ID: &str = "6-3-doc-consent-withdrawal";
pub const TELEMETRY_ID: &str = "6-5-doc-telemetry";

pub const NOTICE: Check = Check {
    id: NOTICE_ID,
    provisions: &["6-1"],
    run: run_notice,
};
pub const WITHDRAW: Check = Check {
    id: WITHDRAW_ID,
    provisions: &["6-3"],
    run: run_withdraw,
};
pub const TELEMETRY: Check = Check {
    id: TELEMETRY_ID,
    provisions: &["6-5"],
    run: run_telemetry,
};

/// The four things 6-1 asks a notice to say, in the order the report names them.
const ELEMENTS: &[(&str, &str)] = &[
    ("data", "which personal data is processed"),
    ("controller", "by whom (the controller)"),
    ("purposes", "for what purposes"),
    (
        "third_parties",
        "which third parties are involved (or that none are)",
    ),
];

pub fn elements(docs: &[&Doc]) -> Vec<(&'static str, Vec<Evidence>)> {
    ELEMENTS
        .iter()
        .map(|(sec, label)| {
            let ev: Vec<Evidence> = docs
                .iter()
                .flat_map(|d| {
                    d.ranked_hits(&TABLE, sec)
                        .into_iter()
                        .map(move |(_, u)| d.evidence(u))
                })
                .take(2)
                .collect();
            (*label, ev)
        })
        .collect()
}

fn run_notice(ctx: &Ctx<'_>, obs: &mut Observations) {
    let prov = &["6-1"];
    let docs = ctx.of(Kind::PrivacyNotice);
    if docs.is_empty() {
        obs.skipped(
            NOTICE_ID,
            Source::Documents,
            prov,
            ctx.none_among("privacy notice"),
        );
        return;
    }
    obs.ran(NOTICE_ID, Source::Documents, prov, docs.len() as u64);
    let el = elements(&docs);
    let missing: Vec<String> = el
        .iter()
        .filter(|(_, e)| e.is_empty())
        .map(|(l, _)| l.to_string())
        .collect();
    let found = el
        .iter()
        .flat_map(|(_, e)| e.iter().take(1).cloned())
        .collect::<Vec<_>>();
    let names: Vec<String> = docs.iter().map(|d| d.name.clone()).collect();
    let new =
        |o, s, t: String| Finding::new(NOTICE_ID, prov, o, s, Source::Documents, t).heuristic();
    if missing.is_empty() {
        let f = new(Outcome::Pass, Severity::Info, "Privacy notice says what personal data is processed, by whom, why, and with which third parties".into())
            .detail(format!("EN 303 645 6-1: {} gives all four elements; the evidence cites one sentence for each.", and_list(&names)));
        obs.findings.push(with_evidence(f, found));
    } else {
        let f = new(Outcome::Fail, Severity::Medium, format!("Privacy notice does not say {}", and_list(&missing)))
            .detail(format!(
                "EN 303 645 6-1 requires clear and transparent information on what personal data is processed, how it is used, by whom, and for what purposes, third parties included. No sentence in {} was recognised as saying {}.",
                and_list(&names),
                and_list(&missing)
            ));
        let f = with_evidence(f, docs.iter().map(|d| d.whole()));
        obs.findings.push(with_evidence(f, found));
    }
    for d in &docs {
        if let Some((_, u, _)) = d.hits(&TABLE, "consent").next() {
            obs.facts.push(InferredFact {
                key: FactKey::ConsentBasedProcessing,
                value: true,
                reason: format!(
                    "{} says personal data is processed on the basis of consent",
                    d.name
                ),
                evidence: vec![d.evidence(u)],
            });
            break;
        }
    }
}

fn run_withdraw(ctx: &Ctx<'_>, obs: &mut Observations) {
    let prov = &["6-3"];
    let docs = ctx.prose();
    if docs.is_empty() {
        obs.skipped(
            WITHDRAW_ID,
            Source::Documents,
            prov,
            ctx.none_among("prose document"),
        );
        return;
    }
    obs.ran(WITHDRAW_ID, Source::Documents, prov, docs.len() as u64);
    let ev: Vec<Evidence> = docs
        .iter()
        .flat_map(|d| {
            d.hits(&TABLE, "withdraw")
                .filter(|(_, u, span)| !negated(&u.text, *span))
                .map(|(_, u, _)| d.evidence(u))
                .collect::<Vec<_>>()
        })
        .take(2)
        .collect();
    if !ev.is_empty() {
        let f = Finding::new(WITHDRAW_ID, prov, Outcome::Pass, Severity::Info, Source::Documents, "The documents tell consumers how they can withdraw consent")
            .detail("EN 303 645 6-3: consumers who gave consent can withdraw it at any time. This is documented evidence of the capability; it was not exercised.")
            .heuristic();
        obs.findings.push(with_evidence(f, ev));
    }
}

fn run_telemetry(ctx: &Ctx<'_>, obs: &mut Observations) {
    let prov = &["6-5"];
    let docs = ctx.of(Kind::PrivacyNotice);
    if docs.is_empty() {
        obs.skipped(
            TELEMETRY_ID,
            Source::Documents,
            prov,
            ctx.none_among("privacy notice"),
        );
        return;
    }
    obs.ran(TELEMETRY_ID, Source::Documents, prov, docs.len() as u64);
    let mut told = Vec::new();
    let mut gaps: Vec<(Evidence, Vec<&str>)> = Vec::new();
    let mut denied = Vec::new();
    for d in &docs {
        let has_controller = TABLE.is_match("controller", &d.text.plain);
        for (i, u, span) in d.hits(&TABLE, "telemetry") {
            if negated(&u.text, span) {
                denied.push(d.evidence(u));
                continue;
            }
            let window = d.window(i as isize - 1, i as isize + 2);
            let mut missing = Vec::new();
            if !TABLE.is_match("purposes", &window) {
                missing.push("for what purposes");
            }
            if !has_controller && !TABLE.is_match("third_parties", &window) {
                missing.push("by whom");
            }
            if missing.is_empty() {
                told.push(d.evidence(u));
            } else {
                gaps.push((d.evidence(u), missing));
            }
        }
    }
    if let Some(e) = told.first().or(gaps.first().map(|g| &g.0)) {
        obs.facts.push(InferredFact {
            key: FactKey::TelemetryCollected,
            value: true,
            reason: "the privacy notice says telemetry/usage data is collected".into(),
            evidence: vec![e.clone()],
        });
    } else if let Some(e) = denied.first() {
        obs.facts.push(InferredFact {
            key: FactKey::TelemetryCollected,
            value: false,
            reason: "the privacy notice says no telemetry/usage data is collected".into(),
            evidence: vec![e.clone()],
        });
    }
    let new =
        |o, s, t: String| Finding::new(TELEMETRY_ID, prov, o, s, Source::Documents, t).heuristic();
    if !told.is_empty() {
        let f = new(Outcome::Pass, Severity::Info, "The privacy notice says what telemetry is collected, why and by whom".into())
            .detail("EN 303 645 6-5: where telemetry is collected, consumers are told what is collected, how and by whom it is used, and for what purposes.");
        obs.findings
            .push(with_evidence(f, told.into_iter().take(2)));
    } else if let Some((e, missing)) = gaps.first() {
        let m: Vec<String> = missing.iter().map(|s| s.to_string()).collect();
        let f = new(Outcome::Inconclusive, Severity::Low, format!("The privacy notice mentions telemetry but not {}", and_list(&m)))
            .detail("EN 303 645 6-5 asks that consumers be told what telemetry is collected, how and by whom it is used, and for what purposes. Near the telemetry sentence nothing was recognised as saying this; it may be stated elsewhere, so this is left for the assessor.");
        obs.findings.push(with_evidence(f, [e.clone()]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::Origin;

    const GOOD: &str = "Privacy notice. Acme Devices Ltd is the data controller. We collect your name, e-mail address and the video recorded by your camera. We use this data to provide the service and for no other purposes. We share it only with our hosting provider, a processor acting on our instructions; we never sell data to advertisers. We collect telemetry (crash reports and usage statistics) in order to improve reliability. You can withdraw your consent at any time in the app under Settings > Privacy. We process video on the basis of your consent.";

    fn run(text: &str, f: fn(&Ctx<'_>, &mut Observations)) -> Observations {
        let docs = vec![Doc::new("p.txt", text, Some(false), Origin::Given)];
        let ctx = Ctx {
            docs: &docs,
            now: time::OffsetDateTime::now_utc(),
        };
        let mut obs = Observations::default();
        f(&ctx, &mut obs);
        obs
    }

    #[test]
    fn notice_table() {
        let o = run(GOOD, run_notice);
        assert_eq!(o.findings[0].outcome, Outcome::Pass, "{:?}", o.findings[0]);
        assert!(o
            .facts
            .iter()
            .any(|f| f.key == FactKey::ConsentBasedProcessing && f.value));
        let cases = [
            ("Privacy notice. Acme Ltd is the controller. We collect your e-mail address. We share it with our payment processor.", "for what purposes"),
            ("Privacy policy. We collect your e-mail address to send you news. We share it with partners.", "by whom"),
            ("Privacy policy. Acme Ltd is the controller. We use this information to run the service. We never share it with third parties.", "which personal data"),
        ];
        for (t, missing) in cases {
            let o = run(t, run_notice);
            assert_eq!(o.findings[0].outcome, Outcome::Fail, "{t}");
            assert!(
                o.findings[0].title.contains(missing),
                "{t}: {}",
                o.findings[0].title
            );
        }
    }

    #[test]
    fn withdrawal_and_telemetry() {
        assert_eq!(run(GOOD, run_withdraw).findings[0].outcome, Outcome::Pass);
        assert!(
            run("Privacy notice. Consent cannot be withdrawn.", run_withdraw)
                .findings
                .is_empty()
        );
        let o = run(GOOD, run_telemetry);
        assert_eq!(o.findings[0].outcome, Outcome::Pass);
        assert!(o
            .facts
            .iter()
            .any(|f| f.key == FactKey::TelemetryCollected && f.value));
        let o = run("Privacy notice. Foo Ltd is the controller. We process your e-mail.\n\nTelemetry\n\nThe device sends diagnostic data.", run_telemetry);
        assert_eq!(o.findings[0].outcome, Outcome::Inconclusive);
        let o = run(
            "Privacy notice. We do not collect telemetry or usage data.",
            run_telemetry,
        );
        assert!(o.findings.is_empty());
        assert!(o
            .facts
            .iter()
            .any(|f| f.key == FactKey::TelemetryCollected && !f.value));
    }
}
