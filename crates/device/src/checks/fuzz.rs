//! Input validation (5.13-1), opt-in: a fixed, bounded set of malformed inputs per service
//! (HTTP request line, headers, parameters; MQTT packets and topics; telnet login input; SSH
//! identification and binary packets; RTSP requests; FTP commands). After each, a liveness
//! check: a service that stops answering has crashed. HTTP replies are also checked for
//! reflected input and for 5xx storms. Services with no case set are named as not tested.

use std::time::Duration;

use iotassure_core::finding::{Finding, Outcome, Severity, Source};

use super::unauth::HttpPaths;
use super::{ids, Out, Tallied};
use crate::ctx::Ctx;
use crate::log::Exchange;
use crate::services::{http, mqtt, telnet, Proto, Service};

pub fn supported(svc: &Service) -> bool {
    matches!(
        svc.proto,
        Proto::Http | Proto::Mqtt | Proto::Telnet | Proto::Ssh | Proto::Rtsp | Proto::Ftp
    )
}

/// Malformed SSH: the identification line and the binary packet layer, before any key
/// exchange (nothing reaches authentication).
pub fn ssh_cases() -> Vec<Case> {
    let ident = crate::services::ssh_id::client_ident();
    let with_ident = |tail: &[u8]| [format!("{ident}\r\n").into_bytes(), tail.to_vec()].concat();
    // A KEXINIT whose first name-list claims 2 GiB.
    let mut kex = vec![0, 0, 0, 40, 4, 20];
    kex.extend_from_slice(&[0x41; 16]);
    kex.extend_from_slice(&0x7fff_ffffu32.to_be_bytes());
    kex.extend_from_slice(b"curve25519-sha256");
    vec![
        Case {
            name: "identification line of 64 KiB without a newline".into(),
            bytes: [b"SSH-2.0-".to_vec(), vec![b'A'; 65536]].concat(),
        },
        Case {
            name: "format strings in the identification".into(),
            bytes: b"SSH-2.0-%n%n%s%s%x%x\r\n".to_vec(),
        },
        Case {
            name: "SSH protocol 1.5 identification".into(),
            bytes: b"SSH-1.5-iotassure\r\n".to_vec(),
        },
        Case {
            name: "packet length 0xfffffff0".into(),
            bytes: with_ident(&[0xff, 0xff, 0xff, 0xf0, 4, 20, 0, 0, 0, 0]),
        },
        Case {
            name: "padding longer than the packet".into(),
            bytes: with_ident(&[0, 0, 0, 12, 255, 20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]),
        },
        Case {
            name: "KEXINIT name-list of 2 GiB".into(),
            bytes: with_ident(&kex),
        },
        Case {
            name: "256 NUL bytes".into(),
            bytes: vec![0; 256],
        },
    ]
}

pub fn rtsp_cases(host: &str, port: u16) -> Vec<Case> {
    let req = |method: &str, uri: &str, extra: &str| {
        format!("{method} {uri} RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: iotassure-fuzz\r\n{extra}\r\n")
            .into_bytes()
    };
    let base = format!("rtsp://{host}:{port}");
    vec![
        Case {
            name: "8 KiB URI".into(),
            bytes: req("OPTIONS", &format!("{base}/{}", "A".repeat(8192)), ""),
        },
        Case {
            name: "format strings in the URI".into(),
            bytes: req("DESCRIBE", &format!("{base}/%n%n%s%s%x"), ""),
        },
        Case {
            name: "CSeq not a number".into(),
            bytes: format!("OPTIONS {base}/ RTSP/1.0\r\nCSeq: -1%n\r\n\r\n").into_bytes(),
        },
        Case {
            name: "Content-Length 2^63".into(),
            bytes: req(
                "ANNOUNCE",
                &format!("{base}/"),
                "Content-Length: 9223372036854775808\r\n",
            ),
        },
        Case {
            name: "traversal in the URI".into(),
            bytes: req("DESCRIBE", &format!("{base}/../../../../etc/passwd"), ""),
        },
        Case {
            name: "unknown method and version".into(),
            bytes: b"FROB * RTSP/9.9\r\n\r\n".to_vec(),
        },
    ]
}

pub fn ftp_cases() -> Vec<Case> {
    vec![
        Case {
            name: "user name of 4 KiB".into(),
            bytes: [b"USER ".to_vec(), vec![b'A'; 4096], b"\r\n".to_vec()].concat(),
        },
        Case {
            name: "format string user name".into(),
            bytes: b"USER %n%n%s%s%x\r\n".to_vec(),
        },
        Case {
            name: "commands before login".into(),
            bytes:
                b"PASV\r\nPORT 999,999,999,999,999,999\r\nCWD ../../../..\r\nRETR /etc/passwd\r\n"
                    .to_vec(),
        },
        Case {
            name: "command line without CRLF, 16 KiB".into(),
            bytes: vec![b'X'; 16384],
        },
        Case {
            name: "control and high bytes".into(),
            bytes: (0u8..=255).chain(*b"\r\n").collect(),
        },
    ]
}

/// A malformed input: its name and the exact bytes sent.
pub struct Case {
    pub name: String,
    pub bytes: Vec<u8>,
}

pub fn http_cases(host: &str) -> Vec<Case> {
    let req = |line: &str, extra: &str| {
        format!("{line}\r\nHost: {host}\r\nUser-Agent: iotassure-fuzz\r\nConnection: close\r\n{extra}\r\n").into_bytes()
    };
    let mut v = vec![
        Case {
            name: "URI of 8 KiB".into(),
            bytes: req(&format!("GET /{} HTTP/1.1", "A".repeat(8192)), ""),
        },
        Case {
            name: "header of 16 KiB".into(),
            bytes: req(
                "GET / HTTP/1.1",
                &format!("X-Iotassure: {}\r\n", "A".repeat(16384)),
            ),
        },
        Case {
            name: "NUL byte in the path".into(),
            bytes: req("GET /\0index HTTP/1.1", ""),
        },
        Case {
            name: "control bytes in the method".into(),
            bytes: req("G\x01\x7fT / HTTP/1.1", ""),
        },
        Case {
            name: "HTTP version 9.9".into(),
            bytes: req("GET / HTTP/9.9", ""),
        },
        Case {
            name: "format string in the path".into(),
            bytes: req("GET /%n%n%n%s%s%s%x%x HTTP/1.1", ""),
        },
        Case {
            name: "path traversal".into(),
            bytes: req("GET /../../../../../../../../etc/passwd HTTP/1.1", ""),
        },
        Case {
            name: "encoded path traversal".into(),
            bytes: req(
                "GET /..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd HTTP/1.1",
                "",
            ),
        },
        Case {
            name: "broken percent-encoding".into(),
            bytes: req("GET /%zz%%%G0 HTTP/1.1", ""),
        },
        Case {
            name: "negative Content-Length".into(),
            bytes: req("POST / HTTP/1.1", "Content-Length: -1\r\n"),
        },
        Case {
            name: "invalid chunk size".into(),
            bytes: [
                req("POST / HTTP/1.1", "Transfer-Encoding: chunked\r\n"),
                b"zz\r\nAAAA\r\n0\r\n\r\n".to_vec(),
            ]
            .concat(),
        },
        Case {
            name: "300 headers".into(),
            bytes: req(
                "GET / HTTP/1.1",
                &(0..300)
                    .map(|i| format!("X-H{i}: {i}\r\n"))
                    .collect::<String>(),
            ),
        },
        Case {
            name: "header without colon".into(),
            bytes: req("GET / HTTP/1.1", "NoColonHere\r\n"),
        },
        Case {
            name: "bare LF line endings".into(),
            bytes: format!("GET / HTTP/1.1\nHost: {host}\nConnection: close\n\n").into_bytes(),
        },
    ];
    v.truncate(32);
    v
}

/// Parameters whose reflection is checked: the marker with HTML-significant characters.
pub fn reflection_paths(params: &[(String, String)], marker: &str) -> Vec<String> {
    let mut v: Vec<String> = params
        .iter()
        .take(6)
        .map(|(p, k)| format!("{p}?{}=%3C{marker}%22%27%3E", http::urlencode(k)))
        .collect();
    v.push(format!("/?q=%3C{marker}%22%27%3E"));
    v.push(format!("/%3C{marker}%22%27%3E"));
    v.dedup();
    v
}

pub fn mqtt_cases() -> Vec<Case> {
    let mut bad_name = mqtt::connect("iotassure-fz", None);
    if let Some(i) = bad_name.windows(4).position(|w| w == b"MQTT") {
        bad_name[i + 3] = b'X';
    }
    let mut bad_utf8 = mqtt::connect("iotassure-fz", None);
    let n = bad_utf8.len();
    bad_utf8[n - 2] = 0xc0;
    bad_utf8[n - 1] = 0xaf;
    vec![
        Case {
            name: "CONNECT with protocol name MQTX".into(),
            bytes: bad_name,
        },
        Case {
            name: "remaining length of 5 bytes".into(),
            bytes: vec![0x10, 0xff, 0xff, 0xff, 0xff, 0x7f],
        },
        Case {
            name: "client id with invalid UTF-8".into(),
            bytes: bad_utf8,
        },
        Case {
            name: "client id of 60 KiB".into(),
            bytes: mqtt::connect(&"A".repeat(60_000), None),
        },
        Case {
            name: "reserved packet type 0".into(),
            bytes: vec![0x00, 0x00],
        },
        Case {
            name: "reserved packet type 15".into(),
            bytes: vec![0xf0, 0x00],
        },
        Case {
            name: "PUBLISH before CONNECT, wildcard topic".into(),
            bytes: mqtt::publish(b"iotassure/#", b"x"),
        },
        Case {
            name: "CONNECT then PUBLISH to a wildcard topic".into(),
            bytes: [
                mqtt::connect("iotassure-fz2", None),
                mqtt::publish(b"a/+/#", b"x"),
            ]
            .concat(),
        },
        Case {
            name: "CONNECT then PUBLISH with NUL in the topic".into(),
            bytes: [
                mqtt::connect("iotassure-fz3", None),
                mqtt::publish(b"a\0b", b"x"),
            ]
            .concat(),
        },
        Case {
            name: "CONNECT then SUBSCRIBE to an empty filter".into(),
            bytes: [
                mqtt::connect("iotassure-fz4", None),
                mqtt::subscribe(7, &[""]),
            ]
            .concat(),
        },
    ]
}

pub fn telnet_cases() -> Vec<Case> {
    vec![
        Case {
            name: "user name of 4 KiB".into(),
            bytes: [vec![b'A'; 4096], b"\r\n".to_vec()].concat(),
        },
        Case {
            name: "format string user name".into(),
            bytes: b"%n%n%n%s%s%s%x\r\n".to_vec(),
        },
        Case {
            name: "control bytes".into(),
            bytes: (0u8..32).chain([0x7f, b'\r', b'\n']).collect(),
        },
        Case {
            name: "unterminated subnegotiation".into(),
            bytes: vec![0xff, 0xfa, 0x18, 0x00, b'A', b'B', b'C', b'\r', b'\n'],
        },
        Case {
            name: "256 option requests".into(),
            bytes: (0..=255u8).flat_map(|o| [0xff, 0xfd, o]).collect(),
        },
    ]
}

/// Is the service still answering?
fn alive(ctx: &Ctx<'_>, svc: &Service, ex: &mut Exchange<'_>) -> bool {
    for wait in [0u64, 1000, 2000] {
        std::thread::sleep(Duration::from_millis(wait));
        let ok = match svc.proto {
            Proto::Http => {
                http::fetch(ctx, ex, svc.port, svc.tls, &http::Request::get("/")).is_some()
            }
            Proto::Mqtt => ctx.open(ex, svc.port, svc.tls).ok().is_some_and(|mut c| {
                let _ = c.send_as(
                    ex,
                    &mqtt::connect("iotassure-live", None),
                    "MQTT CONNECT (liveness)",
                );
                let a = c.read_until_quiet(ex, ctx.opts.io_timeout, |b| b.len() >= 4);
                c.close();
                mqtt::connack(&a).is_some()
            }),
            Proto::Ssh | Proto::Ftp => ctx.connect(ex, svc.port).ok().is_some_and(|mut c| {
                let b = c.read_until(ex, ctx.opts.io_timeout, |b| b.contains(&b'\n'));
                c.close();
                if svc.proto == Proto::Ssh {
                    b.starts_with(b"SSH-")
                } else {
                    b.starts_with(b"220")
                }
            }),
            Proto::Rtsp => ctx.connect(ex, svc.port).ok().is_some_and(|mut c| {
                let _ = c.send_as(
                    ex,
                    format!(
                        "OPTIONS rtsp://{}:{}/ RTSP/1.0\r\nCSeq: 2\r\nUser-Agent: iotassure\r\n\r\n",
                        ctx.opts.ip, svc.port
                    )
                    .as_bytes(),
                    "RTSP OPTIONS (liveness)",
                );
                let b = c.read_until(ex, ctx.opts.io_timeout, |b| http::find(b, b"\r\n\r\n").is_some());
                c.close();
                b.starts_with(b"RTSP/")
            }),
            _ => ctx.connect(ex, svc.port).ok().is_some_and(|c| {
                let mut s = telnet::Session::new(c);
                let t = s.read_prompt(ex, ctx.opts.io_timeout);
                s.conn.close();
                !t.is_empty()
            }),
        };
        if ok {
            return true;
        }
    }
    false
}

/// A service with no malformed-input cases: named, so 5.13-1 cannot pass over it.
pub fn not_covered(svc: &Service, label: &str, out: &mut Out) {
    out.tally(
        "5.13-1",
        ids::FUZZ,
        label,
        Tallied::Undecided(format!(
            "no malformed-input cases for {} here: its input validation is not tested",
            svc.name()
        )),
    );
}

pub fn run(ctx: &Ctx<'_>, svc: &Service, label: &str, hp: Option<&HttpPaths>, out: &mut Out) {
    let mut ex = ctx.exchange(ids::FUZZ, svc.port, svc.name());
    let host = ctx.opts.ip.to_string();
    let cases = match svc.proto {
        Proto::Http => http_cases(&host),
        Proto::Mqtt => mqtt_cases(),
        Proto::Ssh => ssh_cases(),
        Proto::Rtsp => rtsp_cases(&host, svc.port),
        Proto::Ftp => ftp_cases(),
        _ => telnet_cases(),
    };
    let mut statuses: Vec<(String, String)> = Vec::new();
    let mut crashed: Option<String> = None;
    let mut traversal = false;
    let mut server_errors = 0;
    for case in &cases {
        if ctx.deadline.expired() {
            break;
        }
        let Ok(mut c) = ctx.open(&mut ex, svc.port, svc.tls) else {
            crashed = Some(format!("connections refused before case `{}`", case.name));
            break;
        };
        if matches!(svc.proto, Proto::Telnet | Proto::Ssh | Proto::Ftp) {
            // Speakers first: their greeting, then the case.
            let _ = c.read_chunk(ctx.opts.banner_wait);
        }
        let _ = c.send_as(
            &mut ex,
            &case.bytes,
            &format!("fuzz case `{}` ({} bytes)", case.name, case.bytes.len()),
        );
        let reply = c.read_until_quiet(&mut ex, ctx.opts.io_timeout, |b| {
            if svc.proto == Proto::Http {
                http::complete(b)
            } else {
                b.len() > 64 << 10
            }
        });
        let closed = c.eof;
        c.close();
        let what = match svc.proto {
            Proto::Http => match http::parse(&reply) {
                Some(r) => {
                    if r.status >= 500 {
                        server_errors += 1;
                    }
                    if case.name.contains("traversal")
                        && r.status == 200
                        && r.body_text().contains("root:")
                    {
                        traversal = true;
                    }
                    format!("{}", r.status)
                }
                None if reply.is_empty() => {
                    if closed {
                        "closed".into()
                    } else {
                        "no reply".into()
                    }
                }
                None => "non-HTTP reply".into(),
            },
            _ => {
                if closed {
                    "closed".into()
                } else {
                    format!("{} bytes, still open", reply.len())
                }
            }
        };
        ex.note(format!("case `{}`: {what}", case.name));
        statuses.push((case.name.clone(), what));
        if !alive(ctx, svc, &mut ex) {
            crashed = Some(format!("after case `{}`", case.name));
            break;
        }
    }
    // Reflection (HTTP only).
    let mut reflected = Vec::new();
    if svc.proto == Proto::Http && crashed.is_none() {
        let marker = crate::text::marker();
        let params = hp.map(|h| h.params.clone()).unwrap_or_default();
        for path in reflection_paths(&params, &marker) {
            if let Some(r) =
                http::fetch(ctx, &mut ex, svc.port, svc.tls, &http::Request::get(&path))
            {
                if r.body_text().contains(&format!("<{marker}\"'>")) {
                    reflected.push(path);
                }
            }
        }
    }
    let loc = ex.location();
    let summary = statuses
        .iter()
        .map(|(n, s)| format!("{n}: {s}"))
        .collect::<Vec<_>>()
        .join("; ");
    let mut failed = false;
    if let Some(when) = &crashed {
        failed = true;
        let f = Finding::new(ids::FUZZ, &["5.13-1"], Outcome::Fail, Severity::High, Source::Device, format!("{} stopped answering on malformed input ({when})", svc.label()))
            .detail(format!("{label}: after the malformed input the service no longer answered a normal request (three tries over 3 s). Cases so far: {summary}"))
            .evidence(loc.clone(), format!("crash {when}"));
        out.fail(f, label);
    }
    if traversal {
        failed = true;
        let f = Finding::new(
            ids::FUZZ,
            &["5.13-1", "5.5-4"],
            Outcome::Fail,
            Severity::Critical,
            Source::Device,
            format!(
                "{} serves files outside its web root (path traversal)",
                svc.label()
            ),
        )
        .detail(format!(
            "{label}: a request for ../../etc/passwd returned the password file."
        ))
        .evidence(loc.clone(), "root: in reply to ../../etc/passwd");
        out.fail(f, label);
    }
    if !reflected.is_empty() {
        failed = true;
        let f = Finding::new(ids::FUZZ, &["5.13-1"], Outcome::Fail, Severity::Medium, Source::Device, format!("{} reflects input unescaped: {}", svc.label(), reflected[0]))
            .detail(format!("{label}: a marker with < \" ' > sent in {} came back unescaped in the page (cross-site scripting).", reflected.join(", ")))
            .evidence(loc.clone(), format!("reflected: {}", reflected.join(", ")));
        out.fail(f, label);
    }
    if svc.proto == Proto::Http && server_errors >= 3 && server_errors * 2 >= statuses.len() {
        failed = true;
        let f = Finding::new(ids::FUZZ, &["5.13-1"], Outcome::Fail, Severity::Medium, Source::Device, format!("{} answers malformed input with server errors ({server_errors} of {})", svc.label(), statuses.len()))
            .detail(format!("{label}: 5xx replies mean the input reached code that failed on it rather than being rejected. {summary}"))
            .evidence(loc.clone(), format!("{server_errors} x 5xx"))
            .heuristic();
        out.fail(f, label);
    }
    if !failed {
        if statuses.len() == cases.len() {
            out.tally("5.13-1", ids::FUZZ, label, Tallied::Pass(format!("bounded case set ({} cases, fixed malformed inputs, not coverage-guided fuzzing): all rejected or handled and the service kept answering{}: {summary}", statuses.len(), if svc.proto == Proto::Http { ", no input reflected" } else { "" }), Some(loc)));
        } else {
            out.tally(
                "5.13-1",
                ids::FUZZ,
                label,
                Tallied::Undecided(format!(
                    "only {} of {} cases ran (time budget)",
                    statuses.len(),
                    cases.len()
                )),
            );
        }
    }
}
