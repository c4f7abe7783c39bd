//! Web sessions: an existing API token, pasted once into the sign-in form, becomes a random
//! session id in an `HttpOnly; SameSite=Strict` cookie. The database keeps the id's SHA-256, the
//! token it acts as, a per-session CSRF secret and an expiry. A session lives no longer than its
//! token: every lookup joins `tokens` and needs `revoked_at IS NULL`.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method};
use serde_json::json;
use sqlx::Row;
use subtle::ConstantTimeEq;

use crate::auth::{Caller, Role};
use crate::problem::Problem;
use crate::server::AppState;
use crate::store::{audit, Audit};
use crate::util;

pub const COOKIE: &str = "iotassure_session";
/// Before sign-in there is no session to hold a CSRF secret: the sign-in and public forms use a
/// double-submit cookie instead (its value echoed in the form).
pub const PRE_COOKIE: &str = "iotassure_presession";
/// Absolute lifetime of a session; signing in again makes a new one.
pub const LIFETIME: time::Duration = time::Duration::hours(8);

/// A signed-in browser.
#[derive(Debug, Clone)]
pub struct Session {
    pub caller: Caller,
    pub csrf: String,
    id_hash: String,
}

/// Who is looking at a page: a session, or the public with its pre-session CSRF cookie (if any).
#[derive(Debug, Clone)]
pub struct Viewer {
    pub session: Option<Session>,
    pub pre_csrf: Option<String>,
    /// Behind TLS (or a proxy that says so): cookies get `Secure`.
    pub https: bool,
}

impl Viewer {
    pub fn caller(&self) -> Caller {
        self.session
            .as_ref()
            .map(|s| s.caller.clone())
            .unwrap_or_else(Caller::public)
    }

    /// The CSRF value the page's forms carry.
    pub fn csrf(&self) -> &str {
        match (&self.session, &self.pre_csrf) {
            (Some(s), _) => &s.csrf,
            (None, Some(p)) => p,
            (None, None) => "",
        }
    }

    /// Checks a submitted form's CSRF field against this browser's secret, in constant time.
    pub fn check_csrf(&self, sent: &str) -> Result<(), Problem> {
        let want = self.csrf();
        if !want.is_empty() && bool::from(want.as_bytes().ct_eq(sent.as_bytes())) {
            return Ok(());
        }
        Err(Problem::forbidden(
            "this form's anti-forgery token does not match your session: reload the page and send it again",
        ))
    }
}

pub fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty() && v.len() <= 200)
}

pub fn is_https(headers: &HeaderMap, st: &AppState) -> bool {
    let proxied = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"));
    proxied
        || st
            .config
            .public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
}

/// `Set-Cookie` for `name=value`; `max_age` 0 deletes it.
pub fn set_cookie(name: &str, value: &str, max_age: i64, https: bool) -> String {
    format!(
        "{name}={value}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age}{}",
        if https { "; Secure" } else { "" }
    )
}

async fn lookup(st: &AppState, raw: &str) -> Result<Option<Session>, Problem> {
    let id_hash = util::sha256_hex(raw.as_bytes());
    let row = sqlx::query(
        "SELECT s.csrf, s.expires_at, t.id, t.role, t.org_id FROM web_sessions s JOIN tokens t ON t.id = s.token_id \
         WHERE s.id_hash = $1 AND t.revoked_at IS NULL",
    )
    .bind(&id_hash)
    .fetch_optional(&st.store.pool)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let expires: String = r.try_get("expires_at")?;
    // Fixed-width UTC stamps compare as text.
    if expires <= util::now() {
        return Ok(None);
    }
    let role: String = r.try_get("role")?;
    Ok(Some(Session {
        caller: Caller {
            role: Role::parse(&role).unwrap_or(Role::Public),
            org: r.try_get("org_id")?,
            token_id: Some(r.try_get("id")?),
        },
        csrf: r.try_get("csrf")?,
        id_hash,
    }))
}

impl FromRequestParts<Arc<AppState>> for Viewer {
    type Rejection = Problem;
    async fn from_request_parts(parts: &mut Parts, st: &Arc<AppState>) -> Result<Self, Problem> {
        let session = match cookie_value(&parts.headers, COOKIE) {
            Some(raw) => lookup(st, raw).await?,
            None => None,
        };
        Ok(Viewer {
            session,
            pre_csrf: cookie_value(&parts.headers, PRE_COOKIE).map(str::to_string),
            https: is_https(&parts.headers, st),
        })
    }
}

/// The API's caller when no `Authorization` header is sent: the session's for GET and HEAD (so a
/// signed-in browser can follow links to JSON resources), the public's for anything else.
pub async fn api_caller(parts: &Parts, st: &AppState) -> Result<Caller, Problem> {
    if parts.method != Method::GET && parts.method != Method::HEAD {
        return Ok(Caller::public());
    }
    match cookie_value(&parts.headers, COOKIE) {
        Some(raw) => Ok(lookup(st, raw)
            .await?
            .map(|s| s.caller)
            .unwrap_or_else(Caller::public)),
        None => Ok(Caller::public()),
    }
}

/// Opens a session for `token`; returns the caller and the raw session id for the cookie.
pub async fn open(st: &AppState, token: &str) -> Result<(Caller, String), Problem> {
    let caller = crate::auth::lookup(st, token.trim())
        .await?
        .filter(|c| c.role != Role::Public)
        .ok_or_else(|| Problem::unauthorized("unknown or revoked token"))?;
    let token_id = caller.token_id.clone().unwrap_or_default();
    // Its own prefix: a leaked session id is told apart from an API token at a glance.
    let raw = util::new_token().replacen("iat_", "ias_", 1);
    let now = time::OffsetDateTime::now_utc();
    let mut tx = st.store.write().await?;
    sqlx::query("DELETE FROM web_sessions WHERE expires_at <= $1")
        .bind(util::stamp(now))
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO web_sessions (id_hash, token_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(util::sha256_hex(raw.as_bytes()))
        .bind(&token_id)
        .bind(util::new_token())
        .bind(util::stamp(now))
        .bind(util::stamp(now + LIFETIME))
        .execute(&mut *tx)
        .await?;
    audit(
        &mut tx,
        Audit {
            actor: &caller.actor(),
            action: "session.open",
            subject: &token_id,
            before: serde_json::Value::Null,
            after: json!({"expires_in_hours": LIFETIME.whole_hours()}),
        },
    )
    .await?;
    tx.commit().await?;
    st.changed();
    Ok((caller, raw))
}

/// Sign-out: the row goes, so the cookie is worthless even if a copy survives.
pub async fn close(st: &AppState, s: &Session) -> Result<(), Problem> {
    let mut tx = st.store.write().await?;
    sqlx::query("DELETE FROM web_sessions WHERE id_hash = $1")
        .bind(&s.id_hash)
        .execute(&mut *tx)
        .await?;
    audit(
        &mut tx,
        Audit {
            actor: &s.caller.actor(),
            action: "session.close",
            subject: s.caller.token_id.as_deref().unwrap_or(""),
            before: serde_json::Value::Null,
            after: serde_json::Value::Null,
        },
    )
    .await?;
    tx.commit().await?;
    st.changed();
    Ok(())
}
