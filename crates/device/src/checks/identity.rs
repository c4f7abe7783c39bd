//! Key identity (5.4-3, TS 103 701 5.4-3-2a): the SSH host key and the TLS certificate key a
//! device presents, as fingerprints. One unit alone cannot tell a per-device key from one baked
//! into every unit's firmware; two units of the same model can. With `--other-unit REPORT` (the
//! report of another unit), a fingerprint both present is a hard-coded key: FAIL.

use std::collections::BTreeMap;
use std::path::Path;

use iotassure_core::finding::{Finding, Location, Outcome, Severity, Source};
use serde::Deserialize;

use super::{ids, svc_location, Out};
use crate::ctx::Ctx;
use crate::services::Service;
use crate::ssh;

/// The keys another unit of the same model presented, read from its report.
#[derive(Debug, Clone, Default)]
pub struct OtherUnit {
    /// The report's device (or file name), for messages.
    pub name: String,
    /// Fingerprint → where that unit presented it (e.g. `ssh/22`).
    pub keys: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct ReportView {
    #[serde(default)]
    subject: serde_json::Value,
    #[serde(default)]
    findings: Vec<Finding>,
}

impl OtherUnit {
    /// Reads the key fingerprints from another unit's `report.json` (`probe` or `assess`).
    pub fn from_report(path: &Path) -> Result<OtherUnit, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let r: ReportView = serde_json::from_str(&text)
            .map_err(|e| format!("{}: not an iotassure report: {e}", path.display()))?;
        let name = r.subject["device"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| path.display().to_string());
        let u = OtherUnit::from_findings(name, &r.findings);
        if u.keys.is_empty() {
            return Err(format!(
                "{}: the report has no key fingerprints ({} findings): probe the other unit with this version of iotassure first",
                path.display(),
                ids::KEY_IDENTITY
            ));
        }
        Ok(u)
    }

    pub fn from_findings(name: String, findings: &[Finding]) -> OtherUnit {
        let mut keys = BTreeMap::new();
        for f in findings
            .iter()
            .filter(|f| f.check == ids::KEY_IDENTITY && f.outcome == Outcome::Info)
        {
            // The excerpt of the first evidence item is the fingerprint itself.
            if let Some(e) = f.evidence.first() {
                if e.excerpt.starts_with("SHA256:") {
                    let at = match &e.location {
                        Location::Network { port, protocol, .. } => format!("{protocol}/{port}"),
                        _ => String::new(),
                    };
                    keys.entry(e.excerpt.clone()).or_insert(at);
                }
            }
        }
        OtherUnit { name, keys }
    }
}

/// The SSH host key blob on `port` (one key exchange, no authentication), logged under `check`.
pub(crate) fn ssh_host_key(ctx: &Ctx<'_>, check: &str, port: u16) -> Option<Vec<u8>> {
    let mut ex = ctx.exchange(check, port, "ssh");
    let c = ctx.connect(&mut ex, port).ok()?;
    let s = ssh::Session::establish(c, &mut ex, ctx.opts.io_timeout).ok()?;
    let blob = s.host_key.clone();
    s.close();
    (!blob.is_empty()).then_some(blob)
}

/// The SSH host key: one key exchange, no authentication.
pub fn ssh(ctx: &Ctx<'_>, svc: &Service, label: &str, out: &mut Out) {
    let mut ex = ctx.exchange(ids::KEY_IDENTITY, svc.port, "ssh");
    let Ok(c) = ctx.connect(&mut ex, svc.port) else {
        return;
    };
    let Ok(s) = ssh::Session::establish(c, &mut ex, ctx.opts.io_timeout) else {
        return;
    };
    let blob = s.host_key.clone();
    s.close();
    if blob.is_empty() {
        return;
    }
    let kind = blob
        .get(4..)
        .and_then(|b| {
            let n = u32::from_be_bytes(blob.get(..4)?.try_into().ok()?) as usize;
            std::str::from_utf8(b.get(..n)?).ok()
        })
        .unwrap_or("ssh")
        .to_string();
    let fp = crate::text::fingerprint(&blob);
    ex.note(format!("host key {kind} {fp}"));
    record(ctx, svc, label, "host key", &kind, &fp, ex.location(), out);
}

/// The TLS certificate's public key (from the TLS probe's certificate).
pub fn tls(
    ctx: &Ctx<'_>,
    svc: &Service,
    label: &str,
    cert: &crate::tls::cert::CertInfo,
    out: &mut Out,
) {
    let kind = format!("{}-{}", cert.key_type, cert.key_bits);
    let loc = svc_location(ctx, svc);
    record(
        ctx,
        svc,
        label,
        "certificate key",
        &kind,
        &cert.key_fingerprint,
        loc,
        out,
    );
}

#[allow(clippy::too_many_arguments)]
fn record(
    ctx: &Ctx<'_>,
    svc: &Service,
    label: &str,
    what: &str,
    kind: &str,
    fp: &str,
    loc: Location,
    out: &mut Out,
) {
    out.findings.push(
        Finding::new(
            ids::KEY_IDENTITY,
            &["5.4-3"],
            Outcome::Info,
            Severity::Info,
            Source::Device,
            format!("{} {what}: {kind} {fp}", svc.label()),
        )
        .detail(format!(
            "{label}: compare with another unit of the same model (`--other-unit REPORT`): the same fingerprint there means the key ships in every unit's firmware."
        ))
        .evidence(loc.clone(), fp.to_string()),
    );
    let Some(other) = &ctx.opts.other_unit else {
        return;
    };
    if let Some(at) = other.keys.get(fp) {
        let f = Finding::new(
            ids::KEY_IDENTITY,
            &["5.4-3", "5.4-1"],
            Outcome::Fail,
            Severity::High,
            Source::Device,
            format!(
                "{} {what} is the same on another unit ({}): a key shared by every unit",
                svc.label(),
                other.name
            ),
        )
        .detail(format!(
            "{label}: {kind} {fp}; the other unit presented the same key{}. Whoever extracts it from one device (or from the firmware) can impersonate or decrypt every other.",
            if at.is_empty() { String::new() } else { format!(" on {at}") }
        ))
        .evidence(loc, fp.to_string());
        out.fail(f, label);
    } else {
        out.findings.push(
            Finding::new(
                ids::KEY_IDENTITY,
                &["5.4-3"],
                Outcome::Info,
                Severity::Info,
                Source::Device,
                format!(
                    "{} {what} differs from the other unit's keys ({})",
                    svc.label(),
                    other.name
                ),
            )
            .detail(format!(
                "{label}: {fp} is not among the {} key(s) of {}: a per-device key, as far as two units show.",
                other.keys.len(),
                other.name
            )),
        );
    }
}
