//! The TLS probe: which protocol versions a service accepts (SSLv3 to TLS 1.3, one raw
//! ClientHello each), which cipher suites (offer all, remove the one chosen, repeat), the
//! certificate, the DH group size, and whether a downgrade is refused (TLS_FALLBACK_SCSV).

pub mod cert;
pub mod flight;
pub mod hello;

use std::collections::BTreeMap;

use serde::Serialize;
use tls_parser::{
    TlsCipherAu, TlsCipherEnc, TlsCipherEncMode, TlsCipherKx, TlsCipherMac, TlsCipherSuite,
};

use crate::ctx::Ctx;
use crate::log::Exchange;
use hello::{HelloSpec, SSL3, TLS10, TLS11, TLS12, TLS13};

pub const PROBE_ID: &str = "5.5-1-dev-tls";

/// Most handshakes one service may cost (enumeration is bounded even for odd servers).
const MAX_HANDSHAKES: usize = 800;
/// Suites per ClientHello during enumeration: some embedded stacks choke on huge hellos.
const CHUNK: usize = 128;

#[derive(Debug, Clone, Serialize)]
pub struct SuiteSeen {
    pub id: u16,
    pub name: String,
    /// Why it falls short, if it does: `NULL cipher`, `anonymous`, `EXPORT`, `RC4`, `3DES`, ...
    pub flags: Vec<&'static str>,
    /// Flags that make it unacceptable (no or broken confidentiality/authentication).
    pub weak: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct TlsReport {
    pub port: u16,
    /// Versions accepted, by name, lowest first.
    pub versions: Vec<String>,
    /// Suites accepted per version.
    pub suites: BTreeMap<String, Vec<SuiteSeen>>,
    pub cert: Option<cert::CertInfo>,
    /// Smallest DHE prime offered, in bits.
    pub dh_bits: Option<usize>,
    pub ecdhe_groups: Vec<String>,
    /// Some(true): TLS_FALLBACK_SCSV refused a downgraded hello; Some(false): accepted it.
    pub fallback_scsv_refused: Option<bool>,
    pub handshakes: usize,
    /// Set when the probe could not finish (budget, errors).
    pub incomplete: Option<String>,
    #[serde(skip)]
    pub evidence: Option<iotassure_core::finding::Location>,
}

impl TlsReport {
    pub fn accepts(&self, v: u16) -> bool {
        self.versions.contains(&hello::version_name(v))
    }

    pub fn weak_suites(&self) -> Vec<(&str, &SuiteSeen)> {
        self.suites
            .iter()
            .flat_map(|(v, s)| s.iter().filter(|x| x.weak).map(move |x| (v.as_str(), x)))
            .collect()
    }

    pub fn flagged_suites(&self) -> Vec<(&str, &SuiteSeen)> {
        self.suites
            .iter()
            .flat_map(|(v, s)| {
                s.iter()
                    .filter(|x| !x.flags.is_empty())
                    .map(move |x| (v.as_str(), x))
            })
            .collect()
    }
}

/// Judges a suite: the flags name what falls short; `weak` marks the unacceptable ones.
pub fn judge_suite(id: u16) -> SuiteSeen {
    let name = hello::suite_name(id);
    let mut flags = Vec::new();
    let mut weak = false;
    if let Some(s) = TlsCipherSuite::from_id(id) {
        if s.enc == TlsCipherEnc::Null {
            flags.push("NULL cipher");
            weak = true;
        }
        if s.au == TlsCipherAu::Null && !matches!(s.kx, TlsCipherKx::Psk | TlsCipherKx::Tls13) {
            flags.push("anonymous");
            weak = true;
        }
        if name.contains("EXPORT") {
            flags.push("EXPORT");
            weak = true;
        }
        match s.enc {
            TlsCipherEnc::Rc4 => {
                flags.push("RC4");
                weak = true;
            }
            TlsCipherEnc::Des => {
                flags.push("DES");
                weak = true;
            }
            TlsCipherEnc::TripleDes => {
                flags.push("3DES");
                weak = true;
            }
            TlsCipherEnc::Rc2 | TlsCipherEnc::Idea => {
                flags.push("obsolete cipher");
                weak = true;
            }
            _ => {}
        }
        if s.mac == TlsCipherMac::HmacMd5 {
            flags.push("MD5 MAC");
            weak = true;
        }
        if s.enc_mode == TlsCipherEncMode::Cbc && s.mac == TlsCipherMac::HmacSha1 {
            flags.push("CBC-SHA1");
        }
        if s.kx == TlsCipherKx::Rsa {
            flags.push("no forward secrecy");
        }
    }
    SuiteSeen {
        id,
        name,
        flags,
        weak,
    }
}

/// One ClientHello on a fresh connection; the server's flight.
fn handshake(
    ctx: &Ctx<'_>,
    ex: &mut Exchange<'_>,
    port: u16,
    spec: &HelloSpec,
    what: &str,
) -> Option<flight::ServerFlight> {
    let mut c = ctx.connect(ex, port).ok()?;
    let bytes = hello::client_hello(spec);
    c.send_as(
        ex,
        &bytes,
        &format!(
            "ClientHello {} offering {} suites{}",
            hello::version_name(spec.version),
            spec.suites.len(),
            what
        ),
    )
    .ok()?;
    let t = ctx.opts.io_timeout;
    let mut buf = Vec::new();
    let end = std::time::Instant::now() + t;
    let mut f = flight::ServerFlight::default();
    while std::time::Instant::now() < end && !c.eof {
        let chunk = c
            .read_chunk(end.saturating_duration_since(std::time::Instant::now()))
            .ok()?;
        if chunk.is_empty() {
            if c.eof {
                break;
            }
            continue;
        }
        buf.extend(chunk);
        f = flight::parse(&buf);
        if f.complete || buf.len() > 256 << 10 {
            break;
        }
    }
    c.close();
    let summary = if f.not_tls {
        "not TLS".to_string()
    } else if let Some((_, d)) = f.alert {
        format!("alert {d} ({})", flight::alert_name(d))
    } else if f.accepted() {
        format!(
            "ServerHello {} {}",
            hello::version_name(f.version.unwrap_or(0)),
            hello::suite_name(f.cipher.unwrap_or(0))
        )
    } else if buf.is_empty() {
        "connection closed without a reply".to_string()
    } else {
        format!("incomplete reply ({} bytes)", buf.len())
    };
    if buf.is_empty() {
        ex.note(summary);
    } else {
        ex.received_as(&buf, summary);
    }
    Some(f)
}

pub fn probe(ctx: &Ctx<'_>, port: u16) -> TlsReport {
    let mut ex = ctx.exchange(PROBE_ID, port, "tls");
    let mut r = TlsReport {
        port,
        ..Default::default()
    };
    let mut dh: Vec<usize> = Vec::new();
    for v in [SSL3, TLS10, TLS11, TLS12, TLS13] {
        if ctx.deadline.expired() || r.handshakes >= MAX_HANDSHAKES {
            r.incomplete = Some(if ctx.deadline.expired() {
                "time budget spent".into()
            } else {
                "handshake bound reached".into()
            });
            break;
        }
        let pool: Vec<u16> = if v == TLS13 {
            hello::tls13_suites().to_vec()
        } else {
            hello::all_suites().to_vec()
        };
        let accepted = enumerate(ctx, &mut ex, port, v, pool, &mut r, &mut dh);
        if !accepted.is_empty() {
            r.versions.push(hello::version_name(v));
            r.suites.insert(
                hello::version_name(v),
                accepted.into_iter().map(judge_suite).collect(),
            );
        }
    }
    r.dh_bits = dh.into_iter().min();
    r.ecdhe_groups.sort();
    r.ecdhe_groups.dedup();
    // Downgrade protection: offer the second-highest version with TLS_FALLBACK_SCSV (RFC 7507).
    let accepted: Vec<u16> = [SSL3, TLS10, TLS11, TLS12, TLS13]
        .into_iter()
        .filter(|v| r.accepts(*v))
        .collect();
    if accepted.len() >= 2 && !ctx.deadline.expired() {
        let lower = accepted[accepted.len() - 2];
        let mut suites = vec![0x5600];
        suites.extend_from_slice(hello::all_suites());
        let spec = HelloSpec {
            version: lower,
            suites,
            sni: hello::sni_for(ctx.host()),
        };
        if let Some(f) = handshake(ctx, &mut ex, port, &spec, " + TLS_FALLBACK_SCSV") {
            r.handshakes += 1;
            r.fallback_scsv_refused = Some(!f.accepted() && f.alert.is_some_and(|a| a.1 == 86));
        }
    }
    // The certificate: from a TLS ≤ 1.2 flight, else through a full TLS 1.3 handshake.
    if r.cert.is_none() && r.accepts(TLS13) {
        if let Ok(c) = ctx.connect_tls(&mut ex, port) {
            if let Some(der) = c.peer_certificates().first() {
                r.cert = cert::parse(der);
            }
            c.close();
        }
    }
    if let Some(c) = &r.cert {
        ex.note(format!("certificate: {}", c.summary()));
    }
    r.evidence = Some(ex.location());
    r
}

/// Suites accepted at exactly version `v`: offer the pool (in chunks), take the chosen one out,
/// offer again, until every chunk is refused.
fn enumerate(
    ctx: &Ctx<'_>,
    ex: &mut Exchange<'_>,
    port: u16,
    v: u16,
    pool: Vec<u16>,
    r: &mut TlsReport,
    dh: &mut Vec<usize>,
) -> Vec<u16> {
    let mut accepted = Vec::new();
    let chunks: Vec<Vec<u16>> = pool.chunks(CHUNK).map(|c| c.to_vec()).collect();
    for mut chunk in chunks {
        loop {
            if chunk.is_empty() || r.handshakes >= MAX_HANDSHAKES || ctx.deadline.expired() {
                break;
            }
            let spec = HelloSpec {
                version: v,
                suites: chunk.clone(),
                sni: hello::sni_for(ctx.host()),
            };
            r.handshakes += 1;
            let Some(f) = handshake(ctx, ex, port, &spec, "") else {
                return accepted;
            };
            if f.alert.is_some_and(|a| a.1 == 70) || f.not_tls {
                return accepted; // protocol_version: v itself is refused, whatever the suites
            }
            let (Some(got_v), Some(c)) = (f.version, f.cipher) else {
                break;
            };
            if got_v != v {
                return accepted; // the server answered with another version: v is refused
            }
            if !chunk.contains(&c) {
                break; // a suite we did not offer: stop rather than loop
            }
            accepted.push(c);
            chunk.retain(|&x| x != c);
            if r.cert.is_none() {
                if let Some(der) = f.certs.first() {
                    r.cert = cert::parse(der);
                }
            }
            if let (Some(ske), Some(s)) = (&f.ske, TlsCipherSuite::from_id(c)) {
                match s.kx {
                    TlsCipherKx::Dhe | TlsCipherKx::Dh => dh.extend(flight::dh_prime_bits(ske)),
                    TlsCipherKx::Ecdhe => r
                        .ecdhe_groups
                        .extend(flight::ecdhe_curve(ske).map(flight::group_name)),
                    _ => {}
                }
            }
        }
    }
    accepted
}
