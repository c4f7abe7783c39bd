//! A self-contained HTML report (inline CSS and SVG, no scripts, no external assets) for a lab to
//! hand to its client: summary, verdicts per clause with a chart, findings with evidence.

use askama::Template;
use iotassure_assess::model::{Report, RequirementVerdict};
use iotassure_core::finding::Finding;

use crate::{basis_str, chart, verdict_class};

struct Row<'a> {
    v: &'a RequirementVerdict,
    class: &'static str,
    basis: &'static str,
    stated: &'static str,
}

struct FindingView<'a> {
    index: usize,
    f: &'a Finding,
    outcome: String,
    class: &'static str,
    evidence: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "report.html")]
struct Page<'a> {
    r: &'a Report,
    selected_outcome: String,
    selected_title: String,
    selected_id: String,
    counts: iotassure_assess::model::Counts,
    chart: String,
    rows: Vec<Row<'a>>,
    own: Vec<Row<'a>>,
    findings: Vec<FindingView<'a>>,
}

fn row(v: &RequirementVerdict) -> Row<'_> {
    Row {
        v,
        class: verdict_class(v.verdict),
        basis: basis_str(v.basis),
        stated: v
            .statement
            .as_ref()
            .and_then(|e| e.support)
            .map(|s| s.as_str())
            .unwrap_or(""),
    }
}

pub fn html(r: &Report) -> String {
    use iotassure_core::finding::Outcome;
    let mut order: Vec<usize> = (0..r.findings.len()).collect();
    let rank = |o: Outcome| match o {
        Outcome::Fail => 0,
        Outcome::Inconclusive => 1,
        Outcome::Pass => 2,
        Outcome::Info => 3,
    };
    order.sort_by_key(|&i| {
        (
            rank(r.findings[i].outcome),
            std::cmp::Reverse(r.findings[i].severity),
        )
    });
    let findings = order
        .into_iter()
        .map(|i| {
            let f = &r.findings[i];
            FindingView {
                index: i,
                f,
                outcome: format!("{:?}", f.outcome).to_uppercase(),
                class: match f.outcome {
                    Outcome::Fail => "fail",
                    Outcome::Pass => "pass",
                    Outcome::Inconclusive => "inconclusive",
                    Outcome::Info => "na",
                },
                evidence: f
                    .evidence
                    .iter()
                    .map(|e| (e.location.cite(), e.excerpt.clone()))
                    .collect(),
            }
        })
        .collect();
    let sel = r.selected();
    let page = Page {
        r,
        selected_outcome: sel
            .map(|s| s.outcome.as_str().to_string())
            .unwrap_or_default(),
        selected_title: sel.map(|s| s.title.clone()).unwrap_or_default(),
        selected_id: r.selected_profile.clone(),
        counts: r.en_counts(),
        chart: chart::per_clause(r),
        rows: r
            .verdicts
            .iter()
            .filter(|v| v.scheme == "en303645")
            .map(row)
            .collect(),
        own: r
            .verdicts
            .iter()
            .filter(|v| v.scheme != "en303645")
            .map(row)
            .collect(),
        findings,
    };
    page.render().unwrap_or_else(|e| {
        format!(
            "<p>report rendering failed: {}</p>",
            chart::esc(&e.to_string())
        )
    })
}
