//! A self-contained HTML report (inline CSS and SVG, no scripts, no external assets) for a lab to
//! hand to its client: summary, verdicts per clause with a chart, findings with evidence.

use askama::Template;
use iotassure_assess::model::{Report, RequirementVerdict};
use iotassure_core::finding::Finding;

use crate::{basis_str, chart, front};

struct Row<'a> {
    v: &'a RequirementVerdict,
    class: &'static str,
    label: String,
    basis: &'static str,
    stated: &'static str,
    reason: String,
    /// (finding number in reading order, anchor).
    refs: Vec<usize>,
}

struct FindingView<'a> {
    number: usize,
    f: &'a Finding,
    outcome: String,
    class: &'static str,
    detail: Option<String>,
    evidence: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "report.html")]
struct Page<'a> {
    r: &'a Report,
    report_id: String,
    lab: String,
    client: String,
    date: String,
    scope: Vec<String>,
    limitations: Vec<String>,
    selected_outcome: String,
    selected_title: String,
    selected_id: String,
    counts: iotassure_assess::model::Counts,
    verified: usize,
    chart: String,
    rows: Vec<Row<'a>>,
    own: Vec<Row<'a>>,
    findings: Vec<FindingView<'a>>,
}

fn row<'a>(v: &'a RequirementVerdict, number: &[usize]) -> Row<'a> {
    let mut refs: Vec<usize> = v
        .findings
        .iter()
        .filter_map(|&i| number.get(i).copied())
        .collect();
    refs.sort_unstable();
    Row {
        v,
        class: front::class(v),
        label: front::label(v),
        basis: basis_str(v.basis),
        stated: v
            .statement
            .as_ref()
            .and_then(|e| e.support)
            .map(|s| s.as_str())
            .unwrap_or(""),
        reason: front::inline_html(&v.reason),
        refs,
    }
}

pub fn html(r: &Report) -> String {
    use iotassure_core::finding::Outcome;
    let (order, number) = front::reading_order(r);
    let findings = order
        .into_iter()
        .map(|i| {
            let f = &r.findings[i];
            FindingView {
                number: number[i],
                f,
                outcome: format!("{:?}", f.outcome).to_uppercase(),
                class: match f.outcome {
                    Outcome::Fail => "fail",
                    Outcome::Pass => "pass",
                    Outcome::Inconclusive => "inconclusive",
                    Outcome::Info => "na",
                },
                detail: f.detail.as_deref().map(front::inline_html),
                evidence: f
                    .evidence
                    .iter()
                    .map(|e| (e.location.cite(), e.excerpt.clone()))
                    .collect(),
            }
        })
        .collect();
    let sel = r.selected();
    let counts = r.en_counts();
    let e = r.engagement.clone().unwrap_or_default();
    let page = Page {
        r,
        report_id: e.report_id,
        lab: e.lab,
        client: e.client,
        date: r.generated_at.replace('T', " ").replace('Z', " UTC"),
        scope: front::scope(r),
        limitations: front::limitations(r),
        selected_outcome: sel
            .map(|s| s.outcome.as_str().to_string())
            .unwrap_or_default(),
        selected_title: sel.map(|s| s.title.clone()).unwrap_or_default(),
        selected_id: r.selected_profile.clone(),
        verified: counts.pass - counts.pass_declared,
        counts,
        chart: chart::per_clause(r),
        rows: r
            .verdicts
            .iter()
            .filter(|v| v.scheme == "en303645")
            .map(|v| row(v, &number))
            .collect(),
        own: r
            .verdicts
            .iter()
            .filter(|v| v.scheme != "en303645")
            .map(|v| row(v, &number))
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
