//! Version strings as firmware and banners give them, compared the way upstream projects number
//! their releases.
//!
//! One ordering serves every component in the table, because the schemes in use are all dotted
//! numbers with decorations:
//! - letters right after a number are later releases (OpenSSL `1.0.2n` > `1.0.2`, thttpd `2.25b`,
//!   OpenSSH `7.4p1`), except the pre-release words `alpha`, `beta`, `pre`, `rc`, `dev`, `test`,
//!   `snapshot` (and anything after `~`), which come before the release (`2.73rc4` < `2.73`);
//! - a lone `a` or `b` between numbers is an alpha or beta (ppp `2.4.2b3` < `2.4.2`), as in
//!   PEP 440 and GNU numbering; a lone letter at the end stays a later release (`2.25b`);
//! - a missing part counts as zero (`1.0` == `1.0.0`, BusyBox `1.00` == `1.0`);
//! - numbers compare as numbers (dnsmasq `2.72` > `2.8`, dropbear `2014.65` < `2016.74`).
//!
//! Package versions carry an epoch and a packaging revision (`1:2.80-1+deb10u1`, opkg `2.4.7-r1`,
//! `2.72-1`); both are split off, and the revision is kept so a finding can say that the
//! distribution may have backported a fix. Kernel releases lose their local suffix
//! (`4.9.0-8-amd64` → `4.9.0`, `3.18.9+` → `3.18.9`), keeping `-rcN`.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

/// How a component numbers its releases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scheme {
    /// Dotted numbers with letter suffixes and pre-release words (the default).
    #[default]
    Dotted,
    /// Linux: `major.minor.patch[-rcN]`, anything after that is a local suffix.
    Kernel,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Num(u64),
    /// Letters after a number: a later release (`n` in `1.0.2n`, `p` in `7.4p1`).
    Post(String),
    /// A pre-release word: earlier than the release it precedes.
    Pre(String),
}

/// A parsed version. Equality and order follow the upstream numbering (see the module docs).
#[derive(Debug, Clone)]
pub struct Version {
    raw: String,
    upstream: String,
    revision: Option<String>,
    toks: Vec<Tok>,
}

/// Why a version string could not be used for comparisons.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("version `{version}` cannot be compared: {reason}")]
pub struct VersionError {
    pub version: String,
    pub reason: String,
}

const PRE_WORDS: &[&str] = &[
    "dev", "devel", "snapshot", "alpha", "beta", "pre", "preview", "rc", "test",
];

impl Version {
    /// Parses `s` under `scheme`.
    pub fn parse(s: &str, scheme: Scheme) -> Result<Version, VersionError> {
        let err = |reason: &str| VersionError {
            version: s.to_string(),
            reason: reason.to_string(),
        };
        let t = s.trim();
        if t.is_empty() {
            return Err(err("it is empty"));
        }
        if t.len() > 64 {
            return Err(err("it is longer than 64 characters"));
        }
        if let Some(c) = t
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || "._+~-:".contains(*c)))
        {
            return Err(err(&format!("it contains `{c}`")));
        }
        let t = t
            .strip_prefix(['v', 'V'])
            .filter(|r| r.starts_with(|c: char| c.is_ascii_digit()))
            .unwrap_or(t);
        // Epoch (`1:2.80-1`).
        let t = match t.split_once(':') {
            Some((e, rest)) if !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()) => rest,
            Some(_) => return Err(err("it has a `:` that is not an epoch")),
            None => t,
        };
        let (upstream, revision) = match scheme {
            Scheme::Dotted => split_revision(t),
            Scheme::Kernel => kernel_release(t),
        };
        if !upstream.starts_with(|c: char| c.is_ascii_digit()) {
            return Err(err("it does not start with a number"));
        }
        if !upstream.contains('.') {
            return Err(err("it has no dotted number (`1.2`)"));
        }
        let toks = tokens(upstream);
        if toks.len() > 16 {
            return Err(err("it has more than 16 parts"));
        }
        Ok(Version {
            raw: s.trim().to_string(),
            upstream: upstream.to_string(),
            revision: revision.map(str::to_string),
            toks,
        })
    }

    /// The string as given.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The upstream release (epoch, packaging revision and kernel local suffix removed).
    pub fn upstream(&self) -> &str {
        &self.upstream
    }

    /// The packaging revision (`r1` of `2.4.7-r1`), or the kernel's local suffix, when present.
    pub fn revision(&self) -> Option<&str> {
        self.revision.as_deref()
    }

    /// Orders distribution packages: the upstream release first, then the packaging revision
    /// (`1:1.30.1-4ubuntu6.4` < `1:1.30.1-4ubuntu6.5`), which [`Ord`] ignores on purpose.
    pub fn cmp_package(&self, other: &Version) -> Ordering {
        self.cmp(other).then_with(|| {
            let a = tokens(self.revision.as_deref().unwrap_or(""));
            let b = tokens(other.revision.as_deref().unwrap_or(""));
            let n = a.len().max(b.len());
            (0..n)
                .map(|i| cmp_tok(a.get(i), b.get(i)))
                .find(|o| *o != Ordering::Equal)
                .unwrap_or(Ordering::Equal)
        })
    }

    /// True when `self` is a pre-release of `release` (`2.4.2b3` and `2.4.2rc1` of `2.4.2`).
    /// Such a build precedes the release, yet often already carries its code.
    pub fn is_pre_release_of(&self, release: &Version) -> bool {
        let pre = |t: &Tok| matches!(t, Tok::Pre(_));
        let Some(k) = self.toks.iter().position(pre) else {
            return false;
        };
        if release.toks.iter().any(pre) {
            return false;
        }
        let head = Version {
            raw: String::new(),
            upstream: String::new(),
            revision: None,
            toks: self.toks[..k].to_vec(),
        };
        head == *release
    }

    /// True when `self` lies on `branch` (`1.0.2n` on `1.0.2`, not `1.0.20`; `3.18.77` on `3.18`).
    pub fn on_branch(&self, branch: &Branch) -> bool {
        let n = branch.0.len();
        self.toks.len() >= n && self.toks[..n] == branch.0[..]
    }

    /// The first `n` numeric parts (`3.18` of `3.18.77`), when there are that many.
    pub fn numeric_prefix(&self, n: usize) -> Option<Vec<u64>> {
        let v: Vec<u64> = self
            .toks
            .iter()
            .map_while(|t| match t {
                Tok::Num(n) => Some(*n),
                _ => None,
            })
            .take(n)
            .collect();
        (v.len() == n).then_some(v)
    }
}

/// Splits a packaging revision off: the part after the last `-` when it is a number or `r` +
/// number (`1`, `r1`, `1+deb10u1`, `0ubuntu1.2`, `7.1`) and what stays is still dotted.
pub fn split_revision(s: &str) -> (&str, Option<&str>) {
    if let Some((up, rev)) = s.rsplit_once('-') {
        let digits = rev.strip_prefix('r').unwrap_or(rev);
        if digits.starts_with(|c: char| c.is_ascii_digit()) && up.contains('.') {
            return (up, Some(rev));
        }
    }
    (s, None)
}

fn kernel_release(s: &str) -> (&str, Option<&str>) {
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let mut end = s[..end].trim_end_matches('.').len();
    // Keep a release candidate (`4.14.0-rc3`).
    if let Some(rc) = s[end..].strip_prefix("-rc") {
        let d = rc.bytes().take_while(u8::is_ascii_digit).count();
        if d > 0 {
            end += 3 + d;
        }
    }
    let rest = s[end..].trim_start_matches(['-', '+', '.', '_']);
    (&s[..end], (!s[end..].is_empty()).then_some(rest))
}

fn tokens(s: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut tilde = false;
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_digit() {
            let j = i + b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
            // Saturate absurd numbers rather than fail: they still order above real ones.
            out.push(Tok::Num(s[i..j].parse().unwrap_or(u64::MAX)));
            i = j;
        } else if c.is_ascii_alphabetic() {
            let j = i + b[i..]
                .iter()
                .take_while(|c| c.is_ascii_alphabetic())
                .count();
            let mut w = s[i..j].to_ascii_lowercase();
            let between_numbers = matches!(out.last(), Some(Tok::Num(_)))
                && b.get(j).is_some_and(|c| c.is_ascii_digit());
            if between_numbers && (w == "a" || w == "b") {
                w = if w == "a" { "alpha" } else { "beta" }.to_string();
            }
            if tilde || PRE_WORDS.contains(&w.as_str()) {
                out.push(Tok::Pre(w));
            } else {
                out.push(Tok::Post(w));
            }
            tilde = false;
            i = j;
        } else {
            tilde = c == b'~';
            i += 1;
        }
    }
    out
}

fn pre_rank(w: &str) -> usize {
    PRE_WORDS
        .iter()
        .position(|p| *p == w)
        .unwrap_or(PRE_WORDS.len())
}

fn cmp_tok(a: Option<&Tok>, b: Option<&Tok>) -> Ordering {
    use Tok::*;
    match (a, b) {
        (None, None) => Ordering::Equal,
        (Some(Num(x)), Some(Num(y))) => x.cmp(y),
        (Some(Post(x)), Some(Post(y))) => x.cmp(y),
        (Some(Pre(x)), Some(Pre(y))) => pre_rank(x).cmp(&pre_rank(y)).then_with(|| x.cmp(y)),
        // A missing part counts as zero.
        (None, Some(Num(y))) => 0.cmp(y),
        (Some(Num(x)), None) => x.cmp(&0),
        // Pre-releases come before everything, including the end.
        (Some(Pre(_)), _) => Ordering::Less,
        (_, Some(Pre(_))) => Ordering::Greater,
        // A letter suffix is later than the end, earlier than a further number.
        (None, Some(Post(_))) => Ordering::Less,
        (Some(Post(_)), None) => Ordering::Greater,
        (Some(Post(_)), Some(Num(_))) => Ordering::Less,
        (Some(Num(_)), Some(Post(_))) => Ordering::Greater,
    }
}

/// A release series named by its leading parts (`1.0.2`, `3.18`, `2`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branch(Vec<Tok>);

impl Branch {
    pub fn parse(s: &str) -> Result<Branch, VersionError> {
        let t = s.trim();
        if t.is_empty()
            || !t.starts_with(|c: char| c.is_ascii_digit())
            || !t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.')
        {
            return Err(VersionError {
                version: s.to_string(),
                reason: "a branch is dotted numbers (`1.0.2`, `3.18`)".into(),
            });
        }
        Ok(Branch(tokens(t)))
    }

    /// Orders branches and versions by their leading parts: a version below the branch's first
    /// release is `Less`, one on the branch `Equal`, one after it `Greater`.
    pub fn cmp_version(&self, v: &Version) -> Ordering {
        if v.on_branch(self) {
            return Ordering::Equal;
        }
        let b = Version {
            raw: String::new(),
            upstream: String::new(),
            revision: None,
            toks: self.0.clone(),
        };
        b.cmp(v)
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let n = self.toks.len().max(other.toks.len());
        for i in 0..n {
            let o = cmp_tok(self.toks.get(i), other.toks.get(i));
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s, Scheme::Dotted).unwrap()
    }

    #[test]
    fn branch_membership_is_by_whole_parts() {
        let br = |s: &str| Branch::parse(s).unwrap();
        let b = br("1.0.2");
        assert!(v("1.0.2n").on_branch(&b));
        assert!(v("1.0.2").on_branch(&b));
        assert!(!v("1.0.20").on_branch(&b));
        assert!(!v("1.1.1").on_branch(&b));
        assert!(v("3.18.77").on_branch(&br("3.18")));
        assert!(!v("3.1.8").on_branch(&br("3.18")));
        assert!(v("2.7.18").on_branch(&br("2")));
        assert_eq!(br("5.4").cmp_version(&v("4.19.1")), Ordering::Greater);
        assert_eq!(br("5.4").cmp_version(&v("5.10.1")), Ordering::Less);
    }

    #[test]
    fn a_lone_a_or_b_between_numbers_is_a_pre_release() {
        assert!(v("2.4.2b3") < v("2.4.2"));
        assert!(v("2.4.2b3") > v("2.4.1"));
        assert!(v("2.4.2a1") < v("2.4.2b1"));
        assert!(v("2.4.9b1") < v("2.4.9"));
        assert!(v("2.4.2b3").is_pre_release_of(&v("2.4.2")));
        assert!(v("2.73rc4").is_pre_release_of(&v("2.73.0")));
        assert!(!v("2.4.2b3").is_pre_release_of(&v("2.4.3")));
        assert!(!v("2.4.2").is_pre_release_of(&v("2.4.2")));
        // A letter at the end, or any other letter, is still a later release.
        assert!(v("2.25b") > v("2.25"));
        assert!(v("1.0.2n") > v("1.0.2"));
        assert!(v("7.4p1") > v("7.4"));
    }
}
