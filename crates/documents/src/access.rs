//! Public access (TS 103 701 5.3-13-2b, 5.3-14-2b: the information is accessible without
//! restrictions such as a registration). A document behind a login or registration wall is
//! not publicly accessible: the server refused it anonymously (HTTP 401/403/407), redirected to
//! a login page, or served a page that asks for a password or an account. A local file proves
//! nothing about public access either way.
//!
//! `5.3-13-doc-public-access`: FAIL per walled document; INCONCLUSIVE when the support-period
//! statement was read only from local files; PASS when it was fetched anonymously with no wall.

use iotassure_core::finding::{Finding, Location, Observations, Outcome, Severity, Source};

use crate::classify::Kind;
use crate::doc::{Doc, Origin};

pub const CHECK: &str = "5.3-13-doc-public-access";

fn not_updateable(d: &Doc) -> bool {
    d.units()
        .iter()
        .any(|u| crate::checks::support::says_not_updateable(&u.text))
}

/// Path words of login and registration pages.
const LOGIN_PATHS: &[&str] = &[
    "login", "log-in", "signin", "sign-in", "sign_in", "logon", "register", "signup", "sign-up",
    "/sso", "/auth", "/account",
];

/// Phrases of a page that asks the reader to log in or register first.
const LOGIN_PHRASES: &[&str] = &[
    "log in to view",
    "login to view",
    "sign in to view",
    "log in to continue",
    "sign in to continue",
    "please log in",
    "please sign in",
    "login required",
    "you must be logged in",
    "register to view",
    "register to download",
    "create an account to",
];

/// Why a fetched page is a login wall, if it is one. `raw` is the body as served.
pub fn login_signs(raw: &str, requested: &str, final_url: &str) -> Option<String> {
    let path_of = |u: &str| {
        u.split_once("://")
            .map(|(_, r)| r.find('/').map(|i| r[i..].to_ascii_lowercase()))
            .unwrap_or_default()
            .unwrap_or_default()
    };
    let fin = path_of(final_url);
    if final_url != requested && LOGIN_PATHS.iter().any(|w| fin.contains(w)) {
        return Some(format!(
            "the request was redirected to a login page ({final_url})"
        ));
    }
    // Bounded: the body is already capped by the fetcher; only its start decides.
    let head: String = raw
        .chars()
        .take(200_000)
        .collect::<String>()
        .to_ascii_lowercase();
    let squeezed: String = head.chars().filter(|c| !c.is_whitespace()).collect();
    if ["type=\"password\"", "type='password'", "type=password"]
        .iter()
        .any(|p| squeezed.contains(p))
    {
        return Some("the page holds a password field (a login form)".into());
    }
    let words = head.split_whitespace().collect::<Vec<_>>().join(" ");
    LOGIN_PHRASES
        .iter()
        .find(|p| words.contains(*p))
        .map(|p| format!("the page asks the reader to log in or register (\"{p}\")"))
}

fn url_location(url: &str) -> Location {
    Location::Document {
        source: url.to_string(),
        line: None,
    }
}

/// Judges public access. `walled` are URLs named by the user that were refused anonymously:
/// (URL, HTTP status and reason).
pub fn judge(docs: &[Doc], walled: &[(String, String)], obs: &mut Observations) {
    if docs.is_empty() && walled.is_empty() {
        obs.skipped(
            CHECK,
            Source::Documents,
            &["5.3-13"],
            "0 documents given: public access not judged",
        );
        return;
    }
    let fail = |name: &str, why: &str, provs: &[&str]| {
        Finding::new(
            CHECK,
            provs,
            Outcome::Fail,
            Severity::Medium,
            Source::Documents,
            format!("{name} is behind a login or registration wall: not publicly accessible"),
        )
        .detail(format!(
            "{name}: {why}. TS 103 701 5.3-13-2b and 5.3-14-2b ask that the support period (and, for devices that cannot be updated, the replacement information) be accessible without restrictions such as a registration."
        ))
        .evidence(url_location(name), why.to_string())
    };
    for (url, why) in walled {
        obs.findings.push(fail(url, why, &["5.3-13"]));
    }
    for d in docs {
        if let Some(why) = &d.login_wall {
            let provs: &[&str] = if not_updateable(d) {
                &["5.3-13", "5.3-14"]
            } else {
                &["5.3-13"]
            };
            obs.findings.push(fail(&d.name, why, provs));
        }
    }
    let support: Vec<&Doc> = docs.iter().filter(|d| d.is(Kind::SupportPeriod)).collect();
    let public: Vec<&&Doc> = support
        .iter()
        .filter(|d| d.final_url.is_some() && d.login_wall.is_none())
        .collect();
    let local: Vec<&&Doc> = support
        .iter()
        .filter(|d| d.final_url.is_none() && matches!(d.origin, Origin::Given))
        .collect();
    if let Some(d) = public.first() {
        obs.findings.push(
            Finding::new(
                CHECK,
                &["5.3-13"],
                Outcome::Pass,
                Severity::Info,
                Source::Documents,
                format!("The support-period statement {} is fetched anonymously", d.name),
            )
            .detail(format!(
                "{}: read without credentials, no redirect to a login page, no login form or registration prompt (TS 103 701 5.3-13-2b).",
                d.final_url.as_deref().unwrap_or(&d.name)
            ))
            .evidence(url_location(&d.name), "fetched without credentials"),
        );
    } else if !local.is_empty() {
        obs.findings.push(
            Finding::new(
                CHECK,
                &["5.3-13"],
                Outcome::Inconclusive,
                Severity::Info,
                Source::Documents,
                "Public access to the support-period statement is not shown: it was read from a local file",
            )
            .detail(format!(
                "{}: a local file proves nothing about public access (TS 103 701 5.3-13-2b); give the published URL with --doc.",
                local.iter().map(|d| d.name.as_str()).collect::<Vec<_>>().join(", ")
            )),
        );
    }
    // 5.3-14-2b: the statement that the device cannot be updated, judged the same way.
    for d in docs
        .iter()
        .filter(|d| not_updateable(d) && d.login_wall.is_none())
    {
        let (o, title, why) = if d.final_url.is_some() {
            (
                Outcome::Pass,
                format!("The statement that the device cannot be updated ({}) is fetched anonymously", d.name),
                "read without credentials, no redirect to a login page, no login form or registration prompt (TS 103 701 5.3-14-2b)",
            )
        } else {
            (
                Outcome::Inconclusive,
                format!("Public access to {} is not shown: it was read from a local file", d.name),
                "a local file proves nothing about public access (TS 103 701 5.3-14-2b); give the published URL with --doc",
            )
        };
        obs.findings.push(
            Finding::new(
                CHECK,
                &["5.3-14"],
                o,
                Severity::Info,
                Source::Documents,
                title,
            )
            .detail(format!(
                "{}: {why}.",
                d.final_url.as_deref().unwrap_or(&d.name)
            ))
            .evidence(url_location(&d.name), why.to_string()),
        );
    }
    obs.ran(
        CHECK,
        Source::Documents,
        &["5.3-13", "5.3-14"],
        (docs.len() + walled.len()) as u64,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walls_are_recognised() {
        let u = "http://h/support.html";
        assert!(login_signs("<p>Support ends 2030</p>", u, u).is_none());
        assert!(
            login_signs("x", u, "http://h/account/login?next=/support.html")
                .unwrap()
                .contains("redirected")
        );
        // The same page after a redirect that is not to a login page is no wall.
        assert!(login_signs("x", u, "http://h/en/support.html").is_none());
        assert!(login_signs("<input  TYPE = \"password\" name=pw>", u, u)
            .unwrap()
            .contains("password field"));
        assert!(login_signs("Please\n  sign in to view this document", u, u)
            .unwrap()
            .contains("sign in to view"));
    }
}
