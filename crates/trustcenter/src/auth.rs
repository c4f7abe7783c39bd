//! Roles and bearer tokens. A token is 256 random bits shown once; the database keeps only its
//! SHA-256. Looked-up tokens are cached per audit generation, so a revocation takes effect on
//! the next request of this instance and within one poll interval on the others.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::problem::Problem;
use crate::server::AppState;
use crate::util;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Runs the trust center: organisations, tokens, keys, the audit log.
    Admin,
    /// A lab: submits assessments, issues, suspends and revokes certificates, loads advisories.
    Certifier,
    /// A manufacturer: its own products, assessments, certificates and webhook.
    Maker,
    /// A network operator: admission queries.
    Operator,
    /// A security researcher (signed in to follow vulnerability reports).
    Researcher,
    /// No token: the public registry.
    Public,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Admin,
        Role::Certifier,
        Role::Maker,
        Role::Operator,
        Role::Researcher,
        Role::Public,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Certifier => "certifier",
            Role::Maker => "maker",
            Role::Operator => "operator",
            Role::Researcher => "researcher",
            Role::Public => "public",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The organisation kind a token of this role must belong to (`None`: no organisation).
    pub fn org_kind(self) -> Option<&'static str> {
        match self {
            Role::Certifier => Some("lab"),
            Role::Maker => Some("maker"),
            Role::Operator => Some("operator"),
            _ => None,
        }
    }
}

/// Who is calling.
#[derive(Debug, Clone)]
pub struct Caller {
    pub role: Role,
    pub org: Option<String>,
    pub token_id: Option<String>,
}

impl Caller {
    pub fn public() -> Caller {
        Caller {
            role: Role::Public,
            org: None,
            token_id: None,
        }
    }

    /// The actor recorded in the audit log.
    pub fn actor(&self) -> String {
        match (&self.token_id, &self.org) {
            (Some(t), Some(o)) => format!("{}:{o}:token:{t}", self.role.as_str()),
            (Some(t), None) => format!("{}:token:{t}", self.role.as_str()),
            _ => "public".into(),
        }
    }

    /// 401 without a token, 403 with a token of another role.
    pub fn require(&self, roles: &[Role]) -> Result<(), Problem> {
        if roles.contains(&self.role) {
            return Ok(());
        }
        if self.role == Role::Public {
            return Err(Problem::unauthorized(format!(
                "this needs a bearer token of role {}",
                names(roles)
            )));
        }
        Err(Problem::forbidden(format!(
            "a {} token cannot do this; it needs {}",
            self.role.as_str(),
            names(roles)
        )))
    }

    /// A maker may touch only its own organisation's records; admin and certifiers any.
    pub fn may_see_org(&self, org: &str) -> bool {
        match self.role {
            Role::Admin | Role::Certifier => true,
            Role::Maker => self.org.as_deref() == Some(org),
            _ => false,
        }
    }
}

fn names(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(" or ")
}

/// Token hash → caller (`None`: unknown or revoked), per audit generation.
pub type TokenCache = crate::cache::GenCache<String, Option<Caller>>;

impl FromRequestParts<Arc<AppState>> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Problem> {
        let header = parts.headers.get(axum::http::header::AUTHORIZATION);
        let token = match header {
            // A web session authenticates reads only: a state change needs the bearer token or
            // a page's CSRF-checked form (see the web module).
            None => return crate::web::session::api_caller(parts, state).await,
            Some(h) => {
                let h = h
                    .to_str()
                    .map_err(|_| Problem::unauthorized("malformed Authorization header"))?;
                h.strip_prefix("Bearer ")
                    .ok_or_else(|| Problem::unauthorized("expected `Authorization: Bearer TOKEN`"))?
                    .trim()
                    .to_string()
            }
        };
        lookup(state, &token)
            .await?
            .ok_or_else(|| Problem::unauthorized("unknown or revoked token"))
    }
}

/// Resolves a token to its caller (`None`: unknown or revoked).
pub async fn lookup(state: &AppState, token: &str) -> Result<Option<Caller>, Problem> {
    if token.len() > 200 {
        return Ok(None);
    }
    let hash = util::sha256_hex(token.as_bytes());
    if let Some(c) = state.tokens.get(&hash) {
        return Ok(c);
    }
    let row = sqlx::query("SELECT id, role, org_id, revoked_at FROM tokens WHERE token_hash = $1")
        .bind(&hash)
        .fetch_optional(&state.store.pool)
        .await?;
    let caller = match row {
        Some(r) if r.try_get::<Option<String>, _>("revoked_at")?.is_none() => {
            let role: String = r.try_get("role")?;
            Some(Caller {
                role: Role::parse(&role).unwrap_or(Role::Public),
                org: r.try_get("org_id")?,
                token_id: Some(r.try_get("id")?),
            })
        }
        _ => None,
    };
    state.tokens.put(hash, caller.clone());
    Ok(caller)
}
