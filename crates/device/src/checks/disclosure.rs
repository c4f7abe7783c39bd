//! Unauthenticated disclosure of security-relevant information (5.6-2): software versions in
//! banners, headers and discovery replies, which let anyone match the device against known
//! vulnerabilities without logging in.

use iotassure_core::finding::{Finding, Outcome, Severity, Source};

use super::{ids, svc_location, Out, Tallied};
use crate::ctx::Ctx;
use crate::services::{Proto, Service};

pub fn run(ctx: &Ctx<'_>, svc: &Service, label: &str, out: &mut Out) {
    let versions: Vec<_> = svc
        .disclosed
        .iter()
        .filter(|d| d.version.is_some())
        .collect();
    for d in &versions {
        let f = Finding::new(
            ids::BANNERS,
            &["5.6-2"],
            Outcome::Fail,
            Severity::Low,
            Source::Device,
            format!("{} discloses its software version without authentication: {}", svc.label(), d.version.clone().unwrap_or_default()),
        )
        .detail(format!("{label} sends `{}` in its {} to anyone who connects. A version lets an attacker pick known exploits without logging in (EN 303 645 5.6-2).", d.value, d.field))
        .evidence(d.location.clone().unwrap_or_else(|| svc_location(ctx, svc)), format!("{}: {}", d.field, d.value));
        out.fail(f, label);
    }
    if !versions.is_empty() {
        return;
    }
    match svc.proto {
        Proto::Unknown | Proto::Tls => out.tally(
            "5.6-2",
            ids::BANNERS,
            label,
            Tallied::Undecided(svc.note.clone().unwrap_or_else(|| {
                "the service was not identified, so what it discloses was not judged".into()
            })),
        ),
        _ => {
            let seen: Vec<String> = svc
                .disclosed
                .iter()
                .map(|d| format!("{}: {}", d.field, d.value))
                .collect();
            let why = if seen.is_empty() {
                format!(
                    "identified as {}; it shows no software version before login",
                    svc.name()
                )
            } else {
                format!(
                    "identified as {}; what it shows before login carries no version ({})",
                    svc.name(),
                    seen.join("; ")
                )
            };
            out.tally(
                "5.6-2",
                ids::BANNERS,
                label,
                Tallied::Pass(why, Some(svc_location(ctx, svc))),
            );
        }
    }
}
