//! What the human-readable reports share: findings in reading order (numbered as read), the
//! front page's scope and limitations, and the look of a verdict (a PASS resting only on the
//! maker's declaration is never shown like a verified one).

use iotassure_assess::model::{Report, RequirementVerdict, Verdict};
use iotassure_core::finding::Outcome;

/// Findings in reading order (failures first, then by severity) and, for each finding index,
/// its number in that order (1-based), so references from the verdict tables match.
pub(crate) fn reading_order(r: &Report) -> (Vec<usize>, Vec<usize>) {
    let rank = |o: Outcome| match o {
        Outcome::Fail => 0,
        Outcome::Inconclusive => 1,
        Outcome::Pass => 2,
        Outcome::Info => 3,
    };
    let mut order: Vec<usize> = (0..r.findings.len()).collect();
    order.sort_by_key(|&i| {
        (
            rank(r.findings[i].outcome),
            std::cmp::Reverse(r.findings[i].severity),
        )
    });
    let mut number = vec![0; r.findings.len()];
    for (n, &i) in order.iter().enumerate() {
        number[i] = n + 1;
    }
    (order, number)
}

/// The CSS class of a verdict's badge.
pub(crate) fn class(v: &RequirementVerdict) -> &'static str {
    match v.verdict {
        Verdict::Pass if v.is_declared() => "declared",
        Verdict::Fail if v.justified => "justified",
        other => crate::verdict_class(other),
    }
}

/// The badge's text: `PASS`, `PASS (declared)`, `FAIL`, `JUSTIFIED`, …
pub(crate) fn label(v: &RequirementVerdict) -> String {
    if v.verdict == Verdict::Pass && v.is_declared() {
        "PASS (declared)".into()
    } else {
        v.label().into()
    }
}

/// What the assessment looked at, in one line per source.
pub(crate) fn scope(r: &Report) -> Vec<String> {
    let mut s = Vec::new();
    if let Some(fw) = &r.subject.firmware {
        s.push(format!(
            "Firmware image {} ({} bytes), unpacked and inspected statically",
            fw.input, fw.size
        ));
    }
    if let Some(d) = &r.subject.device {
        s.push(format!("Live device {d}, probed over the network"));
    }
    for d in &r.subject.documents {
        s.push(format!("Published document {d}"));
    }
    if let Some(st) = &r.statement {
        s.push(format!("The maker's conformance statement {}", st.file));
    }
    s
}

/// What limits the conclusions, derived from the report itself.
pub(crate) fn limitations(r: &Report) -> Vec<String> {
    let mut l = Vec::new();
    if r.subject.device.is_none() {
        l.push("No live device was probed: provisions that need the running device (open ports, default logins, transport security) rest on the firmware and the statement, or stay INCONCLUSIVE.".into());
    }
    if r.subject.documents.is_empty() {
        l.push("No published documents were given: the disclosure policy and the support period were not read.".into());
    }
    if r.statement.is_none() {
        l.push("No conformance statement was given: nothing is declared, and conditions that only the maker can state stay undecided.".into());
    }
    if let Some(fw) = &r.subject.firmware {
        if fw.partial {
            l.push(format!(
                "The firmware was unpacked only in part ({} problem(s), listed under Firmware layout): what was not extracted was not inspected.",
                fw.problems.len() + fw.limits_hit.len()
            ));
        }
    }
    let declared = r
        .verdicts
        .iter()
        .filter(|v| v.scheme == "en303645" && v.verdict == Verdict::Pass && v.is_declared())
        .count();
    if declared > 0 {
        l.push(format!("{declared} PASS verdict(s) rest on the maker's declaration alone (marked \"declared\"): no evidence confirmed them."));
    }
    let heuristic = r.findings.iter().filter(|f| f.heuristic).count();
    if heuristic > 0 {
        l.push(format!(
            "{heuristic} finding(s) come from heuristics (marked) that a person should confirm."
        ));
    }
    l
}

/// Prose from the checks as HTML: escaped, with `code spans` shown as code (the reasons and
/// details are written in Markdown's inline style).
pub(crate) fn inline_html(s: &str) -> String {
    let esc = crate::chart::esc;
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find('`') {
        let Some(len) = rest[start + 1..].find('`') else {
            break;
        };
        out.push_str(&esc(&rest[..start]));
        out.push_str("<code>");
        out.push_str(&esc(&rest[start + 1..start + 1 + len]));
        out.push_str("</code>");
        rest = &rest[start + 2 + len..];
    }
    out.push_str(&esc(rest));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_become_code_and_everything_is_escaped() {
        assert_eq!(
            inline_html("run `telnetd -l /bin/sh` <now>"),
            "run <code>telnetd -l /bin/sh</code> &lt;now&gt;"
        );
        assert_eq!(inline_html("a `<b>` c"), "a <code>&lt;b&gt;</code> c");
        assert_eq!(inline_html("odd ` tick"), "odd ` tick");
    }
}
