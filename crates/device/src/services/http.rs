//! HTTP/1.1 (and HTTPS through rustls): one request per connection (`Connection: close`), the
//! reply parsed enough to judge it: status, headers, body (length, chunked or until close).

use std::time::Duration;

use crate::ctx::Ctx;
use crate::log::Exchange;
use crate::text;

#[derive(Debug, Clone, Default)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The protocol token of the status line (`HTTP/1.1`, `RTSP/1.0`).
    pub proto: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn headers_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).to_string()
    }

    pub fn title(&self) -> Option<String> {
        let b = self.body_text();
        let low = b.to_ascii_lowercase();
        let s = low.find("<title")?;
        let s = s + low[s..].find('>')? + 1;
        let e = s + low[s..].find("</title")?;
        let t = text::line(&b.as_bytes()[s..e], 120);
        (!t.is_empty()).then_some(t)
    }
}

/// Whether `buf` holds a complete HTTP (or RTSP) response.
pub fn complete(buf: &[u8]) -> bool {
    let Some(h) = find(buf, b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&buf[..h]).to_ascii_lowercase();
    let body = &buf[h + 4..];
    for l in head.lines() {
        if let Some(v) = l.strip_prefix("content-length:") {
            return v
                .trim()
                .parse::<usize>()
                .map(|n| body.len() >= n)
                .unwrap_or(false);
        }
    }
    if head.contains("transfer-encoding: chunked") {
        return find(body, b"\r\n0\r\n\r\n").is_some() || body.starts_with(b"0\r\n\r\n");
    }
    // No length: a reply to HEAD-like requests, 1xx/204/304, or one that ends at close.
    let status = head.split_whitespace().nth(1).unwrap_or("");
    matches!(status, "204" | "304") || status.starts_with('1')
}

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Parses a reply (HTTP or RTSP status line). `None` if it does not start like one.
pub fn parse(buf: &[u8]) -> Option<Response> {
    let h = find(buf, b"\r\n\r\n").or_else(|| find(buf, b"\n\n"))?;
    let head = String::from_utf8_lossy(&buf[..h]);
    let mut lines = head.lines();
    let status_line = lines.next()?;
    let mut parts = status_line.splitn(3, ' ');
    let proto = parts.next()?.to_string();
    if !(proto.starts_with("HTTP/") || proto.starts_with("RTSP/")) {
        return None;
    }
    let status: u16 = parts.next()?.trim().parse().ok()?;
    let reason = parts.next().unwrap_or("").trim().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let sep = if buf[h..].starts_with(b"\r\n\r\n") {
        4
    } else {
        2
    };
    let mut body = buf[h + sep..].to_vec();
    let chunked = headers.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("transfer-encoding") && v.to_ascii_lowercase().contains("chunked")
    });
    if chunked {
        body = dechunk(&body);
    } else if let Some(n) = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
    {
        body.truncate(n);
    }
    Some(Response {
        status,
        reason,
        headers,
        body,
        proto,
    })
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(e) = find(b, b"\r\n") {
        let size = std::str::from_utf8(&b[..e])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap_or("").trim(), 16).ok());
        let Some(n) = size else { break };
        if n == 0 || b.len() < e + 2 + n {
            out.extend_from_slice(&b[(e + 2).min(b.len())..(e + 2 + n).min(b.len())]);
            break;
        }
        out.extend_from_slice(&b[e + 2..e + 2 + n]);
        b = &b[(e + 4 + n).min(b.len())..];
    }
    out
}

/// A request as sent: method, path, extra headers, body.
pub struct Request<'r> {
    pub method: &'r str,
    pub path: &'r str,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl<'r> Request<'r> {
    pub fn get(path: &'r str) -> Request<'r> {
        Request {
            method: "GET",
            path,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn header(mut self, k: &str, v: impl Into<String>) -> Self {
        self.headers.push((k.to_string(), v.into()));
        self
    }

    pub fn bytes(&self, host: &str, port: u16, tls: bool) -> Vec<u8> {
        let default_port = if tls { 443 } else { 80 };
        let host_hdr = if port == default_port {
            host.to_string()
        } else if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let mut s = format!("{} {} HTTP/1.1\r\nHost: {host_hdr}\r\nUser-Agent: iotassure/{}\r\nAccept: */*\r\nConnection: close\r\n", self.method, self.path, env!("CARGO_PKG_VERSION"));
        for (k, v) in &self.headers {
            s.push_str(&format!("{k}: {v}\r\n"));
        }
        if !self.body.is_empty() || self.method == "POST" {
            s.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        }
        s.push_str("\r\n");
        let mut b = s.into_bytes();
        b.extend_from_slice(&self.body);
        b
    }
}

/// Sends one request on a fresh connection and reads the reply.
pub fn fetch(
    ctx: &Ctx<'_>,
    ex: &mut Exchange<'_>,
    port: u16,
    tls: bool,
    req: &Request<'_>,
) -> Option<Response> {
    fetch_timeout(ctx, ex, port, tls, req, ctx.opts.io_timeout)
}

pub fn fetch_timeout(
    ctx: &Ctx<'_>,
    ex: &mut Exchange<'_>,
    port: u16,
    tls: bool,
    req: &Request<'_>,
    timeout: Duration,
) -> Option<Response> {
    let mut c = ctx.open(ex, port, tls).ok()?;
    c.max_reply = 512 << 10;
    c.send(ex, &req.bytes(ctx.host(), port, tls)).ok()?;
    let buf = c.read_until(ex, timeout, complete);
    c.close();
    parse(&buf)
}

/// The `realm` and scheme of a `WWW-Authenticate` challenge.
pub fn challenge(r: &Response) -> Option<(String, String)> {
    let v = r.headers_all("www-authenticate").next()?;
    let scheme = v.split_whitespace().next().unwrap_or("").to_string();
    let realm = param(v, "realm").unwrap_or_default();
    Some((scheme, realm))
}

/// A parameter of an auth header: `realm="x"`.
pub fn param(h: &str, name: &str) -> Option<String> {
    let low = h.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = low[from..].find(&format!("{name}=")) {
        let i = from + i;
        let before_ok = i == 0 || !low.as_bytes()[i - 1].is_ascii_alphanumeric();
        let v = &h[i + name.len() + 1..];
        if before_ok {
            return Some(if let Some(rest) = v.strip_prefix('"') {
                rest.split('"').next().unwrap_or("").to_string()
            } else {
                v.split([',', ' ']).next().unwrap_or("").to_string()
            });
        }
        from = i + 1;
    }
    None
}

/// The `Authorization` value answering a Digest challenge (RFC 7616 with MD5, qop=auth).
pub fn digest_auth(
    challenge: &str,
    method: &str,
    uri: &str,
    user: &str,
    pass: &str,
    cnonce: &str,
) -> Option<String> {
    use md5::{Digest, Md5};
    let h = |s: String| text::hex(&Md5::digest(s.as_bytes()));
    let realm = param(challenge, "realm").unwrap_or_default();
    let nonce = param(challenge, "nonce")?;
    let opaque = param(challenge, "opaque");
    let qop = param(challenge, "qop");
    let ha1 = h(format!("{user}:{realm}:{pass}"));
    let ha2 = h(format!("{method}:{uri}"));
    let mut v = format!("Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", algorithm=MD5");
    if qop
        .as_deref()
        .is_some_and(|q| q.split(',').any(|x| x.trim() == "auth"))
    {
        let nc = "00000001";
        let resp = h(format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}"));
        v.push_str(&format!(
            ", qop=auth, nc={nc}, cnonce=\"{cnonce}\", response=\"{resp}\""
        ));
    } else {
        v.push_str(&format!(
            ", response=\"{}\"",
            h(format!("{ha1}:{nonce}:{ha2}"))
        ));
    }
    if let Some(o) = opaque {
        v.push_str(&format!(", opaque=\"{o}\""));
    }
    Some(v)
}

/// A login form on a page: the form's action, method, and the user/password field names.
#[derive(Debug, Clone)]
pub struct LoginForm {
    pub action: String,
    pub method: String,
    pub user_field: Option<String>,
    pub pass_field: String,
    /// Hidden fields sent back as they are (CSRF tokens and the like).
    pub hidden: Vec<(String, String)>,
}

/// Finds a form with a password input (a common login form).
pub fn login_form(html: &str, page_path: &str) -> Option<LoginForm> {
    let low = html.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = low[from..].find("<form") {
        let start = from + i;
        let end = low[start..]
            .find("</form")
            .map(|e| start + e)
            .unwrap_or(low.len());
        let form_tag_end = low[start..].find('>').map(|e| start + e).unwrap_or(end);
        let tag = &html[start..form_tag_end];
        let body = &html[start..end];
        let inputs = tags(body, "input");
        let pass_field = inputs
            .iter()
            .find(|a| attr(a, "type").is_some_and(|t| t.eq_ignore_ascii_case("password")))
            .and_then(|a| attr(a, "name"));
        if let Some(pass_field) = pass_field {
            let user_field = inputs
                .iter()
                .filter(|a| {
                    attr(a, "type")
                        .map(|t| t.eq_ignore_ascii_case("text") || t.eq_ignore_ascii_case("email"))
                        .unwrap_or(true)
                })
                .filter_map(|a| attr(a, "name"))
                .find(|n| n != &pass_field);
            let hidden = inputs
                .iter()
                .filter(|a| attr(a, "type").is_some_and(|t| t.eq_ignore_ascii_case("hidden")))
                .filter_map(|a| Some((attr(a, "name")?, attr(a, "value").unwrap_or_default())))
                .collect();
            let action = attr(tag, "action")
                .filter(|a| !a.is_empty())
                .unwrap_or_else(|| page_path.to_string());
            let action = if action.starts_with('/') {
                action
            } else if action.starts_with("http://") || action.starts_with("https://") {
                // Only a path on the same target is ever followed.
                action
                    .splitn(4, '/')
                    .nth(3)
                    .map(|p| format!("/{p}"))
                    .unwrap_or_else(|| "/".into())
            } else {
                let dir = page_path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
                format!("{dir}/{action}")
            };
            return Some(LoginForm {
                action,
                method: attr(tag, "method")
                    .unwrap_or_else(|| "GET".into())
                    .to_ascii_uppercase(),
                user_field,
                pass_field,
                hidden,
            });
        }
        from = end.max(start + 5);
    }
    None
}

/// The attribute strings of every `<name ...>` tag in `html`.
pub fn tags(html: &str, name: &str) -> Vec<String> {
    let low = html.to_ascii_lowercase();
    let pat = format!("<{name}");
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = low[from..].find(&pat) {
        let s = from + i;
        let e = low[s..].find('>').map(|e| s + e).unwrap_or(low.len());
        out.push(html[s..e].to_string());
        from = e.max(s + 1);
        if out.len() > 500 {
            break;
        }
    }
    out
}

/// An attribute value of a tag string (`name="x"`, `name='x'` or `name=x`).
pub fn attr(tag: &str, name: &str) -> Option<String> {
    let low = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = low[from..].find(name) {
        let i = from + i;
        from = i + name.len();
        let before_ok = i > 0 && (low.as_bytes()[i - 1].is_ascii_whitespace());
        let rest = low[i + name.len()..].trim_start();
        if !before_ok || !rest.starts_with('=') {
            continue;
        }
        let off = tag.len() - rest.len() + 1;
        let v = tag[off..].trim_start();
        return Some(match v.chars().next() {
            Some(q @ ('"' | '\'')) => v[1..].split(q).next().unwrap_or("").to_string(),
            _ => v
                .split(|c: char| c.is_whitespace() || c == '>')
                .next()
                .unwrap_or("")
                .to_string(),
        });
    }
    None
}

/// Percent-encodes a form value.
pub fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_replies_and_forms() {
        let r = parse(b"HTTP/1.1 401 Unauthorized\r\nServer: lighttpd/1.4.69\r\nWWW-Authenticate: Basic realm=\"Admin\", charset=\"UTF-8\"\r\nContent-Length: 5\r\n\r\nhelloEXTRA").unwrap();
        assert_eq!(r.status, 401);
        assert_eq!(r.header("server"), Some("lighttpd/1.4.69"));
        assert_eq!(r.body, b"hello");
        assert_eq!(challenge(&r), Some(("Basic".into(), "Admin".into())));
        let c = parse(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n<titl\r\n8\r\ne>x</tit\r\n3\r\nle>\r\n0\r\n\r\n").unwrap();
        assert_eq!(c.title().as_deref(), Some("x"));
        assert!(complete(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nab"));
        assert!(!complete(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab"));
        let f = login_form(r#"<form action="login.cgi" method=post><input type=hidden name=t value='9'><input name="user"><input type="password" name="pw"></form>"#, "/cgi/index.html").unwrap();
        assert_eq!(f.action, "/cgi/login.cgi");
        assert_eq!(f.method, "POST");
        assert_eq!(f.user_field.as_deref(), Some("user"));
        assert_eq!(f.pass_field, "pw");
        assert_eq!(f.hidden, vec![("t".to_string(), "9".to_string())]);
    }

    #[test]
    fn digest_matches_rfc2617_example() {
        // RFC 2617 §3.5: Mufasa / Circle Of Life.
        let ch = r#"Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41""#;
        let v = digest_auth(
            ch,
            "GET",
            "/dir/index.html",
            "Mufasa",
            "Circle Of Life",
            "0a4f113b",
        )
        .unwrap();
        assert!(
            v.contains("response=\"6629fae49393a05397450978507c4ef1\""),
            "{v}"
        );
    }
}
