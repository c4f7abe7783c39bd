//! Services that start outside the rc scripts' command lines: inetd and xinetd (on
//! connection), systemd units enabled by `.wants` links, nvram service switches read by the
//! init binary, and daemons whose command lines sit inside a boot-started binary. Also the
//! OpenWrt UCI switch that disables an init script.

use std::collections::{BTreeMap, BTreeSet};

use iotassure_core::finding::Evidence;
use iotassure_core::tree::EntryKind;

use super::bootgraph::Script;
use super::services::{daemon, default_user, ports_of, program_path, Service};
use crate::text::{excerpt, strip_comment};
use crate::{nvram, Root};

/// An OpenWrt init script whose UCI config disables the service (`option disabled '1'` or
/// `option enabled '0'`).
pub(super) fn uci_disabled(root: &Root<'_>, script: &str) -> Option<String> {
    let name = script.strip_prefix("/etc/init.d/")?;
    let path = format!("/etc/config/{name}");
    let (_, text) = root.text(&path)?;
    let opts: Vec<String> = text
        .lines()
        .map(|l| {
            strip_comment(l)
                .replace(['\'', '"'], "")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let off = opts
        .iter()
        .any(|l| l == "option disabled 1" || l == "option enabled 0");
    let on = opts
        .iter()
        .any(|l| l == "option disabled 0" || l == "option enabled 1");
    (off && !on).then(|| format!("disabled in UCI ({path})"))
}

/// inetd.conf and xinetd.d: services started on connection.
pub(super) fn inetd(root: &Root<'_>, scripts: &BTreeMap<String, Script>, out: &mut Vec<Service>) {
    for s in scripts.values() {
        if s.path.ends_with("/inetd.conf") {
            for (n, line) in &s.lines {
                let code = strip_comment(line);
                let f: Vec<&str> = code.split_whitespace().collect();
                if f.len() < 6 {
                    continue;
                }
                let server = f[5].rsplit('/').next().unwrap_or("");
                let prog = if ["tcpd", "tcpsvd"].contains(&server) {
                    f.get(6)
                        .and_then(|a| a.rsplit('/').next())
                        .unwrap_or(server)
                } else {
                    server
                };
                let d = daemon(prog);
                out.push(Service {
                    program: prog.to_string(),
                    path: program_path(root, f[5], prog),
                    protocol: d.map(|d| d.1).unwrap_or(f[0]).to_string(),
                    ports: format!("{}/{}", f[0], f[2].trim_end_matches('6')),
                    user: f[4].split(['.', ':']).next().unwrap_or("root").to_string(),
                    user_basis: "inetd.conf user field".into(),
                    start: format!("on connection, by inetd ({})", s.path),
                    at_boot: true,
                    evidence: Evidence {
                        location: root.location(&s.path, Some(*n), None),
                        excerpt: excerpt(line),
                    },
                    line: code.to_string(),
                });
            }
        }
        if s.path.starts_with("/etc/xinetd.d/") {
            let get = |k: &str| {
                s.lines.iter().find_map(|(n, l)| {
                    let (a, b) = l.split_once('=')?;
                    (a.trim() == k).then(|| (*n, b.trim().to_string()))
                })
            };
            let disabled = get("disable").is_some_and(|(_, v)| v == "yes");
            let Some((n, server)) = get("server") else {
                continue;
            };
            let prog = server.rsplit('/').next().unwrap_or("").to_string();
            let d = daemon(&prog);
            out.push(Service {
                program: prog.clone(),
                path: program_path(root, &server, &prog),
                protocol: d.map(|d| d.1).unwrap_or("").to_string(),
                ports: get("port")
                    .map(|(_, p)| p)
                    .or_else(|| d.map(|d| d.2.to_string()))
                    .unwrap_or_default(),
                user: get("user").map(|(_, u)| u).unwrap_or_else(|| "root".into()),
                user_basis: "xinetd user attribute".into(),
                start: if disabled {
                    format!("disabled in {}", s.path)
                } else {
                    format!("on connection, by xinetd ({})", s.path)
                },
                at_boot: !disabled,
                evidence: Evidence {
                    location: root.location(&s.path, Some(n), None),
                    excerpt: format!("server = {server}"),
                },
                line: server,
            });
        }
    }
}

/// systemd units enabled through *.wants links.
pub(super) fn systemd(root: &Root<'_>, out: &mut Vec<Service>) {
    for (path, e) in root.view.entries() {
        let unit_link = path.contains(".wants/") && path.ends_with(".service");
        let linkable = matches!(e.kind, EntryKind::Symlink { .. } | EntryKind::File);
        if !unit_link || !linkable {
            continue;
        }
        let Some((unit_path, _)) = root.view.resolve(&path) else {
            continue;
        };
        let Some((_, text)) = root.text(&unit_path) else {
            continue;
        };
        let get = |k: &str| {
            text.lines().enumerate().find_map(|(i, l)| {
                l.trim()
                    .strip_prefix(k)
                    .and_then(|r| r.strip_prefix('='))
                    .map(|v| (i as u32 + 1, v.trim().to_string()))
            })
        };
        let Some((n, exec)) = get("ExecStart") else {
            continue;
        };
        let cmd = exec.trim_start_matches(['-', '@', '+', '!']);
        let first = cmd.split_whitespace().next().unwrap_or("");
        let prog = first.rsplit('/').next().unwrap_or("").to_string();
        let d = daemon(&prog);
        let user = get("User").map(|(_, u)| u);
        out.push(Service {
            program: prog.clone(),
            path: program_path(root, first, &prog),
            protocol: d.map(|d| d.1).unwrap_or("").to_string(),
            ports: d.map(|d| ports_of(cmd, d)).unwrap_or_default(),
            user: user
                .clone()
                .or_else(|| default_user(&prog).map(str::to_string))
                .unwrap_or_else(|| "root".into()),
            user_basis: if user.is_some() {
                "systemd User=".into()
            } else {
                "no User= in the unit".into()
            },
            start: format!("at boot (systemd, enabled by {path})"),
            at_boot: true,
            evidence: Evidence {
                location: root.location(&unit_path, Some(n), None),
                excerpt: format!("ExecStart={exec}"),
            },
            line: cmd.to_string(),
        });
    }
}

/// nvram service switches (`telnetd_enable=1`) read by the init binary.
pub(super) fn nvram_services(root: &Root<'_>, out: &mut Vec<Service>) {
    let vars = nvram::defaults(root);
    for v in &vars {
        let Some(name) = v.key.strip_suffix("_enable") else {
            continue;
        };
        let prog = match name {
            "telnetd" | "telnet" => "telnetd",
            "sshd" => "dropbear",
            "http" | "httpd" => "httpd",
            "upnp" => "upnpd",
            "snmpd" | "snmp" => "snmpd",
            "tftpd" | "tftp" => "tftpd",
            "ftp" | "ftpd" | "proftpd" => "ftpd",
            _ => continue,
        };
        // The switch matters only if a boot binary reads it.
        let reader = root
            .files
            .iter()
            .find(|f| f.elf.is_some() && memchr::memmem::find(&f.data, v.key.as_bytes()).is_some());
        let Some(reader) = reader else { continue };
        let on = v.value == "1";
        let d = daemon(prog).expect("table");
        out.push(Service {
            program: prog.to_string(),
            path: program_path(root, prog, prog),
            protocol: d.1.to_string(),
            ports: d.2.to_string(),
            user: "root".into(),
            user_basis: format!(
                "started by the init binary ({}) with no user switch",
                reader.path
            ),
            start: if on {
                format!(
                    "at boot: nvram default {}=1, read by {}",
                    v.key, reader.path
                )
            } else {
                format!("off by default ({}={})", v.key, v.value)
            },
            at_boot: on,
            evidence: Evidence {
                location: root.location(&v.path, v.line, v.offset),
                excerpt: format!("{}={}", v.key, v.value),
            },
            line: format!("{}={}", v.key, v.value),
        });
    }
}

/// Daemons whose command lines are strings inside a boot-started binary (a vendor service
/// manager such as TP-Link's `cos`).
pub(super) fn launched_by_binaries(root: &Root<'_>, out: &mut Vec<Service>) {
    let starters: Vec<String> = out
        .iter()
        .filter(|s| s.at_boot && s.protocol.is_empty())
        .filter_map(|s| s.path.clone())
        .collect();
    let mut seen: BTreeSet<String> = out.iter().map(|s| s.program.clone()).collect();
    for sp in starters {
        let Some(f) = root.file(&sp) else { continue };
        for part in f.data.split(|b| *b == 0) {
            let Ok(s) = std::str::from_utf8(part) else {
                continue;
            };
            let first = s.split_whitespace().next().unwrap_or("");
            let prog = first.rsplit('/').next().unwrap_or("");
            let Some(d) = daemon(prog) else { continue };
            // A command line: the bare name, or with arguments or `&`.
            if !(s == first || s.starts_with(&format!("{first} ")))
                || !seen.insert(prog.to_string())
            {
                continue;
            }
            let off = memchr::memmem::find(&f.data, part).unwrap_or(0);
            out.push(Service {
                program: prog.to_string(),
                path: program_path(root, first, prog),
                protocol: d.1.to_string(),
                ports: d.2.to_string(),
                user: "root".into(),
                user_basis: format!("launched by {sp} (root) with no user switch visible",),
                start: format!("launched by {sp} (the condition is inside the binary)"),
                at_boot: false,
                evidence: Evidence {
                    location: root.location(&f.path, None, Some(off as u64)),
                    excerpt: excerpt(s),
                },
                line: s.to_string(),
            });
        }
    }
}
