//! Default credentials (5.1-1): the candidate list (built-in, then `--creds` files, bounded by
//! `--max-attempts`) tried on every service that asks for a password: telnet, SSH (password and
//! keyboard-interactive), HTTP Basic/Digest and login forms, MQTT, FTP and RTSP. Attempts are
//! paced (`--auth-rate`) and stop at the first success, at a lockout, or at the time budget.

use std::time::{Duration, Instant};

use iotassure_core::finding::{Finding, Location, Outcome, Severity, Source};

use super::declared::AuthSeen;
use super::unauth::{HttpPaths, Protected};
use super::{ids, svc_location, Out, Tallied};
use crate::creds::Credential;
use crate::ctx::Ctx;
use crate::log::Exchange;
use crate::services::{http, mqtt, telnet, Proto, Service};
use crate::ssh::{self, AuthResult};

/// The result of a series of attempts on one service.
#[derive(Debug, Default)]
pub struct Attempts {
    pub tried: usize,
    pub candidates: usize,
    pub accepted: Option<(Credential, Location)>,
    /// The service said it locked the account or throttled us.
    pub locked: Option<String>,
    /// Why the series stopped early (not a lockout).
    pub stopped: Option<String>,
    /// Password login is not offered at all (e.g. SSH publickey only).
    pub no_password_auth: Option<String>,
    /// The login used looked heuristic (login forms).
    pub heuristic: bool,
    pub what: String,
}

/// Paces attempts on one service to the auth rate.
pub struct AuthPacer {
    gap: Duration,
    last: Option<Instant>,
}

impl AuthPacer {
    pub fn new(rate: f64) -> AuthPacer {
        AuthPacer {
            gap: Duration::from_secs_f64(1.0 / rate.max(0.01)),
            last: None,
        }
    }

    pub fn wait(&mut self) {
        if let Some(l) = self.last {
            let e = l.elapsed();
            if e < self.gap {
                std::thread::sleep(self.gap - e);
            }
        }
        self.last = Some(Instant::now());
    }
}

pub fn candidates(ctx: &Ctx<'_>) -> Vec<Credential> {
    ctx.opts
        .credentials
        .iter()
        .take(ctx.opts.max_attempts)
        .cloned()
        .collect()
}

pub fn login_timeout(ctx: &Ctx<'_>) -> Duration {
    // busybox login sleeps 3 s after a wrong password; allow for it.
    ctx.opts.io_timeout * 2 + Duration::from_secs(1)
}

/// Runs the default-credential probe on `svc`; returns the credential accepted, if any.
pub fn run(
    ctx: &Ctx<'_>,
    svc: &Service,
    label: &str,
    http_paths: Option<&HttpPaths>,
    out: &mut Out,
) -> Option<Credential> {
    let list = candidates(ctx);
    let a = attempts(ctx, svc, label, http_paths, &list, out, ids::DEFAULT_CREDS)?;
    report(ctx, svc, label, &a, out);
    a.accepted.map(|(c, _)| c)
}

/// Tries `list` on `svc` with the login its protocol uses (None: no login this probe drives);
/// exchanges are logged under `probe`. The default-credential probe and the IXIT test-account
/// check share it.
pub fn attempts(
    ctx: &Ctx<'_>,
    svc: &Service,
    label: &str,
    http_paths: Option<&HttpPaths>,
    list: &[Credential],
    out: &mut Out,
    probe: &'static str,
) -> Option<Attempts> {
    let anonymous_first = probe == ids::DEFAULT_CREDS;
    Some(match svc.proto {
        Proto::Telnet => telnet_attempts(ctx, svc, list, probe),
        Proto::Ssh => ssh_attempts(ctx, svc, label, list, out, probe),
        Proto::Ftp => {
            let mut l = Vec::new();
            if anonymous_first {
                l.push(Credential::new(
                    "anonymous",
                    "iotassure@example.invalid",
                    "built-in",
                ));
                l.push(Credential::new("ftp", "ftp", "built-in"));
            }
            l.extend(list.iter().cloned());
            l.truncate(ctx.opts.max_attempts.max(2));
            ftp_attempts(ctx, svc, &l, probe)
        }
        Proto::Mqtt if matches!(svc.mqtt_anonymous, Some(4) | Some(5)) => {
            mqtt_attempts(ctx, svc, list, probe)
        }
        Proto::Http => {
            let hp = http_paths?;
            if let Some(p) = hp.protected.first() {
                http_auth_attempts(ctx, svc, p, list, probe)
            } else if let Some((page, form)) = hp.forms.first() {
                form_attempts(ctx, svc, page, form, list, probe)
            } else {
                return None;
            }
        }
        Proto::Rtsp if svc.banner.as_deref().is_some_and(|b| b.contains(" 401")) => {
            rtsp_attempts(ctx, svc, list, probe)
        }
        _ => return None,
    })
}

fn report(ctx: &Ctx<'_>, svc: &Service, label: &str, a: &Attempts, out: &mut Out) {
    if let Some((c, loc)) = &a.accepted {
        let mut f = Finding::new(ids::DEFAULT_CREDS, &["5.1-1"], Outcome::Fail, Severity::Critical, Source::Device, format!("{} accepts the default credential {}", svc.label(), c.show()))
            .detail(format!(
                "{label}: {} logged in with {} (from the {} list) after {} attempt(s). A universal default password is what EN 303 645 5.1-1 rules out.",
                a.what,
                c.show(),
                c.origin,
                a.tried
            ))
            .evidence(loc.clone(), format!("{} accepted", c.show()));
        if a.heuristic {
            f = f.heuristic();
        }
        out.fail(f, label);
        return;
    }
    if let Some(why) = &a.no_password_auth {
        out.tally(
            "5.1-1",
            ids::DEFAULT_CREDS,
            label,
            Tallied::Pass(why.clone(), Some(svc_location(ctx, svc))),
        );
        return;
    }
    if let Some(l) = &a.locked {
        out.tally("5.1-1", ids::DEFAULT_CREDS, label, Tallied::Undecided(format!("{} of {} candidates tried, then the service locked or throttled us ({l}); later refusals prove nothing", a.tried, a.candidates)));
        return;
    }
    if let Some(s) = &a.stopped {
        out.tally(
            "5.1-1",
            ids::DEFAULT_CREDS,
            label,
            Tallied::Undecided(format!(
                "{} of {} candidates tried: {s}",
                a.tried, a.candidates
            )),
        );
        return;
    }
    if a.tried == 0 {
        return;
    }
    if a.heuristic {
        out.tally("5.1-1", ids::DEFAULT_CREDS, label, Tallied::Undecided(format!("{}: {} candidates gave the same reply as a wrong password, but form logins are judged by heuristics", a.what, a.tried)));
        return;
    }
    out.tally(
        "5.1-1",
        ids::DEFAULT_CREDS,
        label,
        Tallied::Pass(
            format!(
                "{} asks for a password and refused all {} default credentials tried{}",
                a.what,
                a.tried,
                if ctx.opts.credentials.len() > ctx.opts.max_attempts {
                    format!(
                        " (the first {} of {} in the lists; --max-attempts bounds it)",
                        ctx.opts.max_attempts,
                        ctx.opts.credentials.len()
                    )
                } else {
                    String::new()
                }
            ),
            Some(svc_location(ctx, svc)),
        ),
    );
}

fn telnet_attempts(
    ctx: &Ctx<'_>,
    svc: &Service,
    list: &[Credential],
    probe: &'static str,
) -> Attempts {
    let mut a = Attempts {
        candidates: list.len(),
        what: "telnet login".into(),
        ..Default::default()
    };
    let t = login_timeout(ctx);
    let mut pacer = AuthPacer::new(ctx.opts.auth_rate);
    let mut session: Option<(telnet::Session, Exchange<'_>, String)> = None;
    // A lockout is per account: skip a locked user's other candidates and go on with the rest.
    let mut locked_users: Vec<String> = Vec::new();
    let mut errors = 0;
    let mut i = 0;
    while i < list.len() {
        if locked_users.contains(&list[i].user) {
            i += 1;
            continue;
        }
        if ctx.deadline.expired() {
            a.stopped = Some("time budget spent".into());
            break;
        }
        if session.is_none() {
            let mut ex = ctx.exchange(probe, svc.port, "telnet");
            let Ok(c) = ctx.connect(&mut ex, svc.port) else {
                errors += 1;
                if errors > 3 {
                    a.stopped = Some("the service stopped accepting connections".into());
                    break;
                }
                std::thread::sleep(Duration::from_millis(500));
                continue;
            };
            let mut s = telnet::Session::new(c);
            let text = s.read_prompt(&mut ex, t);
            match telnet::prompt_of(&text) {
                telnet::Prompt::Login | telnet::Prompt::Password => session = Some((s, ex, text)),
                _ => {
                    if telnet::locked_out(&text) {
                        a.locked = Some(crate::text::line(text.as_bytes(), 100));
                        break;
                    }
                    errors += 1;
                    if errors > 3 {
                        a.stopped = Some("no login prompt".into());
                        break;
                    }
                    continue;
                }
            }
        }
        let (s, ex, text) = session.as_mut().expect("set above");
        let cred = &list[i];
        pacer.wait();
        let r = telnet::attempt(s, ex, text, &cred.user, &cred.pass, t);
        match r {
            telnet::Login::Accepted { .. } => {
                a.tried += 1;
                s.line(ex, "exit");
                a.accepted = Some((cred.clone(), ex.location()));
                break;
            }
            telnet::Login::Rejected => {
                a.tried += 1;
                i += 1;
                let next = s.next_prompt(ex, t);
                if telnet::locked_out(&next) {
                    locked_users.push(cred.user.clone());
                    a.locked = Some(format!("account(s) {} locked", locked_users.join(", ")));
                    session = None;
                    continue;
                }
                match telnet::prompt_of(&next) {
                    telnet::Prompt::Login | telnet::Prompt::Password => *text = next,
                    _ => session = None,
                }
            }
            telnet::Login::LockedOut => {
                a.tried += 1;
                i += 1;
                locked_users.push(cred.user.clone());
                a.locked = Some(format!("account(s) {} locked", locked_users.join(", ")));
                session = None;
            }
            telnet::Login::Open { .. } | telnet::Login::NoPrompt | telnet::Login::Broken(_) => {
                errors += 1;
                session = None;
                if errors > 3 {
                    a.stopped = Some(format!("logins kept breaking off ({r:?})"));
                    break;
                }
            }
        }
    }
    a
}

fn ssh_attempts(
    ctx: &Ctx<'_>,
    svc: &Service,
    label: &str,
    list: &[Credential],
    out: &mut Out,
    probe: &'static str,
) -> Attempts {
    let mut a = Attempts {
        candidates: list.len(),
        what: "SSH".into(),
        ..Default::default()
    };
    let t = ctx.opts.io_timeout;
    let mut pacer = AuthPacer::new(ctx.opts.auth_rate);
    let open = |ex: &mut Exchange<'_>| -> Result<ssh::Session, String> {
        let c = ctx.connect(ex, svc.port).map_err(|e| e.to_string())?;
        ssh::Session::establish(c, ex, t).map_err(|e| e.to_string())
    };
    let mut ex = ctx.exchange(probe, svc.port, "ssh");
    let mut s = match open(&mut ex) {
        Ok(s) => s,
        Err(e) => {
            a.stopped = Some(format!("SSH session failed: {e}"));
            out.tally(
                "5.5-4",
                ids::UNAUTH,
                label,
                Tallied::Undecided(format!("SSH session failed: {e}")),
            );
            return a;
        }
    };
    let first_user = list
        .first()
        .map(|c| c.user.clone())
        .unwrap_or_else(|| "root".into());
    let methods = match s.auth_none(&mut ex, &first_user) {
        Ok(AuthResult::Success) => {
            let f = Finding::new(
                ids::UNAUTH,
                &["5.5-4", "5.1-1"],
                Outcome::Fail,
                Severity::Critical,
                Source::Device,
                format!(
                    "{} lets `{first_user}` in with no authentication at all",
                    svc.label()
                ),
            )
            .detail(format!(
                "{label}: the SSH \"none\" authentication method succeeded."
            ))
            .evidence(ex.location(), "USERAUTH_SUCCESS for method none");
            out.fail(f, label);
            out.auth = Some(AuthSeen::None("the SSH \"none\" method succeeded".into()));
            s.close();
            return a;
        }
        Ok(AuthResult::Failure(m)) => m,
        Err(e) => {
            a.stopped = Some(format!("SSH none-auth failed: {e}"));
            return a;
        }
    };
    out.tally(
        "5.5-4",
        ids::UNAUTH,
        label,
        Tallied::Pass(
            format!(
                "SSH requires authentication (methods offered: {})",
                methods.join(",")
            ),
            Some(ex.location()),
        ),
    );
    let use_password = methods.iter().any(|m| m == "password");
    let use_kbd = !use_password && methods.iter().any(|m| m == "keyboard-interactive");
    out.auth = Some(if use_password || use_kbd {
        AuthSeen::Password(format!("SSH methods {}", methods.join(",")))
    } else {
        AuthSeen::Key(format!("SSH methods {}", methods.join(",")))
    });
    if !use_password && !use_kbd {
        a.no_password_auth = Some(format!(
            "SSH does not offer password authentication (methods: {})",
            methods.join(",")
        ));
        s.close();
        return a;
    }
    a.what = format!(
        "SSH {}",
        if use_password {
            "password"
        } else {
            "keyboard-interactive"
        }
    );
    let mut i = 0;
    let mut reconnects = 0;
    let mut session = Some(s);
    while i < list.len() {
        if ctx.deadline.expired() {
            a.stopped = Some("time budget spent".into());
            break;
        }
        if session.is_none() {
            ex = ctx.exchange(probe, svc.port, "ssh");
            match open(&mut ex) {
                Ok(s) => session = Some(s),
                Err(e) => {
                    reconnects += 1;
                    if reconnects > 12 {
                        a.stopped = Some(format!("SSH reconnects failed: {e}"));
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(300));
                    continue;
                }
            }
        }
        let s = session.as_mut().expect("set");
        let c = &list[i];
        pacer.wait();
        let r = if use_password {
            s.auth_password(&mut ex, &c.user, &c.pass)
        } else {
            s.auth_keyboard(&mut ex, &c.user, &c.pass)
        };
        match r {
            Ok(AuthResult::Success) => {
                a.tried += 1;
                a.accepted = Some((c.clone(), ex.location()));
                break;
            }
            Ok(AuthResult::Failure(_)) => {
                a.tried += 1;
                i += 1;
            }
            Err(_) => {
                // Most servers drop the connection after a few failures: reconnect and go on.
                reconnects += 1;
                if let Some(s) = session.take() {
                    s.close();
                }
                if reconnects > 12 {
                    a.stopped = Some("the server kept dropping the connection".into());
                    break;
                }
            }
        }
    }
    if let Some(s) = session {
        s.close();
    }
    a
}

fn ftp_attempts(
    ctx: &Ctx<'_>,
    svc: &Service,
    list: &[Credential],
    probe: &'static str,
) -> Attempts {
    let mut a = Attempts {
        candidates: list.len(),
        what: "FTP".into(),
        ..Default::default()
    };
    let t = login_timeout(ctx);
    let mut pacer = AuthPacer::new(ctx.opts.auth_rate);
    let line_done = |b: &[u8]| {
        // A complete reply: a line "NNN " (multi-line replies end with "NNN ").
        let s = String::from_utf8_lossy(b);
        s.lines().any(|l| {
            l.len() >= 4
                && l.as_bytes()[..3].iter().all(u8::is_ascii_digit)
                && l.as_bytes()[3] == b' '
        }) && s.ends_with('\n')
    };
    let code = |b: &[u8]| -> u16 {
        String::from_utf8_lossy(b)
            .lines()
            .rev()
            .find_map(|l| l.get(..3).and_then(|c| c.parse().ok()))
            .unwrap_or(0)
    };
    let mut errors = 0;
    let mut i = 0;
    while i < list.len() && !ctx.deadline.expired() {
        let mut ex = ctx.exchange(probe, svc.port, "ftp");
        let Ok(mut c) = ctx.connect(&mut ex, svc.port) else {
            errors += 1;
            if errors > 3 {
                a.stopped = Some("connections failed".into());
                break;
            }
            continue;
        };
        let greet = c.read_until(&mut ex, t, line_done);
        if code(&greet) != 220 {
            errors += 1;
            c.close();
            if errors > 3 {
                a.stopped = Some(format!(
                    "no 220 greeting ({})",
                    crate::text::line(&greet, 60)
                ));
                break;
            }
            continue;
        }
        // Up to three attempts per connection, as servers allow.
        for _ in 0..3 {
            let Some(cred) = list.get(i) else { break };
            pacer.wait();
            let _ = c.send(&mut ex, format!("USER {}\r\n", cred.user).as_bytes());
            let r1 = c.read_until(&mut ex, t, line_done);
            let code1 = code(&r1);
            let ok = if code1 == 230 {
                true
            } else if code1 == 331 || code1 == 332 {
                let _ = c.send(&mut ex, format!("PASS {}\r\n", cred.pass).as_bytes());
                let r2 = c.read_until(&mut ex, t, line_done);
                if code(&r2) == 421 {
                    a.locked = Some(crate::text::line(&r2, 80));
                }
                code(&r2) == 230
            } else {
                false
            };
            a.tried += 1;
            i += 1;
            if ok {
                let _ = c.send(&mut ex, b"QUIT\r\n");
                a.accepted = Some((cred.clone(), ex.location()));
                c.close();
                return a;
            }
            if a.locked.is_some() || c.eof {
                break;
            }
        }
        c.close();
        if a.locked.is_some() {
            break;
        }
    }
    a
}

fn mqtt_attempts(
    ctx: &Ctx<'_>,
    svc: &Service,
    list: &[Credential],
    probe: &'static str,
) -> Attempts {
    let mut a = Attempts {
        candidates: list.len(),
        what: "MQTT CONNECT".into(),
        ..Default::default()
    };
    let mut pacer = AuthPacer::new(ctx.opts.auth_rate);
    let mut errors = 0;
    for c in list {
        if ctx.deadline.expired() {
            a.stopped = Some("time budget spent".into());
            break;
        }
        let mut ex = ctx.exchange(probe, svc.port, svc.name());
        let Ok(mut conn) = ctx.open(&mut ex, svc.port, svc.tls) else {
            errors += 1;
            if errors > 3 {
                a.stopped = Some("connections failed".into());
                break;
            }
            continue;
        };
        pacer.wait();
        let _ = conn.send_as(
            &mut ex,
            &mqtt::connect("iotassure-cred", Some((&c.user, &c.pass))),
            &format!("MQTT CONNECT user={} password={}", c.user, c.pass),
        );
        let ack = conn.read_until_quiet(&mut ex, ctx.opts.io_timeout, |b| b.len() >= 4);
        a.tried += 1;
        match mqtt::connack(&ack) {
            Some(0) => {
                ex.note("CONNACK 0: accepted");
                let _ = conn.send_as(&mut ex, &mqtt::DISCONNECT, "MQTT DISCONNECT");
                conn.close();
                a.accepted = Some((c.clone(), ex.location()));
                break;
            }
            Some(rc) => ex.note(format!("CONNACK {rc}: {}", mqtt::connack_meaning(rc))),
            None => {
                errors += 1;
                if errors > 3 {
                    a.stopped = Some("no CONNACK".into());
                    conn.close();
                    break;
                }
            }
        }
        conn.close();
    }
    a
}

fn http_auth_attempts(
    ctx: &Ctx<'_>,
    svc: &Service,
    p: &Protected,
    list: &[Credential],
    probe: &'static str,
) -> Attempts {
    let digest = p.scheme.eq_ignore_ascii_case("digest");
    let mut a = Attempts {
        candidates: list.len(),
        what: format!("HTTP {} on {}", p.scheme, p.path),
        ..Default::default()
    };
    let mut pacer = AuthPacer::new(ctx.opts.auth_rate);
    let mut errors = 0;
    for c in list {
        if ctx.deadline.expired() {
            a.stopped = Some("time budget spent".into());
            break;
        }
        let mut ex = ctx.exchange(probe, svc.port, svc.name());
        let auth = if digest {
            // A fresh nonce for each attempt.
            let ch = http::fetch(
                ctx,
                &mut ex,
                svc.port,
                svc.tls,
                &http::Request::get(&p.path),
            )
            .and_then(|r| r.header("www-authenticate").map(str::to_string))
            .unwrap_or_else(|| p.challenge.clone());
            match http::digest_auth(
                &ch,
                "GET",
                &p.path,
                &c.user,
                &c.pass,
                &crate::text::marker(),
            ) {
                Some(v) => v,
                None => {
                    a.stopped = Some("the Digest challenge has no nonce".into());
                    break;
                }
            }
        } else {
            format!(
                "Basic {}",
                crate::text::base64(format!("{}:{}", c.user, c.pass).as_bytes())
            )
        };
        pacer.wait();
        let r = http::fetch(
            ctx,
            &mut ex,
            svc.port,
            svc.tls,
            &http::Request::get(&p.path).header("Authorization", auth),
        );
        ex.note(format!("tried {}", c.show()));
        a.tried += 1;
        match r.map(|r| r.status) {
            Some(401) => {}
            Some(s @ (403 | 429 | 503)) => {
                a.locked = Some(format!("HTTP {s} after {} attempts", a.tried));
                break;
            }
            Some(s) if s < 500 => {
                a.accepted = Some((c.clone(), ex.location()));
                break;
            }
            _ => {
                errors += 1;
                if errors > 3 {
                    a.stopped = Some("no usable replies".into());
                    break;
                }
            }
        }
    }
    a
}

fn form_attempts(
    ctx: &Ctx<'_>,
    svc: &Service,
    page: &str,
    form: &http::LoginForm,
    list: &[Credential],
    probe: &'static str,
) -> Attempts {
    let mut a = Attempts {
        candidates: list.len(),
        what: format!("the login form on {page}"),
        heuristic: true,
        ..Default::default()
    };
    let mut pacer = AuthPacer::new(ctx.opts.auth_rate);
    let submit = |ex: &mut Exchange<'_>, user: &str, pass: &str| -> Option<http::Response> {
        let mut fields: Vec<(String, String)> = form.hidden.clone();
        if let Some(u) = &form.user_field {
            fields.push((u.clone(), user.to_string()));
        }
        fields.push((form.pass_field.clone(), pass.to_string()));
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", http::urlencode(k), http::urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let req = if form.method == "POST" {
            http::Request {
                method: "POST",
                path: &form.action,
                headers: vec![(
                    "Content-Type".into(),
                    "application/x-www-form-urlencoded".into(),
                )],
                body: body.into_bytes(),
            }
        } else {
            let path = format!("{}?{body}", form.action);
            return http::fetch(ctx, ex, svc.port, svc.tls, &http::Request::get(&path));
        };
        http::fetch(ctx, ex, svc.port, svc.tls, &req)
    };
    let shape = |r: &http::Response| -> (u16, String, bool) {
        (
            r.status,
            r.header("location").unwrap_or("").to_string(),
            http::login_form(&r.body_text(), &form.action).is_some(),
        )
    };
    // A wrong password first: what refusal looks like here.
    let mut ex = ctx.exchange(probe, svc.port, svc.name());
    let Some(base) = submit(
        &mut ex,
        "admin",
        &format!("{}-wrong", crate::text::marker()),
    ) else {
        a.stopped = Some("the form gave no reply".into());
        return a;
    };
    let base_shape = shape(&base);
    for c in list {
        if ctx.deadline.expired() {
            a.stopped = Some("time budget spent".into());
            break;
        }
        let mut ex = ctx.exchange(probe, svc.port, svc.name());
        pacer.wait();
        let Some(r) = submit(&mut ex, &c.user, &c.pass) else {
            continue;
        };
        a.tried += 1;
        let s = shape(&r);
        let looks_in = s != base_shape
            && (300..400).contains(&s.0)
            && !s.1.to_ascii_lowercase().contains("login")
            && !s.1.to_ascii_lowercase().contains("error")
            || (base_shape.2 && !s.2 && s.0 == 200);
        if looks_in {
            ex.note(format!(
                "reply differs from a wrong password's ({base_shape:?} vs {s:?})"
            ));
            a.accepted = Some((c.clone(), ex.location()));
            break;
        }
    }
    a
}

fn rtsp_attempts(
    ctx: &Ctx<'_>,
    svc: &Service,
    list: &[Credential],
    probe: &'static str,
) -> Attempts {
    let mut a = Attempts {
        candidates: list.len(),
        what: "RTSP DESCRIBE".into(),
        ..Default::default()
    };
    let mut pacer = AuthPacer::new(ctx.opts.auth_rate);
    let url = format!("rtsp://{}:{}/", ctx.opts.ip, svc.port);
    for c in list {
        if ctx.deadline.expired() {
            break;
        }
        let mut ex = ctx.exchange(probe, svc.port, "rtsp");
        let Ok(mut conn) = ctx.connect(&mut ex, svc.port) else {
            break;
        };
        let _ = conn.send(
            &mut ex,
            format!("DESCRIBE {url} RTSP/1.0\r\nCSeq: 1\r\n\r\n").as_bytes(),
        );
        let r0 = http::parse(&conn.read_until(&mut ex, ctx.opts.io_timeout, http::complete));
        conn.close();
        let Some(ch) = r0
            .as_ref()
            .and_then(|r| r.header("www-authenticate").map(str::to_string))
        else {
            break;
        };
        let auth = if ch.to_ascii_lowercase().starts_with("digest") {
            http::digest_auth(
                &ch,
                "DESCRIBE",
                &url,
                &c.user,
                &c.pass,
                &crate::text::marker(),
            )
            .unwrap_or_default()
        } else {
            format!(
                "Basic {}",
                crate::text::base64(format!("{}:{}", c.user, c.pass).as_bytes())
            )
        };
        pacer.wait();
        let Ok(mut conn) = ctx.connect(&mut ex, svc.port) else {
            break;
        };
        let _ = conn.send(
            &mut ex,
            format!("DESCRIBE {url} RTSP/1.0\r\nCSeq: 2\r\nAuthorization: {auth}\r\n\r\n")
                .as_bytes(),
        );
        let r = http::parse(&conn.read_until(&mut ex, ctx.opts.io_timeout, http::complete));
        conn.close();
        a.tried += 1;
        if r.is_some_and(|r| r.status == 200) {
            a.accepted = Some((c.clone(), ex.location()));
            break;
        }
    }
    a
}
