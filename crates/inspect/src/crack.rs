//! Password-hash identification and dictionary cracking (crypt(3) formats), on all cores, within
//! a time budget. A hash that resists the list proves nothing about its strength; a hash that
//! falls to it is a default anyone can try.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rayon::prelude::*;

const BUILTIN: &str = include_str!("../data/default-passwords.txt");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashKind {
    Des,
    Md5,
    Sha256,
    Sha512,
    Bcrypt,
    Yescrypt,
    Scrypt,
    Unknown,
}

impl HashKind {
    pub fn name(self) -> &'static str {
        match self {
            HashKind::Des => "DES crypt",
            HashKind::Md5 => "md5-crypt",
            HashKind::Sha256 => "sha256-crypt",
            HashKind::Sha512 => "sha512-crypt",
            HashKind::Bcrypt => "bcrypt",
            HashKind::Yescrypt => "yescrypt",
            HashKind::Scrypt => "scrypt",
            HashKind::Unknown => "unknown format",
        }
    }

    /// Obsolete for password storage: fast, unsalted or with tiny salts.
    pub fn is_weak(self) -> bool {
        matches!(self, HashKind::Des | HashKind::Md5)
    }

    pub fn crackable(self) -> bool {
        matches!(
            self,
            HashKind::Des | HashKind::Md5 | HashKind::Sha256 | HashKind::Sha512 | HashKind::Bcrypt
        )
    }
}

pub fn identify(hash: &str) -> HashKind {
    const DES_CHARS: &[u8] = b"./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    if hash.starts_with("$1$") {
        HashKind::Md5
    } else if hash.starts_with("$5$") {
        HashKind::Sha256
    } else if hash.starts_with("$6$") {
        HashKind::Sha512
    } else if hash.starts_with("$2a$") || hash.starts_with("$2b$") || hash.starts_with("$2y$") {
        HashKind::Bcrypt
    } else if hash.starts_with("$y$") {
        HashKind::Yescrypt
    } else if hash.starts_with("$7$") {
        HashKind::Scrypt
    } else if hash.len() == 13 && hash.bytes().all(|b| DES_CHARS.contains(&b)) {
        HashKind::Des
    } else {
        HashKind::Unknown
    }
}

/// Whether `hash` is the empty-salt md5-crypt (`$1$$…`), which some vendors ship.
pub fn md5_empty_salt(hash: &str) -> bool {
    hash.starts_with("$1$$")
}

pub fn verify(kind: HashKind, word: &str, hash: &str) -> bool {
    match kind {
        HashKind::Des => pwhash::unix_crypt::verify(word, hash),
        HashKind::Md5 => pwhash::md5_crypt::verify(word, hash),
        HashKind::Sha256 => pwhash::sha256_crypt::verify(word, hash),
        HashKind::Sha512 => pwhash::sha512_crypt::verify(word, hash),
        HashKind::Bcrypt => pwhash::bcrypt::verify(word, hash),
        _ => false,
    }
}

/// The candidate passwords: the built-in list, extra lists (`user:pass` lines give the password;
/// other lines are a password each), and simple mutations of both.
#[derive(Debug, Clone, Default)]
pub struct Wordlist {
    pub words: Vec<String>,
    pub sources: Vec<String>,
}

impl Wordlist {
    pub fn builtin() -> Wordlist {
        let mut w = Wordlist::default();
        w.add_text(BUILTIN, "built-in defaults");
        w
    }

    pub fn add_file(&mut self, path: &Path) -> std::io::Result<()> {
        let text = std::fs::read(path)?;
        self.add_text(&String::from_utf8_lossy(&text), &path.display().to_string());
        Ok(())
    }

    fn add_text(&mut self, text: &str, source: &str) {
        let mut seen: BTreeSet<String> = self.words.iter().cloned().collect();
        for line in text.lines() {
            if line.starts_with('#') {
                continue;
            }
            let word = match line.split_once(':') {
                Some((_, pass)) => pass,
                None => line,
            };
            let word = word.trim_end_matches('\r');
            if word.len() <= 64 && seen.insert(word.to_string()) {
                self.words.push(word.to_string());
            }
        }
        self.sources.push(source.to_string());
    }

    /// Adds user names and common mutations (capitalised, digits appended).
    pub fn with_mutations(&self, extra: &[&str]) -> Vec<String> {
        let mut seen = BTreeSet::new();
        let mut out = Vec::new();
        let mut push = |s: String| {
            if seen.insert(s.clone()) {
                out.push(s);
            }
        };
        for w in extra
            .iter()
            .map(|s| s.to_string())
            .chain(self.words.iter().cloned())
        {
            push(w.clone());
        }
        for w in extra
            .iter()
            .map(|s| s.to_string())
            .chain(self.words.iter().cloned())
        {
            if w.is_empty() {
                continue;
            }
            let mut c = w.chars();
            if let Some(f) = c.next() {
                push(f.to_uppercase().collect::<String>() + c.as_str());
            }
            for suffix in ["1", "123", "!", "1234"] {
                push(format!("{w}{suffix}"));
            }
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrackResult {
    Found(String),
    NotFound { tried: usize },
    OutOfTime { tried: usize, total: usize },
    Unsupported,
}

/// Tries `candidates` against `hash`, in parallel, until found or `budget` runs out.
pub fn crack(hash: &str, candidates: &[String], budget: Duration) -> CrackResult {
    crack_with(hash, candidates, budget, &|_| {})
}

/// How many candidates pass between two calls of [`crack_with`]'s `tried`: a slow hash
/// (bcrypt, sha512-crypt) takes a few milliseconds per word, so the count still moves a few
/// times a second, and a fast one (DES) does not spend its time drawing.
const REPORT_EVERY: usize = 256;

/// [`crack`], telling `tried` how many candidates have been tried so far, every
/// [`REPORT_EVERY`] words and once at the end.
pub fn crack_with(
    hash: &str,
    candidates: &[String],
    budget: Duration,
    tried_so_far: &(dyn Fn(usize) + Sync),
) -> CrackResult {
    let kind = identify(hash);
    if !kind.crackable() {
        return CrackResult::Unsupported;
    }
    let start = Instant::now();
    let stop = AtomicBool::new(false);
    let tried = AtomicUsize::new(0);
    let found = candidates.par_iter().with_min_len(8).find_any(|w| {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        if start.elapsed() > budget {
            stop.store(true, Ordering::Relaxed);
            return false;
        }
        let n = tried.fetch_add(1, Ordering::Relaxed) + 1;
        if n % REPORT_EVERY == 0 {
            tried_so_far(n);
        }
        verify(kind, w, hash)
    });
    tried_so_far(tried.load(Ordering::Relaxed));
    match found {
        Some(w) => CrackResult::Found(w.clone()),
        None if stop.load(Ordering::Relaxed) => CrackResult::OutOfTime {
            tried: tried.load(Ordering::Relaxed),
            total: candidates.len(),
        },
        None => CrackResult::NotFound {
            tried: candidates.len(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifies_and_cracks_common_formats() {
        let words = Wordlist::builtin().with_mutations(&[]);
        // md5-crypt with an empty salt (TP-Link), DES (DD-WRT), sha512.
        for (hash, kind, pw) in [
            ("$1$$iC.dUsGpxNNJGeOm1dFio/", HashKind::Md5, "1234"),
            ("bJz7PcC1rCRJQ", HashKind::Des, "admin"),
        ] {
            assert_eq!(identify(hash), kind);
            assert_eq!(
                crack(hash, &words, Duration::from_secs(30)),
                CrackResult::Found(pw.into())
            );
        }
        let strong = pwhash::sha512_crypt::hash("c0rrect-h0rse-battery-staple").unwrap();
        assert_eq!(identify(&strong), HashKind::Sha512);
        assert!(matches!(
            crack(&strong, &words, Duration::from_secs(60)),
            CrackResult::NotFound { .. }
        ));
        assert_eq!(identify("$y$j9T$abc$def"), HashKind::Yescrypt);
        assert!(md5_empty_salt("$1$$iC.dUsGpxNNJGeOm1dFio/"));
    }

    #[test]
    fn cracking_reports_how_many_words_it_tried() {
        let words: Vec<String> = (0..1000).map(|i| format!("word{i}")).collect();
        // md5-crypt of "1234", which no `wordN` matches.
        let strong = "$1$$iC.dUsGpxNNJGeOm1dFio/";
        let seen = std::sync::Mutex::new(Vec::new());
        let r = crack_with(strong, &words, Duration::from_secs(60), &|n| {
            seen.lock().unwrap().push(n)
        });
        assert_eq!(r, CrackResult::NotFound { tried: 1000 });
        let seen = seen.into_inner().unwrap();
        // Three interim counts (256, 512, 768) in some order, then the final one.
        assert_eq!(seen.len(), 4, "{seen:?}");
        assert_eq!(*seen.last().unwrap(), 1000);
        assert!(seen.iter().all(|&n| n <= 1000 && n > 0));
    }

    #[test]
    fn wordlist_parses_user_pass_lines_and_the_empty_password() {
        let mut w = Wordlist::default();
        w.add_text("root:xc3511\n\nplain\n", "t");
        assert_eq!(w.words, ["xc3511", "", "plain"]);
    }
}
