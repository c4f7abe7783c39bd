//! `--dry-run`: every probe the options would send, in order, with the exact bytes of each fixed
//! payload. Probes that depend on what answers (a TLS probe runs only on a TLS port) say so.

use serde::Serialize;

use crate::checks::{fuzz, ids, sectxt};
use crate::log::escape;
use crate::options::Options;
use crate::services::{coap, http, mdns, mqtt, snmp, ssh_id, tftp, upnp};
use crate::tls::hello;

#[derive(Debug, Clone, Serialize)]
pub struct PlannedProbe {
    /// Check id (test unit) the probe serves.
    pub probe: String,
    pub provisions: Vec<String>,
    /// `host:port/proto`, or a description of which ports.
    pub target: String,
    /// When it is sent.
    pub when: String,
    /// What is sent (exact, escaped as in the probe log; long payloads summarised).
    pub sends: String,
}

fn p(probe: &str, provs: &[&str], target: String, when: &str, sends: String) -> PlannedProbe {
    PlannedProbe {
        probe: probe.into(),
        provisions: provs.iter().map(|s| s.to_string()).collect(),
        target,
        when: when.into(),
        sends,
    }
}

fn shown(b: &[u8]) -> String {
    let s = escape(b);
    if s.len() > 400 {
        format!("{}… ({} bytes)", &s[..400], b.len())
    } else {
        s
    }
}

pub fn plan(o: &Options) -> Vec<PlannedProbe> {
    let ip = o.ip.to_string();
    let mut v = Vec::new();
    if let Some(c) = &o.capture {
        v.push(p(
            ids::CAP_TRAFFIC,
            &["5.5-1", "5.8-1", "5.8-2", "6-5", "5.3-2", "5.9-3"],
            format!("capture {}", c.path.display()),
            &format!("before anything is sent (device {} in the capture)", c.device),
            format!("nothing: reads the capture (≤ {} frames) and judges the connections the device makes{}", c.max_frames, if o.declared.connections.is_some() { format!(" against the connections declared in {}", o.declared.source) } else { " (no IXIT connections: nothing can be undeclared)".into() }),
        ));
    }
    if o.stage == crate::options::Stage::None {
        return v;
    }
    let n = o.ports.list().len();
    v.push(p(
        ids::PORTS,
        &["5.6-1", "5.6-5"],
        format!("{ip} TCP {}", o.ports.describe()),
        "always",
        format!("TCP connect (SYN, then FIN after the handshake) to each of {n} port(s); ≤ {} in flight, ≤ {}/s, {} ms timeout, one retry of timed-out ports when ≤ 256", o.concurrency, o.rate, o.connect_timeout.as_millis()),
    ));
    if o.udp {
        let udp: [(u16, &str, Vec<u8>); 5] = [
            (1900, "SSDP", upnp::msearch(&ip)),
            (5353, "mDNS", mdns::services_query(0)),
            (69, "TFTP", tftp::rrq()),
            (161, "SNMP", snmp::get_request(1, "public", 0x696f7461)),
            (5683, "CoAP", coap::get_well_known_core(0x696f)),
        ];
        for (port, name, bytes) in udp {
            v.push(p(
                ids::UDP,
                &["5.6-1", "5.6-5"],
                format!("{ip}:{port}/udp"),
                &format!("always ({name}, unicast; sent twice if unanswered)"),
                shown(&bytes),
            ));
        }
        v.push(p(
            ids::UDP,
            &["5.6-2"],
            format!("{ip}: LOCATION port"),
            "if SSDP answers with a LOCATION on the target itself",
            "GET <LOCATION path> HTTP/1.1 (the description XML)".into(),
        ));
    }
    let get = http::Request::get("/").bytes(&ip, 80, false);
    v.push(p(
        ids::BANNERS,
        &["5.6-2"],
        "each open TCP port".into(),
        "always",
        format!(
            "connect, wait {} ms for a banner (SSH, FTP, telnet speak first)",
            o.banner_wait.as_millis()
        ),
    ));
    v.push(p(
        ids::BANNERS,
        &["5.6-2"],
        "each open TCP port".into(),
        "if it sent SSH-",
        format!(
            "{}\\r\\n (then read the server's KEXINIT)",
            ssh_id::client_ident()
        ),
    ));
    v.push(p(
        ids::BANNERS,
        &["5.6-2"],
        "each open TCP port".into(),
        "if it sent telnet options",
        "IAC WONT/DONT refusing each option; read to the first prompt".into(),
    ));
    v.push(p(
        ids::BANNERS,
        &["5.6-2"],
        "each silent port".into(),
        "in port-hint order",
        shown(&get),
    ));
    v.push(p(ids::BANNERS, &["5.6-2"], "each silent port".into(), "in port-hint order", format!("TLS ClientHello (TLS 1.2, {} suites); if TLS: the HTTP GET / over TLS, then MQTT CONNECT over TLS", hello::all_suites().len())));
    v.push(p(
        ids::BANNERS,
        &["5.6-2"],
        "each silent port".into(),
        "in port-hint order",
        shown(&mqtt::connect("iotassure-id", None)),
    ));
    v.push(p(ids::BANNERS, &["5.6-2"], "each silent port".into(), "in port-hint order", format!("OPTIONS rtsp://{ip}:<port>/ RTSP/1.0\\r\\nCSeq: 1\\r\\nUser-Agent: iotassure\\r\\n\\r\\n")));
    v.push(p(
        ids::TLS,
        &["5.5-1", "5.5-7", "5.8-1", "TEC-5-no-downgrade"],
        "each TLS port".into(),
        "if the port speaks TLS",
        format!(
            "raw ClientHellos at SSLv3, TLS 1.0, 1.1, 1.2 ({} suites in chunks of 128, the chosen suite removed and the hello repeated until refused) and TLS 1.3 (5 suites, X25519 key share); a hello at the second-highest version with TLS_FALLBACK_SCSV; a TLS 1.3 handshake for the certificate if only 1.3 is accepted; at most 800 hellos",
            hello::all_suites().len()
        ),
    ));
    v.push(p(
        ids::SSH_ALGS,
        &["5.5-1"],
        "each SSH port".into(),
        "if SSH",
        "nothing more: the KEXINIT read during identification".into(),
    ));
    v.push(p(
        ids::KEY_IDENTITY,
        &["5.4-3"],
        "each SSH port".into(),
        "if SSH",
        format!(
            "one connection: {}, KEXINIT, KEX_ECDH_INIT, NEWKEYS, SERVICE_REQUEST ssh-userauth (no authentication); the host key's SHA-256 fingerprint is recorded, and the TLS certificate key's from the TLS probe",
            ssh_id::client_ident()
        ),
    ));
    v.push(p(
        ids::CLEARTEXT,
        &["5.5-1", "5.5-7"],
        "each service".into(),
        "always",
        "nothing more: judged from identification".into(),
    ));
    for r in http_table() {
        v.push(p(
            ids::UNAUTH,
            &["5.5-4", "5.5-5", "5.6-2"],
            "each HTTP(S) port".into(),
            "if HTTP",
            format!("GET {r} HTTP/1.1 (no credentials)"),
        ));
    }
    v.push(p(ids::UNAUTH, &["5.5-4"], "each HTTP(S) port".into(), "if HTTP", "GET /<random>-not-found (soft-404 baseline), GET /, and GET each same-host link of the root page (≤ 12)".into()));
    v.push(p(
        ids::SECURITY_TXT,
        &["5.2-1"],
        "each HTTP(S) port".into(),
        "if HTTP",
        format!("GET {} HTTP/1.1", sectxt::PATH),
    ));
    v.push(p(
        ids::UNAUTH,
        &["5.5-4", "5.6-2"],
        "each MQTT port".into(),
        "if anonymous CONNECT was accepted",
        format!(
            "{} then {} (read 1.5 s), DISCONNECT",
            shown(&mqtt::connect("iotassure-sub", None)),
            shown(&mqtt::subscribe(1, &["#", "$SYS/#"]))
        ),
    ));
    v.push(p(
        ids::UNAUTH,
        &["5.5-4", "5.1-1"],
        format!("{ip}:161/udp"),
        "if SNMP answered `public`",
        shown(&snmp::get_request(1, "private", 0x696f7462)),
    ));
    v.push(p(ids::UNAUTH_CONFIG, &["5.5-5"], "the UPnP control URL".into(), "if the description lists WANIPConnection/WANPPPConnection", "POST <controlURL> SOAPAction GetExternalIPAddress (read-only; AddPortMapping is never sent)".into()));
    v.push(p(
        ids::UNAUTH,
        &["5.5-4"],
        "each RTSP port".into(),
        "if RTSP",
        format!("DESCRIBE rtsp://{ip}:<port>/ RTSP/1.0 (no credentials)"),
    ));
    v.push(p(
        ids::UNAUTH_CONFIG,
        &["5.5-4", "5.5-5"],
        "each port showing a shell prompt".into(),
        "if a shell answers without login",
        "echo IOTA$((40+2))SURE, then exit".into(),
    ));
    let creds: Vec<String> = o
        .credentials
        .iter()
        .take(o.max_attempts)
        .map(|c| c.show())
        .collect();
    v.push(p(
        ids::DEFAULT_CREDS,
        &["5.1-1"],
        "each service that asks for a password (telnet, SSH, HTTP Basic/Digest or form, MQTT, FTP, RTSP)".into(),
        "until one is accepted, a lockout, or the list ends",
        format!("≤ {} login attempts per service at ≤ {}/s; FTP first tries anonymous and ftp:ftp; SSH first sends the \"none\" method. Candidates in order: {}", o.max_attempts, o.auth_rate, creds.join(" "))),
    );
    v.push(p(
        ids::DEFAULT_CREDS,
        &["5.1-1"],
        "telnet".into(),
        "after a login is accepted",
        "echo IOTA$((40+2))SURE (proof of a shell), then exit".into(),
    ));
    if let Some(list) = &o.declared.interfaces {
        v.push(p(
            ids::PORTS,
            &["5.6-1", "5.6-5", "5.13-1", "5.5-1"],
            "each open port".into(),
            "after identification",
            format!(
                "nothing more: compared with the {} interface(s) declared in {} (port, service, authentication)",
                list.len(),
                o.declared.source
            ),
        ));
    }
    for a in &o.declared.test_accounts {
        v.push(p(
            ids::AUTH_ACCESS,
            &["5.5-4"],
            format!(
                "each {} service{}",
                a.service,
                a.port.map(|p| format!(" on port {p}")).unwrap_or_default()
            ),
            "after the default-credential probe",
            format!(
                "one login as `{}` with the declared test account's password (ixit.test_accounts); also the brute-force test's known-good login",
                a.username
            ),
        ));
    }
    if o.bruteforce {
        v.push(p(
            ids::BRUTEFORCE,
            &["5.1-5"],
            "each login service".into(),
            "--bruteforce-test",
            format!(
                "{} wrong passwords (<marker>-wrong-N) for the known user (or admin), unpaced, then each known login ({}); stops at a lockout, 3 refused connections or 300 s",
                o.bruteforce_attempts,
                if o.known_logins.is_empty() { "none given: a default credential found, if any".to_string() } else { o.known_logins.iter().map(|c| c.show()).collect::<Vec<_>>().join(", ") }
            ),
        ));
    }
    if o.fuzz {
        for c in fuzz::http_cases(&ip) {
            v.push(p(
                ids::FUZZ,
                &["5.13-1"],
                "each HTTP(S) port".into(),
                "--fuzz, then GET / to check it still answers",
                format!("{}: {}", c.name, shown(&c.bytes)),
            ));
        }
        v.push(p(ids::FUZZ, &["5.13-1"], "each HTTP(S) port".into(), "--fuzz", "GET <path>?<param>=%3C<marker>%22%27%3E for ≤ 6 parameters seen on the root page, /?q= and /<marker> (reflection)".into()));
        for c in fuzz::mqtt_cases() {
            v.push(p(
                ids::FUZZ,
                &["5.13-1"],
                "each MQTT port".into(),
                "--fuzz, then a CONNECT to check it still answers",
                format!("{}: {}", c.name, shown(&c.bytes)),
            ));
        }
        for (what, cases) in [
            ("each SSH port", fuzz::ssh_cases()),
            ("each RTSP port", fuzz::rtsp_cases(&ip, 554)),
            ("each FTP port", fuzz::ftp_cases()),
        ] {
            for c in cases {
                v.push(p(
                    ids::FUZZ,
                    &["5.13-1"],
                    what.into(),
                    "--fuzz, then a new connection to check it still answers",
                    format!("{}: {}", c.name, shown(&c.bytes)),
                ));
            }
        }
        for c in fuzz::telnet_cases() {
            v.push(p(
                ids::FUZZ,
                &["5.13-1"],
                "each telnet port".into(),
                "--fuzz, then a new connection to check it still answers",
                format!("{}: {}", c.name, shown(&c.bytes)),
            ));
        }
    }
    if let Some(out) = &o.outage {
        v.push(p(
            ids::OUTAGE,
            &["5.9-1", "5.9-2", "5.3-15", "5.9-3"],
            format!("this host's uplink {}", out.uplink),
            "--outage-test, after every other probe",
            format!(
                "{}each declared basic function and open service checked (HTTP GET /, MQTT CONNECT, banner, UDP discovery probe or a TCP connect); then an nftables table `iotassure_outage_<pid>` drops forwarding through {} for {} s (its set element expires by itself after {} s); the checks repeat during the outage; the table is deleted; the checks repeat every second for ≤ {} s until everything answers",
                if out.capture.is_some() { "tcpdump -i any -w <out>/outage.pcap host TARGET starts; " } else { "" },
                out.uplink,
                out.duration.as_secs(),
                out.duration.as_secs() + 15,
                out.recovery.as_secs()
            ),
        ));
    }
    if let Some(pw) = &o.power {
        v.push(p(
            crate::power::CHECK,
            &["5.9-1", "5.9-2", "5.3-15"],
            format!("the power switch {}", pw.switch.url),
            "--power-switch, last of all",
            format!(
                "each declared basic function and open service checked (and its SSH host key or banner read); GET {} (relay off) for {} s; every service must be silent; GET {} (relay on, repeated on every exit path); the checks repeat every 0.25 s for ≤ {} s, and the host key or banner is compared with the one before",
                pw.switch.kind_path(false),
                pw.off.as_secs(),
                pw.switch.kind_path(true),
                pw.recovery.as_secs()
            ),
        ));
    }
    v
}

fn http_table() -> Vec<&'static str> {
    crate::checks::unauth::table_paths()
}
