//! Documents read from files (the sample documents in examples/documents), judged through the
//! real verdict engine.

mod common;

use common::*;
use iotassure_assess::Verdict;
use iotassure_core::finding::{Outcome, RunStatus};
use iotassure_core::NoProgress;
use iotassure_documents::{assess, assess_texts, DocOptions, DocSource};

fn files(dir: &std::path::Path, names: &[&str]) -> Vec<DocSource> {
    names.iter().map(|n| DocSource::File(dir.join(n))).collect()
}

/// The good set with a current Expires (the sample's fixed date would eventually expire).
fn good_dir() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    let ex = examples().join("good");
    for e in std::fs::read_dir(&ex).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap();
        copy_with(
            &p,
            &t.path().join(name),
            &[("2027-06-30T23:59:59Z", &rfc3339_in(180))],
        );
    }
    t
}

const ALL: &[&str] = &[
    "security.txt",
    "disclosure-policy.html",
    "support-period.html",
    "privacy-notice.html",
    "quick-start-guide.txt",
];

#[test]
fn good_documents_pass_their_provisions() {
    let dir = good_dir();
    let obs = assess(&files(dir.path(), ALL), &DocOptions::default(), &NoProgress).unwrap();
    for id in [
        "5.2-1",
        "5.3-13",
        "6-1",
        "6-3",
        "6-5",
        "5.8-3",
        "5.11-3",
        "5.12-2",
        "5.12-3",
        "TEC-2-bug-bounty",
    ] {
        assert_verdict(&obs, id, Verdict::Pass);
    }
    // The security.txt alone is a contact, not a policy: Info, never the PASS.
    let sec = with(&obs, "5.2-1-doc-securitytxt", Outcome::Info);
    assert!(
        sec.iter().any(|f| f.title.contains("valid and current")),
        "{}",
        dump(&obs)
    );
    assert!(with(&obs, "5.2-1-doc-securitytxt", Outcome::Pass).is_empty());
    // Its https Policy URL was not fetched (the user named no URL), and the policy file was given.
    assert!(obs.findings.iter().all(|f| !f.title.starts_with("Fetched")));
    // Facts the privacy notice implies.
    assert!(obs
        .facts
        .iter()
        .any(|f| f.key == iotassure_core::FactKey::TelemetryCollected && f.value));
    // Every document check recorded that it ran.
    for c in iotassure_documents::checks::CHECKS {
        assert!(
            obs.checks
                .iter()
                .any(|r| r.check == c.id && matches!(r.status, RunStatus::Ran { .. })),
            "{} did not run",
            c.id
        );
    }
}

#[test]
fn bad_documents_fail_their_provisions() {
    let bad = examples().join("bad");
    let obs = assess(
        &files(
            &bad,
            &[
                "security.txt",
                "disclosure-policy.html",
                "support-period.html",
                "privacy-notice.html",
                "quick-start-guide.txt",
            ],
        ),
        &DocOptions::default(),
        &NoProgress,
    )
    .unwrap();
    for id in ["5.2-1", "5.3-13", "6-1", "TEC-2-bug-bounty"] {
        assert_verdict(&obs, id, Verdict::Fail);
    }
    // Guidance that is simply absent is not a failure.
    for id in ["5.12-2", "5.12-3", "5.11-3", "5.8-3"] {
        assert_verdict(&obs, id, Verdict::Inconclusive);
    }
    let fails = with(&obs, "5.2-1-doc-securitytxt", Outcome::Fail);
    assert!(
        fails
            .iter()
            .any(|f| f.title.contains("expired on 2023-01-01")),
        "{}",
        dump(&obs)
    );
    let policy = with(&obs, "5.2-1-doc-policy", Outcome::Fail);
    assert_eq!(policy.len(), 1, "{}", dump(&obs));
    assert!(
        policy[0].title.contains("acknowledgement") && policy[0].title.contains("status updates")
    );
    assert!(
        !policy[0].title.contains("contact"),
        "the policy does give a contact: {}",
        policy[0].title
    );
    let privacy = with(&obs, "6-1-doc-privacy", Outcome::Fail);
    assert!(
        privacy[0].title.contains("purposes"),
        "{}",
        privacy[0].title
    );
    let support = with(&obs, "5.3-13-doc-support-period", Outcome::Fail);
    assert!(
        support[0].title.contains("lifetime"),
        "{}",
        support[0].title
    );
}

#[test]
fn security_txt_without_expires_fails() {
    let bad = examples().join("bad");
    let obs = assess(
        &files(&bad, &["security-no-expires.txt"]),
        &DocOptions::default(),
        &NoProgress,
    )
    .unwrap();
    assert_verdict(&obs, "5.2-1", Verdict::Fail);
    assert!(with(&obs, "5.2-1-doc-securitytxt", Outcome::Fail)
        .iter()
        .any(|f| f.title.contains("no Expires")));
}

#[test]
fn a_valid_security_txt_alone_is_not_a_pass() {
    let dir = good_dir();
    let obs = assess(
        &files(dir.path(), &["security.txt"]),
        &DocOptions::default(),
        &NoProgress,
    )
    .unwrap();
    assert_verdict(&obs, "5.2-1", Verdict::Inconclusive);
    // The Policy link names a host the user did not give: reported, not fetched.
    let inc = with(&obs, "5.2-1-doc-securitytxt", Outcome::Inconclusive);
    assert!(
        inc.iter().any(|f| f.title.contains("was not read")),
        "{}",
        dump(&obs)
    );
}

#[test]
fn policy_next_to_a_security_txt_file_is_followed_and_nothing_else() {
    let t = tempfile::tempdir().unwrap();
    let exp = rfc3339_in(90);
    std::fs::write(
        t.path().join("security.txt"),
        format!("Contact: mailto:s@x.example\nExpires: {exp}\nPolicy: policy.html\nPolicy: ../outside.html\nPolicy: /etc/hostname\n"),
    )
    .unwrap();
    copy_with(
        &examples().join("good/disclosure-policy.html"),
        &t.path().join("policy.html"),
        &[],
    );
    let obs = assess(
        &files(t.path(), &["security.txt"]),
        &DocOptions::default(),
        &NoProgress,
    )
    .unwrap();
    assert_verdict(&obs, "5.2-1", Verdict::Pass);
    let followed: Vec<_> = obs
        .findings
        .iter()
        .filter(|f| {
            f.check == "docs-source"
                && f.detail
                    .as_deref()
                    .is_some_and(|d| d.contains("Followed from the Policy field"))
        })
        .collect();
    assert_eq!(followed.len(), 1, "{}", dump(&obs));
    let refused = with(&obs, "5.2-1-doc-securitytxt", Outcome::Inconclusive);
    assert_eq!(refused.len(), 2, "{}", dump(&obs));
    assert!(refused
        .iter()
        .any(|f| f.detail.as_deref().unwrap_or("").contains("climbs out")));
    assert!(refused
        .iter()
        .any(|f| f.detail.as_deref().unwrap_or("").contains("not next to")));
}

#[test]
fn oversized_file_is_capped_with_a_clear_message() {
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("privacy.txt");
    let mut s = String::from("Privacy notice\n\nAcme Ltd is the data controller.\n");
    while s.len() < 300_000 {
        s.push_str("Filler text about nothing in particular.\n");
    }
    s.push_str("We collect your e-mail address for billing purposes and never share it with third parties.\n");
    std::fs::write(&p, &s).unwrap();
    let opts = DocOptions {
        max_bytes: 64 * 1024,
        ..DocOptions::default()
    };
    let obs = assess(&[DocSource::File(p)], &opts, &NoProgress).unwrap();
    let src = obs
        .findings
        .iter()
        .find(|f| f.check == "docs-source")
        .unwrap();
    assert!(
        src.title.contains("truncated at 65536 bytes"),
        "{}",
        src.title
    );
    assert!(src.detail.as_deref().unwrap().contains("not examined"));
    // What was past the cap was not judged: the data sentence is missing.
    assert_verdict(&obs, "6-1", Verdict::Fail);
}

#[test]
fn unreadable_and_binary_files_are_clear_errors() {
    let e = assess(
        &[DocSource::parse("/nonexistent/policy.txt")],
        &DocOptions::default(),
        &NoProgress,
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("/nonexistent/policy.txt: cannot read"),
        "{e}"
    );
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("policy.pdf");
    std::fs::write(&p, b"%PDF-1.7\n...").unwrap();
    let e = assess(&[DocSource::File(p)], &DocOptions::default(), &NoProgress).unwrap_err();
    assert!(e.to_string().contains("PDF"), "{e}");
}

#[test]
fn device_security_txt_as_text() {
    let good = format!(
        "Contact: mailto:s@x.example\nExpires: {}\nPolicy: https://x.example/policy\n",
        rfc3339_in(30)
    );
    let obs = assess_texts(&[("http://192.0.2.1/.well-known/security.txt".into(), good)]);
    assert_verdict(&obs, "5.2-1", Verdict::Inconclusive);
    assert!(with(&obs, "5.2-1-doc-securitytxt", Outcome::Info)
        .iter()
        .any(|f| f.title.contains("plain HTTP")));
    let expired = "Contact: mailto:s@x.example\nExpires: 2020-01-01T00:00:00Z\n".to_string();
    let obs = assess_texts(&[("http://192.0.2.1/.well-known/security.txt".into(), expired)]);
    assert_verdict(&obs, "5.2-1", Verdict::Fail);
    // Nothing to judge: every check says why it did not run.
    let obs = assess_texts(&[]);
    assert!(obs.findings.iter().all(|f| f.check == "docs-source"));
    assert!(obs.checks.iter().filter(|c| c.check != "docs-source").all(
        |c| matches!(&c.status, RunStatus::Skipped { reason } if reason.contains("0 documents"))
    ));
}
