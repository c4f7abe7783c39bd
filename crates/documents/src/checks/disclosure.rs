//! The vulnerability disclosure policy.
//!
//! - `5.2-1-doc-policy` (EN 303 645 5.2-1; UK PSTI Schedule 1 ¶2): the published policy gives
//!   (a) contact information for reporting, (b) a timeline for initial acknowledgement of
//!   receipt and (c) a timeline for status updates until the issue is resolved. A security.txt
//!   Contact counts for (a). PASS needs all three; a policy that lacks any FAILs naming them.
//! - `TEC-2-doc-bug-bounty` (TEC-2-bug-bounty): a bug bounty described is PASS; one explicitly
//!   ruled out ("we do not run a bug bounty") is FAIL.
//! - `5.2-2-doc-timely-action` (5.2-2): a stated deadline for fixing or disclosing is Info.
//!
//! A timeline is a duration or a regular interval in the same sentence as the commitment
//! ("within 5 business days", "every 14 days"). Judged from language patterns: heuristic.

use iotassure_core::finding::{Evidence, Finding, Observations, Outcome, Severity, Source};

use super::{Check, Ctx};
use crate::classify::Kind;
use crate::dates;
use crate::doc::{and_list, with_evidence, Doc};
use crate::patterns::table;
use crate::securitytxt::{self, ContactKind};
use crate::text::negated;

table!(TABLE, "disclosure");
table!(COMMON, "common");

pub const POLICY_ID: &str = "5.2-1-doc-policy";
pub const BOUNTY_ID: &str = "TEC-2-doc-bug-bounty";
pub const TIMELY_ID: &str = "5.2-2-doc-timely-action";

pub const POLICY: Check = Check {
    id: POLICY_ID,
    provisions: &["5.2-1"],
    run: run_policy,
};
pub const BOUNTY: Check = Check {
    id: BOUNTY_ID,
    provisions: &["TEC-2-bug-bounty"],
    run: run_bounty,
};
pub const TIMELY: Check = Check {
    id: TIMELY_ID,
    provisions: &["5.2-2"],
    run: run_timely,
};

/// What the disclosure material gives, element by element.
#[derive(Debug, Default)]
pub struct PolicyElements {
    pub contact: Vec<Evidence>,
    pub ack: Vec<Evidence>,
    /// Status updates with an interval or deadline.
    pub status: Vec<Evidence>,
    /// Status updates promised "until resolved" but with no interval.
    pub status_vague: Vec<Evidence>,
}

pub fn elements(policies: &[&Doc], sectxts: &[&Doc]) -> PolicyElements {
    let mut el = PolicyElements::default();
    for d in sectxts {
        for c in d.sectxt.get("contact") {
            if securitytxt::contact_kind(&c.value) != ContactKind::NotUri || c.value.contains('@') {
                el.contact
                    .push(d.evidence_line(c.line, &format!("{}: {}", c.name, c.value)));
            }
        }
    }
    // Prose: the policies, and a security.txt's comments (some state the timelines there).
    for d in policies.iter().chain(sectxts) {
        for u in d.units() {
            let t = u.text.as_str();
            let has_address = COMMON.is_match("email", t)
                || COMMON.is_match("url", t)
                || COMMON.is_match("phone", t);
            // A security.txt's contacts are its Contact fields, counted above.
            let field_syntax = d.is(Kind::SecurityTxt);
            if !field_syntax
                && ((has_address && TABLE.is_match("contact", t))
                    || TABLE.is_match("contact_form", t))
            {
                el.contact.push(d.evidence(u));
            }
            // A timeline belongs to the clause of its commitment: in "we send regular updates,
            // and aim to fix within 90 days" the 90 days are the fix's, not the updates'.
            if !TABLE.is_match("ack", t) && !TABLE.is_match("status", t) {
                continue;
            }
            for c in clauses(t) {
                let timed = !dates::find_durations(c).is_empty();
                let interval = timed || dates::find_frequency(c).is_some();
                if TABLE.is_match("ack", c) && timed {
                    el.ack.push(d.evidence(u));
                }
                if TABLE.is_match("status", c) {
                    if interval {
                        el.status.push(d.evidence(u));
                    } else if TABLE.is_match("resolution", c) || TABLE.is_match("vague_interval", c)
                    {
                        el.status_vague.push(d.evidence(u));
                    }
                }
            }
        }
    }
    el
}

/// Splits a sentence at clause joints that start a new commitment ("; ", ", and ", ", but ",
/// " and we "), keeping "Every 30 days, we will …" whole.
fn clauses(t: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = t;
    let lower = t.to_ascii_lowercase();
    let mut base = 0;
    loop {
        let tail = &lower[base..];
        let cut = ["; ", ", and ", ", but ", " and we ", " and will "]
            .iter()
            .filter_map(|j| tail.find(j).map(|p| (p, j.len())))
            .min();
        match cut {
            Some((p, n)) => {
                out.push(&rest[..p]);
                rest = &rest[p + n..];
                base += p + n;
            }
            None => {
                out.push(rest);
                return out;
            }
        }
    }
}

fn run_policy(ctx: &Ctx<'_>, obs: &mut Observations) {
    let policies = ctx.of(Kind::DisclosurePolicy);
    let sectxts = ctx.of(Kind::SecurityTxt);
    if policies.is_empty() && sectxts.is_empty() {
        obs.skipped(
            POLICY_ID,
            Source::Documents,
            &["5.2-1"],
            ctx.none_among("vulnerability disclosure policy or security.txt"),
        );
        return;
    }
    obs.ran(
        POLICY_ID,
        Source::Documents,
        &["5.2-1"],
        (policies.len() + sectxts.len()) as u64,
    );
    let el = elements(&policies, &sectxts);
    let new = |o, s, t: String| {
        Finding::new(POLICY_ID, &["5.2-1"], o, s, Source::Documents, t).heuristic()
    };

    let complete = !el.contact.is_empty() && !el.ack.is_empty() && !el.status.is_empty();
    if policies.is_empty() && !complete {
        let links: Vec<String> = sectxts
            .iter()
            .flat_map(|d| d.links.iter().map(|l| l.value.clone()))
            .collect();
        let why = if links.is_empty() {
            "the security.txt has no Policy field and no policy document was given".to_string()
        } else {
            format!(
                "the Policy link(s) {} were not read as a disclosure policy",
                and_list(&links)
            )
        };
        let f = new(
            Outcome::Inconclusive,
            Severity::Info,
            "security.txt gives a contact, but no disclosure-policy text with timelines was examined".into(),
        )
        .detail(format!(
            "5.2-1 needs the published policy to state timelines for acknowledging receipt and for status updates until resolution; {why}. Give the policy with --doc."
        ));
        obs.findings
            .push(with_evidence(f, el.contact.iter().take(3).cloned()));
        return;
    }

    let mut missing = Vec::new();
    if el.contact.is_empty() {
        missing.push("contact information for reporting issues".to_string());
    }
    if el.ack.is_empty() {
        missing.push("a timeline for initial acknowledgement of receipt".to_string());
    }
    if el.status.is_empty() && el.status_vague.is_empty() {
        missing.push("a timeline for status updates until the issue is resolved".to_string());
    }
    let names: Vec<String> = policies
        .iter()
        .chain(&sectxts)
        .map(|d| d.name.clone())
        .collect();
    let found = || {
        el.contact
            .iter()
            .take(2)
            .chain(el.ack.iter().take(2))
            .chain(el.status.iter().take(2))
            .chain(el.status_vague.iter().take(2))
            .cloned()
            .collect::<Vec<_>>()
    };
    if !missing.is_empty() {
        let sev = if el.contact.is_empty() {
            Severity::High
        } else {
            Severity::Medium
        };
        let f = new(Outcome::Fail, sev, format!("Disclosure policy lacks {}", and_list(&missing)))
            .detail(format!(
                "EN 303 645 5.2-1 (and UK PSTI Schedule 1 ¶2) require the published policy to include contact information for reporting issues and timelines for (1) initial acknowledgement of receipt and (2) status updates until resolution. In {} no sentence was found that gives {}. A timeline is a duration or interval stated with the commitment (e.g. \"within 5 business days\", \"every 30 days\").",
                and_list(&names),
                and_list(&missing)
            ));
        let f = with_evidence(f, policies.iter().map(|d| d.whole()));
        obs.findings.push(with_evidence(f, found()));
        return;
    }
    if el.status.is_empty() {
        let f = new(
            Outcome::Inconclusive,
            Severity::Low,
            "Disclosure policy promises status updates but states no interval".into(),
        )
        .detail("The policy gives a contact and an acknowledgement timeline, and promises status updates (\"until resolved\", \"regular updates\") but not when or how often. 5.2-1 asks for information on timelines for status updates until resolution; whether this wording suffices is a judgement for the assessor.");
        obs.findings.push(with_evidence(f, found()));
        return;
    }
    let f = new(
        Outcome::Pass,
        Severity::Info,
        "Disclosure policy gives a contact and timelines for acknowledgement and status updates".into(),
    )
    .detail(format!(
        "Found in {}: contact information, a timeline for initial acknowledgement, and a timeline for status updates (EN 303 645 5.2-1; UK PSTI Schedule 1 ¶2).",
        and_list(&names)
    ));
    obs.findings.push(with_evidence(f, found()));
}

fn run_bounty(ctx: &Ctx<'_>, obs: &mut Observations) {
    let prov = &["TEC-2-bug-bounty"];
    if ctx.docs.is_empty() {
        obs.skipped(
            BOUNTY_ID,
            Source::Documents,
            prov,
            ctx.none_among("document"),
        );
        return;
    }
    obs.ran(BOUNTY_ID, Source::Documents, prov, ctx.docs.len() as u64);
    let (mut yes, mut no) = (Vec::new(), Vec::new());
    for d in ctx.docs {
        for (_, u, span) in d.hits(&TABLE, "bounty") {
            if negated(&u.text, span) {
                no.push(d.evidence(u));
            } else {
                yes.push(d.evidence(u));
            }
        }
    }
    let new = |o, s, t: &str| Finding::new(BOUNTY_ID, prov, o, s, Source::Documents, t).heuristic();
    if !yes.is_empty() {
        let f = new(Outcome::Pass, Severity::Info, "A bug bounty programme is described")
            .detail("The published documents describe rewards for vulnerability reports (TEC guideline 2: run a bug bounty programme).");
        obs.findings.push(with_evidence(f, yes.into_iter().take(3)));
    } else if !no.is_empty() {
        let f = new(Outcome::Fail, Severity::Low, "The documents state there is no bug bounty")
            .detail("TEC guideline 2 recommends a bug bounty programme that rewards researchers; the published policy says none is offered.");
        obs.findings.push(with_evidence(f, no.into_iter().take(3)));
    }
}

fn run_timely(ctx: &Ctx<'_>, obs: &mut Observations) {
    let prov = &["5.2-2"];
    let policies = ctx.of(Kind::DisclosurePolicy);
    if policies.is_empty() {
        obs.skipped(
            TIMELY_ID,
            Source::Documents,
            prov,
            ctx.none_among("vulnerability disclosure policy"),
        );
        return;
    }
    obs.ran(TIMELY_ID, Source::Documents, prov, policies.len() as u64);
    let mut ev = Vec::new();
    let mut spans = Vec::new();
    for d in &policies {
        for (_, u, _) in d.hits(&TABLE, "remediation") {
            // "updates every 14 days until resolved" is about status updates, not the fix.
            if TABLE.is_match("status", &u.text) || TABLE.is_match("ack", &u.text) {
                continue;
            }
            let durations: Vec<_> = dates::find_durations(&u.text)
                .into_iter()
                .filter(|x| x.unit >= dates::Unit::Day && x.days() >= 7)
                .collect();
            if let Some(x) = durations.first() {
                spans.push(x.text.clone());
                ev.push(d.evidence(u));
            }
        }
    }
    if !ev.is_empty() {
        let f = Finding::new(
            TIMELY_ID,
            prov,
            Outcome::Info,
            Severity::Info,
            Source::Documents,
            format!("Disclosure policy states a deadline for acting on reports ({})", spans[0]),
        )
        .detail("EN 303 645 5.2-2 notes that the vulnerability process is conventionally completed within 90 days for a software fix. A published deadline is a commitment, not evidence that it is met.")
        .heuristic();
        obs.findings.push(with_evidence(f, ev.into_iter().take(3)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::Origin;

    fn doc(name: &str, s: &str) -> Doc {
        Doc::new(name, s, None, Origin::Given)
    }

    #[test]
    fn elements_table() {
        // (policy text, contact, ack, status, vague)
        let cases: &[(&str, bool, bool, bool, bool)] = &[
            ("Vulnerability disclosure policy. Report vulnerabilities to security@x.example. We acknowledge receipt within 5 business days. We send status updates every 30 days until the issue is resolved.", true, true, true, false),
            ("Vulnerability disclosure policy. Email security@x.example. We will respond within 48 hours. You will receive an update at least once a month.", true, true, true, false),
            ("Vulnerability disclosure policy. Use our web form. We acknowledge receipt within three (3) working days. We will keep you informed of our progress until the issue is resolved.", true, true, false, true),
            ("Vulnerability disclosure policy. We take security seriously and welcome reports. We will acknowledge your report promptly.", false, false, false, false),
            ("Vulnerability disclosure policy. Report to security@x.example. We acknowledge reports quickly and keep you updated.", true, false, false, false),
            ("Vulnerability disclosure policy. Contact psirt@x.example. We will acknowledge receipt within 72 hours. We will provide regular updates on our progress, and we aim to resolve critical issues within 90 days.", true, true, false, true),
            ("Vulnerability disclosure policy. Contact psirt@x.example. Every 30 days, we will send you a status update. We will acknowledge your report, and aim to fix it within 90 days.", true, false, true, false),
        ];
        for (text, c, a, s, v) in cases {
            let d = doc("p.txt", text);
            assert!(d.is(Kind::DisclosurePolicy), "{text}");
            let el = elements(&[&d], &[]);
            assert_eq!(
                (
                    !el.contact.is_empty(),
                    !el.ack.is_empty(),
                    !el.status.is_empty(),
                    !el.status_vague.is_empty()
                ),
                (*c, *a, *s, *v),
                "{text}"
            );
        }
    }

    #[test]
    fn security_txt_contact_counts() {
        let s = doc(
            "security.txt",
            "Contact: mailto:s@x.example\nExpires: 2099-01-01T00:00:00Z\n",
        );
        let el = elements(&[], &[&s]);
        assert_eq!(el.contact.len(), 1);
    }

    #[test]
    fn bounty_negation() {
        let run = |t: &str| {
            let docs = vec![doc("p.txt", t)];
            let ctx = Ctx {
                docs: &docs,
                now: time::OffsetDateTime::now_utc(),
            };
            let mut obs = Observations::default();
            run_bounty(&ctx, &mut obs);
            obs.findings.first().map(|f| f.outcome)
        };
        assert_eq!(
            run("We run a bug bounty programme on HackerOne."),
            Some(Outcome::Pass)
        );
        assert_eq!(
            run("We do not currently offer a bug bounty."),
            Some(Outcome::Fail)
        );
        assert_eq!(
            run("There are no monetary rewards for reports."),
            Some(Outcome::Fail)
        );
        assert_eq!(run("Report issues to us."), None);
    }
}
