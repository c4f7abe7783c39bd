//! Hard-coded credentials outside the account files (5.1-1, 5.1-2, 5.4-3): `telnetd -u
//! user:pass` (with the value resolved when a script reads it from a file or nvram), nvram
//! default tables, XML default configurations, web-server auth files, Wi-Fi passphrases, MQTT
//! credentials, and password-like strings in microcontroller images.
//!
//! A value stored in the image is the same in every unit (a universal default). A value read
//! at run time from a per-unit source (factory partition, MAC, serial number) may be unique,
//! and is reported as undecided with that source.

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use iotassure_core::facts::{FactKey, InferredFact};
use iotassure_core::finding::{Evidence, Finding, Observations, Outcome, Severity, Source};
use iotassure_core::tree::BlobKind;

use super::Check;
use crate::crack::{self, CrackResult, HashKind};
use crate::nvram;
use crate::text::{excerpt, strip_comment};
use crate::{Ctx, FileRec, Root};

pub const CHECK: Check = Check {
    id: "5.1-1-fw-credentials",
    provisions: &["5.1-1", "5.1-2", "5.4-3"],
    run,
};

pub(super) const PROVS: &[&str] = &["5.1-1", "5.1-2", "5.4-3"];

fn run(ctx: &Ctx<'_>, obs: &mut Observations) {
    let mut examined = 0u64;
    for root in &ctx.roots {
        for f in &root.files {
            if f.data.len() > 4 << 20 {
                continue;
            }
            examined += 1;
            if f.is_text() {
                let text = String::from_utf8_lossy(&f.data);
                telnetd_user(ctx, root, f, &text, obs);
                if is_http_auth_file(&f.path) {
                    http_auth(ctx, root, f, &text, obs);
                }
                wifi_and_mqtt(root, f, &text, obs);
            } else if f.elf.is_some() {
                binary_strings(root, f, obs);
                super::bin_defaults::scan(ctx, root, f, obs);
            }
            if f.path.starts_with("/etc/")
                && (f.base().ends_with(".xml") || f.base().ends_with(".gz"))
            {
                xml_defaults(root, f, obs);
            }
        }
        nvram_defaults(ctx, root, obs);
    }
    for b in &ctx.blobs {
        if b.blob.kind == BlobKind::McuFirmware {
            examined += 1;
            super::mcu_strings::scan(ctx, &b.data, &b.blob.provenance, b.blob.base_address, obs);
        }
    }
    obs.ran(CHECK.id, Source::Firmware, CHECK.provisions, examined);
}

fn push_fact(obs: &mut Observations, ev: &Evidence, key: FactKey, reason: &str) {
    if !obs.facts.iter().any(|f| f.key == key && f.value) {
        obs.facts.push(InferredFact {
            key,
            value: true,
            reason: reason.to_string(),
            evidence: vec![ev.clone()],
        });
    }
}

pub(super) fn credential_facts(obs: &mut Observations, ev: &Evidence) {
    push_fact(
        obs,
        ev,
        FactKey::PasswordsUsed,
        "a fixed credential is configured in the image",
    );
    push_fact(
        obs,
        ev,
        FactKey::PreinstalledPasswords,
        "a credential ships in the image",
    );
    push_fact(
        obs,
        ev,
        FactKey::UserAuthentication,
        "a login with a credential is configured",
    );
}

/// Where a shell value comes from.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    /// A literal in the image (universal), with where it was read.
    Literal(String, Option<(String, u32)>),
    /// Read at run time from something not in the image.
    Runtime(String),
}

/// Resolves `$name` / `${name}` in a script: the last assignment before `before_line`.
fn resolve_var(root: &Root<'_>, text: &str, name: &str, before_line: usize) -> Option<Value> {
    let mut found = None;
    for (i, line) in text.lines().enumerate().take(before_line) {
        let code = strip_comment(line).trim();
        let code = code.strip_prefix("local ").unwrap_or(code);
        let code = code.strip_prefix("export ").unwrap_or(code);
        let Some(rhs) = code.strip_prefix(name).and_then(|r| r.strip_prefix('=')) else {
            continue;
        };
        let rhs = rhs.trim().trim_end_matches(';');
        let inner = rhs
            .strip_prefix('`')
            .and_then(|r| r.strip_suffix('`'))
            .or_else(|| rhs.strip_prefix("$(").and_then(|r| r.strip_suffix(')')));
        found = Some(match inner {
            Some(cmd) => {
                let words: Vec<&str> = cmd.split_whitespace().collect();
                match words.as_slice() {
                    ["cat", file] if file.starts_with('/') => match root.text(file) {
                        Some((fr, t)) => Value::Literal(
                            t.lines().next().unwrap_or("").trim().to_string(),
                            Some((fr.path.clone(), 1)),
                        ),
                        None if root.exists(file) => {
                            Value::Runtime(format!("{file} (not readable)"))
                        }
                        None => Value::Runtime(format!("{file}, made at run time")),
                    },
                    ["nvram", "get", key] => Value::Runtime(format!("nvram {key}")),
                    _ => Value::Runtime(format!("the output of `{cmd}`")),
                }
            }
            None => Value::Literal(
                rhs.trim_matches(['"', '\'']).to_string(),
                Some((String::new(), i as u32 + 1)),
            ),
        });
    }
    found
}

/// `telnetd … -u user:pass`: a fixed telnet login (busybox-derived telnetd of many vendors).
fn telnetd_user(
    ctx: &Ctx<'_>,
    root: &Root<'_>,
    f: &FileRec<'_>,
    text: &str,
    obs: &mut Observations,
) {
    if memchr::memmem::find(&f.data, b"telnetd").is_none() {
        return;
    }
    for (i, line) in text.lines().enumerate() {
        let code = strip_comment(line);
        if !code.contains("telnetd") {
            continue;
        }
        let words: Vec<&str> = code.split_whitespace().collect();
        let Some(pos) = words.iter().position(|w| *w == "-u") else {
            continue;
        };
        let Some(cred) = words.get(pos + 1) else {
            continue;
        };
        let cred = cred.trim_matches(['"', '\'']);
        let Some((user, pass)) = cred.split_once(':') else {
            continue;
        };
        let loc = root.location(&f.path, Some(i as u32 + 1), None);
        let mut f_out;
        let value = if let Some(var) = pass.strip_prefix('$') {
            let var = var.trim_start_matches('{').trim_end_matches('}');
            resolve_var(root, text, var, i)
        } else {
            Some(Value::Literal(pass.to_string(), None))
        };
        match value {
            Some(Value::Literal(v, src)) => {
                let from = match &src {
                    Some((p, n)) if !p.is_empty() => format!(", the password read from {p}:{n}"),
                    _ => String::new(),
                };
                f_out = Finding::new(CHECK.id, PROVS, Outcome::Fail, Severity::Critical, Source::Firmware,
                    format!("telnet login with a fixed credential: {user} / \"{v}\""))
                    .detail(format!("{}:{} starts telnetd with `-u {user}:…`{from}. The value is in the image, so every unit accepts the same telnet login: a universal default credential that cannot be changed by the user.", f.path, i + 1))
                    .evidence(loc.clone(), excerpt(line));
                if let Some((p, n)) = src.filter(|(p, _)| !p.is_empty()) {
                    f_out = f_out.evidence(root.location(&p, Some(n), None), v.clone());
                }
                let _ = ctx;
            }
            Some(Value::Runtime(src)) => {
                f_out = Finding::new(CHECK.id, PROVS, Outcome::Inconclusive, Severity::Medium, Source::Firmware,
                    format!("telnet login with a fixed user `{user}`; the password is read at run time"))
                    .detail(format!("The password comes from {src}. If that is a per-unit value (factory data) it may be unique; if it is a default, it is universal. The image alone cannot tell."))
                    .evidence(loc.clone(), excerpt(line));
            }
            None => {
                f_out = Finding::new(CHECK.id, PROVS, Outcome::Inconclusive, Severity::Medium, Source::Firmware,
                    format!("telnet login with a fixed user `{user}`; the password variable {pass} is not set in the script"))
                    .evidence(loc.clone(), excerpt(line));
            }
        }
        credential_facts(
            obs,
            &Evidence {
                location: loc,
                excerpt: excerpt(line),
            },
        );
        obs.findings.push(f_out);
    }
}

fn is_http_auth_file(path: &str) -> bool {
    let base = path.rsplit('/').next().unwrap_or("");
    base == ".htpasswd"
        || base == "htpasswd"
        || base == "httpd.conf" && path.starts_with("/etc")
        || base == "lighttpd.user"
        || base == "httpasswd"
}

/// Classifies a password field: empty, a crypt hash (cracked or not), or plain text.
pub(super) fn judge_secret(ctx: &Ctx<'_>, user: &str, value: &str) -> (Outcome, Severity, String) {
    if value.is_empty() {
        return (
            Outcome::Fail,
            Severity::Critical,
            "an empty password".into(),
        );
    }
    let kind = crack::identify(value);
    if kind != HashKind::Unknown {
        return match ctx.crack(value, &[user]) {
            CrackResult::Found(w) => (
                Outcome::Fail,
                Severity::Critical,
                format!(
                    "the guessable password \"{w}\" ({} hash, cracked)",
                    kind.name()
                ),
            ),
            _ => (
                Outcome::Inconclusive,
                Severity::Medium,
                format!("a fixed {} hash (not cracked)", kind.name()),
            ),
        };
    }
    (
        Outcome::Fail,
        Severity::High,
        format!("the plain-text password \"{value}\""),
    )
}

/// Web-server auth files: busybox httpd.conf `/path:user:pass`, htpasswd `user:hash`.
fn http_auth(ctx: &Ctx<'_>, root: &Root<'_>, f: &FileRec<'_>, text: &str, obs: &mut Observations) {
    let busybox = f.base() == "httpd.conf";
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = l.split(':').collect();
        let (user, pass) = if busybox {
            if !l.starts_with('/') || fields.len() != 3 {
                continue;
            }
            (fields[1], fields[2])
        } else {
            if fields.len() < 2 {
                continue;
            }
            (fields[0], fields[1])
        };
        let (outcome, sev, what) = judge_secret(ctx, user, pass);
        let loc = root.location(&f.path, Some(i as u32 + 1), None);
        credential_facts(
            obs,
            &Evidence {
                location: loc.clone(),
                excerpt: excerpt(l),
            },
        );
        obs.findings.push(
            Finding::new(CHECK.id, PROVS, outcome, sev, Source::Firmware,
                format!("web login `{user}` in {} has {what}", f.path))
            .detail("A web-server credential file ships in the image: every unit has the same login until the user changes it.")
            .evidence(loc, excerpt(l)),
        );
    }
}

static WIFI_MQTT: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build([
            "wpa_passphrase=",
            "psk=",
            "option key",
            "mosquitto_pub",
            "mosquitto_sub",
            "mqtt_pass",
            "mqtt_password",
        ])
        .expect("patterns")
});

/// Wi-Fi passphrases (hostapd, wpa_supplicant, UCI wireless) and MQTT credentials.
fn wifi_and_mqtt(root: &Root<'_>, f: &FileRec<'_>, text: &str, obs: &mut Observations) {
    if !WIFI_MQTT.is_match(&f.data) {
        return;
    }
    let uci_wireless = f.path == "/etc/config/wireless";
    for (i, line) in text.lines().enumerate() {
        let code = strip_comment(line).trim();
        if code.is_empty() {
            continue;
        }
        let lower = code.to_ascii_lowercase();
        let mut hit: Option<(String, &str)> = None;
        if let Some(v) = code.strip_prefix("wpa_passphrase=") {
            hit = Some((v.to_string(), "Wi-Fi passphrase (hostapd)"));
        } else if let Some(v) = code
            .strip_prefix("psk=")
            .or_else(|| code.strip_prefix("wpa_psk="))
        {
            hit = Some((v.trim_matches('"').to_string(), "Wi-Fi pre-shared key"));
        } else if uci_wireless && code.starts_with("option key") {
            let v = code["option key".len()..].trim().trim_matches(['\'', '"']);
            hit = Some((v.to_string(), "Wi-Fi key (UCI wireless)"));
        } else if lower.contains("mosquitto_pub") || lower.contains("mosquitto_sub") {
            let w: Vec<&str> = code.split_whitespace().collect();
            if let Some(p) = w.iter().position(|x| *x == "-P" || *x == "--pw") {
                if let Some(v) = w.get(p + 1) {
                    hit = Some((v.trim_matches(['"', '\'']).to_string(), "MQTT password"));
                }
            }
        } else if lower.starts_with("mqtt_pass") {
            if let Some((_, v)) = code.split_once(['=', ':']) {
                hit = Some((
                    v.trim().trim_matches(['"', '\'']).to_string(),
                    "MQTT password",
                ));
            }
        }
        let Some((v, what)) = hit else { continue };
        if v.is_empty() || v.starts_with('$') || v.len() < 4 {
            continue;
        }
        let loc = root.location(&f.path, Some(i as u32 + 1), None);
        credential_facts(
            obs,
            &Evidence {
                location: loc.clone(),
                excerpt: excerpt(line),
            },
        );
        obs.findings.push(
            Finding::new(CHECK.id, PROVS, Outcome::Fail, Severity::High, Source::Firmware,
                format!("{what} \"{v}\" is fixed in {}", f.path))
            .detail("The secret ships in the image, so it is the same in every unit (a universal default).")
            .evidence(loc, excerpt(line)),
        );
    }
}

/// `root:%s:0:0:…` in a binary: /etc/passwd is written at run time from a template.
fn binary_strings(root: &Root<'_>, f: &FileRec<'_>, obs: &mut Observations) {
    if let Some(p) = memchr::memmem::find(&f.data, b"root:%s:0:0:") {
        let end = f.data[p..]
            .iter()
            .position(|b| *b == 0)
            .map(|e| p + e)
            .unwrap_or(p + 40);
        let s = String::from_utf8_lossy(&f.data[p..end.min(f.data.len())]).to_string();
        obs.findings.push(
            Finding::new(CHECK.id, &["5.1-1"], Outcome::Info, Severity::Info, Source::Firmware,
                format!("{} writes /etc/passwd at run time from a template", f.path))
            .detail("root's password is filled in from configuration (nvram) when the device boots; its default is judged with the nvram defaults.")
            .evidence(root.location(&f.path, None, Some(p as u64)), s),
        );
    }
}

/// nvram keys that hold login secrets.
fn is_secret_key(k: &str) -> bool {
    let k = k.to_ascii_lowercase();
    (k.ends_with("passwd")
        || k.ends_with("password")
        || k.ends_with("_pass")
        || k.ends_with("wpa_psk"))
        && !k.contains("radmac")
}

fn nvram_defaults(ctx: &Ctx<'_>, root: &Root<'_>, obs: &mut Observations) {
    let vars = nvram::defaults(root);
    if vars.is_empty() {
        return;
    }
    let get = |k: &str| vars.iter().find(|v| v.key == k);
    let template = root
        .files
        .iter()
        .find(|f| f.elf.is_some() && memchr::memmem::find(&f.data, b"root:%s:0:0:").is_some());
    for v in &vars {
        if !is_secret_key(&v.key) {
            continue;
        }
        let admin = v.key.starts_with("http_")
            || v.key.starts_with("admin")
            || v.key.starts_with("sys_")
            || v.key == "password";
        if v.value.is_empty() && !admin {
            continue;
        }
        if v.value.len() <= 1 && !admin {
            continue;
        }
        // The user for a password: http_passwd ↔ http_username.
        let user_key = v
            .key
            .replace("passwd", "username")
            .replace("password", "username");
        let user = get(&user_key).map(|u| {
            if crack::identify(&u.value) != HashKind::Unknown {
                match ctx.crack(&u.value, &["root", "admin"]) {
                    CrackResult::Found(w) => format!("{w} (stored as a hash)"),
                    _ => u.value.clone(),
                }
            } else {
                u.value.clone()
            }
        });
        let user_name = user
            .as_deref()
            .map(|u| u.split(' ').next().unwrap_or(u).to_string())
            .unwrap_or_default();
        let (mut outcome, mut sev, what) = if v.key.contains("wpa_psk") {
            (
                Outcome::Fail,
                Severity::High,
                format!("the Wi-Fi passphrase \"{}\"", v.value),
            )
        } else {
            judge_secret(ctx, &user_name, &v.value)
        };
        // A default secret of an optional feature (a hotspot, a VPN client) matters only when
        // the feature is enabled.
        if !admin && !v.key.contains("wpa_psk") && outcome == Outcome::Fail {
            outcome = Outcome::Inconclusive;
            sev = Severity::Low;
        }
        let loc = root.location(&v.path, v.line, v.offset);
        let ex = format!("{}={}", v.key, v.value);
        let mut f = Finding::new(CHECK.id, PROVS, outcome, sev, Source::Firmware,
            format!("nvram default {}{} is {what}", v.key, user.as_deref().map(|u| format!(" (user {u})")).unwrap_or_default()))
            .detail(format!(
                "{} holds the factory defaults every unit starts from, so this credential is a universal default.{}",
                v.path,
                if v.key.starts_with("http_") && template.is_some() { " The same value becomes root's password in the /etc/passwd written at boot (template below), so it also opens the console and telnet." } else { "" }
            ))
            .evidence(loc.clone(), ex.clone());
        if let Some(u) = get(&user_key) {
            f = f.evidence(
                root.location(&u.path, u.line, u.offset),
                format!("{}={}", u.key, u.value),
            );
        }
        if v.key.starts_with("http_") {
            if let Some(t) = template {
                let p = memchr::memmem::find(&t.data, b"root:%s:0:0:").unwrap_or(0);
                f = f.evidence(
                    root.location(&t.path, None, Some(p as u64)),
                    "root:%s:0:0:Root User,,,:/tmp/root:/bin/sh",
                );
            }
        }
        credential_facts(
            obs,
            &Evidence {
                location: loc,
                excerpt: ex,
            },
        );
        obs.findings.push(f);
    }
    // Open Wi-Fi by default: no passphrase at all.
    for v in vars
        .iter()
        .filter(|v| v.key.ends_with("_akm") && (v.value == "disabled" || v.value.is_empty()))
    {
        let iface = v.key.trim_end_matches("_akm");
        if get(&format!("{iface}_ssid")).is_some_and(|s| !s.value.is_empty()) {
            obs.findings.push(
                Finding::new(
                    CHECK.id,
                    &["5.5-1"],
                    Outcome::Info,
                    Severity::Medium,
                    Source::Firmware,
                    format!(
                        "Wi-Fi interface {iface} defaults to no encryption ({}={})",
                        v.key, v.value
                    ),
                )
                .evidence(
                    root.location(&v.path, v.line, v.offset),
                    format!("{}={}", v.key, v.value),
                ),
            );
            break;
        }
    }
}

/// XML default configurations (`<name>admin</name><password></password>`), gzip or plain.
fn xml_defaults(root: &Root<'_>, f: &FileRec<'_>, obs: &mut Observations) {
    let data = match nvram::maybe_gunzip(&f.data) {
        Some(d) => d,
        None if f.base().ends_with(".xml") => f.data.clone(),
        None => return,
    };
    if !crate::text::is_text(&data) {
        return;
    }
    let text = String::from_utf8_lossy(&data);
    let mut last_name: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        for (tag, is_name) in [
            ("<name>", true),
            ("<user>", true),
            ("<username>", true),
            ("<password>", false),
        ] {
            let Some(p) = line.find(tag) else { continue };
            let rest = &line[p + tag.len()..];
            let close = format!("</{}", &tag[1..]);
            let Some(e) = rest.find(&close) else { continue };
            let value = &rest[..e];
            if is_name {
                last_name = Some((i, value.to_string()));
                continue;
            }
            let Some((ni, user)) = last_name.clone().filter(|(ni, _)| i - ni <= 3) else {
                continue;
            };
            let (outcome, sev, what) = if value.is_empty() {
                (
                    Outcome::Fail,
                    Severity::Critical,
                    "an empty password".to_string(),
                )
            } else {
                (
                    Outcome::Fail,
                    Severity::High,
                    format!("the password \"{value}\""),
                )
            };
            let loc = root.location(&f.path, Some(i as u32 + 1), None);
            let ex = format!("<name>{user}</name> … <password>{value}</password>");
            credential_facts(
                obs,
                &Evidence {
                    location: loc.clone(),
                    excerpt: ex.clone(),
                },
            );
            obs.findings.push(
                Finding::new(CHECK.id, PROVS, outcome, sev, Source::Firmware,
                    format!("default account `{user}` in {} has {what}", f.path))
                .detail(format!("The default configuration (line {} of the {}XML) is what every unit starts with: a universal default.", ni + 1, if f.data.starts_with(&[0x1f, 0x8b]) { "decompressed " } else { "" }))
                .evidence(loc, ex),
            );
        }
    }
}

/// A string shaped like a password: one token, letters and digits, not an identifier,
/// version, path or format string.
pub(super) fn password_like(s: &str) -> bool {
    let n = s.len();
    let letters = s.bytes().filter(u8::is_ascii_alphabetic).count();
    let digits = s.bytes().filter(u8::is_ascii_digit).count();
    (6..=40).contains(&n)
        && letters >= 2
        && digits >= 1
        && !s.bytes().any(|b| b" _%/\\:<>=(){}[]\"'".contains(&b))
        && !(s.starts_with('v') && s[1..].starts_with(|c: char| c.is_ascii_digit()))
        && !s.starts_with("0x")
        && !s.bytes().all(|b| b.is_ascii_hexdigit())
        && s.bytes().any(|b| b.is_ascii_lowercase())
        && !s.contains(".c")
        && !s.contains(".h")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_shapes() {
        for s in ["sup3rp4ssw0rd", "T5uzzrhz4tf23lsccbes1111", "admin123"] {
            assert!(password_like(s), "{s}");
        }
        for s in [
            "ESP_ERR_WIFI_PASSWORD",
            "v5.0-beta1",
            "deadbeef01",
            "%s:%d",
            "/etc/passwd",
            "Wrong password",
            "main.c",
        ] {
            assert!(!password_like(s), "{s}");
        }
        assert!(is_http_auth_file("/etc/httpd.conf") && is_http_auth_file("/www/.htpasswd"));
        assert!(
            is_secret_key("http_passwd")
                && is_secret_key("ath0_wpa_psk")
                && !is_secret_key("wl0_radmacpassword")
        );
    }
}
