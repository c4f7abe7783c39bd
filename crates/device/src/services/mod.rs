//! Service identification: for each open port, what speaks there and what it says before any
//! login. Passive first (SSH, FTP and telnet speak first), then active probes ordered by the
//! port's usual service, each on a fresh connection, each bounded by the I/O timeout.

pub mod coap;
pub mod http;
pub mod mdns;
pub mod mqtt;
pub mod snmp;
pub mod ssh_id;
pub mod telnet;
pub mod tftp;
pub mod udp;
pub mod upnp;

use std::time::Duration;

use iotassure_core::finding::Location;
use serde::Serialize;

use crate::ctx::Ctx;
use crate::log::Exchange;
use crate::text;

pub const PROBE_ID: &str = "5.6-2-dev-banners";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Telnet,
    Ssh,
    Http,
    Mqtt,
    Ftp,
    Rtsp,
    Smtp,
    /// TLS whose inner protocol could not be told.
    Tls,
    /// A shell prompt with no login at all.
    Shell,
    Snmp,
    Coap,
    Ssdp,
    Mdns,
    Tftp,
    Unknown,
}

impl Proto {
    pub fn name(self, tls: bool) -> &'static str {
        match (self, tls) {
            (Proto::Http, true) => "https",
            (Proto::Mqtt, true) => "mqtts",
            (Proto::Telnet, _) => "telnet",
            (Proto::Ssh, _) => "ssh",
            (Proto::Http, false) => "http",
            (Proto::Mqtt, false) => "mqtt",
            (Proto::Ftp, _) => "ftp",
            (Proto::Rtsp, _) => "rtsp",
            (Proto::Smtp, _) => "smtp",
            (Proto::Tls, _) => "tls",
            (Proto::Shell, _) => "shell",
            (Proto::Snmp, _) => "snmp",
            (Proto::Coap, _) => "coap",
            (Proto::Ssdp, _) => "ssdp",
            (Proto::Mdns, _) => "mdns",
            (Proto::Tftp, _) => "tftp",
            (Proto::Unknown, _) => "unknown",
        }
    }
}

/// Something a service tells anyone who asks, before authentication.
#[derive(Debug, Clone, Serialize)]
pub struct Disclosed {
    /// What carries it: `Server header`, `SSH version`, `$SYS/broker/version`...
    pub field: String,
    pub value: String,
    /// The software version in it, if any (5.6-2 evidence).
    pub version: Option<String>,
    #[serde(skip)]
    pub location: Option<Location>,
}

/// What the root page of a web service showed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HttpSeen {
    pub path: String,
    pub status: u16,
    pub title: Option<String>,
    /// (scheme, realm) of a 401 challenge.
    pub challenge: Option<(String, String)>,
    #[serde(skip)]
    pub challenge_raw: Option<String>,
    #[serde(skip)]
    pub form: Option<http::LoginForm>,
    pub has_login_form: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Service {
    pub port: u16,
    pub udp: bool,
    pub proto: Proto,
    /// Wrapped in TLS (HTTPS, MQTT over TLS) or TLS with an unknown inner protocol.
    pub tls: bool,
    pub product: Option<String>,
    /// The identifying line (banner, Server header, status line).
    pub banner: Option<String>,
    pub disclosed: Vec<Disclosed>,
    #[serde(skip)]
    pub evidence: Option<Location>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssh: Option<ssh_id::KexInit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpSeen>,
    /// CONNACK code for an anonymous MQTT CONNECT.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mqtt_anonymous: Option<u8>,
    /// Text a telnet service shows before its first prompt, and that prompt's kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub telnet_prompt: Option<String>,
    /// Other facts seen (SSDP LOCATION, CoAP resources, mDNS service types...).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub info: Vec<(String, String)>,
    /// The last active probe's connection was closed by the service without a byte: it does not
    /// speak first, so no banner wait is needed.
    #[serde(skip)]
    pub closed_silently: bool,
    /// Why identification stopped short, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Service {
    pub fn new(port: u16, udp: bool, proto: Proto) -> Service {
        Service {
            port,
            udp,
            proto,
            tls: false,
            product: None,
            banner: None,
            disclosed: Vec::new(),
            evidence: None,
            ssh: None,
            http: None,
            mqtt_anonymous: None,
            telnet_prompt: None,
            info: Vec::new(),
            closed_silently: false,
            note: None,
        }
    }

    pub fn name(&self) -> &'static str {
        self.proto.name(self.tls)
    }

    pub fn label(&self) -> String {
        format!(
            "{}/{} {}",
            self.port,
            if self.udp { "udp" } else { "tcp" },
            self.name()
        )
    }

    pub fn info(&self, key: &str) -> Option<&str> {
        self.info
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn disclose(&mut self, field: &str, value: &str, location: Option<Location>) {
        let value = text::line(value.as_bytes(), 200);
        if value.is_empty() || self.disclosed.iter().any(|d| d.value == value) {
            return;
        }
        self.disclosed.push(Disclosed {
            field: field.into(),
            version: text::find_version(&value),
            value,
            location,
        });
    }

    /// Whether the service asks for credentials somewhere we looked.
    pub fn asks_password(&self) -> bool {
        match self.proto {
            Proto::Telnet | Proto::Ftp => true,
            Proto::Ssh => true,
            Proto::Http => self
                .http
                .as_ref()
                .is_some_and(|h| h.challenge.is_some() || h.has_login_form),
            Proto::Mqtt => self.mqtt_anonymous.is_some_and(|rc| rc == 4 || rc == 5),
            _ => false,
        }
    }
}

/// The order of active probes for a silent port, by the port's usual service.
fn probe_order(port: u16) -> [Proto; 4] {
    match port {
        443 | 8443 | 4433 | 9443 | 8883 | 5684 | 993 | 995 | 465 | 636 | 5986 | 10443 => {
            [Proto::Tls, Proto::Http, Proto::Mqtt, Proto::Rtsp]
        }
        1883 | 1884 => [Proto::Mqtt, Proto::Http, Proto::Tls, Proto::Rtsp],
        554 | 8554 | 10554 => [Proto::Rtsp, Proto::Http, Proto::Tls, Proto::Mqtt],
        _ => [Proto::Http, Proto::Tls, Proto::Mqtt, Proto::Rtsp],
    }
}

/// Identifies the service on an open TCP port.
pub fn identify(ctx: &Ctx<'_>, port: u16) -> Service {
    let order = probe_order(port);
    let mut ex = ctx.exchange(PROBE_ID, port, "tcp");
    let mut svc = Service::new(port, false, Proto::Unknown);
    // 1. The likeliest active probe first, except on the ports of services that speak first
    //    (there an HTTP request would be taken for a login attempt). Waiting for a banner before
    //    every probe would cost each silent service the wait, and a parallel idle connection
    //    would block the many single-threaded embedded servers.
    let first_tried = !speaker_port(port);
    if first_tried && try_active(ctx, &mut ex, &mut svc, order[0]) {
        svc.evidence = Some(ex.location());
        return svc;
    }
    // 2. Does it speak first? A speaker's banner arrives at once (it may already have answered
    //    the probe above with it); otherwise wait `banner_wait` for a slow one.
    let wait = if svc.closed_silently {
        Duration::ZERO
    } else {
        ctx.opts.banner_wait
    };
    if let Some(mut c) = (!wait.is_zero())
        .then(|| ctx.connect(&mut ex, port).ok())
        .flatten()
    {
        let first = c.read_chunk(wait).unwrap_or_default();
        if !first.is_empty() {
            let mut spoke = Service::new(port, false, Proto::Unknown);
            if let Some(mut done) = identify_speaker(ctx, &mut ex, &mut spoke, c, first) {
                done.evidence = Some(ex.location());
                return done;
            }
        } else {
            c.close();
        }
    }
    // 3. The other active probes.
    for proto in order.iter().skip(usize::from(first_tried)) {
        if ctx.deadline.expired() {
            svc.note = Some("the run's time budget ran out during identification".into());
            break;
        }
        if try_active(ctx, &mut ex, &mut svc, *proto) {
            break;
        }
    }
    if svc.proto == Proto::Unknown && svc.note.is_none() {
        svc.note = Some("no reply to the HTTP, TLS, MQTT and RTSP probes, and no banner".into());
    }
    svc.evidence = Some(ex.location());
    svc
}

/// Ports where the usual service speaks first (FTP, SSH, telnet, SMTP, POP3, IMAP).
fn speaker_port(port: u16) -> bool {
    matches!(
        port,
        21 | 22 | 23 | 25 | 110 | 143 | 222 | 2222 | 2323 | 8022 | 8023
    )
}

fn try_active(ctx: &Ctx<'_>, ex: &mut Exchange<'_>, svc: &mut Service, proto: Proto) -> bool {
    match proto {
        Proto::Http => try_http(ctx, ex, svc, false),
        Proto::Tls => try_tls(ctx, ex, svc),
        Proto::Mqtt => try_mqtt(ctx, ex, svc, false),
        Proto::Rtsp => try_rtsp(ctx, ex, svc),
        _ => false,
    }
}

/// A service that spoke first. Returns the identified service (consuming the connection).
fn identify_speaker(
    ctx: &Ctx<'_>,
    ex: &mut Exchange<'_>,
    svc: &mut Service,
    mut c: crate::conn::Conn,
    first: Vec<u8>,
) -> Option<Service> {
    let t = ctx.opts.io_timeout;
    if first.starts_with(b"SSH-") || text::contains_ci(&String::from_utf8_lossy(&first), "\nSSH-") {
        ex.received(&first);
        let mut all = first;
        if !all.contains(&b'\n') {
            all.extend(c.read_until(ex, t, |b| b.contains(&b'\n')));
        }
        let (ident, rest) = ssh_id::split_ident(&all)?;
        svc.proto = Proto::Ssh;
        svc.banner = Some(ident.clone());
        let software = ident.splitn(3, '-').nth(2).unwrap_or("").to_string();
        svc.product = Some(
            software
                .split(['_', ' ', '-'])
                .next()
                .unwrap_or("")
                .to_string(),
        );
        svc.disclose(
            "SSH version",
            &ident,
            Some(ex.location_where(|l| l.data.starts_with("SSH-"))),
        );
        let mut buf = rest.to_vec();
        let _ = c.send(ex, format!("{}\r\n", ssh_id::client_ident()).as_bytes());
        if ssh_id::packet(&buf).is_none() {
            buf.extend(c.read_until_quiet(ex, t, |b| ssh_id::packet(b).is_some()));
        }
        if let Some(k) = ssh_id::packet(&buf).and_then(|(p, _)| ssh_id::parse_kexinit(p)) {
            ex.note(format!(
                "server KEXINIT: kex {}; host keys {}; ciphers {}; macs {}",
                k.kex.join(","),
                k.host_key.join(","),
                k.ciphers.join(","),
                k.macs.join(",")
            ));
            svc.ssh = Some(k);
        } else {
            ex.note("no KEXINIT from the server");
        }
        c.close();
        return Some(svc.clone());
    }
    if first[0] == 0xff {
        let mut s = telnet::Session::new(c);
        ex.received(&first);
        let (txt, reply) = telnet::strip_iac(&first);
        if !reply.is_empty() {
            let _ = s.conn.send_as(
                ex,
                &reply,
                &format!("telnet option refusals ({} bytes)", reply.len()),
            );
        }
        let mut text = String::from_utf8_lossy(&txt).to_string();
        if telnet::prompt_of(&text) == telnet::Prompt::None {
            text.push_str(&s.read_prompt(ex, t));
        }
        svc.proto = if telnet::prompt_of(&text) == telnet::Prompt::Shell {
            Proto::Shell
        } else {
            Proto::Telnet
        };
        telnet_banner(svc, &text, ex);
        s.conn.close();
        return Some(svc.clone());
    }
    ex.received(&first);
    let mut all = first;
    if !all.contains(&b'\n')
        && telnet::prompt_of(&String::from_utf8_lossy(&all)) == telnet::Prompt::None
    {
        all.extend(c.read_until(ex, Duration::from_millis(500), |b| b.contains(&b'\n')));
    }
    let s = String::from_utf8_lossy(&all).to_string();
    let first_line = s.lines().next().unwrap_or("").trim().to_string();
    if first_line.starts_with("220") {
        svc.proto = if text::contains_ci(&first_line, "smtp") {
            Proto::Smtp
        } else {
            Proto::Ftp
        };
        svc.banner = Some(first_line.clone());
        svc.product = first_line.get(4..).map(|p| {
            p.trim_start_matches('(')
                .split([' ', ')'])
                .next()
                .unwrap_or("")
                .to_string()
        });
        svc.disclose(
            if svc.proto == Proto::Ftp {
                "FTP banner"
            } else {
                "SMTP banner"
            },
            &first_line,
            None,
        );
        if svc.proto == Proto::Ftp {
            let _ = c.send(ex, b"QUIT\r\n");
        }
        c.close();
        return Some(svc.clone());
    }
    match telnet::prompt_of(&s) {
        telnet::Prompt::Login | telnet::Prompt::Password => {
            svc.proto = Proto::Telnet;
            telnet_banner(svc, &s, ex);
        }
        telnet::Prompt::Shell => {
            svc.proto = Proto::Shell;
            telnet_banner(svc, &s, ex);
        }
        telnet::Prompt::None => {
            svc.banner = Some(text::line(s.as_bytes(), 160));
            svc.disclose("banner", &s, None);
            svc.note = Some("spoke first, in a protocol not recognised".into());
        }
    }
    c.close();
    Some(svc.clone())
}

fn telnet_banner(svc: &mut Service, text: &str, ex: &Exchange<'_>) {
    let pre: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    svc.telnet_prompt = pre.last().map(|l| l.to_string());
    let before = if pre.len() > 1 {
        pre[..pre.len() - 1].join(" | ")
    } else {
        String::new()
    };
    svc.banner = Some(text::line(text.as_bytes(), 160));
    if !before.is_empty() {
        svc.disclose("pre-login banner", &before, Some(ex.location()));
    }
}

fn try_http(ctx: &Ctx<'_>, ex: &mut Exchange<'_>, svc: &mut Service, tls: bool) -> bool {
    let req = http::Request::get("/");
    let Ok(mut c) = ctx.open(ex, svc.port, tls) else {
        return false;
    };
    let _ = c.send(ex, &req.bytes(ctx.host(), svc.port, tls));
    let buf = c.read_until(ex, ctx.opts.io_timeout, http::complete);
    svc.closed_silently = buf.is_empty() && c.eof;
    c.close();
    if !tls && (buf.starts_with(&[0x15, 0x03]) || buf.starts_with(&[0x16, 0x03])) {
        // A TLS server answered plaintext with an alert: go straight to TLS.
        return try_tls(ctx, ex, svc);
    }
    let Some(mut r) = http::parse(&buf) else {
        return false;
    };
    if r.proto.starts_with("RTSP") {
        svc.proto = Proto::Rtsp;
        rtsp_seen(svc, &r, ex);
        return true;
    }
    svc.proto = Proto::Http;
    svc.tls = tls;
    let mut path = "/".to_string();
    // Follow one redirect to a path on the same target (a login page, usually).
    if (300..400).contains(&r.status) {
        if let Some(loc) = r.header("location").map(str::to_string) {
            let same_host = loc.starts_with('/')
                || upnp::split_url(&loc)
                    .is_some_and(|(h, _, _)| h == ctx.opts.ip.to_string() || h == ctx.opts.host);
            if same_host {
                let p = if loc.starts_with('/') {
                    loc.clone()
                } else {
                    upnp::split_url(&loc)
                        .map(|x| x.2)
                        .unwrap_or_else(|| "/".into())
                };
                if let Some(r2) = http::fetch(ctx, ex, svc.port, tls, &http::Request::get(&p)) {
                    path = p;
                    merge_headers(svc, &r, ex);
                    r = r2;
                }
            }
        }
    }
    merge_headers(svc, &r, ex);
    let mut banner = format!("{} {} {}", r.proto, r.status, r.reason);
    if let Some(server) = r.header("server") {
        banner.push_str(&format!("; Server: {server}"));
    }
    if let Some(t) = r.title() {
        banner.push_str(&format!("; title \"{t}\""));
    }
    svc.banner = Some(banner);
    let form = http::login_form(&r.body_text(), &path);
    svc.http = Some(HttpSeen {
        path,
        status: r.status,
        title: r.title(),
        challenge: (r.status == 401).then(|| http::challenge(&r)).flatten(),
        challenge_raw: (r.status == 401)
            .then(|| r.header("www-authenticate").map(str::to_string))
            .flatten(),
        has_login_form: form.is_some(),
        form,
    });
    true
}

fn merge_headers(svc: &mut Service, r: &http::Response, ex: &Exchange<'_>) {
    for h in ["server", "x-powered-by", "x-aspnet-version", "x-generator"] {
        if let Some(v) = r.header(h) {
            let field = match h {
                "server" => "Server header".to_string(),
                other => format!("{other} header"),
            };
            if h == "server" && svc.product.is_none() {
                svc.product = Some(v.split(['/', ' ']).next().unwrap_or(v).to_string());
            }
            let loc = ex.location_where(|l| {
                l.dir != "received" || text::contains_ci(&l.data, &format!("{h}:"))
            });
            svc.disclose(&field, v, Some(loc));
        }
    }
}

fn try_tls(ctx: &Ctx<'_>, ex: &mut Exchange<'_>, svc: &mut Service) -> bool {
    let Ok(mut c) = ctx.connect(ex, svc.port) else {
        return false;
    };
    let hello = crate::tls::hello::client_hello(&crate::tls::hello::HelloSpec::broad(
        crate::tls::hello::TLS12,
        &ctx.opts.host,
    ));
    let _ = c.send_as(ex, &hello, "TLS ClientHello (TLS 1.2, all cipher suites)");
    let reply = c.read_until_quiet(ex, ctx.opts.io_timeout, |b| b.len() >= 5);
    c.close();
    if !(reply.len() >= 5 && (reply[0] == 0x16 || reply[0] == 0x15) && reply[1] == 3) {
        return false;
    }
    svc.proto = Proto::Tls;
    svc.tls = true;
    ex.note("TLS record in reply: a TLS service");
    // What runs inside? HTTPS is the common case; then MQTT over TLS.
    let inner_order: &[Proto] = if matches!(svc.port, 8883) {
        &[Proto::Mqtt, Proto::Http]
    } else {
        &[Proto::Http, Proto::Mqtt]
    };
    for p in inner_order {
        let ok = match p {
            Proto::Http => try_http(ctx, ex, svc, true),
            Proto::Mqtt => try_mqtt(ctx, ex, svc, true),
            _ => false,
        };
        if ok {
            return true;
        }
    }
    svc.proto = Proto::Tls;
    svc.tls = true;
    svc.note = Some(
        "TLS service; the protocol inside did not answer HTTP or MQTT (or TLS 1.2+ was refused)"
            .into(),
    );
    true
}

fn try_mqtt(ctx: &Ctx<'_>, ex: &mut Exchange<'_>, svc: &mut Service, tls: bool) -> bool {
    let Ok(mut c) = ctx.open(ex, svc.port, tls) else {
        return false;
    };
    let pkt = mqtt::connect("iotassure-id", None);
    let _ = c.send_as(
        ex,
        &pkt,
        "MQTT CONNECT (client id iotassure-id, no user name)",
    );
    let reply = c.read_until_quiet(ex, ctx.opts.io_timeout, |b| b.len() >= 4);
    let Some(rc) = mqtt::connack(&reply) else {
        c.close();
        return false;
    };
    ex.note(format!("CONNACK {rc}: {}", mqtt::connack_meaning(rc)));
    if rc == 0 {
        let _ = c.send_as(ex, &mqtt::DISCONNECT, "MQTT DISCONNECT");
    }
    c.close();
    svc.proto = Proto::Mqtt;
    svc.tls = tls;
    svc.banner = Some(format!("MQTT CONNACK {rc} ({})", mqtt::connack_meaning(rc)));
    svc.mqtt_anonymous = Some(rc);
    true
}

fn try_rtsp(ctx: &Ctx<'_>, ex: &mut Exchange<'_>, svc: &mut Service) -> bool {
    let Ok(mut c) = ctx.connect(ex, svc.port) else {
        return false;
    };
    let _ = c.send(
        ex,
        format!(
            "OPTIONS rtsp://{}:{}/ RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: iotassure\r\n\r\n",
            ctx.opts.ip, svc.port
        )
        .as_bytes(),
    );
    let buf = c.read_until(ex, ctx.opts.io_timeout, |b| {
        http::find(b, b"\r\n\r\n").is_some()
    });
    c.close();
    let Some(r) = http::parse(&buf) else {
        return false;
    };
    if !r.proto.starts_with("RTSP") {
        return false;
    }
    svc.proto = Proto::Rtsp;
    rtsp_seen(svc, &r, ex);
    true
}

fn rtsp_seen(svc: &mut Service, r: &http::Response, ex: &Exchange<'_>) {
    svc.banner = Some(format!("{} {} {}", r.proto, r.status, r.reason));
    if let Some(s) = r.header("server") {
        svc.product = Some(s.split(['/', ' ']).next().unwrap_or(s).to_string());
        svc.disclose("Server header", s, Some(ex.location()));
    }
}
