//! The verdict engine: applicability, evidence over statements, declared vs verified,
//! INCONCLUSIVE when nothing decides, and the profile roll-ups.

use std::collections::BTreeMap;

use iotassure_assess::model::{Basis, Verdict};
use iotassure_assess::rollup::{roll_up, ProfileOutcome};
use iotassure_assess::statement::{template, LoadedStatement, Product};
use iotassure_assess::verdict::{decide, Sources};
use iotassure_core::catalog::catalog;
use iotassure_core::facts::{FactKey, InferredFact};
use iotassure_core::finding::{Finding, Location, Observations, Outcome, Severity, Source};

fn finding(provision: &str, outcome: Outcome) -> Finding {
    Finding::new(
        "t-check",
        &[provision],
        outcome,
        Severity::High,
        Source::Firmware,
        format!("{outcome:?} on {provision}"),
    )
    .evidence(
        Location::File {
            path: "/etc/shadow".into(),
            provenance: "image → /etc/shadow".into(),
            line: Some(1),
            offset: None,
        },
        "root::0:0",
    )
}

const FW: Sources = Sources {
    firmware: true,
    device: false,
    documents: false,
};

#[test]
fn nothing_found_is_inconclusive_never_pass() {
    let mut obs = Observations::default();
    obs.ran("5.4-3-fw-private-keys", Source::Firmware, &["5.4-3"], 500);
    let d = decide(catalog(), &obs, None, FW);
    assert_eq!(d.verdicts.len(), catalog().requirements().len());
    for v in &d.verdicts {
        assert_ne!(v.verdict, Verdict::Pass, "{} passed with no evidence", v.id);
    }
    let v = d.verdicts.iter().find(|v| v.id == "5.4-3").unwrap();
    assert_eq!(v.verdict, Verdict::Inconclusive);
    assert!(
        v.reason.contains("5.4-3-fw-private-keys") && v.reason.contains("not proof"),
        "{}",
        v.reason
    );
    assert_eq!(v.basis, Basis::None);
    let v = d.verdicts.iter().find(|v| v.id == "5.2-1").unwrap();
    assert!(v.reason.contains("published documents"), "{}", v.reason);
}

#[test]
fn fail_and_pass_findings_decide_and_are_verified() {
    let mut obs = Observations::default();
    obs.findings.push(finding("5.1-1", Outcome::Fail));
    obs.findings.push(finding("5.5-1", Outcome::Pass));
    obs.findings.push(finding("5.5-1", Outcome::Info));
    let d = decide(catalog(), &obs, None, FW);
    let get = |id: &str| d.verdicts.iter().find(|v| v.id == id).unwrap();
    assert_eq!(get("5.1-1").verdict, Verdict::Fail);
    assert_eq!(get("5.1-1").basis, Basis::Verified);
    assert_eq!(get("5.1-1").findings, vec![0]);
    assert_eq!(get("5.5-1").verdict, Verdict::Pass);
    // FAIL beats PASS.
    obs.findings.push(finding("5.5-1", Outcome::Fail));
    let d = decide(catalog(), &obs, None, FW);
    assert_eq!(
        d.verdicts.iter().find(|v| v.id == "5.5-1").unwrap().verdict,
        Verdict::Fail
    );
}

fn statement(edit: impl Fn(String) -> String) -> LoadedStatement {
    let t = template(catalog(), &Product::default(), &BTreeMap::new());
    LoadedStatement::parse("ics.yaml", &edit(t)).unwrap()
}

#[test]
fn statement_decides_only_what_evidence_does_not_and_is_marked_declared() {
    let st = statement(|t| {
        t.replace("  \"5.5-8\":\n    support: null\n    detail: \"\"\n", "  \"5.5-8\":\n    support: Y\n    detail: \"HSM-backed key ceremony\"\n")
            .replace("  \"5.1-1\":\n    support: null\n    detail: \"\"\n", "  \"5.1-1\":\n    support: Y\n    detail: \"unique per unit\"\n")
            .replace(
                "  \"5.7-1\":\n    support: null\n    detail: \"\"\n    justification: \"\"\n",
                "  \"5.7-1\":\n    support: N\n    detail: \"no secure boot\"\n    justification: \"ROM cannot verify\"\n",
            )
    });
    let mut obs = Observations::default();
    obs.findings.push(finding("5.1-1", Outcome::Fail));
    let d = decide(catalog(), &obs, Some(&st), FW);
    let get = |id: &str| d.verdicts.iter().find(|v| v.id == id).unwrap();
    assert_eq!(
        (get("5.5-8").verdict, get("5.5-8").basis),
        (Verdict::Pass, Basis::Declared)
    );
    // Evidence contradicts the statement: FAIL, verified, and the reason says so.
    assert_eq!(
        (get("5.1-1").verdict, get("5.1-1").basis),
        (Verdict::Fail, Basis::Verified)
    );
    assert!(get("5.1-1").reason.contains("contradicts"));
    let v = get("5.7-1");
    assert_eq!(
        (v.verdict, v.basis, v.justified),
        (Verdict::Fail, Basis::Declared, true)
    );

    // Roll-ups: the M profile ignores 5.7-1; M+R counts it as justified.
    let mr = roll_up(
        catalog(),
        catalog().profile("en303645-mr").unwrap(),
        &d.verdicts,
    );
    assert_eq!(mr.justified, 1);
    assert_eq!(mr.outcome, ProfileOutcome::Fail, "5.1-1 still fails");
}

#[test]
fn conditions_make_provisions_not_applicable_with_the_reason() {
    let mut obs = Observations::default();
    obs.facts.push(InferredFact {
        key: FactKey::Constrained,
        value: false,
        reason: "runs Linux".into(),
        evidence: vec![],
    });
    let d = decide(catalog(), &obs, None, FW);
    let v = d.verdicts.iter().find(|v| v.id == "5.3-14").unwrap();
    assert_eq!(v.verdict, Verdict::NotApplicable);
    assert!(
        v.reason.contains("Condition 4") && v.reason.contains("runs Linux"),
        "{}",
        v.reason
    );
    // Condition 5 (not constrained) holds for 5.1-5: it applies, nothing decides it.
    let v = d.verdicts.iter().find(|v| v.id == "5.1-5").unwrap();
    assert_eq!(v.verdict, Verdict::Inconclusive);
    assert_eq!(v.conditions[0].holds, Some(true));
}

#[test]
fn a_declared_fact_that_evidence_contradicts_does_not_hide_a_failure() {
    // The maker says no passwords; the image has an empty root password.
    let st = statement(|t| t.replace("  passwords_used: null\n", "  passwords_used: false\n"));
    let mut obs = Observations::default();
    obs.facts.push(InferredFact {
        key: FactKey::PasswordsUsed,
        value: true,
        reason: "etc/shadow has login accounts".into(),
        evidence: vec![],
    });
    obs.findings.push(finding("5.1-1", Outcome::Fail));
    let d = decide(catalog(), &obs, Some(&st), FW);
    let v = d.verdicts.iter().find(|v| v.id == "5.1-1").unwrap();
    assert_eq!(v.verdict, Verdict::Fail);
    assert!(
        v.reason.contains("contradicts the declaration"),
        "{}",
        v.reason
    );
    let fact = d
        .facts
        .iter()
        .find(|f| f.key == FactKey::PasswordsUsed)
        .unwrap();
    assert!(!fact.value && fact.contradiction.is_some());
}

#[test]
fn profiles_pass_only_when_every_applicable_requirement_passes() {
    let psti = catalog().profile("uk-psti").unwrap();
    let mut obs = Observations::default();
    for p in ["5.1-1", "5.2-1", "5.3-13"] {
        obs.findings.push(finding(p, Outcome::Pass));
    }
    // 5.1-2 only applies with pre-installed passwords: declared false, so N/A.
    let st = statement(|t| {
        t.replace(
            "  preinstalled_passwords: null\n",
            "  preinstalled_passwords: false\n",
        )
    });
    let d = decide(catalog(), &obs, Some(&st), FW);
    let r = roll_up(catalog(), psti, &d.verdicts);
    assert_eq!(r.outcome, ProfileOutcome::Pass, "{r:?}");
    assert_eq!((r.counts.pass, r.counts.not_applicable), (3, 1));
    // Without the statement 5.1-2 is undecided: the profile is incomplete, not passed.
    let d = decide(catalog(), &obs, None, FW);
    assert_eq!(
        roll_up(catalog(), psti, &d.verdicts).outcome,
        ProfileOutcome::Incomplete
    );
    // A view profile has one line per item.
    let cop = roll_up(catalog(), catalog().profile("uk-cop").unwrap(), &d.verdicts);
    assert_eq!(cop.lines.len(), 13);
}
