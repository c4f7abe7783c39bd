//! Findings from a capture: the device's own connections against the IXIT's declared
//! connections (destinations, protocols, purposes), cleartext and weak TLS the device starts,
//! the update channel, services the device answers on, and how it retries a destination that
//! does not answer (5.9-3).
//!
//! Without an IXIT nothing can be "undeclared": destinations are listed (Info) and only what is
//! wrong on its face is judged (cleartext logins, obsolete TLS, connection floods).

use std::collections::BTreeMap;
use std::net::IpAddr;

use iotassure_core::finding::{Finding, Location, Outcome, Severity, Source, TranscriptLine};
use iotassure_core::ixit::{Connection, Interface, Purpose, Transport as IxTransport};

use super::flows::Transport;
use super::{Capture, CaptureState, Conversation};
use crate::checks::{ids, Out, Tallied};

/// What the judge compares the capture with.
#[derive(Debug, Clone, Default)]
pub struct Declared<'a> {
    /// `ixit.connections`, if the statement has an IXIT (None: nothing can be undeclared).
    pub connections: Option<&'a [Connection]>,
    pub interfaces: Option<&'a [Interface]>,
    /// Where the declarations come from (a statement file).
    pub source: &'a str,
    /// The device's own services were probed in this run (else a capture alone cannot pass
    /// provisions that also concern them).
    pub services_probed: bool,
}

/// Does a declared host (`name`, `*.domain`, an address or a CIDR) match the peer?
pub fn host_matches(declared: &str, names: &[String], ip: IpAddr) -> bool {
    let d = declared.trim().trim_end_matches('.').to_ascii_lowercase();
    if let Some((net, bits)) = d.split_once('/') {
        if let (Ok(net), Ok(bits)) = (net.parse::<IpAddr>(), bits.parse::<u8>()) {
            return in_cidr(ip, net, bits);
        }
    }
    if let Ok(a) = d.parse::<IpAddr>() {
        return a == ip;
    }
    if let Some(suffix) = d.strip_prefix("*.") {
        let dotted = format!(".{suffix}");
        return names.iter().any(|n| n.ends_with(&dotted));
    }
    names.contains(&d)
}

fn in_cidr(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) if bits <= 32 => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) if bits <= 128 => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// Whether a declared protocol name promises encryption: Some(true) yes, Some(false) cleartext,
/// None unknown.
pub fn secure_protocol(p: &str) -> Option<bool> {
    match p.trim().to_ascii_lowercase().as_str() {
        "https" | "mqtts" | "tls" | "ssh" | "sftp" | "dtls" | "coaps" | "ftps" | "wss" | "quic"
        | "nts" | "dot" | "doh" | "amqps" | "xmpps" | "sips" | "ipsec" | "wireguard"
        | "openvpn" => Some(true),
        "http" | "mqtt" | "ftp" | "telnet" | "ntp" | "dns" | "coap" | "ws" | "tftp" | "amqp"
        | "xmpp" | "sip" | "snmp" | "rtsp" => Some(false),
        _ => None,
    }
}

/// The protocol families a declared protocol name allows on the wire.
fn protocol_fits(declared: &str, seen: &str) -> bool {
    let d = declared.trim().to_ascii_lowercase();
    match d.as_str() {
        "https" | "mqtts" | "tls" | "ftps" | "wss" | "amqps" | "xmpps" | "sips" | "coaps"
        | "dtls" | "dot" | "doh" => matches!(seen, "tls" | "dtls" | "quic" | "none"),
        "http" | "ws" => matches!(seen, "http" | "none"),
        "mqtt" => matches!(seen, "mqtt" | "none"),
        "ntp" => seen == "ntp",
        "dns" => seen == "dns",
        other => other == seen || seen == "none",
    }
}

pub fn matching<'c>(conns: &'c [Connection], c: &Conversation) -> Option<&'c Connection> {
    conns
        .iter()
        .find(|d| host_matches(&d.host, &c.names, c.peer) && d.port.is_none_or(|p| p == c.port))
}

pub fn location(file: &str, c: &Conversation) -> Location {
    let mut t = vec![TranscriptLine {
        dir: "note".into(),
        data: format!(
            "capture {file}: {}, t={:.3}–{:.3}",
            c.frames, c.start, c.end
        ),
    }];
    if let Some(tl) = &c.tls {
        t.push(TranscriptLine {
            dir: "sent".into(),
            data: format!(
                "TLS ClientHello{}: versions {}; {} suites{}",
                tl.sni
                    .as_ref()
                    .map(|s| format!(" SNI={s}"))
                    .unwrap_or_default(),
                tl.offered.join(", "),
                tl.suites_offered,
                if tl.weak_offered.is_empty() {
                    String::new()
                } else {
                    format!(" incl. weak {}", tl.weak_offered.join(", "))
                }
            ),
        });
        t.push(TranscriptLine {
            dir: "received".into(),
            data: format!(
                "{} {} → {}",
                tl.version
                    .clone()
                    .unwrap_or_else(|| "no ServerHello".into()),
                tl.suite.clone().unwrap_or_default(),
                tl.outcome
            ),
        });
    }
    if let Some(ct) = &c.cleartext {
        for l in ct.lines.iter().take(6) {
            t.push(TranscriptLine {
                dir: "sent".into(),
                data: l.clone(),
            });
        }
        if let Some(r) = &ct.reply {
            t.push(TranscriptLine {
                dir: "received".into(),
                data: r.clone(),
            });
        }
    }
    if !c.note.is_empty() {
        t.push(TranscriptLine {
            dir: "note".into(),
            data: c.note.clone(),
        });
    }
    Location::Network {
        host: c.peer.to_string(),
        port: c.port,
        protocol: c.protocol.clone(),
        transcript: t,
    }
}

fn purpose_name(p: Purpose) -> &'static str {
    match p {
        Purpose::Update => "update",
        Purpose::Telemetry => "telemetry",
        Purpose::Cloud => "cloud",
        Purpose::Time => "time",
        Purpose::Dns => "dns",
        Purpose::Other => "other",
    }
}

/// Heuristic: does an undeclared conversation look like an update check or download?
fn looks_like_update(c: &Conversation) -> bool {
    let words = [
        "firmware", "update", "upgrade", "ota", "/fw", "fota", ".bin", ".img", ".trx",
    ];
    let hay = c.names.join(" ").to_ascii_lowercase()
        + " "
        + &c.cleartext
            .as_ref()
            .map(|t| t.lines.join(" "))
            .unwrap_or_default()
            .to_ascii_lowercase();
    words.iter().any(|w| hay.contains(w))
}

pub fn judge(cap: &Capture, decl: &Declared<'_>, out: &mut Out) {
    let file = cap.file.as_str();
    let outbound: Vec<&Conversation> = cap
        .conversations
        .iter()
        .filter(|c| c.outbound && !c.infrastructure())
        .collect();
    summary(cap, out);
    if cap.state == CaptureState::FailedBoot {
        failed_boot(cap, &outbound, decl, out);
        return;
    }
    if !decl.services_probed {
        // Provisions that also concern the device's own services cannot pass on traffic alone.
        for p in ["5.5-1", "5.8-1", "TEC-5-no-downgrade"] {
            out.tally(
                p,
                ids::CAP_TLS,
                "the device's services",
                Tallied::Undecided(
                    "not probed in this run: the capture shows only the connections the device makes".into(),
                ),
            );
        }
    }

    // Destinations against the declared connections (6-5-2c/d, 5.3-6-2a, 5.3-10-1c).
    let mut by_dest: BTreeMap<(String, u16), Vec<&Conversation>> = BTreeMap::new();
    for c in &outbound {
        by_dest
            .entry((
                c.names
                    .first()
                    .cloned()
                    .unwrap_or_else(|| c.peer.to_string()),
                c.port,
            ))
            .or_default()
            .push(c);
    }
    let mut telemetry_seen = false;
    let mut undeclared = 0usize;
    for ((dest, port), convs) in &by_dest {
        let c = convs[0];
        let label = format!("capture: {dest}:{port}");
        let Some(conns) = decl.connections else {
            continue;
        };
        match convs.iter().find_map(|c| matching(conns, c)) {
            Some(d) => {
                if matches!(d.purpose, Purpose::Telemetry) {
                    telemetry_seen = true;
                }
                let seen = convs
                    .iter()
                    .map(|c| c.protocol.as_str())
                    .find(|p| *p != "none")
                    .unwrap_or("none");
                if !protocol_fits(&d.protocol, seen) {
                    let secure_declared = secure_protocol(&d.protocol) == Some(true);
                    let plain = convs.iter().any(|c| c.plaintext());
                    let (provs, sev): (&[&str], Severity) = if secure_declared && plain {
                        (&["5.5-1"], Severity::High)
                    } else {
                        (&["5.5-1"], Severity::Medium)
                    };
                    let f = Finding::new(
                        if secure_declared && plain { ids::CAP_CLEARTEXT } else { ids::CAP_DESTINATIONS },
                        provs,
                        Outcome::Fail,
                        sev,
                        Source::Device,
                        format!(
                            "The device talks {seen} to {dest}:{port}, declared as {} ({})",
                            d.protocol,
                            purpose_name(d.purpose)
                        ),
                    )
                    .detail(format!(
                        "{label}: {} declares `{} {}:{}` for {}; the capture shows {seen}. The communication does not use the documented protocol{} (TS 103 701 5.5-1-2a).",
                        decl.source,
                        d.protocol,
                        d.host,
                        d.port.map(|p| p.to_string()).unwrap_or_else(|| "any".into()),
                        purpose_name(d.purpose),
                        if secure_declared && plain { " and its cryptography: it is cleartext" } else { "" }
                    ))
                    .evidence(location(file, c), format!("{seen} to {}", c.label()));
                    out.fail(f, &label);
                }
            }
            None => {
                undeclared += 1;
                let update = looks_like_update(c);
                let attempts = convs.len();
                let answered = convs.iter().filter(|c| c.answered).count();
                // Undeclared update traffic bears on the update provisions too, so table B.1's
                // 5.3-6 and 5.3-10 rows see it (TS 103 701 5.3-6-2a, 5.3-10-1c).
                let provs: &[&str] = if update {
                    &["6-5", "5.3-6", "5.3-10"]
                } else {
                    &["6-5"]
                };
                let f = Finding::new(
                    ids::CAP_DESTINATIONS,
                    provs,
                    Outcome::Fail,
                    Severity::Medium,
                    Source::Device,
                    format!(
                        "The device connects to {dest}:{port} ({}), which is not among the declared connections",
                        c.protocol
                    ),
                )
                .detail(format!(
                    "{label}: {attempts} conversation(s), {answered} answered, {} bytes sent. {} declares {} connection(s) ({}); none matches {} ({}). Undeclared destinations mean the description of what the device sends, and to whom, is incomplete (TS 103 701 6-5-2c/6-5-2d){}.",
                    convs.iter().map(|c| c.bytes_up).sum::<u64>(),
                    decl.source,
                    conns.len(),
                    conns.iter().map(|d| format!("{} {}", d.protocol, d.host)).collect::<Vec<_>>().join(", "),
                    c.peer,
                    if c.names.is_empty() { "no name seen in DNS, SNI or Host".to_string() } else { c.names.join(", ") },
                    if update { "; it looks like update traffic, so the update connections are not the documented ones either (5.3-6-2a, 5.3-10-1c)" } else { "" }
                ))
                .evidence(location(file, c), format!("{} to {}", c.protocol, c.label()));
                out.fail(f, &label);
            }
        }
    }
    if let Some(conns) = decl.connections {
        let unseen: Vec<String> = conns
            .iter()
            .filter(|d| {
                !outbound.iter().any(|c| {
                    host_matches(&d.host, &c.names, c.peer) && d.port.is_none_or(|p| p == c.port)
                }) && !cap
                    .conversations
                    .iter()
                    .any(|c| c.outbound && host_matches(&d.host, &c.names, c.peer))
            })
            .map(|d| format!("{} {} ({})", d.protocol, d.host, purpose_name(d.purpose)))
            .collect();
        if !unseen.is_empty() {
            out.findings.push(
                Finding::new(
                    ids::CAP_DESTINATIONS,
                    &["6-5", "5.3-6"],
                    Outcome::Info,
                    Severity::Info,
                    Source::Device,
                    format!("{} declared connection(s) not seen in the capture", unseen.len()),
                )
                .detail(format!(
                    "{file}: no traffic to {}. Trigger the function (an update check, a telemetry upload) while capturing to test it.",
                    unseen.join("; ")
                )),
            );
        }
        if undeclared == 0 && !by_dest.is_empty() {
            let telemetry_declared = conns.iter().any(|d| d.purpose == Purpose::Telemetry);
            let why = format!(
                "all {} destination(s) the device contacted are declared in {}{}",
                by_dest.len(),
                decl.source,
                if telemetry_seen {
                    ", including its telemetry connection(s)"
                } else {
                    ""
                }
            );
            if telemetry_declared && telemetry_seen {
                out.tally(
                    "6-5",
                    ids::CAP_DESTINATIONS,
                    "capture",
                    Tallied::Pass(why, None),
                );
            } else {
                out.findings.push(
                    Finding::new(ids::CAP_DESTINATIONS, &["6-5"], Outcome::Info, Severity::Info, Source::Device, format!("Every destination in the capture is declared ({})", by_dest.len()))
                        .detail(format!("{why}. No declared telemetry connection was exercised, so 6-5 is not decided by the traffic.")),
                );
            }
        }
    }

    tls(file, &outbound, decl, out);
    cleartext(file, &outbound, decl, out);
    update(file, &outbound, decl, out);
    reconnect(file, &cap.conversations, out);
    services(file, cap, decl, out);
}

fn summary(cap: &Capture, out: &mut Out) {
    let mut dests: BTreeMap<String, (usize, Vec<String>)> = BTreeMap::new();
    for c in cap.conversations.iter().filter(|c| c.outbound) {
        let e = dests.entry(c.label()).or_default();
        e.0 += 1;
        if !e.1.contains(&c.protocol) {
            e.1.push(c.protocol.clone());
        }
    }
    let mut detail = vec![format!(
        "{} ({}): {} frames, {} with the device {} at one end, {} not understood; {:.1} s of traffic; {} conversation(s) ({} started by the device){}.",
        cap.file,
        cap.read.format,
        cap.read.frames,
        cap.device_frames,
        cap.device,
        cap.undecoded_frames,
        (cap.end - cap.start).max(0.0),
        cap.conversations.len(),
        cap.conversations.iter().filter(|c| c.outbound).count(),
        cap.read
            .truncated_at_frame
            .map(|n| format!("; READ STOPPED at the {n}-frame limit"))
            .unwrap_or_default()
    )];
    if cap.payload_bound_reached {
        detail.push(format!(
            "The bound on payload kept ({} MiB) was reached: later conversations were classified from fewer bytes.",
            super::flows::MAX_STORED >> 20
        ));
    }
    if cap.conversations_dropped > 0 {
        detail.push(format!(
            "{} conversation(s) beyond the tracker's bound were not analysed.",
            cap.conversations_dropped
        ));
    }
    detail.push("Destinations (device-initiated):".into());
    for (d, (n, p)) in &dests {
        detail.push(format!("  {d}: {n} conversation(s), {}", p.join("/")));
    }
    if !cap.dns.is_empty() {
        detail.push("DNS queries:".into());
        for q in cap.dns.iter().take(100) {
            detail.push(format!(
                "  {} {} via {} → {}",
                q.qtype,
                q.name,
                q.server,
                if q.answers.is_empty() {
                    "no address".into()
                } else {
                    q.answers.join(", ")
                }
            ));
        }
    }
    for c in cap.conversations.iter().filter(|c| c.protocol == "ntp") {
        detail.push(format!("Time: {} {}", c.label(), c.note));
    }
    out.findings.push(
        Finding::new(
            ids::CAP_TRAFFIC,
            &["5.5-1", "6-5"],
            Outcome::Info,
            Severity::Info,
            Source::Device,
            format!(
                "Capture: the device contacted {} destination(s) and asked DNS for {} name(s)",
                dests.len(),
                cap.dns.len()
            ),
        )
        .detail(detail.join("\n")),
    );
}

fn tls(file: &str, outbound: &[&Conversation], decl: &Declared<'_>, out: &mut Out) {
    for c in outbound.iter().filter(|c| c.tls.is_some()) {
        let t = c.tls.as_ref().expect("filtered");
        let label = format!("capture: {}", c.label());
        let purpose = decl
            .connections
            .and_then(|cs| matching(cs, c))
            .map(|d| d.purpose);
        let mut wrong = Vec::new();
        if t.max_offered != 0 && t.max_offered < crate::tls::hello::TLS12 {
            wrong.push(format!(
                "offers at most {} (versions {})",
                crate::tls::hello::version_name(t.max_offered),
                t.offered.join(", ")
            ));
        }
        if let Some(v) = t.version_id.filter(|v| *v < crate::tls::hello::TLS12) {
            wrong.push(format!("negotiated {}", crate::tls::hello::version_name(v)));
        }
        if t.suite_weak {
            wrong.push(format!(
                "negotiated the weak suite {}",
                t.suite.clone().unwrap_or_default()
            ));
        }
        let mut provs = vec!["5.5-1"];
        if matches!(purpose, Some(Purpose::Telemetry | Purpose::Cloud)) {
            provs.push("5.8-1");
        }
        if !wrong.is_empty() {
            let f = Finding::new(
                ids::CAP_TLS,
                &provs,
                Outcome::Fail,
                Severity::High,
                Source::Device,
                format!("The device's TLS to {} {}", c.label(), wrong.join("; ")),
            )
            .detail(format!(
                "{label}: {}. TLS below 1.2 and weak suites are not best-practice cryptography (EN 303 645 5.5-1; TS 103 701 5.5-1-1c).",
                t.outcome
            ))
            .evidence(location(file, c), wrong.join("; "));
            out.fail(f, &label);
        } else if t.version_id.is_some() {
            for p in &provs {
                out.tally(
                    p,
                    ids::CAP_TLS,
                    &label,
                    Tallied::Pass(
                        format!(
                            "the device's TLS client offers {} and negotiated {} with {} ({})",
                            t.offered.join(", "),
                            t.version.clone().unwrap_or_default(),
                            t.suite.clone().unwrap_or_default(),
                            t.outcome
                        ),
                        Some(location(file, c)),
                    ),
                );
            }
        }
        if !t.weak_offered.is_empty() {
            let f = Finding::new(
                ids::CAP_TLS,
                &["TEC-5-no-downgrade"],
                Outcome::Fail,
                Severity::Medium,
                Source::Device,
                format!(
                    "The device offers {} weak TLS suite(s) to {}",
                    t.weak_offered.len(),
                    c.label()
                ),
            )
            .detail(format!(
                "{label}: its ClientHello offers {}. A peer (or an attacker in the path) may pick them: weak algorithms must not be offered for negotiation.",
                t.weak_offered.join(", ")
            ))
            .evidence(location(file, c), t.weak_offered.join(", "));
            out.fail(f, &label);
        } else if t.suites_offered > 0 {
            out.tally(
                "TEC-5-no-downgrade",
                ids::CAP_TLS,
                &label,
                Tallied::Pass(
                    format!(
                        "the device's ClientHello offers {} suites, none weak",
                        t.suites_offered
                    ),
                    Some(location(file, c)),
                ),
            );
        }
    }
}

fn cleartext(file: &str, outbound: &[&Conversation], decl: &Declared<'_>, out: &mut Out) {
    for c in outbound.iter().filter(|c| c.plaintext()) {
        let ct = c.cleartext.as_ref().expect("filtered");
        let label = format!("capture: {}", c.label());
        let declared = decl.connections.and_then(|cs| matching(cs, c));
        let sensitive_purpose = declared.is_some_and(|d| {
            matches!(
                d.purpose,
                Purpose::Update | Purpose::Telemetry | Purpose::Cloud
            )
        });
        // A connection the maker declares as plain (NTP, a captive-portal check) and that
        // carries no login is the maker's documented choice; everything else is judged.
        let documented_plain = declared
            .is_some_and(|d| secure_protocol(&d.protocol) == Some(false) && !sensitive_purpose)
            && ct.credentials.is_none();
        if let Some(cr) = &ct.credentials {
            let f = Finding::new(
                ids::CAP_CLEARTEXT,
                &["5.8-2", "5.5-1"],
                Outcome::Fail,
                Severity::High,
                Source::Device,
                format!("The device sends credentials in cleartext to {}", c.label()),
            )
            .detail(format!(
                "{label}: {} carries `{cr}` unencrypted. Security parameters sent over a network interface must be confidential (EN 303 645 5.8-2) and communication must use best-practice cryptography (5.5-1).",
                c.protocol
            ))
            .evidence(location(file, c), cr.clone());
            out.fail(f, &label);
            continue;
        }
        // Declared with encryption: the protocol-mismatch finding above already says it.
        if declared.is_some_and(|d| secure_protocol(&d.protocol) == Some(true)) {
            continue;
        }
        if documented_plain {
            out.findings.push(
                Finding::new(
                    ids::CAP_CLEARTEXT,
                    &["5.5-1"],
                    Outcome::Info,
                    Severity::Info,
                    Source::Device,
                    format!(
                        "Cleartext {} to {} (declared as such)",
                        c.protocol,
                        c.label()
                    ),
                )
                .detail(format!(
                    "{label}: {} declares it as {}; it carries no login.",
                    decl.source,
                    declared.map(|d| d.protocol.clone()).unwrap_or_default()
                ))
                .evidence(
                    location(file, c),
                    ct.lines.first().cloned().unwrap_or_default(),
                ),
            );
            continue;
        }
        let mut provs = vec!["5.5-1"];
        if declared.is_some_and(|d| matches!(d.purpose, Purpose::Telemetry | Purpose::Cloud)) {
            provs.push("5.8-1");
        }
        let f = Finding::new(
            ids::CAP_CLEARTEXT,
            &provs,
            Outcome::Fail,
            if sensitive_purpose {
                Severity::High
            } else {
                Severity::Medium
            },
            Source::Device,
            format!(
                "The device communicates in cleartext ({}) with {}",
                c.protocol,
                c.label()
            ),
        )
        .detail(format!(
            "{label}: {}.{} Anyone on the path can read and alter it (EN 303 645 5.5-1{}).",
            ct.lines
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join(" | "),
            declared
                .map(|d| format!(" Declared purpose: {}.", purpose_name(d.purpose)))
                .unwrap_or_else(|| " The connection is not declared.".into()),
            if provs.len() > 1 {
                "; personal data in transit, 5.8-1"
            } else {
                ""
            }
        ))
        .evidence(
            location(file, c),
            ct.lines.first().cloned().unwrap_or_default(),
        );
        out.fail(f, &label);
    }
}

fn update(file: &str, outbound: &[&Conversation], decl: &Declared<'_>, out: &mut Out) {
    let Some(conns) = decl.connections else {
        return;
    };
    if !conns.iter().any(|d| d.purpose == Purpose::Update) {
        return;
    }
    for c in outbound {
        let Some(d) = matching(conns, c).filter(|d| d.purpose == Purpose::Update) else {
            continue;
        };
        let label = format!("capture: {}", c.label());
        if c.plaintext() {
            out.findings.push(
                Finding::new(
                    ids::CAP_UPDATE,
                    &["5.3-2", "5.3-10"],
                    Outcome::Inconclusive,
                    Severity::High,
                    Source::Device,
                    format!("The update connection to {} is cleartext", c.label()),
                )
                .detail(format!(
                    "{label}: declared update connection `{} {}`; the capture shows {}. Anyone on the path can substitute the update; the mechanism is secure only if every image is signed and verified on the device (see the firmware's update-signature findings). Run `iotassure intercept` with the update traffic steered to it to attempt the substitution (TS 103 701 5.3-2-2b).",
                    d.protocol,
                    d.host,
                    c.cleartext.as_ref().and_then(|t| t.lines.first().cloned()).unwrap_or_default()
                ))
                .evidence(location(file, c), "cleartext update channel"),
            );
        } else if let Some(t) = &c.tls {
            out.findings.push(
                Finding::new(
                    ids::CAP_UPDATE,
                    &["5.3-2", "5.3-10"],
                    Outcome::Info,
                    Severity::Info,
                    Source::Device,
                    format!(
                        "The update connection to {} uses {} ({})",
                        c.label(),
                        t.version.clone().unwrap_or_else(|| "TLS".into()),
                        t.outcome
                    ),
                )
                .detail(format!("{label}: whether the device checks the server's certificate is what `iotassure intercept` tests."))
                .evidence(location(file, c), t.outcome.clone()),
            );
        }
    }
}

/// After a failed integrity check the device should connect no further than alerting needs:
/// every connection it starts is listed, undeclared ones fail 5.7-2.
fn failed_boot(cap: &Capture, outbound: &[&Conversation], decl: &Declared<'_>, out: &mut Out) {
    let file = cap.file.as_str();
    let label = "capture after a failed integrity check";
    if outbound.is_empty() {
        out.tally(
            "5.7-2",
            ids::CAP_DESTINATIONS,
            label,
            Tallied::Pass(
                format!(
                    "in {:.0} s after the failed integrity check the device started no connection beyond DNS and DHCP ({file})",
                    (cap.end - cap.start).max(0.0)
                ),
                None,
            ),
        );
        return;
    }
    let Some(conns) = decl.connections else {
        out.tally("5.7-2", ids::CAP_DESTINATIONS, label, Tallied::Undecided(format!(
            "the device connected to {} after the failed integrity check; without IXIT connections it cannot be told whether they are the alerting ones",
            outbound.iter().map(|c| c.label()).collect::<Vec<_>>().join(", ")
        )));
        return;
    };
    for c in outbound {
        match matching(conns, c) {
            Some(d) => out.tally(
                "5.7-2",
                ids::CAP_DESTINATIONS,
                &format!("capture: {}", c.label()),
                Tallied::Pass(
                    format!("after the failed integrity check it connected only to the declared {} ({})", d.host, purpose_name(d.purpose)),
                    Some(location(file, c)),
                ),
            ),
            None => {
                let f = Finding::new(
                    ids::CAP_DESTINATIONS,
                    &["5.7-2"],
                    Outcome::Fail,
                    Severity::High,
                    Source::Device,
                    format!("After a failed integrity check the device connects to {}, which is not declared", c.label()),
                )
                .detail(format!(
                    "capture {file} (taken with the device refusing a modified image): an unauthorised change should leave the device connecting no wider than alerting needs (EN 303 645 5.7-2; TS 103 701 5.7-2-2b); {} declares {}.",
                    decl.source,
                    conns.iter().map(|d| d.host.clone()).collect::<Vec<_>>().join(", ")
                ))
                .evidence(location(file, c), c.protocol.clone());
                out.fail(f, &format!("capture: {}", c.label()));
            }
        }
    }
}

/// How a destination that does not answer is retried (5.9-3: orderly reconnection).
#[derive(Debug, Clone, PartialEq)]
pub enum Retry {
    /// Attempts faster than the infrastructure should bear.
    Flood {
        per_s: f64,
        attempts: usize,
    },
    /// Intervals grow.
    Backoff {
        first: f64,
        last: f64,
    },
    /// Fixed intervals ≥ 10 s.
    Spaced {
        interval: f64,
    },
    /// Fixed short intervals: neither a flood nor a back-off.
    Fixed {
        interval: f64,
    },
    TooFew(usize),
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    s.get(s.len() / 2).copied().unwrap_or(0.0)
}

/// Judges a run of consecutive failed attempt start times (seconds, sorted).
pub fn judge_retries(times: &[f64]) -> Retry {
    if times.len() < 4 {
        return Retry::TooFew(times.len());
    }
    let iv: Vec<f64> = times.windows(2).map(|w| (w[1] - w[0]).max(0.0)).collect();
    // Most attempts in any one second.
    let mut burst = 0;
    let mut j = 0;
    for i in 0..times.len() {
        while times[i] - times[j] > 1.0 {
            j += 1;
        }
        burst = burst.max(i - j + 1);
    }
    let span = (times[times.len() - 1] - times[0]).max(1e-3);
    let per_s = (times.len() - 1) as f64 / span;
    if burst >= 10 || (times.len() >= 10 && median(&iv) < 0.5) {
        return Retry::Flood {
            per_s: per_s.max(burst as f64),
            attempts: times.len(),
        };
    }
    let third = (iv.len() / 3).max(1);
    let first = median(&iv[..third]);
    let last = median(&iv[iv.len() - third..]);
    if last >= 1.5 * first && last - first >= 0.2 {
        return Retry::Backoff { first, last };
    }
    let m = median(&iv);
    if m >= 10.0 {
        Retry::Spaced { interval: m }
    } else {
        Retry::Fixed { interval: m }
    }
}

fn reconnect(file: &str, convs: &[Conversation], out: &mut Out) {
    let mut by: BTreeMap<(IpAddr, u16), Vec<&Conversation>> = BTreeMap::new();
    for c in convs.iter().filter(|c| {
        c.outbound && c.transport == Transport::Tcp && !c.mid_stream && !c.infrastructure()
    }) {
        by.entry((c.peer, c.port)).or_default().push(c);
    }
    for ((peer, port), mut v) in by {
        v.sort_by(|a, b| a.start.total_cmp(&b.start));
        // Maximal runs of consecutive failed attempts.
        let mut runs: Vec<Vec<&Conversation>> = Vec::new();
        let mut cur: Vec<&Conversation> = Vec::new();
        for c in &v {
            if c.failed_attempt {
                cur.push(c);
            } else if !cur.is_empty() {
                runs.push(std::mem::take(&mut cur));
            }
        }
        if !cur.is_empty() {
            runs.push(cur);
        }
        let Some(run) = runs.into_iter().max_by_key(|r| r.len()) else {
            continue;
        };
        let times: Vec<f64> = run.iter().map(|c| c.start).collect();
        let first = run[0];
        let last = run[run.len() - 1];
        let recovered = v
            .iter()
            .find(|c| c.start > last.start && !c.failed_attempt)
            .map(|c| {
                format!(
                    "; reconnected {:.1} s after the last failed attempt",
                    c.start - last.start
                )
            })
            .unwrap_or_else(|| "; no successful connection after them in the capture".into());
        let label = format!("capture: {}", first.label());
        let loc = Location::Network {
            host: peer.to_string(),
            port,
            protocol: "tcp".into(),
            transcript: vec![TranscriptLine {
                dir: "note".into(),
                data: format!(
                    "capture {file}: {} failed connection attempts from {} to {} (t={:.3}–{:.3}); attempt times: {}",
                    run.len(),
                    first.frames,
                    last.frames,
                    first.start,
                    last.start,
                    times.iter().take(40).map(|t| format!("{:.2}", t - times[0])).collect::<Vec<_>>().join(" ")
                ),
            }],
        };
        let series = format!(
            "{} failed attempts over {:.1} s{recovered}",
            run.len(),
            last.start - first.start
        );
        match judge_retries(&times) {
            Retry::Flood { per_s, attempts } => {
                let f = Finding::new(
                    ids::CAP_RECONNECT,
                    &["5.9-3"],
                    Outcome::Fail,
                    Severity::Medium,
                    Source::Device,
                    format!(
                        "The device floods {} with reconnection attempts ({attempts} at up to {per_s:.1}/s)",
                        first.label()
                    ),
                )
                .detail(format!(
                    "{label}: {series}. Retrying without back-off or spacing loads the network and the service when many devices reconnect at once (EN 303 645 5.9-3: orderly reconnection, considering infrastructure capacity). Threshold: ≥ 10 attempts in one second, or a median interval under 0.5 s over ≥ 10 attempts."
                ))
                .evidence(loc, series.clone());
                out.fail(f, &label);
            }
            Retry::Backoff { first: a, last: b } => out.tally(
                "5.9-3",
                ids::CAP_RECONNECT,
                &label,
                Tallied::Pass(format!("retries back off: intervals grew from {a:.2} s to {b:.2} s; {series}"), Some(loc)),
            ),
            Retry::Spaced { interval } => out.tally(
                "5.9-3",
                ids::CAP_RECONNECT,
                &label,
                Tallied::Pass(format!("retries are spaced {interval:.1} s apart; {series}"), Some(loc)),
            ),
            Retry::Fixed { interval } => out.tally(
                "5.9-3",
                ids::CAP_RECONNECT,
                &label,
                Tallied::Undecided(format!("retries at a fixed {interval:.2} s interval, neither a flood nor a back-off ({series}); the lab judges whether that is orderly")),
            ),
            Retry::TooFew(n) => {
                if n >= 2 {
                    out.tally(
                        "5.9-3",
                        ids::CAP_RECONNECT,
                        &label,
                        Tallied::Undecided(format!("only {n} failed attempts: too few to see a pattern ({series})")),
                    );
                }
            }
        }
    }
}

fn services(file: &str, cap: &Capture, decl: &Declared<'_>, out: &mut Out) {
    let mut seen: BTreeMap<(u16, Transport), &Conversation> = BTreeMap::new();
    for c in cap
        .conversations
        .iter()
        .filter(|c| !c.outbound && c.answered && !c.infrastructure())
    {
        seen.entry((c.device_port, c.transport)).or_insert(c);
    }
    if seen.is_empty() {
        return;
    }
    let list: Vec<String> = seen
        .iter()
        .map(|((p, t), c)| {
            format!(
                "{p}/{} {}",
                if *t == Transport::Tcp { "tcp" } else { "udp" },
                c.protocol
            )
        })
        .collect();
    out.findings.push(
        Finding::new(
            ids::CAP_SERVICES,
            &["5.6-1"],
            Outcome::Info,
            Severity::Info,
            Source::Device,
            format!(
                "Services the device answered on in the capture: {}",
                list.join(", ")
            ),
        )
        .detail(format!(
            "{file}: conversations opened by peers and answered by the device {}.",
            cap.device
        )),
    );
    let Some(ifs) = decl.interfaces else {
        return;
    };
    for ((port, t), c) in seen {
        let udp = t == Transport::Udp;
        if ifs
            .iter()
            .any(|i| i.port == port && (i.transport == IxTransport::Udp) == udp)
        {
            continue;
        }
        let label = format!("capture: {}:{port}", cap.device);
        let f = Finding::new(
            ids::CAP_SERVICES,
            &["5.6-1", "5.6-5"],
            Outcome::Fail,
            Severity::Medium,
            Source::Device,
            format!(
                "The device answers on {port}/{} ({}), which is not among the declared interfaces",
                if udp { "udp" } else { "tcp" },
                c.protocol
            ),
        )
        .detail(format!(
            "{label}: a peer ({}) opened a conversation the device answered; {} declares {}.",
            c.peer,
            decl.source,
            ifs.iter()
                .map(|i| format!(
                    "{}/{}",
                    i.port,
                    if i.transport == IxTransport::Udp {
                        "udp"
                    } else {
                        "tcp"
                    }
                ))
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .evidence(
            Location::Network {
                host: cap.device.to_string(),
                port,
                protocol: c.protocol.clone(),
                transcript: vec![TranscriptLine {
                    dir: "note".into(),
                    data: format!("capture {file}: {}, from {}", c.frames, c.peer),
                }],
            },
            format!("answered {} on {port}", c.peer),
        );
        out.fail(f, &label);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_match_names_wildcards_addresses_and_networks() {
        let n = vec!["fw.update.example.com".to_string()];
        let ip: IpAddr = "10.250.0.9".parse().unwrap();
        assert!(host_matches("fw.update.example.com", &n, ip));
        assert!(host_matches("*.example.com", &n, ip));
        assert!(!host_matches("*.update.example.com.evil", &n, ip));
        assert!(!host_matches("example.com", &n, ip));
        assert!(host_matches("10.250.0.9", &[], ip));
        assert!(host_matches("10.250.0.0/24", &[], ip));
        assert!(!host_matches("10.250.1.0/24", &[], ip));
        assert!(!host_matches("*.com", &[], ip));
    }

    #[test]
    fn retry_patterns() {
        let flood: Vec<f64> = (0..30).map(|i| i as f64 * 0.05).collect();
        assert!(matches!(judge_retries(&flood), Retry::Flood { .. }));
        let backoff = [0.0, 1.0, 3.0, 7.0, 15.0, 31.0];
        assert!(matches!(judge_retries(&backoff), Retry::Backoff { .. }));
        let spaced = [0.0, 30.0, 60.0, 90.0, 120.0];
        assert!(matches!(judge_retries(&spaced), Retry::Spaced { .. }));
        let fixed = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0];
        assert!(matches!(judge_retries(&fixed), Retry::Fixed { .. }));
        assert_eq!(judge_retries(&[0.0, 1.0]), Retry::TooFew(2));
    }
}
