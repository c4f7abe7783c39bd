//! The boot graph: which scripts run at boot, and why. Seeds are inittab, rcS and rc.local
//! (and the init.d scripts that rc.d `S` links or `/etc/init.d/S??*` names select); from each
//! reached script the graph follows, to any depth (bounded, loop-safe):
//! - a script named by absolute path, or by a base name unique enough to carry a dot;
//! - every script of a folder that the script runs as a whole: a `for` loop over a glob
//!   (`for i in $RC_DIR/S??*`, with variables and `cd` resolved from the script), or
//!   `run-parts DIR`.
//!
//! It also reads the start conditions of a launch: a test on an nvram setting
//! (`[ "$(nvram get telnetd_enable)" = 1 ]`) is judged against the image's factory defaults,
//! because a service that the default configuration turns on starts at every first boot.

use std::collections::{BTreeMap, VecDeque};

use iotassure_core::tree::EntryKind;

use crate::text::{numbered_lines, strip_comment};
use crate::{nvram, Root};

pub(super) const BOOT_ROOTS: &[&str] = &[
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

/// Levels of scripts followed from a seed; real images need 3–5.
const MAX_DEPTH: usize = 16;
/// Scripts reached at most (a hostile image cannot make the walk unbounded).
const MAX_REACHED: usize = 4096;
/// Scripts larger than this are not read.
const MAX_SCRIPT: usize = 256 << 10;

pub(super) struct Script {
    pub path: String,
    pub lines: Vec<(u32, String)>,
}

pub(super) fn is_boot_script_path(p: &str) -> bool {
    p.starts_with("/etc/")
        || p.starts_with("/sbin/")
        || p.starts_with("/usr/sbin/")
        || p.starts_with("/usr/etc/")
        || p.starts_with("/lib/systemd/")
        || p.starts_with("/usr/lib/systemd/")
}

/// Configuration and scripts in boot folders, plus shell scripts (`#!`) anywhere: a boot
/// script may hand over to one kept in /bin, /opt or /usr/local.
pub(super) fn load_scripts(root: &Root<'_>) -> BTreeMap<String, Script> {
    let mut out = BTreeMap::new();
    for f in &root.files {
        let shebang = f.data.starts_with(b"#!") && !f.data.starts_with(b"#!/usr/bin/env python");
        if (!is_boot_script_path(&f.path) && !shebang) || f.data.len() > MAX_SCRIPT || !f.is_text()
        {
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

/// Scripts that run at boot, each with how it is reached (`rcS → /bin/rc.boot → for-loop
/// over /opt/etc/init.d/S??*`).
pub(super) fn reachable(
    root: &Root<'_>,
    scripts: &BTreeMap<String, Script>,
) -> BTreeMap<String, String> {
    let view = &root.view;
    let mut on: BTreeMap<String, String> = BTreeMap::new();
    let mut queue: VecDeque<(String, usize)> = VecDeque::new();
    let add =
        |on: &mut BTreeMap<String, String>, q: &mut VecDeque<_>, p: String, why: String, d| {
            if on.len() < MAX_REACHED && scripts.contains_key(&p) && !on.contains_key(&p) {
                on.insert(p.clone(), why);
                q.push_back((p, d));
            }
        };
    for p in BOOT_ROOTS {
        add(&mut on, &mut queue, p.to_string(), p.to_string(), 0);
    }
    // Folder listings (files and links), for globs and run-parts.
    let mut dirs: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for (path, e) in view.entries() {
        if !matches!(e.kind, EntryKind::File | EntryKind::Symlink { .. }) {
            continue;
        }
        let (dir, base) = path.rsplit_once('/').unwrap_or(("", &path));
        dirs.entry(dir.to_string())
            .or_default()
            .push((base.to_string(), path.clone()));
        let in_rc = path.starts_with("/etc/rc.d/")
            || (path.starts_with("/etc/rc") && path.contains(".d/S"));
        // busybox rcS runs `/etc/init.d/S??*`, and vendors often link those names to
        // scripts kept elsewhere (DIR-300: S10system.sh -> /etc/scripts/system.sh).
        let init_s = path.starts_with("/etc/init.d/S")
            && base.len() > 3
            && base[1..3].bytes().all(|b| b.is_ascii_digit());
        if (in_rc && base.starts_with('S')) || init_s {
            if let Some((target, _)) = view.resolve(&path) {
                add(
                    &mut on,
                    &mut queue,
                    target,
                    format!("{path} (start link)"),
                    0,
                );
            }
        }
    }
    let by_base: BTreeMap<&str, Vec<&String>> = scripts.keys().fold(BTreeMap::new(), |mut m, k| {
        m.entry(k.rsplit('/').next().unwrap_or(""))
            .or_insert_with(Vec::new)
            .push(k);
        m
    });
    while let Some((p, depth)) = queue.pop_front() {
        if depth >= MAX_DEPTH {
            continue;
        }
        let Some(s) = scripts.get(&p) else { continue };
        let chain = on.get(&p).cloned().unwrap_or_default();
        let mut vars: BTreeMap<String, String> = BTreeMap::new();
        let mut cwd: Option<String> = None;
        for (_, line) in &s.lines {
            let code = strip_comment(line);
            if code.trim().is_empty() {
                continue;
            }
            let code = expand(code, &vars);
            assignment(&code, &mut vars);
            let ws = words(&code);
            if ws.first() == Some(&"cd") {
                cwd = ws
                    .get(1)
                    .filter(|d| d.starts_with('/'))
                    .map(|d| d.trim_end_matches('/').to_string());
            }
            let mut found: Vec<(String, String)> = Vec::new();
            // A loop over a folder's scripts, or run-parts: every matching script runs.
            let is_for = ws.first() == Some(&"for") && ws.get(2) == Some(&"in");
            for (i, w) in ws.iter().enumerate() {
                let runs_folder = ws.get(i.wrapping_sub(1)) == Some(&"run-parts")
                    || (i > 0 && ws[i - 1].ends_with("/run-parts"));
                let glob = is_for && i >= 3 && w.contains(['*', '?', '[']);
                if !runs_folder && !glob {
                    continue;
                }
                let full = if w.starts_with('/') {
                    w.to_string()
                } else if let Some(c) = &cwd {
                    format!("{c}/{w}")
                } else {
                    continue;
                };
                let (dir, pat) = if runs_folder {
                    (full.trim_end_matches('/').to_string(), "*".to_string())
                } else {
                    match full.rsplit_once('/') {
                        Some((d, p)) => (d.to_string(), p.to_string()),
                        None => continue,
                    }
                };
                let how = if runs_folder {
                    "run-parts"
                } else {
                    "for-loop over"
                };
                for (base, path) in dirs.get(&dir).into_iter().flatten() {
                    let eligible = if runs_folder {
                        // run-parts skips names with dots (backups, .dpkg files).
                        base.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"_-".contains(&b))
                    } else {
                        glob_match(&pat, base)
                    };
                    if eligible {
                        if let Some((target, _)) = view.resolve(path) {
                            found.push((target, format!("{how} {dir}/{pat}")));
                        }
                    }
                }
            }
            for w in code.split(|c: char| c.is_whitespace() || ";\"'`()".contains(c)) {
                if w.is_empty() {
                    continue;
                }
                if w.starts_with('/') {
                    if let Some((target, _)) = view.resolve(w) {
                        if scripts.contains_key(&target) {
                            found.push((target, String::new()));
                            continue;
                        }
                    }
                }
                let base = w.rsplit('/').next().unwrap_or("");
                if base.len() > 3 && base.contains('.') {
                    for other in by_base.get(base).into_iter().flatten() {
                        found.push(((*other).clone(), String::new()));
                    }
                }
            }
            for (target, how) in found {
                let why = if how.is_empty() {
                    format!("{chain} → {target}")
                } else {
                    format!("{chain} → {how} → {target}")
                };
                add(&mut on, &mut queue, target, why, depth + 1);
            }
        }
    }
    on
}

/// Records `NAME=value` (a plain assignment, one per line).
fn assignment(code: &str, vars: &mut BTreeMap<String, String>) {
    let t = code
        .trim()
        .trim_start_matches("export ")
        .trim_start_matches("local ");
    let Some((k, v)) = t.split_once('=') else {
        return;
    };
    if k.is_empty()
        || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        || v.contains(char::is_whitespace)
        || v.contains("$(")
    {
        return;
    }
    // A script with thousands of assignments is not a boot script worth expanding.
    if vars.len() < 256 || vars.contains_key(k) {
        vars.insert(k.to_string(), v.trim_matches(['"', '\'']).to_string());
    }
}

/// `$NAME` and `${NAME}` replaced by values assigned earlier in the script.
fn expand(code: &str, vars: &BTreeMap<String, String>) -> String {
    if !code.contains('$') || vars.is_empty() {
        return code.to_string();
    }
    let mut out = code.to_string();
    for (k, v) in vars.iter().rev() {
        out = out.replace(&format!("${{{k}}}"), v);
        // Longest names first (reverse order), so `$RC_DIR` is not cut by `$RC`.
        let pat = format!("${k}");
        let mut res = String::with_capacity(out.len());
        let mut rest = out.as_str();
        while let Some(i) = rest.find(&pat) {
            let after = &rest[i + pat.len()..];
            let ends = after
                .chars()
                .next()
                .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'));
            res.push_str(&rest[..i]);
            res.push_str(if ends { v } else { &pat });
            rest = after;
        }
        res.push_str(rest);
        out = res;
    }
    out
}

/// Shell glob match (`*`, `?`, `[...]`) on a file name. Iterative with one backtrack point
/// per `*`, so a hostile pattern costs at most pattern × name steps.
pub(super) fn glob_match(pat: &str, name: &str) -> bool {
    /// Length of the class at `p[0] == '['` and whether `c` is in it.
    fn class(p: &[char], c: char) -> Option<(usize, bool)> {
        let end = p.iter().skip(1).position(|x| *x == ']')? + 1;
        let body = &p[1..end];
        let (neg, body) = match body.first() {
            Some('!') | Some('^') => (true, &body[1..]),
            _ => (false, body),
        };
        let mut hit = false;
        let mut i = 0;
        while i < body.len() {
            if i + 2 < body.len() && body[i + 1] == '-' {
                hit |= body[i] <= c && c <= body[i + 2];
                i += 3;
            } else {
                hit |= body[i] == c;
                i += 1;
            }
        }
        Some((end + 1, hit != neg))
    }
    let p: Vec<char> = pat.chars().collect();
    let n: Vec<char> = name.chars().collect();
    if p.len() > 64 {
        return false;
    }
    let (mut pi, mut ni) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        let step = match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
                continue;
            }
            Some('?') => Some(1),
            Some('[') => match class(&p[pi..], n[ni]) {
                Some((len, true)) => Some(len),
                Some((_, false)) => None,
                None => (n[ni] == '[').then_some(1),
            },
            Some(c) => (*c == n[ni]).then_some(1),
            None => None,
        };
        match (step, star) {
            (Some(len), _) => {
                pi += len;
                ni += 1;
            }
            (None, Some((sp, sn))) => {
                pi = sp + 1;
                ni = sn + 1;
                star = Some((sp, sn + 1));
            }
            (None, None) => return false,
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// A start condition on an nvram setting and what the factory defaults make of it.
#[derive(Debug, Clone)]
pub(super) struct NvramCondition {
    pub key: String,
    pub wanted: String,
    pub negated: bool,
    /// The factory default and where it is set, when the image has a default table.
    pub default: Option<nvram::Var>,
}

impl NvramCondition {
    /// Whether the default configuration satisfies the condition (None: no default known).
    pub fn holds_by_default(&self) -> Option<bool> {
        let d = self.default.as_ref()?;
        Some((d.value == self.wanted) != self.negated)
    }

    pub fn describe(&self) -> String {
        match (&self.default, self.holds_by_default()) {
            (Some(d), Some(true)) => format!(
                "started by the factory default {}={} ({}), which the script tests",
                d.key, d.value, d.path
            ),
            (Some(d), _) => format!(
                "off by the factory default {}={} ({}); started only when changed",
                d.key, d.value, d.path
            ),
            (None, _) => format!(
                "only when nvram {} {} {} (no factory default found)",
                self.key,
                if self.negated { "!=" } else { "=" },
                self.wanted
            ),
        }
    }
}

/// `[ "$(nvram get KEY)" = VALUE ]`, `[ \`nvram get KEY\` -eq VALUE ]`, `nvram_get KEY`, also
/// negated (`!=`, `-ne`).
pub(super) fn nvram_condition(code: &str, defaults: &[nvram::Var]) -> Option<NvramCondition> {
    let i = code
        .find("nvram get ")
        .map(|i| i + "nvram get ".len())
        .or_else(|| code.find("nvram_get ").map(|i| i + "nvram_get ".len()))?;
    let rest = &code[i..];
    let key: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "_.:-".contains(*c))
        .collect();
    if key.is_empty() {
        return None;
    }
    let after = &rest[key.len()..];
    let ws: Vec<&str> = after
        .split_whitespace()
        .map(|w| w.trim_matches(['"', '\'', ')', '`', ']', ';']))
        .collect();
    let (op_at, negated) = ws.iter().enumerate().find_map(|(i, w)| match *w {
        "=" | "==" | "-eq" => Some((i, false)),
        "!=" | "-ne" => Some((i, true)),
        _ => None,
    })?;
    let wanted = ws.get(op_at + 1)?.to_string();
    if wanted.is_empty() {
        return None;
    }
    let default = defaults.iter().find(|v| v.key == key).cloned();
    Some(NvramCondition {
        key,
        wanted,
        negated,
        default,
    })
}

/// Splits shell code into words (quotes trimmed).
pub(super) fn words(code: &str) -> Vec<&str> {
    code.split(|c: char| {
        c.is_whitespace() || c == ';' || c == '&' || c == '|' || c == '(' || c == '`'
    })
    .filter(|w| !w.is_empty())
    .map(|w| w.trim_matches(|c| c == '"' || c == '\''))
    .filter(|w| !w.is_empty())
    .collect()
}

pub(super) const PREFIXES: &[&str] = &[
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
pub(super) fn launched(code: &str) -> Vec<(usize, String)> {
    let w = words(code);
    // `start-stop-daemon -K` (or `--stop`) stops the program it names.
    if w.contains(&"start-stop-daemon") && w.iter().any(|x| *x == "-K" || *x == "--stop") {
        return Vec::new();
    }
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
            // `[ test ] && prog`: the command after a test.
            || ((prev == "]" || prev == "]]") && (code.contains("&&") || code.contains("||")))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("S??*", "S50telnet"));
        assert!(!glob_match("S??*", "K50telnet"));
        assert!(!glob_match("S??*", "S5"));
        assert!(glob_match("S[0-9][0-9]*.sh", "S10system.sh"));
        assert!(!glob_match("[!S]*", "S10"));
        assert!(glob_match("*", "anything"));
        assert!(glob_match("S*.sh", "S10system.sh") && !glob_match("S*.sh", "S10system.shx"));
        // A hostile pattern stays cheap.
        let p = "*a".repeat(30);
        assert!(!glob_match(&p, &"b".repeat(200)));
    }

    #[test]
    fn variables_expand() {
        let mut v = BTreeMap::new();
        assignment("RC=/x", &mut v);
        assignment("RC_DIR=\"/opt/etc/init.d\"", &mut v);
        assert_eq!(
            expand("for i in $RC_DIR/S??*", &v),
            "for i in /opt/etc/init.d/S??*"
        );
        assert_eq!(expand("for i in ${RC}/S*", &v), "for i in /x/S*");
        assignment("X=$(cat /f)", &mut v);
        assert!(!v.contains_key("X"));
    }

    #[test]
    fn nvram_conditions() {
        let d = vec![nvram::Var {
            key: "telnetd_enable".into(),
            value: "1".into(),
            path: "/etc/nvram.default".into(),
            line: Some(3),
            offset: None,
        }];
        let c =
            nvram_condition("if [ \"$(nvram get telnetd_enable)\" = \"1\" ]; then", &d).unwrap();
        assert_eq!(c.holds_by_default(), Some(true));
        let c = nvram_condition("[ `nvram get telnetd_enable` -ne 1 ] && exit 0", &d).unwrap();
        assert_eq!(c.holds_by_default(), Some(false));
        let c = nvram_condition("if [ \"$(nvram get ftp_enable)\" = 1 ]; then", &d).unwrap();
        assert_eq!(c.holds_by_default(), None);
        assert!(nvram_condition("nvram get lan_ipaddr > /tmp/ip", &d).is_none());
    }
}
