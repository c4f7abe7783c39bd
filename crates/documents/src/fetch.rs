//! Reading documents: files (size-capped) and URLs (a lean blocking HTTP/1.1 client, `ureq` with
//! rustls). Safety rules, all enforced here:
//! - only URLs the user named, and `Policy:` links the caller has already judged followable, are
//!   requested; redirects are followed by hand, at most [`MAX_REDIRECTS`], and only to the same
//!   host or to a host the user named;
//! - every request has the caller's timeout, the whole session at most [`MAX_REQUESTS`] requests;
//! - bodies are read up to the size cap and no further; nothing is decompressed;
//! - no proxy from the environment (the request goes to the named host, and the record says so);
//! - every request is recorded ([`FetchRecord`]), whatever its outcome.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;

use serde::Serialize;
use ureq::http::Uri;

use crate::DocOptions;

pub const MAX_REDIRECTS: usize = 5;
/// Requests per assessment, redirects included: user-named URLs plus followed Policy links.
pub const MAX_REQUESTS: usize = 64;

/// One HTTP request made, as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FetchRecord {
    pub url: String,
    /// The HTTP status, when a response came back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Body bytes read (after the cap).
    pub bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Why it was requested ("named by the user", "Policy: in … line 4", "redirect from …").
    pub reason: String,
    /// What happened ("ok", "redirect to … refused: another host", "truncated at … bytes", an error).
    pub note: String,
}

/// A URL's parts that the safety rules need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub scheme: String,
    /// Lowercase host (IPv6 literals keep their brackets).
    pub host: String,
    pub port: u16,
    pub path: String,
}

pub fn parse_url(url: &str) -> Result<Target, String> {
    let uri: Uri = url.parse().map_err(|e| format!("not a valid URL: {e}"))?;
    let scheme = uri
        .scheme_str()
        .map(str::to_ascii_lowercase)
        .ok_or("the URL has no scheme")?;
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        s => {
            return Err(format!(
                "scheme {s}: is not supported (only http and https)"
            ))
        }
    };
    let auth = uri.authority().ok_or("the URL has no host")?;
    if auth.as_str().contains('@') {
        return Err("URLs with credentials (user:password@) are not supported".into());
    }
    let host = auth.host().to_ascii_lowercase();
    if host.is_empty() {
        return Err("the URL has no host".into());
    }
    Ok(Target {
        scheme,
        host,
        port: auth.port_u16().unwrap_or(default_port),
        path: uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into()),
    })
}

/// Resolves a `Location:` (or a relative Policy value) against the URL it came from.
pub fn resolve(base: &str, reference: &str) -> Option<String> {
    let r = reference.trim();
    let lower = r.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        return Some(r.to_string());
    }
    // Any other scheme (file:, ftp://, mailto:) is not something to fetch.
    let has_scheme = r.split_once(':').is_some_and(|(s, _)| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
            && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
    });
    if has_scheme || r.is_empty() {
        return None;
    }
    let t = parse_url(base).ok()?;
    let authority = base[t.scheme.len() + 3..]
        .split(['/', '?', '#'])
        .next()
        .unwrap_or("");
    if let Some(rest) = r.strip_prefix("//") {
        return Some(format!("{}://{rest}", t.scheme));
    }
    let origin = format!("{}://{authority}", t.scheme);
    if r.starts_with('/') {
        return Some(format!("{origin}{r}"));
    }
    let path = t.path.split(['?', '#']).next().unwrap_or("/");
    let dir = &path[..path.rfind('/').map_or(0, |p| p + 1)];
    let dir = if dir.is_empty() { "/" } else { dir };
    Some(format!("{origin}{dir}{r}"))
}

pub struct Fetched {
    pub final_url: String,
    pub body: Vec<u8>,
    pub truncated: bool,
    pub content_type: Option<String>,
}

#[derive(Debug)]
pub enum FetchError {
    /// Not requested, or a redirect not followed, by the safety rules.
    Refused(String),
    /// The server answered with an error status.
    Status(u16, String),
    /// Network, TLS or protocol failure.
    Failed(String),
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FetchError::Refused(m) | FetchError::Failed(m) => f.write_str(m),
            FetchError::Status(s, m) => write!(f, "HTTP {s} {m}"),
        }
    }
}

/// Extra trust anchors for HTTPS (a lab's own CA, or a test's).
#[derive(Debug, Clone, Default)]
pub struct Trust {
    /// PEM certificates to trust *instead of* the built-in Mozilla roots; empty = built-in.
    pub roots_pem: Vec<u8>,
}

pub struct Fetcher {
    agent: ureq::Agent,
    max_bytes: u64,
    /// Hosts of the URLs the user named: redirects may go there.
    named_hosts: BTreeSet<String>,
    requests_left: usize,
    pub records: Vec<FetchRecord>,
}

impl Fetcher {
    pub fn new(
        opts: &DocOptions,
        named_hosts: BTreeSet<String>,
        trust: &Trust,
    ) -> Result<Fetcher, String> {
        let mut tls = ureq::tls::TlsConfig::builder();
        if !trust.roots_pem.is_empty() {
            let certs: Vec<ureq::tls::Certificate<'static>> =
                ureq::tls::parse_pem(&trust.roots_pem)
                    .filter_map(|item| match item {
                        Ok(ureq::tls::PemItem::Certificate(c)) => Some(Ok(c)),
                        Ok(_) => None,
                        Err(e) => Some(Err(e)),
                    })
                    .collect::<Result<_, _>>()
                    .map_err(|e| format!("trust anchors: {e}"))?;
            if certs.is_empty() {
                return Err("trust anchors: no certificate in the PEM data".into());
            }
            tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(&certs));
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .proxy(None)
            .timeout_global(Some(opts.timeout))
            .user_agent(concat!(
                "iotassure/",
                env!("CARGO_PKG_VERSION"),
                " (published-document check)"
            ))
            .accept("text/plain, text/html;q=0.9, application/xhtml+xml;q=0.9, text/*;q=0.5")
            .accept_encoding("identity")
            .max_response_header_size(64 * 1024)
            .tls_config(tls.build())
            .build()
            .into();
        Ok(Fetcher {
            agent,
            max_bytes: opts.max_bytes,
            named_hosts,
            requests_left: MAX_REQUESTS,
            records: Vec::new(),
        })
    }

    /// GETs `url`, following at most [`MAX_REDIRECTS`] redirects within the allowed hosts.
    pub fn get(&mut self, url: &str, reason: &str) -> Result<Fetched, FetchError> {
        let mut current = url.to_string();
        let mut why = reason.to_string();
        for hop in 0..=MAX_REDIRECTS {
            let target =
                parse_url(&current).map_err(|e| FetchError::Refused(format!("{current}: {e}")))?;
            if self.requests_left == 0 {
                let m = format!("not requested: the limit of {MAX_REQUESTS} requests per assessment was reached");
                self.record(&current, None, 0, None, &why, &m);
                return Err(FetchError::Refused(m));
            }
            self.requests_left -= 1;
            let resp = match self.agent.get(&current).call() {
                Ok(r) => r,
                Err(e) => {
                    let m = describe(&e);
                    self.record(&current, None, 0, None, &why, &m);
                    return Err(FetchError::Failed(m));
                }
            };
            let status = resp.status().as_u16();
            let header = |n: &str| {
                resp.headers()
                    .get(n)
                    .and_then(|v| v.to_str().ok())
                    .map(|s| s.trim().to_string())
            };
            let content_type = header("content-type");
            if (300..400).contains(&status) && status != 304 {
                let Some(loc) = header("location") else {
                    let m = format!("HTTP {status} without a Location header");
                    self.record(&current, Some(status), 0, content_type, &why, &m);
                    return Err(FetchError::Status(
                        status,
                        "redirect without a Location".into(),
                    ));
                };
                let Some(next) = resolve(&current, &loc) else {
                    let m = format!("redirect to {loc:?} refused: not an http(s) URL");
                    self.record(&current, Some(status), 0, content_type, &why, &m);
                    return Err(FetchError::Refused(m));
                };
                let next_host = parse_url(&next).map(|t| t.host).unwrap_or_default();
                if next_host != target.host && !self.named_hosts.contains(&next_host) {
                    let m = format!(
                        "redirect to {next} refused: {next_host} is another host than {} and was not named (give that URL with --doc to read it)",
                        target.host
                    );
                    self.record(&current, Some(status), 0, content_type, &why, &m);
                    return Err(FetchError::Refused(m));
                }
                if hop == MAX_REDIRECTS {
                    let m =
                        format!("redirect to {next} refused: more than {MAX_REDIRECTS} redirects");
                    self.record(&current, Some(status), 0, content_type, &why, &m);
                    return Err(FetchError::Refused(m));
                }
                self.record(
                    &current,
                    Some(status),
                    0,
                    content_type,
                    &why,
                    &format!("redirect to {next}"),
                );
                why = format!("redirect from {current}");
                current = next;
                continue;
            }
            let mut body = Vec::new();
            let read = resp
                .into_body()
                .into_reader()
                .take(self.max_bytes.saturating_add(1))
                .read_to_end(&mut body);
            if let Err(e) = read {
                let m = format!("reading the body failed after {} bytes: {e}", body.len());
                self.record(
                    &current,
                    Some(status),
                    body.len() as u64,
                    content_type,
                    &why,
                    &m,
                );
                return Err(FetchError::Failed(m));
            }
            let truncated = body.len() as u64 > self.max_bytes;
            body.truncate(self.max_bytes as usize);
            let note = if truncated {
                format!(
                    "truncated at {} bytes (the size cap); the rest was not read",
                    self.max_bytes
                )
            } else if status >= 400 {
                format!("HTTP {status}")
            } else {
                "ok".to_string()
            };
            self.record(
                &current,
                Some(status),
                body.len() as u64,
                content_type.clone(),
                &why,
                &note,
            );
            if status >= 400 {
                return Err(FetchError::Status(status, format!("from {current}")));
            }
            if !(200..300).contains(&status) {
                return Err(FetchError::Status(
                    status,
                    format!("from {current} (not a document)"),
                ));
            }
            return Ok(Fetched {
                final_url: current,
                body,
                truncated,
                content_type,
            });
        }
        unreachable!("the loop returns on its last hop")
    }

    fn record(
        &mut self,
        url: &str,
        status: Option<u16>,
        bytes: u64,
        ct: Option<String>,
        reason: &str,
        note: &str,
    ) {
        self.records.push(FetchRecord {
            url: url.to_string(),
            status,
            bytes,
            content_type: ct,
            reason: reason.to_string(),
            note: note.to_string(),
        });
    }
}

fn describe(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(t) => format!("timed out ({t})"),
        ureq::Error::HostNotFound => "host not found".into(),
        ureq::Error::Io(io) => format!("connection failed: {io}"),
        ureq::Error::Tls(m) => format!("TLS failed: {m}"),
        other => other.to_string(),
    }
}

/// Whether a Content-Type names a text document we can read.
pub fn text_content_type(ct: Option<&str>) -> bool {
    let Some(ct) = ct else { return true };
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime.is_empty()
        || mime.starts_with("text/")
        || mime == "application/xhtml+xml"
        || mime == "application/octet-stream"
}

pub fn is_html_type(ct: Option<&str>) -> Option<bool> {
    let mime = ct?.split(';').next()?.trim().to_ascii_lowercase();
    match mime.as_str() {
        "text/html" | "application/xhtml+xml" => Some(true),
        "text/plain" | "text/markdown" | "text/x-markdown" => Some(false),
        _ => None,
    }
}

/// Reads at most `max` bytes of a regular file: (bytes, truncated).
pub fn read_file(path: &Path, max: u64) -> Result<(Vec<u8>, bool), String> {
    let f = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let meta = f.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    let mut body = Vec::new();
    f.take(max.saturating_add(1))
        .read_to_end(&mut body)
        .map_err(|e| e.to_string())?;
    let truncated = body.len() as u64 > max;
    body.truncate(max as usize);
    Ok((body, truncated))
}

/// Bytes to text. UTF-8 (a BOM is dropped; a sequence cut by the size cap is dropped), UTF-16
/// with a BOM, otherwise Latin-1. Binary data (NUL bytes, a PDF) is refused with the reason.
pub fn decode(bytes: &[u8]) -> Result<String, String> {
    if bytes.starts_with(b"%PDF") {
        return Err(
            "this is a PDF; convert it to text (e.g. pdftotext) and give the text file".into(),
        );
    }
    if let Some(rest) = bytes.strip_prefix(&[0xff, 0xfe]) {
        return Ok(utf16(rest, u16::from_le_bytes));
    }
    if let Some(rest) = bytes.strip_prefix(&[0xfe, 0xff]) {
        return Ok(utf16(rest, u16::from_be_bytes));
    }
    let bytes = bytes.strip_prefix(&[0xef, 0xbb, 0xbf]).unwrap_or(bytes);
    if bytes[..bytes.len().min(8192)].contains(&0) {
        return Err("binary data (NUL bytes), not a text document".into());
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_string()),
        Err(e) if e.error_len().is_none() => {
            Ok(String::from_utf8_lossy(&bytes[..e.valid_up_to()]).into_owned())
        }
        Err(_) => Ok(bytes.iter().map(|&b| b as char).collect()),
    }
}

fn utf16(b: &[u8], f: fn([u8; 2]) -> u16) -> String {
    let units: Vec<u16> = b.chunks_exact(2).map(|c| f([c[0], c[1]])).collect();
    String::from_utf16_lossy(&units)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_parsing_table() {
        let t = parse_url("HTTPS://Example.COM/a/b?x=1").unwrap();
        assert_eq!(
            (t.scheme.as_str(), t.host.as_str(), t.port, t.path.as_str()),
            ("https", "example.com", 443, "/a/b?x=1")
        );
        assert_eq!(parse_url("http://127.0.0.1:8080").unwrap().port, 8080);
        for bad in [
            "ftp://x.example/",
            "http://user:pw@x.example/",
            "not a url",
            "file:///etc/passwd",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn resolve_table() {
        let b = "https://x.example:8443/a/b/c.txt?q=1";
        let cases = [
            ("https://y.example/z", Some("https://y.example/z")),
            ("//y.example/z", Some("https://y.example/z")),
            ("/z", Some("https://x.example:8443/z")),
            ("z.html", Some("https://x.example:8443/a/b/z.html")),
            ("ftp://y/z", None),
            ("file:policy.txt", None),
            ("mailto:a@b.example", None),
            ("", None),
        ];
        for (r, want) in cases {
            assert_eq!(resolve(b, r).as_deref(), want, "{r}");
        }
    }

    #[test]
    fn decode_table() {
        assert_eq!(decode(b"\xef\xbb\xbfhello").unwrap(), "hello");
        assert_eq!(decode(b"caf\xc3\xa9").unwrap(), "café");
        assert_eq!(
            decode(b"caf\xc3").unwrap(),
            "caf",
            "a cut sequence at the end is dropped"
        );
        assert_eq!(
            decode(b"caf\xe9 ok").unwrap(),
            "café ok",
            "Latin-1 fallback"
        );
        assert_eq!(decode(b"\xff\xfeh\0i\0").unwrap(), "hi");
        assert!(decode(b"%PDF-1.7").unwrap_err().contains("PDF"));
        assert!(decode(b"ab\0cd").is_err());
    }

    #[test]
    fn content_types() {
        assert!(text_content_type(Some("text/plain; charset=utf-8")));
        assert!(text_content_type(None));
        assert!(!text_content_type(Some("application/pdf")));
        assert!(!text_content_type(Some("image/png")));
        assert_eq!(is_html_type(Some("text/html; charset=utf-8")), Some(true));
    }

    #[test]
    fn file_cap() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.txt");
        std::fs::write(&p, vec![b'a'; 1000]).unwrap();
        let (b, t) = read_file(&p, 100).unwrap();
        assert_eq!((b.len(), t), (100, true));
        let (b, t) = read_file(&p, 1000).unwrap();
        assert_eq!((b.len(), t), (1000, false));
        assert!(read_file(dir.path(), 10)
            .unwrap_err()
            .contains("regular file"));
    }
}
