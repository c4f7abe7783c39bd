//! Shared helpers for the documents crate's integration tests: the sample documents, verdicts
//! through the real engine, and a real lighttpd serving documents on 127.0.0.0/8.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use iotassure_assess::verdict::{decide, Sources};
use iotassure_assess::Verdict;
use iotassure_core::catalog::catalog;
use iotassure_core::finding::{Observations, Outcome};

pub fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/documents")
}

/// Verdict per requirement id, decided by the real verdict engine from document evidence only.
pub fn verdicts(obs: &Observations) -> BTreeMap<String, (Verdict, String)> {
    let d = decide(
        catalog(),
        obs,
        None,
        Sources {
            firmware: false,
            device: false,
            documents: true,
        },
    );
    d.verdicts
        .into_iter()
        .map(|v| (v.id.clone(), (v.verdict, v.reason.clone())))
        .collect()
}

pub fn assert_verdict(obs: &Observations, id: &str, want: Verdict) {
    let v = verdicts(obs);
    let (got, reason) = v.get(id).unwrap_or_else(|| panic!("no verdict for {id}"));
    assert_eq!(*got, want, "{id}: {reason}\nfindings:\n{}", dump(obs));
}

pub fn dump(obs: &Observations) -> String {
    obs.findings
        .iter()
        .map(|f| {
            format!(
                "  [{:?}] {} {:?}: {}",
                f.outcome, f.check, f.provisions, f.title
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The findings of one check with one outcome.
pub fn with<'a>(
    obs: &'a Observations,
    check: &str,
    o: Outcome,
) -> Vec<&'a iotassure_core::finding::Finding> {
    obs.findings
        .iter()
        .filter(|f| f.check == check && f.outcome == o)
        .collect()
}

/// An RFC 3339 time `days` from now.
pub fn rfc3339_in(days: i64) -> String {
    (time::OffsetDateTime::now_utc() + time::Duration::days(days))
        .replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// Copies a sample document, replacing `from` with `to` in its text.
pub fn copy_with(src: &Path, dst: &Path, edits: &[(&str, &str)]) {
    let mut s = std::fs::read_to_string(src).unwrap();
    for (from, to) in edits {
        s = s.replace(from, to);
    }
    if let Some(p) = dst.parent() {
        std::fs::create_dir_all(p).unwrap();
    }
    std::fs::write(dst, s).unwrap();
}

/// A lighttpd serving `root` on `host` (an address in 127.0.0.0/8), stopped on drop.
pub struct Lighttpd {
    child: Option<Child>,
    pub host: String,
    pub port: u16,
    pub scheme: &'static str,
    dir: tempfile::TempDir,
}

pub struct Tls<'a> {
    pub pem: &'a Path,
}

impl Lighttpd {
    pub fn start(host: &str, root: &Path, extra_conf: &str) -> Lighttpd {
        Self::start_inner(host, root, extra_conf, None)
    }

    pub fn start_tls(host: &str, root: &Path, tls: Tls<'_>) -> Lighttpd {
        Self::start_inner(host, root, "", Some(tls))
    }

    fn start_inner(host: &str, root: &Path, extra_conf: &str, tls: Option<Tls<'_>>) -> Lighttpd {
        let bin = iotassure_testkit::require_tool("lighttpd", "lighttpd");
        let dir = tempfile::tempdir().unwrap();
        for attempt in 0..5 {
            let port = TcpListener::bind((host, 0))
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let ssl = match &tls {
                Some(t) => format!(
                    "server.modules += (\"mod_openssl\")\nssl.engine = \"enable\"\nssl.pemfile = \"{}\"\n",
                    t.pem.display()
                ),
                None => String::new(),
            };
            let conf = format!(
                r#"server.document-root = "{root}"
server.bind = "{host}"
server.port = {port}
server.errorlog = "{dir}/error.log"
server.modules += ("mod_accesslog", "mod_redirect")
accesslog.filename = "{dir}/access.log"
accesslog.format = "%r %>s %b"
mimetype.assign = (".txt" => "text/plain; charset=utf-8", ".html" => "text/html; charset=utf-8", ".pdf" => "application/pdf", ".bin" => "application/octet-stream")
{ssl}{extra_conf}
"#,
                root = root.display(),
                dir = dir.path().display(),
            );
            let conf_path = dir.path().join("lighttpd.conf");
            std::fs::write(&conf_path, conf.replace("{port}", &port.to_string())).unwrap();
            let mut child = Command::new(&bin)
                .arg("-D")
                .arg("-f")
                .arg(&conf_path)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start lighttpd");
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if TcpStream::connect((host, port)).is_ok() {
                    return Lighttpd {
                        child: Some(child),
                        host: host.to_string(),
                        port,
                        scheme: if tls.is_some() { "https" } else { "http" },
                        dir,
                    };
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            eprintln!(
                "lighttpd attempt {attempt} on {host}:{port} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        panic!(
            "lighttpd would not start; error log: {}",
            std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default()
        );
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}://{}:{}{path}", self.scheme, self.host, self.port)
    }

    pub fn origin(&self) -> String {
        self.url("")
    }

    /// Stops the server (SIGTERM, so lighttpd flushes its access log) and returns the request
    /// lines it served: `GET /path HTTP/1.1 200 1234`.
    pub fn stop(mut self) -> Vec<String> {
        self.shutdown();
        std::fs::read_to_string(self.dir.path().join("access.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn shutdown(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(c.id().to_string())
                .status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Lighttpd {
    fn drop(&mut self) {
        self.shutdown();
    }
}
