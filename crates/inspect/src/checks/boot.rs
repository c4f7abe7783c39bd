//! What starts at boot (5.6-1, 5.6-4): remote shells (telnet, rlogin, rsh) launched from inittab,
//! init.d/rc.d, rc scripts or inetd, and interactive consoles on serial lines.
//!
//! "Started at boot" is decided by reachability: inittab, rcS and rc.local run at boot; an
//! init.d script runs when an rc.d `S` link points at it, when its name starts with `S??`
//! (busybox rcS), or when a file that runs at boot names it; any other script runs when a file
//! that runs at boot names it.

use std::collections::{BTreeMap, BTreeSet};

use iotassure_core::facts::{FactKey, InferredFact};
use iotassure_core::finding::{Evidence, Finding, Observations, Outcome, Severity, Source};
use iotassure_core::tree::{EntryKind, RootfsView};

use super::Check;
use crate::text::{excerpt, is_text, numbered_lines, strip_comment};
use crate::Ctx;

pub const CHECK: Check = Check {
    id: "5.6-1-fw-boot-services",
    provisions: &["5.6-1", "5.6-4"],
    run,
};

/// Remote-shell daemons: plaintext logins over the network.
const REMOTE_SHELLS: &[(&str, &str)] = &[
    ("telnetd", "telnet"),
    ("utelnetd", "telnet"),
    ("in.telnetd", "telnet"),
    ("rlogind", "rlogin"),
    ("in.rlogind", "rlogin"),
    ("rshd", "rsh"),
    ("in.rshd", "rsh"),
    ("rexecd", "rexec"),
];
/// Other remote logins, recorded in the service list.
const OTHER_LOGINS: &[(&str, &str)] = &[("dropbear", "ssh"), ("sshd", "ssh")];

const BOOT_ROOTS: &[&str] = &[
    "/etc/inittab",
    "/etc/rc.local",
    "/etc/rcS",
    "/etc/init.d/rcS",
    "/etc/rc.d/rcS",
    "/etc/rc",
    "/etc/rc.d/rc.local",
    "/etc/rc.d/rc.sysinit",
    "/etc/init.d/rc.local",
];

const SHELLS: &[&str] = &["sh", "ash", "bash", "hush", "msh", "dash", "zsh", "ksh"];

fn is_boot_script_path(p: &str) -> bool {
    p.starts_with("/etc/")
        || p.starts_with("/sbin/")
        || p.starts_with("/usr/sbin/")
        || p.starts_with("/usr/etc/")
}

struct Script {
    path: String,
    lines: Vec<(u32, String)>,
}

fn run(ctx: &Ctx<'_>, obs: &mut Observations) {
    let mut examined = 0u64;
    for view in &ctx.roots {
        let scripts = load_scripts(view);
        examined += scripts.len() as u64;
        let enabled = reachable(view, &scripts);
        remote_shells(view, &scripts, &enabled, obs);
        consoles(view, &scripts, obs);
    }
    obs.ran(CHECK.id, Source::Firmware, CHECK.provisions, examined);
}

fn load_scripts(view: &RootfsView<'_>) -> BTreeMap<String, Script> {
    let mut out = BTreeMap::new();
    for (path, entry) in view.files() {
        if !is_boot_script_path(&path) || entry.size > 256 << 10 {
            continue;
        }
        let Ok(data) = view.read_entry(entry, 256 << 10) else {
            continue;
        };
        if !is_text(&data) {
            continue;
        }
        out.insert(
            path.clone(),
            Script {
                path,
                lines: numbered_lines(&data),
            },
        );
    }
    out
}

/// Paths of scripts that run at boot.
fn reachable(view: &RootfsView<'_>, scripts: &BTreeMap<String, Script>) -> BTreeSet<String> {
    let mut on: BTreeSet<String> = BOOT_ROOTS
        .iter()
        .filter(|p| scripts.contains_key(**p))
        .map(|p| p.to_string())
        .collect();
    // rc.d / rcN.d start links.
    for (path, e) in view.entries() {
        let in_rc = path.starts_with("/etc/rc.d/")
            || (path.starts_with("/etc/rc") && path.contains(".d/S"));
        let base = path.rsplit('/').next().unwrap_or("");
        if in_rc && base.starts_with('S') {
            if let EntryKind::Symlink { .. } = e.kind {
                if let Some((target, _)) = view.resolve(&path) {
                    on.insert(target);
                }
            } else if scripts.contains_key(&path) {
                on.insert(path.clone());
            }
        }
        if path.starts_with("/etc/init.d/S")
            && base.len() > 3
            && base[1..3].bytes().all(|b| b.is_ascii_digit())
            && scripts.contains_key(&path)
        {
            on.insert(path);
        }
    }
    // Whatever a running script names also runs (a few rounds suffice for real boot chains).
    for _ in 0..6 {
        let mut added = Vec::new();
        for p in &on {
            let Some(s) = scripts.get(p) else { continue };
            for (_, line) in &s.lines {
                let code = strip_comment(line);
                if code.trim().is_empty() {
                    continue;
                }
                for other in scripts.keys() {
                    if on.contains(other) || added.contains(other) {
                        continue;
                    }
                    let base = other.rsplit('/').next().unwrap_or("");
                    let named = code.contains(other.as_str())
                        || (base.len() > 3
                            && base.contains('.')
                            && code
                                .split(|c: char| {
                                    c.is_whitespace()
                                        || c == '/'
                                        || c == ';'
                                        || c == '"'
                                        || c == '\''
                                })
                                .any(|w| w == base));
                    if named {
                        added.push(other.clone());
                    }
                }
            }
        }
        if added.is_empty() {
            break;
        }
        on.extend(added);
    }
    on
}

/// The daemon a line of shell code launches, if it is one of `table`.
fn launches<'t>(code: &str, table: &'t [(&'t str, &'t str)]) -> Option<(&'t str, &'t str)> {
    let words: Vec<&str> = code
        .split(|c: char| {
            c.is_whitespace() || c == ';' || c == '&' || c == '|' || c == '(' || c == '`'
        })
        .filter(|w| !w.is_empty())
        .collect();
    for (i, w) in words.iter().enumerate() {
        let prog = w
            .trim_matches(|c| c == '"' || c == '\'')
            .rsplit('/')
            .next()
            .unwrap_or("");
        for (daemon, proto) in table {
            if prog == *daemon {
                // A command position: start of line, after exec/nice/start-stop-daemon options,
                // or a procd command parameter.
                let prev = if i == 0 { "" } else { words[i - 1] };
                let cmd_pos = i == 0
                    || [
                        "exec",
                        "nice",
                        "nohup",
                        "command",
                        "--exec",
                        "-x",
                        "--startas",
                        "busybox",
                        "then",
                        "do",
                        "else",
                    ]
                    .contains(&prev)
                    || prev.ends_with("procd_set_param")
                    || words.get(i.wrapping_sub(2)) == Some(&"procd_set_param")
                    || prev == "service_start";
                if cmd_pos {
                    return Some((daemon, proto));
                }
            }
        }
    }
    None
}

fn remote_shells(
    view: &RootfsView<'_>,
    scripts: &BTreeMap<String, Script>,
    enabled: &BTreeSet<String>,
    obs: &mut Observations,
) {
    for s in scripts.values() {
        let is_inittab = s.path == "/etc/inittab";
        let is_inetd = s.path.ends_with("inetd.conf");
        for (n, line) in &s.lines {
            let code = strip_comment(line);
            if code.trim().is_empty() {
                continue;
            }
            let code_for_match = if is_inittab {
                code.rsplit(':').next().unwrap_or("")
            } else {
                code
            };
            let hit = if is_inetd {
                REMOTE_SHELLS
                    .iter()
                    .find(|(d, _)| {
                        code.split_whitespace()
                            .any(|w| w.rsplit('/').next() == Some(d))
                    })
                    .copied()
            } else {
                launches(code_for_match, REMOTE_SHELLS)
            };
            let at_boot = enabled.contains(&s.path) || is_inetd;
            if let Some((daemon, proto)) = hit {
                let no_login = code.contains(" -l /bin/sh")
                    || code.contains(" -l /bin/ash")
                    || code.contains(" -l sh");
                let (outcome, sev, when) = if at_boot {
                    (
                        Outcome::Fail,
                        if no_login {
                            Severity::Critical
                        } else {
                            Severity::High
                        },
                        "starts at boot",
                    )
                } else {
                    (
                        Outcome::Info,
                        Severity::Low,
                        "is present but not started at boot by any script found",
                    )
                };
                let mut f = Finding::new(CHECK.id, &["5.6-1"], outcome, sev, Source::Firmware, format!("{proto} ({daemon}) {when} from {}", s.path))
                    .detail(format!(
                        "{proto} is a plaintext remote login; an interface like this should be disabled unless the product needs it.{}",
                        if no_login { " It hands out a shell without any login." } else { "" }
                    ))
                    .evidence(view.location(&s.path, Some(*n), None), excerpt(line));
                if at_boot && is_inetd {
                    f.detail = Some(format!(
                        "{} (inetd listens for it whenever inetd runs.)",
                        f.detail.unwrap_or_default()
                    ));
                }
                obs.findings.push(f);
            } else if at_boot {
                if let Some((daemon, proto)) = launches(code_for_match, OTHER_LOGINS) {
                    obs.findings.push(
                        Finding::new(
                            CHECK.id,
                            &["5.6-1"],
                            Outcome::Info,
                            Severity::Info,
                            Source::Firmware,
                            format!("{proto} ({daemon}) starts at boot from {}", s.path),
                        )
                        .evidence(view.location(&s.path, Some(*n), None), excerpt(line)),
                    );
                }
            }
        }
    }
}

/// inittab entries that give an interactive session on a console (5.6-4).
fn consoles(view: &RootfsView<'_>, scripts: &BTreeMap<String, Script>, obs: &mut Observations) {
    let Some(inittab) = scripts.get("/etc/inittab") else {
        return;
    };
    for (n, line) in &inittab.lines {
        let code = strip_comment(line).trim();
        if code.is_empty() {
            continue;
        }
        let f: Vec<&str> = code.splitn(4, ':').collect();
        if f.len() != 4 {
            continue;
        }
        let (id, action, process) = (f[0], f[2], f[3].trim());
        if !["respawn", "askfirst", "askconsole", "once", "wait"].contains(&action) {
            continue;
        }
        let mut words = process.split_whitespace();
        let prog = words.next().unwrap_or("").trim_start_matches('-');
        let base = prog.rsplit('/').next().unwrap_or("");
        let shell = SHELLS.contains(&base);
        let login = base == "login" || base.contains("getty");
        if !shell && !login {
            continue;
        }
        let tty = if id.starts_with("tty") || id.starts_with("console") {
            id.to_string()
        } else {
            words
                .find(|w| w.starts_with("tty") || *w == "console")
                .unwrap_or("the console")
                .to_string()
        };
        let (sev, what) = if shell {
            (
                Severity::High,
                format!("a shell without login on {tty} ({action})"),
            )
        } else {
            (
                Severity::Medium,
                format!("a login prompt on {tty} ({action})"),
            )
        };
        let ev = Evidence {
            location: view.location("/etc/inittab", Some(*n), None),
            excerpt: excerpt(line),
        };
        obs.findings.push(
            Finding::new(CHECK.id, &["5.6-4"], Outcome::Fail, sev, Source::Firmware, format!("serial console: {what}"))
                .detail("A console on a serial line is a debug interface left enabled in software; EN 303 645 expects no logon prompt and no interactive menu on it.")
                .evidence(ev.location.clone(), ev.excerpt.clone()),
        );
        if !obs
            .facts
            .iter()
            .any(|f| f.key == FactKey::DebugInterfaceAccessible)
        {
            obs.facts.push(InferredFact {
                key: FactKey::DebugInterfaceAccessible,
                value: true,
                reason: format!("/etc/inittab runs {process} on {tty}"),
                evidence: vec![ev],
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launch_positions() {
        assert!(launches("telnetd -l /bin/login.sh", REMOTE_SHELLS).is_some());
        assert!(launches("  /usr/sbin/telnetd -p 23 &", REMOTE_SHELLS).is_some());
        assert!(launches(
            "procd_set_param command /usr/sbin/telnetd -F -l /bin/login.sh",
            REMOTE_SHELLS
        )
        .is_some());
        assert!(launches("start-stop-daemon -S -x telnetd", REMOTE_SHELLS).is_some());
        assert!(launches("killall telnetd", REMOTE_SHELLS).is_none());
        assert!(launches("echo telnetd disabled", REMOTE_SHELLS).is_none());
    }
}
