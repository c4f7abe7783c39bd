//! Default credentials compiled into binaries (heuristic): a vendor library or daemon that
//! keeps its factory settings as a table of C strings holds each setting's name right before
//! its value (`http_username\0admin\0http_passwd\0admin`), and an nvram default table in an
//! ELF's .rodata looks the same. A key is taken only when it is an nvram-style setting name
//! (lowercase words joined by `_`) that names a user or a password; the value must not look
//! like another key, a path, a file name, a format string or a message. What remains is a
//! pattern match, and every finding says so.

use iotassure_core::finding::{Evidence, Finding, Observations, Outcome, Severity, Source};

use super::credentials::{credential_facts, judge_secret, password_like, CHECK, PROVS};
use crate::crack::{self, HashKind};
use crate::{Ctx, FileRec, Root};

/// Findings per binary at most (a hostile file cannot flood the report).
const MAX_PER_FILE: usize = 5;
/// Bytes between a user key and the password key that belong to the same login.
const PAIR_WINDOW: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    User,
    Password,
}

/// An nvram-style setting name that holds a login user or password.
fn key_role(k: &str) -> Option<Role> {
    let nvram_style = k.len() <= 48
        && k.starts_with(|c: char| c.is_ascii_lowercase())
        && k.contains('_')
        && k.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    // `validate_password`, `check_passwd`: handler names kept as strings, not settings.
    const VERBS: &[&str] = &[
        "validate", "check", "info", "get", "set", "show", "do", "is", "has", "verify", "handle",
        "update", "save", "apply", "print", "read", "write", "parse", "init", "free", "new",
        "copy", "change", "encrypt", "decrypt", "gen", "make", "cmp", "compare", "hash", "reset",
    ];
    if !nvram_style || VERBS.contains(&k.split('_').next().unwrap_or("")) {
        return None;
    }
    let last = k.rsplit('_').next().unwrap_or("");
    if ["passwd", "password", "pass", "pwd"].contains(&last) {
        Some(Role::Password)
    } else if ["username", "user", "login"].contains(&last) {
        Some(Role::User)
    } else {
        None
    }
}

/// Keys of logins to the device itself (not a client's secret for a remote service).
fn admin_key(k: &str) -> bool {
    [
        "http_", "admin", "sys_", "web_", "root_", "login_", "telnet_", "ftp_", "ssh_",
    ]
    .iter()
    .any(|p| k.starts_with(p))
}

/// A plausible stored value: short, no spaces, not a key, path, file, format or flag.
fn value_like(v: &str) -> bool {
    const FILE_EXT: &[&str] = &[
        ".asp", ".htm", ".html", ".cgi", ".js", ".so", ".conf", ".sh", ".xml", ".css",
    ];
    let word = v.to_ascii_lowercase();
    (2..=32).contains(&v.len())
        && v.bytes().all(|b| b.is_ascii_graphic())
        && !v.contains(['%', '/', '\\', '$', '<', '>', '='])
        && !v.starts_with('-')
        && !FILE_EXT.iter().any(|e| word.ends_with(e))
        && !["username", "password", "passwd", "user", "login", "admin_name"].contains(&word.as_str())
        && key_role(v).is_none()
        // Another identifier (`SHA1_Final`, `lan_ipaddr`, `REMOTE_PASSWD`), not a value.
        && !(v.contains('_') && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
}

/// The ends of the setting names taken as keys, in one pass. (No NUL in the patterns: the
/// matcher's prefilter would pick it as the rarest byte, and binaries are full of it.)
static GATE: std::sync::LazyLock<aho_corasick::AhoCorasick> = std::sync::LazyLock::new(|| {
    aho_corasick::AhoCorasick::new([
        "passwd",
        "password",
        "_pass",
        "_pwd",
        "_username",
        "_user",
        "_login",
    ])
    .expect("gate")
});

/// The NUL-terminated string that ends at `end` (exclusive), and its start.
fn string_ending_at(data: &[u8], end: usize) -> Option<(usize, &str)> {
    let start = data[..end]
        .iter()
        .rposition(|b| *b == 0)
        .map_or(0, |p| p + 1);
    (end - start < 128)
        .then(|| std::str::from_utf8(&data[start..end]).ok())
        .flatten()
        .map(|s| (start, s))
}

/// The next non-empty string after the NUL at `nul` (alignment padding skipped).
fn next_string(data: &[u8], nul: usize) -> Option<&str> {
    let start = nul + data.get(nul..)?.iter().take(16).position(|b| *b != 0)?;
    let len = data[start..].iter().take(129).position(|b| *b == 0)?;
    (len < 128)
        .then(|| std::str::from_utf8(&data[start..start + len]).ok())
        .flatten()
}

/// Adjacent key/value string pairs in one binary → findings.
pub(super) fn scan(ctx: &Ctx<'_>, root: &Root<'_>, f: &FileRec<'_>, obs: &mut Observations) {
    // One pass finds the ends of candidate keys; most binaries have none.
    let mut pairs: Vec<(Role, &str, &str, usize)> = Vec::new(); // (role, key, value, offset)
    for m in GATE.find_overlapping_iter(&f.data) {
        let nul = m.end();
        if f.data.get(nul) != Some(&0) {
            continue;
        }
        let Some((off, k)) = string_ending_at(&f.data, nul) else {
            continue;
        };
        let Some(role) = key_role(k) else { continue };
        let Some(v) = next_string(&f.data, nul) else {
            continue;
        };
        if value_like(v) {
            pairs.push((role, k, v, off));
        }
    }
    if pairs.is_empty() {
        return;
    }
    // Symbol names (`validate_password`, `check_passwd`) are functions, not settings.
    let symbol_tables = symbol_string_tables(&f.data);
    pairs.retain(|p| !symbol_tables.iter().any(|r| r.contains(&p.3)));
    let mut reported = 0;
    for &(role, key, value, off) in &pairs {
        if reported >= MAX_PER_FILE {
            break;
        }
        let hashed = crack::identify(value) != HashKind::Unknown;
        // A user name alone is no credential, unless it is stored as a hash (DD-WRT keeps
        // both halves crypted) and so judged like a password.
        if role == Role::User && !hashed {
            continue;
        }
        // Beside an optional feature's key, a plain word is more likely the next key of a
        // list (hostapd's `private_key_passwd`, `imsi`) than a value: it must look like a
        // password, or be a known default.
        let listed = ctx.opts.wordlist.words.iter().any(|w| w == value);
        if !admin_key(key) && !hashed && !listed && !password_like(value) {
            continue;
        }
        let user = pairs
            .iter()
            .filter(|p| p.0 == Role::User && p.3.abs_diff(off) <= PAIR_WINDOW && !crack_like(p.2))
            .min_by_key(|p| p.3.abs_diff(off))
            .map(|p| (p.1, p.2));
        let (mut outcome, mut sev, what) =
            judge_secret(ctx, user.map(|u| u.1).unwrap_or(""), value);
        // The default of an optional client feature (DDNS, PPPoE) matters only when it is
        // used; the device's own login defaults are universal defaults.
        if !admin_key(key) && outcome == Outcome::Fail {
            outcome = Outcome::Inconclusive;
            sev = Severity::Low;
        }
        let loc = root.location(&f.path, None, Some(off as u64));
        let ex = format!("{key}\\0{value}");
        let mut fd = Finding::new(
            CHECK.id,
            PROVS,
            outcome,
            sev,
            Source::Firmware,
            format!(
                "default {key} in {} is {what}{} (adjacent strings, heuristic)",
                f.path,
                user.map(|u| format!(" (beside {}={})", u.0, u.1)).unwrap_or_default()
            ),
        )
        .detail(format!(
            "{} holds the setting name `{key}` followed by the value `{value}`, the layout of a compiled-in default table: every unit starts from it. This is a pattern match over the binary's strings; confirm by reading the code that uses the table.",
            f.path
        ))
        .evidence(loc.clone(), ex.clone())
        .heuristic();
        if let Some(u) = user {
            fd = fd.evidence(loc.clone(), format!("{}\\0{}", u.0, u.1));
        }
        credential_facts(
            obs,
            &Evidence {
                location: loc,
                excerpt: ex,
            },
        );
        obs.findings.push(fd);
        reported += 1;
    }
}

/// File ranges of the string tables that hold symbol and section names.
fn symbol_string_tables(data: &[u8]) -> Vec<std::ops::Range<usize>> {
    let Ok(elf) = goblin::elf::Elf::parse(data) else {
        return Vec::new();
    };
    elf.section_headers
        .iter()
        .filter(|sh| {
            let name = elf.shdr_strtab.get_at(sh.sh_name).unwrap_or("");
            sh.sh_type == goblin::elf::section_header::SHT_STRTAB
                || [".dynstr", ".strtab", ".shstrtab"].contains(&name)
        })
        .map(|sh| sh.sh_offset as usize..(sh.sh_offset + sh.sh_size) as usize)
        .collect()
}

fn crack_like(v: &str) -> bool {
    crack::identify(v) != HashKind::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values() {
        assert_eq!(key_role("http_passwd"), Some(Role::Password));
        assert_eq!(key_role("http_username"), Some(Role::User));
        for k in [
            "REMOTE_USER",
            "passwd",
            "adminPwd",
            "validate_password",
            "check_passwd",
            "ddns_passwd_10",
        ] {
            assert_eq!(key_role(k), None, "{k}");
        }
        for v in ["admin", "bJz7PcC1rCRJQ", "1234"] {
            assert!(value_like(v), "{v}");
        }
        for v in [
            "password",
            "register.asp",
            "SHA1_Final",
            "lan_ipaddr",
            "/tmp/ppp/options.pppoe",
            "%s_ttls8021xca",
            "-P",
            "0 1 2 3 5*",
            "!",
        ] {
            assert!(!value_like(v), "{v}");
        }
    }
}
