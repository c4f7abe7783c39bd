//! Input handling (5.13-1), heuristic: CGI, Lua, PHP and shell handlers that pass request
//! parameters into system, popen, io.popen, os.execute or exec. Each hit is reported with an
//! excerpt and marked heuristic: a person must confirm there is no validation on the path.

use iotassure_core::finding::{Finding, Observations, Outcome, Severity, Source};

use super::Check;
use crate::text::excerpt;
use crate::Ctx;

pub const CHECK: Check = Check {
    id: "5.13-1-fw-input-to-exec",
    provisions: &["5.13-1"],
    run,
};

const SOURCES: &[&str] = &[
    "QUERY_STRING",
    "$_GET",
    "$_POST",
    "$_REQUEST",
    "$_COOKIE",
    "formvalue(",
    "http.formvalue",
    "getenv(\"QUERY",
    "$FORM_",
    "$GET_",
    "$POST_",
    "CONTENT_LENGTH",
    "websGetVar(",
    "cgi_get(",
];
const SINKS: &[&str] = &[
    "system(",
    "popen(",
    "io.popen(",
    "os.execute(",
    "exec(",
    "shell_exec(",
    "passthru(",
    "proc_open(",
    "luci.sys.call(",
    "luci.sys.exec(",
    "eval ",
];

fn handler(path: &str) -> bool {
    let p = path.to_ascii_lowercase();
    p.contains("/cgi-bin/")
        || p.ends_with(".cgi")
        || p.ends_with(".php")
        || p.ends_with(".lua") && (p.contains("/luci/") || p.contains("/www/"))
        || (p.starts_with("/www/") || p.starts_with("/htdocs/"))
            && (p.ends_with(".sh") || p.ends_with(".asp"))
}

/// Variables assigned from a request source, and lines where a sink uses one.
pub fn scan(text: &str) -> Vec<(usize, String, bool)> {
    let mut tainted: Vec<String> = Vec::new();
    let mut hits = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.starts_with('#') || l.starts_with("--") || l.starts_with("//") {
            continue;
        }
        let has_source = SOURCES.iter().any(|s| l.contains(s));
        if has_source {
            // `local x = formvalue("ip")`, `$x = $_GET['ip'];`, `X=$(echo "$QUERY_STRING" | …)`
            if let Some((lhs, _)) = l.split_once('=') {
                let name = lhs
                    .trim()
                    .trim_start_matches("local ")
                    .trim()
                    .trim_start_matches('$')
                    .to_string();
                if !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                    tainted.push(name);
                }
            }
        }
        let sink_at = SINKS.iter().find_map(|s| {
            l.match_indices(*s)
                .find(|(i, _)| {
                    !l[..*i]
                        .chars()
                        .last()
                        .is_some_and(|c| c.is_alphanumeric() || c == '_')
                })
                .map(|(i, _)| i)
        });
        // `%q` is Lua's shell quoting: the value cannot break out of its argument.
        if let Some(at) = sink_at.filter(|_| !l.contains("%q")) {
            let arg = &l[at..];
            let direct = SOURCES.iter().any(|s| arg.contains(s));
            let via = tainted.iter().any(|v| {
                arg.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .any(|w| w == v)
            });
            if direct || via {
                hits.push((i + 1, l.to_string(), direct));
            }
        }
    }
    hits
}

fn run(ctx: &Ctx<'_>, obs: &mut Observations) {
    let mut examined = 0u64;
    for root in &ctx.roots {
        for f in &root.files {
            if !handler(&f.path) || !f.is_text() || f.data.len() > 1 << 20 {
                continue;
            }
            examined += 1;
            let text = String::from_utf8_lossy(&f.data);
            for (n, line, direct) in scan(&text).into_iter().take(5) {
                obs.findings.push(
                    Finding::new(CHECK.id, &["5.13-1"], Outcome::Inconclusive, if direct { Severity::High } else { Severity::Medium }, Source::Firmware,
                        format!("request data reaches a command in {}{}", f.path, if direct { "" } else { " (through a variable)" }))
                        .detail("A web handler passes request parameters to a shell or exec call. Unless they are validated on the way, this is command injection. Pattern match: confirm by reading the handler.")
                        .evidence(root.location(&f.path, Some(n as u32), None), excerpt(&line))
                        .heuristic(),
                );
            }
        }
    }
    obs.ran(CHECK.id, Source::Firmware, CHECK.provisions, examined);
}

#[cfg(test)]
mod tests {
    use super::scan;

    #[test]
    fn taint_table() {
        let cases = [
            (
                "local ip = luci.http.formvalue(\"ip\")\nluci.sys.call(\"ping -c1 \" .. ip)",
                1,
            ),
            ("$h = $_GET['host'];\nsystem(\"ping \" . $h);", 1),
            ("os.execute(\"reboot\")", 0),
            ("system(\"ping \" . $_POST['x']);", 1),
            ("-- system($_GET)", 0),
            (
                "local e = formvalue(\"x\")\nluci.sys.call(\"ifup %q\" % e)",
                0,
            ),
            ("local t = formvalue(\"x\")\nfunction fork_exec(t)", 0),
        ];
        for (code, n) in cases {
            assert_eq!(scan(code).len(), n, "{code}");
        }
    }
}
