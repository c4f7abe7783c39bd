//! Unauthenticated access (5.5-4, 5.5-5, 5.6-2): a table of common IoT web endpoints fetched
//! without credentials, anonymous MQTT (subscribe to `#` and `$SYS`), SNMP default communities,
//! UPnP IGD actions without authentication (read-only actions only), RTSP streams, TFTP, and
//! shells that answer without a login.

use std::time::{Duration, Instant};

use iotassure_core::finding::{Finding, Outcome, Severity, Source};

use super::{ids, port_location, svc_location, Out, Tallied};
use crate::ctx::Ctx;
use crate::services::udp::{self, UdpReply};
use crate::services::{http, mqtt, snmp, telnet, upnp, Proto, Service};
use crate::text;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A file holding configuration or credentials: served at all is a violation.
    Secret,
    /// A page that changes configuration: served without login is a violation (5.5-5).
    Config,
    /// A page or image that shows device data: served without login is a violation (5.5-4).
    Data,
}

struct Row {
    path: &'static str,
    what: &'static str,
    kind: Kind,
    /// The body must contain one of these (case-insensitive) to count; an image type counts for
    /// `image/`. Empty: any non-trivial 200 body.
    needles: &'static [&'static str],
}

/// Well-known endpoints of consumer routers, cameras and hubs (public advisories, routersploit
/// and nuclei templates describe them); every request is a GET.
const PATHS: &[Row] = &[
    Row {
        path: "/etc/passwd",
        what: "the system password file",
        kind: Kind::Secret,
        needles: &["root:"],
    },
    Row {
        path: "/etc/shadow",
        what: "the system shadow file",
        kind: Kind::Secret,
        needles: &["root:"],
    },
    Row {
        path: "/config.bin",
        what: "a configuration backup",
        kind: Kind::Secret,
        needles: &[],
    },
    Row {
        path: "/backup.cfg",
        what: "a configuration backup",
        kind: Kind::Secret,
        needles: &[],
    },
    Row {
        path: "/cgi-bin/config.exp",
        what: "a configuration export",
        kind: Kind::Secret,
        needles: &["pass", "key", "user"],
    },
    Row {
        path: "/cgi-bin/ExportSettings.sh",
        what: "a configuration export",
        kind: Kind::Secret,
        needles: &["pass", "key"],
    },
    Row {
        path: "/rom-0",
        what: "a ZynOS configuration dump (rom-0)",
        kind: Kind::Secret,
        needles: &["dbgarea", "spt.dat", "autoexec.net"],
    },
    Row {
        path: "/system.ini",
        what: "a camera configuration dump",
        kind: Kind::Secret,
        needles: &["pass", "user"],
    },
    Row {
        path: "/.git/config",
        what: "a source repository",
        kind: Kind::Secret,
        needles: &["[core]"],
    },
    Row {
        path: "/.env",
        what: "an environment file",
        kind: Kind::Secret,
        needles: &["pass", "secret", "key"],
    },
    Row {
        path: "/wpad.dat",
        what: "a proxy auto-config",
        kind: Kind::Data,
        needles: &["findproxyforurl"],
    },
    Row {
        path: "/HNAP1/",
        what: "the HNAP device description (model, firmware version)",
        kind: Kind::Data,
        needles: &["<modelname>", "<firmwareversion>", "soapactions"],
    },
    Row {
        path: "/status.xml",
        what: "a status page",
        kind: Kind::Data,
        needles: &["firmware", "version", "mac"],
    },
    Row {
        path: "/cgi-bin/status",
        what: "a status page",
        kind: Kind::Data,
        needles: &["firmware", "version", "mac"],
    },
    Row {
        path: "/info.html",
        what: "a device information page",
        kind: Kind::Data,
        needles: &["firmware", "version", "serial"],
    },
    Row {
        path: "/snapshot.cgi",
        what: "a camera snapshot",
        kind: Kind::Data,
        needles: &["image/"],
    },
    Row {
        path: "/cgi-bin/snapshot.cgi",
        what: "a camera snapshot",
        kind: Kind::Data,
        needles: &["image/"],
    },
    Row {
        path: "/tmpfs/auto.jpg",
        what: "a camera snapshot",
        kind: Kind::Data,
        needles: &["image/"],
    },
    Row {
        path: "/image.jpg",
        what: "a camera snapshot",
        kind: Kind::Data,
        needles: &["image/"],
    },
    Row {
        path: "/admin",
        what: "the administration interface",
        kind: Kind::Config,
        needles: &["<form", "<input"],
    },
    Row {
        path: "/admin/",
        what: "the administration interface",
        kind: Kind::Config,
        needles: &["<form", "<input"],
    },
    Row {
        path: "/setup.cgi",
        what: "a set-up page",
        kind: Kind::Config,
        needles: &["<form", "<input"],
    },
    Row {
        path: "/setup.html",
        what: "a set-up page",
        kind: Kind::Config,
        needles: &["<form", "<input"],
    },
    Row {
        path: "/settings.html",
        what: "a settings page",
        kind: Kind::Config,
        needles: &["<form", "<input"],
    },
    Row {
        path: "/system.html",
        what: "a system settings page",
        kind: Kind::Config,
        needles: &["<form", "<input"],
    },
    Row {
        path: "/config.html",
        what: "a configuration page",
        kind: Kind::Config,
        needles: &["<form", "<input"],
    },
    Row {
        path: "/wizard.html",
        what: "a set-up wizard",
        kind: Kind::Config,
        needles: &["<form", "<input"],
    },
    Row {
        path: "/cgi-bin/admin.cgi",
        what: "the administration CGI",
        kind: Kind::Config,
        needles: &["<form", "<input"],
    },
    Row {
        path: "/upgrade.html",
        what: "a firmware upgrade page",
        kind: Kind::Config,
        needles: &["type=\"file\"", "type=file", "type='file'"],
    },
    Row {
        path: "/cgi-bin/upgrade.cgi",
        what: "a firmware upgrade page",
        kind: Kind::Config,
        needles: &["type=\"file\"", "type=file", "type='file'"],
    },
    Row {
        path: "/cgi-bin/luci",
        what: "the LuCI web interface",
        kind: Kind::Config,
        needles: &["<form", "<input"],
    },
    Row {
        path: "/login.html",
        what: "a login page",
        kind: Kind::Data,
        needles: &[],
    },
    Row {
        path: "/cgi-bin/",
        what: "the CGI directory",
        kind: Kind::Data,
        needles: &[],
    },
];

/// The paths of the endpoint table, in order (for `--dry-run`).
pub fn table_paths() -> Vec<&'static str> {
    PATHS.iter().map(|r| r.path).collect()
}

/// What the web checks learnt about a web service: where it asks for credentials.
#[derive(Debug, Clone, Default)]
pub struct HttpPaths {
    /// Paths answering 401, with their challenge.
    pub protected: Vec<Protected>,
    /// Pages with a login form.
    pub forms: Vec<(String, http::LoginForm)>,
    pub redirects_to_https: bool,
    /// Query parameters seen in links and forms (for the input-validation cases).
    pub params: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct Protected {
    pub path: String,
    pub scheme: String,
    pub realm: String,
    pub challenge: String,
}

/// Whether two pages are the same page give or take dynamic parts (counters, times, tokens):
/// most of the lines of one are lines of the other.
fn similar(a: &str, b: &str) -> bool {
    let la: std::collections::HashSet<&str> =
        a.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let lb: Vec<&str> = b.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    if lb.is_empty() {
        return la.is_empty();
    }
    let common = lb.iter().filter(|l| la.contains(*l)).count();
    common * 10 >= lb.len() * 7
}

fn is_login_path(p: &str) -> bool {
    let l = p.to_ascii_lowercase();
    l.contains("login") || l.contains("signin") || l.contains("auth")
}

/// Fetches the table of paths on a web service (and the links of its root page).
pub fn http_paths(ctx: &Ctx<'_>, svc: &Service, label: &str, out: &mut Out) -> HttpPaths {
    let mut hp = HttpPaths::default();
    let seen = svc.http.clone().unwrap_or_default();
    if let (Some((scheme, realm)), Some(raw)) = (&seen.challenge, &seen.challenge_raw) {
        hp.protected.push(Protected {
            path: seen.path.clone(),
            scheme: scheme.clone(),
            realm: realm.clone(),
            challenge: raw.clone(),
        });
    }
    if let Some(f) = &seen.form {
        hp.forms.push((seen.path.clone(), f.clone()));
    }
    let mut ex = ctx.exchange(ids::UNAUTH, svc.port, svc.name());
    // What does a path that cannot exist look like? (Some servers answer 200 to everything.)
    let bogus = format!("/{}-not-found", text::marker());
    let soft404 = http::fetch(ctx, &mut ex, svc.port, svc.tls, &http::Request::get(&bogus))
        .filter(|r| r.status == 200)
        .map(|r| r.body_text().replace(&bogus, ""));
    // The root page: redirects to HTTPS, links, parameters.
    let mut paths: Vec<(String, Option<&Row>)> = PATHS
        .iter()
        .map(|r| (r.path.to_string(), Some(r)))
        .collect();
    if let Some(root) = http::fetch(ctx, &mut ex, svc.port, svc.tls, &http::Request::get("/")) {
        if (300..400).contains(&root.status)
            && root
                .header("location")
                .is_some_and(|l| l.starts_with("https://"))
        {
            hp.redirects_to_https = true;
        }
        let body = root.body_text();
        for a in http::tags(&body, "a")
            .iter()
            .chain(http::tags(&body, "form").iter())
        {
            let href = http::attr(a, "href")
                .or_else(|| http::attr(a, "action"))
                .unwrap_or_default();
            if href.starts_with("http")
                || href.starts_with("//")
                || href.starts_with('#')
                || href.starts_with("javascript")
                || href.is_empty()
            {
                continue;
            }
            let p = if href.starts_with('/') {
                href.clone()
            } else {
                format!("/{href}")
            };
            if let Some((path, q)) = p.split_once('?') {
                for kv in q.split('&') {
                    if let Some((k, _)) = kv.split_once('=') {
                        hp.params.push((path.to_string(), k.to_string()));
                    }
                }
            }
            let path = p.split('?').next().unwrap_or("/").to_string();
            if !paths.iter().any(|(x, _)| *x == path) && paths.len() < PATHS.len() + 12 {
                paths.push((path, None));
            }
        }
        if let Some(f) = http::login_form(&body, "/") {
            if !hp.forms.iter().any(|(p, _)| p == "/") {
                hp.forms.push(("/".into(), f));
            }
        }
        for i in http::tags(&body, "input") {
            if let Some(n) = http::attr(&i, "name") {
                hp.params.push(("/".into(), n));
            }
        }
    }
    hp.params.sort();
    hp.params.dedup();
    let mut open_config = Vec::new();
    for (path, row) in &paths {
        if ctx.deadline.expired() {
            break;
        }
        let mut pex = ctx.exchange(ids::UNAUTH, svc.port, svc.name());
        let Some(r) = http::fetch(ctx, &mut pex, svc.port, svc.tls, &http::Request::get(path))
        else {
            continue;
        };
        if r.status == 401 {
            if let Some((scheme, realm)) = http::challenge(&r) {
                if !hp.protected.iter().any(|p| p.path == *path) {
                    hp.protected.push(Protected {
                        path: path.clone(),
                        scheme,
                        realm,
                        challenge: r.header("www-authenticate").unwrap_or("").to_string(),
                    });
                }
            }
            continue;
        }
        if r.status != 200
            || soft404
                .as_deref()
                .is_some_and(|b| similar(b, &r.body_text().replace(path.as_str(), "")))
        {
            continue;
        }
        let body = r.body_text();
        if let Some(f) = http::login_form(&body, path) {
            if !hp.forms.iter().any(|(p, _)| p == path) {
                hp.forms.push((path.clone(), f));
            }
            continue;
        }
        let Some(row) = row else { continue };
        let ctype = r.header("content-type").unwrap_or("").to_ascii_lowercase();
        let low = body.to_ascii_lowercase();
        let matched = if row.needles.is_empty() {
            r.body.len() >= 8 && row.kind != Kind::Data
        } else {
            row.needles.iter().any(|n| {
                if *n == "image/" {
                    ctype.starts_with("image/")
                } else {
                    low.contains(n)
                }
            })
        };
        if !matched || is_login_path(path) {
            continue;
        }
        let excerpt = if ctype.starts_with("image/") {
            format!("200 {ctype}, {} bytes", r.body.len())
        } else {
            text::line(&r.body, 160)
        };
        match row.kind {
            Kind::Secret => {
                let f = Finding::new(ids::UNAUTH, &["5.5-4", "5.6-2"], Outcome::Fail, Severity::Critical, Source::Device, format!("{} serves {} without authentication: {path}", svc.label(), row.what))
                    .detail(format!("{label}: GET {path} without credentials returned 200 and content that looks like {}.", row.what))
                    .evidence(pex.location(), excerpt);
                out.fail(f, label);
            }
            Kind::Data => {
                let f = Finding::new(
                    ids::UNAUTH,
                    &["5.5-4", "5.6-2"],
                    Outcome::Fail,
                    Severity::Medium,
                    Source::Device,
                    format!(
                        "{} serves {} without authentication: {path}",
                        svc.label(),
                        row.what
                    ),
                )
                .detail(format!(
                    "{label}: GET {path} without credentials returned 200 with {}.",
                    row.what
                ))
                .evidence(pex.location(), excerpt)
                .heuristic();
                out.fail(f, label);
            }
            Kind::Config => open_config.push((path.clone(), row.what, pex.location(), excerpt)),
        }
    }
    for (path, what, loc, excerpt) in open_config.into_iter().take(3) {
        let f = Finding::new(ids::UNAUTH_CONFIG, &["5.5-5", "5.5-4"], Outcome::Fail, Severity::High, Source::Device, format!("{} serves {what} without authentication: {path}", svc.label()))
            .detail(format!("{label}: GET {path} without credentials returned a page with a form and no password field. EN 303 645 5.5-5 requires security-relevant configuration over a network interface to need authentication. The form was not submitted; a person should confirm what it changes."))
            .evidence(loc, excerpt)
            .heuristic();
        out.fail(f, label);
    }
    // Whether the web interface as a whole asks for a login.
    if hp.redirects_to_https {
        out.tally(
            "5.5-4",
            ids::UNAUTH,
            label,
            Tallied::Pass(
                "cleartext HTTP only redirects to HTTPS".into(),
                Some(svc_location(ctx, svc)),
            ),
        );
    } else if seen.challenge.is_some() {
        out.tally(
            "5.5-4",
            ids::UNAUTH,
            label,
            Tallied::Pass(
                format!(
                    "the web root answers 401 ({})",
                    seen.challenge
                        .as_ref()
                        .map(|c| c.0.clone())
                        .unwrap_or_default()
                ),
                Some(svc_location(ctx, svc)),
            ),
        );
    } else if seen.has_login_form {
        out.tally(
            "5.5-4",
            ids::UNAUTH,
            label,
            Tallied::Pass(
                format!("the web root shows a login form ({})", seen.path),
                Some(svc_location(ctx, svc)),
            ),
        );
    } else {
        out.tally(
            "5.5-4",
            ids::UNAUTH,
            label,
            Tallied::Undecided(format!(
                "the web root answers {} without a login{}; whether it exposes device functionality needs a person",
                seen.status,
                if hp.protected.is_empty() { String::new() } else { format!(" (but {} asks for one)", hp.protected.iter().map(|p| p.path.as_str()).collect::<Vec<_>>().join(", ")) }
            )),
        );
    }
    let _ = ex;
    hp
}

/// The other protocols.
pub fn run(ctx: &Ctx<'_>, svc: &Service, label: &str, out: &mut Out) {
    match svc.proto {
        Proto::Mqtt => mqtt_anonymous(ctx, svc, label, out),
        Proto::Snmp => snmp_communities(ctx, svc, label, out),
        Proto::Ssdp => upnp_actions(ctx, svc, label, out),
        Proto::Shell => open_shell(ctx, svc, label, out),
        Proto::Telnet => out.tally("5.5-4", ids::UNAUTH, label, Tallied::Pass(format!("telnet asks for a login (`{}`)", svc.telnet_prompt.clone().unwrap_or_default()), Some(svc_location(ctx, svc)))),
        Proto::Rtsp => rtsp_describe(ctx, svc, label, out),
        Proto::Tftp => {
            let f = Finding::new(ids::UNAUTH, &["5.5-4"], Outcome::Fail, Severity::High, Source::Device, format!("{} answers file requests without authentication", svc.label()))
                .detail(format!("{label}: a TFTP read request was answered ({}). TFTP has no authentication at all.", svc.banner.clone().unwrap_or_default()))
                .evidence(svc_location(ctx, svc), svc.banner.clone().unwrap_or_default());
            out.fail(f, label);
        }
        Proto::Coap => out.tally("5.5-4", ids::UNAUTH, label, Tallied::Undecided(format!("CoAP lists resources without authentication ({}); whether they need it is not known", svc.info("resources").unwrap_or("")))),
        Proto::Unknown | Proto::Tls | Proto::Smtp => out.tally("5.5-4", ids::UNAUTH, label, Tallied::Undecided(svc.note.clone().unwrap_or_else(|| format!("{}: whether it requires authentication was not tested", svc.name())))),
        _ => {}
    }
}

fn mqtt_anonymous(ctx: &Ctx<'_>, svc: &Service, label: &str, out: &mut Out) {
    match svc.mqtt_anonymous {
        Some(0) => {}
        Some(rc @ (4 | 5)) => {
            out.tally(
                "5.5-4",
                ids::UNAUTH,
                label,
                Tallied::Pass(
                    format!(
                        "anonymous MQTT CONNECT refused (CONNACK {rc}: {})",
                        mqtt::connack_meaning(rc)
                    ),
                    Some(svc_location(ctx, svc)),
                ),
            );
            out.tally(
                "5.6-2",
                ids::BANNERS,
                label,
                Tallied::Pass(
                    "anonymous clients cannot read $SYS".into(),
                    Some(svc_location(ctx, svc)),
                ),
            );
            return;
        }
        other => {
            out.tally(
                "5.5-4",
                ids::UNAUTH,
                label,
                Tallied::Undecided(format!("anonymous CONNECT gave {other:?}")),
            );
            return;
        }
    }
    let mut ex = ctx.exchange(ids::UNAUTH, svc.port, svc.name());
    let Ok(mut c) = ctx.open(&mut ex, svc.port, svc.tls) else {
        return;
    };
    let _ = c.send_as(
        &mut ex,
        &mqtt::connect("iotassure-sub", None),
        "MQTT CONNECT (anonymous)",
    );
    let ack = c.read_until_quiet(&mut ex, ctx.opts.io_timeout, |b| b.len() >= 4);
    if mqtt::connack(&ack) != Some(0) {
        c.close();
        return;
    }
    let _ = c.send_as(
        &mut ex,
        &mqtt::subscribe(1, &["#", "$SYS/#"]),
        "MQTT SUBSCRIBE # and $SYS/#",
    );
    // Gather what the broker sends for a moment: retained messages and $SYS arrive at once.
    let end = Instant::now() + Duration::from_millis(1500);
    let mut buf = Vec::new();
    while Instant::now() < end && !c.eof && buf.len() < 256 << 10 {
        match c.read_chunk(end.saturating_duration_since(Instant::now())) {
            Ok(ch) if !ch.is_empty() => buf.extend(ch),
            _ => {}
        }
    }
    let _ = c.send_as(&mut ex, &mqtt::DISCONNECT, "MQTT DISCONNECT");
    c.close();
    let pk = mqtt::packets(&buf);
    let granted = pk
        .iter()
        .find(|(t, _)| *t == 0x90)
        .map(|(_, b)| b.get(2..).unwrap_or(&[]).to_vec())
        .unwrap_or_default();
    let mut topics = Vec::new();
    let mut version = None;
    for (t, b) in &pk {
        if let Some((topic, payload)) = mqtt::parse_publish(*t, b) {
            if topic == "$SYS/broker/version" {
                version = Some(String::from_utf8_lossy(&payload).to_string());
            }
            if topics.len() < 400 {
                topics.push(topic);
            }
        }
    }
    ex.received_as(
        &buf,
        format!(
            "SUBACK {:02x?}; {} PUBLISH message(s); topics: {}",
            granted,
            topics.len(),
            topics
                .iter()
                .take(8)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ),
    );
    let subscribed = !granted.is_empty() && granted.iter().any(|g| *g != 0x80);
    let f = Finding::new(ids::UNAUTH, &["5.5-4"], Outcome::Fail, Severity::High, Source::Device, format!("{} accepts anonymous clients{}", svc.label(), if subscribed { " and lets them subscribe to every topic (#)" } else { "" }))
        .detail(format!(
            "{label}: an MQTT CONNECT with no user name was accepted (CONNACK 0){}. Anyone on the network can read{} the device's messages.",
            if subscribed { format!("; SUBSCRIBE # / $SYS/# granted {granted:02x?}, {} message(s) received", topics.len()) } else { String::new() },
            if subscribed { " and publish" } else { "" }
        ))
        .evidence(ex.location(), format!("CONNACK 0; {} topics", topics.len()));
    out.fail(f, label);
    if let Some(v) = version {
        let f = Finding::new(
            ids::BANNERS,
            &["5.6-2"],
            Outcome::Fail,
            Severity::Low,
            Source::Device,
            format!(
                "{} discloses its software version to anonymous clients: {}",
                svc.label(),
                text::line(v.as_bytes(), 80)
            ),
        )
        .detail(format!(
            "{label}: $SYS/broker/version = `{v}`, readable without authentication."
        ))
        .evidence(ex.location(), format!("$SYS/broker/version {v}"));
        out.fail(f, label);
        for (name, version, cpe) in crate::components::parse(&v) {
            out.components.push(iotassure_core::finding::Component {
                purl: Some(crate::components::purl(&name, &version)),
                cpe,
                name,
                version,
                method: "mqtt-sys".into(),
                evidence: vec![iotassure_core::finding::Evidence {
                    location: ex.location(),
                    excerpt: format!("{}: $SYS/broker/version {v}", svc.label()),
                }],
                files: Vec::new(),
            });
        }
    }
}

fn snmp_communities(ctx: &Ctx<'_>, svc: &Service, label: &str, out: &mut Out) {
    // `public` answered during discovery; try `private` (commonly the read-write community).
    let mut ex = ctx.exchange(ids::UNAUTH, svc.port, "snmp");
    let mut communities = vec!["public".to_string()];
    let q = snmp::get_request(1, "private", 0x696f7462);
    if let Ok(UdpReply::Answered(rs)) = udp::exchange(
        ctx,
        &mut ex,
        svc.port,
        &q,
        Some("SNMPv2c GetRequest community=private sysDescr.0 sysName.0"),
        Duration::from_millis(1000).min(ctx.opts.io_timeout),
        4,
    ) {
        if rs.iter().any(|r| snmp::parse_response(r).is_some()) {
            communities.push("private".into());
        }
    }
    let values: Vec<String> = svc.disclosed.iter().map(|d| d.value.clone()).collect();
    let f = Finding::new(ids::UNAUTH, &["5.5-4", "5.1-1"], Outcome::Fail, Severity::High, Source::Device, format!("{} answers SNMP with the default communit{} {}", svc.label(), if communities.len() > 1 { "ies" } else { "y" }, communities.join(" and ")))
        .detail(format!(
            "{label}: SNMP community strings are passwords; `public`{} is the factory default every scanner tries. The agent answered: {}.{}",
            if communities.len() > 1 { " and `private`" } else { "" },
            values.join(" | "),
            if communities.iter().any(|c| c == "private") { " `private` is usually read-write; writing was not tried." } else { "" }
        ))
        .evidence(svc_location(ctx, svc), svc.banner.clone().unwrap_or_default())
        .evidence(ex.location(), communities.join(", "));
    out.fail(f, label);
}

fn upnp_actions(ctx: &Ctx<'_>, svc: &Service, label: &str, out: &mut Out) {
    let Some(port) = svc
        .info("description-port")
        .and_then(|p| p.parse::<u16>().ok())
    else {
        return;
    };
    let igd: Vec<(String, String)> = svc
        .info
        .iter()
        .filter(|(k, v)| k == "upnp-service" && upnp::is_igd_connection(v))
        .filter_map(|(_, v)| {
            let (t, rest) = v.split_once(' ')?;
            let path = rest
                .trim_start_matches(|c: char| c.is_ascii_digit())
                .to_string();
            Some((t.to_string(), path))
        })
        .collect();
    for (stype, path) in igd.into_iter().take(2) {
        let mut ex = ctx.exchange(ids::UNAUTH_CONFIG, port, "http");
        let (headers, body) = upnp::soap_request(&stype, "GetExternalIPAddress");
        let mut req = http::Request {
            method: "POST",
            path: &path,
            headers,
            body,
        };
        req.headers
            .push(("X-Probe".into(), "iotassure read-only action".into()));
        let Some(r) = http::fetch(ctx, &mut ex, port, false, &req) else {
            continue;
        };
        if r.status == 200 {
            let ip = upnp::response_value(&r, "NewExternalIPAddress").unwrap_or_default();
            let f = Finding::new(ids::UNAUTH_CONFIG, &["5.5-5", "5.5-4"], Outcome::Fail, Severity::High, Source::Device, format!("UPnP IGD on {}:{port} accepts actions without authentication", ctx.opts.ip))
                .detail(format!(
                    "{label}: the read-only action GetExternalIPAddress on {path} ({stype}) succeeded without credentials (NewExternalIPAddress = `{ip}`). The same control URL takes AddPortMapping, which opens the firewall: a security-relevant configuration change with no authentication (5.5-5). AddPortMapping itself was not sent."
                ))
                .evidence(ex.location(), format!("200, NewExternalIPAddress {ip}"));
            out.fail(f, label);
            return;
        } else if matches!(r.status, 401 | 403)
            || r.body_text().contains("<errorCode>606</errorCode>")
        {
            out.tally(
                "5.5-4",
                ids::UNAUTH,
                label,
                Tallied::Pass(
                    format!("UPnP IGD refused an unauthenticated action ({})", r.status),
                    Some(ex.location()),
                ),
            );
            return;
        }
    }
}

fn open_shell(ctx: &Ctx<'_>, svc: &Service, label: &str, out: &mut Out) {
    let mut ex = ctx.exchange(ids::UNAUTH, svc.port, svc.name());
    let Ok(c) = ctx.connect(&mut ex, svc.port) else {
        return;
    };
    let mut s = telnet::Session::new(c);
    let _ = s.read_prompt(&mut ex, ctx.opts.io_timeout);
    let proof = telnet::prove_shell(&mut s, &mut ex, ctx.opts.io_timeout);
    s.line(&mut ex, "exit");
    s.conn.close();
    let f = Finding::new(ids::UNAUTH_CONFIG, &["5.5-4", "5.5-5"], Outcome::Fail, Severity::Critical, Source::Device, format!("{} gives a command shell without any login", svc.label()))
        .detail(format!(
            "{label}: the service shows a shell prompt at once{}. Anyone on the network can run commands and change any configuration.",
            if proof.is_some() { format!(" and ran `{}` (output {})", telnet::PROOF_CMD, telnet::PROOF_OUT) } else { " (the proof command gave no output; the prompt alone is the evidence)".into() }
        ))
        .evidence(ex.location(), "shell without login");
    out.fail(f, label);
}

fn rtsp_describe(ctx: &Ctx<'_>, svc: &Service, label: &str, out: &mut Out) {
    let mut ex = ctx.exchange(ids::UNAUTH, svc.port, "rtsp");
    let Ok(mut c) = ctx.connect(&mut ex, svc.port) else {
        return;
    };
    let _ = c.send(&mut ex, format!("DESCRIBE rtsp://{}:{}/ RTSP/1.0\r\nCSeq: 2\r\nAccept: application/sdp\r\nUser-Agent: iotassure\r\n\r\n", ctx.opts.ip, svc.port).as_bytes());
    let buf = c.read_until(&mut ex, ctx.opts.io_timeout, http::complete);
    c.close();
    match http::parse(&buf).map(|r| r.status) {
        Some(200) => {
            let f = Finding::new(ids::UNAUTH, &["5.5-4"], Outcome::Fail, Severity::High, Source::Device, format!("{} describes its stream without authentication", svc.label()))
                .detail(format!("{label}: DESCRIBE / returned 200 with a session description; the stream can be played by anyone on the network."))
                .evidence(ex.location(), "DESCRIBE 200");
            out.fail(f, label);
        }
        Some(401) => out.tally(
            "5.5-4",
            ids::UNAUTH,
            label,
            Tallied::Pass("RTSP DESCRIBE answers 401".into(), Some(ex.location())),
        ),
        other => out.tally(
            "5.5-4",
            ids::UNAUTH,
            label,
            Tallied::Undecided(format!("RTSP DESCRIBE / answered {other:?}")),
        ),
    }
    let _ = port_location;
}
