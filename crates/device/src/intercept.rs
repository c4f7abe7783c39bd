//! The TLS interception test (`iotassure intercept`): the device as a TLS *client*. A TLS server
//! the lab steers the device's connections to (a DNS override or a DNAT rule in the lab
//! namespace) presents, connection by connection in turn, a certificate the device must refuse:
//! self-signed for the right name, signed by a throwaway CA for the wrong name, and signed by it
//! for the right name but expired. For each connection it records whether the device completed
//! the handshake and sent application data (it accepted an untrusted peer: a man in the middle
//! reads and alters its traffic, 5.5-1, and on an update channel can serve it anything, 5.3-2),
//! or aborted (evidence that it checks, for that connection).
//!
//! The throwaway CA is written out (`ca.pem`): a lab that can install it in the device's trust
//! store makes the wrong-name and expired variants test exactly the host-name and validity
//! checks, and the `valid` control variant shows the device works with a certificate it should
//! accept. Certificates are ECDSA P-256 (rcgen + ring).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use iotassure_core::finding::{Finding, Location, Outcome, Severity, Source, TranscriptLine};
use iotassure_core::ixit::{Connection, Purpose};
use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use serde::{Deserialize, Serialize};

pub const CHECK: &str = "5.5-1-dev-tls-client";
pub const MAX_DURATION: Duration = Duration::from_secs(3600);
pub const MAX_CONNECTIONS: usize = 1000;
const WORKERS: usize = 16;
const WRONG_HOST: &str = "wrong-host.iotassure.invalid";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Variant {
    SelfSigned,
    WrongHost,
    Expired,
    /// Control: the right name, valid, signed by the throwaway CA (meaningful only when the
    /// device trusts that CA).
    Valid,
}

impl Variant {
    pub fn parse(s: &str) -> Result<Variant, String> {
        match s.trim() {
            "self-signed" => Ok(Variant::SelfSigned),
            "wrong-host" => Ok(Variant::WrongHost),
            "expired" => Ok(Variant::Expired),
            "valid" => Ok(Variant::Valid),
            o => Err(format!(
                "`{o}`: expected self-signed, wrong-host, expired or valid"
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Variant::SelfSigned => "self-signed",
            Variant::WrongHost => "wrong-host",
            Variant::Expired => "expired",
            Variant::Valid => "valid",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Variant::SelfSigned => "a self-signed certificate for the requested name",
            Variant::WrongHost => "a certificate for another host name (wrong-host.iotassure.invalid), signed by the throwaway CA",
            Variant::Expired => "an expired certificate for the requested name, signed by the throwaway CA",
            Variant::Valid => "a valid certificate for the requested name, signed by the throwaway CA (control)",
        }
    }
}

#[derive(Debug, Clone)]
pub struct InterceptOptions {
    pub listen: SocketAddr,
    pub duration: Duration,
    pub max_connections: usize,
    pub variants: Vec<Variant>,
    /// The name certificates carry when the client sends no SNI.
    pub default_name: String,
    /// Where the throwaway CA lives (created if absent).
    pub ca_dir: std::path::PathBuf,
    /// How long a handshake and the first application data may take.
    pub io_timeout: Duration,
    /// IXIT connections (to name each connection's purpose), and where they come from.
    pub connections: Vec<Connection>,
    pub source: String,
}

/// What one connection did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub n: usize,
    /// Seconds since the test started.
    pub at_s: f64,
    pub peer: String,
    pub variant: Variant,
    pub sni: Option<String>,
    /// Versions the ClientHello offered.
    pub offered: Vec<String>,
    /// `accepted` (handshake and application data), `rejected` (an alert in the handshake),
    /// `closed` (closed during the handshake), `closed-after-handshake`, `undecided` (handshake,
    /// then silence), `incompatible` (no TLS this server speaks), `error`.
    pub outcome: String,
    /// The alert the client sent, or the error.
    pub detail: String,
    pub app_data_bytes: usize,
    /// The first application data, escaped (≤ 300 bytes).
    pub app_data: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
}

impl Record {
    /// The client trusted the certificate: handshake and application data.
    pub fn accepted(&self) -> bool {
        self.outcome == "accepted"
    }

    /// The client refused: an alert or a close, during or right after the handshake.
    pub fn refused(&self) -> bool {
        matches!(
            self.outcome.as_str(),
            "rejected" | "closed" | "closed-after-handshake"
        )
    }
}

/// The CA, created or loaded.
pub struct Ca {
    cert: Certificate,
    key: KeyPair,
    pub pem: String,
}

fn ca_params(cn: &str) -> Result<CertificateParams, String> {
    let mut p = CertificateParams::new(Vec::<String>::new()).map_err(|e| e.to_string())?;
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, cn);
    p.distinguished_name
        .push(DnType::OrganizationName, "iotassure interception test");
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let now = time::OffsetDateTime::now_utc();
    p.not_before = now - time::Duration::days(1);
    p.not_after = now + time::Duration::days(30);
    Ok(p)
}

/// Loads `dir/ca.pem` + `dir/ca.key`, or creates them.
pub fn ca(dir: &Path) -> Result<Ca, String> {
    let (pem_p, key_p) = (dir.join("ca.pem"), dir.join("ca.key"));
    if pem_p.is_file() && key_p.is_file() {
        let pem =
            std::fs::read_to_string(&pem_p).map_err(|e| format!("{}: {e}", pem_p.display()))?;
        let key_pem =
            std::fs::read_to_string(&key_p).map_err(|e| format!("{}: {e}", key_p.display()))?;
        let key = KeyPair::from_pem(&key_pem).map_err(|e| format!("{}: {e}", key_p.display()))?;
        // Re-create the issuer from its name and key: what a leaf needs from it.
        let der = x509_parser::pem::parse_x509_pem(pem.as_bytes())
            .map_err(|e| format!("{}: {e}", pem_p.display()))?
            .1;
        let cert = der
            .parse_x509()
            .map_err(|e| format!("{}: {e}", pem_p.display()))?;
        let cn = cert
            .subject()
            .iter_common_name()
            .next()
            .and_then(|c| c.as_str().ok())
            .ok_or_else(|| format!("{}: no common name", pem_p.display()))?
            .to_string();
        let issuer = ca_params(&cn)?
            .self_signed(&key)
            .map_err(|e| e.to_string())?;
        return Ok(Ca {
            cert: issuer,
            key,
            pem,
        });
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let key = KeyPair::generate().map_err(|e| e.to_string())?;
    let cn = format!("iotassure throwaway CA {}", crate::text::marker());
    let cert = ca_params(&cn)?
        .self_signed(&key)
        .map_err(|e| e.to_string())?;
    let pem = cert.pem();
    std::fs::write(&key_p, key.serialize_pem()).map_err(|e| format!("{}: {e}", key_p.display()))?;
    std::fs::write(&pem_p, &pem).map_err(|e| format!("{}: {e}", pem_p.display()))?;
    Ok(Ca { cert, key, pem })
}

/// A leaf certificate and its key for `variant` and the requested `name`.
pub fn leaf(
    ca: &Ca,
    variant: Variant,
    name: &str,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), String> {
    let subject = if variant == Variant::WrongHost {
        WRONG_HOST
    } else {
        name
    };
    let mut p = CertificateParams::new(vec![subject.to_string()]).map_err(|e| e.to_string())?;
    p.distinguished_name.push(DnType::CommonName, subject);
    let now = time::OffsetDateTime::now_utc();
    if variant == Variant::Expired {
        p.not_before = now - time::Duration::days(60);
        p.not_after = now - time::Duration::days(2);
    } else {
        p.not_before = now - time::Duration::days(1);
        p.not_after = now + time::Duration::days(30);
    }
    let key = KeyPair::generate().map_err(|e| e.to_string())?;
    let cert = if variant == Variant::SelfSigned {
        p.self_signed(&key)
    } else {
        p.signed_by(&key, &ca.cert, &ca.key)
    }
    .map_err(|e| e.to_string())?;
    let mut chain = vec![cert.der().clone()];
    if variant != Variant::SelfSigned {
        chain.push(ca.cert.der().clone());
    }
    Ok((
        chain,
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    ))
}

/// Serves one variant's certificate for whatever name the client asks for.
#[derive(Debug)]
struct Resolver {
    variant: Variant,
    default_name: String,
    ca: Arc<Mutex<CaHolder>>,
    sni: Arc<Mutex<Option<String>>>,
}

struct CaHolder(Ca);

impl std::fmt::Debug for CaHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Ca")
    }
}

impl ResolvesServerCert for Resolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let name = hello
            .server_name()
            .map(str::to_string)
            .unwrap_or_else(|| self.default_name.clone());
        if let Ok(mut s) = self.sni.lock() {
            *s = hello.server_name().map(str::to_string);
        }
        let ca = self.ca.lock().ok()?;
        let (chain, key) = leaf(&ca.0, self.variant, &name).ok()?;
        let key = rustls::crypto::ring::sign::any_supported_type(&key).ok()?;
        Some(Arc::new(CertifiedKey::new(chain, key)))
    }
}

fn purpose_of(conns: &[Connection], sni: Option<&str>, port: u16) -> Option<Purpose> {
    let names: Vec<String> = sni
        .map(|s| vec![s.to_ascii_lowercase()])
        .unwrap_or_default();
    conns
        .iter()
        .find(|d| {
            !names.is_empty()
                && crate::capture::judge::host_matches(
                    &d.host,
                    &names,
                    std::net::Ipv4Addr::UNSPECIFIED.into(),
                )
                && d.port.is_none_or(|p| p == port)
        })
        .map(|d| d.purpose)
}

pub fn purpose_name(p: Purpose) -> &'static str {
    match p {
        Purpose::Update => "update",
        Purpose::Telemetry => "telemetry",
        Purpose::Cloud => "cloud",
        Purpose::Time => "time",
        Purpose::Dns => "dns",
        Purpose::Other => "other",
    }
}

fn rustls_error(e: &std::io::Error) -> Option<&rustls::Error> {
    e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>())
}

fn handle(
    mut tcp: TcpStream,
    n: usize,
    started: Instant,
    variant: Variant,
    o: &InterceptOptions,
    ca: Arc<Mutex<CaHolder>>,
) -> Record {
    let peer = tcp.peer_addr().map(|a| a.to_string()).unwrap_or_default();
    let mut rec = Record {
        n,
        at_s: started.elapsed().as_secs_f64(),
        peer,
        variant,
        sni: None,
        offered: Vec::new(),
        outcome: "error".into(),
        detail: String::new(),
        app_data_bytes: 0,
        app_data: String::new(),
        purpose: None,
    };
    let _ = tcp.set_read_timeout(Some(o.io_timeout));
    let _ = tcp.set_write_timeout(Some(o.io_timeout));
    // What the client offers, before rustls answers (a client rustls cannot serve still tells).
    let mut peek = vec![0u8; 4096];
    let deadline = Instant::now() + o.io_timeout;
    while Instant::now() < deadline {
        match tcp.peek(&mut peek) {
            Ok(0) => break,
            Ok(k) => {
                if let Some(h) = crate::capture::client_hello(&peek[..k]) {
                    rec.offered = h.offered.clone();
                    rec.sni = h.sni.clone();
                    break;
                }
                if k == peek.len() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(_) => break,
        }
    }
    let sni = Arc::new(Mutex::new(None));
    let resolver = Resolver {
        variant,
        default_name: o.default_name.clone(),
        ca,
        sni: sni.clone(),
    };
    let config = match rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS12, &rustls::version::TLS13])
    {
        Ok(b) => b
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(resolver)),
        Err(e) => {
            rec.detail = e.to_string();
            return rec;
        }
    };
    let mut conn = match rustls::ServerConnection::new(Arc::new(config)) {
        Ok(c) => c,
        Err(e) => {
            rec.detail = e.to_string();
            return rec;
        }
    };
    let mut rounds = 0;
    while conn.is_handshaking() && rounds < 64 {
        rounds += 1;
        match conn.complete_io(&mut tcp) {
            Ok((0, 0)) if conn.is_handshaking() => {
                rec.outcome = "closed".into();
                rec.detail = "the client closed the connection during the handshake".into();
                break;
            }
            Ok(_) => {}
            Err(e) => {
                match rustls_error(&e) {
                    Some(rustls::Error::AlertReceived(a)) => {
                        rec.outcome = "rejected".into();
                        rec.detail = format!("the client sent the alert {a:?}");
                    }
                    Some(
                        rustls::Error::PeerIncompatible(_)
                        | rustls::Error::InappropriateHandshakeMessage { .. }
                        | rustls::Error::InvalidMessage(_),
                    ) => {
                        rec.outcome = "incompatible".into();
                        rec.detail = format!(
                            "this server cannot speak the client's TLS: {}",
                            rustls_error(&e).map(|x| x.to_string()).unwrap_or_default()
                        );
                    }
                    Some(other) => {
                        rec.outcome = "error".into();
                        rec.detail = other.to_string();
                    }
                    None if matches!(
                        e.kind(),
                        std::io::ErrorKind::UnexpectedEof
                            | std::io::ErrorKind::ConnectionReset
                            | std::io::ErrorKind::BrokenPipe
                    ) =>
                    {
                        rec.outcome = "closed".into();
                        rec.detail =
                            format!("the client closed the connection during the handshake ({e})");
                    }
                    None if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                    {
                        rec.outcome = "closed".into();
                        rec.detail = format!(
                            "the client went silent during the handshake ({} s)",
                            o.io_timeout.as_secs()
                        );
                    }
                    None => {
                        rec.outcome = "error".into();
                        rec.detail = e.to_string();
                    }
                }
                break;
            }
        }
    }
    if let Ok(s) = sni.lock() {
        if s.is_some() {
            rec.sni = s.clone();
        }
    }
    if conn.is_handshaking() && rec.offered.is_empty() && rec.sni.is_none() {
        rec.outcome = "incompatible".into();
        rec.detail = format!("no TLS ClientHello was received ({})", rec.detail);
    }
    let port = o.listen.port();
    rec.purpose =
        purpose_of(&o.connections, rec.sni.as_deref(), port).map(|p| purpose_name(p).to_string());
    if conn.is_handshaking() {
        if rec.outcome == "error" && rec.detail.is_empty() {
            rec.detail = "the handshake did not finish".into();
        }
        return rec;
    }
    // The handshake completed. Some clients check the server's name only afterwards (curl
    // with OpenSSL under TLS 1.3 sends Finished first), so the verdict rests on what follows:
    // application data means the client trusted us.
    let version = conn
        .protocol_version()
        .map(|v| format!("{v:?}"))
        .unwrap_or_default();
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let end = Instant::now() + o.io_timeout;
    let mut ended: Option<String> = None;
    {
        let mut s = rustls::Stream::new(&mut conn, &mut tcp);
        while Instant::now() < end && data.len() < 16 * 1024 {
            match s.read(&mut buf) {
                Ok(0) => {
                    ended = Some("closed the connection".into());
                    break;
                }
                Ok(k) => {
                    data.extend_from_slice(&buf[..k]);
                    if crate::services::http::find(&data, b"\r\n\r\n").is_some()
                        || data.len() >= 2 && !data[0].is_ascii_alphabetic()
                    {
                        break;
                    }
                }
                Err(e) => {
                    ended = Some(match rustls_error(&e) {
                        Some(rustls::Error::AlertReceived(a)) => format!("sent the alert {a:?}"),
                        _ if matches!(
                            e.kind(),
                            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                        ) =>
                        {
                            "silent".into()
                        }
                        _ => format!("closed the connection ({e})"),
                    });
                    break;
                }
            }
        }
        if data.starts_with(b"GET ")
            || data.starts_with(b"POST ")
            || data.starts_with(b"HEAD ")
            || data.starts_with(b"PUT ")
        {
            let _ = s.write_all(
                b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    }
    conn.send_close_notify();
    let _ = conn.complete_io(&mut tcp);
    rec.app_data_bytes = data.len();
    rec.app_data = crate::log::escape(&data[..data.len().min(300)]);
    if !data.is_empty() {
        rec.outcome = "accepted".into();
        rec.detail = format!(
            "handshake completed ({version}) and the client sent {} bytes of application data",
            data.len()
        );
    } else {
        match ended.as_deref() {
            Some("silent") | None => {
                rec.outcome = "undecided".into();
                rec.detail = format!(
                    "handshake completed ({version}), then the client sent nothing for {} s",
                    o.io_timeout.as_secs_f64()
                );
            }
            Some(how) => {
                rec.outcome = "closed-after-handshake".into();
                rec.detail = format!(
                    "handshake completed ({version}), then the client {how} without sending data (a check after the handshake)"
                );
            }
        }
    }
    rec
}

/// Runs the test: accepts connections until the time or connection bound, in turn presenting
/// each variant. `progress` is told of every connection.
pub fn run(
    o: &InterceptOptions,
    progress: &dyn iotassure_core::progress::Progress,
) -> Result<(Vec<Record>, String), String> {
    if o.variants.is_empty() {
        return Err("no certificate variants to present".into());
    }
    let ca = ca(&o.ca_dir)?;
    let ca_pem = ca.pem.clone();
    let ca = Arc::new(Mutex::new(CaHolder(ca)));
    let listener =
        TcpListener::bind(o.listen).map_err(|e| format!("listening on {}: {e}", o.listen))?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let started = Instant::now();
    let records: Arc<Mutex<Vec<Record>>> = Arc::new(Mutex::new(Vec::new()));
    let active = Arc::new(AtomicUsize::new(0));
    let duration = o.duration.min(MAX_DURATION);
    let max = o.max_connections.clamp(1, MAX_CONNECTIONS);
    progress.stage(&format!(
        "intercepting TLS on {} for {} s (≤ {max} connections): {}",
        o.listen,
        duration.as_secs(),
        o.variants
            .iter()
            .map(|v| v.name())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let mut n = 0usize;
    std::thread::scope(|scope| {
        while started.elapsed() < duration && n < max {
            match listener.accept() {
                Ok((tcp, _)) => {
                    let _ = tcp.set_nonblocking(false);
                    while active.load(Ordering::SeqCst) >= WORKERS && started.elapsed() < duration {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    let variant = o.variants[n % o.variants.len()];
                    n += 1;
                    let (ca, records, active) = (ca.clone(), records.clone(), active.clone());
                    active.fetch_add(1, Ordering::SeqCst);
                    let k = n;
                    scope.spawn(move || {
                        let r = handle(tcp, k, started, variant, o, ca);
                        progress.note(&format!(
                            "#{} {} {} → {} ({})",
                            r.n,
                            r.peer,
                            r.variant.name(),
                            r.outcome,
                            r.detail
                        ));
                        if let Ok(mut v) = records.lock() {
                            v.push(r);
                        }
                        active.fetch_sub(1, Ordering::SeqCst);
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    });
    let mut v = records.lock().map(|v| v.clone()).unwrap_or_default();
    v.sort_by_key(|r| r.n);
    Ok((v, ca_pem))
}

fn location(listen: &str, r: &Record) -> Location {
    let mut t = vec![TranscriptLine {
        dir: "note".into(),
        data: format!(
            "connection #{} from {} at t={:.1}s; presented {}",
            r.n,
            r.peer,
            r.at_s,
            r.variant.describe()
        ),
    }];
    t.push(TranscriptLine {
        dir: "received".into(),
        data: format!(
            "ClientHello{} offering {}",
            r.sni
                .as_ref()
                .map(|s| format!(" SNI={s}"))
                .unwrap_or_default(),
            if r.offered.is_empty() {
                "?".into()
            } else {
                r.offered.join(", ")
            }
        ),
    });
    t.push(TranscriptLine {
        dir: "note".into(),
        data: format!("{}: {}", r.outcome, r.detail),
    });
    if r.app_data_bytes > 0 {
        t.push(TranscriptLine {
            dir: "received".into(),
            data: r.app_data.clone(),
        });
    }
    let (host, port) = listen.rsplit_once(':').unwrap_or((listen, "0"));
    Location::Network {
        host: r.sni.clone().unwrap_or_else(|| host.to_string()),
        port: port.parse().unwrap_or(0),
        protocol: "tls".into(),
        transcript: t,
    }
}

/// The findings. Accepting an untrusted certificate is a FAIL; refusals are per-connection
/// evidence, summarised (they become a PASS only where the probe run tallies them with the rest
/// of 5.5-1, see `judge_into`).
pub fn findings(listen: &str, records: &[Record], out: &mut crate::checks::Out, tally: bool) {
    for r in records.iter().filter(|r| r.accepted()) {
        let update = r.purpose.as_deref() == Some("update");
        let personal = matches!(r.purpose.as_deref(), Some("telemetry" | "cloud"));
        let mut provs = vec!["5.5-1"];
        if update {
            provs.push("5.3-2");
        }
        if personal {
            provs.push("5.8-1");
        }
        if r.variant == Variant::Valid {
            continue;
        }
        let label = format!(
            "intercept: {}",
            r.sni.clone().unwrap_or_else(|| r.peer.clone())
        );
        let f = Finding::new(
            CHECK,
            &provs,
            Outcome::Fail,
            if update { Severity::Critical } else { Severity::High },
            Source::Device,
            format!(
                "The device accepted {} for {}{}",
                r.variant.describe(),
                r.sni.clone().unwrap_or_else(|| "its server".into()),
                if r.app_data_bytes > 0 { " and sent its data" } else { "" }
            ),
        )
        .detail(format!(
            "{label}: connection #{} from {} completed the TLS handshake with a certificate it must not trust{}. A man in the middle can read and change this traffic (EN 303 645 5.5-1; TS 103 701 5.5-1-1c){}.",
            r.n,
            r.peer,
            if r.app_data_bytes > 0 { format!(", then sent {} bytes: {}", r.app_data_bytes, crate::text::line(r.app_data.as_bytes(), 120)) } else { String::new() },
            if update { "; on the update channel it can serve the device any update (5.3-2, TS 103 701 5.3-2-2b)" } else { "" }
        ))
        .evidence(location(listen, r), format!("{}: {}", r.outcome, r.detail));
        out.fail(f, &label);
    }
    // Per destination: every untrusted variant refused → evidence the client checks.
    let mut by: std::collections::BTreeMap<String, Vec<&Record>> =
        std::collections::BTreeMap::new();
    for r in records {
        by.entry(
            r.sni
                .clone()
                .unwrap_or_else(|| r.peer.split(':').next().unwrap_or("").to_string()),
        )
        .or_default()
        .push(r);
    }
    for (dest, rs) in by {
        let label = format!("intercept: {dest}");
        let untrusted: Vec<&&Record> = rs.iter().filter(|r| r.variant != Variant::Valid).collect();
        if untrusted.iter().any(|r| r.accepted()) {
            continue;
        }
        let refused: Vec<&&&Record> = untrusted.iter().filter(|r| r.refused()).collect();
        let variants: std::collections::BTreeSet<&str> =
            refused.iter().map(|r| r.variant.name()).collect();
        let unclear: Vec<String> = untrusted
            .iter()
            .filter(|r| !r.refused())
            .map(|r| {
                format!(
                    "#{} {}: {} ({})",
                    r.n,
                    r.variant.name(),
                    r.outcome,
                    r.detail
                )
            })
            .collect();
        let control_refused = rs
            .iter()
            .any(|r| r.variant == Variant::Valid && !r.accepted());
        let why = format!(
            "the device refused {} of {} untrusted certificate(s) for {dest} (variants: {}){}",
            refused.len(),
            untrusted.len(),
            variants.iter().copied().collect::<Vec<_>>().join(", "),
            if control_refused {
                "; it refused the valid control certificate too, so it does not trust the throwaway CA and the wrong-host and expired variants show only that it refuses an unknown CA"
            } else {
                ""
            }
        );
        let first = refused.first().map(|r| location(listen, r));
        if tally {
            let t = if !unclear.is_empty() {
                crate::checks::Tallied::Undecided(format!(
                    "{why}; not decided: {}",
                    unclear.join("; ")
                ))
            } else if variants.len() < 3 {
                crate::checks::Tallied::Undecided(format!("{why}; the self-signed, wrong-host and expired variants were not all presented"))
            } else {
                crate::checks::Tallied::Pass(
                    format!("{why}: it validates the server certificate"),
                    first.clone(),
                )
            };
            out.tally("5.5-1", CHECK, &label, t);
        }
        let mut f = Finding::new(
            CHECK,
            &["5.5-1"],
            Outcome::Info,
            Severity::Info,
            Source::Device,
            format!("The device as a TLS client: {why}"),
        )
        .detail(
            rs.iter()
                .map(|r| {
                    format!(
                        "#{} {} {}: {} ({})",
                        r.n,
                        r.peer,
                        r.variant.name(),
                        r.outcome,
                        r.detail
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
        );
        if let Some(l) = first {
            f = f.evidence(l, why.clone());
        }
        out.findings.push(f);
    }
}
