//! Boot and services (5.6-1, 5.6-2, 5.6-4, 5.6-5, 5.6-7, 5.5-7): what starts at boot, from
//! inittab, init.d/rc.d, rc.local and rcS, OpenWrt procd scripts and UCI, systemd units,
//! inetd.conf and xinetd, nvram service switches, and daemons launched by boot-started
//! binaries. The result is a service list, each with its start condition, ports and user.
//! Flags plaintext remote logins (telnet, rlogin, FTP), TFTP, SNMP with public communities,
//! UPnP without secure mode, serial consoles (a login prompt or a bare shell), and
//! network-facing services that run as root.
//!
//! "Started at boot" is decided by reachability: inittab, rcS and rc.local run at boot; an
//! init.d script runs when an rc.d `S` link points at it, when its name starts with `S??`
//! (busybox rcS), or when a file that runs at boot names it.

use std::collections::{BTreeMap, BTreeSet};

use iotassure_core::facts::{FactKey, InferredFact};
use iotassure_core::finding::{
    Evidence, Finding, Location, Observations, Outcome, Severity, Source,
};
use iotassure_core::tree::EntryKind;

use super::Check;
use crate::text::{excerpt, numbered_lines, strip_comment};
use crate::{nvram, Ctx, Root};

pub const CHECK: Check = Check {
    id: "5.6-1-fw-services",
    provisions: &[
        "5.6-1", "5.6-2", "5.6-4", "5.6-5", "5.6-7", "5.5-7", "5.1-1",
    ],
    run,
};

/// Known daemons: (program, service, default ports, kind).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// Plaintext remote login (telnet, rlogin, rsh, rexec).
    RemoteShell,
    Ftp,
    Tftp,
    Ssh,
    Web,
    Snmp,
    Upnp,
    Mqtt,
    /// Vendor debug or factory services.
    Debug,
    /// Other network daemons.
    Net,
}

const DAEMONS: &[(&str, &str, &str, Kind)] = &[
    ("telnetd", "telnet", "23/tcp", Kind::RemoteShell),
    ("utelnetd", "telnet", "23/tcp", Kind::RemoteShell),
    ("in.telnetd", "telnet", "23/tcp", Kind::RemoteShell),
    ("rlogind", "rlogin", "513/tcp", Kind::RemoteShell),
    ("in.rlogind", "rlogin", "513/tcp", Kind::RemoteShell),
    ("rshd", "rsh", "514/tcp", Kind::RemoteShell),
    ("in.rshd", "rsh", "514/tcp", Kind::RemoteShell),
    ("rexecd", "rexec", "512/tcp", Kind::RemoteShell),
    ("ftpd", "ftp", "21/tcp", Kind::Ftp),
    ("in.ftpd", "ftp", "21/tcp", Kind::Ftp),
    ("vsftpd", "ftp", "21/tcp", Kind::Ftp),
    ("proftpd", "ftp", "21/tcp", Kind::Ftp),
    ("pure-ftpd", "ftp", "21/tcp", Kind::Ftp),
    ("bftpd", "ftp", "21/tcp", Kind::Ftp),
    ("tftpd", "tftp", "69/udp", Kind::Tftp),
    ("in.tftpd", "tftp", "69/udp", Kind::Tftp),
    ("atftpd", "tftp", "69/udp", Kind::Tftp),
    ("udpsvd", "udp service", "", Kind::Net),
    ("dropbear", "ssh", "22/tcp", Kind::Ssh),
    ("sshd", "ssh", "22/tcp", Kind::Ssh),
    ("httpd", "http", "80/tcp", Kind::Web),
    ("uhttpd", "http", "80/tcp", Kind::Web),
    ("lighttpd", "http", "80/tcp", Kind::Web),
    ("mini_httpd", "http", "80/tcp", Kind::Web),
    ("thttpd", "http", "80/tcp", Kind::Web),
    ("boa", "http", "80/tcp", Kind::Web),
    ("goahead", "http", "80/tcp", Kind::Web),
    ("webs", "http", "80/tcp", Kind::Web),
    ("nginx", "http", "80/tcp", Kind::Web),
    ("miniweb", "http", "80/tcp", Kind::Web),
    ("snmpd", "snmp", "161/udp", Kind::Snmp),
    ("miniupnpd", "upnp", "1900/udp", Kind::Upnp),
    ("upnpd", "upnp", "1900/udp", Kind::Upnp),
    ("mosquitto", "mqtt", "1883/tcp", Kind::Mqtt),
    ("tddp", "TP-Link debug protocol", "1040/udp", Kind::Debug),
    ("adbd", "android debug bridge", "5555/tcp", Kind::Debug),
    ("dnsmasq", "dns/dhcp", "53/udp 67/udp", Kind::Net),
    ("udhcpd", "dhcp", "67/udp", Kind::Net),
    ("dhcpd", "dhcp", "67/udp", Kind::Net),
    ("dnrd", "dns relay", "53/udp", Kind::Net),
    ("dnsProxy", "dns relay", "53/udp", Kind::Net),
    ("smbd", "smb", "445/tcp", Kind::Net),
    ("rtspd", "rtsp", "554/tcp", Kind::Net),
    ("lld2d", "lltd", "", Kind::Net),
    ("wscd", "wps", "", Kind::Net),
    ("rpcbind", "rpc", "111/tcp", Kind::Net),
    ("portmap", "rpc", "111/tcp", Kind::Net),
];

fn daemon(prog: &str) -> Option<&'static (&'static str, &'static str, &'static str, Kind)> {
    DAEMONS.iter().find(|d| d.0 == prog)
}

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

/// Daemons that must start as root to authenticate users and switch to them.
const NEEDS_ROOT: &[&str] = &[
    "dropbear",
    "sshd",
    "login",
    "getty",
    "telnetd",
    "utelnetd",
    "in.telnetd",
    "vsftpd",
    "proftpd",
    "init",
    "procd",
];

#[derive(Debug, Clone)]
pub struct Service {
    pub program: String,
    pub path: Option<String>,
    pub protocol: String,
    pub ports: String,
    pub user: String,
    /// How sure the user is: explicit switch, default of the daemon, or "no switch seen".
    pub user_basis: String,
    pub start: String,
    pub at_boot: bool,
    pub evidence: Evidence,
    pub line: String,
}

struct Script {
    path: String,
    lines: Vec<(u32, String)>,
}

fn is_boot_script_path(p: &str) -> bool {
    p.starts_with("/etc/")
        || p.starts_with("/sbin/")
        || p.starts_with("/usr/sbin/")
        || p.starts_with("/usr/etc/")
        || p.starts_with("/lib/systemd/")
        || p.starts_with("/usr/lib/systemd/")
}

fn run(ctx: &Ctx<'_>, obs: &mut Observations) {
    let mut examined = 0u64;
    for root in &ctx.roots {
        let scripts = load_scripts(root);
        examined += scripts.len() as u64;
        let enabled = reachable(root, &scripts);
        let mut services = Vec::new();
        script_services(root, &scripts, &enabled, &mut services);
        inetd(root, &scripts, &mut services);
        systemd(root, &mut services);
        nvram_services(root, &mut services);
        launched_by_binaries(root, &mut services);
        consoles(root, &scripts, obs);
        judge(root, &services, obs);
        snmp_upnp(root, &scripts, &services, obs);
        service_list(&services, obs);
    }
    obs.ran(CHECK.id, Source::Firmware, CHECK.provisions, examined);
}

fn load_scripts(root: &Root<'_>) -> BTreeMap<String, Script> {
    let mut out = BTreeMap::new();
    for f in &root.files {
        if !is_boot_script_path(&f.path) || f.data.len() > 256 << 10 || !f.is_text() {
            continue;
        }
        out.insert(
            f.path.clone(),
            Script {
                path: f.path.clone(),
                lines: numbered_lines(&f.data),
            },
        );
    }
    out
}

/// Paths of scripts that run at boot.
fn reachable(root: &Root<'_>, scripts: &BTreeMap<String, Script>) -> BTreeSet<String> {
    let view = &root.view;
    let mut on: BTreeSet<String> = BOOT_ROOTS
        .iter()
        .filter(|p| scripts.contains_key(**p))
        .map(|p| p.to_string())
        .collect();
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
        {
            // busybox rcS runs `/etc/init.d/S??*`, and vendors often link those names to
            // scripts kept elsewhere (DIR-300: S10system.sh -> /etc/scripts/system.sh).
            if let EntryKind::Symlink { .. } = e.kind {
                if let Some((target, _)) = view.resolve(&path) {
                    on.insert(target);
                }
            } else if scripts.contains_key(&path) {
                on.insert(path);
            }
        }
    }
    let by_base: BTreeMap<&str, Vec<&String>> = scripts.keys().fold(BTreeMap::new(), |mut m, k| {
        m.entry(k.rsplit('/').next().unwrap_or(""))
            .or_insert_with(Vec::new)
            .push(k);
        m
    });
    for _ in 0..6 {
        let mut added = Vec::new();
        for p in &on {
            let Some(s) = scripts.get(p) else { continue };
            for (_, line) in &s.lines {
                let code = strip_comment(line);
                if code.trim().is_empty() {
                    continue;
                }
                for w in code.split(|c: char| {
                    c.is_whitespace()
                        || c == ';'
                        || c == '"'
                        || c == '\''
                        || c == '`'
                        || c == '('
                        || c == ')'
                }) {
                    if w.is_empty() {
                        continue;
                    }
                    if w.starts_with('/') && scripts.contains_key(w) && !on.contains(w) {
                        added.push(w.to_string());
                        continue;
                    }
                    let base = w.rsplit('/').next().unwrap_or("");
                    if base.len() > 3 && base.contains('.') {
                        for other in by_base.get(base).into_iter().flatten() {
                            if !on.contains(*other) {
                                added.push((*other).clone());
                            }
                        }
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

/// Splits shell code into words (quotes trimmed).
fn words(code: &str) -> Vec<&str> {
    code.split(|c: char| {
        c.is_whitespace() || c == ';' || c == '&' || c == '|' || c == '(' || c == '`'
    })
    .filter(|w| !w.is_empty())
    .map(|w| w.trim_matches(|c| c == '"' || c == '\''))
    .filter(|w| !w.is_empty())
    .collect()
}

const PREFIXES: &[&str] = &[
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
    "setsid",
    "chroot",
    "-a",
];

/// Programs a line of shell code launches (command positions only), with their word index.
fn launched(code: &str) -> Vec<(usize, String)> {
    let w = words(code);
    let mut out = Vec::new();
    for (i, word) in w.iter().enumerate() {
        let prog = word.rsplit('/').next().unwrap_or("");
        if prog.is_empty() {
            continue;
        }
        let prev = if i == 0 { "" } else { w[i - 1] };
        let cmd_pos = i == 0
            || PREFIXES.contains(&prev)
            || prev == "command" && w.get(i.wrapping_sub(2)) == Some(&"procd_set_param")
            || prev == "service_start"
            || prev.ends_with("procd_set_param") && *word == "command";
        if PREFIXES.contains(word)
            || [
                "procd_set_param",
                "start-stop-daemon",
                "service_start",
                "if",
                "then",
                "else",
                "do",
                "while",
            ]
            .contains(word)
        {
            continue;
        }
        let name_like = prog
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
            && !prog.starts_with('-')
            && !prog.contains("=");
        if cmd_pos && name_like && !word.contains('$') {
            out.push((i, prog.to_string()));
        }
    }
    out
}

/// The user a launch line switches to, if it says.
fn user_switch(code: &str, prog: &str) -> Option<String> {
    let w = words(code);
    for (i, x) in w.iter().enumerate() {
        let next = w.get(i + 1).map(|s| s.to_string());
        match *x {
            "-c" | "--chuid" if w.contains(&"start-stop-daemon") => {
                return next.map(|u| u.split(':').next().unwrap_or("").to_string())
            }
            "-u" if ["chpst", "runuser", "sudo"].iter().any(|p| w.contains(p)) => return next,
            "setuidgid" | "su" => return next.filter(|u| !u.starts_with('-')),
            "-u" | "--user"
                if ["dnsmasq", "ntpd", "mosquitto", "avahi-daemon", "lighttpd"].contains(&prog) =>
            {
                return next
            }
            _ => {}
        }
        if let Some(u) = x.strip_prefix("--user=") {
            return Some(u.to_string());
        }
    }
    None
}

/// Daemons that drop to an unprivileged user by default (their documentation says so).
fn default_user(prog: &str) -> Option<&'static str> {
    match prog {
        "dnsmasq" => Some("nobody"),
        "mosquitto" => Some("mosquitto"),
        "avahi-daemon" => Some("avahi"),
        _ => None,
    }
}

fn ports_of(code: &str, d: &(&str, &str, &str, Kind)) -> String {
    let w = words(code);
    for (i, x) in w.iter().enumerate() {
        if (*x == "-p" || *x == "--port") && w.get(i + 1).is_some_and(|p| p.parse::<u16>().is_ok())
        {
            let proto = d.2.split('/').nth(1).unwrap_or("tcp");
            return format!("{}/{proto}", w[i + 1]);
        }
    }
    d.2.to_string()
}

fn program_path(root: &Root<'_>, word: &str, prog: &str) -> Option<String> {
    if word.starts_with('/') {
        return root.view.resolve(word).map(|(p, _)| p);
    }
    for dir in ["/usr/sbin/", "/usr/bin/", "/sbin/", "/bin/"] {
        if let Some((p, _)) = root.view.resolve(&format!("{dir}{prog}")) {
            return Some(p);
        }
    }
    None
}

/// Whether root has no password as the image's own scripts read it (OpenWrt starts telnet
/// only then), with the reason when the field is not literally empty.
fn root_password_empty(root: &Root<'_>) -> Option<(bool, String)> {
    let st = crate::nopass::root_state(root)?;
    let why = if st.empty_by_scripts() {
        let f = &st.fields[0];
        format!(
            "{} holds `{}`, which {} reads as no password",
            f.0,
            f.3,
            st.rules
                .iter()
                .map(|r| format!("{}:{}", r.path, r.line))
                .collect::<Vec<_>>()
                .join(" and ")
        )
    } else {
        String::new()
    };
    Some((st.no_password, why))
}

fn script_services(
    root: &Root<'_>,
    scripts: &BTreeMap<String, Script>,
    enabled: &BTreeSet<String>,
    out: &mut Vec<Service>,
) {
    for s in scripts.values() {
        if s.path.ends_with("inetd.conf")
            || s.path.contains("/xinetd")
            || s.path.contains("/systemd/")
        {
            continue;
        }
        let is_inittab = s.path == "/etc/inittab";
        let procd_user = s.lines.iter().find_map(|(_, l)| {
            let w = words(strip_comment(l));
            (w.first() == Some(&"procd_set_param") && w.get(1) == Some(&"user"))
                .then(|| w.get(2).map(|u| u.to_string()))
                .flatten()
        });
        let needs_no_root_pw = s.lines.iter().any(|(_, l)| l.contains("has_root_pwd"));
        let mut depth = 0i32;
        for (n, line) in &s.lines {
            let code = strip_comment(line);
            let t = code.trim();
            if t.starts_with("if ") || t.starts_with("case ") || t.ends_with("&& {") {
                depth += 1;
            }
            if t == "fi" || t.starts_with("fi ") || t == "esac" || t == "}" {
                depth = (depth - 1).max(0);
            }
            if t.is_empty() {
                continue;
            }
            let code = if is_inittab {
                let f: Vec<&str> = code.splitn(4, ':').collect();
                if f.len() != 4
                    || !["respawn", "once", "sysinit", "wait", "boot", "bootwait"].contains(&f[2])
                {
                    continue;
                }
                f[3]
            } else {
                code
            };
            let bg = code.trim_end().ends_with('&');
            for (i, prog) in launched(code) {
                let d = daemon(&prog);
                let w = words(code);
                let path = program_path(root, w[i], &prog);
                // A service: a known daemon, or a program from the image started in the
                // background or by procd.
                let procd = code.contains("procd_set_param");
                if d.is_none() && !(bg || procd || is_inittab)
                    || [
                        "echo", "test", "[", "insmod", "modprobe", "mount", "mkdir", "cp", "rm",
                        "ln", "sleep", "kill", "killall", "ifconfig", "sh", "ash", "bash", "cat",
                        "true", "false",
                    ]
                    .contains(&prog.as_str())
                {
                    continue;
                }
                if d.is_none()
                    && path
                        .as_deref()
                        .is_none_or(|p| root.file(p).is_none_or(|f| f.elf.is_none()))
                {
                    continue;
                }
                let (user, basis) = match user_switch(code, &prog).or_else(|| {
                    if procd {
                        procd_user.clone()
                    } else {
                        None
                    }
                }) {
                    Some(u) => (u, "switched by the start command".to_string()),
                    None => match default_user(&prog) {
                        Some(u) => (u.to_string(), format!("{prog} drops to {u} by default")),
                        None => (
                            "root".to_string(),
                            "started by init scripts with no user switch".to_string(),
                        ),
                    },
                };
                let mut at_boot = enabled.contains(&s.path);
                let mut start = if is_inittab {
                    "inittab".to_string()
                } else if at_boot {
                    format!(
                        "at boot from {}{}",
                        s.path,
                        if depth > 0 {
                            " (inside a condition)"
                        } else {
                            ""
                        }
                    )
                } else {
                    format!("not started at boot by any script found ({})", s.path)
                };
                if let Some(why) = uci_disabled(root, &s.path) {
                    at_boot = false;
                    start = why;
                }
                if needs_no_root_pw && d.is_some_and(|d| d.3 == Kind::RemoteShell) {
                    match root_password_empty(root) {
                        Some((true, why)) => start = format!("at boot from {}, because root has no password{} (the script starts it only then)", s.path, if why.is_empty() { String::new() } else { format!(": {why}") }),
                        Some((false, _)) => {
                            at_boot = false;
                            start = format!("only while root has no password ({}); root has one", s.path);
                        }
                        None => start.push_str(" (only while root has no password)"),
                    }
                }
                out.push(Service {
                    program: prog.clone(),
                    path,
                    protocol: d.map(|d| d.1).unwrap_or("").to_string(),
                    ports: d.map(|d| ports_of(code, d)).unwrap_or_default(),
                    user,
                    user_basis: basis,
                    start,
                    at_boot,
                    evidence: Evidence {
                        location: root.location(&s.path, Some(*n), None),
                        excerpt: excerpt(line),
                    },
                    line: code.to_string(),
                });
            }
        }
    }
}

/// An OpenWrt init script whose UCI config disables the service (`option disabled '1'` or
/// `option enabled '0'`).
fn uci_disabled(root: &Root<'_>, script: &str) -> Option<String> {
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
fn inetd(root: &Root<'_>, scripts: &BTreeMap<String, Script>, out: &mut Vec<Service>) {
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
fn systemd(root: &Root<'_>, out: &mut Vec<Service>) {
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
fn nvram_services(root: &Root<'_>, out: &mut Vec<Service>) {
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
fn launched_by_binaries(root: &Root<'_>, out: &mut Vec<Service>) {
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

fn judge(root: &Root<'_>, services: &[Service], obs: &mut Observations) {
    let mut as_root: Vec<&Service> = Vec::new();
    for s in services {
        let d = daemon(&s.program);
        let kind = d.map(|d| d.3);
        let no_login = s.line.contains(" -l /bin/sh")
            || s.line.contains(" -l /bin/ash")
            || s.line.contains(" -l sh")
            || (s.line.contains("-l /bin/login.sh") && s.start.contains("no password"));
        match kind {
            Some(Kind::RemoteShell) | Some(Kind::Ftp) | Some(Kind::Tftp) => {
                let (outcome, sev) = if s.at_boot {
                    (
                        Outcome::Fail,
                        if no_login {
                            Severity::Critical
                        } else {
                            Severity::High
                        },
                    )
                } else {
                    (Outcome::Info, Severity::Low)
                };
                let provs: &[&str] = if kind == Some(Kind::Tftp) {
                    &["5.6-1"]
                } else {
                    &["5.6-1", "5.5-7"]
                };
                obs.findings.push(
                    Finding::new(CHECK.id, provs, outcome, sev, Source::Firmware, format!("{} ({}) {}", s.protocol, s.program, s.start))
                        .detail(format!(
                            "{} is a plaintext protocol: credentials and data cross the network unencrypted, and an interface like this should be disabled unless the product needs it.{}",
                            s.protocol,
                            if no_login { " It hands out a root shell without any password." } else { "" }
                        ))
                        .evidence(s.evidence.location.clone(), s.evidence.excerpt.clone()),
                );
            }
            Some(Kind::Debug) => {
                obs.findings.push(
                    Finding::new(CHECK.id, &["5.6-1", "5.6-4"], if s.at_boot { Outcome::Fail } else { Outcome::Inconclusive }, Severity::Medium, Source::Firmware,
                        format!("debug service {} ({}) {}", s.program, s.protocol, s.start))
                        .detail("A vendor debug or factory service is in the image. If it starts in normal operation it is an enabled debug interface; the start condition decides.")
                        .evidence(s.evidence.location.clone(), s.evidence.excerpt.clone()),
                );
            }
            _ => {}
        }
        let network = kind
            .is_some_and(|k| k != Kind::Net || !["dnsmasq"].contains(&s.program.as_str()))
            || s.path
                .as_deref()
                .and_then(|p| root.file(p))
                .and_then(|f| f.elf.as_ref())
                .is_some_and(|e| e.is_network_server());
        let drops = s
            .path
            .as_deref()
            .and_then(|p| root.file(p))
            .and_then(|f| f.elf.as_ref())
            .is_some_and(|e| e.can_drop_privileges());
        if s.user == "root"
            && network
            && !NEEDS_ROOT.contains(&s.program.as_str())
            && !drops
            && (s.at_boot || s.start.starts_with("launched by"))
        {
            as_root.push(s);
        }
    }
    if !as_root.is_empty() {
        let names: Vec<String> = as_root
            .iter()
            .map(|s| s.program.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut f = Finding::new(CHECK.id, &["5.6-7"], Outcome::Fail, Severity::Medium, Source::Firmware,
            format!("network services run as root: {}", names.join(", ")))
            .detail("These network-facing programs start as root with no user switch in their start command, and their binaries cannot drop privileges (they import no setuid/setgroups). A flaw in any of them gives an attacker the whole device.");
        for s in as_root.iter().take(8) {
            f = f.evidence(
                s.evidence.location.clone(),
                format!("{} — {}", s.evidence.excerpt, s.user_basis),
            );
        }
        obs.findings.push(f);
    }
}

/// SNMP communities and UPnP settings.
fn snmp_upnp(
    root: &Root<'_>,
    scripts: &BTreeMap<String, Script>,
    services: &[Service],
    obs: &mut Observations,
) {
    let snmp_on = services.iter().any(|s| s.program == "snmpd" && s.at_boot);
    for s in scripts.values() {
        let base = s.path.rsplit('/').next().unwrap_or("");
        if base == "snmpd.conf" || s.path == "/etc/config/snmpd" {
            for (n, line) in &s.lines {
                let code = strip_comment(line);
                let w: Vec<&str> = code
                    .split_whitespace()
                    .map(|x| x.trim_matches(['\'', '"']))
                    .collect();
                let community = match w.as_slice() {
                    ["rocommunity" | "rwcommunity" | "rocommunity6" | "rwcommunity6", c, ..] => {
                        Some(*c)
                    }
                    ["com2sec", _, _, c, ..] => Some(*c),
                    ["option", "community", c] => Some(*c),
                    _ => None,
                };
                if let Some(c) = community.filter(|c| ["public", "private"].contains(c)) {
                    obs.findings.push(
                        Finding::new(CHECK.id, &["5.1-1", "5.6-1"], if snmp_on { Outcome::Fail } else { Outcome::Inconclusive }, Severity::High, Source::Firmware,
                            format!("SNMP community \"{c}\" configured in {}", s.path))
                            .detail(format!("The well-known default community string works as a universal password.{}", if snmp_on { "" } else { " snmpd was not seen starting at boot." } ))
                            .evidence(root.location(&s.path, Some(*n), None), excerpt(line)),
                    );
                }
            }
        }
        if base == "miniupnpd.conf" || s.path == "/etc/config/upnpd" {
            for (n, line) in &s.lines {
                let code = strip_comment(line).trim().to_string();
                let insecure = code == "secure_mode=no"
                    || code
                        .replace(['\'', '"', '\t'], " ")
                        .split_whitespace()
                        .collect::<Vec<_>>()
                        == ["option", "secure_mode", "0"]
                    || (code.starts_with("allow ") && code.contains("0.0.0.0/0"));
                if insecure {
                    obs.findings.push(
                        Finding::new(CHECK.id, &["5.6-1", "5.5-5"], Outcome::Fail, Severity::High, Source::Firmware,
                            format!("UPnP IGD accepts port mappings for any host ({})", s.path))
                            .detail("With secure mode off or an allow rule for 0.0.0.0/0, any LAN client (or malware) can open ports to other hosts through the router without authentication.")
                            .evidence(root.location(&s.path, Some(*n), None), excerpt(line)),
                    );
                }
            }
        }
    }
}

fn service_list(services: &[Service], obs: &mut Observations) {
    let started: Vec<&Service> = services
        .iter()
        .filter(|s| s.at_boot || s.start.starts_with("launched by"))
        .collect();
    if services.is_empty() {
        return;
    }
    let mut f = Finding::new(
        CHECK.id,
        &["5.6-5"],
        Outcome::Info,
        Severity::Info,
        Source::Firmware,
        format!(
            "service list: {} services started at boot or by boot programs",
            started.len()
        ),
    )
    .detail(
        services
            .iter()
            .map(|s| {
                format!(
                    "{}{} [start: {}; ports: {}; user: {} ({})]",
                    s.program,
                    if s.protocol.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", s.protocol)
                    },
                    s.start,
                    if s.ports.is_empty() {
                        "unknown"
                    } else {
                        &s.ports
                    },
                    s.user,
                    s.user_basis
                )
            })
            .collect::<Vec<_>>()
            .join("\n"),
    );
    for s in services.iter().take(40) {
        f = f.evidence(s.evidence.location.clone(), s.evidence.excerpt.clone());
    }
    obs.findings.push(f);
}

/// inittab entries that give an interactive session on a console (5.6-4).
fn consoles(root: &Root<'_>, scripts: &BTreeMap<String, Script>, obs: &mut Observations) {
    let Some(inittab) = scripts.get("/etc/inittab") else {
        return;
    };
    for (n, line) in &inittab.lines {
        let code = strip_comment(line).trim();
        let f: Vec<&str> = code.splitn(4, ':').collect();
        if f.len() != 4 {
            continue;
        }
        let (id, action, process) = (f[0], f[2], f[3].trim());
        if !["respawn", "askfirst", "askconsole", "once", "wait"].contains(&action) {
            continue;
        }
        let mut ws = process.split_whitespace();
        let prog = ws.next().unwrap_or("").trim_start_matches('-');
        let base = prog.rsplit('/').next().unwrap_or("");
        let shell = SHELLS.contains(&base);
        let login = base == "login" || base.contains("getty");
        if !shell && !login {
            continue;
        }
        let tty = if !id.is_empty() {
            id.to_string()
        } else {
            ws.find(|w| w.starts_with("tty") || *w == "console")
                .unwrap_or("the console")
                .to_string()
        };
        let (sev, what, provs): (_, _, &[&str]) = if shell {
            (
                Severity::High,
                format!("a root shell without login on {tty} ({action})"),
                &["5.6-4", "5.6-1"],
            )
        } else {
            (
                Severity::Medium,
                format!("a login prompt on {tty} ({action})"),
                &["5.6-4", "5.6-1"],
            )
        };
        let loc: Location = root.location("/etc/inittab", Some(*n), None);
        obs.findings.push(
            Finding::new(CHECK.id, provs, Outcome::Fail, sev, Source::Firmware, format!("serial console: {what}"))
                .detail("A console on a serial line is a debug interface left enabled in software; EN 303 645 expects no logon prompt and no interactive shell on it.")
                .evidence(loc.clone(), excerpt(line)),
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
                evidence: vec![Evidence {
                    location: loc,
                    excerpt: excerpt(line),
                }],
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launch_positions() {
        let progs = |c: &str| launched(c).into_iter().map(|(_, p)| p).collect::<Vec<_>>();
        assert_eq!(progs("telnetd -l /bin/login.sh"), ["telnetd"]);
        assert_eq!(progs("  /usr/sbin/telnetd -p 23 &"), ["telnetd"]);
        assert_eq!(
            progs("procd_set_param command /usr/sbin/telnetd -F -l /bin/login.sh"),
            ["telnetd"]
        );
        assert_eq!(progs("start-stop-daemon -S -x telnetd"), ["telnetd"]);
        assert!(!progs("killall telnetd").contains(&"telnetd".to_string()));
        assert!(!progs("echo telnetd disabled").contains(&"telnetd".to_string()));
        assert_eq!(progs("cos &"), ["cos"]);
    }

    #[test]
    fn users() {
        assert_eq!(
            user_switch(
                "start-stop-daemon -S -c nobody:nogroup -x /usr/sbin/lighttpd",
                "lighttpd"
            )
            .as_deref(),
            Some("nobody")
        );
        assert_eq!(
            user_switch("dnsmasq -u dnsmasq -C /etc/dnsmasq.conf", "dnsmasq").as_deref(),
            Some("dnsmasq")
        );
        assert_eq!(user_switch("/usr/bin/miniweb", "miniweb"), None);
        assert_eq!(
            ports_of("telnetd -p 2323", daemon("telnetd").unwrap()),
            "2323/tcp"
        );
    }
}
