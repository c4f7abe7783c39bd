//! What to start: the network services the boot graph starts (from the firmware inspection's
//! service list), each with its command line taken from the image's own boot script where one
//! names it. Shell variables are resolved from the script's own assignments (`PROG=…`,
//! `x=\`cat /etc/file\``); an option whose value cannot be resolved is dropped with it, and
//! the launch says so. A few daemons get a recipe where the boot script only hands the work to
//! a supervisor (procd, a vendor binary): the recipe keeps the daemon in the foreground on its
//! usual port, and says it is a recipe.

use std::collections::BTreeMap;

use iotassure_core::finding::{Location, Observations};
use iotassure_core::tree::{EntryKind, RootfsView};
use serde::Serialize;

use crate::sandbox::Job;

/// One service the inspection says starts at boot.
#[derive(Debug, Clone, Serialize)]
pub struct BootService {
    pub program: String,
    /// How it starts, as the inspection put it.
    pub start: String,
    /// The boot script (or file) that names it, and the line.
    pub script: Option<String>,
    pub line: Option<u32>,
    pub excerpt: String,
}

/// Network daemons worth starting, with the TCP or UDP port they listen on by default.
const NETWORK: &[(&str, u16, bool)] = &[
    ("telnetd", 23, false),
    ("utelnetd", 23, false),
    ("dropbear", 22, false),
    ("sshd", 22, false),
    ("httpd", 80, false),
    ("uhttpd", 80, false),
    ("lighttpd", 80, false),
    ("mini_httpd", 80, false),
    ("thttpd", 80, false),
    ("boa", 80, false),
    ("goahead", 80, false),
    ("webs", 80, false),
    ("miniweb", 80, false),
    ("mosquitto", 1883, false),
    ("vsftpd", 21, false),
    ("ftpd", 21, false),
    ("miniupnpd", 1900, true),
    ("upnpd", 1900, true),
    ("dnsmasq", 53, true),
    ("snmpd", 161, true),
];

pub fn default_port(program: &str) -> Option<(u16, bool)> {
    NETWORK.iter().find(|d| d.0 == program).map(|d| (d.1, d.2))
}

/// Reads the inspection's service list (check `5.6-1-fw-services`).
pub fn boot_services(obs: &Observations) -> Vec<BootService> {
    let Some(f) = obs
        .findings
        .iter()
        .find(|f| f.check == "5.6-1-fw-services" && f.title.starts_with("service list"))
    else {
        return Vec::new();
    };
    let detail = f.detail.clone().unwrap_or_default();
    let mut out = Vec::new();
    for (i, line) in detail.lines().enumerate() {
        let program = line.split_whitespace().next().unwrap_or("").to_string();
        let start = line
            .split_once("[start: ")
            .and_then(|(_, r)| r.split_once("; ports: "))
            .map(|(s, _)| s.to_string())
            .unwrap_or_default();
        let (script, line_no, excerpt) = match f.evidence.get(i) {
            Some(e) => match &e.location {
                Location::File { path, line, .. } => (Some(path.clone()), *line, e.excerpt.clone()),
                _ => (None, None, e.excerpt.clone()),
            },
            None => (None, None, String::new()),
        };
        out.push(BootService {
            program,
            start,
            script,
            line: line_no,
            excerpt,
        });
    }
    out
}

pub fn starts_at_boot(s: &BootService) -> bool {
    s.start.starts_with("at boot") || s.start.starts_with("launched by")
}

/// A planned launch.
#[derive(Debug, Clone, Serialize)]
pub struct Launch {
    pub program: String,
    /// None: started by the boot scripts run as a whole (the `boot` launch), not by itself.
    pub job: Option<Job>,
    /// Where the command line came from.
    pub how: String,
    /// The port it should open.
    pub port: Option<u16>,
    pub udp: bool,
}

/// Splits a shell line into words (quotes removed), stopping at `&`, `;`, `|`, `>` and `<`.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut has = false;
    for ch in line.chars() {
        match quote {
            Some(q) if ch == q => quote = None,
            Some(_) => cur.push(ch),
            None => match ch {
                '"' | '\'' => {
                    quote = Some(ch);
                    has = true;
                }
                c if c.is_whitespace() => {
                    if has || !cur.is_empty() {
                        out.push(std::mem::take(&mut cur));
                        has = false;
                    }
                }
                '&' | ';' | '|' | '>' | '<' | '#' => break,
                c => cur.push(c),
            },
        }
    }
    if has || !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// `NAME=value` and `NAME=\`cat FILE\`` / `NAME=$(cat FILE)` assignments of a script.
fn assignments(view: &RootfsView<'_>, script: &str) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    for raw in script.lines() {
        let t = raw.trim();
        let Some((name, value)) = t.split_once('=') else {
            continue;
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let v = value.trim();
        let cat = v
            .strip_prefix("`cat ")
            .and_then(|r| r.strip_suffix('`'))
            .or_else(|| v.strip_prefix("$(cat ").and_then(|r| r.strip_suffix(')')));
        if let Some(file) = cat {
            if let Ok((_, data)) = view.read(file.trim(), 4096) {
                vars.insert(
                    name.to_string(),
                    String::from_utf8_lossy(&data).trim().to_string(),
                );
            }
            continue;
        }
        let w = words(v);
        if w.len() == 1 && !w[0].contains('$') && !w[0].contains('`') {
            vars.entry(name.to_string()).or_insert_with(|| w[0].clone());
        }
    }
    vars
}

/// Replaces `$X` / `${X}` from `vars`; None when a variable is unknown.
fn resolve(word: &str, vars: &BTreeMap<String, String>) -> Option<String> {
    if !word.contains('$') {
        return Some(word.to_string());
    }
    let mut out = String::new();
    let mut rest = word;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, tail) = if let Some(b) = after.strip_prefix('{') {
            let end = b.find('}')?;
            (&b[..end], &b[end + 1..])
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], &after[end..])
        };
        out.push_str(vars.get(name)?);
        rest = tail;
    }
    out.push_str(rest);
    Some(out)
}

const PATH: &[&str] = &["/bin", "/sbin", "/usr/bin", "/usr/sbin"];

/// The program's path inside the image.
fn find_program(view: &RootfsView<'_>, prog: &str) -> Option<String> {
    if prog.starts_with('/') {
        return view
            .resolve(prog)
            .filter(|(_, e)| e.kind == EntryKind::File)
            .map(|_| prog.to_string());
    }
    PATH.iter().map(|d| format!("{d}/{prog}")).find(|p| {
        view.resolve(p)
            .is_some_and(|(_, e)| e.kind == EntryKind::File)
    })
}

/// The command line a boot script gives `prog`: (argv, notes on what was dropped).
fn from_script(
    view: &RootfsView<'_>,
    script_path: &str,
    prog: &str,
) -> Option<(Vec<String>, Vec<String>)> {
    let (_, data) = view.read(script_path, 256 << 10).ok()?;
    let text = String::from_utf8_lossy(&data).into_owned();
    let vars = assignments(view, &text);
    for raw in text.lines() {
        let t = raw.trim();
        if t.starts_with('#') {
            continue;
        }
        let mut w = words(t);
        // procd and OpenWrt's service_start hand the command line to a supervisor.
        if let Some(i) = w.iter().position(|x| x == "command") {
            if w.first().is_some_and(|x| x == "procd_set_param") {
                w.drain(..=i);
            }
        }
        if w.first()
            .is_some_and(|x| x == "service_start" || x == "exec")
        {
            w.remove(0);
        }
        let Some(first) = w.first().and_then(|x| resolve(x, &vars)) else {
            continue;
        };
        if first.rsplit('/').next() != Some(prog) || first.contains('=') {
            continue;
        }
        let mut argv = vec![first];
        let mut notes = Vec::new();
        let mut i = 1;
        while i < w.len() {
            match resolve(&w[i], &vars) {
                Some(v) => argv.push(v),
                None => {
                    let opt = argv
                        .last()
                        .filter(|a| a.starts_with('-') && a.len() == 2)
                        .cloned();
                    if let Some(o) = opt {
                        argv.pop();
                        notes.push(format!(
                            "dropped `{o} {}` (not resolved from the script)",
                            w[i]
                        ));
                    } else {
                        notes.push(format!("dropped `{}` (not resolved from the script)", w[i]));
                    }
                }
            }
            i += 1;
        }
        return Some((argv, notes));
    }
    None
}

fn has(argv: &[String], flag: &str) -> bool {
    argv.iter().any(|a| a == flag)
}

/// Plans the launches for the boot services of `view`. Services not started at boot, and
/// programs that are not network daemons, are left out (listed in `skipped`).
pub fn plan(view: &RootfsView<'_>, services: &[BootService]) -> (Vec<Launch>, Vec<String>) {
    let mut out: Vec<Launch> = Vec::new();
    let mut skipped = Vec::new();
    let mut boot_needed = false;
    for s in services {
        if out.iter().any(|l| l.program == s.program) {
            continue;
        }
        let Some((port, udp)) = default_port(&s.program) else {
            continue;
        };
        if !starts_at_boot(s) {
            skipped.push(format!("{}: not started at boot ({})", s.program, s.start));
            continue;
        }
        if let Some(by) = s.start.strip_prefix("launched by ") {
            // A vendor binary decides and starts it: only the boot as a whole can.
            let by = by.split(" (").next().unwrap_or(by).to_string();
            boot_needed = true;
            out.push(Launch {
                program: s.program.clone(),
                job: None,
                how: format!(
                    "launched by {by}, which the boot scripts start: the boot is run as a whole"
                ),
                port: Some(port),
                udp,
            });
            continue;
        }
        let scripted = s
            .script
            .as_deref()
            .filter(|p| {
                !p.ends_with(".so")
                    && view
                        .resolve(p)
                        .is_some_and(|(_, e)| e.kind == EntryKind::File)
            })
            .and_then(|p| from_script(view, p, &s.program).map(|r| (p.to_string(), r)));
        let (mut argv, mut how) = match scripted {
            Some((script, (argv, notes))) => {
                let mut how = format!("command line from {script}");
                if !notes.is_empty() {
                    how.push_str(&format!("; {}", notes.join("; ")));
                }
                (argv, how)
            }
            None => (
                vec![s.program.clone()],
                format!(
                    "no command line in a script ({}); the daemon's defaults",
                    s.start
                ),
            ),
        };
        let Some(path) = find_program(view, &argv[0]) else {
            skipped.push(format!(
                "{}: the program {} is not in the image",
                s.program, argv[0]
            ));
            continue;
        };
        argv[0] = path;
        let mut prep = Vec::new();
        match s.program.as_str() {
            "dropbear" => {
                // Keep it in the foreground and on its port; keys the image lacks are made the
                // way first boot makes them (the image's own dropbearkey), never taken from us.
                for f in ["-F", "-E"] {
                    if !has(&argv, f) {
                        argv.push(f.into());
                    }
                }
                if !has(&argv, "-p") {
                    argv.extend(["-p".into(), "22".into()]);
                }
                // Placeholder keys (0 bytes until first boot makes them) stop dropbear; first
                // boot's job is done by the image's own dropbearkey.
                let empty: Vec<String> = view
                    .files()
                    .into_iter()
                    .filter(|(p, e)| {
                        p.starts_with("/etc/dropbear/") && p.ends_with("_host_key") && e.size == 0
                    })
                    .map(|(p, _)| p)
                    .collect();
                let key = "/etc/dropbear/dropbear_rsa_host_key";
                let rsa_missing = view.resolve(key).is_none_or(|(_, e)| e.size == 0);
                if let (Some(rm), true) = (find_program(view, "rm"), !empty.is_empty()) {
                    let mut cmd = vec![rm, "-f".to_string()];
                    cmd.extend(empty.iter().cloned());
                    prep.push(cmd);
                }
                if rsa_missing {
                    if let Some(kg) = find_program(view, "dropbearkey") {
                        prep.push(vec![
                            kg,
                            "-t".into(),
                            "rsa".into(),
                            "-s".into(),
                            "1024".into(),
                            "-f".into(),
                            key.into(),
                        ]);
                        how.push_str("; no host key in the image (placeholders removed): the image's dropbearkey made one, as first boot does");
                    }
                }
            }
            "uhttpd" if !has(&argv, "-p") => {
                argv.extend(
                    [
                        "-f",
                        "-h",
                        "/www",
                        "-x",
                        "/cgi-bin",
                        "-t",
                        "60",
                        "-p",
                        "0.0.0.0:80",
                    ]
                    .map(String::from),
                );
                how.push_str("; uhttpd's options from OpenWrt's default /etc/config/uhttpd (procd builds them from UCI)");
            }
            "dnsmasq" => {
                if !has(&argv, "-k") {
                    argv.push("-k".into());
                }
                // The configuration procd generates from UCI at boot is not in the image:
                // dnsmasq runs on its built-in defaults instead, and says so.
                if let Some(i) = argv.iter().position(|a| a == "-C") {
                    if argv.get(i + 1).is_some_and(|c| view.resolve(c).is_none()) {
                        how.push_str(&format!(
                            "; {} is generated at boot: built-in defaults instead",
                            argv[i + 1]
                        ));
                        argv[i + 1] = "/dev/null".into();
                    }
                }
            }
            _ => {}
        }
        let port = explicit_port(&argv).unwrap_or(port);
        out.push(Launch {
            program: s.program.clone(),
            job: Some(Job {
                name: s.program.clone(),
                prep,
                argv,
            }),
            how,
            port: Some(port),
            udp,
        });
    }
    if boot_needed {
        match boot_script(view) {
            Some(script) => out.push(Launch {
                program: "boot".into(),
                job: Some(Job {
                    name: "boot".into(),
                    prep: Vec::new(),
                    argv: vec![script.clone()],
                }),
                how: format!("the boot script {script}, run as a whole"),
                port: None,
                udp: false,
            }),
            None => {
                skipped.push("the boot as a whole: no rcS or inittab sysinit script found".into());
                out.retain(|l| l.job.is_some());
            }
        }
    }
    (out, skipped)
}

/// The script init runs first: inittab's `sysinit` entry, else the usual rcS paths.
fn boot_script(view: &RootfsView<'_>) -> Option<String> {
    let is_file = |p: &str| {
        view.resolve(p)
            .is_some_and(|(_, e)| e.kind == EntryKind::File)
    };
    if let Ok((_, data)) = view.read("/etc/inittab", 64 << 10) {
        for line in String::from_utf8_lossy(&data).lines() {
            let f: Vec<&str> = line.trim().splitn(4, ':').collect();
            if f.len() == 4 && f[2] == "sysinit" {
                let cmd = words(f[3]);
                if let Some(p) = cmd.into_iter().find(|w| w.starts_with('/') && is_file(w)) {
                    return Some(p);
                }
            }
        }
    }
    ["/etc/init.d/rcS", "/etc/rcS", "/etc/rc.d/rcS"]
        .into_iter()
        .find(|p| is_file(p))
        .map(String::from)
}

/// `-p 2323`, `-p 0.0.0.0:80`.
fn explicit_port(argv: &[String]) -> Option<u16> {
    let i = argv.iter().position(|a| a == "-p")?;
    argv.get(i + 1)?.rsplit(':').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_stop_at_redirections_and_background() {
        assert_eq!(
            words(r#"telnetd -l "/usr/sbin/login" -u Alphanetworks:$image_sign -i $lf &"#),
            vec![
                "telnetd",
                "-l",
                "/usr/sbin/login",
                "-u",
                "Alphanetworks:$image_sign",
                "-i",
                "$lf"
            ]
        );
        assert_eq!(
            words("xmldb -n x -t > /dev/console &"),
            vec!["xmldb", "-n", "x", "-t"]
        );
    }

    #[test]
    fn resolves_known_variables_only() {
        let mut v = BTreeMap::new();
        v.insert("image_sign".to_string(), "wrgg".to_string());
        assert_eq!(resolve("A:$image_sign", &v).as_deref(), Some("A:wrgg"));
        assert_eq!(resolve("${image_sign}x", &v).as_deref(), Some("wrggx"));
        assert_eq!(resolve("$lf", &v), None);
    }

    #[test]
    fn explicit_ports() {
        let a: Vec<String> = ["uhttpd", "-p", "0.0.0.0:8080"].map(String::from).to_vec();
        assert_eq!(explicit_port(&a), Some(8080));
    }
}
