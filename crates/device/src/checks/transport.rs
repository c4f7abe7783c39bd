//! Protection in transit (5.5-1, 5.5-7, 5.8-1, TEC no-downgrade): management protocols that carry
//! credentials in cleartext; for TLS services the versions, suites, certificate and DH group
//! accepted; for SSH the algorithms offered.

use iotassure_core::finding::{Finding, Outcome, Severity, Source};

use super::unauth::HttpPaths;
use super::{ids, port_location, svc_location, Out, Tallied};
use crate::ctx::Ctx;
use crate::services::{ssh_id, Proto, Service};
use crate::tls::{self, hello};

const TRANSIT: [&str; 2] = ["5.5-1", "5.8-1"];

pub fn run(ctx: &Ctx<'_>, svc: &Service, label: &str, http: Option<&HttpPaths>, out: &mut Out) {
    if svc.udp {
        if svc.proto == Proto::Snmp {
            cleartext(
                ctx,
                svc,
                label,
                "SNMP v1/v2c: the community string (the password) and all data travel in cleartext",
                out,
            );
        }
        return;
    }
    match svc.proto {
        Proto::Telnet => cleartext(
            ctx,
            svc,
            label,
            "telnet: user names, passwords and the whole session travel in cleartext",
            out,
        ),
        Proto::Shell => cleartext(ctx, svc, label, "a cleartext shell session", out),
        Proto::Ftp => cleartext(
            ctx,
            svc,
            label,
            "FTP: USER/PASS and files travel in cleartext",
            out,
        ),
        Proto::Http if !svc.tls => {
            let login = svc.asks_password() || http.is_some_and(|h| !h.protected.is_empty());
            if login {
                let what = http
                    .and_then(|h| {
                        h.protected
                            .first()
                            .map(|p| format!("{} on {}", p.scheme, p.path))
                    })
                    .unwrap_or_else(|| "a login".into());
                cleartext(ctx, svc, label, &format!("HTTP without TLS asks for credentials ({what}): they travel in cleartext (Basic is base64, not encryption)"), out);
            } else if http.is_some_and(|h| h.redirects_to_https) {
                for p in TRANSIT {
                    out.tally(
                        p,
                        ids::TLS,
                        label,
                        Tallied::Pass(
                            "cleartext HTTP only redirects to HTTPS".into(),
                            Some(svc_location(ctx, svc)),
                        ),
                    );
                }
            } else {
                for p in TRANSIT {
                    out.tally(
                        p,
                        ids::TLS,
                        label,
                        Tallied::Undecided(
                            "cleartext HTTP; no login seen on it, but what it carries is not known"
                                .into(),
                        ),
                    );
                }
            }
        }
        Proto::Mqtt if !svc.tls => {
            let detail = match svc.mqtt_anonymous {
                Some(4) | Some(5) => "MQTT without TLS: the broker asks for a password, which then travels in cleartext with every message",
                _ => "MQTT without TLS: every message (device data, commands) travels in cleartext",
            };
            cleartext(ctx, svc, label, detail, out);
        }
        Proto::Rtsp => {
            if svc.banner.as_deref().is_some_and(|b| b.contains(" 401")) {
                cleartext(ctx, svc, label, "RTSP without TLS asks for credentials: they and the stream travel in cleartext", out);
            } else {
                for p in TRANSIT {
                    out.tally(
                        p,
                        ids::TLS,
                        label,
                        Tallied::Undecided("cleartext RTSP".into()),
                    );
                }
            }
        }
        Proto::Ssh => ssh_algorithms(ctx, svc, label, out),
        Proto::Unknown | Proto::Smtp | Proto::Coap => {
            for p in TRANSIT {
                out.tally(
                    p,
                    ids::TLS,
                    label,
                    Tallied::Undecided(format!(
                        "{}: whether it protects what it carries is not known",
                        svc.name()
                    )),
                );
            }
        }
        _ => {}
    }
    if svc.tls {
        tls_checks(ctx, svc, label, out);
    }
}

fn cleartext(ctx: &Ctx<'_>, svc: &Service, label: &str, why: &str, out: &mut Out) {
    // A login over cleartext is also authentication without best-practice cryptography (5.1-3)
    // and a critical security parameter sent unencrypted (5.5-6).
    let login = svc.proto != Proto::Shell
        && (svc.asks_password()
            || svc.proto == Proto::Snmp
            || why.contains("credentials")
            || why.contains("password"));
    let provs: &[&str] = if login {
        &["5.5-1", "5.5-7", "5.8-1", "5.1-3", "5.5-6"]
    } else {
        &["5.5-1", "5.5-7", "5.8-1"]
    };
    let f = Finding::new(ids::CLEARTEXT, provs, Outcome::Fail, Severity::High, Source::Device, format!("{} is a cleartext management channel", svc.label()))
        .detail(format!("{label}: {why}. EN 303 645 5.5-1 asks for best-practice cryptography on communications; 5.5-7 for confidentiality of critical security parameters over remotely accessible interfaces."))
        .evidence(svc_location(ctx, svc), svc.banner.clone().unwrap_or_default());
    out.fail(f, label);
}

fn ssh_algorithms(ctx: &Ctx<'_>, svc: &Service, label: &str, out: &mut Out) {
    let Some(k) = &svc.ssh else {
        for p in ["5.5-1", "TEC-5-no-downgrade"] {
            out.tally(
                p,
                ids::SSH_ALGS,
                label,
                Tallied::Undecided("SSH server sent no KEXINIT".into()),
            );
        }
        return;
    };
    let weak = ssh_id::weak_algorithms(k);
    let legacy: Vec<String> = k
        .macs
        .iter()
        .filter(|m| m.as_str() == "hmac-sha1")
        .map(|m| format!("mac {m}"))
        .chain(
            k.kex
                .iter()
                .filter(|m| m.as_str() == "diffie-hellman-group14-sha1")
                .map(|m| format!("kex {m}")),
        )
        .collect();
    let hard: Vec<&String> = weak.iter().filter(|w| !legacy.contains(w)).collect();
    if !hard.is_empty() {
        let f = Finding::new(ids::SSH_ALGS, &["5.5-1", "TEC-5-no-downgrade"], Outcome::Fail, Severity::Medium, Source::Device, format!("{} offers weak SSH algorithms: {}", svc.label(), hard.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")))
            .detail(format!("{label}: the server's KEXINIT (sent in the clear) lists algorithms that current guidance (RFC 9142, BSI TR-02102-4) rules out; a client or attacker can negotiate them."))
            .evidence(svc_location(ctx, svc), format!("kex {}; ciphers {}; macs {}", k.kex.join(","), k.ciphers.join(","), k.macs.join(",")));
        out.fail(f, label);
        return;
    }
    let why = format!(
        "SSH offers only current algorithms (kex {}; ciphers {}; macs {}){}",
        k.kex.join(","),
        k.ciphers.join(","),
        k.macs.join(","),
        if legacy.is_empty() {
            String::new()
        } else {
            format!("; legacy but not broken: {}", legacy.join(", "))
        }
    );
    out.tally(
        "5.5-1",
        ids::SSH_ALGS,
        label,
        Tallied::Pass(why.clone(), Some(svc_location(ctx, svc))),
    );
    out.tally(
        "TEC-5-no-downgrade",
        ids::SSH_ALGS,
        label,
        Tallied::Pass(why, Some(svc_location(ctx, svc))),
    );
}

pub fn tls_checks(ctx: &Ctx<'_>, svc: &Service, label: &str, out: &mut Out) {
    ctx.progress.note(&format!("TLS probe of {}", svc.label()));
    let r = tls::probe(ctx, svc.port);
    let loc = r
        .evidence
        .clone()
        .unwrap_or_else(|| port_location(ctx, svc, "TLS probe"));
    let mut failed = false;
    let weak_versions: Vec<&String> = r
        .versions
        .iter()
        .filter(|v| matches!(v.as_str(), "SSLv3" | "TLS 1.0" | "TLS 1.1"))
        .collect();
    if !weak_versions.is_empty() {
        failed = true;
        let f = Finding::new(tls::PROBE_ID, &["5.5-1", "5.8-1", "TEC-5-no-downgrade"], Outcome::Fail, Severity::High, Source::Device, format!("{} accepts {}", svc.label(), weak_versions.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")))
            .detail(format!(
                "{label}: the server answered a ClientHello offering only {} with a ServerHello of that version. SSLv3, TLS 1.0 and 1.1 are deprecated (RFC 8996); best practice is TLS 1.2 or 1.3 only. Versions accepted: {}.",
                weak_versions.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" / "),
                r.versions.join(", ")
            ))
            .evidence(loc.clone(), format!("accepted: {}", r.versions.join(", ")));
        out.fail(f, label);
    }
    let weak = r.weak_suites();
    if !weak.is_empty() {
        failed = true;
        let no_conf = weak.iter().any(|(_, s)| {
            s.flags
                .iter()
                .any(|f| matches!(*f, "NULL cipher" | "anonymous" | "EXPORT"))
        });
        let mut provs = vec!["5.5-1", "5.8-1", "TEC-5-no-downgrade"];
        if no_conf {
            provs.push("5.5-7");
        }
        let mut names: Vec<String> = weak
            .iter()
            .map(|(v, s)| format!("{} ({v}: {})", s.name, s.flags.join(", ")))
            .collect();
        let n = names.len();
        names.truncate(12);
        let f = Finding::new(tls::PROBE_ID, &provs, Outcome::Fail, if no_conf { Severity::Critical } else { Severity::High }, Source::Device, format!("{} accepts {n} weak cipher suite(s){}", svc.label(), if no_conf { " including NULL/anonymous/EXPORT" } else { "" }))
            .detail(format!("{label}: each was offered alone (with the others removed) and chosen by the server. {}{}", names.join("; "), if n > 12 { format!("; and {} more", n - 12) } else { String::new() }))
            .evidence(loc.clone(), format!("{n} weak suites accepted"));
        out.fail(f, label);
    }
    if let Some(c) = &r.cert {
        super::identity::tls(ctx, svc, label, c, out);
        let w = c.weaknesses();
        if !w.is_empty() {
            failed = true;
            let f = Finding::new(
                tls::PROBE_ID,
                &["5.5-1"],
                Outcome::Fail,
                Severity::Medium,
                Source::Device,
                format!("{} certificate falls short: {}", svc.label(), w.join("; ")),
            )
            .detail(format!("{label}: {}", c.summary()))
            .evidence(loc.clone(), c.summary());
            out.fail(f, label);
        }
        if c.self_signed {
            out.findings.push(
                Finding::new(tls::PROBE_ID, &["5.5-1"], Outcome::Info, Severity::Info, Source::Device, format!("{} uses a self-signed certificate", svc.label()))
                    .detail(format!("{label}: clients can only authenticate this service by pinning the certificate. {}", c.summary()))
                    .evidence(loc.clone(), c.summary()),
            );
        }
    }
    if let Some(bits) = r.dh_bits.filter(|b| *b < 2048) {
        failed = true;
        let f = Finding::new(tls::PROBE_ID, &["5.5-1", "TEC-5-no-downgrade"], Outcome::Fail, Severity::Medium, Source::Device, format!("{} uses a {bits}-bit DH group", svc.label()))
            .detail(format!("{label}: the DHE ServerKeyExchange carries a {bits}-bit prime; below 2048 bits is within reach of precomputation (Logjam)."))
            .evidence(loc.clone(), format!("DH prime {bits} bits"));
        out.fail(f, label);
    }
    if r.fallback_scsv_refused == Some(false) && !weak_versions.is_empty() {
        let f = Finding::new(tls::PROBE_ID, &["TEC-5-no-downgrade"], Outcome::Fail, Severity::Medium, Source::Device, format!("{} accepts a downgraded handshake (TLS_FALLBACK_SCSV ignored)", svc.label()))
            .detail(format!("{label}: a ClientHello for a lower version carrying TLS_FALLBACK_SCSV was answered instead of refused with inappropriate_fallback (RFC 7507), so an active attacker can push clients down to {}.", weak_versions.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("/")))
            .evidence(loc.clone(), "TLS_FALLBACK_SCSV accepted");
        out.fail(f, label);
    }
    let incomplete = r.incomplete.clone();
    let strong_key = r
        .cert
        .as_ref()
        .map(|c| c.weaknesses().is_empty())
        .unwrap_or(false);
    if !failed {
        if r.versions.is_empty() {
            for p in ["5.5-1", "5.8-1", "TEC-5-no-downgrade"] {
                out.tally(
                    p,
                    ids::TLS,
                    label,
                    Tallied::Undecided(
                        "no TLS version from SSLv3 to 1.3 was accepted with the suites offered"
                            .into(),
                    ),
                );
            }
        } else if let Some(why) = incomplete {
            for p in ["5.5-1", "5.8-1", "TEC-5-no-downgrade"] {
                out.tally(
                    p,
                    ids::TLS,
                    label,
                    Tallied::Undecided(format!("TLS probe incomplete: {why}")),
                );
            }
        } else if !strong_key {
            for p in ["5.5-1", "5.8-1", "TEC-5-no-downgrade"] {
                out.tally(
                    p,
                    ids::TLS,
                    label,
                    Tallied::Undecided(
                        "the certificate could not be read, so its key was not judged".into(),
                    ),
                );
            }
        } else {
            let legacy: Vec<String> = r
                .flagged_suites()
                .iter()
                .map(|(v, s)| format!("{} ({v}: {})", s.name, s.flags.join(", ")))
                .collect();
            let c = r.cert.as_ref().expect("strong_key implies a certificate");
            let why = format!(
                "TLS accepts only {}; {} suite(s), none NULL/anonymous/EXPORT/RC4/DES/3DES/MD5; certificate {} {} bits, {}{}{}",
                r.versions.join(" and "),
                r.suites.values().map(|v| v.len()).sum::<usize>(),
                c.key_type,
                c.key_bits,
                c.signature,
                r.dh_bits.map(|b| format!("; DH {b} bits")).unwrap_or_default(),
                if legacy.is_empty() { String::new() } else { format!("; flagged but not weak: {}", legacy.join(", ")) }
            );
            for p in ["5.5-1", "5.8-1", "TEC-5-no-downgrade"] {
                out.tally(
                    p,
                    ids::TLS,
                    label,
                    Tallied::Pass(why.clone(), Some(loc.clone())),
                );
            }
        }
    }
    let _ = hello::TLS13;
    out.tls.push(r);
}
