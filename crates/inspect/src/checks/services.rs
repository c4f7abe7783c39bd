//! Boot and services (5.6-1, 5.6-2, 5.6-4, 5.6-5, 5.6-7, 5.5-7): what starts at boot, from
//! inittab, init.d/rc.d, rc.local and rcS, OpenWrt procd scripts and UCI, systemd units,
//! inetd.conf and xinetd, nvram service switches, and daemons launched by boot-started
//! binaries. The result is a service list, each with its start condition, ports and user.
//! Flags plaintext remote logins (telnet, rlogin, FTP), TFTP, SNMP with public communities,
//! UPnP without secure mode, serial consoles (a login prompt or a bare shell), and
//! network-facing services that run as root.
//!
//! "Started at boot" is decided by reachability in the boot graph (`bootgraph`: start links,
//! scripts named by boot scripts, folders run by loops or run-parts, to any depth), and by
//! nvram tests judged against the factory defaults; the other service sources are in
//! `service_sources`.

use std::collections::{BTreeMap, BTreeSet};

use iotassure_core::facts::{FactKey, InferredFact};
use iotassure_core::finding::{
    Evidence, Finding, Location, Observations, Outcome, Severity, Source,
};

use super::bootgraph::{self, launched, load_scripts, reachable, words, Script};
use super::service_sources::{inetd, launched_by_binaries, nvram_services, systemd, uci_disabled};
use super::Check;
use crate::text::{excerpt, strip_comment};
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
pub(super) enum Kind {
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

pub(super) fn daemon(
    prog: &str,
) -> Option<&'static (&'static str, &'static str, &'static str, Kind)> {
    DAEMONS.iter().find(|d| d.0 == prog)
}

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
pub(super) fn default_user(prog: &str) -> Option<&'static str> {
    match prog {
        "dnsmasq" => Some("nobody"),
        "mosquitto" => Some("mosquitto"),
        "avahi-daemon" => Some("avahi"),
        _ => None,
    }
}

pub(super) fn ports_of(code: &str, d: &(&str, &str, &str, Kind)) -> String {
    let w = words(code);
    let proto = d.2.split('/').nth(1).unwrap_or("tcp");
    let mut ports: Vec<String> = Vec::new();
    for (i, x) in w.iter().enumerate() {
        let Some(v) = w.get(i + 1) else { continue };
        // `-p 8080`, `-p 0.0.0.0:80`, `-p [::]:80`; uhttpd's `-s ADDR:PORT` is its TLS listener.
        let tls = *x == "-s" && d.0 == "uhttpd";
        if !(*x == "-p" || *x == "--port" || tls) {
            continue;
        }
        let port = v.rsplit(':').next().unwrap_or(v);
        if port.parse::<u16>().is_ok() {
            let p = format!("{port}/{proto}{}", if tls { " (TLS)" } else { "" });
            if !ports.contains(&p) {
                ports.push(p);
            }
        }
    }
    if ports.is_empty() {
        d.2.to_string()
    } else {
        ports.join(" ")
    }
}

/// uhttpd's listeners from its UCI config (`list listen_http`, `list listen_https`), which
/// the init script passes as `-p`/`-s`.
fn uhttpd_uci_ports(root: &Root<'_>) -> Option<String> {
    let (_, text) = root.text("/etc/config/uhttpd")?;
    let mut ports: Vec<String> = Vec::new();
    for l in text.lines() {
        let w: Vec<String> = strip_comment(l)
            .split_whitespace()
            .map(|x| x.trim_matches(['\'', '"']).to_string())
            .collect();
        if w.len() == 3 && w[0] == "list" && (w[1] == "listen_http" || w[1] == "listen_https") {
            let port = w[2].rsplit(':').next().unwrap_or("");
            if port.parse::<u16>().is_ok() {
                let p = format!(
                    "{port}/tcp{}",
                    if w[1] == "listen_https" { " (TLS)" } else { "" }
                );
                if !ports.contains(&p) {
                    ports.push(p);
                }
            }
        }
    }
    (!ports.is_empty()).then(|| ports.join(" "))
}

pub(super) fn program_path(root: &Root<'_>, word: &str, prog: &str) -> Option<String> {
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
    enabled: &BTreeMap<String, String>,
    out: &mut Vec<Service>,
) {
    let defaults = nvram::defaults(root);
    for s in scripts.values() {
        // Shell scripts outside the boot folders count only when the boot graph reaches them.
        if !bootgraph::is_boot_script_path(&s.path) && !enabled.contains_key(&s.path) {
            continue;
        }
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
        // Open `if`/`case`/`&& {` blocks, each with its nvram test when it has one; guards
        // (`[ "$(nvram get x)" != 1 ] && exit`) hold for the rest of the script.
        let mut blocks: Vec<Option<bootgraph::NvramCondition>> = Vec::new();
        let mut guard: Option<bootgraph::NvramCondition> = None;
        for (n, line) in &s.lines {
            let code = strip_comment(line);
            let t = code.trim();
            let line_cond = bootgraph::nvram_condition(t, &defaults);
            if t.starts_with("if ") || t.starts_with("case ") || t.ends_with("&& {") {
                blocks.push(line_cond.clone().filter(|_| !t.starts_with("case ")));
            }
            if t == "fi" || t.starts_with("fi ") || t == "esac" || t == "}" {
                blocks.pop();
            }
            if t.is_empty() {
                continue;
            }
            if let Some(c) = &line_cond {
                let exits = t.ends_with("exit") || t.contains("exit 0") || t.contains("exit 1");
                if exits && t.contains("&&") && !t.starts_with("if ") {
                    guard = Some(bootgraph::NvramCondition {
                        negated: !c.negated,
                        ..c.clone()
                    });
                } else if exits && t.contains("||") {
                    guard = Some(c.clone());
                }
            }
            let depth = blocks.len();
            let cond = line_cond
                .filter(|_| t.contains("&&") && !t.starts_with("if "))
                .or_else(|| blocks.iter().rev().flatten().next().cloned())
                .or_else(|| guard.clone());
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
                let mut at_boot = enabled.contains_key(&s.path);
                let reached = enabled
                    .get(&s.path)
                    .filter(|how| how.contains('→'))
                    .map(|how| format!(", reached {how}"))
                    .unwrap_or_default();
                let mut start = if is_inittab {
                    "inittab".to_string()
                } else if at_boot {
                    format!(
                        "at boot from {}{}{reached}",
                        s.path,
                        match &cond {
                            Some(c) => format!(" ({})", c.describe()),
                            None if depth > 0 => " (inside a condition)".to_string(),
                            None => String::new(),
                        }
                    )
                } else {
                    format!("not started at boot by any script found ({})", s.path)
                };
                if at_boot && cond.as_ref().and_then(|c| c.holds_by_default()) == Some(false) {
                    at_boot = false;
                    start = format!(
                        "{} ({})",
                        cond.as_ref().map(|c| c.describe()).unwrap_or_default(),
                        s.path
                    );
                }
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
                    ports: match d {
                        Some(d) if d.0 == "uhttpd" && procd => {
                            uhttpd_uci_ports(root).unwrap_or_else(|| ports_of(code, d))
                        }
                        Some(d) => ports_of(code, d),
                        None => String::new(),
                    },
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

fn judge(root: &Root<'_>, services: &[Service], obs: &mut Observations) {
    // Root has no password as the image reads it: a login session is a root shell.
    let root_open = crate::nopass::root_state(root).is_some_and(|s| s.no_password);
    let mut as_root: Vec<&Service> = Vec::new();
    for s in services {
        let d = daemon(&s.program);
        let kind = d.map(|d| d.3);
        // The program telnetd runs for a session: `-l PROG`, else login.
        let w = words(&s.line);
        let session = w
            .iter()
            .position(|x| *x == "-l")
            .and_then(|i| w.get(i + 1))
            .copied()
            .unwrap_or("/bin/login");
        let no_login = s.line.contains(" -l /bin/sh")
            || s.line.contains(" -l /bin/ash")
            || s.line.contains(" -l sh")
            || (s.line.contains("-l /bin/login.sh") && s.start.contains("no password"))
            || (root_open && session.rsplit('/').next().unwrap_or("").contains("login"));
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
    let root_open = crate::nopass::root_state(root).is_some_and(|s| s.no_password);
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
        // A login wrapper (`/bin/login.sh`) asks for root's password, which the image may
        // not have.
        let wrapper = base.ends_with("login.sh");
        let by_option = wrapper
            .then(|| super::console_wrapper::shell_by_default(root, prog))
            .flatten();
        let shell = SHELLS.contains(&base) || (wrapper && (root_open || by_option.is_some()));
        let login = base == "login" || base.contains("getty") || wrapper;
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
                if let Some(w) = &by_option {
                    format!("a root shell without login on {tty} ({action}, {})", w.why)
                } else if wrapper {
                    format!("a root shell without password on {tty} ({action}, {prog}: root has no password as the image reads it)")
                } else {
                    format!("a root shell without login on {tty} ({action})")
                },
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
        let mut fd = Finding::new(CHECK.id, provs, Outcome::Fail, sev, Source::Firmware, format!("serial console: {what}"))
            .detail("A console on a serial line is a debug interface left enabled in software; EN 303 645 expects no logon prompt and no interactive shell on it.")
            .evidence(loc.clone(), excerpt(line));
        if let Some(w) = &by_option {
            fd = fd.evidence(root.location(prog, Some(w.line), None), w.excerpt.clone());
            if let Some((p, l, ex)) = &w.default_at {
                fd = fd.evidence(root.location(p, Some(*l), None), ex.clone());
            }
        }
        obs.findings.push(fd);
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
