//! The device's own security.txt (RFC 9116, `/.well-known/security.txt`), fetched from each web
//! service. It is passed on to the document checks, which judge its fields (5.2-1).

use iotassure_core::finding::{Finding, Outcome, Severity, Source};

use super::{ids, Out};
use crate::ctx::Ctx;
use crate::services::{http, Service};

pub const PATH: &str = "/.well-known/security.txt";

pub fn run(ctx: &Ctx<'_>, svc: &Service, out: &mut Out) {
    let mut ex = ctx.exchange(ids::SECURITY_TXT, svc.port, svc.name());
    let Some(r) = http::fetch(ctx, &mut ex, svc.port, svc.tls, &http::Request::get(PATH)) else {
        return;
    };
    let text = r.body_text();
    let looks = r.status == 200
        && text.lines().any(|l| {
            let k = l
                .split(':')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            matches!(
                k.as_str(),
                "contact"
                    | "expires"
                    | "policy"
                    | "encryption"
                    | "acknowledgments"
                    | "preferred-languages"
                    | "canonical"
                    | "hiring"
            )
        });
    if !looks {
        return;
    }
    let host = ctx.opts.ip.to_string();
    let authority = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.clone()
    };
    let url = format!(
        "{}://{authority}:{}{PATH}",
        if svc.tls { "https" } else { "http" },
        svc.port
    );
    out.findings.push(
        Finding::new(
            ids::SECURITY_TXT,
            &["5.2-1"],
            Outcome::Info,
            Severity::Info,
            Source::Device,
            format!("{} serves a security.txt", svc.label()),
        )
        .detail(format!(
            "{url} ({} bytes) is judged with the published documents.",
            text.len()
        ))
        .evidence(ex.location(), crate::text::line(text.as_bytes(), 160)),
    );
    out.documents.push((url, text));
}
