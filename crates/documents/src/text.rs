//! A document as the checks see it: plain text cut into units (sentences, list items, table rows),
//! each with the source line a person can open.

use std::sync::LazyLock;

use iotassure_core::finding::Location;
use regex::Regex;

use crate::html;

/// One sentence, list item or table row.
#[derive(Debug, Clone)]
pub struct Unit {
    pub text: String,
    /// 1-based line in the source document.
    pub line: u32,
}

/// A document's text, ready to judge.
#[derive(Debug, Clone)]
pub struct Text {
    /// Plain text (HTML already converted).
    pub plain: String,
    /// Per line of `plain`, the 1-based source line.
    pub line_map: Vec<u32>,
    pub units: Vec<Unit>,
    pub was_html: bool,
}

impl Text {
    /// Builds the text model. `html` forces HTML conversion; otherwise it is sniffed.
    pub fn new(raw: &str, html: Option<bool>) -> Text {
        let raw = raw.strip_prefix('\u{feff}').unwrap_or(raw);
        let was_html = html.unwrap_or_else(|| html::looks_like_html(raw));
        let (plain, line_map) = if was_html {
            html::to_text(raw)
        } else {
            let plain = raw.replace("\r\n", "\n").replace('\r', "\n");
            let n = plain.lines().count() as u32;
            (plain, (1..=n).collect())
        };
        let units = segment(&plain, &line_map);
        Text {
            plain,
            line_map,
            units,
            was_html,
        }
    }
}

/// Where a unit is, as evidence.
pub fn at(source: &str, line: u32) -> Location {
    Location::Document {
        source: source.to_string(),
        line: Some(line),
    }
}

/// A unit's text, shortened for an excerpt.
pub fn excerpt(s: &str) -> String {
    const MAX: usize = 240;
    let s = s.trim();
    if s.chars().count() <= MAX {
        return s.to_string();
    }
    let cut: String = s.chars().take(MAX).collect();
    format!("{cut}…")
}

static BULLET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?:[-*•–]\s+|\d{1,2}[.)]\s+|[a-z][.)]\s+|#{1,6}\s)").unwrap()
});

/// Splits text into units: paragraphs (blank-line separated; a bullet, numbered step or heading
/// starts a new one; a table row with ` | ` is one), then sentences within each paragraph.
fn segment(plain: &str, line_map: &[u32]) -> Vec<Unit> {
    let mut units = Vec::new();
    let mut para = String::new();
    // (byte offset in `para`, source line) at each joined line, to place sentences.
    let mut marks: Vec<(usize, u32)> = Vec::new();
    let flush = |para: &mut String, marks: &mut Vec<(usize, u32)>, units: &mut Vec<Unit>| {
        if !para.trim().is_empty() {
            split_sentences(para, marks, units);
        }
        para.clear();
        marks.clear();
    };
    let mut prev = "";
    for (i, line) in plain.lines().enumerate() {
        let src = line_map.get(i).copied().unwrap_or(i as u32 + 1);
        let t = line.trim();
        if t.is_empty() {
            flush(&mut para, &mut marks, &mut units);
            prev = "";
            continue;
        }
        let starts_new = BULLET.is_match(line)
            || t.contains(" | ")
            || t.starts_with('|')
            || after_heading(prev, t);
        prev = t;
        if starts_new {
            flush(&mut para, &mut marks, &mut units);
        }
        if !para.is_empty() {
            para.push(' ');
        }
        marks.push((para.len(), src));
        para.push_str(t);
        if t.contains(" | ") || t.starts_with('|') {
            flush(&mut para, &mut marks, &mut units);
        }
    }
    flush(&mut para, &mut marks, &mut units);
    units
}

/// A short line without closing punctuation, followed by a capitalised line, is a heading
/// ("Removing your data" / "Before giving the camera away, …"), not a wrapped sentence.
fn after_heading(prev: &str, cur: &str) -> bool {
    !prev.is_empty()
        && prev.chars().count() <= 50
        && !prev.ends_with(['.', ',', ';', ':', '-', '(', '&'])
        && !prev.ends_with(" and")
        && !prev.ends_with(" or")
        && !prev.ends_with(" to")
        && cur.chars().next().is_some_and(char::is_uppercase)
}

const ABBREVIATIONS: &[&str] = &[
    "e.g.", "i.e.", "etc.", "inc.", "ltd.", "co.", "no.", "approx.", "vs.", "mr.", "ms.", "dr.",
    "st.", "art.", "para.", "sec.", "cf.", "fig.",
];

fn split_sentences(para: &str, marks: &[(usize, u32)], units: &mut Vec<Unit>) {
    // Marks are in offset order: binary search keeps long paragraphs linear-ish.
    let line_at = |off: usize| {
        let k = marks.partition_point(|(o, _)| *o <= off);
        marks.get(k.saturating_sub(1)).map(|(_, l)| *l).unwrap_or(1)
    };
    let bytes = para.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if matches!(c, b'.' | b'!' | b'?' | b';')
            && bytes.get(i + 1).is_some_and(|n| n.is_ascii_whitespace())
        {
            let word_start = para[..=i].rfind(' ').map_or(0, |p| p + 1);
            let word = para[word_start..=i].to_ascii_lowercase();
            let next_upper = para[i + 1..]
                .trim_start()
                .chars()
                .next()
                .is_some_and(|ch| ch.is_uppercase() || ch.is_ascii_digit() || c == b';');
            let is_abbrev = ABBREVIATIONS.contains(&word.as_str())
                || (word.len() == 2 && word.as_bytes()[0].is_ascii_alphabetic());
            if next_upper && !is_abbrev {
                push_unit(para, start, i + 1, &line_at, units);
                start = i + 1;
            }
        }
        i += 1;
    }
    push_unit(para, start, para.len(), &line_at, units);
}

fn push_unit(
    para: &str,
    s: usize,
    e: usize,
    line_at: &dyn Fn(usize) -> u32,
    units: &mut Vec<Unit>,
) {
    let raw = &para[s..e];
    let lead = raw.len() - raw.trim_start().len();
    let t = raw.trim();
    if !t.is_empty() {
        units.push(Unit {
            text: t.to_string(),
            line: line_at(s + lead),
        });
    }
}

static NEGATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:not|no|never|neither|nor|without|cannot|none)\b|n't\b|n’t\b").unwrap()
});

/// Whether the words just before `pos` in `text` (same clause, a few words) negate what follows:
/// "we do not currently run a bug bounty" negates "bug bounty".
pub fn negated_before(text: &str, pos: usize) -> bool {
    let before = &text[..pos.min(text.len())];
    let clause_start = before
        .char_indices()
        .rev()
        .find(|(_, c)| matches!(c, ',' | ';' | ':' | '(' | '.' | '—'))
        .map_or(0, |(p, c)| p + c.len_utf8());
    let clause = &before[clause_start..];
    let words: Vec<&str> = clause.split_whitespace().collect();
    let tail = words[words.len().saturating_sub(6)..].join(" ");
    NEGATION.is_match(&tail)
}

/// Whether the match at `span` is negated: by the words just before it, or inside it ("consent
/// cannot be withdrawn").
pub fn negated(text: &str, span: (usize, usize)) -> bool {
    negated_before(text, span.0) || NEGATION.is_match(&text[span.0..span.1.min(text.len())])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_and_lines() {
        let t = Text::new(
            "Title\n\nWe acknowledge reports within 3 days. We send\nupdates every 14 days, e.g. by email.\n- item one\n- item two\nModel | 2030-01-01\nA heading\nText under it, wrapped to\nThe next line.\n",
            Some(false),
        );
        let u: Vec<(&str, u32)> = t.units.iter().map(|u| (u.text.as_str(), u.line)).collect();
        assert_eq!(
            u,
            vec![
                ("Title", 1),
                ("We acknowledge reports within 3 days.", 3),
                ("We send updates every 14 days, e.g. by email.", 3),
                ("- item one", 5),
                ("- item two", 6),
                ("Model | 2030-01-01", 7),
                ("A heading", 8),
                ("Text under it, wrapped to The next line.", 9),
            ]
        );
    }

    #[test]
    fn second_sentence_on_a_later_line_cites_that_line() {
        let t = Text::new(
            "First line here\ncontinues. Second\nstarts on line two.",
            Some(false),
        );
        assert_eq!(t.units[1].text, "Second starts on line two.");
        assert_eq!(t.units[1].line, 2);
    }

    #[test]
    fn html_units_cite_source_lines() {
        let t = Text::new(
            "<html><body>\n<p>One.</p>\n\n<p>Two is here.</p></body></html>",
            None,
        );
        assert!(t.was_html);
        assert_eq!(t.units.len(), 2);
        assert_eq!(t.units[1].line, 4);
    }

    #[test]
    fn negation() {
        let s = "We do not currently run a bug bounty programme";
        assert!(negated_before(s, s.find("bug").unwrap()));
        let s = "There is no bug bounty";
        assert!(negated_before(s, s.find("bug").unwrap()));
        let s = "We don't offer rewards";
        assert!(negated_before(s, s.find("rewards").unwrap()));
        let s = "We run a bug bounty programme, not a contest";
        assert!(!negated_before(s, s.find("bug").unwrap()));
        let s = "If you cannot reach us, we run a bug bounty";
        assert!(!negated_before(s, s.find("bug").unwrap()));
    }
}
