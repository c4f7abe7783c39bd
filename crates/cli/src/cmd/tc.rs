//! `iotassure tc`: the trust center's client, so a lab, a maker or an operator can script the
//! whole flow (submit, certify, admission, advisories, audit) without curl.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args as ClapArgs, Subcommand};
use serde_json::{json, Value};

#[derive(ClapArgs, Debug)]
#[command(
    after_help = "Every command prints the server's JSON answer on standard output. Exit status: 0 done (admission: allow); 1 admission denied, audit chain broken or certificate refused; 2 error (the problem's detail is printed).\n\nA lab's flow:\n  export IOTASSURE_SERVER=http://127.0.0.1:8700 IOTASSURE_TOKEN=iat_...\n  iotassure tc submit out/report.json --maker 'Example Plugs Ltd' --support-end 2031-12-31\n  iotassure tc certify ASSESSMENT_ID --profile uk-psti\n  iotassure tc admission --image smart-plug.img\n  iotassure tc advisories load osv/\n  iotassure tc status CERTIFICATE_ID"
)]
pub struct Args {
    /// The trust center's URL.
    #[arg(
        long,
        env = "IOTASSURE_SERVER",
        default_value = "http://127.0.0.1:8700",
        global = true
    )]
    pub server: String,
    /// A bearer token (`iat_…`). Without one, only public queries work.
    #[arg(long, env = "IOTASSURE_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
    /// Replace an existing --out or --vsa file (never a symlink or anything but a regular file).
    #[arg(long, global = true)]
    pub force: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Submit a report.json (as `iotassure assess` wrote it) for the registry.
    Submit {
        report: PathBuf,
        /// The maker's organisation (id or name); a maker's own token implies it.
        #[arg(long)]
        maker: Option<String>,
        /// Last day of the security-update support period (YYYY-MM-DD).
        #[arg(long = "support-end")]
        support_end: Option<String>,
    },
    /// Issue a certificate for a stored assessment under a profile (certifier).
    Certify {
        assessment: String,
        #[arg(long)]
        profile: String,
        #[arg(long = "valid-days")]
        valid_days: Option<i64>,
    },
    /// Show a certificate with its status history.
    Status { certificate: String },
    /// Revoke a certificate (certifier, admin).
    Revoke {
        certificate: String,
        #[arg(long)]
        reason: String,
    },
    /// Suspend a certificate (certifier, admin).
    Suspend {
        certificate: String,
        #[arg(long)]
        reason: String,
    },
    /// Reinstate a suspended certificate (certifier, admin).
    Reinstate {
        certificate: String,
        #[arg(long)]
        reason: String,
    },
    /// Upload a firmware image with its statement and documents for the trust center's workers
    /// to assess (`iotassure worker`); prints the job. Then: `tc job ID`.
    Upload {
        image: PathBuf,
        /// The maker's conformance statement (names the product).
        #[arg(long)]
        statement: PathBuf,
        /// A published document (security.txt, disclosure policy, support period). Repeatable.
        #[arg(long)]
        doc: Vec<PathBuf>,
        #[arg(long)]
        maker: Option<String>,
        #[arg(long, default_value = "en303645-m")]
        profile: String,
        #[arg(long = "support-end")]
        support_end: Option<String>,
    },
    /// Show an upload job: state, attempts, the assessment it produced.
    Job { id: String },
    /// Search the public registry.
    Search {
        #[arg(long)]
        maker: Option<String>,
        #[arg(long)]
        model: Option<String>,
        #[arg(long)]
        firmware: Option<String>,
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 1)]
        page: i64,
    },
    /// Save a certificate's signed attestation (DSSE envelope) to a file.
    Attestation {
        certificate: String,
        #[arg(long)]
        out: PathBuf,
    },
    /// Save the trust center's public keys (JSON) to a file, for `iotassure attest verify`.
    Keys {
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Ask whether a firmware may join the network (operator). Exit 0 allow, 1 deny.
    Admission {
        #[arg(long, conflicts_with_all = ["image", "maker"])]
        sha256: Option<String>,
        /// Hash this image file and ask about it.
        #[arg(long, conflicts_with = "maker")]
        image: Option<PathBuf>,
        #[arg(long, requires_all = ["model", "version"])]
        maker: Option<String>,
        #[arg(long)]
        model: Option<String>,
        #[arg(long)]
        version: Option<String>,
        /// Write the answer as a signed SLSA Verification Summary Attestation to this file.
        #[arg(long)]
        vsa: Option<PathBuf>,
    },
    /// Advisories: load OSV files or folders (then every certified release is re-checked).
    #[command(subcommand)]
    Advisories(AdvCommand),
    /// What re-checks changed (new and dropped matches, status changes) since a run.
    Changes {
        #[arg(long)]
        since: Option<String>,
        #[arg(long)]
        certificate: Option<String>,
    },
    /// The audit log (admin).
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Tokens (admin).
    #[command(subcommand)]
    Token(TokenCommand),
    /// Organisations (admin).
    #[command(subcommand)]
    Org(OrgCommand),
    /// The disclosure desk: file, follow and handle vulnerability reports.
    #[command(subcommand)]
    Report(super::tc_desk::ReportCommand),
    /// A maker's disclosure policy (deadlines the desk holds it to).
    #[command(subcommand)]
    Policy(super::tc_desk::PolicyCommand),
    /// A maker's track record at the desk (public); --out saves it for `assess --track-record`.
    TrackRecord {
        /// The maker's organisation id or name.
        maker: String,
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum AdvCommand {
    /// Load OSV JSON files (a record or an array each) or folders of them.
    Load { paths: Vec<PathBuf> },
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Recompute the hash chain on the server. Exit 0 intact, 1 broken.
    Verify,
}

#[derive(Subcommand, Debug)]
pub enum TokenCommand {
    /// Make a token; it is printed once.
    Create {
        #[arg(long, value_parser = ["admin", "certifier", "maker", "operator", "researcher"])]
        role: String,
        #[arg(long)]
        org: Option<String>,
        #[arg(long)]
        label: Option<String>,
    },
    /// Revoke a token by id.
    Revoke { id: String },
}

#[derive(Subcommand, Debug)]
pub enum OrgCommand {
    /// Create an organisation.
    Create {
        name: String,
        #[arg(long, value_parser = ["maker", "lab", "operator"])]
        kind: String,
    },
    /// List organisations.
    List,
    /// Set (or clear, without --url) an organisation's webhook.
    Webhook {
        org: String,
        #[arg(long)]
        url: Option<String>,
    },
}

pub(super) struct Client {
    pub(super) base: String,
    pub(super) token: Option<String>,
    pub(super) agent: ureq::Agent,
}

pub(super) enum Answer {
    Ok(Value),
    Problem(u16, Value),
}

impl Client {
    fn new(server: &str, token: Option<String>) -> Result<Client> {
        let base = server.trim_end_matches('/').to_string();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            bail!("--server {server}: expected http://HOST:PORT or https://HOST");
        }
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(120)))
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        Ok(Client { base, token, agent })
    }

    pub(super) fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<(Vec<u8>, Option<String>)>,
    ) -> Result<Answer> {
        self.call_with(method, path, body, "application/json")
    }

    /// A POST of `body` as `content_type` (multipart filings).
    pub(super) fn call_ct(&self, path: &str, body: Vec<u8>, content_type: &str) -> Result<Answer> {
        self.call_with("POST", path, Some((body, None)), content_type)
    }

    fn call_with(
        &self,
        method: &str,
        path: &str,
        body: Option<(Vec<u8>, Option<String>)>,
        content_type: &str,
    ) -> Result<Answer> {
        let url = format!("{}{path}", self.base);
        let auth = self.token.as_ref().map(|t| format!("Bearer {t}"));
        let mut resp = match body {
            None => {
                let mut req = match method {
                    "GET" => self.agent.get(&url),
                    "DELETE" => self.agent.delete(&url),
                    _ => unreachable!("bodyless method"),
                };
                if let Some(a) = &auth {
                    req = req.header("Authorization", a);
                }
                req.call()
            }
            Some((bytes, digest)) => {
                let mut req = match method {
                    "POST" => self.agent.post(&url),
                    "PUT" => self.agent.put(&url),
                    _ => unreachable!("method with a body"),
                };
                req = req.header("Content-Type", content_type);
                if let Some(a) = &auth {
                    req = req.header("Authorization", a);
                }
                if let Some(d) = &digest {
                    req = req.header("Content-Digest", d);
                }
                req.send(&bytes[..])
            }
        }
        .with_context(|| format!("{method} {url}"))?;
        let status = resp.status().as_u16();
        let text = resp
            .body_mut()
            .with_config()
            .limit(256 << 20)
            .read_to_string()
            .with_context(|| format!("reading the answer to {method} {url}"))?;
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if (200..300).contains(&status) {
            Ok(Answer::Ok(value))
        } else {
            Ok(Answer::Problem(status, value))
        }
    }

    pub(super) fn json(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value> {
        let body = body.map(|b| (serde_json::to_vec(&b).expect("json"), None));
        match self.call(method, path, body)? {
            Answer::Ok(v) => Ok(v),
            Answer::Problem(s, v) => Err(problem(s, &v)),
        }
    }
}

pub(super) fn problem(status: u16, v: &Value) -> anyhow::Error {
    let detail = v.get("detail").and_then(Value::as_str).unwrap_or("");
    let title = v.get("title").and_then(Value::as_str).unwrap_or("");
    let mut msg = format!("the trust center answered {status} {title}: {detail}");
    if let Some(b) = v.get("blocking").and_then(Value::as_array) {
        for x in b {
            msg.push_str(&format!(
                "\n  {} {}: {}",
                x.get("id").and_then(Value::as_str).unwrap_or("?"),
                x.get("verdict").and_then(Value::as_str).unwrap_or("?"),
                x.get("reason").and_then(Value::as_str).unwrap_or("")
            ));
        }
    }
    anyhow::anyhow!(msg)
}

pub(super) fn print(v: &Value) {
    println!("{}", serde_json::to_string_pretty(v).expect("json"));
}

pub(crate) fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

pub(super) fn query(pairs: &[(&str, Option<String>)]) -> String {
    let q: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", enc(v))))
        .collect();
    if q.is_empty() {
        String::new()
    } else {
        format!("?{}", q.join("&"))
    }
}

/// A file the command writes: never through a symlink, an existing one only with --force.
pub(super) fn write_file(path: &Path, text: &str, force: bool) -> Result<()> {
    crate::output::write_file(path, text.as_bytes(), force, "--out", &[])
}

pub fn run(args: Args) -> Result<u8> {
    // `IOTASSURE_TOKEN=` (set but empty) means no token, as a shell user expects.
    let token = args.token.filter(|t| !t.trim().is_empty());
    let c = Client::new(&args.server, token)?;
    match args.command {
        Command::Submit {
            report,
            maker,
            support_end,
        } => {
            let bytes =
                std::fs::read(&report).with_context(|| format!("reading {}", report.display()))?;
            let digest = {
                use base64::Engine;
                use sha2::Digest;
                format!(
                    "sha-256=:{}:",
                    base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(&bytes))
                )
            };
            let path = format!(
                "/api/v1/assessments{}",
                query(&[("maker", maker), ("support_end", support_end)])
            );
            match c.call("POST", &path, Some((bytes, Some(digest))))? {
                Answer::Ok(v) => print(&v),
                Answer::Problem(s, v) => return Err(problem(s, &v)),
            }
        }
        Command::Certify {
            assessment,
            profile,
            valid_days,
        } => {
            let body =
                json!({"assessment": assessment, "profile": profile, "valid_days": valid_days});
            match c.call(
                "POST",
                "/api/v1/certificates",
                Some((serde_json::to_vec(&body)?, None)),
            )? {
                Answer::Ok(v) => print(&v),
                Answer::Problem(422, v) if v.get("blocking").is_some() => {
                    eprintln!("{}", problem(422, &v));
                    print(&v);
                    return Ok(crate::EXIT_NOT_PASSED);
                }
                Answer::Problem(s, v) => return Err(problem(s, &v)),
            }
        }
        Command::Upload {
            image,
            statement,
            doc,
            maker,
            profile,
            support_end,
        } => {
            let v = upload(&c, &image, &statement, &doc, maker, &profile, support_end)?;
            print(&v);
        }
        Command::Job { id } => {
            print(&c.json("GET", &format!("/api/v1/jobs/{}", enc(&id)), None)?)
        }
        Command::Status { certificate } => print(&c.json(
            "GET",
            &format!("/api/v1/certificates/{}", enc(&certificate)),
            None,
        )?),
        Command::Revoke {
            certificate,
            reason,
        } => status(&c, &certificate, "revoked", &reason)?,
        Command::Suspend {
            certificate,
            reason,
        } => status(&c, &certificate, "suspended", &reason)?,
        Command::Reinstate {
            certificate,
            reason,
        } => status(&c, &certificate, "valid", &reason)?,
        Command::Search {
            maker,
            model,
            firmware,
            status,
            page,
        } => {
            let q = query(&[
                ("maker", maker),
                ("model", model),
                ("firmware", firmware),
                ("status", status),
                ("page", Some(page.to_string())),
            ]);
            print(&c.json("GET", &format!("/api/v1/certificates{q}"), None)?);
        }
        Command::Attestation { certificate, out } => {
            let v = c.json(
                "GET",
                &format!("/api/v1/certificates/{}/attestation", enc(&certificate)),
                None,
            )?;
            write_file(&out, &serde_json::to_string_pretty(&v)?, args.force)?;
            eprintln!("wrote {}", out.display());
        }
        Command::Keys { out } => {
            let v = c.json("GET", "/api/v1/keys", None)?;
            match out {
                Some(p) => {
                    write_file(&p, &serde_json::to_string_pretty(&v)?, args.force)?;
                    eprintln!("wrote {}", p.display());
                }
                None => print(&v),
            }
        }
        Command::Admission {
            sha256,
            image,
            maker,
            model,
            version,
            vsa,
        } => {
            let sha256 = match (sha256, image) {
                (Some(h), _) => Some(h),
                (None, Some(p)) => Some(hash_file(&p)?),
                (None, None) => None,
            };
            if sha256.is_none() && maker.is_none() {
                bail!("give --sha256, --image, or --maker with --model and --version");
            }
            let q = query(&[
                ("sha256", sha256.clone()),
                ("maker", maker.clone()),
                ("model", model.clone()),
                ("version", version.clone()),
            ]);
            let v = c.json("GET", &format!("/api/v1/admission{q}"), None)?;
            if let Some(p) = vsa {
                let q = query(&[
                    ("sha256", sha256),
                    ("maker", maker),
                    ("model", model),
                    ("version", version),
                    ("format", Some("vsa".into())),
                ]);
                let env = c.json("GET", &format!("/api/v1/admission{q}"), None)?;
                write_file(&p, &serde_json::to_string_pretty(&env)?, args.force)?;
                eprintln!("wrote {}", p.display());
            }
            print(&v);
            if v.get("decision").and_then(Value::as_str) != Some("allow") {
                return Ok(crate::EXIT_NOT_PASSED);
            }
        }
        Command::Advisories(AdvCommand::Load { paths }) => {
            if paths.is_empty() {
                bail!("name at least one OSV file or folder");
            }
            let mut records = Vec::new();
            for p in &paths {
                collect_osv(p, 0, &mut records)?;
            }
            if records.is_empty() {
                bail!(
                    "no .json files found in {}",
                    paths
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
            let mut last = Value::Null;
            // In chunks, so one request stays under the server's body cap.
            for chunk in records.chunks(2000) {
                last = c.json(
                    "POST",
                    "/api/v1/advisories",
                    Some(Value::Array(chunk.to_vec())),
                )?;
            }
            print(&last);
        }
        Command::Changes { since, certificate } => {
            let q = query(&[("since", since)]);
            let path = match certificate {
                Some(id) => format!("/api/v1/certificates/{}/changes{q}", enc(&id)),
                None => format!("/api/v1/changes{q}"),
            };
            print(&c.json("GET", &path, None)?);
        }
        Command::Audit(AuditCommand::Verify) => {
            let v = c.json("GET", "/api/v1/audit/verify", None)?;
            print(&v);
            if v.get("ok").and_then(Value::as_bool) != Some(true) {
                return Ok(crate::EXIT_NOT_PASSED);
            }
        }
        Command::Token(TokenCommand::Create { role, org, label }) => print(&c.json(
            "POST",
            "/api/v1/tokens",
            Some(json!({"role": role, "org": org, "label": label})),
        )?),
        Command::Token(TokenCommand::Revoke { id }) => {
            print(&c.json("DELETE", &format!("/api/v1/tokens/{}", enc(&id)), None)?)
        }
        Command::Org(OrgCommand::Create { name, kind }) => print(&c.json(
            "POST",
            "/api/v1/orgs",
            Some(json!({"name": name, "kind": kind})),
        )?),
        Command::Org(OrgCommand::List) => print(&c.json("GET", "/api/v1/orgs", None)?),
        Command::Org(OrgCommand::Webhook { org, url }) => print(&c.json(
            "PUT",
            &format!("/api/v1/orgs/{}/webhook", enc(&org)),
            Some(json!({"url": url})),
        )?),
        Command::Report(cmd) => return super::tc_desk::report(&c, cmd),
        Command::Policy(cmd) => return super::tc_desk::policy(&c, cmd),
        Command::TrackRecord { maker, out } => {
            let v = c.json(
                "GET",
                &format!("/api/v1/orgs/{}/track-record", enc(&maker)),
                None,
            )?;
            match out {
                Some(p) => {
                    write_file(&p, &serde_json::to_string_pretty(&v)?, args.force)?;
                    eprintln!("wrote {}", p.display());
                }
                None => print(&v),
            }
        }
    }
    Ok(crate::EXIT_PASS)
}

fn status(c: &Client, cert: &str, to: &str, reason: &str) -> Result<()> {
    let v = c.json(
        "POST",
        &format!("/api/v1/certificates/{}/status", enc(cert)),
        Some(json!({"status": to, "reason": reason})),
    )?;
    print(&v);
    Ok(())
}

fn hash_file(p: &Path) -> Result<String> {
    use sha2::Digest;
    let mut f = std::fs::File::open(p).with_context(|| format!("reading {}", p.display()))?;
    let mut h = sha2::Sha256::new();
    std::io::copy(&mut f, &mut h).with_context(|| format!("reading {}", p.display()))?;
    Ok(hex::encode(h.finalize()))
}

fn collect_osv(p: &Path, depth: usize, out: &mut Vec<Value>) -> Result<()> {
    const MAX_FILE: u64 = 64 << 20;
    if depth > 8 {
        bail!("{}: folders nested deeper than 8 levels", p.display());
    }
    let meta = std::fs::metadata(p).with_context(|| format!("reading {}", p.display()))?;
    if meta.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
            .with_context(|| format!("reading {}", p.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for e in entries {
            if e.is_dir() || e.extension().is_some_and(|x| x == "json") {
                collect_osv(&e, depth + 1, out)?;
            }
        }
        return Ok(());
    }
    if meta.len() > MAX_FILE {
        bail!(
            "{}: {} bytes; OSV files over 64 MiB are refused",
            p.display(),
            meta.len()
        );
    }
    let text = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
    let v: Value = serde_json::from_slice(&text).map_err(|e| {
        anyhow::anyhow!(
            "{}: not JSON (line {}, column {}): {e}",
            p.display(),
            e.line(),
            e.column()
        )
    })?;
    match v {
        Value::Array(a) => out.extend(a),
        o @ Value::Object(_) => out.push(o),
        _ => bail!(
            "{}: expected an OSV record or an array of them",
            p.display()
        ),
    }
    Ok(())
}

/// A multipart/form-data body, streamed: the image is read from disk as it is sent.
fn upload(
    c: &Client,
    image: &Path,
    statement: &Path,
    docs: &[PathBuf],
    maker: Option<String>,
    profile: &str,
    support_end: Option<String>,
) -> Result<Value> {
    use std::io::Read;
    let boundary = format!("iotassure-{}", std::process::id());
    let mut head = Vec::new();
    let text = |name: &str, value: &str, out: &mut Vec<u8>| {
        out.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    };
    if let Some(m) = &maker {
        text("maker", m, &mut head);
    }
    text("profile", profile, &mut head);
    if let Some(d) = &support_end {
        text("support_end", d, &mut head);
    }
    let file_part = |name: &str, path: &Path, out: &mut Vec<u8>| -> Result<()> {
        let body = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let fname = path
            .file_name()
            .map(|n| n.to_string_lossy().replace('"', ""))
            .unwrap_or_default();
        out.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{fname}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
        );
        out.extend_from_slice(&body);
        out.extend_from_slice(b"\r\n");
        Ok(())
    };
    file_part("statement", statement, &mut head)?;
    for d in docs {
        file_part("doc", d, &mut head)?;
    }
    head.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"image\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
    );
    let file =
        std::fs::File::open(image).with_context(|| format!("reading {}", image.display()))?;
    let tail = format!("\r\n--{boundary}--\r\n").into_bytes();
    let reader = std::io::Cursor::new(head)
        .chain(file)
        .chain(std::io::Cursor::new(tail));
    let url = format!("{}/api/v1/jobs", c.base);
    let mut req = c.agent.post(&url).header(
        "Content-Type",
        &format!("multipart/form-data; boundary={boundary}"),
    );
    if let Some(t) = &c.token {
        req = req.header("Authorization", &format!("Bearer {t}"));
    }
    let mut resp = req
        .send(ureq::SendBody::from_owned_reader(reader))
        .with_context(|| format!("POST {url}"))?;
    let status = resp.status().as_u16();
    let text = resp
        .body_mut()
        .read_to_string()
        .with_context(|| format!("reading the answer to POST {url}"))?;
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    if (200..300).contains(&status) {
        Ok(v)
    } else {
        Err(problem(status, &v))
    }
}
