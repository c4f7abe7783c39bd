//! Brute-force protection (5.1-5), opt-in: per login service, a bounded series of wrong
//! passwords as fast as the service answers (no pacing beyond the global rate cap, so the rate
//! measured is the service's own), then a known-good login where one is known (`--login`, or a
//! default credential the probe found). Lockout, growing delays and refused connections are the
//! protections looked for.

use std::time::{Duration, Instant};

use iotassure_core::finding::{Finding, Outcome, Severity, Source};

use super::login::{Attempter, Try};
use super::unauth::HttpPaths;
use super::{ids, Out, Tallied};
use crate::creds::Credential;
use crate::ctx::Ctx;
use crate::services::{Proto, Service};

pub fn supported(svc: &Service) -> bool {
    match svc.proto {
        Proto::Telnet | Proto::Ssh | Proto::Ftp => true,
        Proto::Mqtt => matches!(svc.mqtt_anonymous, Some(4) | Some(5)),
        Proto::Http => true,
        _ => false,
    }
}

fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    s[s.len() / 2]
}

pub fn run(
    ctx: &Ctx<'_>,
    svc: &Service,
    label: &str,
    http: Option<&HttpPaths>,
    found: Option<&Credential>,
    out: &mut Out,
) {
    let protected = http.and_then(|h| h.protected.first().cloned());
    if svc.proto == Proto::Http && protected.is_none() {
        return; // no HTTP authentication to test (login forms are not driven here)
    }
    // Known-good logins: --login, the IXIT's test accounts for this service, a default found.
    let known: Vec<Credential> = ctx
        .opts
        .known_logins
        .iter()
        .cloned()
        .chain(
            super::declared::accounts_for(ctx, svc)
                .into_iter()
                .map(|a| Credential::new(&a.username, &a.password, "ixit test account")),
        )
        .chain(found.cloned())
        .collect();
    let user = known
        .first()
        .map(|c| c.user.clone())
        .unwrap_or_else(|| "admin".into());
    let mut at = Attempter::new(ctx, svc, protected);
    let n = ctx.opts.bruteforce_attempts.clamp(1, 200);
    at.note(format!(
        "brute-force test: {n} wrong passwords for `{user}`, then {} known-good login(s)",
        known.len()
    ));

    // A known-good login from --login is checked first, so that a later refusal means lockout
    // and not a mistyped --login.
    let mut good: Option<Credential> = None;
    for k in &known {
        if found.is_some_and(|f| f == k) {
            good = Some(k.clone());
            break;
        }
        match at.attempt(&k.user, &k.pass) {
            Try::Accepted => {
                good = Some(k.clone());
                break;
            }
            other => at.note(format!(
                "known login {} not accepted before the test: {other:?}",
                k.show()
            )),
        }
    }
    let user = good.as_ref().map(|g| g.user.clone()).unwrap_or(user);

    let marker = crate::text::marker();
    let started = Instant::now();
    let mut delays = Vec::new();
    let mut locked: Option<String> = None;
    let mut refused = 0u32;
    let mut errors = Vec::new();
    let mut done = 0u32;
    for k in 0..n {
        if ctx.deadline.expired() || started.elapsed() > Duration::from_secs(300) {
            errors.push("time bound reached".to_string());
            break;
        }
        let t0 = Instant::now();
        let r = at.attempt(&user, &format!("{marker}-wrong-{k}"));
        let dt = t0.elapsed().as_secs_f64();
        done += 1;
        match r {
            Try::Rejected => delays.push(dt),
            Try::Accepted => {
                errors.push(format!("a wrong password was accepted at attempt {k}"));
                break;
            }
            Try::Locked(why) => {
                locked = Some(format!("after {k} wrong password(s): {why}"));
                break;
            }
            Try::Refused(why) => {
                refused += 1;
                at.note(format!("attempt {k}: connection refused or cut ({why})"));
                if refused >= 3 {
                    locked = Some(format!(
                        "connections refused after {k} wrong password(s) ({why})"
                    ));
                    break;
                }
                std::thread::sleep(Duration::from_millis(500));
            }
            Try::Error(e) => {
                errors.push(e);
                if errors.len() > 3 {
                    break;
                }
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64().max(1e-3);
    let rate = done as f64 / elapsed;
    let first = median(&delays[..delays.len().min(3)]);
    let last = median(&delays[delays.len().saturating_sub(3)..]);
    let growing = delays.len() >= 6 && last >= 2.0 * first && last - first >= 0.5;
    let after = good
        .as_ref()
        .map(|g| (g.clone(), at.attempt(&g.user, &g.pass)));
    let series = format!(
        "{done} wrong password(s) for `{user}` in {elapsed:.1} s ({rate:.2} attempts/s sustained); reply time first {first:.2} s, last {last:.2} s{}",
        if refused > 0 { format!("; {refused} connection(s) refused") } else { String::new() }
    );
    at.note(series.clone());
    let loc = at.location();
    let good_after = after.as_ref().map(|(_, r)| r.clone());
    if let Some(why) = &locked {
        out.tally(
            "5.1-5",
            ids::BRUTEFORCE,
            label,
            Tallied::Pass(
                format!("lockout or throttling observed {why}; {series}"),
                Some(loc),
            ),
        );
        return;
    }
    match good_after {
        Some(Try::Rejected) | Some(Try::Locked(_)) => {
            out.tally(
                "5.1-5",
                ids::BRUTEFORCE,
                label,
                Tallied::Pass(
                    format!("the valid login was refused after the wrong ones (lockout); {series}"),
                    Some(loc),
                ),
            );
        }
        _ if growing => {
            out.tally(
                "5.1-5",
                ids::BRUTEFORCE,
                label,
                Tallied::Pass(
                    format!("delays grew from {first:.2} s to {last:.2} s per attempt; {series}"),
                    Some(loc),
                ),
            );
        }
        Some(Try::Accepted) => {
            let g = after.as_ref().map(|(g, _)| g.show()).unwrap_or_default();
            let per_day = rate * 86_400.0;
            let f = Finding::new(ids::BRUTEFORCE, &["5.1-5"], Outcome::Fail, Severity::High, Source::Device, format!("{} has no brute-force protection: {rate:.2} guesses/s, valid login still accepted after {done} failures", svc.label()))
                .detail(format!(
                    "{label}: {series}. The valid login {g} was then accepted at once: no lockout, and reply times did not grow. At this rate one connection tries about {per_day:.0} passwords a day (EN 303 645 5.1-5)."
                ))
                .evidence(loc, series.clone());
            out.fail(f, label);
        }
        _ if !errors.is_empty() && delays.is_empty() => {
            out.tally(
                "5.1-5",
                ids::BRUTEFORCE,
                label,
                Tallied::Undecided(format!("the test could not run: {}", errors.join("; "))),
            );
        }
        _ => {
            out.tally(
                "5.1-5",
                ids::BRUTEFORCE,
                label,
                Tallied::Undecided(format!("{series}; no lockout or growing delay seen, but without a valid login (--login USER:PASS, or an IXIT test account) a silent lockout cannot be excluded")),
            );
        }
    }
}
