//! The HTTP API under `/api/v1/`: JSON in and out, RFC 9457 problem+json for every error, a
//! body-size cap, paginated lists, and an OpenAPI 3.1 document generated from these handlers.
//!
//! Each handler checks its own roles (`Caller::require`); the table in docs/trustcenter.md and
//! the authorisation-matrix test hold the expected answer independently.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use sqlx::Row;
use utoipa::OpenApi;

use crate::admission::{self, Batch, BatchResult, Decision};
use crate::auth::{Caller, Role};
use crate::certify::{self, Certificate, CertifyRequest, Page, Search, StatusChange};
use crate::keys::PublishedKey;
use crate::problem::{ApiResult, Problem};
use crate::recheck::{self, Changes, ChangesQuery, Loaded, Run, VexStatement};
use crate::registry::{
    self, AssessmentInfo, IssuedToken, NewOrg, NewToken, Org, SubmitParams, Submitted, Webhook,
};
use crate::server::AppState;
use crate::store::ChainCheck;

type St = State<Arc<AppState>>;

pub fn router(state: Arc<AppState>) -> Router {
    let limit = state.config.max_body;
    Router::new()
        .route("/api/v1/openapi.json", get(openapi))
        .route("/api/v1/keys", get(keys))
        .route("/api/v1/keys/rotate", post(rotate_key))
        .route("/api/v1/orgs", get(list_orgs).post(create_org))
        .route("/api/v1/orgs/{id}/webhook", put(set_webhook))
        .route("/api/v1/tokens", post(create_token))
        .route("/api/v1/tokens/{id}", delete(revoke_token))
        .route("/api/v1/assessments", post(submit))
        .route("/api/v1/assessments/{id}", get(assessment))
        .route("/api/v1/assessments/{id}/report", get(assessment_report))
        .route("/api/v1/certificates", get(search).post(certify))
        .route("/api/v1/certificates/{id}", get(certificate))
        .route("/api/v1/certificates/{id}/attestation", get(attestation))
        .route("/api/v1/certificates/{id}/status", post(change_status))
        .route(
            "/api/v1/certificates/{id}/changes",
            get(certificate_changes),
        )
        .route("/api/v1/admission", get(admission))
        .route("/api/v1/admission/batch", post(admission_batch))
        .route("/api/v1/advisories", post(load_advisories))
        .route("/api/v1/recheck", post(recheck))
        .route("/api/v1/changes", get(changes))
        .route("/api/v1/vex", post(vex))
        .route(
            "/api/v1/jobs",
            post(upload).layer(DefaultBodyLimit::max(state.config.max_upload + (64 << 20))),
        )
        .route("/api/v1/jobs/{id}", get(job))
        .route("/api/v1/audit", get(audit_log))
        .route("/api/v1/audit/verify", get(audit_verify))
        .merge(crate::desk_api::routes())
        .route("/healthz", get(|| async { "ok" }))
        .merge(crate::web::router(state.clone()))
        .fallback(|| async { Problem::not_found("no such resource") })
        .method_not_allowed_fallback(|| async {
            Problem::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method",
                "Method not allowed",
                "this resource does not take that method",
            )
        })
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}

/// The request body, with a refusal as problem+json (413 past the cap).
pub struct Body(pub Bytes);

/// Past the cap, the rest of a body is still read (and dropped) up to this much, so that a client
/// that sends the whole body before reading gets the 413 problem instead of a reset connection.
const DRAIN: usize = 64 << 20;

impl FromRequest<Arc<AppState>> for Body {
    type Rejection = Problem;
    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, Problem> {
        use futures_util::StreamExt;
        let limit = state.config.max_body;
        let mut stream = req.into_body().into_data_stream();
        let mut buf = Vec::new();
        let mut seen = 0usize;
        while let Some(chunk) = stream.next().await {
            let chunk =
                chunk.map_err(|e| Problem::bad_request(format!("reading the body: {e}")))?;
            seen += chunk.len();
            if seen <= limit {
                buf.extend_from_slice(&chunk);
            } else if seen > limit + DRAIN {
                break;
            }
        }
        if seen > limit {
            return Err(Problem::too_large(format!(
                "the request body is larger than this trust center accepts ({limit} bytes, --max-body)"
            )));
        }
        Ok(Body(Bytes::from(buf)))
    }
}

/// Query parameters, refused as problem+json (unknown parameters are refused too).
pub struct Q<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Q<T> {
    type Rejection = Problem;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        let q = parts.uri.query().unwrap_or("");
        if q.len() > 8192 {
            return Err(Problem::bad_request("query string too long"));
        }
        serde_urlencoded_parse(q).map(Q)
    }
}

fn serde_urlencoded_parse<T: DeserializeOwned>(q: &str) -> Result<T, Problem> {
    axum::extract::Query::<T>::try_from_uri(
        &format!("/?{q}")
            .parse()
            .map_err(|_| Problem::bad_request("malformed query string"))?,
    )
    .map(|axum::extract::Query(t)| t)
    .map_err(|e| Problem::bad_request(e.body_text()))
}

pub(crate) fn parse_json<T: DeserializeOwned>(b: &[u8]) -> ApiResult<T> {
    serde_json::from_slice(b).map_err(|e| {
        if e.is_syntax() || e.is_eof() {
            Problem::bad_request(format!(
                "malformed JSON (line {}, column {}): {e}",
                e.line(),
                e.column()
            ))
        } else {
            Problem::invalid(format!("{e}"))
        }
    })
}

fn created<T: serde::Serialize>(t: T) -> Response {
    (StatusCode::CREATED, Json(t)).into_response()
}

fn check_id(id: &str, what: &str) -> ApiResult<()> {
    if crate::util::is_id(id) {
        Ok(())
    } else {
        Err(Problem::not_found(format!("no such {what}")))
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "iotassure trust center", description = "Registry of certified IoT firmware, signed attestations, admission and re-check. Errors are RFC 9457 problem+json."),
    paths(keys, rotate_key, list_orgs, create_org, set_webhook, create_token, revoke_token, submit, assessment, assessment_report,
          search, certify, certificate, attestation, change_status, certificate_changes, admission, admission_batch,
          load_advisories, recheck, changes, vex, upload, job, audit_log, audit_verify,
          crate::desk_api::file_report, crate::desk_api::list_reports, crate::desk_api::report, crate::desk_api::transition,
          crate::desk_api::message, crate::desk_api::attachment, crate::desk_api::follow, crate::desk_api::follow_message,
          crate::desk_api::get_policy, crate::desk_api::set_policy, crate::desk_api::track_record),
    components(schemas(Role, Org, NewOrg, NewToken, IssuedToken, Webhook, Submitted, AssessmentInfo, Certificate, CertifyRequest,
        StatusChange, Page, Decision, Batch, BatchResult, Loaded, Run, Changes, VexStatement, ChainCheck, PublishedKey,
        crate::admission::Subject, crate::certify::HistoryEntry, crate::certify::ClauseSummary, crate::recheck::MatchRow, crate::recheck::StatusEvent, crate::jobs::Job,
        crate::desk::NewReport, crate::desk::Filed, crate::desk::Report, crate::desk::Summary, crate::desk::Cvss, crate::desk::Named,
        crate::desk::FixedIn, crate::desk::Event, crate::desk::State, crate::desk::Policy, crate::desk::Deadlines,
        crate::desk::deadlines::Deadline, crate::desk::Standing, crate::desk::Figures, crate::desk::attachments::Info,
        crate::desk::flow::Transition, crate::desk::flow::Message, crate::desk::policy::PolicyView, crate::desk::policy::Basis,
        crate::desk::policy::TrackRecord)),
    modifiers(&Security)
)]
pub struct ApiDoc;

struct Security;
impl utoipa::Modify for Security {
    fn modify(&self, o: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let c = o.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

async fn openapi() -> impl IntoResponse {
    Json(ApiDoc::openapi())
}

/// The service's public keys (current and retired), for offline verification.
#[utoipa::path(get, path = "/api/v1/keys", tag = "attestations", responses((status = 200, body = [PublishedKey])))]
async fn keys(State(st): St) -> ApiResult<Json<Vec<PublishedKey>>> {
    Ok(Json(st.keys.published(&st.store).await?))
}

/// Makes a new signing key; the old ones stay published for verification. Role: admin.
#[utoipa::path(post, path = "/api/v1/keys/rotate", tag = "attestations", security(("bearer" = [])), responses((status = 200, body = PublishedKey)))]
async fn rotate_key(State(st): St, who: Caller) -> ApiResult<Json<PublishedKey>> {
    who.require(&[Role::Admin])?;
    Ok(Json(st.keys.rotate(&st.store, &who.actor()).await?))
}

/// Organisations. Roles: admin, certifier.
#[utoipa::path(get, path = "/api/v1/orgs", tag = "registry", security(("bearer" = [])), responses((status = 200, body = [Org])))]
async fn list_orgs(State(st): St, who: Caller) -> ApiResult<Json<Vec<Org>>> {
    Ok(Json(registry::list_orgs(&st, &who).await?))
}

/// Creates a maker, lab or operator organisation. Role: admin.
#[utoipa::path(post, path = "/api/v1/orgs", tag = "registry", security(("bearer" = [])), request_body = NewOrg, responses((status = 201, body = Org)))]
async fn create_org(State(st): St, who: Caller, Body(b): Body) -> ApiResult<Response> {
    who.require(&[Role::Admin])?;
    Ok(created(
        registry::create_org(&st, &who, parse_json(&b)?).await?,
    ))
}

/// Sets the organisation's webhook. Roles: admin, maker (its own).
#[utoipa::path(put, path = "/api/v1/orgs/{id}/webhook", tag = "registry", security(("bearer" = [])), params(("id" = String, Path)), request_body = Webhook, responses((status = 200, body = Org)))]
async fn set_webhook(
    State(st): St,
    who: Caller,
    Path(id): Path<String>,
    Body(b): Body,
) -> ApiResult<Json<Org>> {
    who.require(&[Role::Admin, Role::Maker])?;
    Ok(Json(
        registry::set_webhook(&st, &who, &id, parse_json(&b)?).await?,
    ))
}

/// Makes a token (shown once). Role: admin.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "registry", security(("bearer" = [])), request_body = NewToken, responses((status = 201, body = IssuedToken)))]
async fn create_token(State(st): St, who: Caller, Body(b): Body) -> ApiResult<Response> {
    who.require(&[Role::Admin])?;
    Ok(created(
        registry::create_token(&st, &who, parse_json(&b)?).await?,
    ))
}

/// Revokes a token. Role: admin.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "registry", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200)))]
async fn revoke_token(
    State(st): St,
    who: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(registry::revoke_token(&st, &who, &id).await?))
}

/// Submits a report.json exactly as `iotassure assess` wrote it (the body). `Content-Digest:
/// sha-256=:…:` is checked when sent. Roles: certifier, maker (its own products).
#[utoipa::path(post, path = "/api/v1/assessments", tag = "registry", security(("bearer" = [])), params(SubmitParams), request_body(content = String, content_type = "application/json"), responses((status = 201, body = Submitted)))]
async fn submit(
    State(st): St,
    who: Caller,
    Q(p): Q<SubmitParams>,
    headers: HeaderMap,
    Body(b): Body,
) -> ApiResult<Response> {
    who.require(&[Role::Certifier, Role::Maker])?;
    let digest = headers.get("content-digest").and_then(|v| v.to_str().ok());
    Ok(created(registry::submit(&st, &who, p, &b, digest).await?))
}

/// A stored assessment. Roles: admin, certifier, maker (its own).
#[utoipa::path(get, path = "/api/v1/assessments/{id}", tag = "registry", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = AssessmentInfo)))]
async fn assessment(
    State(st): St,
    who: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<AssessmentInfo>> {
    Ok(Json(registry::assessment(&st, &who, &id).await?.0))
}

/// The report.json as submitted, byte for byte. Roles: admin, certifier, maker (its own).
#[utoipa::path(get, path = "/api/v1/assessments/{id}/report", tag = "registry", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, content_type = "application/json")))]
async fn assessment_report(
    State(st): St,
    who: Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let (_, report) = registry::assessment(&st, &who, &id).await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], report).into_response())
}

/// Searches the public registry.
#[utoipa::path(get, path = "/api/v1/certificates", tag = "certificates", params(Search), responses((status = 200, body = Page)))]
async fn search(State(st): St, Q(q): Q<Search>) -> ApiResult<Json<Page>> {
    Ok(Json(certify::search(&st, q).await?))
}

/// Issues a certificate for a stored assessment under a profile that passes; a refusal lists the
/// blocking provisions. Role: certifier.
#[utoipa::path(post, path = "/api/v1/certificates", tag = "certificates", security(("bearer" = [])), request_body = CertifyRequest, responses((status = 201, body = Certificate), (status = 422, description = "the profile does not pass; `blocking` lists why")))]
async fn certify(State(st): St, who: Caller, Body(b): Body) -> ApiResult<Response> {
    who.require(&[Role::Certifier])?;
    Ok(created(certify::issue(&st, &who, parse_json(&b)?).await?))
}

/// One certificate: model, firmware, validity, support period, status history, verdicts by clause.
#[utoipa::path(get, path = "/api/v1/certificates/{id}", tag = "certificates", params(("id" = String, Path)), responses((status = 200, body = Certificate)))]
async fn certificate(State(st): St, Path(id): Path<String>) -> ApiResult<Json<Certificate>> {
    Ok(Json(certify::get(&st, &id).await?))
}

/// The certificate's signed attestation: an in-toto Statement v1 in a DSSE envelope (Ed25519).
#[utoipa::path(get, path = "/api/v1/certificates/{id}/attestation", tag = "attestations", params(("id" = String, Path)), responses((status = 200, content_type = "application/json")))]
async fn attestation(State(st): St, Path(id): Path<String>) -> ApiResult<Response> {
    let env = certify::envelope(&st, &id).await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], env).into_response())
}

/// Suspends, revokes or reinstates a certificate, with a reason. Roles: admin, certifier.
#[utoipa::path(post, path = "/api/v1/certificates/{id}/status", tag = "certificates", security(("bearer" = [])), params(("id" = String, Path)), request_body = StatusChange, responses((status = 200, body = Certificate)))]
async fn change_status(
    State(st): St,
    who: Caller,
    Path(id): Path<String>,
    Body(b): Body,
) -> ApiResult<Json<Certificate>> {
    who.require(&[Role::Admin, Role::Certifier])?;
    Ok(Json(
        certify::change_status(&st, &who, &id, parse_json(&b)?).await?,
    ))
}

/// What re-checks changed for this certificate's firmware since a run (public).
#[utoipa::path(get, path = "/api/v1/certificates/{id}/changes", tag = "recheck", params(("id" = String, Path), ChangesQuery), responses((status = 200, body = Changes)))]
async fn certificate_changes(
    State(st): St,
    Path(id): Path<String>,
    Q(q): Q<ChangesQuery>,
) -> ApiResult<Json<Changes>> {
    check_id(&id, "certificate")?;
    Ok(Json(recheck::changes(&st, q, Some(&id)).await?))
}

/// May this firmware join the network? `allow` or `deny` with the reason. `format=vsa` answers
/// with a signed SLSA Verification Summary Attestation. Roles: admin, operator, certifier.
#[utoipa::path(get, path = "/api/v1/admission", tag = "admission", security(("bearer" = [])), params(admission::Query), responses((status = 200, body = Decision)))]
async fn admission(State(st): St, who: Caller, Q(q): Q<admission::Query>) -> ApiResult<Response> {
    let subject = admission::Subject {
        sha256: q.sha256,
        maker: q.maker,
        model: q.model,
        version: q.version,
        hardware_version: q.hardware_version,
    };
    let d = admission::decide(&st, &who, &subject).await?;
    match q.format.as_deref() {
        None | Some("json") => Ok(Json(d).into_response()),
        Some("vsa") => {
            let env = st.keys.sign_vsa(&d, &st.config.name)?;
            Ok(([(header::CONTENT_TYPE, "application/json")], env).into_response())
        }
        Some(f) => Err(Problem::invalid(format!(
            "`format`: json or vsa, not {f:?}"
        ))),
    }
}

/// Up to 1,000 admission questions in one request. Roles: admin, operator, certifier.
#[utoipa::path(post, path = "/api/v1/admission/batch", tag = "admission", security(("bearer" = [])), request_body = Batch, responses((status = 200, body = BatchResult)))]
async fn admission_batch(
    State(st): St,
    who: Caller,
    Body(b): Body,
) -> ApiResult<Json<BatchResult>> {
    who.require(&[Role::Admin, Role::Operator, Role::Certifier])?;
    Ok(Json(admission::batch(&st, &who, parse_json(&b)?).await?))
}

/// Loads OSV records (one or an array) and re-checks every certified release. Roles: admin, certifier.
#[utoipa::path(post, path = "/api/v1/advisories", tag = "recheck", security(("bearer" = [])), request_body(content = String, content_type = "application/json"), responses((status = 200, body = Loaded)))]
async fn load_advisories(State(st): St, who: Caller, Body(b): Body) -> ApiResult<Json<Loaded>> {
    who.require(&[Role::Admin, Role::Certifier])?;
    Ok(Json(recheck::load(&st, &who, &b).await?))
}

/// Re-checks every certified release against the stored advisories, and expires passed dates.
/// Roles: admin, certifier.
#[utoipa::path(post, path = "/api/v1/recheck", tag = "recheck", security(("bearer" = [])), responses((status = 200, body = Run)))]
async fn recheck(State(st): St, who: Caller) -> ApiResult<Json<Run>> {
    Ok(Json(recheck::run(&st, &who).await?))
}

/// What re-checks changed across the registry since a run. Roles: admin, certifier, operator.
#[utoipa::path(get, path = "/api/v1/changes", tag = "recheck", security(("bearer" = [])), params(ChangesQuery), responses((status = 200, body = Changes)))]
async fn changes(State(st): St, who: Caller, Q(q): Q<ChangesQuery>) -> ApiResult<Json<Changes>> {
    who.require(&[Role::Admin, Role::Certifier, Role::Operator])?;
    Ok(Json(recheck::changes(&st, q, None).await?))
}

/// A VEX statement about one vulnerability in one component of one firmware release, then a
/// re-check. Roles: maker (its own), certifier, admin.
#[utoipa::path(post, path = "/api/v1/vex", tag = "recheck", security(("bearer" = [])), request_body = VexStatement, responses((status = 200, body = Run)))]
async fn vex(State(st): St, who: Caller, Body(b): Body) -> ApiResult<Json<Run>> {
    who.require(&[Role::Maker, Role::Certifier, Role::Admin])?;
    Ok(Json(recheck::vex(&st, &who, parse_json(&b)?).await?))
}

/// Uploads a firmware image with its conformance statement and documents (multipart parts
/// `image`, `statement`, `doc`…, `maker`, `profile`, `support_end`) for the trust center's
/// workers to assess. Roles: certifier, maker (its own).
#[utoipa::path(post, path = "/api/v1/jobs", tag = "jobs", security(("bearer" = [])), request_body(content = String, content_type = "multipart/form-data"), responses((status = 202, body = crate::jobs::Job)))]
async fn upload(
    State(st): St,
    who: Caller,
    mp: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> ApiResult<Response> {
    who.require(&[Role::Certifier, Role::Maker])?;
    let mp = mp.map_err(|e| Problem::bad_request(e.body_text()))?;
    let j = crate::jobs::upload(&st, &who, mp).await?;
    Ok((StatusCode::ACCEPTED, Json(j)).into_response())
}

/// A job's state, attempts and resulting assessment. Roles: admin, certifier, maker (its own).
#[utoipa::path(get, path = "/api/v1/jobs/{id}", tag = "jobs", security(("bearer" = [])), params(("id" = String, Path)), responses((status = 200, body = crate::jobs::Job)))]
async fn job(
    State(st): St,
    who: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<crate::jobs::Job>> {
    Ok(Json(crate::jobs::get(&st, &who, &id).await?))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    /// First sequence number (default 1).
    after: Option<i64>,
    /// At most this many entries (1-1000, default 100).
    limit: Option<i64>,
}

/// The audit log, in order. Role: admin.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", security(("bearer" = [])), params(AuditQuery), responses((status = 200)))]
async fn audit_log(State(st): St, who: Caller, Q(q): Q<AuditQuery>) -> ApiResult<Json<Value>> {
    who.require(&[Role::Admin])?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(Problem::invalid("`limit`: 1-1000"));
    }
    let rows = sqlx::query("SELECT seq, at, actor, action, subject, before_state, after_state, prev_hash, hash FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2")
        .bind(q.after.unwrap_or(0))
        .bind(limit)
        .fetch_all(&st.store.pool)
        .await?;
    let mut out = Vec::new();
    for r in rows {
        out.push(json!({
            "seq": r.try_get::<i64, _>("seq")?,
            "at": r.try_get::<String, _>("at")?,
            "actor": r.try_get::<String, _>("actor")?,
            "action": r.try_get::<String, _>("action")?,
            "subject": r.try_get::<String, _>("subject")?,
            "before": serde_json::from_str::<Value>(&r.try_get::<String, _>("before_state")?).unwrap_or(Value::Null),
            "after": serde_json::from_str::<Value>(&r.try_get::<String, _>("after_state")?).unwrap_or(Value::Null),
            "prev_hash": r.try_get::<String, _>("prev_hash")?,
            "hash": r.try_get::<String, _>("hash")?,
        }));
    }
    Ok(Json(json!({"entries": out})))
}

/// Recomputes the audit chain: any edit made behind the service's back shows. Role: admin.
#[utoipa::path(get, path = "/api/v1/audit/verify", tag = "audit", security(("bearer" = [])), responses((status = 200, body = ChainCheck)))]
async fn audit_verify(State(st): St, who: Caller) -> ApiResult<Json<ChainCheck>> {
    who.require(&[Role::Admin])?;
    Ok(Json(st.store.verify_chain().await?))
}
