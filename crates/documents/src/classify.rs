//! What a document is. A document may be several kinds at once (a support page with a privacy
//! section); one that matches no kind is "unknown" and only the general checks read it.

use std::collections::BTreeSet;

use crate::patterns::table;
use crate::securitytxt::{self, SecurityTxt};
use crate::text::Text;

table!(TABLE, "classify");

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    SecurityTxt,
    DisclosurePolicy,
    SupportPeriod,
    PrivacyNotice,
    SetupGuide,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::SecurityTxt,
        Kind::DisclosurePolicy,
        Kind::SupportPeriod,
        Kind::PrivacyNotice,
        Kind::SetupGuide,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Kind::SecurityTxt => "security.txt",
            Kind::DisclosurePolicy => "vulnerability disclosure policy",
            Kind::SupportPeriod => "support-period statement",
            Kind::PrivacyNotice => "privacy notice",
            Kind::SetupGuide => "set-up/user guide",
        }
    }

    /// The provisions a document of this kind is read for.
    pub fn provisions(self) -> &'static [&'static str] {
        match self {
            Kind::SecurityTxt | Kind::DisclosurePolicy => &["5.2-1"],
            Kind::SupportPeriod => &["5.3-13"],
            Kind::PrivacyNotice => &["6-1"],
            Kind::SetupGuide => &["5.12-2", "5.12-3"],
        }
    }

    fn sections(self) -> Option<(&'static str, &'static str)> {
        match self {
            Kind::SecurityTxt => None,
            Kind::DisclosurePolicy => Some(("policy_strong", "policy_weak")),
            Kind::SupportPeriod => Some(("support_strong", "support_weak")),
            Kind::PrivacyNotice => Some(("privacy_strong", "privacy_weak")),
            Kind::SetupGuide => Some(("setup_strong", "setup_weak")),
        }
    }
}

/// Distinct weak signals needed when no strong one matches.
const WEAK_NEEDED: usize = 4;

/// The name a security.txt is served or saved under.
pub fn named_security_txt(name: &str) -> bool {
    let n = name
        .split(['?', '#'])
        .next()
        .unwrap_or(name)
        .to_ascii_lowercase();
    n.ends_with("/security.txt") || n == "security.txt" || n.ends_with("\\security.txt")
}

pub fn classify(name: &str, text: &Text, sectxt: &SecurityTxt) -> BTreeSet<Kind> {
    let mut kinds = BTreeSet::new();
    if (named_security_txt(name) && !text.was_html) || securitytxt::looks_like(sectxt) {
        kinds.insert(Kind::SecurityTxt);
    }
    // A security.txt is only that: its comments often mention the policy ("our disclosure
    // policy is linked below") without being it. The policy check still reads its comments for
    // timelines.
    if !kinds.is_empty() {
        return kinds;
    }
    let prose = &text.plain;
    for kind in Kind::ALL {
        let Some((strong, weak)) = kind.sections() else {
            continue;
        };
        if TABLE.is_match(strong, prose) || TABLE.count_distinct(weak, prose) >= WEAK_NEEDED {
            kinds.insert(kind);
        }
    }
    kinds
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(name: &str, s: &str) -> BTreeSet<Kind> {
        let t = Text::new(s, None);
        classify(name, &t, &securitytxt::parse(&t.plain))
    }

    #[test]
    fn classification_table() {
        use Kind::*;
        let cases: &[(&str, &str, &[Kind])] = &[
            ("x/.well-known/security.txt", "Contact: mailto:a@b.example\nExpires: 2030-01-01T00:00:00Z\n", &[SecurityTxt]),
            ("saved.txt", "Contact: mailto:a@b.example\nExpires: 2030-01-01T00:00:00Z\n", &[SecurityTxt]),
            ("security.txt", "# Vulnerability disclosure: we acknowledge within 2 days\nContact: mailto:a@b.example\n", &[SecurityTxt]),
            ("p.html", "<h1>Vulnerability Disclosure Policy</h1><p>Report to us.</p>", &[DisclosurePolicy]),
            ("s.txt", "Support period\nThis camera receives security updates until 31 December 2030.", &[SupportPeriod]),
            ("s.txt", "We provide lifetime updates for all our products.", &[SupportPeriod]),
            ("priv.txt", "Privacy notice\nWe process personal data.", &[PrivacyNotice]),
            ("g.txt", "Quick start guide\n1. Install the app.", &[SetupGuide]),
            ("g.txt", "Press the button, install the app, join Wi-Fi and pair the hub.", &[SetupGuide]),
            ("n.txt", "Our company was founded in 1999 and makes kettles.", &[]),
            ("n.txt", "The device receives firmware updates automatically.", &[]),
        ];
        for (name, text, want) in cases {
            let got: Vec<Kind> = kinds(name, text).into_iter().collect();
            assert_eq!(&got, want, "{name}: {text}");
        }
    }

    #[test]
    fn security_txt_names() {
        assert!(named_security_txt(
            "https://x.example/.well-known/security.txt?x=1"
        ));
        assert!(named_security_txt("security.txt"));
        assert!(!named_security_txt(
            "https://x.example/not-security.txt.html"
        ));
    }
}
