//! What the image's own scripts count as "root has no password".
//!
//! A password field of `x` or `!` normally means "see shadow" or "locked". Some firmware reads
//! it otherwise: OpenWrt's `has_root_pwd` strips one leading `!` or `x` before testing the
//! field for emptiness, and its `/bin/login.sh` hands out a shell when the field matches
//! `^root:[!x]?:`. Such an image gives a root shell (telnet, console) to anyone while root's
//! field is `x`. The verdict must follow the scripts on the image, so the markers they accept
//! are read from the scripts themselves, not assumed.

use std::collections::BTreeSet;

use iotassure_core::finding::Location;

use crate::text::{excerpt, numbered_lines, strip_comment};
use crate::Root;

/// A place where a script decides that a root password field means "no password".
#[derive(Debug, Clone)]
pub struct Rule {
    pub path: String,
    pub line: u32,
    pub excerpt: String,
    /// Field values the rule treats as no password (always includes the empty field).
    pub markers: BTreeSet<String>,
}

/// Root's password state as the image itself reads it.
#[derive(Debug, Clone)]
pub struct RootState {
    /// The field values seen: (file, line, raw line, field).
    pub fields: Vec<(String, u32, String, String)>,
    /// The scripts' rules, when they accept a non-empty field as no password.
    pub rules: Vec<Rule>,
    /// No password: every field seen is empty, or a marker of every rule.
    pub no_password: bool,
}

impl RootState {
    /// True when the field is not literally empty but the image's scripts treat it as empty.
    pub fn empty_by_scripts(&self) -> bool {
        // The first field decides for plain readers (shadow when present); an empty one is
        // no password by any reading.
        self.no_password && !self.fields[0].3.is_empty()
    }
}

/// Scripts bigger than this are not login wrappers or init helpers.
const MAX_SCRIPT: usize = 256 << 10;

fn class_markers(class: &str) -> BTreeSet<String> {
    let mut m: BTreeSet<String> = class
        .chars()
        .filter(|c| *c != '\\')
        .map(|c| c.to_string())
        .collect();
    m.insert(String::new());
    m
}

/// `root:[!x]?:` or `root:[!x]\?:` in a grep pattern: root's field may be empty or one of
/// the class's characters.
fn grep_rule(code: &str) -> Option<BTreeSet<String>> {
    let i = code.find("root:[")?;
    let rest = &code[i + "root:[".len()..];
    let end = rest.find(']')?;
    let after = &rest[end + 1..];
    let optional = after.starts_with("?:") || after.starts_with("\\?:");
    optional.then(|| class_markers(&rest[..end]))
}

/// `${pwd#[\!x]}` (strip one leading character of the class) tested for emptiness.
fn expansion_rule(code: &str) -> Option<BTreeSet<String>> {
    let i = code.find("${")?;
    let body = &code[i + 2..];
    let hash = body.find("#[")?;
    let name = &body[..hash];
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return None;
    }
    let rest = &body[hash + 2..];
    let end = rest.find(']')?;
    rest[end + 1..]
        .starts_with('}')
        .then(|| class_markers(&rest[..end]))
}

/// Rules in one script. The expansion form counts only inside a password helper function
/// (`has_root_pwd`), which also cuts root's field out of a passwd-format file.
pub fn rules_in(path: &str, data: &[u8]) -> Vec<Rule> {
    if memchr::memmem::find(data, b"root:").is_none() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut in_pwd_fn = false;
    for (n, line) in numbered_lines(data) {
        let code = strip_comment(&line);
        let t = code.trim();
        if let Some(name) = t.strip_suffix("{").map(str::trim_end) {
            let name = name.trim_end_matches("()").trim();
            in_pwd_fn = name.contains("pwd") || name.contains("passw");
        } else if t == "}" {
            in_pwd_fn = false;
        }
        let markers = grep_rule(code).or_else(|| in_pwd_fn.then(|| expansion_rule(code)).flatten());
        if let Some(markers) = markers.filter(|m| m.len() > 1) {
            out.push(Rule {
                path: path.to_string(),
                line: n,
                excerpt: excerpt(&line),
                markers,
            });
        }
    }
    out
}

fn is_script_path(p: &str) -> bool {
    [
        "/etc/",
        "/lib/",
        "/bin/",
        "/sbin/",
        "/usr/bin/",
        "/usr/sbin/",
        "/usr/lib/",
        "/usr/libexec/",
    ]
    .iter()
    .any(|d| p.starts_with(d))
}

/// Every rule on the image.
pub fn rules(root: &Root<'_>) -> Vec<Rule> {
    root.files
        .iter()
        .filter(|f| is_script_path(&f.path) && f.data.len() <= MAX_SCRIPT && f.is_text())
        .flat_map(|f| rules_in(&f.path, &f.data))
        .collect()
}

/// Root's field in a passwd-format file.
fn root_field(root: &Root<'_>, path: &str) -> Option<(String, u32, String, String)> {
    let (f, text) = root.text(path)?;
    text.lines().enumerate().find_map(|(i, l)| {
        let rest = l.strip_prefix("root:")?;
        let field = rest.split(':').next().unwrap_or("").to_string();
        Some((f.path.clone(), i as u32 + 1, l.to_string(), field))
    })
}

/// Root's password state, or `None` when the image has no root line in /etc/shadow or
/// /etc/passwd.
pub fn root_state(root: &Root<'_>) -> Option<RootState> {
    let shadow = root_field(root, "/etc/shadow");
    let passwd = root_field(root, "/etc/passwd");
    // A passwd `x` defers to shadow; with a shadow line, shadow decides for plain readers.
    let fields: Vec<_> = match (shadow, passwd) {
        (Some(s), Some(p)) => vec![s, p],
        (Some(s), None) => vec![s],
        (None, Some(p)) => vec![p],
        (None, None) => return None,
    };
    let rules = rules(root);
    let literal_empty = fields[0].3.is_empty();
    let by_rules = !rules.is_empty()
        && rules
            .iter()
            .all(|r| fields.iter().all(|f| r.markers.contains(&f.3)));
    let no_password = literal_empty || by_rules;
    Some(RootState {
        fields,
        rules: if by_rules { rules } else { Vec::new() },
        no_password,
    })
}

/// The location of a rule, for evidence.
pub fn rule_location(root: &Root<'_>, r: &Rule) -> Location {
    root.location(&r.path, Some(r.line), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(v: &[&str]) -> BTreeSet<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn grep_and_expansion_forms() {
        assert_eq!(
            grep_rule("if ( ! grep -qsE '^root:[!x]?:' /etc/shadow ||"),
            Some(set(&["", "!", "x"]))
        );
        assert_eq!(
            grep_rule("grep -qs '^root:[!x]\\?:' /etc/passwd"),
            Some(set(&["", "!", "x"]))
        );
        // A pattern that requires a character is not a no-password rule.
        assert_eq!(grep_rule("grep '^root:[!x]:' /etc/shadow"), None);
        assert_eq!(
            expansion_rule("test -n \"${pwd#[\\!x]}\""),
            Some(set(&["", "!", "x"]))
        );
        assert_eq!(expansion_rule("echo ${x#*root:}"), None);
    }

    #[test]
    fn expansion_only_inside_a_password_helper() {
        let helper = b"has_root_pwd() {\n\tlocal pwd=$(cat \"$1\")\n\tpwd=\"${pwd#*root:}\"\n\ttest -n \"${pwd#[\\!x]}\"\n}\n";
        let r = rules_in("/lib/functions.sh", helper);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].line, 4);
        let other = b"strip() {\n\tv=\"${v#[\\!x]}\"\n}\nroot:\n";
        assert!(rules_in("/lib/other.sh", other).is_empty());
    }
}
