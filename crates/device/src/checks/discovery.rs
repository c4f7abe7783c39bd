//! Discovery findings (5.6-1, 5.6-5): the open ports and what runs on them, the UDP IoT ports,
//! and services that have no place on a consumer device in its initialized state.

use std::time::Duration;

use iotassure_core::finding::{Finding, Location, Outcome, Severity, Source, TranscriptLine};

use super::{ids, port_location, svc_location, Out, UdpSeen};
use crate::ctx::Ctx;
use crate::scan::TcpScan;
use crate::services::udp::{self, UdpReply};
use crate::services::{coap, mdns, snmp, tftp, upnp, Proto, Service};
use crate::text;

/// The unicast UDP probes of the IoT ports, in parallel.
pub fn udp(ctx: &Ctx<'_>) -> (Vec<UdpSeen>, Vec<Service>, Out) {
    let probes: [(u16, Proto); 5] = [
        (1900, Proto::Ssdp),
        (5353, Proto::Mdns),
        (69, Proto::Tftp),
        (161, Proto::Snmp),
        (5683, Proto::Coap),
    ];
    let results = super::parallel(&probes, 5, |&(port, proto)| udp_one(ctx, port, proto));
    let mut seen = Vec::new();
    let mut services = Vec::new();
    let out = Out::default();
    for (s, svc) in results {
        seen.push(s);
        services.extend(svc);
    }
    (seen, services, out)
}

fn udp_one(ctx: &Ctx<'_>, port: u16, proto: Proto) -> (UdpSeen, Option<Service>) {
    let name = proto.name(false);
    let mut ex = ctx.exchange(ids::UDP, port, name);
    let wait = Duration::from_millis(1200).min(ctx.opts.io_timeout);
    let (payload, summary): (Vec<u8>, Option<String>) = match proto {
        Proto::Ssdp => (upnp::msearch(&ctx.opts.ip.to_string()), None),
        Proto::Mdns => (
            mdns::services_query(0),
            Some("mDNS query PTR _services._dns-sd._udp.local".into()),
        ),
        Proto::Tftp => (
            tftp::rrq(),
            Some(format!("TFTP RRQ {} octet", tftp::PROBE_FILE)),
        ),
        Proto::Snmp => (
            snmp::get_request(1, "public", 0x696f7461),
            Some("SNMPv2c GetRequest community=public sysDescr.0 sysName.0".into()),
        ),
        _ => (
            coap::get_well_known_core(0x696f),
            Some("CoAP CON GET /.well-known/core".into()),
        ),
    };
    let reply = udp::exchange(ctx, &mut ex, port, &payload, summary.as_deref(), wait, 32);
    let mut svc = Service::new(port, true, proto);
    let (state, summary) = match reply {
        Ok(UdpReply::Answered(rs)) => {
            let s = describe_udp(ctx, &mut svc, &rs);
            ("open", s)
        }
        Ok(UdpReply::Closed) => ("closed", "port unreachable".to_string()),
        Ok(UdpReply::Silent) => ("open|filtered", "no reply".to_string()),
        Err(e) => ("error", e.to_string()),
    };
    svc.evidence = Some(ex.location());
    let seen = UdpSeen {
        port,
        proto,
        state: state.into(),
        summary,
    };
    (seen, (state == "open").then_some(svc))
}

fn describe_udp(ctx: &Ctx<'_>, svc: &mut Service, rs: &[Vec<u8>]) -> String {
    match svc.proto {
        Proto::Ssdp => {
            let mut locs = Vec::new();
            for r in rs {
                if let Some(h) = upnp::headers(r) {
                    for (k, v) in h {
                        match k.as_str() {
                            "SERVER" => {
                                svc.banner.get_or_insert(v.clone());
                                svc.disclose("SSDP SERVER header", &v, None);
                            }
                            "LOCATION" if !locs.contains(&v) => locs.push(v),
                            _ => {}
                        }
                    }
                }
            }
            for l in &locs {
                svc.info.push(("location".into(), l.clone()));
            }
            svc.product = svc.banner.as_ref().and_then(|b| {
                b.split_whitespace()
                    .last()
                    .map(|s| s.split('/').next().unwrap_or(s).to_string())
            });
            // The description XML, if it lives on the target itself.
            if let Some(loc) = locs.first() {
                describe_upnp(ctx, svc, loc);
            }
            format!(
                "{} SSDP replies; {}",
                rs.len(),
                svc.banner.clone().unwrap_or_default()
            )
        }
        Proto::Mdns => {
            let names: Vec<String> = rs.iter().flat_map(|r| mdns::ptr_answers(r)).collect();
            for n in &names {
                svc.info.push(("service".into(), n.clone()));
            }
            svc.banner = Some(format!("mDNS: {}", names.join(", ")));
            format!(
                "announces {}",
                if names.is_empty() {
                    "nothing".into()
                } else {
                    names.join(", ")
                }
            )
        }
        Proto::Tftp => {
            let d = rs
                .first()
                .and_then(|r| tftp::describe(r))
                .unwrap_or_else(|| "reply".into());
            svc.banner = Some(format!("TFTP {d}"));
            d
        }
        Proto::Snmp => match rs.iter().find_map(|r| snmp::parse_response(r)) {
            Some(r) => {
                for v in &r.values {
                    svc.disclose("SNMP sysDescr/sysName (community public)", v, None);
                }
                svc.info.push(("community".into(), "public".into()));
                svc.banner = Some(format!("SNMP: {}", r.values.join(" | ")));
                format!("community public answered: {}", r.values.join(" | "))
            }
            None => "reply not understood".into(),
        },
        _ => match rs.iter().find_map(|r| coap::parse(r)) {
            Some((code, payload)) => {
                let p = text::line(&payload, 300);
                svc.info.push(("resources".into(), p.clone()));
                svc.banner = Some(format!("CoAP {code}"));
                format!("CoAP {code}: {p}")
            }
            None => "reply not understood".into(),
        },
    }
}

/// Fetches the UPnP description (only from the target itself) and records what it discloses.
fn describe_upnp(ctx: &Ctx<'_>, svc: &mut Service, location: &str) {
    let Some((host, port, path)) = upnp::split_url(location) else {
        return;
    };
    if host != ctx.opts.ip.to_string() {
        svc.info.push((
            "description".into(),
            format!("not fetched: {location} is not the target"),
        ));
        return;
    }
    let mut ex = ctx.exchange(ids::UDP, port, "http");
    if let Some(r) = crate::services::http::fetch(
        ctx,
        &mut ex,
        port,
        false,
        &crate::services::http::Request::get(&path),
    ) {
        let d = upnp::parse_description(&r.body_text());
        if let Some(s) = r.header("server") {
            svc.disclose("UPnP HTTP Server header", s, Some(ex.location()));
        }
        for (k, v) in &d.fields {
            svc.info.push((k.clone(), v.clone()));
        }
        for (k, v) in d.fields.iter().filter(|(k, _)| {
            matches!(
                k.as_str(),
                "modelNumber" | "modelName" | "serialNumber" | "modelDescription"
            )
        }) {
            svc.disclose(&format!("UPnP {k}"), v, Some(ex.location()));
        }
        for (t, c, _) in &d.services {
            svc.info.push((
                "upnp-service".into(),
                format!("{t} {port}{}", upnp::join(&path, c)),
            ));
        }
        svc.info.push(("description-port".into(), port.to_string()));
        svc.info.push(("description-path".into(), path));
    }
}

pub fn findings(
    ctx: &Ctx<'_>,
    scan: &TcpScan,
    services: &[Service],
    udp: &[UdpSeen],
    out: &mut Out,
) {
    let host = ctx.opts.ip.to_string();
    let mut f = Finding::new(
        ids::PORTS,
        &["5.6-1", "5.6-5"],
        Outcome::Info,
        Severity::Info,
        Source::Device,
        format!("{} open TCP port(s) on {host}: {}", scan.open.len(), if scan.open.is_empty() { "none".into() } else { crate::options::compress_ranges(&scan.open) }),
    )
    .detail(format!(
        "TCP connect scan of {} port(s) ({}) in {:.2} s: {} open, {} closed, {} filtered (no answer), {} unreachable; {} loopback self-connection(s) dropped. The interfaces a device needs are the maker's to declare; each open port below is a network interface in the initialized state.",
        scan.ports_total,
        ctx.opts.ports.describe(),
        scan.elapsed.as_secs_f64(),
        scan.open.len(),
        scan.closed,
        scan.filtered.len(),
        scan.unreachable,
        scan.self_connects
    ));
    for s in services {
        f = f.evidence(
            svc_location(ctx, s),
            format!(
                "{} {}",
                s.label(),
                s.banner
                    .clone()
                    .unwrap_or_else(|| s.note.clone().unwrap_or_default())
            ),
        );
    }
    out.findings.push(f);
    if !scan.not_scanned.is_empty() {
        out.findings.push(
            Finding::new(
                ids::PORTS,
                &["5.6-1", "5.6-5"],
                Outcome::Inconclusive,
                Severity::Info,
                Source::Device,
                format!(
                    "{} port(s) not scanned: the time budget ran out",
                    scan.not_scanned.len()
                ),
            )
            .detail(format!(
                "Not scanned: {}",
                crate::options::compress_ranges(&{
                    let mut v = scan.not_scanned.clone();
                    v.sort_unstable();
                    v
                })
            )),
        );
    }
    if !udp.is_empty() {
        let open: Vec<String> = udp
            .iter()
            .filter(|u| u.state == "open")
            .map(|u| format!("{}/udp {}", u.port, u.proto.name(false)))
            .collect();
        let mut f = Finding::new(
            ids::UDP,
            &["5.6-1", "5.6-5"],
            Outcome::Info,
            Severity::Info,
            Source::Device,
            format!(
                "IoT UDP ports answering on {host}: {}",
                if open.is_empty() {
                    "none".into()
                } else {
                    open.join(", ")
                }
            ),
        )
        .detail(
            udp.iter()
                .map(|u| {
                    format!(
                        "{}/udp {}: {} ({})",
                        u.port,
                        u.proto.name(false),
                        u.state,
                        u.summary
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
        );
        for u in udp {
            f = f.evidence(
                Location::Network {
                    host: host.clone(),
                    port: u.port,
                    protocol: u.proto.name(false).into(),
                    transcript: vec![TranscriptLine {
                        dir: "note".into(),
                        data: format!("{}: {}", u.state, u.summary),
                    }],
                },
                u.summary.clone(),
            );
        }
        out.findings.push(f);
    }
}

/// Services with no place on a consumer device in its initialized state (5.6-1).
pub fn risky(ctx: &Ctx<'_>, svc: &Service, label: &str, out: &mut Out) {
    let why = match (svc.proto, svc.port) {
        (Proto::Telnet, _) => Some("telnet: a remote login over cleartext, a maintenance interface that Mirai-style malware looks for first"),
        (Proto::Shell, _) => Some("a command shell that answers without any login"),
        (Proto::Tftp, _) => Some("TFTP: file transfer without any authentication"),
        (Proto::Unknown, 512..=514) => Some("a BSD r-service port (rexec/rlogin/rsh): remote access without real authentication"),
        _ => None,
    };
    if let Some(why) = why {
        let f = Finding::new(ids::RISKY, &["5.6-1", "5.6-5"], Outcome::Fail, if svc.proto == Proto::Shell { Severity::Critical } else { Severity::High }, Source::Device, format!("{} is open: {why}", svc.label()))
            .detail(format!("{label}. EN 303 645 5.6-1 requires unused network interfaces to be disabled; a consumer device has no need for this service in its initialized state."))
            .evidence(svc_location(ctx, svc), svc.banner.clone().unwrap_or_default());
        out.fail(f, label);
    }
    if svc.proto == Proto::Ssdp
        && svc
            .info
            .iter()
            .any(|(k, v)| k == "upnp-service" && upnp::is_igd_connection(v))
    {
        out.findings.push(
            Finding::new(ids::RISKY, &["5.6-1", "5.6-5"], Outcome::Info, Severity::Low, Source::Device, format!("{} offers a UPnP Internet Gateway Device (port mappings on request)", svc.label()))
                .detail("UPnP IGD lets any host on the LAN open ports in the firewall. Whether it is needed is the maker's to justify; unauthenticated actions are checked under 5.5-5.")
                .evidence(port_location(ctx, svc, &svc.banner.clone().unwrap_or_default()), svc.banner.clone().unwrap_or_default()),
        );
    }
}
