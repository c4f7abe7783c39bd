//! The admin pages: organisations, tokens (the secret shown once), signing keys, and the audit
//! log with the chain check.

use askama::Template;
use axum::extract::{Path, Query};
use serde::Deserialize;
use sqlx::Row;

use super::{render, require, see_other, Chrome, Fail, Form, PageResult, St, Viewer};
use crate::auth::Role;
use crate::keys::PublishedKey;
use crate::problem::Problem;
use crate::registry::{self, IssuedToken, NewOrg, NewToken, Org};
use crate::store::ChainCheck;

pub struct TokenRow {
    pub id: String,
    pub role: String,
    pub org: String,
    pub label: String,
    pub created: String,
    pub revoked: String,
}

pub struct AuditRow {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub after: String,
}

#[derive(Template)]
#[template(path = "admin.html")]
struct AdminPage {
    c: Chrome,
    orgs: Vec<Org>,
    tokens: Vec<TokenRow>,
    keys: Vec<PublishedKey>,
    chain: ChainCheck,
    recent: Vec<AuditRow>,
    roles: Vec<&'static str>,
    kinds: [&'static str; 3],
    issued: Option<IssuedToken>,
}

async fn tokens(st: &St) -> Result<Vec<TokenRow>, Problem> {
    let rows = sqlx::query(
        "SELECT t.id, t.role, t.label, t.created_at, t.revoked_at, o.name AS org FROM tokens t \
         LEFT JOIN organisations o ON o.id = t.org_id ORDER BY t.created_at DESC LIMIT 500",
    )
    .fetch_all(&st.store.pool)
    .await?;
    let mut out = Vec::new();
    for r in rows {
        out.push(TokenRow {
            id: r.try_get("id")?,
            role: r.try_get("role")?,
            org: r.try_get::<Option<String>, _>("org")?.unwrap_or_default(),
            label: r.try_get("label")?,
            created: short(&r.try_get::<String, _>("created_at")?),
            revoked: r
                .try_get::<Option<String>, _>("revoked_at")?
                .map(|s| short(&s))
                .unwrap_or_default(),
        });
    }
    Ok(out)
}

fn short(stamp: &str) -> String {
    stamp.get(..16).unwrap_or(stamp).replace('T', " ")
}

/// Audit entries after `after`, oldest first.
async fn audit_rows(st: &St, after: i64, limit: i64) -> Result<Vec<AuditRow>, Problem> {
    let rows = sqlx::query(
        "SELECT seq, at, actor, action, subject, after_state FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(&st.store.pool)
    .await?;
    let mut out = Vec::new();
    for r in rows {
        let mut after: String = r.try_get("after_state")?;
        if after.len() > 300 {
            let mut cut = 300;
            while !after.is_char_boundary(cut) {
                cut -= 1;
            }
            after.truncate(cut);
            after.push('…');
        }
        out.push(AuditRow {
            seq: r.try_get("seq")?,
            at: short(&r.try_get::<String, _>("at")?),
            actor: r.try_get("actor")?,
            action: r.try_get("action")?,
            subject: r.try_get("subject")?,
            after,
        });
    }
    Ok(out)
}

async fn show(st: &St, v: &Viewer, issued: Option<IssuedToken>) -> PageResult {
    let who = require(v, &[Role::Admin])?;
    let chain = st
        .store
        .verify_chain()
        .await
        .map_err(|e| Problem::internal(format!("checking the audit chain: {e}")))?;
    let recent = audit_rows(st, (chain.entries - 10).max(0), 10).await?;
    render(&AdminPage {
        c: Chrome::new(st, v),
        orgs: registry::list_orgs(st, &who).await?,
        tokens: tokens(st).await?,
        keys: st.keys.published(&st.store).await?,
        chain,
        recent,
        roles: Role::ALL
            .iter()
            .filter(|r| **r != Role::Public)
            .map(|r| r.as_str())
            .collect(),
        kinds: registry::ORG_KINDS,
        issued,
    })
}

pub async fn page(st: St, v: Viewer) -> PageResult {
    show(&st, &v, None).await
}

#[derive(Deserialize)]
pub struct OrgForm {
    #[serde(default)]
    csrf: String,
    name: String,
    kind: String,
}

pub async fn create_org(st: St, v: Viewer, Form(f): Form<OrgForm>) -> PageResult {
    v.check_csrf(&f.csrf)?;
    let who = require(&v, &[Role::Admin])?;
    registry::create_org(
        &st,
        &who,
        NewOrg {
            name: f.name,
            kind: f.kind,
        },
    )
    .await?;
    see_other("/admin#orgs")
}

#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    csrf: String,
    role: String,
    #[serde(default)]
    org: String,
    #[serde(default)]
    label: String,
}

/// Answers with the admin page itself (not a redirect), so the secret is shown once and never
/// lands in a URL or history entry.
pub async fn create_token(st: St, v: Viewer, Form(f): Form<TokenForm>) -> PageResult {
    v.check_csrf(&f.csrf)?;
    let who = require(&v, &[Role::Admin])?;
    let role = Role::parse(&f.role)
        .ok_or_else(|| Problem::invalid(format!("`role`: no role {:?}", f.role)))?;
    let trimmed = |s: String| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let issued = registry::create_token(
        &st,
        &who,
        NewToken {
            role,
            org: trimmed(f.org),
            label: trimmed(f.label),
        },
    )
    .await?;
    show(&st, &v, Some(issued)).await
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn revoke_token(
    st: St,
    v: Viewer,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> PageResult {
    v.check_csrf(&f.csrf)?;
    let who = require(&v, &[Role::Admin])?;
    registry::revoke_token(&st, &who, &id).await?;
    see_other("/admin#tokens")
}

pub async fn rotate_key(st: St, v: Viewer, Form(f): Form<CsrfForm>) -> PageResult {
    v.check_csrf(&f.csrf)?;
    let who = require(&v, &[Role::Admin])?;
    st.keys.rotate(&st.store, &who.actor()).await?;
    see_other("/admin#keys")
}

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    after: Option<i64>,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    c: Chrome,
    chain: ChainCheck,
    rows: Vec<AuditRow>,
    prev: Option<i64>,
    next: Option<i64>,
}

const AUDIT_PAGE: i64 = 50;

pub async fn audit(
    st: St,
    v: Viewer,
    q: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> PageResult {
    require(&v, &[Role::Admin])?;
    let after = q
        .map_err(|e| Fail(Problem::bad_request(e.body_text())))?
        .0
        .after
        .unwrap_or(0)
        .max(0);
    let chain = st
        .store
        .verify_chain()
        .await
        .map_err(|e| Problem::internal(format!("checking the audit chain: {e}")))?;
    let rows = audit_rows(&st, after, AUDIT_PAGE).await?;
    let last = rows.last().map(|r| r.seq).unwrap_or(after);
    render(&AuditPage {
        c: Chrome::new(&st, &v),
        prev: (after > 0).then(|| (after - AUDIT_PAGE).max(0)),
        next: (last < chain.entries).then_some(last),
        chain,
        rows,
    })
}
