//! TS 103 701 5.4-3-2a: are the critical security parameters the IXIT lists hard-coded? Each
//! declared parameter (`ixit.security_parameters`) is held against what the evidence shows of it:
//! the private keys, host keys and tokens the firmware check found in the image
//! (`5.4-3-fw-keys`), and the keys two units presented (`5.4-3-dev-key-identity` with
//! `--other-unit`).
//!
//! The test asks whether each parameter is hard-coded, whatever the declaration says: one found
//! in the image is in every unit, so it FAILs, and the finding says whether that contradicts the
//! statement (declared per device or user-set) or the statement admits it (declared per model).
//! A parameter of a kind the key check recognises, absent from an image it read, PASSes; so does
//! one that two units present differently. What no check can show absent (passwords, "other",
//! a token not found) stays INCONCLUSIVE, and so does every key when the statement declares
//! nothing.

use iotassure_core::finding::{
    Finding, Location, Observations, Outcome, RunStatus, Severity, Source,
};
use iotassure_core::ixit::{ParameterKind, Provisioning, SecurityParameter};

use crate::statement::LoadedStatement;

pub const CHECK: &str = "5.4-3-ixit-provisioning";
const FW_KEYS: &str = "5.4-3-fw-keys";
const KEY_IDENTITY: &str = "5.4-3-dev-key-identity";
const PROV: &[&str] = &["5.4-3"];

/// What a key finding is, as far as the finding says: the kinds it can be, and its path.
struct Found<'a> {
    finding: &'a Finding,
    kinds: &'static [ParameterKind],
    path: Option<&'a str>,
}

fn path_of(f: &Finding) -> Option<&str> {
    f.evidence.iter().find_map(|e| match &e.location {
        Location::File { path, .. } => Some(path.as_str()),
        _ => None,
    })
}

/// The kinds a `5.4-3-fw-keys` FAIL can stand for. A PEM key cannot be told apart as TLS or
/// another use from its bytes; a path naming SSH or dropbear makes it a host key.
fn firmware_kinds(f: &Finding) -> &'static [ParameterKind] {
    use ParameterKind::*;
    let path = path_of(f).unwrap_or("").to_ascii_lowercase();
    let detail = f.detail.as_deref().unwrap_or("");
    if f.title.contains("host key") || path.contains("ssh") || path.contains("dropbear") {
        &[SshHostKey]
    } else if detail.contains("cloud credential") {
        &[Token]
    } else {
        &[TlsKey, PrivateKey]
    }
}

fn live_kinds(f: &Finding) -> &'static [ParameterKind] {
    if f.title.contains("host key") {
        &[ParameterKind::SshHostKey]
    } else if f.title.contains("certificate key") {
        &[ParameterKind::TlsKey]
    } else {
        &[]
    }
}

fn kind_name(k: ParameterKind) -> &'static str {
    match k {
        ParameterKind::SshHostKey => "SSH host key",
        ParameterKind::TlsKey => "TLS private key",
        ParameterKind::PrivateKey => "private key",
        ParameterKind::Token => "API token",
        ParameterKind::Password => "password",
        ParameterKind::Other => "parameter",
    }
}

/// The kinds the firmware key check recognises anywhere in an image it reads, by structure
/// (PEM, DER, dropbear and OpenSSH keys), so that their absence means something. Tokens are
/// found only in the formats of a table of providers: one missing may be in another format.
fn firmware_sees(k: ParameterKind) -> bool {
    matches!(
        k,
        ParameterKind::SshHostKey | ParameterKind::TlsKey | ParameterKind::PrivateKey
    )
}

fn ran(obs: &Observations, check: &str) -> Option<u64> {
    obs.checks.iter().find_map(|c| match c.status {
        RunStatus::Ran { examined } if c.check == check => Some(examined),
        _ => None,
    })
}

/// Judges the declared provisioning of every security parameter against `obs`; the findings
/// are returned, not added, so the caller decides where they go.
pub fn judge(statement: Option<&LoadedStatement>, obs: &Observations) -> Observations {
    let mut out = Observations::default();
    let fw_examined = ran(obs, FW_KEYS).filter(|n| *n > 0);
    let live_ran = ran(obs, KEY_IDENTITY).is_some();
    if fw_examined.is_none() && !live_ran {
        return out;
    }
    let source = if fw_examined.is_some() {
        Source::Firmware
    } else {
        Source::Device
    };
    let params = statement
        .map(|s| s.statement.ixit.security_parameters.as_slice())
        .unwrap_or_default();
    let in_image: Vec<Found<'_>> = obs
        .findings
        .iter()
        .filter(|f| {
            f.check == FW_KEYS
                && f.outcome == Outcome::Fail
                && f.provisions.iter().any(|p| p == "5.4-3")
        })
        .map(|f| Found {
            finding: f,
            kinds: firmware_kinds(f),
            path: path_of(f),
        })
        .collect();
    if params.is_empty() {
        out.findings.push(
            Finding::new(CHECK, PROV, Outcome::Inconclusive, Severity::Info, source,
                format!("no declared provisioning of security parameters to hold {} key(s) or token(s) against", in_image.len()))
            .detail(if statement.is_some() {
                "The statement's IXIT lists no security parameters (ixit.security_parameters: name, kind, provisioning per_device | per_model | user_set, path); TS 103 701 5.4-3-2a tests each declared one for being hard-coded."
            } else {
                "No conformance statement (--ics) was given, so no IXIT declares the security parameters (ixit.security_parameters); TS 103 701 5.4-3-2a tests each declared one for being hard-coded."
            }),
        );
        out.ran(CHECK, source, PROV, 0);
        return out;
    }
    let st = statement.expect("parameters come from a statement");
    let declared_at = |p: &SecurityParameter| Location::Statement {
        file: st.file.clone(),
        line: st.line_of(&p.name),
    };
    let mut claimed = vec![false; in_image.len()];
    for p in params {
        let decl = format!(
            "declared {} ({})",
            p.provisioning.as_str(),
            kind_name(p.kind)
        );
        let matches: Vec<usize> = in_image
            .iter()
            .enumerate()
            .filter(|(_, k)| match &p.path {
                Some(path) => k.path == Some(path.as_str()),
                None => k.kinds.contains(&p.kind),
            })
            .map(|(i, _)| i)
            .collect();
        if fw_examined.is_some() {
            if let Some(&first) = matches.first() {
                for &i in &matches {
                    claimed[i] = true;
                }
                let k = &in_image[first];
                let why = match p.provisioning {
                    Provisioning::PerDevice | Provisioning::UserSet => "The statement declares it unique to each unit or set by the user, but the image every unit receives holds it: the declaration is contradicted and the parameter is hard-coded.",
                    Provisioning::PerModel => "The statement itself declares it shared by every unit of the model, and the image holds it: a hard-coded critical security parameter, which 5.4-3 does not allow.",
                };
                let mut f = Finding::new(
                    CHECK,
                    PROV,
                    Outcome::Fail,
                    Severity::High,
                    Source::Firmware,
                    format!(
                        "{} ({decl}) is hard-coded in the image: {}",
                        p.name, k.finding.title
                    ),
                )
                .detail(format!("{why} {} match(es) in the image.", matches.len()));
                f.evidence.extend(k.finding.evidence.iter().cloned());
                out.findings
                    .push(f.evidence(declared_at(p), format!("{}: {decl}", p.name)));
            } else if let Some(path) = p.path.as_deref().filter(|path| {
                obs.findings.iter().any(|f| {
                    f.check == FW_KEYS
                        && f.outcome == Outcome::Info
                        && path_of(f) == Some(path)
                        && f.title.ends_with("empty key placeholder")
                })
            }) {
                out.findings.push(
                    Finding::new(CHECK, PROV, Outcome::Pass, Severity::Info, Source::Firmware,
                        format!("{} ({decl}) ships as an empty placeholder at {path}", p.name))
                    .detail("The image holds a 0-byte file where the parameter lives: each unit fills it (at manufacture or first boot), as declared.")
                    .evidence(declared_at(p), format!("{}: {decl}", p.name)),
                );
            } else if !firmware_sees(p.kind) {
                out.findings.push(
                    Finding::new(CHECK, PROV, Outcome::Inconclusive, Severity::Info, Source::Firmware,
                        format!("{} ({decl}): no firmware check can show that a {} is absent from an image", p.name, kind_name(p.kind)))
                    .detail("The key check recognises private keys and host keys by their structure, and API tokens only in the formats of known providers; passwords are judged under 5.1-1, and other parameters, or a token in another format, need a person to look.")
                    .evidence(declared_at(p), format!("{}: {decl}", p.name)),
                );
            } else if p.provisioning == Provisioning::PerModel {
                out.findings.push(
                    Finding::new(CHECK, PROV, Outcome::Inconclusive, Severity::Info, Source::Firmware,
                        format!("{} ({decl}) is not where the key check can see it", p.name))
                    .detail("The statement says it is the same in every unit, yet no key of its kind was found in the image: it may be held in a form the check does not read (encrypted, in a custom container, in another partition).")
                    .evidence(declared_at(p), format!("{}: {decl}", p.name)),
                );
            } else {
                out.findings.push(
                    Finding::new(CHECK, PROV, Outcome::Pass, Severity::Info, Source::Firmware,
                        format!("{} ({decl}) is not in the image", p.name))
                    .detail(format!(
                        "The key check read {} file(s) and blob(s) for PEM, DER, dropbear and OpenSSH keys and found no {}{}: it is not shipped in the image, as declared.",
                        fw_examined.unwrap_or(0),
                        kind_name(p.kind),
                        p.path.as_deref().map(|x| format!(" at {x}")).unwrap_or_default()
                    ))
                    .evidence(declared_at(p), format!("{}: {decl}", p.name)),
                );
            }
        }
        if live_ran {
            live(p, &decl, &declared_at(p), obs, &mut out);
        }
    }
    let undeclared: Vec<&str> = in_image
        .iter()
        .zip(&claimed)
        .filter(|(_, c)| !**c)
        .map(|(k, _)| k.finding.title.as_str())
        .collect();
    if fw_examined.is_some() && !undeclared.is_empty() {
        out.findings.push(
            Finding::new(
                CHECK,
                PROV,
                Outcome::Info,
                Severity::Info,
                Source::Firmware,
                format!(
                    "{} key(s) or token(s) in the image match no declared security parameter",
                    undeclared.len()
                ),
            )
            .detail(format!(
                "The IXIT should list every critical security parameter; not declared: {}.",
                undeclared
                    .iter()
                    .take(5)
                    .copied()
                    .collect::<Vec<_>>()
                    .join("; ")
            )),
        );
    }
    out.ran(CHECK, source, PROV, params.len() as u64);
    out
}

/// Two units' keys: the same on both is shared; different on both is per device.
fn live(
    p: &SecurityParameter,
    decl: &str,
    declared_at: &Location,
    obs: &Observations,
    out: &mut Observations,
) {
    let of_kind = |f: &&Finding| f.check == KEY_IDENTITY && live_kinds(f).contains(&p.kind);
    if let Some(f) = obs
        .findings
        .iter()
        .filter(of_kind)
        .find(|f| f.outcome == Outcome::Fail)
    {
        let mut n = Finding::new(
            CHECK,
            PROV,
            Outcome::Fail,
            Severity::High,
            f.source,
            format!("{} ({decl}) is the same on two units: {}", p.name, f.title),
        )
        .detail(match p.provisioning {
            Provisioning::PerModel => "Shared by every unit, as the statement declares: a hard-coded critical security parameter.",
            _ => "The statement declares it unique to each unit, but two units present the same key.",
        });
        n.evidence.extend(f.evidence.iter().cloned());
        out.findings
            .push(n.evidence(declared_at.clone(), format!("{}: {decl}", p.name)));
    } else if let Some(f) = obs
        .findings
        .iter()
        .filter(of_kind)
        .find(|f| f.outcome == Outcome::Info && f.title.contains("differs from the other unit"))
    {
        let (outcome, detail) = match p.provisioning {
            Provisioning::PerModel => (Outcome::Info, "The statement declares it shared per model, but the two units present different keys: the declaration is wrong, the keys are not hard-coded."),
            _ => (Outcome::Pass, "Two units of the model present different keys, as the declaration says."),
        };
        out.findings.push(
            Finding::new(
                CHECK,
                PROV,
                outcome,
                Severity::Info,
                f.source,
                format!("{} ({decl}) differs between two units", p.name),
            )
            .detail(detail)
            .evidence(declared_at.clone(), format!("{}: {decl}", p.name)),
        );
    }
}
