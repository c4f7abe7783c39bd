//! The public registry: search, the list of certificates, and each certificate's label page.

use askama::Template;
use axum::extract::{Path, Query};
use axum::http::HeaderMap;
use serde::Deserialize;

use super::{
    encode_component, from_today, plain_date, render, Chrome, Fail, PageResult, St, Viewer,
};
use crate::certify::{self, Certificate, ClauseSummary, Search};
use crate::problem::Problem;

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    model: String,
    #[serde(default)]
    maker: String,
    #[serde(default)]
    status: String,
    page: Option<i64>,
}

pub struct Row {
    pub c: Certificate,
    pub until: String,
}

#[derive(Template)]
#[template(path = "registry.html")]
struct List {
    c: Chrome,
    q: ListQuery,
    rows: Vec<Row>,
    total: i64,
    page: i64,
    pages: i64,
    prev: String,
    next: String,
    statuses: [&'static str; 4],
}

const PER_PAGE: i64 = 20;

pub async fn list(
    st: St,
    v: Viewer,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> PageResult {
    let q = q.map_err(|e| Fail(Problem::bad_request(e.body_text())))?.0;
    let nonempty = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_string());
    let page = q.page.unwrap_or(1).max(1);
    let found = certify::search(
        &st,
        Search {
            maker: nonempty(&q.maker),
            model: nonempty(&q.model),
            status: nonempty(&q.status),
            page: Some(page),
            per_page: Some(PER_PAGE),
            ..Default::default()
        },
    )
    .await?;
    let pages = ((found.total + PER_PAGE - 1) / PER_PAGE).max(1);
    let link = |p: i64| {
        format!(
            "/registry?model={}&maker={}&status={}&page={p}",
            encode_component(&q.model),
            encode_component(&q.maker),
            encode_component(&q.status)
        )
    };
    let page_view = List {
        c: Chrome::new(&st, &v),
        rows: found
            .items
            .into_iter()
            .map(|c| Row {
                until: plain_date(&c.valid_until),
                c,
            })
            .collect(),
        total: found.total,
        page,
        pages,
        prev: if page > 1 {
            link(page - 1)
        } else {
            String::new()
        },
        next: if page < pages {
            link(page + 1)
        } else {
            String::new()
        },
        statuses: certify::STATUSES,
        q,
    };
    render(&page_view)
}

/// One bar segment of the clause chart.
pub struct Seg {
    pub x: u32,
    pub w: u32,
    pub n: u32,
    pub class: &'static str,
    pub label: &'static str,
}

pub struct Bar {
    pub clause: String,
    pub y: u32,
    pub text_y: u32,
    pub segs: Vec<Seg>,
    pub summary: String,
}

pub const BAR_W: u32 = 360;
const ROW_H: u32 = 24;

/// Stacked horizontal bars, one per clause, on a common scale (the widest clause fills the bar).
pub fn chart(clauses: &[ClauseSummary]) -> (Vec<Bar>, u32) {
    let max = clauses
        .iter()
        .map(|c| c.pass + c.fail + c.justified + c.inconclusive + c.not_applicable)
        .max()
        .unwrap_or(1)
        .max(1);
    let bars = clauses
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut x = 0;
            let mut segs = Vec::new();
            // A PASS resting on the maker's statement alone is drawn apart from a verified one.
            for (n, class, label) in [
                (c.pass - c.pass_declared, "pass", "pass, verified"),
                (c.pass_declared, "declared", "pass, declared only"),
                (c.fail, "fail", "fail"),
                (c.justified, "justified", "not met, justified"),
                (c.inconclusive, "inconclusive", "inconclusive"),
                (c.not_applicable, "na", "not applicable"),
            ] {
                if n == 0 {
                    continue;
                }
                let w = n * BAR_W / max;
                segs.push(Seg {
                    x,
                    w,
                    n,
                    class,
                    label,
                });
                x += w;
            }
            let y = i as u32 * ROW_H;
            Bar {
                clause: c.clause.clone(),
                y,
                text_y: y + 16,
                summary: format!(
                    "{} pass ({} declared only), {} fail, {} justified, {} inconclusive, {} not applicable",
                    c.pass, c.pass_declared, c.fail, c.justified, c.inconclusive, c.not_applicable
                ),
                segs,
            }
        })
        .collect::<Vec<_>>();
    let height = bars.len() as u32 * ROW_H;
    (bars, height)
}

pub struct HistoryRow {
    pub status: String,
    pub reason: String,
    pub at: String,
    pub actor: String,
}

#[derive(Template)]
#[template(path = "label.html")]
struct Label {
    c: Chrome,
    cert: Certificate,
    valid_from: String,
    valid_until: String,
    validity_words: String,
    support: String,
    history: Vec<HistoryRow>,
    bars: Vec<Bar>,
    chart_h: u32,
    bar_w: u32,
    url: String,
}

pub async fn label(st: St, v: Viewer, Path(id): Path<String>, headers: HeaderMap) -> PageResult {
    let cert = certify::get(&st, &id).await?;
    let support = match cert.support_end.as_deref() {
        Some(end) => {
            let ended = crate::util::parse_date(end)
                .is_some_and(|d| d < time::OffsetDateTime::now_utc().date());
            if ended {
                format!(
                    "Security updates ended on {} ({}).",
                    plain_date(end),
                    from_today(end)
                )
            } else {
                format!(
                    "Security updates are promised until {} ({}).",
                    plain_date(end),
                    from_today(end)
                )
            }
        }
        None => "The maker stated no support period.".into(),
    };
    let validity_words = match cert.status.as_str() {
        "valid" => format!("ends {}", from_today(&cert.valid_until)),
        "expired" => "expired".into(),
        s => format!("{s}: not valid now"),
    };
    let (bars, chart_h) = chart(&cert.clauses);
    let page = Label {
        c: Chrome::new(&st, &v),
        valid_from: plain_date(&cert.valid_from),
        valid_until: plain_date(&cert.valid_until),
        validity_words,
        support,
        history: cert
            .history
            .iter()
            .rev()
            .map(|h| HistoryRow {
                status: h.status.clone(),
                reason: h.reason.clone(),
                at: h.at.get(..16).unwrap_or(&h.at).replace('T', " "),
                actor: h.actor.clone(),
            })
            .collect(),
        bars,
        chart_h,
        bar_w: BAR_W,
        url: super::qr::label_url(&st, &headers, &cert.id).unwrap_or_default(),
        cert,
    };
    render(&page)
}
