//! Scripts that change accounts and services when they run (update packages, first-boot and
//! set-up scripts): the account files and inetd.conf in the image are not what the device
//! ends up with.
//!
//! - 5.1-1: a script writes a fixed crypt hash for a user into /etc/shadow or /etc/passwd
//!   (`sed -i "s!^root:.*!root:${PW}:…!" /etc/shadow`). Every unit that runs it gets the
//!   same password: a universal default, whether or not the hash is cracked.
//! - 5.6-1: a script appends a service to /etc/inetd.conf (`echo "ssh stream tcp nowait root
//!   /usr/sbin/dropbear dropbear -i" >> /etc/inetd.conf`): a network service started at boot
//!   that the shipped inetd.conf does not show.

use iotassure_core::finding::{Finding, Observations, Outcome, Severity, Source};

use super::Check;
use crate::text::{excerpt, strip_comment};
use crate::{Ctx, FileRec, Root};

pub const CHECK: Check = Check {
    id: "5.1-1-fw-install-scripts",
    provisions: &["5.1-1", "5.6-1"],
    run,
};

/// Scripts bigger than this are not set-up scripts.
const MAX_SCRIPT: usize = 256 << 10;

fn is_script(f: &FileRec<'_>) -> bool {
    f.data.len() <= MAX_SCRIPT
        && (f.data.starts_with(b"#!") || f.base().ends_with(".sh"))
        && f.is_text()
}

/// `$1$salt$hash`, `$5$…`, `$6$…`, `$2b$…`: a crypt hash (the salt may be empty).
fn is_crypt(h: &str) -> bool {
    let parts: Vec<&str> = h.split('$').collect();
    matches!(parts.first(), Some(&""))
        && parts.len() >= 4
        && ["1", "2a", "2b", "2y", "5", "6"].contains(&parts[1])
        && parts.last().is_some_and(|p| p.len() >= 16)
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"$./".contains(&b))
}

/// The literal assigned to `name` in the script (`PW='$1$$4Zq…'`), last one wins.
fn assigned<'t>(text: &'t str, name: &str) -> Option<&'t str> {
    text.lines()
        .filter_map(|l| {
            let c = l.trim();
            let c = c.strip_prefix("export ").unwrap_or(c);
            c.strip_prefix(name)?.strip_prefix('=')
        })
        .map(|v| v.trim().trim_matches(['\'', '"']))
        .next_back()
}

/// `user:HASH` or `user:${VAR}` in a line: (user, hash).
fn user_hash<'t>(text: &'t str, line: &'t str) -> Option<(&'t str, &'t str)> {
    for (i, _) in line.match_indices(':') {
        let before = &line[..i];
        let user_start = before
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .map_or(0, |p| p + 1);
        let user = &before[user_start..];
        if user.is_empty() || user.starts_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        let after = &line[i + 1..];
        let hash = if let Some(v) = after.strip_prefix("${") {
            assigned(text, v.split('}').next()?)
        } else if let Some(v) = after.strip_prefix('$').filter(|v| {
            v.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') && !v.starts_with("2a$")
        }) {
            let name: String = v
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            assigned(text, &name)
        } else {
            let end = after
                .find([':', '"', '\'', ' ', '!', '/'])
                .unwrap_or(after.len());
            // `/` ends a sed pattern, but is part of a crypt alphabet: take up to `:` then.
            let end = if after.starts_with('$') {
                after
                    .find([':', '"', '\'', ' ', '!'])
                    .unwrap_or(after.len())
            } else {
                end
            };
            Some(&after[..end])
        };
        if let Some(h) = hash.filter(|h| is_crypt(h)) {
            return Some((user, h));
        }
    }
    None
}

fn writes_to(code: &str, file: &str) -> bool {
    code.contains(file)
        && (code.contains("sed -i")
            || code.contains(">>")
            || code.contains(&format!("> {file}"))
            || code.contains(&format!(">{file}"))
            || code.contains("tee "))
}

/// `echo "ssh stream tcp nowait root /usr/sbin/dropbear dropbear -i" >> /etc/inetd.conf`.
fn inetd_entry(code: &str) -> Option<Vec<&str>> {
    if !writes_to(code, "inetd.conf") {
        return None;
    }
    let q = code.find(['"', '\''])?;
    let quote = &code[q..q + 1];
    let body = code[q + 1..].split(quote).next()?;
    let f: Vec<&str> = body.split_whitespace().collect();
    (f.len() >= 6
        && ["stream", "dgram"].contains(&f[1])
        && ["wait", "nowait"].contains(&f[3].split('.').next()?))
    .then_some(f)
}

fn scan(root: &Root<'_>, f: &FileRec<'_>, obs: &mut Observations) {
    let text = String::from_utf8_lossy(&f.data);
    if !text.contains("/etc/shadow")
        && !text.contains("/etc/passwd")
        && !text.contains("inetd.conf")
    {
        return;
    }
    for (i, line) in text.lines().enumerate() {
        let code = strip_comment(line);
        let loc = || root.location(&f.path, Some(i as u32 + 1), None);
        for file in ["/etc/shadow", "/etc/passwd"] {
            if !writes_to(code, file) {
                continue;
            }
            let Some((user, hash)) = user_hash(&text, code) else {
                continue;
            };
            let salt = if hash.split('$').nth(2) == Some("") {
                " with an empty salt"
            } else {
                ""
            };
            obs.findings.push(
                Finding::new(CHECK.id, &["5.1-1", "5.1-2"], Outcome::Fail, Severity::Critical, Source::Firmware,
                    format!("{} writes a fixed password hash for {user} into {file}", f.path))
                    .detail(format!("The script sets {user}'s password to the hash {hash}{salt} on every unit that runs it, so all of them share one password: a universal default credential, whether or not the hash is cracked."))
                    .evidence(loc(), excerpt(line)),
            );
            super::credentials::credential_facts(
                obs,
                &iotassure_core::finding::Evidence {
                    location: loc(),
                    excerpt: excerpt(line),
                },
            );
            break;
        }
        if let Some(e) = inetd_entry(code) {
            let (service, user, server) = (e[0], e[4], e[5..].join(" "));
            let sev = if user == "root" {
                Severity::High
            } else {
                Severity::Medium
            };
            obs.findings.push(
                Finding::new(CHECK.id, &["5.6-1"], Outcome::Fail, sev, Source::Firmware,
                    format!("{} adds {service} ({server}) as {user} to inetd.conf", f.path))
                    .detail(format!("inetd starts {server} for every connection to the {service} port once this script has run: a network service enabled at boot that the image's own inetd.conf does not list{}.", if user == "root" { ", running as root" } else { "" }))
                    .evidence(loc(), excerpt(line)),
            );
        }
    }
}

fn run(ctx: &Ctx<'_>, obs: &mut Observations) {
    let mut examined = 0u64;
    for root in &ctx.roots {
        for f in root.files.iter().filter(|f| is_script(f)) {
            examined += 1;
            scan(root, f, obs);
        }
    }
    obs.ran(CHECK.id, Source::Firmware, CHECK.provisions, examined);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        let text = "PWTOOR='$1$$4ZqV5rJEeb0ZYXscpTpsX.'\n";
        let l = r#"/bin/sed -i "s!^root:.*!root:${PWTOOR}:14783:0:99999:7:::!g" /etc/shadow"#;
        assert_eq!(
            user_hash(text, l),
            Some(("root", "$1$$4ZqV5rJEeb0ZYXscpTpsX."))
        );
        let lit =
            r#"echo 'admin:$6$abcdefgh$0123456789abcdefghijKLMNOP:0:0:99999:7:::' >> /etc/shadow"#;
        assert_eq!(user_hash("", lit).map(|x| x.0), Some("admin"));
        assert_eq!(
            user_hash("", r#"sed -i "s/^root:[^:]*:/root::/" /etc/shadow"#),
            None
        );
        assert_eq!(user_hash("", "grep -q '^root:' /etc/shadow"), None);
        let e = inetd_entry(r#"echo "ssh stream tcp nowait root /usr/sbin/dropbear dropbear -i" >> /etc/inetd.conf"#).unwrap();
        assert_eq!((e[0], e[4], e[5]), ("ssh", "root", "/usr/sbin/dropbear"));
        assert!(inetd_entry(r#"grep "^ssh" /etc/inetd.conf"#).is_none());
    }
}
