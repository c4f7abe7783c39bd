//! Credentials the static inspection found in the image, tried first against the emulated
//! services: the emulated device then confirms (or refutes) the static finding in one login
//! instead of walking a long default list, and the run stays within its time cap.

use iotassure_core::finding::{Observations, Outcome, Source};
use iotassure_device::Credential;

const ORIGIN: &str = "image (static inspection)";

fn quoted(s: &str) -> Option<&str> {
    let a = s.find('"')?;
    let rest = &s[a + 1..];
    Some(&rest[..rest.find('"')?])
}

fn backticked(s: &str) -> Option<&str> {
    let a = s.find('`')?;
    let rest = &s[a + 1..];
    Some(&rest[..rest.find('`')?])
}

/// One credential from a 5.1-1 FAIL title, in the shapes the firmware checks write:
/// `` `admin` (UID 0) has the guessable password "1234" ``, `… (user root …) is the guessable
/// password "admin"`, `telnet login with a fixed credential: Alphanetworks / "pass"`,
/// `` `root` has an empty password ``.
fn from_title(t: &str) -> Option<Credential> {
    if let Some((_, rest)) = t.split_once("fixed credential: ") {
        let (user, pass) = rest.split_once(" / ")?;
        return Some(Credential::new(user.trim(), quoted(pass)?, ORIGIN));
    }
    let user = backticked(t).map(str::to_string).or_else(|| {
        let (_, r) = t.split_once("(user ")?;
        r.split_whitespace()
            .next()
            .map(|u| u.trim_end_matches(')').to_string())
    })?;
    if user.is_empty() {
        return None;
    }
    if t.contains("has an empty password") {
        return Some(Credential::new(&user, "", ORIGIN));
    }
    if t.contains("password \"") {
        return Some(Credential::new(&user, quoted(t)?, ORIGIN));
    }
    None
}

/// The image's own credentials, from the firmware findings on 5.1-1 (most specific first).
pub fn from_firmware(fw: &Observations) -> Vec<Credential> {
    let mut v: Vec<Credential> = Vec::new();
    for f in &fw.findings {
        if f.source != Source::Firmware
            || f.outcome != Outcome::Fail
            || !f.provisions.iter().any(|p| p == "5.1-1")
        {
            continue;
        }
        if let Some(c) = from_title(&f.title) {
            if !v.iter().any(|x| x.user == c.user && x.pass == c.pass) {
                v.push(c);
            }
        }
    }
    // Fixed credentials and cracked passwords decide more than an empty one.
    v.sort_by_key(|c| c.pass.is_empty());
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_shapes_the_firmware_checks_write() {
        let c =
            from_title("telnet login with a fixed credential: Alphanetworks / \"wrgg19\"").unwrap();
        assert_eq!(
            (c.user.as_str(), c.pass.as_str()),
            ("Alphanetworks", "wrgg19")
        );
        let c =
            from_title("`admin` (UID 0) has the guessable password \"1234\" (cracked md5-crypt)")
                .unwrap();
        assert_eq!((c.user.as_str(), c.pass.as_str()), ("admin", "1234"));
        let c = from_title("nvram default http_passwd (user root (stored as a hash)) is the guessable password \"admin\" (DES crypt hash, cracked)").unwrap();
        assert_eq!((c.user.as_str(), c.pass.as_str()), ("root", "admin"));
        let c = from_title("`root` has an empty password").unwrap();
        assert_eq!((c.user.as_str(), c.pass.as_str()), ("root", ""));
        assert!(from_title("default account `` in /etc/x has an empty password").is_none());
        assert!(from_title("telnet is enabled").is_none());
    }
}
