//! A console login wrapper that hands out a shell unless a configuration option says
//! otherwise (5.6-4). OpenWrt's `/usr/libexec/login.sh` is the example:
//!
//! ```sh
//! [ "$(uci -q get system.@system[0].ttylogin)" == 1 ] || exec /bin/ash --login
//! exec /bin/login
//! ```
//!
//! Whether the console asks for a password is then decided by the option's factory default,
//! which `bin/config_generate` (or `/etc/config/*`, `/etc/uci-defaults/*`) writes on first
//! boot: `ttylogin='0'` means a root shell without login on every unit as shipped.

use crate::text::strip_comment;
use crate::Root;

const SHELLS: &[&str] = &["ash", "sh", "bash", "hush", "dash", "zsh"];

/// Where a shell without login comes from in a wrapper.
#[derive(Debug, Clone, PartialEq)]
pub struct WrapperShell {
    /// 1-based line of the `exec <shell>`.
    pub line: u32,
    pub excerpt: String,
    /// How the image decides it, in words.
    pub why: String,
    /// The file and line that set the factory default, if one does.
    pub default_at: Option<(String, u32, String)>,
}

/// `exec /bin/ash --login` (or `exec sh`) in a line: the shell's base name.
fn exec_shell(code: &str) -> Option<&str> {
    let at = code.find("exec ")?;
    let prog = code[at + 5..].split_whitespace().next()?;
    let base = prog.rsplit('/').next()?;
    SHELLS.contains(&base).then_some(base)
}

/// `[ "$(uci -q get a.b.c)" == 1 ] || exec …`: the option and the value that avoids the shell.
fn uci_guard(cond: &str) -> Option<(String, String)> {
    let at = cond.find("uci ")?;
    let rest = &cond[at + 4..];
    let mut ws = rest.split_whitespace().skip_while(|w| w.starts_with('-'));
    (ws.next()? == "get").then_some(())?;
    let opt = ws.next()?.trim_end_matches([')', '"', '`']).to_string();
    let cmp = cond
        .rfind("==")
        .map(|i| i + 2)
        .or_else(|| cond.rfind('=').map(|i| i + 1))?;
    let value = cond[cmp..]
        .split_whitespace()
        .next()?
        .trim_matches(['"', '\'', ']'])
        .to_string();
    (!value.is_empty() && !opt.is_empty()).then_some((opt, value))
}

/// The factory default of a UCI option `config.section.name`: the last assignment of `name`
/// in the first-boot generator, the shipped config files and uci-defaults scripts.
fn factory_default(root: &Root<'_>, opt: &str) -> Option<(String, u32, String, String)> {
    let name = opt.rsplit('.').next()?;
    let config = opt.split('.').next()?;
    let mut paths: Vec<String> = vec![
        "/bin/config_generate".into(),
        format!("/etc/config/{config}"),
    ];
    paths.extend(
        root.files
            .iter()
            .filter(|f| f.path.starts_with("/etc/uci-defaults/"))
            .map(|f| f.path.clone()),
    );
    let mut found = None;
    for p in &paths {
        let Some((_, text)) = root.text(p) else {
            continue;
        };
        for (i, line) in text.lines().enumerate() {
            let code = strip_comment(line).trim();
            // `set system.@system[-1].ttylogin='0'` or `option ttylogin '0'`.
            let value = if let Some(at) = code.find(&format!(".{name}=")) {
                code[at + name.len() + 2..].split_whitespace().next()
            } else if let Some(rest) = code.strip_prefix("option ") {
                let mut ws = rest.split_whitespace();
                (ws.next()?.trim_matches(['\'', '"']) == name)
                    .then(|| ws.next())
                    .flatten()
            } else {
                None
            };
            if let Some(v) = value {
                let v = v.trim_matches(['\'', '"']).to_string();
                found = Some((p.clone(), i as u32 + 1, line.trim().to_string(), v));
            }
        }
    }
    found
}

/// Whether the wrapper at `path` gives a shell without login as the image ships.
pub fn shell_by_default(root: &Root<'_>, path: &str) -> Option<WrapperShell> {
    let (_, text) = root.text(path)?;
    if text.len() > 16 << 10 {
        return None;
    }
    for (i, line) in text.lines().enumerate() {
        let code = strip_comment(line).trim();
        let Some(shell) = exec_shell(code) else {
            continue;
        };
        let Some((cond, _)) = code.split_once("||") else {
            // An unconditional `exec ash` as the wrapper's first command is a shell for all;
            // one inside an `if` block is judged by the code that guards it (nopass.rs).
            if code.starts_with("exec ")
                && !text
                    .lines()
                    .take(i)
                    .any(|l| strip_comment(l).trim_start().starts_with("if "))
            {
                return Some(WrapperShell {
                    line: i as u32 + 1,
                    excerpt: line.trim().to_string(),
                    why: format!("{path} runs {shell} without asking for a password"),
                    default_at: None,
                });
            }
            continue;
        };
        let Some((opt, login_value)) = uci_guard(cond) else {
            continue;
        };
        let default = factory_default(root, &opt);
        let shipped = default.as_ref().map(|d| d.3.as_str());
        if shipped == Some(login_value.as_str()) {
            return None;
        }
        let why = match &default {
            Some((p, n, _, v)) => format!("{path} runs {shell} without login unless uci {opt} is {login_value}; its factory default is {v} ({p}:{n})"),
            None => format!("{path} runs {shell} without login unless uci {opt} is {login_value}; the image sets no default, so it is unset"),
        };
        return Some(WrapperShell {
            line: i as u32 + 1,
            excerpt: line.trim().to_string(),
            why,
            default_at: default.map(|(p, n, l, _)| (p, n, l)),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards() {
        assert_eq!(exec_shell("|| exec /bin/ash --login"), Some("ash"));
        assert_eq!(exec_shell("exec /bin/login"), None);
        assert_eq!(
            uci_guard(r#"[ "$(uci -q get system.@system[0].ttylogin)" == 1 ] "#),
            Some(("system.@system[0].ttylogin".into(), "1".into()))
        );
        assert_eq!(
            uci_guard(r#"[ "$(uci get system.@system[0].ttylogin)" = "1" ] "#),
            Some(("system.@system[0].ttylogin".into(), "1".into()))
        );
        assert_eq!(uci_guard("[ -f /etc/nologin ] "), None);
    }
}
