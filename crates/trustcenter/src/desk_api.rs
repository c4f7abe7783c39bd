//! The disclosure desk's HTTP endpoints (see [`crate::desk`]); merged into [`crate::api`]'s router
//! and OpenAPI document.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequest, Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use crate::api::{parse_json, Body, Q};
use crate::auth::{Caller, Role};
use crate::desk::{self, attachments, flow, policy};
use crate::problem::{ApiResult, Problem};
use crate::server::AppState;

type St = State<Arc<AppState>>;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/api/v1/reports",
            // The attachments' own caps apply (and the rest of an oversized part is drained so
            // the client hears the 413), not the service-wide body cap.
            get(list_reports)
                .post(file_report)
                .layer(DefaultBodyLimit::max(
                    attachments::MAX_FILES * attachments::MAX_FILE + crate::jobs::DRAIN,
                )),
        )
        .route("/api/v1/reports/{id}", get(report))
        .route("/api/v1/reports/{id}/transition", post(transition))
        .route("/api/v1/reports/{id}/messages", post(message))
        .route("/api/v1/reports/{id}/attachments/{n}", get(attachment))
        .route("/api/v1/follow/{secret}", get(follow))
        .route("/api/v1/follow/{secret}/messages", post(follow_message))
        .route(
            "/api/v1/orgs/{id}/disclosure-policy",
            get(get_policy).put(set_policy),
        )
        .route("/api/v1/orgs/{id}/track-record", get(track_record))
}

/// Files a vulnerability report: JSON ([`desk::NewReport`]), or multipart with the same fields
/// (or one `report` JSON part) and up to 5 `attachment` files of 10 MiB each. Anyone may file;
/// anonymous filings are limited per address (429 with Retry-After). The answer holds the
/// follow-up secret, shown once.
#[utoipa::path(post, path = "/api/v1/reports", tag = "disclosure", request_body = desk::NewReport, responses((status = 201, body = desk::Filed), (status = 429, description = "too many anonymous reports")))]
pub(crate) async fn file_report(State(st): St, who: Caller, req: Request) -> ApiResult<Response> {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let (report, staged) = if multipart {
        let mut mp = axum::extract::Multipart::from_request(req, &st)
            .await
            .map_err(|e| Problem::bad_request(e.body_text()))?;
        attachments::read_multipart(&st, &mut mp).await?
    } else {
        let Body(b) = Body::from_request(req, &st).await?;
        (parse_json(&b)?, attachments::Staged::none())
    };
    let filed = desk::file(&st, &who, peer, report, staged).await?;
    Ok((StatusCode::CREATED, Json(filed)).into_response())
}

/// Reports, overdue first. Roles: maker (its own), researcher (the ones it filed), admin.
#[utoipa::path(get, path = "/api/v1/reports", tag = "disclosure", security(("bearer" = [])), params(desk::ListQuery), responses((status = 200, body = [desk::Summary])))]
pub(crate) async fn list_reports(
    State(st): St,
    who: Caller,
    Q(q): Q<desk::ListQuery>,
) -> ApiResult<Json<Vec<desk::Summary>>> {
    Ok(Json(desk::list(&st, &who, q).await?))
}

/// One report with its deadlines and thread. Roles: its maker, its signed-in reporter, admin.
#[utoipa::path(get, path = "/api/v1/reports/{id}", tag = "disclosure", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = desk::Report)))]
pub(crate) async fn report(
    State(st): St,
    who: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<desk::Report>> {
    who.require(&[Role::Admin, Role::Maker, Role::Researcher])?;
    Ok(Json(desk::get(&st, &who, &id).await?))
}

/// Moves a report on (acknowledged, triaged, fix_planned, fixed, disclosed, rejected, duplicate).
/// Roles: its maker, admin.
#[utoipa::path(post, path = "/api/v1/reports/{id}/transition", tag = "disclosure", security(("bearer" = [])), params(("id" = String, Path)), request_body = flow::Transition, responses((status = 200, body = desk::Report)))]
pub(crate) async fn transition(
    State(st): St,
    who: Caller,
    Path(id): Path<String>,
    Body(b): Body,
) -> ApiResult<Json<desk::Report>> {
    who.require(&[Role::Admin, Role::Maker])?;
    Ok(Json(
        flow::transition(&st, &who, &id, parse_json(&b)?).await?,
    ))
}

/// Writes on the report's thread. Roles: its maker, its signed-in reporter, admin.
#[utoipa::path(post, path = "/api/v1/reports/{id}/messages", tag = "disclosure", security(("bearer" = [])), params(("id" = String, Path)), request_body = flow::Message, responses((status = 200, body = desk::Report)))]
pub(crate) async fn message(
    State(st): St,
    who: Caller,
    Path(id): Path<String>,
    Body(b): Body,
) -> ApiResult<Json<desk::Report>> {
    who.require(&[Role::Admin, Role::Maker, Role::Researcher])?;
    Ok(Json(flow::message(&st, &who, &id, parse_json(&b)?).await?))
}

/// An attachment, as an opaque download (never rendered: it came from a stranger). Roles: the
/// report's maker, its signed-in reporter, admin.
#[utoipa::path(get, path = "/api/v1/reports/{id}/attachments/{n}", tag = "disclosure", security(("bearer" = [])), params(("id" = String, Path), ("n" = i64, Path)), responses((status = 200, content_type = "application/octet-stream")))]
pub(crate) async fn attachment(
    State(st): St,
    who: Caller,
    Path((id, n)): Path<(String, i64)>,
) -> ApiResult<Response> {
    who.require(&[Role::Admin, Role::Maker, Role::Researcher])?;
    desk::authorise(&st, &who, &id).await?;
    let (info, path) = attachments::path(&st, &id, n).await?;
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|e| Problem::internal(format!("reading attachment {n}: {e}")))?;
    let safe: String = info
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || ".-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{safe}\""),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        ],
        bytes,
    )
        .into_response())
}

/// The report as its reporter follows it, by the secret from the filing answer. Anyone holding
/// the secret.
#[utoipa::path(get, path = "/api/v1/follow/{secret}", tag = "disclosure", params(("secret" = String, Path)), responses((status = 200, body = desk::Report)))]
pub(crate) async fn follow(State(st): St, Path(secret): Path<String>) -> ApiResult<Response> {
    let r = desk::follow(&st, &secret).await?;
    // The secret is in the URL: keep it out of other sites' logs.
    Ok(([(header::REFERRER_POLICY, "no-referrer")], Json(r)).into_response())
}

/// The reporter writes on the thread (the maker's webhook is told). Anyone holding the secret.
#[utoipa::path(post, path = "/api/v1/follow/{secret}/messages", tag = "disclosure", params(("secret" = String, Path)), request_body = flow::Message, responses((status = 200, body = desk::Report)))]
pub(crate) async fn follow_message(
    State(st): St,
    Path(secret): Path<String>,
    Body(b): Body,
) -> ApiResult<Json<desk::Report>> {
    Ok(Json(
        flow::message_by_secret(&st, &secret, parse_json(&b)?).await?,
    ))
}

/// The disclosure policy the desk applies to a maker's new reports, and where each figure comes
/// from. Public.
#[utoipa::path(get, path = "/api/v1/orgs/{id}/disclosure-policy", tag = "disclosure", params(("id" = String, Path)), responses((status = 200, body = policy::PolicyView)))]
pub(crate) async fn get_policy(
    State(st): St,
    Path(id): Path<String>,
) -> ApiResult<Json<policy::PolicyView>> {
    Ok(Json(policy::get(&st, &id).await?))
}

/// Sets a maker's disclosure policy (for reports filed from now on). Roles: admin, maker (its
/// own).
#[utoipa::path(put, path = "/api/v1/orgs/{id}/disclosure-policy", tag = "disclosure", security(("bearer" = [])), params(("id" = String, Path)), request_body = desk::Policy, responses((status = 200, body = policy::PolicyView)))]
pub(crate) async fn set_policy(
    State(st): St,
    who: Caller,
    Path(id): Path<String>,
    Body(b): Body,
) -> ApiResult<Json<policy::PolicyView>> {
    who.require(&[Role::Admin, Role::Maker])?;
    Ok(Json(policy::set(&st, &who, &id, parse_json(&b)?).await?))
}

/// A maker's track record at the desk: median days to acknowledge and to fix, the share of
/// deadlines kept, overdue reports. Public: the evidence for EN 303 645 5.2-2.
#[utoipa::path(get, path = "/api/v1/orgs/{id}/track-record", tag = "disclosure", params(("id" = String, Path)), responses((status = 200, body = policy::TrackRecord)))]
pub(crate) async fn track_record(
    State(st): St,
    Path(id): Path<String>,
) -> ApiResult<Json<policy::TrackRecord>> {
    Ok(Json(policy::track_record(&st, &id).await?))
}
