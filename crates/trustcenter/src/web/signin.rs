//! Sign-in (an API token becomes a session) and sign-out.

use askama::Template;
use axum::http::header;
use axum::response::{IntoResponse, Redirect};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::session::{self, Viewer, COOKIE, LIFETIME, PRE_COOKIE};
use super::{render, Chrome, Fail, Form, PageResult, St};
use crate::auth::Role;
use crate::problem::Problem;
use crate::util;

#[derive(Template)]
#[template(path = "signin.html")]
struct SignIn<'a> {
    c: Chrome,
    pre: &'a str,
    next: &'a str,
    error: &'a str,
}

#[derive(Deserialize, Default)]
pub struct NextQuery {
    #[serde(default)]
    next: String,
}

/// Only a path on this site: `//host` and `/\host` would leave it (an open redirect).
fn safe_next(next: &str) -> Option<&str> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && next.len() < 500
        && !next.chars().any(|c| c.is_control());
    ok.then_some(next)
}

pub fn home(role: Role) -> &'static str {
    match role {
        Role::Admin => "/admin",
        Role::Certifier => "/lab",
        Role::Maker => "/maker",
        _ => "/registry",
    }
}

/// The pre-session CSRF value: the browser's cookie, or a new one (returned with its cookie).
fn pre_value(v: &Viewer) -> (String, Option<String>) {
    match &v.pre_csrf {
        Some(p) => (p.clone(), None),
        None => {
            let p = util::new_token();
            let c = session::set_cookie(PRE_COOKIE, &p, 3600, v.https);
            (p, Some(c))
        }
    }
}

pub async fn form(
    st: St,
    v: Viewer,
    q: Result<axum::extract::Query<NextQuery>, axum::extract::rejection::QueryRejection>,
) -> PageResult {
    let next = q.map(|q| q.0.next).unwrap_or_default();
    show(&st, &v, &next, "", axum::http::StatusCode::OK)
}

fn show(
    st: &St,
    v: &Viewer,
    next: &str,
    error: &str,
    status: axum::http::StatusCode,
) -> PageResult {
    let (pre, cookie) = pre_value(v);
    let page = SignIn {
        c: Chrome::new(st, v),
        pre: &pre,
        next: safe_next(next).unwrap_or(""),
        error,
    };
    let mut res = render(&page)?;
    *res.status_mut() = status;
    if let Some(c) = cookie {
        res.headers_mut().append(
            header::SET_COOKIE,
            c.parse().map_err(|_| Problem::internal("cookie"))?,
        );
    }
    Ok(res)
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    csrf: String,
    token: String,
    #[serde(default)]
    next: String,
}

pub async fn submit(st: St, v: Viewer, Form(f): Form<SignInForm>) -> PageResult {
    let pre = v.pre_csrf.as_deref().unwrap_or("");
    if pre.is_empty() || !bool::from(pre.as_bytes().ct_eq(f.csrf.as_bytes())) {
        return Err(Fail(Problem::forbidden(
            "this sign-in form's anti-forgery token does not match your browser's: open the sign-in page again",
        )));
    }
    let (caller, raw) = match session::open(&st, &f.token).await {
        Ok(x) => x,
        Err(p) if p.status == axum::http::StatusCode::UNAUTHORIZED => {
            return show(
                &st,
                &v,
                &f.next,
                "That token is unknown or revoked.",
                axum::http::StatusCode::UNAUTHORIZED,
            );
        }
        Err(p) => return Err(p.into()),
    };
    let to = safe_next(&f.next).unwrap_or(home(caller.role));
    let mut res = Redirect::to(to).into_response();
    let h = res.headers_mut();
    for c in [
        session::set_cookie(COOKIE, &raw, LIFETIME.whole_seconds(), v.https),
        session::set_cookie(PRE_COOKIE, "", 0, v.https),
    ] {
        h.append(
            header::SET_COOKIE,
            c.parse().map_err(|_| Problem::internal("cookie"))?,
        );
    }
    Ok(res)
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

pub async fn signout(st: St, v: Viewer, Form(f): Form<CsrfOnly>) -> PageResult {
    let Some(s) = &v.session else {
        return Err(Fail(Problem::unauthorized("not signed in")));
    };
    v.check_csrf(&f.csrf)?;
    session::close(&st, s).await?;
    let mut res = Redirect::to("/registry").into_response();
    res.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(COOKIE, "", 0, v.https)
            .parse()
            .map_err(|_| Problem::internal("cookie"))?,
    );
    Ok(res)
}
