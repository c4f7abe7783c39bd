//! Credential lists for the default-credential probe: a built-in list of well-known IoT defaults
//! (in the order attackers try them), plus files the user gives (`--creds`), such as the lists in
//! `shared/corpus/credentials`.

use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Credential {
    pub user: String,
    pub pass: String,
    /// Where it came from: `built-in` or the file name.
    pub origin: String,
}

impl Credential {
    pub fn new(user: &str, pass: &str, origin: &str) -> Credential {
        Credential {
            user: user.into(),
            pass: pass.into(),
            origin: origin.into(),
        }
    }

    pub fn show(&self) -> String {
        format!(
            "{}:{}",
            self.user,
            if self.pass.is_empty() {
                "<empty>"
            } else {
                &self.pass
            }
        )
    }

    /// Parses `user:pass` (the password may contain `:`).
    pub fn parse(s: &str, origin: &str) -> Option<Credential> {
        let (u, p) = s.split_once(':')?;
        Some(Credential::new(u, p, origin))
    }
}

/// Well-known defaults of consumer IoT devices (router, camera and DVR vendors, Mirai's list).
/// Ordered by how common they are, so a bounded run tries the likeliest first.
const BUILTIN: &[(&str, &str)] = &[
    ("admin", "admin"),
    ("root", "root"),
    ("admin", ""),
    ("root", ""),
    ("admin", "password"),
    ("admin", "1234"),
    ("admin", "12345"),
    ("root", "admin"),
    ("root", "12345"),
    ("root", "xc3511"),
    ("root", "vizxv"),
    ("root", "default"),
    ("root", "123456"),
    ("root", "888888"),
    ("root", "pass"),
    ("root", "toor"),
    ("user", "user"),
    ("guest", "guest"),
    ("support", "support"),
    ("admin", "admin1234"),
    ("admin", "123456"),
    ("admin", "pass"),
    ("admin", "smcadmin"),
    ("admin", "7ujMko0admin"),
    ("admin", "meinsm"),
    ("ubnt", "ubnt"),
    ("pi", "raspberry"),
    ("service", "service"),
    ("supervisor", "supervisor"),
    ("Administrator", "admin"),
    ("root", "hi3518"),
    ("root", "jvbzd"),
    ("root", "anko"),
    ("root", "zlxx."),
    ("root", "7ujMko0vizxv"),
    ("root", "system"),
    ("root", "ikwb"),
    ("root", "dreambox"),
    ("root", "realtek"),
    ("root", "00000000"),
    ("root", "1111"),
    ("root", "54321"),
    ("root", "juantech"),
    ("root", "Zte521"),
    ("root", "klv123"),
    ("root", "GM8182"),
    ("mother", "fucker"),
    ("666666", "666666"),
    ("888888", "888888"),
    ("tech", "tech"),
];

pub fn builtin() -> Vec<Credential> {
    BUILTIN
        .iter()
        .map(|(u, p)| Credential::new(u, p, "built-in"))
        .collect()
}

/// Reads a list: `user:pass` lines, or bare passwords (tried with the users `admin` and `root`).
pub fn read_file(path: &Path) -> std::io::Result<Vec<Credential>> {
    let data = std::fs::read(path)?;
    let text = String::from_utf8_lossy(&data);
    let origin = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        match Credential::parse(line, &origin) {
            Some(c) => out.push(c),
            None => {
                for user in ["admin", "root"] {
                    out.push(Credential::new(user, line, &origin));
                }
            }
        }
    }
    Ok(out)
}

/// Appends `more` to `list`, keeping the first occurrence of each user/password pair.
pub fn merge(list: &mut Vec<Credential>, more: Vec<Credential>) {
    let mut seen: std::collections::HashSet<(String, String)> = list
        .iter()
        .map(|c| (c.user.clone(), c.pass.clone()))
        .collect();
    for c in more {
        if seen.insert((c.user.clone(), c.pass.clone())) {
            list.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pairs_and_bare_passwords() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("l.txt");
        std::fs::write(&p, "# c\nadmin:admin\nroot:a:b\n\nhunter2\n").unwrap();
        let v = read_file(&p).unwrap();
        assert_eq!(v.len(), 4);
        assert_eq!(v[1].pass, "a:b");
        assert_eq!(
            (v[2].user.as_str(), v[2].pass.as_str()),
            ("admin", "hunter2")
        );
        let mut base = builtin();
        let n = base.len();
        merge(&mut base, v);
        assert_eq!(base.len(), n + 3, "admin:admin is already built in");
    }
}
