//! Accounts and password hashes (5.1-1, 5.1-2, 5.1-3, 5.6-7): passwd, shadow and their siblings
//! (`passwd.bak`, `shadow-` …). Flags empty passwords, `root:x` with no shadow line (which
//! OpenWrt's login treats as no password), extra UID-0 accounts, obsolete hash formats, and
//! cracks every hash against the word list.

use std::collections::BTreeMap;

use iotassure_core::facts::{FactKey, InferredFact};
use iotassure_core::finding::{Finding, Location, Observations, Outcome, Severity, Source};

use super::Check;
use crate::crack::{self, CrackResult};
use crate::text::{excerpt, numbered_lines};
use crate::{nopass, Ctx, Root};

pub const CHECK: Check = Check {
    id: "5.1-1-fw-accounts",
    provisions: &["5.1-1", "5.1-2", "5.1-3", "5.6-7"],
    run,
};

const NOLOGIN: &[&str] = &[
    "/bin/false",
    "/sbin/nologin",
    "/usr/sbin/nologin",
    "/bin/nologin",
    "/usr/bin/false",
    "/dev/null",
];

#[derive(Debug, Clone)]
struct Line {
    path: String,
    line: u32,
    raw: String,
    user: String,
    password: String,
    uid: Option<u32>,
    shell: Option<String>,
}

impl Line {
    fn login_capable(&self) -> bool {
        !self.shell.as_deref().is_some_and(|s| NOLOGIN.contains(&s))
    }
}

fn is_account_file(path: &str) -> bool {
    let base = path.rsplit('/').next().unwrap_or("");
    ["passwd", "shadow"].iter().any(|p| {
        base == *p
            || base.strip_prefix(p).is_some_and(|rest| {
                rest.starts_with(['.', '-', '_', '~']) && !rest.ends_with(".so")
            })
    })
}

fn parse(path: &str, data: &[u8]) -> (Vec<Line>, Vec<Line>) {
    let mut passwd = Vec::new();
    let mut shadow = Vec::new();
    for (n, raw) in numbered_lines(data) {
        let t = raw.trim_end();
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = t.split(':').collect();
        let valid_user = !f[0].is_empty()
            && f[0]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-$".contains(&b));
        if !valid_user || f.len() < 2 {
            continue;
        }
        let mut l = Line {
            path: path.to_string(),
            line: n,
            raw: t.to_string(),
            user: f[0].into(),
            password: f[1].into(),
            uid: None,
            shell: None,
        };
        if f.len() == 7 && f[2].parse::<u32>().is_ok() {
            l.uid = f[2].parse().ok();
            l.shell = Some(f[6].to_string());
            passwd.push(l);
        } else if f.len() >= 8 || (f.len() >= 3 && path.contains("shadow")) {
            shadow.push(l);
        }
    }
    (passwd, shadow)
}

fn run(ctx: &Ctx<'_>, obs: &mut Observations) {
    let mut examined = 0u64;
    for root in &ctx.roots {
        let mut passwd = Vec::new();
        let mut shadow = Vec::new();
        for f in &root.files {
            if !is_account_file(&f.path) || f.entry.size > 1 << 20 || !f.is_text() {
                continue;
            }
            examined += 1;
            let (p, s) = parse(&f.path, &f.data);
            passwd.extend(p);
            shadow.extend(s);
        }
        // Symlinked /etc/passwd into a runtime folder: the accounts are made at boot.
        for name in ["/etc/passwd", "/etc/shadow"] {
            if let Some(e) = root.view.lstat(name) {
                if root.view.resolve(name).is_none() {
                    obs.findings.push(
                        Finding::new(CHECK.id, &["5.1-1"], Outcome::Info, Severity::Info, Source::Firmware,
                            format!("{name} is generated at run time (it links outside the image)"))
                        .detail("The accounts are created at boot from other configuration (for example nvram defaults or a copy made by a boot script); the credential checks look for their source.")
                        .evidence(root.location(name, None, None), format!("{name} -> {}", match &e.kind { iotassure_core::tree::EntryKind::Symlink { target } => target.as_str(), _ => "" })),
                    );
                }
            }
        }
        judge(ctx, root, &passwd, &shadow, obs);
        scripts_read_as_empty(root, obs);
    }
    obs.ran(CHECK.id, Source::Firmware, CHECK.provisions, examined);
}

fn judge(ctx: &Ctx<'_>, root: &Root<'_>, passwd: &[Line], shadow: &[Line], obs: &mut Observations) {
    let view = &root.view;
    // A shadow file made at boot (a symlink out of the image) may hold the password.
    let shadow_at_runtime =
        view.lstat("/etc/shadow").is_some() && view.resolve("/etc/shadow").is_none();
    // The shadow line for a user: /etc/shadow first, then any sibling.
    let mut shadow_of: BTreeMap<&str, &Line> = BTreeMap::new();
    for s in shadow.iter().rev() {
        if s.path == "/etc/shadow" || !shadow_of.contains_key(s.user.as_str()) {
            shadow_of.insert(&s.user, s);
        }
    }
    let mut judged: Vec<(&Line, &Line, Option<u32>, bool)> = Vec::new(); // (where the password is, passwd line, uid, login)
    for p in passwd {
        let login = p.login_capable();
        if p.password == "x" {
            match shadow_of.get(p.user.as_str()) {
                Some(s) => judged.push((s, p, p.uid, login)),
                None if login && p.path == "/etc/passwd" && !shadow_at_runtime => {
                    obs.findings.push(
                        Finding::new(CHECK.id, &["5.1-1"], Outcome::Fail, Severity::Critical, Source::Firmware,
                            format!("{} is shadowed (`x`) but has no shadow entry: OpenWrt's login treats it as no password", p.user))
                        .detail("With no shadow line the account has no password at all, so any console or telnet login for it succeeds.")
                        .evidence(view.location(&p.path, Some(p.line), None), excerpt(&p.raw)),
                    );
                }
                None => {}
            }
        } else {
            judged.push((p, p, p.uid, login));
        }
        if p.uid == Some(0) && p.user != "root" {
            let locked = match p.password.as_str() {
                "x" => shadow_of
                    .get(p.user.as_str())
                    .is_none_or(|s| is_locked(&s.password)),
                pw => is_locked(pw),
            };
            let (outcome, sev, what) = if locked || !login {
                (Outcome::Info, Severity::Low, "locked")
            } else {
                (Outcome::Fail, Severity::High, "with a usable password")
            };
            obs.findings.push(
                Finding::new(
                    CHECK.id,
                    &["5.6-7"],
                    outcome,
                    sev,
                    Source::Firmware,
                    format!("extra UID-0 account `{}` ({what})", p.user),
                )
                .detail(
                    "Accounts other than root with UID 0 have full privileges under another name.",
                )
                .evidence(view.location(&p.path, Some(p.line), None), excerpt(&p.raw)),
            );
        }
    }
    for s in shadow {
        if !passwd.iter().any(|p| p.user == s.user) {
            judged.push((s, s, None, true));
        }
    }

    for (pw_line, p, uid, login) in judged {
        let pw = pw_line.password.as_str();
        let loc = view.location(&pw_line.path, Some(pw_line.line), None);
        if !login {
            continue;
        }
        if pw.is_empty() {
            obs.findings.push(
                Finding::new(CHECK.id, &["5.1-1"], Outcome::Fail, Severity::Critical, Source::Firmware, format!("`{}` has an empty password", p.user))
                    .detail(format!("An empty password field lets anyone log in as {} wherever password login is offered (console, telnet, web UI using system accounts). It is the same on every unit.", p.user))
                    .evidence(loc.clone(), excerpt(&pw_line.raw)),
            );
            push_facts(obs, &loc, &pw_line.raw, false);
            continue;
        }
        if is_locked(pw) {
            continue;
        }
        let kind = crack::identify(pw);
        push_facts(obs, &loc, &pw_line.raw, true);
        if kind.is_weak() || crack::md5_empty_salt(pw) {
            let salt = if crack::md5_empty_salt(pw) {
                " with an empty salt"
            } else {
                ""
            };
            obs.findings.push(
                Finding::new(CHECK.id, &["5.1-3"], Outcome::Fail, Severity::Medium, Source::Firmware,
                    format!("`{}`'s password is stored as {}{salt}", p.user, kind.name()))
                .detail("DES and md5-crypt are fast to brute-force and are not best-practice password storage; use yescrypt, sha512-crypt or bcrypt.")
                .evidence(loc.clone(), excerpt(&pw_line.raw)),
            );
        }
        let result = ctx.crack(pw, &[p.user.as_str()]);
        let uid_note = match uid {
            Some(0) => " (UID 0)",
            _ => "",
        };
        match result {
            CrackResult::Found(word) => {
                let shown = if word.is_empty() {
                    "(empty)".to_string()
                } else {
                    format!("\"{word}\"")
                };
                obs.findings.push(
                    Finding::new(CHECK.id, &["5.1-1", "5.1-2", "5.4-3"], Outcome::Fail, Severity::Critical, Source::Firmware,
                        format!("`{}`{uid_note} has the guessable password {shown} (cracked {})", p.user, kind.name()))
                    .detail(format!(
                        "The hash in {} is the same in every unit with this firmware and falls to a dictionary of common defaults: a universal default password, hard-coded in the image.{}",
                        pw_line.path,
                        if crack::md5_empty_salt(pw) { " It is md5-crypt with an empty salt, so the same password gives the same hash everywhere." } else { "" }
                    ))
                    .evidence(loc, excerpt(&pw_line.raw)),
                );
            }
            CrackResult::NotFound { tried } | CrackResult::OutOfTime { tried, .. } => {
                let budget = matches!(result, CrackResult::OutOfTime { .. });
                obs.findings.push(
                    Finding::new(CHECK.id, &["5.1-1"], Outcome::Inconclusive, Severity::Medium, Source::Firmware,
                        format!("`{}`{uid_note} has a fixed {} password hash that resisted {tried} candidates{}", p.user, kind.name(), if budget { " (time budget reached)" } else { "" }))
                    .detail("A hash in the image is identical in every unit. Whether the device forces the user to replace it at first use, or replaces it per unit in the factory, cannot be seen statically: the conformance statement or a live test must say.")
                    .evidence(loc, excerpt(&pw_line.raw)),
                );
            }
            CrackResult::Unsupported => {
                obs.findings.push(
                    Finding::new(
                        CHECK.id,
                        &["5.1-1"],
                        Outcome::Inconclusive,
                        Severity::Low,
                        Source::Firmware,
                        format!(
                            "`{}` has a {} password hash (not cracked: format not supported)",
                            p.user,
                            kind.name()
                        ),
                    )
                    .detail("A fixed hash ships in every unit; its strength could not be tested.")
                    .evidence(loc, excerpt(&pw_line.raw)),
                );
            }
        }
    }
}

/// Root's field is `x` or `!` in /etc/shadow, but the image's own login wrapper or init
/// helpers read that as "no password" (OpenWrt's `has_root_pwd`, `/bin/login.sh`).
fn scripts_read_as_empty(root: &Root<'_>, obs: &mut Observations) {
    let Some(st) = nopass::root_state(root).filter(|s| s.empty_by_scripts()) else {
        return;
    };
    let Some(shadow) = st.fields.iter().find(|f| f.0 == "/etc/shadow") else {
        // Without a shadow line, the `root:x` case above already reports it.
        return;
    };
    let who: Vec<String> = st
        .rules
        .iter()
        .map(|r| format!("{}:{}", r.path, r.line))
        .collect();
    let mut f = Finding::new(
        CHECK.id,
        &["5.1-1"],
        Outcome::Fail,
        Severity::Critical,
        Source::Firmware,
        format!(
            "`root` has no password as the image's own scripts read it: /etc/shadow holds `{}`, which {} treat as no password",
            shadow.3,
            who.join(", ")
        ),
    )
    .detail("The field is not a password hash, and the login wrapper and init helpers on this image count it as an empty password: the telnet or console login they guard gives a root shell without asking for one. A system reading the field as \"locked\" does not apply here; the image's scripts decide.")
    .evidence(
        root.location(&shadow.0, Some(shadow.1), None),
        excerpt(&shadow.2),
    );
    for r in &st.rules {
        f = f.evidence(nopass::rule_location(root, r), r.excerpt.clone());
    }
    obs.findings.push(f);
    let loc = root.location(&shadow.0, Some(shadow.1), None);
    push_facts(obs, &loc, &shadow.2, false);
}

fn is_locked(pw: &str) -> bool {
    pw.starts_with('!') || pw.starts_with('*') || pw == "x" || pw == "NP" || pw == "LK"
}

fn push_facts(obs: &mut Observations, loc: &Location, raw: &str, hashed: bool) {
    let ev = iotassure_core::finding::Evidence {
        location: loc.clone(),
        excerpt: excerpt(raw),
    };
    let mut fact = |key, value, reason: &str| {
        if !obs
            .facts
            .iter()
            .any(|f: &InferredFact| f.key == key && f.value == value)
        {
            obs.facts.push(InferredFact {
                key,
                value,
                reason: reason.to_string(),
                evidence: vec![ev.clone()],
            });
        }
    };
    fact(
        FactKey::PasswordsUsed,
        true,
        "login accounts with password fields in the image",
    );
    fact(
        FactKey::UserAuthentication,
        true,
        "login accounts in the image",
    );
    if hashed {
        fact(
            FactKey::PreinstalledPasswords,
            true,
            "a password hash ships in the image",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::is_account_file;

    #[test]
    fn account_files() {
        for p in [
            "/etc/passwd",
            "/etc/shadow",
            "/etc/passwd.bak",
            "/etc/shadow-",
            "/var/passwd",
        ] {
            assert!(is_account_file(p), "{p}");
        }
        for p in ["/usr/bin/passwdx", "/etc/passwords", "/lib/libshadow.so"] {
            assert!(!is_account_file(p), "{p}");
        }
    }
}
