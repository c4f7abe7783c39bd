//! Credentials compiled into microcontroller firmware, read from its string table (5.1-1,
//! heuristic): a password next to a prompt the firmware prints, a value inside the prompt
//! itself (`Password : Cow`), a default user/password pair stored side by side
//! (`DVES_USER`, `DVES_PASS`), and an SNMP community beside the code that checks it.
//!
//! A flat image has no symbols and no file names, so every rule here rests on what sits next
//! to a string. What looks like a password but is something else is left out by shape: AT
//! commands for a radio module (`AT+UUID0xFFE0`), numbered identifiers from a list
//! (`Button1`, `Relay1`), `|`-separated option lists, HTML entities, key names used as
//! form fields (`PASS1`, `password`) — a prompt is text shown to a person, so it has a space
//! or punctuation, never a bare identifier.

use iotassure_core::finding::{
    Evidence, Finding, Location, Observations, Outcome, Severity, Source,
};

use super::credentials::{credential_facts, password_like, CHECK, PROVS};
use crate::Ctx;

/// At most this many findings per blob: a pattern match that fires more often than this is
/// reading a table, not a credential.
const MAX_PER_BLOB: usize = 10;

/// Printable strings of at least 3 bytes, with offsets (3: "Cow" and "pin" are credentials).
fn strings(data: &[u8]) -> Vec<(usize, &str)> {
    crate::text::printable_runs(data, 3)
}

const PASS_WORDS: &[&str] = &["pass", "pwd", "pin", "login", "secret"];

fn has_pass_word(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    PASS_WORDS.iter().any(|w| {
        l.match_indices(w).any(|(i, _)| {
            // "pin" only as a word: "ping", "mapping", "spinner" are not prompts.
            *w != "pin"
                || (!l[..i].ends_with(|c: char| c.is_ascii_alphabetic())
                    && !l[i + 3..].starts_with(|c: char| c.is_ascii_alphabetic()))
        })
    })
}

/// Text a person reads that asks for or names a password: a pass-word plus a space or
/// punctuation. A bare token (`PASS1`, `password`, `MqttPassword`) is a key name.
pub(super) fn is_prompt(s: &str) -> bool {
    has_pass_word(s)
        && !s.contains('_')
        && s.bytes().any(|b| b" :?!=".contains(&b))
        && !s.contains('<')
        && !s.contains('%')
}

/// `AT+NAME`, `AT^SYSCFG`, `AT#SI`: commands sent to a modem or radio module.
fn is_at_command(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() > 3 && b.starts_with(b"AT") && b"+^#$%&*".contains(&b[2])
}

/// A numbered name from a list: a word and a small number (`Button1`, `Relay2`, `Led4`).
fn is_numbered_name(s: &str) -> bool {
    let stem = s.trim_end_matches(|c: char| c.is_ascii_digit());
    let digits = s.len() - stem.len();
    (1..=2).contains(&digits)
        && stem.len() >= 2
        && stem.bytes().all(|b| b.is_ascii_alphabetic())
        && stem[1..].bytes().all(|b| b.is_ascii_lowercase())
}

/// A string near a prompt that can be the password: password-shaped (or in the word list)
/// and not something else of that shape.
fn candidate(s: &str, listed: bool) -> bool {
    (password_like(s) || listed)
        && !is_at_command(s)
        && !is_numbered_name(s)
        && !s.contains("0x")
        && !s.contains(['|', ';', '&', '#', ',', '.'])
        && !is_prompt(s)
}

/// The value inside a prompt string: `Password : Cow`, `PIN=1234`, `login: admin`. The key
/// part is at most three words ending in a pass-word; the value is one token.
fn inline_value(s: &str) -> Option<&str> {
    let (key, value) = s.split_once([':', '='])?;
    let value = value.trim();
    let key = key.trim();
    let last = key.split_whitespace().last()?.to_ascii_lowercase();
    let key_ok = key.split_whitespace().count() <= 3
        && [
            "password",
            "passwd",
            "pass",
            "pwd",
            "pin",
            "passphrase",
            "secret",
            "passcode",
        ]
        .contains(&last.as_str());
    let value_ok = (3..=40).contains(&value.len())
        && !value.contains(char::is_whitespace)
        && value.bytes().any(|b| b.is_ascii_alphanumeric())
        && !value.contains(['%', '{', '<', '(', '[', '"', '\'', ':', '='])
        && !is_at_command(value);
    (key_ok && value_ok).then_some(value)
}

/// `PREFIX_USER` followed by `PREFIX_PASS`: one vendor default login stored as two
/// constants side by side (a settings-default table).
fn default_pair<'a>(a: &'a str, b: &'a str) -> Option<(&'a str, &'a str)> {
    let user_at = a.to_ascii_uppercase().rfind("USER")?;
    let pass_at = b.to_ascii_uppercase().rfind("PASS")?;
    let (pa, pb) = (&a[..user_at], &b[..pass_at]);
    let ok = pa == pb
        && pa.len() >= 2
        && pa.ends_with(['_', '-'])
        && pa[..pa.len() - 1]
            .bytes()
            .all(|c| c.is_ascii_alphanumeric())
        && a[user_at + 4..].bytes().all(|c| c.is_ascii_alphabetic())
        && b[pass_at + 4..].bytes().all(|c| c.is_ascii_alphabetic())
        && a.len() <= 32
        && b.len() <= 32;
    ok.then_some((a, b))
}

/// SNMP communities that ship as defaults.
const COMMUNITIES: &[&str] = &[
    "public",
    "private",
    "community",
    "admin",
    "cisco",
    "secret",
    "manager",
    "write",
    "read",
];

struct Hit {
    off: usize,
    len: usize,
    excerpt: String,
    title: String,
    detail: &'static str,
}

/// Scans one microcontroller blob.
pub fn scan(
    ctx: &Ctx<'_>,
    data: &[u8],
    provenance: &str,
    base: Option<u64>,
    obs: &mut Observations,
) {
    let strs = strings(data);
    let words: std::collections::HashSet<&str> = ctx
        .opts
        .wordlist
        .words
        .iter()
        .map(String::as_str)
        .filter(|w| w.len() >= 6)
        .collect();
    let prompts: Vec<usize> = strs
        .iter()
        .filter(|(_, s)| is_prompt(s))
        .map(|(o, _)| *o)
        .collect();
    let community_msgs: Vec<usize> = strs
        .iter()
        .filter(|(_, s)| s.to_ascii_lowercase().contains("community") && s.contains(' '))
        .map(|(o, _)| *o)
        .collect();
    let mut hits: Vec<Hit> = Vec::new();
    for (i, (off, s)) in strs.iter().enumerate() {
        if let Some(v) = inline_value(s).filter(|_| is_prompt(s)) {
            let at = s.rfind(v).unwrap_or(0);
            hits.push(Hit {
                off: off + at,
                len: v.len(),
                excerpt: s.to_string(),
                title: format!("probable hard-coded password \"{v}\" in firmware"),
                detail: "The firmware holds a password inside the text it prints (`key : value`); it is compiled into every unit. This is a pattern match: confirm by reading the code around it.",
            });
            continue;
        }
        let near = prompts.iter().any(|p| p.abs_diff(*off) <= 256 && p != off);
        if near && candidate(s, words.contains(s)) {
            hits.push(Hit {
                off: *off,
                len: s.len(),
                excerpt: s.to_string(),
                title: format!("probable hard-coded password \"{s}\" in firmware"),
                detail: "A password-like string sits beside a password prompt in the firmware; it is compiled into every unit. This is a pattern match: confirm by reading the code around it.",
            });
            continue;
        }
        if let Some((u, p)) = strs
            .get(i + 1)
            .filter(|(o, _)| o - off <= 48)
            .and_then(|(_, n)| default_pair(s, n))
        {
            let mqtt = memchr::memmem::find(data, b"Mqtt").is_some()
                || memchr::memmem::find(data, b"mqtt").is_some()
                || memchr::memmem::find(data, b"MQTT").is_some();
            hits.push(Hit {
                off: *off,
                len: u.len() + 1 + p.len(),
                excerpt: format!("{u} / {p}"),
                title: format!("{}default login compiled into the firmware: user \"{u}\", password \"{p}\"", if mqtt { "MQTT " } else { "" }),
                detail: "A user name and a password constant of one vendor prefix are stored side by side, as a settings-default table stores them; every unit starts with this login (for an MQTT client, it is what the device sends to the broker until the user sets one). This is a pattern match: confirm in the firmware's default settings.",
            });
            continue;
        }
        let by_community = community_msgs
            .iter()
            .any(|c| c.abs_diff(*off) <= 64 && c != off);
        if by_community && (COMMUNITIES.contains(s) || password_like(s)) {
            hits.push(Hit {
                off: *off,
                len: s.len(),
                excerpt: s.to_string(),
                title: format!("SNMP community \"{s}\" compiled into the firmware"),
                detail: "A community string sits beside the code that rejects requests with another community: it is the fixed SNMP credential of every unit, and SNMP v1/v2c sends it in clear text.",
            });
        }
    }
    for h in hits.into_iter().take(MAX_PER_BLOB) {
        let addr = base
            .map(|b| format!(" (flash address 0x{:X})", b + h.off as u64))
            .unwrap_or_default();
        let loc = Location::Image {
            offset: h.off as u64,
            length: Some(h.len as u64),
            provenance: provenance.to_string(),
        };
        credential_facts(
            obs,
            &Evidence {
                location: loc.clone(),
                excerpt: h.excerpt.clone(),
            },
        );
        obs.findings.push(
            Finding::new(
                CHECK.id,
                PROVS,
                Outcome::Fail,
                Severity::High,
                Source::Firmware,
                format!("{}{addr}", h.title),
            )
            .detail(h.detail)
            .evidence(loc, h.excerpt)
            .heuristic(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert!(is_prompt("Pass : ") && is_prompt("I have confidential message. Pass ?"));
        assert!(is_prompt("Wrong password") && is_prompt("Password : Cow"));
        for s in [
            "PASS1",
            "password",
            "MqttPassword",
            "ESP_ERR_WIFI_PASSWORD",
            "Ping: %d ms",
            "<b>Password</b>",
        ] {
            assert!(!is_prompt(s), "{s}");
        }
        assert_eq!(inline_value("Password : Cow"), Some("Cow"));
        assert_eq!(inline_value("PIN=1234"), Some("1234"));
        for s in [
            "Password : %s",
            "Wrong password: try again",
            "Pass : ",
            "Verbose mode = 1 on 0000ffe1",
            "pwd: length:8-64",
        ] {
            assert_eq!(inline_value(s), None, "{s}");
        }
        for s in [
            "AT+UUID0xFFE0",
            "AT+CHAR0xFFE1",
            "Button1",
            "Relay1",
            "TLSv1.2",
            "|||WPA-PSK||WPA2-PSK|",
        ] {
            assert!(!candidate(s, false), "{s}");
        }
        assert!(candidate("admin123", false) && candidate("password", true));
        assert_eq!(
            default_pair("DVES_USER", "DVES_PASS"),
            Some(("DVES_USER", "DVES_PASS"))
        );
        for (a, b) in [
            ("USER1", "PASS1"),
            ("user", "password"),
            ("MqttUser", "MqttPassword"),
            ("A_USER", "B_PASS"),
        ] {
            assert_eq!(default_pair(a, b), None, "{a} {b}");
        }
    }
}
