//! Published-document checks (5.2-1, 5.3-13, 6-1, 5.8-3, 5.11-3, 5.12-2 and neighbours):
//! security.txt (RFC 9116), the vulnerability-disclosure policy, the support period, the
//! privacy notice and set-up guides. Documents come only from files or URLs the user names;
//! a security.txt's `Policy:` link is followed only to a host the user named (or to a file next
//! to a given security.txt file), and every request is recorded in the findings.
//!
//! The API below is what `iotassure assess --doc` and the device probe (which fetches the
//! device's own `/.well-known/security.txt`) call. See docs/documents.md for the rules.
//!
//! Flow: read ([`fetch`]) → text ([`text`], [`html`]) → kinds ([`classify`]) → security.txt
//! fields ([`securitytxt`]) → Policy links followed → [`checks`] → [`Observations`].

pub mod access;
pub mod checks;
pub mod classify;
pub mod dates;
pub mod doc;
pub mod fetch;
pub mod html;
pub mod patterns;
pub mod sbom_in;
pub mod securitytxt;
pub mod text;
pub mod track_record;

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use iotassure_core::finding::{
    Evidence, Finding, Location, Observations, Outcome, Severity, Source, TranscriptLine,
};
use iotassure_core::progress::Progress;
use time::OffsetDateTime;

use crate::classify::Kind;
use crate::doc::{Doc, LinkState, Origin, PolicyLink};
use crate::fetch::{FetchError, Fetcher};

pub use crate::fetch::{FetchRecord, Trust};

/// A document as the user named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DocSource {
    File(PathBuf),
    Url(String),
}

impl DocSource {
    /// `http://` and `https://` are URLs; anything else is a file path.
    pub fn parse(s: &str) -> DocSource {
        if s.starts_with("http://") || s.starts_with("https://") {
            DocSource::Url(s.to_string())
        } else {
            DocSource::File(PathBuf::from(s))
        }
    }

    pub fn name(&self) -> String {
        match self {
            DocSource::File(p) => p.display().to_string(),
            DocSource::Url(u) => u.clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct DocOptions {
    /// Per-request timeout for URLs (connect, send and the whole body).
    pub timeout: Duration,
    /// Largest document read; a larger one is read up to this size and reported as truncated.
    pub max_bytes: u64,
}

impl Default for DocOptions {
    fn default() -> Self {
        DocOptions {
            timeout: Duration::from_secs(10),
            max_bytes: 4 << 20,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DocError {
    #[error("{source_name}: {message}")]
    Read {
        source_name: String,
        message: String,
    },
}

/// At most this many `Policy:` links are followed per security.txt, and in all.
pub const MAX_POLICY_LINKS_PER_FILE: usize = 4;
pub const MAX_POLICY_LINKS: usize = 8;

/// The check id of the per-document record (what was read or fetched, bytes, truncation).
pub const SOURCE_CHECK: &str = "docs-source";

/// Everything one document assessment produced.
#[derive(Debug, Clone)]
pub struct Assessment {
    pub observations: Observations,
    /// Every HTTP request made, in order (redirect hops and failures included).
    pub fetched: Vec<FetchRecord>,
    /// Every document read and judged (given ones, then followed Policy links), as cited.
    pub documents: Vec<String>,
}

/// Reads and judges the named documents.
pub fn assess(
    sources: &[DocSource],
    opts: &DocOptions,
    progress: &dyn Progress,
) -> Result<Observations, DocError> {
    assess_with(sources, opts, &Trust::default(), progress).map(|a| a.observations)
}

/// [`assess`], with the request log and a choice of HTTPS trust anchors.
pub fn assess_with(
    sources: &[DocSource],
    opts: &DocOptions,
    trust: &Trust,
    progress: &dyn Progress,
) -> Result<Assessment, DocError> {
    assess_at(sources, opts, trust, progress, OffsetDateTime::now_utc())
}

/// Judges documents already read (name, text). The device probe passes the security.txt it
/// fetched from the device here. Nothing is fetched: Policy links are reported, not followed.
pub fn assess_texts(docs: &[(String, String)]) -> Observations {
    assess_texts_at(docs, OffsetDateTime::now_utc())
}

/// [`assess_texts`] as of a given time (expiry and support end dates are judged against it).
pub fn assess_texts_at(docs: &[(String, String)], now: OffsetDateTime) -> Observations {
    let names: BTreeSet<&str> = docs.iter().map(|(n, _)| n.as_str()).collect();
    let mut read: Vec<(Doc, Read)> = docs
        .iter()
        .map(|(name, text)| {
            let d = Doc::new(name, text, None, Origin::Text);
            let r = Read {
                bytes: text.len() as u64,
                truncated: false,
                fetches: Vec::new(),
            };
            (d, r)
        })
        .collect();
    for (d, _) in read.iter_mut().filter(|(d, _)| d.is(Kind::SecurityTxt)) {
        let links: Vec<PolicyLink> = d
            .sectxt
            .get("policy")
            .map(|f| PolicyLink {
                value: f.value.clone(),
                line: f.line,
                state: if names.contains(f.value.trim()) {
                    LinkState::AlreadyGiven(f.value.trim().to_string())
                } else {
                    LinkState::NotFollowed(
                        "the security.txt was handed over as text, so nothing was fetched from it"
                            .into(),
                    )
                },
            })
            .collect();
        d.links = links;
    }
    judge(read, Vec::new(), &[], now)
}

/// What reading one document took.
struct Read {
    bytes: u64,
    truncated: bool,
    fetches: Vec<FetchRecord>,
}

fn err(name: &str, message: impl Into<String>) -> DocError {
    DocError::Read {
        source_name: name.to_string(),
        message: message.into(),
    }
}

pub(crate) fn assess_at(
    sources: &[DocSource],
    opts: &DocOptions,
    trust: &Trust,
    progress: &dyn Progress,
    now: OffsetDateTime,
) -> Result<Assessment, DocError> {
    progress.stage("reading documents");
    let mut named_hosts = BTreeSet::new();
    for s in sources {
        if let DocSource::Url(u) = s {
            let t = fetch::parse_url(u).map_err(|e| err(u, e))?;
            named_hosts.insert(t.host);
        }
    }
    let mut fetcher =
        Fetcher::new(opts, named_hosts.clone(), trust).map_err(|e| err("trust anchors", e))?;
    let mut read: Vec<(Doc, Read)> = Vec::new();
    let mut walled: Vec<(String, String)> = Vec::new();
    let mut seen = BTreeSet::new();
    for s in sources {
        let name = s.name();
        if !seen.insert(name.clone()) {
            continue;
        }
        progress.note(&format!("reading {name}"));
        let (doc, r) = match s {
            DocSource::File(p) => read_file(p, &name, opts.max_bytes, Origin::Given)?,
            DocSource::Url(u) => {
                match read_url(&mut fetcher, u, "named by the user", Origin::Given) {
                    Ok(x) => x,
                    // Refused to an anonymous reader: a finding (not public), not an error.
                    Err(FetchError::Status(code @ (401 | 403 | 407), m)) => {
                        walled.push((
                            u.clone(),
                            format!("the server refuses an anonymous reader: HTTP {code} {m}"),
                        ));
                        continue;
                    }
                    Err(e) => return Err(err(u, e.to_string())),
                }
            }
        };
        read.push((doc, r));
    }
    follow_policies(&mut read, &mut fetcher, &named_hosts, opts, progress);
    progress.stage("judging documents");
    let records = std::mem::take(&mut fetcher.records);
    let failed: Vec<FetchRecord> = records
        .iter()
        .filter(|r| !read.iter().any(|(_, rd)| rd.fetches.contains(r)))
        .cloned()
        .collect();
    let documents = read.iter().map(|(d, _)| d.name.clone()).collect();
    let observations = judge(read, failed, &walled, now);
    Ok(Assessment {
        observations,
        fetched: records,
        documents,
    })
}

fn html_by_extension(p: &Path) -> Option<bool> {
    let ext = p.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "html" | "htm" | "xhtml" => Some(true),
        "txt" | "md" => Some(false),
        _ => None,
    }
}

fn read_file(p: &Path, name: &str, max: u64, origin: Origin) -> Result<(Doc, Read), DocError> {
    let (bytes, truncated) =
        fetch::read_file(p, max).map_err(|e| err(name, format!("cannot read: {e}")))?;
    let text = fetch::decode(&bytes).map_err(|e| err(name, e))?;
    let mut html = html_by_extension(p);
    if html == Some(false) && html::looks_like_html(&text) {
        html = None;
    }
    let doc = Doc::new(name, &text, html, origin);
    Ok((
        doc,
        Read {
            bytes: bytes.len() as u64,
            truncated,
            fetches: Vec::new(),
        },
    ))
}

fn read_url(
    fetcher: &mut Fetcher,
    url: &str,
    reason: &str,
    origin: Origin,
) -> Result<(Doc, Read), FetchError> {
    let first = fetcher.records.len();
    let got = fetcher.get(url, reason)?;
    let fetches = fetcher.records[first..].to_vec();
    let ct = got.content_type.as_deref();
    if !fetch::text_content_type(ct) {
        return Err(FetchError::Refused(format!(
            "served as {}, not a text document; save it as text (e.g. pdftotext) and give the file",
            ct.unwrap_or("?")
        )));
    }
    let text = fetch::decode(&got.body).map_err(FetchError::Refused)?;
    let mut doc = Doc::new(url, &text, fetch::is_html_type(ct), origin);
    doc.content_type = got.content_type.clone();
    doc.final_url = Some(got.final_url.clone());
    doc.login_wall = access::login_signs(&text, url, &got.final_url);
    Ok((
        doc,
        Read {
            bytes: got.body.len() as u64,
            truncated: got.truncated,
            fetches,
        },
    ))
}

/// A Policy value that names a file next to a security.txt file: `policy.txt`, `./policy.html`,
/// `file:policy.txt`. Anything with `..`, an absolute path elsewhere, or a symlink out of the
/// directory is refused.
fn sibling_file(sectxt: &Path, value: &str) -> Result<PathBuf, String> {
    let v = value.trim();
    let v = v
        .strip_prefix("file://")
        .or_else(|| v.strip_prefix("file:"))
        .unwrap_or(v);
    let dir = sectxt.parent().unwrap_or(Path::new("."));
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let cand = Path::new(v);
    if cand.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err("it climbs out of the security.txt's folder (..)".into());
    }
    let path = if cand.is_absolute() {
        cand.to_path_buf()
    } else {
        dir.join(cand)
    };
    let canon_dir = dir.canonicalize().map_err(|e| e.to_string())?;
    let canon = path
        .canonicalize()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if canon.parent() != Some(canon_dir.as_path()) {
        return Err(format!(
            "{} is not next to the security.txt",
            path.display()
        ));
    }
    Ok(path)
}

fn follow_policies(
    read: &mut Vec<(Doc, Read)>,
    fetcher: &mut Fetcher,
    named_hosts: &BTreeSet<String>,
    opts: &DocOptions,
    progress: &dyn Progress,
) {
    let mut followed = 0usize;
    let given = read.len();
    for idx in 0..given {
        if !read[idx].0.is(Kind::SecurityTxt) {
            continue;
        }
        let fields: Vec<(String, u32)> = read[idx]
            .0
            .sectxt
            .get("policy")
            .map(|f| (f.value.trim().to_string(), f.line))
            .collect();
        let base_name = read[idx].0.name.clone();
        let base_url = read[idx].0.final_url.clone();
        let base_file = match (&read[idx].0.origin, &base_url) {
            (Origin::Given, None) => Some(PathBuf::from(&base_name)),
            _ => None,
        };
        let mut links = Vec::new();
        for (n, (value, line)) in fields.into_iter().enumerate() {
            let already = |target: &str| {
                read.iter()
                    .find(|(d, _)| d.name == target || d.final_url.as_deref() == Some(target))
                    .map(|(d, _)| d.name.clone())
            };
            let state = if n >= MAX_POLICY_LINKS_PER_FILE || followed >= MAX_POLICY_LINKS {
                LinkState::NotFollowed(format!(
                    "only {MAX_POLICY_LINKS_PER_FILE} Policy links per security.txt and {MAX_POLICY_LINKS} in all are followed"
                ))
            } else {
                let lower = value.to_ascii_lowercase();
                let absolute = lower.starts_with("http://") || lower.starts_with("https://");
                let resolved = if absolute {
                    Some(value.clone())
                } else {
                    base_url.as_deref().and_then(|b| fetch::resolve(b, &value))
                };
                match (resolved, &base_file) {
                    (Some(url), _) => {
                        if let Some(name) = already(&url) {
                            LinkState::AlreadyGiven(name)
                        } else {
                            match fetch::parse_url(&url) {
                                Err(e) => LinkState::NotFollowed(format!("not a usable URL: {e}")),
                                Ok(t) if !named_hosts.contains(&t.host) => LinkState::NotFollowed(format!(
                                    "{} is not a host you named, and iotassure fetches only what you name; give it with --doc to read it",
                                    t.host
                                )),
                                Ok(_) => {
                                    followed += 1;
                                    progress.note(&format!("following Policy {url}"));
                                    let reason = format!("Policy: in {base_name} line {line}");
                                    let origin = Origin::Policy { from: base_name.clone(), line };
                                    match read_url(fetcher, &url, &reason, origin) {
                                        Ok((mut d, r)) => {
                                            d.kinds.insert(Kind::DisclosurePolicy);
                                            let name = d.name.clone();
                                            read.push((d, r));
                                            LinkState::Followed(name)
                                        }
                                        Err(FetchError::Status(code, m)) => LinkState::Failed(format!("HTTP {code} {m}"), Some(code)),
                                        Err(e) => LinkState::Failed(e.to_string(), None),
                                    }
                                }
                            }
                        }
                    }
                    (None, Some(file)) => match sibling_file(file, &value) {
                        Ok(p) => {
                            let name = p.display().to_string();
                            if let Some(n) = already(&name) {
                                LinkState::AlreadyGiven(n)
                            } else {
                                followed += 1;
                                progress.note(&format!("following Policy {name}"));
                                match read_file(
                                    &p,
                                    &name,
                                    opts.max_bytes,
                                    Origin::Policy {
                                        from: base_name.clone(),
                                        line,
                                    },
                                ) {
                                    Ok((mut d, r)) => {
                                        d.kinds.insert(Kind::DisclosurePolicy);
                                        read.push((d, r));
                                        LinkState::Followed(name)
                                    }
                                    Err(e) => LinkState::Failed(e.to_string(), None),
                                }
                            }
                        }
                        Err(why) => LinkState::NotFollowed(format!(
                            "not a file next to the security.txt: {why}"
                        )),
                    },
                    (None, None) => LinkState::NotFollowed("not an http(s) URL".into()),
                }
            };
            links.push(PolicyLink { value, line, state });
        }
        read[idx].0.links = links;
    }
}

fn transcript(r: &FetchRecord) -> Evidence {
    let t = fetch::parse_url(&r.url).ok();
    let mut lines = vec![TranscriptLine {
        dir: "sent".into(),
        data: format!(
            "GET {} HTTP/1.1",
            t.as_ref().map(|t| t.path.as_str()).unwrap_or(&r.url)
        ),
    }];
    if let Some(s) = r.status {
        lines.push(TranscriptLine {
            dir: "received".into(),
            data: format!(
                "HTTP {s}{}, {} body bytes",
                r.content_type
                    .as_ref()
                    .map(|c| format!(", Content-Type: {c}"))
                    .unwrap_or_default(),
                r.bytes
            ),
        });
    }
    lines.push(TranscriptLine {
        dir: "note".into(),
        data: format!("{} ({})", r.note, r.reason),
    });
    Evidence {
        location: Location::Network {
            host: t
                .as_ref()
                .map(|t| t.host.trim_matches(['[', ']']).to_string())
                .unwrap_or_default(),
            port: t.as_ref().map(|t| t.port).unwrap_or(0),
            protocol: t
                .as_ref()
                .map(|t| t.scheme.clone())
                .unwrap_or_else(|| "http".into()),
            transcript: lines,
        },
        excerpt: format!(
            "GET {} -> {}",
            r.url,
            r.status
                .map(|s| format!("HTTP {s}, {} bytes", r.bytes))
                .unwrap_or_else(|| r.note.clone())
        ),
    }
}

fn judge(
    read: Vec<(Doc, Read)>,
    failed_fetches: Vec<FetchRecord>,
    walled: &[(String, String)],
    now: OffsetDateTime,
) -> Observations {
    let mut obs = Observations::default();
    for (d, r) in &read {
        let mut provisions: Vec<&str> = d
            .kinds
            .iter()
            .flat_map(|k| k.provisions().iter().copied())
            .collect();
        provisions.sort();
        provisions.dedup();
        let kinds = if d.kinds.is_empty() {
            "kind not recognised".to_string()
        } else {
            d.kinds
                .iter()
                .map(|k| k.label())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let how = match (&d.origin, r.fetches.is_empty()) {
            (Origin::Text, _) => "Given as text",
            (Origin::Policy { .. }, false) | (Origin::Given, false) => "Fetched",
            _ => "Read",
        };
        let mut title = format!("{how} {}: {} bytes, {kinds}", d.name, r.bytes);
        let mut detail = match &d.origin {
            Origin::Policy { from, line } => {
                format!("Followed from the Policy field of {from} (line {line}).")
            }
            _ => String::new(),
        };
        let mut sev = Severity::Info;
        if r.truncated {
            title.push_str(&format!(" (truncated at {} bytes)", r.bytes));
            detail.push_str(&format!(
                " The document is larger than the size cap of {} bytes; only the first {} bytes were read and judged, the rest was not examined. Raise the cap or give a shorter document.",
                r.bytes, r.bytes
            ));
            sev = Severity::Low;
        }
        let mut f = Finding::new(
            SOURCE_CHECK,
            &provisions,
            Outcome::Info,
            sev,
            Source::Documents,
            title,
        );
        if !detail.trim().is_empty() {
            f = f.detail(detail.trim().to_string());
        }
        if r.fetches.is_empty() {
            let w = d.whole();
            f = f.evidence(w.location, w.excerpt);
        }
        for rec in &r.fetches {
            let e = transcript(rec);
            f = f.evidence(e.location, e.excerpt);
        }
        obs.findings.push(f);
    }
    if !failed_fetches.is_empty() {
        let mut f = Finding::new(
            SOURCE_CHECK,
            &["5.2-1"],
            Outcome::Info,
            Severity::Info,
            Source::Documents,
            format!("{} request(s) did not yield a document", failed_fetches.len()),
        )
        .detail("Requests made (Policy links followed) that failed or were refused; each is listed with its outcome.");
        for rec in &failed_fetches {
            let e = transcript(rec);
            f = f.evidence(e.location, e.excerpt);
        }
        obs.findings.push(f);
    }
    let docs: Vec<Doc> = read.into_iter().map(|(d, _)| d).collect();
    obs.ran(SOURCE_CHECK, Source::Documents, &[], docs.len() as u64);
    let ctx = checks::Ctx { docs: &docs, now };
    checks::run_all(&ctx, &mut obs);
    access::judge(&docs, walled, &mut obs);
    obs
}
