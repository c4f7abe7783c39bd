//! The disclosure desk's pages: the public report form, the reporter's follow-up page (by its
//! secret), and the maker's report page with transitions and the thread. The maker's list of
//! reports is on its dashboard ([`super::maker`]). Everything goes through [`crate::desk`].

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::header;
use serde::Deserialize;

use super::session::{self, Viewer};
use super::{plain_date, render, require, see_other, Chrome, Fail, Form, PageResult, St};
use crate::auth::Role;
use crate::desk::deadlines::Deadline;
use crate::desk::{self, attachments, flow, Report, Standing, State};
use crate::problem::Problem;

/// Gives a public visitor a pre-session CSRF cookie when it has none (the forms here work
/// without signing in); returns the `Set-Cookie` to send.
fn ensure_pre(v: &mut Viewer) -> Option<String> {
    if v.session.is_some() || v.pre_csrf.is_some() {
        return None;
    }
    let p = crate::util::new_token();
    let c = session::set_cookie(session::PRE_COOKIE, &p, 3600, v.https);
    v.pre_csrf = Some(p);
    Some(c)
}

fn with_cookie(mut res: axum::response::Response, cookie: Option<String>) -> PageResult {
    if let Some(c) = cookie {
        res.headers_mut().append(
            header::SET_COOKIE,
            c.parse().map_err(|_| Problem::internal("cookie"))?,
        );
    }
    Ok(res)
}

#[derive(Deserialize, Default)]
pub struct FormQuery {
    #[serde(default)]
    certificate: String,
}

#[derive(Template)]
#[template(path = "report_form.html")]
struct ReportForm {
    c: Chrome,
    certificate: String,
    about: String,
    max_files: usize,
    max_mib: usize,
}

pub async fn form(
    st: St,
    mut v: Viewer,
    q: Result<Query<FormQuery>, axum::extract::rejection::QueryRejection>,
) -> PageResult {
    let cookie = ensure_pre(&mut v);
    let certificate = q.map(|q| q.0.certificate).unwrap_or_default();
    // A report opened from a label page names its certificate; say what that is.
    let about = match crate::certify::get(&st, &certificate).await {
        Ok(c) => format!("{} {} (firmware {})", c.maker, c.model, c.firmware_version),
        Err(_) => String::new(),
    };
    let page = ReportForm {
        c: Chrome::new(&st, &v),
        certificate: if about.is_empty() {
            String::new()
        } else {
            certificate
        },
        about,
        max_files: attachments::MAX_FILES,
        max_mib: attachments::MAX_FILE >> 20,
    };
    with_cookie(render(&page)?, cookie)
}

#[derive(Template)]
#[template(path = "report_filed.html")]
struct Filed {
    c: Chrome,
    f: desk::Filed,
    ack_due: String,
}

/// Multipart (attachments are files): `csrf` first, then the form's fields, handed to the desk's
/// own reader, which streams attachments to disk under their caps.
pub async fn file(st: St, req: Request) -> PageResult {
    let (mut parts, body) = req.into_parts();
    let v = Viewer::from_request_parts(&mut parts, &st).await?;
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let req = Request::from_parts(parts, body);
    let mut mp = axum::extract::Multipart::from_request(req, &st)
        .await
        .map_err(|e| Problem::bad_request(e.body_text()))?;
    let first = mp
        .next_field()
        .await
        .map_err(|e| Problem::bad_request(format!("reading the form: {e}")))?;
    let csrf = match first {
        Some(f) if f.name() == Some("csrf") => f.text().await.unwrap_or_default(),
        _ => String::new(),
    };
    v.check_csrf(&csrf)?;
    let who = v.caller();
    let (report, staged) = attachments::read_multipart(&st, &mut mp).await?;
    let filed = desk::file(&st, &who, peer, report, staged).await?;
    let page = Filed {
        c: Chrome::new(&st, &v),
        ack_due: plain_date(&filed.deadlines.acknowledge.due),
        f: filed,
    };
    let mut res = render(&page)?;
    // The answer holds the follow-up secret: never cached, never sent on as a referrer.
    res.headers_mut().insert(
        header::REFERRER_POLICY,
        axum::http::HeaderValue::from_static("no-referrer"),
    );
    Ok(res)
}

pub struct DeadlineRow {
    pub what: &'static str,
    pub due: String,
    pub standing: &'static str,
    pub class: &'static str,
}

fn standing(s: Standing) -> (&'static str, &'static str) {
    match s {
        Standing::Pending => ("due", "pending"),
        Standing::Met => ("met", "met"),
        Standing::Late => ("met late", "late"),
        Standing::Overdue => ("OVERDUE", "overdue"),
        Standing::NotApplicable => ("not applicable", "na"),
    }
}

fn deadline_rows(d: &desk::Deadlines) -> Vec<DeadlineRow> {
    let row = |what, d: &Deadline| {
        let (standing, class) = standing(d.standing);
        DeadlineRow {
            what,
            due: plain_date(&d.due),
            standing,
            class,
        }
    };
    let mut out = vec![row("Acknowledge", &d.acknowledge)];
    if let Some(u) = &d.update {
        out.push(row("Next status update", u));
    }
    out.push(row("Fix", &d.fix));
    out.push(DeadlineRow {
        what: "Reporter may disclose from",
        due: plain_date(&d.disclose_by),
        standing: "",
        class: "pending",
    });
    out
}

pub struct EventRow {
    pub at: String,
    pub author: String,
    pub state: String,
    pub body: String,
}

#[derive(Template)]
#[template(path = "vuln_report.html")]
struct ReportPage {
    c: Chrome,
    r: Report,
    state: &'static str,
    deadlines: Vec<DeadlineRow>,
    events: Vec<EventRow>,
    /// The reporter's view (by secret): where its message form posts.
    follow_action: String,
    /// The maker's view: the states it may move the report to.
    next: Vec<&'static str>,
}

fn page_for(c: Chrome, r: Report, follow_action: String, maker: bool) -> ReportPage {
    let next = if maker {
        r.state.next(r.valid).iter().map(|s| s.as_str()).collect()
    } else {
        Vec::new()
    };
    ReportPage {
        c,
        state: r.state.as_str(),
        deadlines: deadline_rows(&r.deadlines),
        events: r
            .events
            .iter()
            .map(|e| EventRow {
                at: e.at.get(..16).unwrap_or(&e.at).replace('T', " "),
                author: e.author.clone(),
                state: e.state.map(|s| s.as_str().to_string()).unwrap_or_default(),
                body: e.body.clone(),
            })
            .collect(),
        follow_action,
        next,
        r,
    }
}

/// The reporter's page, for whoever holds the secret.
pub async fn follow(st: St, mut v: Viewer, Path(secret): Path<String>) -> PageResult {
    let cookie = ensure_pre(&mut v);
    let r = desk::follow(&st, &secret).await?;
    let action = format!("/report/follow/{secret}/messages");
    let mut res = render(&page_for(Chrome::new(&st, &v), r, action, false))?;
    res.headers_mut().insert(
        header::REFERRER_POLICY,
        axum::http::HeaderValue::from_static("no-referrer"),
    );
    with_cookie(res, cookie)
}

#[derive(Deserialize)]
pub struct MessageForm {
    #[serde(default)]
    csrf: String,
    body: String,
}

pub async fn follow_message(
    st: St,
    v: Viewer,
    Path(secret): Path<String>,
    Form(f): Form<MessageForm>,
) -> PageResult {
    v.check_csrf(&f.csrf)?;
    flow::message_by_secret(&st, &secret, flow::Message { body: f.body }).await?;
    see_other(&format!("/report/follow/{secret}#thread"))
}

/// The maker's (or an admin's) page of one report; anyone else gets the desk's 404.
pub async fn maker_report(st: St, v: Viewer, Path(id): Path<String>) -> PageResult {
    let who = require(&v, &[Role::Maker, Role::Admin])?;
    let r = desk::get(&st, &who, &id).await?;
    render(&page_for(Chrome::new(&st, &v), r, String::new(), true))
}

#[derive(Deserialize)]
pub struct TransitionForm {
    #[serde(default)]
    csrf: String,
    to: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    valid: String,
    #[serde(default)]
    fixed_version: String,
    #[serde(default)]
    duplicate_of: String,
    row_version: Option<i64>,
}

pub async fn transition(
    st: St,
    v: Viewer,
    Path(id): Path<String>,
    Form(f): Form<TransitionForm>,
) -> PageResult {
    v.check_csrf(&f.csrf)?;
    let who = require(&v, &[Role::Maker, Role::Admin])?;
    let to = State::parse(&f.to)
        .ok_or_else(|| Problem::invalid(format!("`to`: no state {:?}", f.to)))?;
    let opt = |s: String| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    let valid = match f.valid.as_str() {
        "yes" => Some(true),
        "no" => Some(false),
        _ => None,
    };
    flow::transition(
        &st,
        &who,
        &id,
        flow::Transition {
            to,
            note: f.note,
            // The form always offers the triage question; it is the answer only when triaging.
            valid: if to == State::Triaged { valid } else { None },
            fixed_version: if to == State::Fixed {
                opt(f.fixed_version)
            } else {
                None
            },
            duplicate_of: if to == State::Duplicate {
                opt(f.duplicate_of)
            } else {
                None
            },
            row_version: f.row_version,
        },
    )
    .await?;
    see_other(&format!("/maker/reports/{id}"))
}

pub async fn maker_message(
    st: St,
    v: Viewer,
    Path(id): Path<String>,
    Form(f): Form<MessageForm>,
) -> PageResult {
    v.check_csrf(&f.csrf)?;
    let who = require(&v, &[Role::Maker, Role::Admin])?;
    flow::message(&st, &who, &id, flow::Message { body: f.body }).await?;
    see_other(&format!("/maker/reports/{id}#thread"))
}

/// The maker dashboard's share: its reports (overdue first) and its track record.
pub struct DeskSummary {
    pub reports: Vec<ReportRow>,
    pub figures: desk::Figures,
    pub on_time: String,
}

pub struct ReportRow {
    pub id: String,
    pub tracking: String,
    pub title: String,
    pub product: String,
    pub state: &'static str,
    pub received: String,
    pub next_due: String,
    pub overdue: bool,
}

pub async fn summary(st: &St, who: &crate::auth::Caller, org: &str) -> Result<DeskSummary, Fail> {
    let list = desk::list(st, who, desk::ListQuery::default()).await?;
    let reports = list
        .into_iter()
        .map(|s| {
            let d = &s.deadlines;
            // The earliest deadline still open, as the one to act on.
            let next_due = [Some(&d.acknowledge), d.update.as_ref(), Some(&d.fix)]
                .into_iter()
                .flatten()
                .find(|x| matches!(x.standing, Standing::Pending | Standing::Overdue))
                .map(|x| plain_date(&x.due))
                .unwrap_or_default();
            ReportRow {
                id: s.id,
                tracking: s.tracking,
                title: s.title,
                product: s.product.map(|p| p.name).unwrap_or_default(),
                state: s.state.as_str(),
                received: plain_date(&s.received_at),
                next_due,
                overdue: d.overdue,
            }
        })
        .collect();
    let figures = desk::policy::track_record(st, org).await?.figures;
    let on_time = figures
        .on_time_share
        .map(|s| format!("{:.0}%", s * 100.0))
        .unwrap_or_else(|| "no deadline has come due yet".into());
    Ok(DeskSummary {
        reports,
        figures,
        on_time,
    })
}
