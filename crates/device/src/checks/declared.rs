//! The maker's declarations against what the probes see (TS 103 701 asks the lab to compare the
//! device with its IXIT): every open port is a declared interface (5.6-1-2a/2b, 5.13-1-2c), the
//! service on it is the declared one, every authentication mechanism seen is the declared one
//! (5.1-1-2a, 5.1-5-2a), and the declared test accounts get in (5.5-4-2b: access *with*
//! authentication is granted).

use iotassure_core::finding::{Finding, Outcome, Severity, Source};
use iotassure_core::ixit::{Authentication, TestAccount};

use super::unauth::HttpPaths;
use super::{ids, svc_location, Out, Tallied};
use crate::creds::Credential;
use crate::ctx::Ctx;
use crate::options::DeclaredInterface;
use crate::services::{Proto, Service};

/// How a service authenticates, as observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthSeen {
    /// Access without any authentication (how we know).
    None(String),
    /// A password (or community string, or login form).
    Password(String),
    /// Keys or certificates only (SSH publickey).
    Key(String),
    /// Could not tell.
    Unknown(String),
}

impl AuthSeen {
    pub fn describe(&self) -> String {
        match self {
            AuthSeen::None(w) => format!("no authentication ({w})"),
            AuthSeen::Password(w) => format!("password ({w})"),
            AuthSeen::Key(w) => format!("keys only ({w})"),
            AuthSeen::Unknown(w) => format!("not determined ({w})"),
        }
    }
}

pub fn auth_name(a: Authentication) -> &'static str {
    match a {
        Authentication::None => "none",
        Authentication::Password => "password",
        Authentication::Certificate => "certificate",
        Authentication::Token => "token",
        Authentication::Pairing => "pairing",
        Authentication::Other => "other",
    }
}

/// Does a declared service name fit what was identified? None: cannot tell (an unknown name,
/// or a service that was not identified).
pub fn service_fits(declared: &str, svc: &Service) -> Option<bool> {
    if matches!(svc.proto, Proto::Unknown) {
        return None;
    }
    let d = declared.trim().to_ascii_lowercase();
    let p = svc.proto;
    let tls_any = svc.tls;
    Some(match d.as_str() {
        "http" => p == Proto::Http && !tls_any,
        "https" => (p == Proto::Http || p == Proto::Tls) && tls_any,
        "web" | "www" | "http-alt" | "rest" | "api" | "webui" | "web-ui" | "web ui" => {
            p == Proto::Http || p == Proto::Tls
        }
        "ssh" | "sftp" | "scp" => p == Proto::Ssh,
        "telnet" => matches!(p, Proto::Telnet | Proto::Shell),
        "mqtt" => p == Proto::Mqtt && !tls_any,
        "mqtts" | "mqtt-tls" | "secure-mqtt" => (p == Proto::Mqtt || p == Proto::Tls) && tls_any,
        "ftp" => p == Proto::Ftp,
        "rtsp" => p == Proto::Rtsp,
        "smtp" => p == Proto::Smtp,
        "upnp" | "ssdp" => matches!(p, Proto::Ssdp | Proto::Http),
        "mdns" | "dns-sd" | "bonjour" => p == Proto::Mdns,
        "snmp" => p == Proto::Snmp,
        "coap" => p == Proto::Coap,
        "tftp" => p == Proto::Tftp,
        "tls" => tls_any,
        _ => return None,
    })
}

/// The declared interface list against an open port: declared, and the declared service.
pub fn interface(ctx: &Ctx<'_>, svc: &Service, label: &str, out: &mut Out) {
    let d = &ctx.opts.declared;
    let Some(list) = &d.interfaces else {
        return;
    };
    let proto = if svc.udp { "udp" } else { "tcp" };
    let Some(decl) = d.interface(svc.port, svc.udp) else {
        let f = Finding::new(ids::PORTS, &["5.6-1", "5.6-5", "5.13-1"], Outcome::Fail, Severity::High, Source::Device, format!("{} is open but not among the interfaces the maker declares", svc.label()))
            .detail(format!(
                "{label}: declared ({}): {}. An enabled interface the maker does not list is an unused interface (5.6-1), an unneeded service (5.6-5) and an undocumented API (TS 103 701 5.13-1-2c).",
                d.source,
                list.iter().map(|i| format!("{}/{}{}", i.port, if i.udp { "udp" } else { "tcp" }, i.service.as_ref().map(|s| format!(" {s}")).unwrap_or_default())).collect::<Vec<_>>().join(", ")
            ))
            .evidence(svc_location(ctx, svc), svc.banner.clone().unwrap_or_default());
        out.fail(f, label);
        return;
    };
    let fits = decl.service.as_deref().map(|s| (s, service_fits(s, svc)));
    match fits {
        Some((s, Some(false))) => {
            let cleartext_for_tls =
                matches!(s.to_ascii_lowercase().as_str(), "https" | "mqtts" | "tls")
                    && !svc.tls
                    && matches!(svc.proto, Proto::Http | Proto::Mqtt);
            let (provs, why): (&[&str], &str) = if cleartext_for_tls {
                (&["5.5-1", "5.6-1"], "it is declared with TLS but speaks cleartext: the documented cryptography is not used (TS 103 701 5.5-1-2a)")
            } else {
                (
                    &["5.6-1", "5.13-1"],
                    "the service on it is not the documented one (TS 103 701 5.6-1-2a, 5.13-1-2c)",
                )
            };
            let f = Finding::new(
                ids::PORTS,
                provs,
                Outcome::Fail,
                if cleartext_for_tls {
                    Severity::High
                } else {
                    Severity::Medium
                },
                Source::Device,
                format!(
                    "{}/{proto} is declared as `{s}` but serves {}",
                    svc.port,
                    svc.name()
                ),
            )
            .detail(format!(
                "{label}: {} declares {}/{proto} `{s}`{}; {why}.",
                d.source,
                svc.port,
                if decl.purpose.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", decl.purpose)
                }
            ))
            .evidence(
                svc_location(ctx, svc),
                svc.banner.clone().unwrap_or_default(),
            );
            out.fail(f, label);
        }
        _ => {
            let note = match fits {
                Some((s, Some(true))) => format!(
                    "{}/{proto} is declared as `{s}` and serves {}",
                    svc.port,
                    svc.name()
                ),
                Some((s, None)) => format!(
                    "{}/{proto} is declared (`{s}`; the service could not be compared: {})",
                    svc.port,
                    svc.name()
                ),
                _ => format!(
                    "{}/{proto} is among the interfaces the maker declares",
                    svc.port
                ),
            };
            for p in ["5.6-1", "5.6-5"] {
                out.tally(
                    p,
                    ids::PORTS,
                    label,
                    Tallied::Pass(note.clone(), Some(svc_location(ctx, svc))),
                );
            }
        }
    }
}

/// What the probes learned about how `svc` authenticates.
pub fn observed(
    svc: &Service,
    http: Option<&HttpPaths>,
    out: &Out,
    accepted: Option<&Credential>,
) -> AuthSeen {
    if let Some(a) = &out.auth {
        return a.clone();
    }
    match svc.proto {
        Proto::Shell => AuthSeen::None("a shell answers without a login".into()),
        Proto::Telnet => AuthSeen::Password("telnet login prompt".into()),
        Proto::Ftp => {
            if accepted.is_some_and(|c| c.user == "anonymous" || c.user == "ftp") {
                AuthSeen::None("anonymous FTP login accepted".into())
            } else {
                AuthSeen::Password("FTP USER/PASS".into())
            }
        }
        Proto::Mqtt => match svc.mqtt_anonymous {
            Some(0) => AuthSeen::None("anonymous MQTT CONNECT accepted".into()),
            Some(4) | Some(5) => {
                AuthSeen::Password("anonymous CONNECT refused, CONNACK asks for credentials".into())
            }
            _ => AuthSeen::Unknown("no CONNACK to an anonymous CONNECT".into()),
        },
        Proto::Http => {
            let seen = svc.http.as_ref();
            if let Some((scheme, realm)) = seen.and_then(|h| h.challenge.clone()) {
                AuthSeen::Password(format!("HTTP {scheme} challenge, realm \"{realm}\""))
            } else if seen.is_some_and(|h| h.has_login_form)
                || http.is_some_and(|h| !h.forms.is_empty())
            {
                AuthSeen::Password("a login form".into())
            } else if let Some(p) = http.and_then(|h| h.protected.first()) {
                AuthSeen::Password(format!("HTTP {} on {}", p.scheme, p.path))
            } else if out.findings.iter().any(|f| {
                f.outcome == Outcome::Fail
                    && (f.check == ids::UNAUTH || f.check == ids::UNAUTH_CONFIG)
            }) {
                AuthSeen::None("device data or configuration served without a login".into())
            } else {
                AuthSeen::Unknown("no login seen on the pages fetched".into())
            }
        }
        Proto::Rtsp => {
            if svc.banner.as_deref().is_some_and(|b| b.contains(" 401")) {
                AuthSeen::Password("RTSP 401".into())
            } else {
                AuthSeen::Unknown("RTSP without a 401 on OPTIONS".into())
            }
        }
        Proto::Snmp => {
            if svc.info("community").is_some() {
                AuthSeen::None("SNMP answers the community `public`".into())
            } else {
                AuthSeen::Password("SNMP community string".into())
            }
        }
        Proto::Ssdp | Proto::Mdns | Proto::Coap | Proto::Tftp => {
            AuthSeen::None(format!("{} has no authentication", svc.name()))
        }
        _ => AuthSeen::Unknown(format!("{} not identified far enough", svc.name())),
    }
}

/// 5.1-1-2a / 5.1-5-2a: the mechanism seen against the declared one. Returns a line for the
/// unit's summary.
pub fn auth_mechanism(
    ctx: &Ctx<'_>,
    svc: &Service,
    label: &str,
    seen: &AuthSeen,
    out: &mut Out,
) -> Option<String> {
    let d = &ctx.opts.declared;
    // Only an IXIT says how interfaces authenticate; `--expect` lists ports alone.
    let ixit = d.interfaces.as_ref()?.iter().any(|i| i.auth.is_some());
    if !ixit {
        return None;
    }
    let decl: Option<&DeclaredInterface> = d.interface(svc.port, svc.udp);
    let declared = decl.and_then(|i| i.auth);
    let line = format!(
        "{}: declared {}, seen {}",
        svc.label(),
        declared.map(auth_name).unwrap_or("(undeclared interface)"),
        seen.describe()
    );
    let fail = |out: &mut Out, provs: &[&str], sev: Severity, title: String, why: &str| {
        let f = Finding::new(
            ids::AUTH_DECLARED,
            provs,
            Outcome::Fail,
            sev,
            Source::Device,
            title,
        )
        .detail(format!("{label}: {line}. {why}", line = line))
        .evidence(svc_location(ctx, svc), seen.describe());
        out.fail(f, label);
    };
    match (declared, seen) {
        (None, AuthSeen::Password(_) | AuthSeen::Key(_)) => fail(
            out,
            &["5.1-1"],
            Severity::Medium,
            format!("{} has an authentication mechanism the maker does not document", svc.label()),
            &format!("Every authentication mechanism must be documented (TS 103 701 5.1-1-2a), or it escapes the password and brute-force assessment (5.1-5-2a). Declared in {}.", d.source),
        ),
        (Some(Authentication::None), AuthSeen::Password(_) | AuthSeen::Key(_)) => fail(
            out,
            &["5.1-1"],
            Severity::Medium,
            format!("{} asks for credentials, but the maker declares it without authentication", svc.label()),
            &format!("The mechanism is not documented ({}), so its passwords are not covered by the maker's statement (TS 103 701 5.1-1-2a, 5.1-5-2a).", d.source),
        ),
        (Some(a), AuthSeen::None(_)) if a != Authentication::None => fail(
            out,
            &["5.5-4"],
            Severity::High,
            format!("{} is declared with {} authentication but lets anyone in", svc.label(), auth_name(a)),
            "Access without authentication where the maker documents authentication (TS 103 701 5.5-4-2a, 5.1-1-2a).",
        ),
        (Some(Authentication::Password), AuthSeen::Key(_)) | (Some(Authentication::Certificate), AuthSeen::Password(_)) => fail(
            out,
            &["5.1-1"],
            Severity::Low,
            format!("{} authenticates differently from its declaration", svc.label()),
            "The mechanism seen is not the documented one (TS 103 701 5.1-1-2a).",
        ),
        // 5.1-1-2a asks for a verdict per mechanism, so a match is a PASS and "could not tell"
        // is named, rather than left as a silent Info.
        (Some(a), seen) => {
            let matched = match (a, seen) {
                (Authentication::None, AuthSeen::None(_)) => Some(true),
                (Authentication::Password, AuthSeen::Password(_)) => Some(true),
                (Authentication::Certificate, AuthSeen::Key(_)) => Some(true),
                (_, AuthSeen::Unknown(_)) => None,
                // Token, pairing and other schemes: what a probe sees cannot confirm them.
                _ => Some(false),
            };
            match matched {
                Some(true) => out.tally(
                    "5.1-1",
                    ids::AUTH_DECLARED,
                    label,
                    Tallied::Pass(
                        format!("5.1-1-2a: the authentication mechanism seen is the documented one ({line})"),
                        Some(svc_location(ctx, svc)),
                    ),
                ),
                _ => out.tally(
                    "5.1-1",
                    ids::AUTH_DECLARED,
                    label,
                    Tallied::Undecided(format!(
                        "5.1-1-2a: could not tell whether the mechanism is the documented one ({line})"
                    )),
                ),
            }
        }
        (None, _) => {}
    }
    Some(line)
}

/// The declared test accounts that fit `svc` (service name and port).
pub fn accounts_for<'o>(ctx: &'o Ctx<'_>, svc: &Service) -> Vec<&'o TestAccount> {
    ctx.opts
        .declared
        .test_accounts
        .iter()
        .filter(|a| {
            let port_ok = a.port.is_none_or(|p| p == svc.port);
            let fits = service_fits(&a.service, svc);
            port_ok && (fits == Some(true) || (fits.is_none() && a.port == Some(svc.port)))
        })
        .collect()
}

/// 5.5-4-2b: a declared test account logs in (access with authentication is granted).
pub fn test_accounts(
    ctx: &Ctx<'_>,
    svc: &Service,
    label: &str,
    http: Option<&HttpPaths>,
    out: &mut Out,
) -> Option<String> {
    let accounts = accounts_for(ctx, svc);
    if accounts.is_empty() {
        return (!ctx.opts.declared.test_accounts.is_empty() && svc.asks_password())
            .then(|| format!("{}: no declared test account for this service", svc.label()));
    }
    let list: Vec<Credential> = accounts
        .iter()
        .map(|a| Credential::new(&a.username, &a.password, "ixit test account"))
        .collect();
    let mut scratch = Out::default();
    let a = super::creds::attempts(ctx, svc, label, http, &list, &mut scratch, ids::AUTH_ACCESS);
    let Some(a) = a else {
        let why = format!("no login this probe can drive on {}", svc.name());
        out.tally(
            "5.5-4",
            ids::AUTH_ACCESS,
            label,
            Tallied::Undecided(format!("declared test account not tried: {why}")),
        );
        return Some(format!("{}: {why}", svc.label()));
    };
    match &a.accepted {
        Some((c, loc)) => {
            let why = format!(
                "the declared test account `{}` logs in: access with authentication is granted",
                c.user
            );
            out.tally(
                "5.5-4",
                ids::AUTH_ACCESS,
                label,
                Tallied::Pass(why.clone(), Some(loc.clone())),
            );
            Some(format!("{}: {why}", svc.label()))
        }
        None => {
            let why = format!(
                "the declared test account(s) {} were refused{}",
                list.iter()
                    .map(|c| format!("`{}`", c.user))
                    .collect::<Vec<_>>()
                    .join(", "),
                a.locked
                    .as_ref()
                    .map(|l| format!(" (locked: {l})"))
                    .or_else(|| a.stopped.as_ref().map(|s| format!(" ({s})")))
                    .unwrap_or_default()
            );
            out.tally(
                "5.5-4",
                ids::AUTH_ACCESS,
                label,
                Tallied::Undecided(format!(
                    "{why}: access with authentication could not be shown"
                )),
            );
            Some(format!("{}: {why}", svc.label()))
        }
    }
}
