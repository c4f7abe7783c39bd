//! The lab view: upload a report.json, certify an assessment, suspend, revoke or reinstate a
//! certificate; and the assessment page (with the HTML report) that labs and makers share.

use askama::Template;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::Path;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Deserialize;
use sqlx::Row;
use tokio::io::AsyncWriteExt;

use super::maker::AssessmentRow;
use super::{plain_date, render, require, see_other, Chrome, Fail, Form, PageResult, St, Viewer};
use crate::auth::Role;
use crate::certify::{self, Certificate, CertifyRequest, Search, StatusChange};
use crate::problem::Problem;
use crate::registry::{self, AssessmentInfo, Org, SubmitParams};

pub struct LabAssessment {
    pub a: AssessmentRow,
    pub maker: String,
}

#[derive(Template)]
#[template(path = "lab.html")]
struct LabPage {
    c: Chrome,
    makers: Vec<Org>,
    assessments: Vec<LabAssessment>,
    certs: Vec<Certificate>,
    max_mib: usize,
}

pub async fn page(st: St, v: Viewer) -> PageResult {
    let who = require(&v, &[Role::Certifier])?;
    let makers = registry::list_orgs(&st, &who)
        .await?
        .into_iter()
        .filter(|o| o.kind == "maker")
        .collect();
    let rows = sqlx::query(
        "SELECT a.id, a.profile, a.created_at, f.version, p.model, p.hardware_version, o.name AS maker FROM assessments a \
         JOIN firmware f ON f.id = a.firmware_id JOIN products p ON p.id = f.product_id JOIN organisations o ON o.id = p.maker_id \
         ORDER BY a.created_at DESC LIMIT 100",
    )
    .fetch_all(&st.store.pool)
    .await?;
    let mut assessments = Vec::new();
    for r in rows {
        assessments.push(LabAssessment {
            a: AssessmentRow {
                id: r.try_get("id")?,
                model: r.try_get("model")?,
                hardware_version: r.try_get("hardware_version")?,
                firmware_version: r.try_get("version")?,
                profile: r.try_get("profile")?,
                submitted: plain_date(&r.try_get::<String, _>("created_at")?),
            },
            maker: r.try_get("maker")?,
        });
    }
    let certs = certify::search(
        &st,
        Search {
            per_page: Some(100),
            ..Default::default()
        },
    )
    .await?
    .items;
    render(&LabPage {
        c: Chrome::new(&st, &v),
        makers,
        assessments,
        certs,
        max_mib: st.config.max_body >> 20,
    })
}

/// Past the cap, what the browser still sends is read (bounded) so it sees the refusal page
/// rather than a reset connection.
const DRAIN: usize = 64 << 20;

/// The multipart upload: `csrf` must come first (browsers send fields in form order), so nothing
/// reaches the disk for a forged request; the report is streamed to a temporary file under the
/// data folder, capped at `--max-body`, and removed whatever happens.
pub async fn submit(st: St, v: Viewer, mp: Result<Multipart, MultipartRejection>) -> PageResult {
    let who = require(&v, &[Role::Certifier, Role::Maker])?;
    let mut mp = mp.map_err(|e| Fail(Problem::bad_request(e.body_text())))?;
    let first = mp
        .next_field()
        .await
        .map_err(|e| Problem::bad_request(format!("reading the form: {e}")))?;
    let csrf = match first {
        Some(f) if f.name() == Some("csrf") => f.text().await.unwrap_or_default(),
        _ => String::new(),
    };
    v.check_csrf(&csrf)?;
    let dir = st.config.data_dir.join("web-uploads");
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| Problem::internal(format!("creating {}: {e}", dir.display())))?;
    let tmp = tempfile::Builder::new()
        .prefix("report-")
        .suffix(".json.partial")
        .tempfile_in(&dir)
        .map_err(|e| Problem::internal(format!("a temporary file in {}: {e}", dir.display())))?;
    let (mut maker, mut support_end, mut got_report) = (None, None, false);
    let limit = st.config.max_body;
    let read = async {
        while let Some(mut f) = mp
            .next_field()
            .await
            .map_err(|e| Problem::bad_request(format!("reading the form: {e}")))?
        {
            match f.name().unwrap_or("") {
                "maker" => maker = Some(text(f, "maker").await?),
                "support_end" => support_end = Some(text(f, "support_end").await?),
                "report" => {
                    let mut out = tokio::fs::File::from_std(
                        tmp.reopen()
                            .map_err(|e| Problem::internal(format!("reopening: {e}")))?,
                    );
                    let mut n = 0usize;
                    while let Some(c) = f
                        .chunk()
                        .await
                        .map_err(|e| Problem::bad_request(format!("reading the report: {e}")))?
                    {
                        n += c.len();
                        if n > limit {
                            return Err(Problem::too_large(format!(
                                "the report is larger than this trust center accepts ({limit} bytes, --max-body)"
                            )));
                        }
                        out.write_all(&c)
                            .await
                            .map_err(|e| Problem::internal(format!("writing the upload: {e}")))?;
                    }
                    out.flush()
                        .await
                        .map_err(|e| Problem::internal(format!("writing the upload: {e}")))?;
                    got_report = n > 0;
                }
                other => {
                    return Err(Problem::bad_request(format!(
                        "unexpected form field {other:?}"
                    )))
                }
            }
        }
        Ok(())
    }
    .await;
    if let Err(p) = read {
        let mut left = DRAIN;
        while let Ok(Some(mut f)) = mp.next_field().await {
            while let Ok(Some(c)) = f.chunk().await {
                left = left.saturating_sub(c.len());
                if left == 0 {
                    return Err(p.into());
                }
            }
        }
        return Err(p.into());
    }
    if !got_report {
        return Err(Problem::invalid("choose a report.json file to upload").into());
    }
    let body = tokio::fs::read(tmp.path())
        .await
        .map_err(|e| Problem::internal(format!("reading the upload back: {e}")))?;
    drop(tmp);
    let nonempty = |s: Option<String>| s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let done = registry::submit(
        &st,
        &who,
        SubmitParams {
            maker: nonempty(maker),
            support_end: nonempty(support_end),
        },
        &body,
        None,
    )
    .await?;
    see_other(&format!("/assessments/{}", done.id))
}

async fn text(f: axum::extract::multipart::Field<'_>, name: &str) -> Result<String, Problem> {
    let t = f
        .text()
        .await
        .map_err(|e| Problem::bad_request(format!("`{name}`: {e}")))?;
    if t.len() > 1000 {
        return Err(Problem::invalid(format!("`{name}`: too long")));
    }
    Ok(t)
}

#[derive(Template)]
#[template(path = "assessment.html")]
struct AssessmentPage {
    c: Chrome,
    a: AssessmentInfo,
    maker: String,
    may_certify: bool,
    profiles: Vec<(String, String)>,
    certs: Vec<(String, String, String)>,
}

/// Admin, certifiers and the maker whose product it is; anyone else gets the same 404 as for a
/// missing id (the domain function decides).
pub async fn assessment(st: St, v: Viewer, Path(id): Path<String>) -> PageResult {
    let who = require(&v, &[Role::Admin, Role::Certifier, Role::Maker])?;
    let (a, _) = registry::assessment(&st, &who, &id).await?;
    let maker = registry::find_org(&st, &a.maker)
        .await?
        .map(|o| o.name)
        .unwrap_or_default();
    let certs = sqlx::query(
        "SELECT id, profile, status FROM certificates WHERE assessment_id = $1 ORDER BY issued_at",
    )
    .bind(&a.id)
    .fetch_all(&st.store.pool)
    .await?
    .iter()
    .map(|r| {
        Ok((
            r.try_get("id")?,
            r.try_get("profile")?,
            r.try_get("status")?,
        ))
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let profiles = iotassure_core::catalog::catalog()
        .profiles
        .iter()
        .map(|p| (p.id.clone(), p.title.clone()))
        .collect();
    render(&AssessmentPage {
        c: Chrome::new(&st, &v),
        may_certify: who.role == Role::Certifier,
        maker,
        profiles,
        certs,
        a,
    })
}

/// The report as `iotassure-report` renders it: a whole document with inline CSS and no script,
/// framed by the assessment page.
pub async fn report_html(st: St, v: Viewer, Path(id): Path<String>) -> PageResult {
    let who = require(&v, &[Role::Admin, Role::Certifier, Role::Maker])?;
    let (_, text) = registry::assessment(&st, &who, &id).await?;
    let report: iotassure_assess::Report = serde_json::from_str(&text)
        .map_err(|e| Problem::internal(format!("stored report unreadable: {e}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'",
            ),
        ],
        iotassure_report::html(&report),
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct CertifyForm {
    #[serde(default)]
    csrf: String,
    assessment: String,
    profile: String,
    #[serde(default)]
    valid_days: String,
}

pub async fn certify(st: St, v: Viewer, Form(f): Form<CertifyForm>) -> PageResult {
    v.check_csrf(&f.csrf)?;
    let who = require(&v, &[Role::Certifier])?;
    let valid_days = match f.valid_days.trim() {
        "" => None,
        d => Some(
            d.parse::<i64>()
                .map_err(|_| Problem::invalid("`valid_days`: a whole number of days"))?,
        ),
    };
    let cert = certify::issue(
        &st,
        &who,
        CertifyRequest {
            assessment: f.assessment,
            profile: f.profile,
            valid_days,
        },
    )
    .await?;
    see_other(&format!("/registry/{}", cert.id))
}

#[derive(Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    csrf: String,
    status: String,
    reason: String,
    expected_version: Option<i64>,
}

pub async fn status(
    st: St,
    v: Viewer,
    Path(id): Path<String>,
    Form(f): Form<StatusForm>,
) -> PageResult {
    v.check_csrf(&f.csrf)?;
    let who = require(&v, &[Role::Admin, Role::Certifier])?;
    certify::change_status(
        &st,
        &who,
        &id,
        StatusChange {
            status: f.status,
            reason: f.reason,
            expected_version: f.expected_version,
        },
    )
    .await?;
    see_other(&format!("/registry/{id}"))
}
