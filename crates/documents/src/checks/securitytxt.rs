//! `5.2-1-doc-securitytxt`: a security.txt against RFC 9116.
//!
//! Contact (§2.5.3, required, a URI) and Expires (§2.5.5, required, once, RFC 3339, in the
//! future; recommended less than a year ahead) decide; the other fields are reported. A valid
//! file gives the contact half of 5.2-1 only: the provision also needs published timelines, which
//! `5.2-1-doc-policy` judges, so a good security.txt alone is an Info finding, never a PASS.

use iotassure_core::finding::{Finding, Observations, Outcome, Severity, Source};
use time::format_description::well_known::Rfc3339;

use super::{Check, Ctx};
use crate::classify::{self, Kind};
use crate::doc::{and_list, Doc, LinkState};
use crate::securitytxt::{self, ContactKind};

pub const ID: &str = "5.2-1-doc-securitytxt";
const PROV: &[&str] = &["5.2-1"];

pub const CHECK: Check = Check {
    id: ID,
    provisions: PROV,
    run,
};

fn finding(outcome: Outcome, sev: Severity, title: impl Into<String>) -> Finding {
    Finding::new(ID, PROV, outcome, sev, Source::Documents, title)
}

fn run(ctx: &Ctx<'_>, obs: &mut Observations) {
    let docs = ctx.of(Kind::SecurityTxt);
    // Named like a security.txt but not one: an HTML page or error text served in its place.
    let impostors: Vec<&Doc> = ctx
        .docs
        .iter()
        .filter(|d| classify::named_security_txt(&d.name) && !d.is(Kind::SecurityTxt))
        .collect();
    if docs.is_empty() && impostors.is_empty() {
        obs.skipped(ID, Source::Documents, PROV, ctx.none_among("security.txt"));
        return;
    }
    obs.ran(
        ID,
        Source::Documents,
        PROV,
        (docs.len() + impostors.len()) as u64,
    );
    for d in impostors {
        let served = d
            .content_type
            .as_deref()
            .map(|c| format!(" (served as {c})"))
            .unwrap_or_default();
        obs.findings.push(
            finding(Outcome::Inconclusive, Severity::Low, format!("{} is not a security.txt{served}", d.name))
                .detail("The document at this name has no RFC 9116 Contact or Expires field; a site that answers with an HTML page here publishes no security.txt there.")
                .evidence(d.whole().location, d.whole().excerpt),
        );
    }
    for d in docs {
        judge(ctx, d, obs);
    }
}

fn judge(ctx: &Ctx<'_>, d: &Doc, obs: &mut Observations) {
    let s = &d.sectxt;
    let name = &d.name;
    let mut failed = false;

    // Contact: required, one or more, each a URI.
    let contacts: Vec<_> = s.get("contact").collect();
    if contacts.is_empty() {
        failed = true;
        obs.findings.push(
            finding(Outcome::Fail, Severity::High, format!("security.txt has no Contact field ({name})"))
                .detail("RFC 9116 §2.5.3: the Contact field MUST be present. EN 303 645 5.2-1 requires contact information for reporting issues; this file gives none.")
                .evidence(d.whole().location, d.whole().excerpt),
        );
    }
    for c in &contacts {
        let problem = match securitytxt::contact_kind(&c.value) {
            ContactKind::Mailto | ContactKind::Https | ContactKind::Tel | ContactKind::Other => None,
            ContactKind::Http => Some("is a web URI that is not https:// (RFC 9116 §2.5.3: web URIs MUST begin with https://)"),
            ContactKind::NotUri => Some("is not a URI (RFC 9116 §2.5.3 expects mailto:, https: or tel:); a person can still use it"),
        };
        if let Some(p) = problem {
            let mut f = finding(
                Outcome::Info,
                Severity::Low,
                format!("security.txt Contact {:?} {p}", c.value),
            );
            f = f.evidence(ev(d, c.line), format!("{}: {}", c.name, c.value));
            obs.findings.push(f);
        }
    }

    // Expires: required, exactly once, RFC 3339, not in the past.
    let expires: Vec<_> = s.get("expires").collect();
    let mut valid_until = None;
    match expires.as_slice() {
        [] => {
            failed = true;
            obs.findings.push(
                finding(Outcome::Fail, Severity::Medium, format!("security.txt has no Expires field ({name})"))
                    .detail("RFC 9116 §2.5.5: the Expires field MUST be present, so readers can tell a maintained file from a stale one. Without it the published contact cannot be trusted to be current.")
                    .evidence(d.whole().location, d.whole().excerpt),
            );
        }
        [e] => match securitytxt::parse_expires(&e.value) {
            None => {
                failed = true;
                obs.findings.push(
                    finding(Outcome::Fail, Severity::Medium, format!("security.txt Expires {:?} is not an RFC 3339 date-time", e.value))
                        .detail("RFC 9116 §2.5.5: the value MUST be a date and time in the Internet format of RFC 3339 (e.g. 2027-06-30T23:59:59Z). An unreadable expiry makes the file's currency unknown.")
                        .evidence(ev(d, e.line), format!("{}: {}", e.name, e.value)),
                );
            }
            Some(t) if t <= ctx.now => {
                failed = true;
                obs.findings.push(
                    finding(Outcome::Fail, Severity::Medium, format!("security.txt expired on {}", e.value))
                        .detail(format!(
                            "RFC 9116 §2.5.5: a security.txt past its Expires date is stale and SHOULD NOT be used. Its contact information can no longer be relied on as the published route for reports (5.2-1). Checked at {}.",
                            ctx.now
                                .replace_nanosecond(0)
                                .unwrap_or(ctx.now)
                                .format(&Rfc3339)
                                .unwrap_or_default()
                        ))
                        .evidence(ev(d, e.line), format!("{}: {}", e.name, e.value)),
                );
            }
            Some(t) => {
                valid_until = Some(e.value.clone());
                if t - ctx.now > time::Duration::days(366) {
                    obs.findings.push(
                        finding(Outcome::Info, Severity::Low, format!("security.txt Expires is more than a year ahead ({})", e.value))
                            .detail("RFC 9116 §2.5.5 recommends an Expires value less than a year into the future, so the file is reviewed regularly. Not a failure.")
                            .evidence(ev(d, e.line), format!("{}: {}", e.name, e.value)),
                    );
                }
            }
        },
        many => {
            failed = true;
            let mut f = finding(Outcome::Fail, Severity::Medium, format!("security.txt has {} Expires fields", many.len()))
                .detail("RFC 9116 §2.5.5: Expires MUST NOT appear more than once; with several, the file's validity is undefined.");
            for e in many {
                f = f.evidence(ev(d, e.line), format!("{}: {}", e.name, e.value));
            }
            obs.findings.push(f);
        }
    }

    // Transport and placement (RFC 9116 §3): HTTPS, and Canonical naming where it was read.
    if name.to_ascii_lowercase().starts_with("http://") {
        obs.findings.push(
            finding(Outcome::Info, Severity::Low, format!("security.txt was served over plain HTTP ({name})"))
                .detail("RFC 9116 §3: the file MUST be served over HTTPS for web-based services, so its contact details cannot be altered in transit.")
                .evidence(d.whole().location, d.whole().excerpt),
        );
    }
    if let Some(url) = &d.final_url {
        let canon: Vec<_> = s.get("canonical").collect();
        if !canon.is_empty() && !canon.iter().any(|c| c.value.trim() == url) {
            let mut f = finding(Outcome::Info, Severity::Low, format!("security.txt was read from {url}, which none of its Canonical fields names"))
                .detail("RFC 9116 §2.5.2: if the file was retrieved from a URI not listed in Canonical, its contents should not be trusted without further checks.");
            for c in canon {
                f = f.evidence(ev(d, c.line), format!("{}: {}", c.name, c.value));
            }
            obs.findings.push(f);
        }
    }
    if let Some(ct) = &d.content_type {
        let mime = ct
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if mime != "text/plain" {
            obs.findings.push(
                finding(Outcome::Info, Severity::Low, format!("security.txt served as {ct}, not text/plain"))
                    .detail("RFC 9116 §3: the file MUST have a Content-Type of text/plain with the charset parameter set to utf-8.")
                    .evidence(d.whole().location, d.whole().excerpt),
            );
        }
    }
    if !s.invalid.is_empty() {
        let mut f = finding(
            Outcome::Info,
            Severity::Low,
            format!("security.txt has {} line(s) that are neither fields nor comments", s.invalid.len()),
        )
        .detail("RFC 9116 §2.3/§4 syntax: each line is a field (Name: value), a comment (#) or blank. Readers ignore such lines.");
        for (l, t) in s.invalid.iter().take(5) {
            f = f.evidence(ev(d, *l), t.clone());
        }
        obs.findings.push(f);
    }
    if s.get("preferred-languages").count() > 1 {
        obs.findings.push(finding(
            Outcome::Info,
            Severity::Low,
            "security.txt has more than one Preferred-Languages field (RFC 9116 §2.5.8: at most once)",
        ));
    }

    // Policy links: what became of each.
    for link in &d.links {
        let excerpt = format!("Policy: {}", link.value);
        match &link.state {
            LinkState::Followed(_) | LinkState::AlreadyGiven(_) => {}
            LinkState::NotFollowed(why) => obs.findings.push(
                finding(Outcome::Inconclusive, Severity::Info, format!("security.txt Policy {} was not read", link.value))
                    .detail(format!("{why}. The disclosure policy it names decides whether 5.2-1's timelines are published."))
                    .evidence(ev(d, link.line), excerpt),
            ),
            LinkState::Failed(why, status) => {
                // A link that answers "not found" shows the published policy is missing; anything
                // else (timeouts, TLS, 5xx) may be passing trouble and decides nothing.
                let gone = matches!(status, Some(404) | Some(410));
                obs.findings.push(
                    finding(
                        if gone { Outcome::Fail } else { Outcome::Inconclusive },
                        if gone { Severity::Medium } else { Severity::Info },
                        format!("security.txt Policy {} could not be read: {why}", link.value),
                    )
                    .detail(if gone {
                        "The disclosure policy the security.txt points to is not published at that address (5.2-1 requires the policy to be publicly available)."
                    } else {
                        "The policy could not be read, so its content was not judged."
                    })
                    .evidence(ev(d, link.line), excerpt),
                );
            }
        }
    }

    if !failed {
        let list: Vec<String> = contacts.iter().map(|c| c.value.clone()).collect();
        let mut others: Vec<String> = [
            "policy",
            "encryption",
            "acknowledgments",
            "preferred-languages",
            "canonical",
            "hiring",
            "csaf",
        ]
        .iter()
        .filter_map(|k| s.get(k).next().map(|f| f.name.clone()))
        .collect();
        others.dedup();
        let mut detail = format!(
            "RFC 9116 fields present: Contact ({}), Expires (valid until {}){}.",
            and_list(&list),
            valid_until.unwrap_or_default(),
            if others.is_empty() {
                String::new()
            } else {
                format!(", {}", others.join(", "))
            }
        );
        if s.signed {
            detail.push_str(if s.signature_complete {
                " The file is OpenPGP cleartext-signed; iotassure does not verify the signature."
            } else {
                " The file starts as OpenPGP-signed but its signature block is missing or incomplete."
            });
        }
        detail.push_str(" This is the contact half of 5.2-1: the provision also needs published timelines for acknowledgement and status updates (see 5.2-1-doc-policy).");
        let mut f = finding(
            Outcome::Info,
            Severity::Info,
            format!("security.txt is valid and current ({name})"),
        )
        .detail(detail);
        for c in &contacts {
            f = f.evidence(ev(d, c.line), format!("{}: {}", c.name, c.value));
        }
        for e in &expires {
            f = f.evidence(ev(d, e.line), format!("{}: {}", e.name, e.value));
        }
        obs.findings.push(f);
    }
}

fn ev(d: &Doc, line: u32) -> iotassure_core::finding::Location {
    // Field lines are lines of the text as read; HTML is not a security.txt, so no mapping needed
    // beyond the line map (identity for plain text).
    let src = d
        .text
        .line_map
        .get((line as usize).saturating_sub(1))
        .copied()
        .unwrap_or(line);
    crate::text::at(&d.name, src)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::Origin;
    use time::macros::datetime;

    /// (outcome, severity, title fragment) of every finding for one security.txt.
    fn judge_text(name: &str, text: &str) -> Vec<(Outcome, Severity, String)> {
        let docs = vec![Doc::new(name, text, Some(false), Origin::Given)];
        let ctx = Ctx {
            docs: &docs,
            now: datetime!(2026-06-01 12:00 UTC),
        };
        let mut obs = Observations::default();
        run(&ctx, &mut obs);
        obs.findings
            .into_iter()
            .map(|f| (f.outcome, f.severity, f.title))
            .collect()
    }

    fn has(v: &[(Outcome, Severity, String)], o: Outcome, s: Severity, frag: &str) -> bool {
        v.iter()
            .any(|(a, b, t)| *a == o && *b == s && t.contains(frag))
    }

    #[test]
    fn rfc9116_rules_table() {
        use Outcome::*;
        let ok = "Expires: 2026-12-01T00:00:00Z";
        let cases: &[(&str, Outcome, Severity, &str)] = &[
            (
                &format!("Contact: mailto:a@b.example\n{ok}\n"),
                Info,
                Severity::Info,
                "valid and current",
            ),
            (&format!("{ok}\n"), Fail, Severity::High, "no Contact"),
            (
                "Contact: mailto:a@b.example\n",
                Fail,
                Severity::Medium,
                "no Expires",
            ),
            (
                "Contact: mailto:a@b.example\nExpires: 2026-05-31T23:59:59Z\n",
                Fail,
                Severity::Medium,
                "expired on",
            ),
            (
                "Contact: mailto:a@b.example\nExpires: next year\n",
                Fail,
                Severity::Medium,
                "not an RFC 3339",
            ),
            (
                &format!("Contact: mailto:a@b.example\n{ok}\n{ok}\n"),
                Fail,
                Severity::Medium,
                "2 Expires",
            ),
            (
                "Contact: mailto:a@b.example\nExpires: 2028-01-01T00:00:00Z\n",
                Info,
                Severity::Low,
                "more than a year ahead",
            ),
            (
                &format!("Contact: http://b.example/report\n{ok}\n"),
                Info,
                Severity::Low,
                "not https://",
            ),
            (
                &format!("Contact: a@b.example\n{ok}\n"),
                Info,
                Severity::Low,
                "not a URI",
            ),
            (
                &format!("Contact: mailto:a@b.example\n{ok}\nthis line is junk\n"),
                Info,
                Severity::Low,
                "neither fields nor comments",
            ),
            (
                &format!(
                    "Contact: mailto:a@b.example\n{ok}\nPolicy: https://elsewhere.example/p\n"
                ),
                Info,
                Severity::Info,
                "valid and current",
            ),
        ];
        for (text, o, s, frag) in cases {
            let got = judge_text("security.txt", text);
            assert!(has(&got, *o, *s, frag), "{text}\n{got:#?}");
            let fails = got.iter().any(|g| g.0 == Fail);
            assert_eq!(fails, *o == Fail, "{text}\n{got:#?}");
            assert!(
                got.iter().all(|g| g.0 != Pass),
                "a security.txt alone never passes 5.2-1"
            );
        }
    }

    #[test]
    fn signed_file_is_judged_on_its_content() {
        let t = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nContact: mailto:a@b.example\nExpires: 2026-12-01T00:00:00Z\n-----BEGIN PGP SIGNATURE-----\n\nwsBcBAEBCAAQ\n-----END PGP SIGNATURE-----\n";
        let got = judge_text("security.txt", t);
        assert!(
            has(&got, Outcome::Info, Severity::Info, "valid and current"),
            "{got:#?}"
        );
        assert_eq!(got.len(), 1, "{got:#?}");
    }

    #[test]
    fn an_html_page_in_place_of_security_txt_is_reported() {
        let got = judge_text_html(
            "https://x.example/.well-known/security.txt",
            "<!DOCTYPE html><html><body><h1>Welcome</h1></body></html>",
        );
        assert!(
            has(
                &got,
                Outcome::Inconclusive,
                Severity::Low,
                "is not a security.txt"
            ),
            "{got:#?}"
        );
    }

    fn judge_text_html(name: &str, text: &str) -> Vec<(Outcome, Severity, String)> {
        let docs = vec![Doc::new(name, text, None, Origin::Given)];
        let ctx = Ctx {
            docs: &docs,
            now: datetime!(2026-06-01 12:00 UTC),
        };
        let mut obs = Observations::default();
        run(&ctx, &mut obs);
        obs.findings
            .into_iter()
            .map(|f| (f.outcome, f.severity, f.title))
            .collect()
    }

    #[test]
    fn served_over_http_is_a_low_warning() {
        let got = judge_text(
            "http://192.0.2.1/.well-known/security.txt",
            "Contact: mailto:a@b.example\nExpires: 2026-12-01T00:00:00Z\n",
        );
        assert!(
            has(&got, Outcome::Info, Severity::Low, "plain HTTP"),
            "{got:#?}"
        );
    }
}
