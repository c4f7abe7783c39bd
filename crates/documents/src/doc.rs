//! A document read and understood: its text, its kinds, and for a security.txt its fields and
//! what became of its Policy links.

use std::collections::BTreeSet;

use iotassure_core::finding::{Evidence, Location};

use crate::classify::{self, Kind};
use crate::patterns::Table;
use crate::securitytxt::{self, SecurityTxt};
use crate::text::{self, Text, Unit};

/// How a document reached us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Named by the user (a file or URL).
    Given,
    /// Linked from a security.txt `Policy:` field (`from`, line).
    Policy { from: String, line: u32 },
    /// Handed over as text (e.g. the device probe's own security.txt).
    Text,
}

/// What became of one `Policy:` link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    /// Read; it is the document of that name.
    Followed(String),
    /// Already among the documents given.
    AlreadyGiven(String),
    /// Deliberately not fetched; why.
    NotFollowed(String),
    /// Fetching or reading failed: why, and the HTTP status if one came back.
    Failed(String, Option<u16>),
}

#[derive(Debug, Clone)]
pub struct PolicyLink {
    pub value: String,
    pub line: u32,
    pub state: LinkState,
}

#[derive(Debug, Clone)]
pub struct Doc {
    /// As cited in evidence: the path or URL.
    pub name: String,
    pub origin: Origin,
    pub text: Text,
    pub kinds: BTreeSet<Kind>,
    /// Parsed as a security.txt (meaningful when `kinds` has `SecurityTxt`).
    pub sectxt: SecurityTxt,
    /// The Content-Type it was served with, for URLs.
    pub content_type: Option<String>,
    /// The URL finally read after redirects, for URLs.
    pub final_url: Option<String>,
    pub links: Vec<PolicyLink>,
    /// Why a fetched page is a login or registration wall (`access::login_signs`), if it is.
    pub login_wall: Option<String>,
}

impl Doc {
    pub fn new(name: &str, raw: &str, html: Option<bool>, origin: Origin) -> Doc {
        let text = Text::new(raw, html);
        let sectxt = securitytxt::parse(&text.plain);
        let kinds = classify::classify(name, &text, &sectxt);
        Doc {
            name: name.to_string(),
            origin,
            text,
            kinds,
            sectxt,
            content_type: None,
            final_url: None,
            links: Vec::new(),
            login_wall: None,
        }
    }

    pub fn is(&self, k: Kind) -> bool {
        self.kinds.contains(&k)
    }

    /// A security.txt and nothing else: field syntax, no prose for the prose checks.
    pub fn only_security_txt(&self) -> bool {
        self.kinds.len() == 1 && self.is(Kind::SecurityTxt)
    }

    pub fn units(&self) -> &[Unit] {
        &self.text.units
    }

    /// Units matching any pattern of `section`, with the match span.
    pub fn hits<'a>(
        &'a self,
        t: &'a Table,
        section: &'a str,
    ) -> impl Iterator<Item = (usize, &'a Unit, (usize, usize))> + 'a {
        self.units()
            .iter()
            .enumerate()
            .filter_map(move |(i, u)| t.find(section, &u.text).map(|span| (i, u, span)))
    }

    /// Like [`Doc::hits`], best first: units matching an earlier pattern of the section (the
    /// tables list the most telling phrases first) come before later ones.
    pub fn ranked_hits<'a>(&'a self, t: &'a Table, section: &'a str) -> Vec<(usize, &'a Unit)> {
        let pats = t.get(section);
        let mut v: Vec<(usize, usize, &Unit)> = self
            .units()
            .iter()
            .enumerate()
            .filter_map(|(i, u)| {
                pats.iter()
                    .position(|re| re.is_match(&u.text))
                    .map(|p| (p, i, u))
            })
            .collect();
        v.sort_by_key(|(p, i, _)| (*p, *i));
        v.into_iter().map(|(_, i, u)| (i, u)).collect()
    }

    pub fn evidence(&self, u: &Unit) -> Evidence {
        Evidence {
            location: text::at(&self.name, u.line),
            excerpt: text::excerpt(&u.text),
        }
    }

    pub fn evidence_line(&self, line: u32, excerpt: &str) -> Evidence {
        Evidence {
            location: text::at(&self.name, line),
            excerpt: text::excerpt(excerpt),
        }
    }

    /// The document as a whole, as evidence.
    pub fn whole(&self) -> Evidence {
        let first = self.units().first().map(|u| u.text.as_str()).unwrap_or("");
        Evidence {
            location: Location::Document {
                source: self.name.clone(),
                line: None,
            },
            excerpt: text::excerpt(first),
        }
    }

    /// Text of units `from..=to` (clamped), joined: a small window of context.
    pub fn window(&self, from: isize, to: isize) -> String {
        let n = self.units().len() as isize;
        let (a, b) = (from.max(0), to.min(n - 1));
        if a > b {
            return String::new();
        }
        self.units()[a as usize..=b as usize]
            .iter()
            .map(|u| u.text.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Adds the evidence list to a finding.
pub fn with_evidence(
    mut f: iotassure_core::finding::Finding,
    ev: impl IntoIterator<Item = Evidence>,
) -> iotassure_core::finding::Finding {
    for e in ev {
        if !f.evidence.contains(&e) {
            f.evidence.push(e);
        }
    }
    f
}

/// "a, b and c".
pub fn and_list(items: &[String]) -> String {
    match items.len() {
        0 => String::new(),
        1 => items[0].clone(),
        n => format!("{} and {}", items[..n - 1].join(", "), items[n - 1]),
    }
}
