//! Server-rendered pages for people: the public registry with label pages and QR codes, sign-in,
//! the maker dashboard, the lab view and the admin pages.
//!
//! Every page works without JavaScript and loads nothing from elsewhere (the stylesheet is
//! compiled in). Templates are askama, escaping on: stored text is shown exactly as given. Pages
//! call the same domain functions as the API, with the session's [`Caller`], so authorisation is
//! the API's. Every POST form carries a CSRF field checked before anything else (see
//! [`session`]).

pub mod admin;
pub mod desk;
pub mod lab;
pub mod maker;
pub mod qr;
pub mod registry;
pub mod session;
pub mod signin;

use std::sync::Arc;

use askama::Template;
use axum::extract::{DefaultBodyLimit, FromRequestParts, Request};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::auth::{Caller, Role};
use crate::problem::Problem;
use crate::server::AppState;

pub use session::Viewer;

pub type St = axum::extract::State<Arc<AppState>>;

const CSS: &str = include_str!("../../templates/site.css");

/// Sent with every page: nothing loads from elsewhere, no script runs, no framing by others.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-src 'self'; \
                   form-action 'self'; frame-ancestors 'self'; base-uri 'none'";

pub fn router(state: Arc<AppState>) -> Router<Arc<AppState>> {
    // Multipart framing adds a little to the report itself, whose own cap is --max-body.
    let upload_limit = state.config.max_body + (1 << 20);
    Router::new()
        .route("/", get(|| async { Redirect::to("/registry") }))
        .route("/assets/site.css", get(css))
        .route("/signin", get(signin::form).post(signin::submit))
        .route("/signout", post(signin::signout))
        .route("/registry", get(registry::list))
        .route("/registry/{id}", get(registry::label))
        .route("/registry/{id}/qr.svg", get(qr::svg))
        .route("/registry/{id}/qr.png", get(qr::png))
        .route("/maker", get(maker::dashboard))
        .route("/maker/webhook", post(maker::webhook))
        .route("/assessments/{id}", get(lab::assessment))
        .route("/assessments/{id}/report.html", get(lab::report_html))
        .route("/lab", get(lab::page))
        .route(
            "/lab/submit",
            post(lab::submit).layer(DefaultBodyLimit::max(upload_limit)),
        )
        .route("/lab/certify", post(lab::certify))
        .route("/lab/certificates/{id}/status", post(lab::status))
        .route(
            "/report",
            get(desk::form)
                .post(desk::file)
                .layer(DefaultBodyLimit::max(
                    crate::desk::attachments::MAX_FILES * crate::desk::attachments::MAX_FILE
                        + crate::jobs::DRAIN,
                )),
        )
        .route("/report/follow/{secret}", get(desk::follow))
        .route(
            "/report/follow/{secret}/messages",
            post(desk::follow_message),
        )
        .route("/maker/reports/{id}", get(desk::maker_report))
        .route("/maker/reports/{id}/transition", post(desk::transition))
        .route("/maker/reports/{id}/messages", post(desk::maker_message))
        .route("/admin", get(admin::page))
        .route("/admin/orgs", post(admin::create_org))
        .route("/admin/tokens", post(admin::create_token))
        .route("/admin/tokens/{id}/revoke", post(admin::revoke_token))
        .route("/admin/keys/rotate", post(admin::rotate_key))
        .route("/admin/audit", get(admin::audit))
        .layer(middleware::from_fn_with_state(state, page_headers))
}

async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
        .into_response()
}

/// Marks a refusal for lack of a session, so [`page_headers`] can send a GET to the sign-in page.
#[derive(Clone, Copy)]
struct NeedsSignIn;

/// A refusal page as first rendered (without the session's frame), kept so [`page_headers`],
/// which still has the request, can render it again inside the signed-in frame.
#[derive(Clone)]
struct Refusal {
    status: StatusCode,
    title: &'static str,
    detail: String,
    blocking: Vec<String>,
}

async fn page_headers(axum::extract::State(st): St, req: Request, next: Next) -> Response {
    let is_get = req.method() == Method::GET || req.method() == Method::HEAD;
    let path = req.uri().path().to_string();
    let signed_in = session::cookie_value(req.headers(), session::COOKIE).is_some();
    let mut parts = signed_in.then(|| {
        let mut r = Request::new(());
        *r.headers_mut() = req.headers().clone();
        r.into_parts().0
    });
    let mut res = next.run(req).await;
    if let (Some(refusal), Some(parts)) =
        (res.extensions().get::<Refusal>().cloned(), parts.as_mut())
    {
        if let Ok(v) = Viewer::from_request_parts(parts, &st).await {
            let page = ErrorPage {
                c: Chrome::new(&st, &v),
                status: refusal.status.as_u16(),
                title: refusal.title,
                detail: &refusal.detail,
                blocking: refusal.blocking,
            };
            if let Ok(html) = page.render() {
                res = (refusal.status, Html(html)).into_response();
            }
        }
    }
    if res.extensions().get::<NeedsSignIn>().is_some() {
        if is_get {
            return Redirect::to(&format!("/signin?next={}", encode_component(&path)))
                .into_response();
        }
        res = Fail(Problem::forbidden(
            "you are not signed in (or your session ended): sign in and send the form again",
        ))
        .into_response();
    }
    let h = res.headers_mut();
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(CSP));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    res
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A page's refusal: the problem, rendered as an HTML page with its status.
pub struct Fail(pub Problem);

impl From<Problem> for Fail {
    fn from(p: Problem) -> Self {
        Fail(p)
    }
}

impl From<sqlx::Error> for Fail {
    fn from(e: sqlx::Error) -> Self {
        Fail(Problem::from(e))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    c: Chrome,
    status: u16,
    title: &'a str,
    detail: &'a str,
    /// A certification refusal's blocking provisions, one line each.
    blocking: Vec<String>,
}

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        let p = self.0;
        if p.status == StatusCode::UNAUTHORIZED {
            let mut r = StatusCode::UNAUTHORIZED.into_response();
            r.extensions_mut().insert(NeedsSignIn);
            return r;
        }
        if p.status.is_server_error() {
            eprintln!("trust center: page error: {}", p.detail);
        }
        let blocking: Vec<String> = p
            .extra
            .as_ref()
            .and_then(|e| e.get("blocking"))
            .and_then(|b| b.as_array())
            .map(|b| {
                b.iter()
                    .map(|x| {
                        format!(
                            "{} {}: {}",
                            x["id"].as_str().unwrap_or(""),
                            x["verdict"].as_str().unwrap_or(""),
                            x["reason"].as_str().unwrap_or("")
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let page = ErrorPage {
            c: Chrome::bare(),
            status: p.status.as_u16(),
            title: p.title,
            detail: &p.detail,
            blocking: blocking.clone(),
        };
        let mut res = match page.render() {
            Ok(html) => (p.status, Html(html)).into_response(),
            Err(_) => (p.status, p.detail.clone()).into_response(),
        };
        res.extensions_mut().insert(Refusal {
            status: p.status,
            title: p.title,
            detail: p.detail,
            blocking,
        });
        res
    }
}

pub type PageResult = Result<Response, Fail>;

/// What every page's frame shows: the service name, who is signed in, the CSRF value for forms.
pub struct Chrome {
    pub name: String,
    pub role: &'static str,
    pub signed_in: bool,
    pub csrf: String,
    pub nav: Vec<(&'static str, &'static str)>,
}

impl Chrome {
    pub fn new(st: &AppState, v: &Viewer) -> Chrome {
        let who = v.caller();
        let mut nav = vec![
            ("/registry", "Registry"),
            ("/report", "Report a vulnerability"),
        ];
        match who.role {
            Role::Maker => nav.push(("/maker", "Maker dashboard")),
            Role::Certifier => nav.push(("/lab", "Lab")),
            Role::Admin => nav.push(("/admin", "Admin")),
            _ => {}
        }
        Chrome {
            name: st.config.name.clone(),
            role: who.role.as_str(),
            signed_in: v.session.is_some(),
            csrf: v.csrf().to_string(),
            nav,
        }
    }

    fn bare() -> Chrome {
        Chrome {
            name: "iotassure trust center".into(),
            role: "public",
            signed_in: false,
            csrf: String::new(),
            nav: vec![("/registry", "Registry")],
        }
    }
}

pub fn render(t: &impl Template) -> PageResult {
    let html = t
        .render()
        .map_err(|e| Problem::internal(format!("rendering a page: {e}")))?;
    Ok(Html(html).into_response())
}

/// A signed-in caller of one of `roles`: otherwise the sign-in redirect (no session) or 403.
pub fn require(v: &Viewer, roles: &[Role]) -> Result<Caller, Fail> {
    let who = v.caller();
    who.require(roles)?;
    Ok(who)
}

/// After a successful POST: back to a page (303, so a reload does not send the form again).
pub fn see_other(to: &str) -> PageResult {
    Ok(Redirect::to(to).into_response())
}

/// A form body, with a refusal as an HTML page instead of axum's plain text.
pub struct Form<T>(pub T);

impl<T, S> axum::extract::FromRequest<S> for Form<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Fail;
    async fn from_request(req: Request, state: &S) -> Result<Self, Fail> {
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(t)) => Ok(Form(t)),
            Err(e) => Err(Fail(Problem::new(
                e.status(),
                "form",
                "Bad form",
                e.body_text(),
            ))),
        }
    }
}

/// `2031-12-31` or an RFC 3339 stamp → `31 December 2031`.
pub fn plain_date(s: &str) -> String {
    let d = crate::util::parse_date(s)
        .or_else(|| crate::util::parse_time(s).map(|t| t.date()))
        .or_else(|| s.get(..10).and_then(crate::util::parse_date));
    match d {
        Some(d) => format!("{} {} {}", d.day(), d.month(), d.year()),
        None => s.to_string(),
    }
}

/// "in 5 years and 1 month" / "3 days ago", from today (UTC).
pub fn from_today(s: &str) -> String {
    let Some(d) = crate::util::parse_date(s)
        .or_else(|| crate::util::parse_time(s).map(|t| t.date()))
        .or_else(|| s.get(..10).and_then(crate::util::parse_date))
    else {
        return String::new();
    };
    let today = time::OffsetDateTime::now_utc().date();
    let days = (d - today).whole_days();
    let n = days.unsigned_abs();
    let span = if n == 0 {
        return "today".into();
    } else if n < 62 {
        plural(n, "day")
    } else {
        let months = n * 12 / 365;
        let (y, m) = (months / 12, months % 12);
        match (y, m) {
            (0, m) => plural(m, "month"),
            (y, 0) => plural(y, "year"),
            (y, m) => format!("{} and {}", plural(y, "year"), plural(m, "month")),
        }
    };
    if days > 0 {
        format!("in {span}")
    } else {
        format!("{span} ago")
    }
}

fn plural(n: u64, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}
