//! The maker dashboard: its own products, assessments and certificates, and its webhook.

use askama::Template;
use axum::extract::Query;
use serde::Deserialize;
use sqlx::Row;

use super::{plain_date, render, require, see_other, Chrome, Form, PageResult, St, Viewer};
use crate::auth::Role;
use crate::certify::{self, Certificate, Search};
use crate::problem::Problem;
use crate::registry::{self, Org, Webhook};

pub struct AssessmentRow {
    pub id: String,
    pub model: String,
    pub hardware_version: String,
    pub firmware_version: String,
    pub profile: String,
    pub submitted: String,
}

pub struct CertRow {
    pub c: Certificate,
    pub until: String,
}

#[derive(Template)]
#[template(path = "maker.html")]
struct Dashboard {
    c: Chrome,
    org: Org,
    products: i64,
    assessments: Vec<AssessmentRow>,
    certs: Vec<CertRow>,
    saved: bool,
    desk: super::desk::DeskSummary,
}

#[derive(Deserialize, Default)]
pub struct DashQuery {
    #[serde(default)]
    saved: Option<String>,
}

/// At most this many rows per table; a maker with more uses the API's paginated lists.
const LIMIT: i64 = 200;

pub async fn assessments_of(st: &St, maker: &str) -> Result<Vec<AssessmentRow>, Problem> {
    let rows = sqlx::query(
        "SELECT a.id, a.profile, a.created_at, f.version, p.model, p.hardware_version FROM assessments a \
         JOIN firmware f ON f.id = a.firmware_id JOIN products p ON p.id = f.product_id \
         WHERE p.maker_id = $1 ORDER BY a.created_at DESC LIMIT $2",
    )
    .bind(maker)
    .bind(LIMIT)
    .fetch_all(&st.store.pool)
    .await?;
    let mut out = Vec::new();
    for r in rows {
        out.push(AssessmentRow {
            id: r.try_get("id")?,
            model: r.try_get("model")?,
            hardware_version: r.try_get("hardware_version")?,
            firmware_version: r.try_get("version")?,
            profile: r.try_get("profile")?,
            submitted: plain_date(&r.try_get::<String, _>("created_at")?),
        });
    }
    Ok(out)
}

pub async fn dashboard(
    st: St,
    v: Viewer,
    q: Result<Query<DashQuery>, axum::extract::rejection::QueryRejection>,
) -> PageResult {
    let who = require(&v, &[Role::Maker])?;
    let org_id = who.org.clone().unwrap_or_default();
    let org = registry::find_org(&st, &org_id)
        .await?
        .ok_or_else(|| Problem::not_found("your organisation no longer exists"))?;
    let products: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM products WHERE maker_id = $1")
        .bind(&org.id)
        .fetch_one(&st.store.pool)
        .await?;
    let certs = certify::search(
        &st,
        Search {
            maker: Some(org.id.clone()),
            per_page: Some(100),
            ..Default::default()
        },
    )
    .await?;
    let page = Dashboard {
        c: Chrome::new(&st, &v),
        products,
        assessments: assessments_of(&st, &org.id).await?,
        certs: certs
            .items
            .into_iter()
            .map(|c| CertRow {
                until: plain_date(&c.valid_until),
                c,
            })
            .collect(),
        saved: q.ok().and_then(|q| q.0.saved).is_some(),
        desk: super::desk::summary(&st, &who, &org.id).await?,
        org,
    };
    render(&page)
}

#[derive(Deserialize)]
pub struct WebhookForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    url: String,
}

pub async fn webhook(st: St, v: Viewer, Form(f): Form<WebhookForm>) -> PageResult {
    v.check_csrf(&f.csrf)?;
    let who = require(&v, &[Role::Maker])?;
    let url = f.url.trim();
    registry::set_webhook(
        &st,
        &who,
        who.org.as_deref().unwrap_or(""),
        Webhook {
            url: (!url.is_empty()).then(|| url.to_string()),
        },
    )
    .await?;
    see_other("/maker?saved=webhook")
}
