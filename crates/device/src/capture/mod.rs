//! Traffic-capture input (`--pcap FILE`): what the device says on the network when nobody probes
//! it. The capture is read (pcap or pcapng, bounded), decoded, grouped into conversations, and
//! each conversation the device takes part in is classified: the destination and the names it
//! resolved to (DNS answers, TLS SNI, HTTP Host), the protocol, TLS versions and suites offered
//! and chosen, whether the TLS handshake completed, cleartext logins, NTP, DNS queries, and the
//! pattern of connection attempts while a destination does not answer. `judge` turns that into
//! findings, against the IXIT's declared connections when the statement has them.

pub mod decode;
pub mod dns;
pub mod flows;
pub mod judge;
pub mod read;

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Serialize;
use tls_parser::{
    parse_tls_client_hello_extensions, parse_tls_message_handshake, parse_tls_raw_record,
    TlsExtension, TlsMessage, TlsMessageHandshake,
};

use crate::services::mqtt;
use crate::tls::{flight, hello};
use flows::{Flow, Tracker, Transport};

/// Frames read at most from one capture.
pub const MAX_FRAMES: u64 = 5_000_000;

/// What the device was doing while the capture was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CaptureState {
    #[default]
    Normal,
    /// After a failed software integrity check (secure boot refused a modified image): it
    /// should connect only as far as alerting needs (5.7-2, TS 103 701 5.7-2-2b).
    FailedBoot,
}

#[derive(Debug, Clone)]
pub struct CaptureOptions {
    pub path: PathBuf,
    /// The device's address in the capture.
    pub device: IpAddr,
    pub max_frames: u64,
    pub state: CaptureState,
}

impl CaptureOptions {
    pub fn new(path: impl Into<PathBuf>, device: IpAddr) -> CaptureOptions {
        CaptureOptions {
            path: path.into(),
            device,
            max_frames: MAX_FRAMES,
            state: CaptureState::Normal,
        }
    }
}

/// What a TLS client (the device) offered and how the handshake went.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TlsClient {
    pub sni: Option<String>,
    /// Versions offered, by name (supported_versions when present, else the hello's version).
    pub offered: Vec<String>,
    #[serde(skip)]
    pub max_offered: u16,
    pub suites_offered: usize,
    /// Offered suites that are weak (NULL, anonymous, EXPORT, RC4, DES, 3DES …).
    pub weak_offered: Vec<String>,
    pub version: Option<String>,
    #[serde(skip)]
    pub version_id: Option<u16>,
    pub suite: Option<String>,
    pub suite_weak: bool,
    /// `completed`, `aborted by the device (alert …)`, `refused by the server (alert …)`,
    /// `closed before completion`, `no server answer`.
    pub outcome: String,
    pub completed: bool,
    /// The TLS 1.3 outcome is read from record sizes (everything after ServerHello is encrypted).
    pub inferred: bool,
}

/// A cleartext application exchange the device started.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Cleartext {
    /// `HTTP GET /path`, `MQTT CONNECT client-id=…`, `FTP USER …` …
    pub lines: Vec<String>,
    /// A login sent in the clear: `user:password` as seen.
    pub credentials: Option<String>,
    /// HTTP Host or MQTT topic names, for naming and purpose.
    pub host: Option<String>,
    /// The server's first line (status, CONNACK, greeting).
    pub reply: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Conversation {
    pub transport: Transport,
    /// The device opened it (true) or a peer opened it to the device (false).
    pub outbound: bool,
    pub peer: IpAddr,
    /// The server's port (the destination for outbound conversations).
    pub port: u16,
    /// The device's port.
    pub device_port: u16,
    /// Names the peer goes by: DNS answers, TLS SNI, HTTP Host.
    pub names: Vec<String>,
    /// `tls`, `http`, `mqtt`, `ftp`, `telnet`, `ssh`, `dns`, `ntp`, `dhcp`, `mdns`, `ssdp`,
    /// `coap`, `quic`, `unknown`, or `none` (no data).
    pub protocol: String,
    pub start: f64,
    pub end: f64,
    pub frames: String,
    pub answered: bool,
    pub failed_attempt: bool,
    pub syns: u32,
    pub bytes_up: u64,
    pub bytes_down: u64,
    pub mid_stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsClient>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cleartext: Option<Cleartext>,
    /// Other facts (NTP mode, DNS names asked, why a protocol is unknown).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub note: String,
}

impl Conversation {
    pub fn label(&self) -> String {
        let name = self
            .names
            .first()
            .map(|n| format!("{n} ({})", self.peer))
            .unwrap_or_else(|| self.peer.to_string());
        format!(
            "{name}:{}/{}",
            self.port,
            match self.transport {
                Transport::Tcp => "tcp",
                Transport::Udp => "udp",
            }
        )
    }

    /// Traffic every networked device makes to its own network (not a service connection).
    pub fn infrastructure(&self) -> bool {
        matches!(self.protocol.as_str(), "dns" | "dhcp" | "mdns" | "ssdp")
            || is_multicast_or_broadcast(self.peer)
            || link_local(self.peer)
    }

    pub fn plaintext(&self) -> bool {
        self.cleartext.is_some()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DnsQuery {
    pub name: String,
    pub qtype: String,
    pub server: IpAddr,
    pub answers: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Capture {
    pub file: String,
    #[serde(skip)]
    pub state: CaptureState,
    #[serde(flatten)]
    pub read: read::ReadSummary,
    pub device: IpAddr,
    pub start: f64,
    pub end: f64,
    /// Frames with the device at one end.
    pub device_frames: u64,
    /// Frames that were not IP or not understood (link type, fragments).
    pub undecoded_frames: u64,
    pub conversations: Vec<Conversation>,
    pub dns: Vec<DnsQuery>,
    /// Conversations beyond the tracker's bound, not analysed.
    pub conversations_dropped: u64,
    /// The bound on payload bytes kept was reached.
    pub payload_bound_reached: bool,
}

/// Reads and classifies a capture.
pub fn load(o: &CaptureOptions) -> Result<Capture, read::ReadError> {
    let mut tracker = Tracker::default();
    let mut device_frames = 0u64;
    let mut undecoded = 0u64;
    let mut start = f64::MAX;
    let mut end = 0f64;
    let mut dns_msgs: Vec<(f64, IpAddr, IpAddr, dns::Message)> = Vec::new();
    let summary = read::frames(&o.path, o.max_frames, |fr| {
        let Some(p) = decode::decode(fr.linktype, fr.data) else {
            undecoded += 1;
            return;
        };
        if p.src != o.device && p.dst != o.device {
            return;
        }
        device_frames += 1;
        start = start.min(fr.ts);
        end = end.max(fr.ts);
        if let decode::L4::Udp {
            sport,
            dport,
            payload,
        } = p.l4
        {
            if (sport == 53 || dport == 53) && dns_msgs.len() < 100_000 {
                if let Some(m) = dns::parse(payload) {
                    dns_msgs.push((fr.ts, p.src, p.dst, m));
                }
            }
        }
        tracker.add(fr.number, fr.ts, &p);
    })?;
    // Each answer: when, the address, and the names it answers for (through CNAME chains back
    // to the name asked). A conversation is named by the latest answer for its address before
    // it began: many names share an address (CDNs), and the device connects to what it just
    // resolved.
    let mut answers: Vec<(f64, IpAddr, BTreeSet<String>)> = Vec::new();
    for (ts, _, _, m) in dns_msgs.iter().filter(|(_, _, _, m)| m.response) {
        let mut aliases: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (a, c) in &m.cnames {
            aliases.entry(c.as_str()).or_default().push(a.as_str());
        }
        for (owner, ip) in &m.addresses {
            let mut names: BTreeSet<String> = BTreeSet::new();
            names.insert(owner.clone());
            let mut frontier = vec![owner.as_str()];
            for _ in 0..8 {
                let next: Vec<&str> = frontier
                    .iter()
                    .flat_map(|n| aliases.get(n).into_iter().flatten().copied())
                    .collect();
                if next.is_empty() {
                    break;
                }
                names.extend(next.iter().map(|n| n.to_string()));
                frontier = next;
            }
            if answers.len() < 100_000 {
                answers.push((*ts, *ip, names));
            }
        }
    }
    let mut dns_queries: Vec<DnsQuery> = Vec::new();
    for (_, src, dst, m) in &dns_msgs {
        if m.response || *src != o.device {
            continue;
        }
        for (q, t) in &m.questions {
            let answers: Vec<String> = dns_msgs
                .iter()
                .filter(|(_, s, _, r)| r.response && r.id == m.id && s == dst)
                .flat_map(|(_, _, _, r)| r.addresses.iter().map(|(_, a)| a.to_string()))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            if dns_queries.len() < 10_000
                && !dns_queries
                    .iter()
                    .any(|d| &d.name == q && d.server == *dst && d.qtype == dns::qtype_name(*t))
            {
                dns_queries.push(DnsQuery {
                    name: q.clone(),
                    qtype: dns::qtype_name(*t),
                    server: *dst,
                    answers,
                });
            }
        }
    }
    let conversations = tracker
        .flows
        .iter()
        .filter(|f| f.client.0 == o.device || f.server.0 == o.device)
        .map(|f| classify(f, o.device, &answers))
        .collect();
    Ok(Capture {
        file: o.path.display().to_string(),
        state: o.state,
        read: summary,
        device: o.device,
        start: if start == f64::MAX { 0.0 } else { start },
        end,
        device_frames,
        undecoded_frames: undecoded,
        conversations,
        dns: dns_queries,
        conversations_dropped: tracker.dropped,
        payload_bound_reached: tracker.exhausted(),
    })
}

fn is_multicast_or_broadcast(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => a.is_multicast() || a.is_broadcast() || a.octets()[3] == 255,
        IpAddr::V6(a) => a.is_multicast(),
    }
}

fn link_local(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => a.is_link_local(),
        IpAddr::V6(a) => (a.segments()[0] & 0xffc0) == 0xfe80,
    }
}

/// The names of `peer` at time `t`: the latest DNS answer for it before `t`, else the first
/// after (a capture may start after the lookup was cached, never before it).
fn names_at(answers: &[(f64, IpAddr, BTreeSet<String>)], peer: IpAddr, t: f64) -> Vec<String> {
    let for_peer = answers.iter().filter(|(_, ip, _)| *ip == peer);
    let before = for_peer
        .clone()
        .filter(|(ts, _, _)| *ts <= t + 0.001)
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let chosen = before.or_else(|| for_peer.min_by(|a, b| a.0.total_cmp(&b.0)));
    chosen
        .map(|(_, _, n)| n.iter().cloned().collect())
        .unwrap_or_default()
}

fn classify(f: &Flow, device: IpAddr, answers: &[(f64, IpAddr, BTreeSet<String>)]) -> Conversation {
    let outbound = f.client.0 == device;
    let (peer, port, device_port) = if outbound {
        (f.server.0, f.server.1, f.client.1)
    } else {
        (f.client.0, f.server.1, f.server.1)
    };
    let mut c = Conversation {
        transport: f.transport,
        outbound,
        peer,
        port,
        device_port,
        names: names_at(answers, peer, f.first_ts),
        protocol: "none".into(),
        start: f.first_ts,
        end: f.last_ts,
        frames: f.frames(),
        answered: f.answered(),
        failed_attempt: f.failed_attempt(),
        syns: f.syns,
        bytes_up: f.up.bytes,
        bytes_down: f.down.bytes,
        mid_stream: f.mid_stream,
        tls: None,
        cleartext: None,
        note: String::new(),
    };
    match f.transport {
        Transport::Udp => classify_udp(f, &mut c),
        Transport::Tcp => classify_tcp(f, &mut c),
    }
    if let Some(n) = c
        .tls
        .as_ref()
        .and_then(|t| t.sni.clone())
        .or_else(|| c.cleartext.as_ref().and_then(|t| t.host.clone()))
    {
        let n = n.to_ascii_lowercase();
        let n = n.split(':').next().unwrap_or(&n).to_string();
        if !n.is_empty() && !c.names.contains(&n) && n.parse::<IpAddr>().is_err() {
            c.names.insert(0, n);
        }
    }
    c
}

fn classify_udp(f: &Flow, c: &mut Conversation) {
    let first_up = f
        .datagrams
        .iter()
        .find(|(up, _)| *up)
        .map(|(_, d)| d.as_slice());
    c.protocol = match c.port {
        53 => "dns",
        5353 => "mdns",
        67 | 68 => "dhcp",
        1900 => "ssdp",
        123 => "ntp",
        5683 => "coap",
        5684 => "dtls",
        443 => "quic",
        _ => "unknown",
    }
    .into();
    if c.protocol == "ntp" {
        if let Some(d) = first_up.filter(|d| !d.is_empty()) {
            let mode = d[0] & 7;
            let version = (d[0] >> 3) & 7;
            c.note = format!(
                "NTPv{version} {} ({} request(s), {} answer(s))",
                match mode {
                    3 => "client request",
                    1 | 2 => "symmetric",
                    4 => "server reply",
                    _ => "message",
                },
                f.up.packets,
                f.down.packets
            );
        }
    }
    if c.protocol == "coap" {
        c.cleartext = Some(Cleartext {
            lines: vec![format!("CoAP over UDP ({} datagram(s))", f.up.packets)],
            ..Default::default()
        });
    }
    if c.protocol == "unknown" {
        if let Some(d) = first_up {
            if d.first() == Some(&0x16) && d.get(1) == Some(&0xfe) {
                c.protocol = "dtls".into();
            } else {
                c.note = describe_unknown(d);
            }
        }
    }
}

fn classify_tcp(f: &Flow, c: &mut Conversation) {
    let up = f.up.data();
    let down = f.down.data();
    if up.is_empty() && down.is_empty() {
        c.protocol = "none".into();
        c.note = if f.mid_stream {
            "seen mid-stream without data".into()
        } else if f.syn_ack {
            "connected; no data".into()
        } else if f.reset_by_server {
            "refused (RST)".into()
        } else {
            format!("no answer to {} SYN(s)", f.syns)
        };
        return;
    }
    if up.len() >= 3 && up[0] == 0x16 && up[1] == 3 {
        c.protocol = "tls".into();
        c.tls = Some(tls_client(&up, &down, f));
        return;
    }
    if up.starts_with(b"SSH-") || down.starts_with(b"SSH-") {
        c.protocol = "ssh".into();
        return;
    }
    if let Some(ct) = http(&up, &down) {
        c.protocol = "http".into();
        c.cleartext = Some(ct);
        return;
    }
    if let Some(ct) = mqtt_client(&up, &down) {
        c.protocol = "mqtt".into();
        c.cleartext = Some(ct);
        return;
    }
    if down.starts_with(b"220") && (up.starts_with(b"USER ") || up.starts_with(b"AUTH ")) {
        c.protocol = "ftp".into();
        c.cleartext = Some(ftp(&up, &down));
        return;
    }
    if c.port == 23 || up.first() == Some(&0xff) || down.first() == Some(&0xff) {
        c.protocol = "telnet".into();
        c.cleartext = Some(Cleartext {
            lines: vec![format!(
                "telnet session ({} bytes up, {} down)",
                f.up.bytes, f.down.bytes
            )],
            reply: Some(crate::text::line(
                &crate::services::telnet::strip_iac(&down).0,
                100,
            )),
            ..Default::default()
        });
        return;
    }
    if c.port == 53 {
        c.protocol = "dns".into();
        return;
    }
    c.protocol = "unknown".into();
    c.note = describe_unknown(if up.is_empty() { &down } else { &up });
}

fn describe_unknown(d: &[u8]) -> String {
    let head = &d[..d.len().min(256)];
    let printable = head
        .iter()
        .filter(|b| b.is_ascii_graphic() || b.is_ascii_whitespace())
        .count();
    if !head.is_empty() && printable * 10 >= head.len() * 9 {
        format!(
            "unrecognised text protocol (plaintext): {}",
            crate::text::line(head, 80)
        )
    } else {
        format!(
            "unrecognised binary protocol; begins {}",
            head.iter()
                .take(8)
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        )
    }
}

/// Handshake messages out of TLS records (handshake records only, up to the first other type).
fn handshake_bytes(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Ok((r, rec)) = parse_tls_raw_record(rest) {
        if rec.hdr.record_type.0 != 0x16 {
            break;
        }
        out.extend_from_slice(rec.data);
        rest = r;
        if out.len() > 64 * 1024 {
            break;
        }
    }
    out
}

/// (level, description) of a TLS alert.
type Alert = (u8, u8);

/// (content type, length) of each record, in order, and the first plaintext alert.
fn records(data: &[u8]) -> (Vec<(u8, usize)>, Option<Alert>) {
    let mut v = Vec::new();
    let mut alert = None;
    let mut rest = data;
    let mut encrypted = false;
    while let Ok((r, rec)) = parse_tls_raw_record(rest) {
        let t = rec.hdr.record_type.0;
        if t == 0x15 && !encrypted && alert.is_none() && rec.data.len() == 2 {
            alert = Some((rec.data[0], rec.data[1]));
        }
        if t == 0x14 {
            encrypted = true;
        }
        v.push((t, rec.data.len()));
        rest = r;
        if v.len() > 4096 {
            break;
        }
    }
    (v, alert)
}

/// What a ClientHello offers (from the first bytes a TLS client sends).
#[derive(Debug, Clone, Default)]
pub struct HelloSeen {
    pub sni: Option<String>,
    pub offered: Vec<String>,
    pub max_offered: u16,
    pub suites: usize,
    pub weak: Vec<String>,
}

/// Parses the ClientHello at the start of `up` (records reassembled), if it is complete.
pub fn client_hello(up: &[u8]) -> Option<HelloSeen> {
    let hs = handshake_bytes(up);
    if hs.len() < 4 {
        return None;
    }
    let len = u32::from_be_bytes([0, hs[1], hs[2], hs[3]]) as usize;
    let msg = hs.get(..4 + len)?;
    let Ok((_, TlsMessage::Handshake(TlsMessageHandshake::ClientHello(ch)))) =
        parse_tls_message_handshake(msg)
    else {
        return None;
    };
    let mut h = HelloSeen::default();
    let mut versions: Vec<u16> = vec![ch.version.0];
    if let Some(ext) = ch.ext {
        if let Ok((_, exts)) = parse_tls_client_hello_extensions(ext) {
            for e in exts {
                match e {
                    TlsExtension::SNI(v) => {
                        h.sni = v
                            .first()
                            .map(|(_, n)| String::from_utf8_lossy(n).to_string());
                    }
                    TlsExtension::SupportedVersions(v) => {
                        let real: Vec<u16> = v
                            .iter()
                            .map(|x| x.0)
                            .filter(|x| (0x0300..=0x0304).contains(x))
                            .collect();
                        if !real.is_empty() {
                            versions = real;
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    versions.sort_unstable();
    versions.dedup();
    h.max_offered = versions.last().copied().unwrap_or(0);
    h.offered = versions.iter().map(|v| hello::version_name(*v)).collect();
    h.suites = ch.ciphers.len();
    h.weak = ch
        .ciphers
        .iter()
        .filter(|s| !matches!(s.0, 0x00ff | 0x5600) && s.0 & 0x0f0f != 0x0a0a)
        .map(|s| crate::tls::judge_suite(s.0))
        .filter(|s| s.weak)
        .map(|s| s.name)
        .collect();
    Some(h)
}

fn tls_client(up: &[u8], down: &[u8], f: &Flow) -> TlsClient {
    let mut t = TlsClient::default();
    if let Some(h) = client_hello(up) {
        t.sni = h.sni;
        t.offered = h.offered;
        t.max_offered = h.max_offered;
        t.suites_offered = h.suites;
        t.weak_offered = h.weak;
    }
    let fl = flight::parse(down);
    t.version_id = fl.version;
    t.version = fl.version.map(hello::version_name);
    if let Some(s) = fl.cipher {
        let j = crate::tls::judge_suite(s);
        t.suite = Some(j.name);
        t.suite_weak = j.weak;
    }
    let (up_recs, up_alert) = records(up);
    let (down_recs, _) = records(down);
    if down.is_empty() {
        t.outcome = if f.reset_by_server {
            "refused by the server (RST)".into()
        } else {
            "no server answer".into()
        };
        return t;
    }
    if let Some((_, d)) = fl.alert {
        t.outcome = format!("refused by the server (alert {})", flight::alert_name(d));
        return t;
    }
    if let Some((_, d)) = up_alert {
        t.outcome = format!("aborted by the device (alert {})", alert_desc(d));
        return t;
    }
    if fl.version == Some(hello::TLS13) {
        // After ServerHello everything is encrypted: the device's Finished (≥ 40 bytes
        // sealed) or an alert (≈ 19 bytes sealed) is the first application-data record it sends.
        t.inferred = true;
        let sealed: Vec<usize> = up_recs
            .iter()
            .filter(|(ty, _)| *ty == 0x17)
            .map(|(_, l)| *l)
            .collect();
        if sealed.len() >= 2 || sealed.first().is_some_and(|l| *l >= 40) {
            t.completed = true;
            t.outcome = "completed".into();
        } else if sealed.len() == 1 {
            t.outcome = "aborted by the device (a single short encrypted record: an alert)".into();
        } else {
            t.outcome = "closed before completion".into();
        }
    } else if up_recs.iter().any(|(ty, _)| *ty == 0x14)
        && down_recs.iter().any(|(ty, _)| *ty == 0x14)
    {
        t.completed = true;
        t.outcome = "completed".into();
    } else {
        t.outcome = "closed before completion".into();
    }
    t
}

fn alert_desc(d: u8) -> String {
    match d {
        42 => "bad_certificate".into(),
        43 => "unsupported_certificate".into(),
        44 => "certificate_revoked".into(),
        45 => "certificate_expired".into(),
        46 => "certificate_unknown".into(),
        48 => "unknown_ca".into(),
        51 => "decrypt_error".into(),
        _ => flight::alert_name(d).into(),
    }
}

fn first_line(b: &[u8]) -> String {
    let end = b
        .iter()
        .position(|&c| c == b'\r' || c == b'\n')
        .unwrap_or(b.len());
    crate::text::line(&b[..end.min(300)], 200)
}

fn http(up: &[u8], down: &[u8]) -> Option<Cleartext> {
    const METHODS: [&[u8]; 9] = [
        b"GET ",
        b"POST ",
        b"PUT ",
        b"HEAD ",
        b"DELETE ",
        b"PATCH ",
        b"OPTIONS ",
        b"CONNECT ",
        b"SUBSCRIBE ",
    ];
    if !METHODS.iter().any(|m| up.starts_with(m)) {
        return None;
    }
    let head_end = crate::services::http::find(up, b"\r\n\r\n").unwrap_or(up.len().min(4096));
    let head = String::from_utf8_lossy(&up[..head_end]);
    let mut lines = head.lines();
    let req = lines.next()?.to_string();
    if !req.contains(" HTTP/1.") {
        return None;
    }
    let mut ct = Cleartext {
        lines: vec![crate::text::line(req.as_bytes(), 200)],
        ..Default::default()
    };
    for l in lines {
        let Some((k, v)) = l.split_once(':') else {
            continue;
        };
        let v = v.trim();
        match k.trim().to_ascii_lowercase().as_str() {
            "host" => ct.host = Some(v.to_string()),
            "authorization" => {
                ct.lines.push(format!("Authorization: {v}"));
                if let Some(b) = v
                    .strip_prefix("Basic ")
                    .or_else(|| v.strip_prefix("basic "))
                {
                    ct.credentials = crate::text::base64_decode(b.trim())
                        .map(|d| String::from_utf8_lossy(&d).to_string())
                        .or_else(|| Some(format!("Basic {b}")));
                } else {
                    ct.credentials = Some(v.to_string());
                }
            }
            "cookie" | "x-api-key" | "x-auth-token" => {
                ct.lines.push(format!("{k}: {v}"));
                ct.credentials.get_or_insert_with(|| format!("{k}: {v}"));
            }
            _ => {}
        }
    }
    if !down.is_empty() {
        ct.reply = Some(first_line(down));
    }
    Some(ct)
}

fn mqtt_client(up: &[u8], down: &[u8]) -> Option<Cleartext> {
    let pk = mqtt::packets(up);
    let (t, body) = pk.first()?;
    if t >> 4 != 1 {
        return None;
    }
    let c = mqtt_connect(body)?;
    let mut ct = Cleartext {
        lines: vec![format!(
            "MQTT CONNECT client-id={}{}{}",
            c.client_id,
            c.user
                .as_ref()
                .map(|u| format!(" username={u}"))
                .unwrap_or_default(),
            if c.password.is_some() {
                " password=…"
            } else {
                ""
            }
        )],
        ..Default::default()
    };
    if c.user.is_some() || c.password.is_some() {
        ct.credentials = Some(format!(
            "{}:{}",
            c.user.clone().unwrap_or_default(),
            c.password.clone().unwrap_or_default()
        ));
    }
    for (t, b) in pk.iter().skip(1).take(16) {
        if let Some((topic, payload)) = mqtt::parse_publish(*t, b) {
            ct.lines.push(format!(
                "MQTT PUBLISH {topic} ({} bytes: {})",
                payload.len(),
                crate::text::line(&payload, 60)
            ));
        }
    }
    if let Some(rc) = mqtt::connack(down) {
        ct.reply = Some(format!("CONNACK {rc} ({})", mqtt::connack_meaning(rc)));
    }
    Some(ct)
}

struct MqttConnect {
    client_id: String,
    user: Option<String>,
    password: Option<String>,
}

fn mqtt_connect(b: &[u8]) -> Option<MqttConnect> {
    let field = |b: &[u8], i: usize| -> Option<(Vec<u8>, usize)> {
        let l = u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?]) as usize;
        Some((b.get(i + 2..i + 2 + l)?.to_vec(), i + 2 + l))
    };
    let (name, i) = field(b, 0)?;
    if name != b"MQTT" && name != b"MQIsdp" {
        return None;
    }
    let flags = *b.get(i + 1)?;
    let mut i = i + 4; // level, flags, keepalive
    let level = *b.get(i - 4)?;
    if level == 5 {
        // MQTT 5 properties: a variable-length integer, then that many bytes.
        let (plen, n) = varint(b.get(i..)?)?;
        i += n + plen;
    }
    let (cid, mut i) = field(b, i)?;
    if flags & 0x04 != 0 {
        if level == 5 {
            let (plen, n) = varint(b.get(i..)?)?;
            i += n + plen;
        }
        let (_, j) = field(b, i)?;
        let (_, j) = field(b, j)?;
        i = j;
    }
    let mut user = None;
    if flags & 0x80 != 0 {
        let (u, j) = field(b, i)?;
        user = Some(String::from_utf8_lossy(&u).to_string());
        i = j;
    }
    let mut password = None;
    if flags & 0x40 != 0 {
        let (p, _) = field(b, i)?;
        password = Some(String::from_utf8_lossy(&p).to_string());
    }
    Some(MqttConnect {
        client_id: String::from_utf8_lossy(&cid).to_string(),
        user,
        password,
    })
}

fn varint(b: &[u8]) -> Option<(usize, usize)> {
    let mut v = 0usize;
    for (i, byte) in b.iter().take(4).enumerate() {
        v |= ((byte & 0x7f) as usize) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

fn ftp(up: &[u8], down: &[u8]) -> Cleartext {
    let text = String::from_utf8_lossy(up);
    let mut ct = Cleartext {
        reply: Some(first_line(down)),
        ..Default::default()
    };
    let mut user = None;
    for l in text.lines().take(32) {
        let l = l.trim_end();
        if let Some(u) = l.strip_prefix("USER ") {
            user = Some(u.to_string());
        }
        if let Some(p) = l.strip_prefix("PASS ") {
            ct.credentials = Some(format!("{}:{p}", user.clone().unwrap_or_default()));
        }
        ct.lines.push(crate::text::line(l.as_bytes(), 120));
    }
    ct
}

/// Where the capture came from, for evidence.
pub fn cite(file: &Path, c: &Conversation) -> String {
    format!(
        "{} {}, t={:.3}–{:.3} s",
        file.display(),
        c.frames,
        c.start,
        c.end
    )
}
