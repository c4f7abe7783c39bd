//! A trust center started in-process for a test, on SQLite (a temp folder) or on the PostgreSQL
//! server `.ci/run` starts (a fresh database per test), and a small blocking HTTP client.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use iotassure_trustcenter::{Config, Server};
use serde_json::{json, Value};

pub const PG_ENV: &str = "IOTASSURE_TEST_PG";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct Tc {
    pub base: String,
    pub admin: String,
    pub data: tempfile::TempDir,
    pub db_url: String,
    pub rt: tokio::runtime::Runtime,
    pub server: Option<Server>,
}

/// The PostgreSQL admin URL, or None (skip) outside CI; in CI its absence fails the test.
pub fn pg_url() -> Option<String> {
    match std::env::var(PG_ENV) {
        Ok(u) if !u.is_empty() => Some(u),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("{PG_ENV} is not set: .ci/run starts PostgreSQL and sets it")
        }
        _ => {
            eprintln!("note: {PG_ENV} not set; skipping the PostgreSQL variant");
            None
        }
    }
}

/// A fresh database on the test server.
pub fn fresh_pg_db(rt: &tokio::runtime::Runtime) -> Option<String> {
    let admin = pg_url()?;
    let name = format!("tc_{}", uuid_simple());
    rt.block_on(async {
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(&admin)
            .await
            .expect("connect to the test PostgreSQL");
        sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
            .execute(&mut c)
            .await
            .expect("create database");
    });
    let base = admin.rsplit_once('/').map(|(b, _)| b.to_string()).unwrap();
    Some(format!("{base}/{name}"))
}

fn uuid_simple() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let n = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{:x}{:x}", n, std::process::id())
}

pub fn config(data: &std::path::Path, db_url: &str) -> Config {
    Config {
        data_dir: data.to_path_buf(),
        db_url: Some(db_url.to_string()),
        listen: "127.0.0.1:0".parse().unwrap(),
        max_body: 4 << 20,
        max_upload: 1 << 20,
        ..Default::default()
    }
}

impl Tc {
    /// None when the backend is not available here (PostgreSQL outside CI).
    pub fn start(backend: Backend) -> Option<Tc> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let data = tempfile::tempdir().unwrap();
        let db_url = match backend {
            Backend::Sqlite => format!("sqlite://{}?mode=rwc", data.path().join("tc.db").display()),
            Backend::Postgres => fresh_pg_db(&rt)?,
        };
        let server = rt
            .block_on(Server::start(config(data.path(), &db_url)))
            .expect("start the trust center");
        let admin = server
            .admin_token
            .clone()
            .expect("first start makes an admin token");
        Some(Tc {
            base: format!("http://{}", server.addr),
            admin,
            data,
            db_url,
            rt,
            server: Some(server),
        })
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        call("GET", &format!("{}{path}", self.base), token, None)
    }
    pub fn post(&self, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
        call(
            "POST",
            &format!("{}{path}", self.base),
            token,
            Some(body.to_string().into_bytes()),
        )
    }
    pub fn post_raw(&self, path: &str, token: Option<&str>, body: Vec<u8>) -> (u16, Value) {
        call("POST", &format!("{}{path}", self.base), token, Some(body))
    }

    /// Creates an organisation and a token for it; returns (org id, token).
    pub fn org_token(&self, name: &str, kind: &str, role: &str) -> (String, String) {
        let (s, org) = self.post(
            "/api/v1/orgs",
            Some(&self.admin),
            &json!({"name": name, "kind": kind}),
        );
        assert_eq!(s, 201, "{org}");
        let (s, t) = self.post(
            "/api/v1/tokens",
            Some(&self.admin),
            &json!({"role": role, "org": name}),
        );
        assert_eq!(s, 201, "{t}");
        (
            org["id"].as_str().unwrap().to_string(),
            t["token"].as_str().unwrap().to_string(),
        )
    }

    pub fn token(&self, role: &str) -> String {
        let (s, t) = self.post("/api/v1/tokens", Some(&self.admin), &json!({"role": role}));
        assert_eq!(s, 201, "{t}");
        t["token"].as_str().unwrap().to_string()
    }
}

pub fn call(method: &str, url: &str, token: Option<&str>, body: Option<Vec<u8>>) -> (u16, Value) {
    call_h(method, url, token, body, &[])
}

pub fn call_h(
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<Vec<u8>>,
    headers: &[(&str, &str)],
) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(60)))
        .http_status_as_error(false)
        .build()
        .into();
    let auth = token.map(|t| format!("Bearer {t}"));
    let resp = match body {
        None => {
            let mut r = match method {
                "GET" => agent.get(url),
                "DELETE" => agent.delete(url),
                _ => unreachable!(),
            };
            if let Some(a) = &auth {
                r = r.header("Authorization", a);
            }
            for (k, v) in headers {
                r = r.header(*k, *v);
            }
            r.call()
        }
        Some(b) => {
            let mut r = match method {
                "POST" => agent.post(url),
                "PUT" => agent.put(url),
                _ => unreachable!(),
            };
            if !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            {
                r = r.header("Content-Type", "application/json");
            }
            if let Some(a) = &auth {
                r = r.header("Authorization", a);
            }
            for (k, v) in headers {
                r = r.header(*k, *v);
            }
            r.send(&b[..])
        }
    };
    let mut resp = resp.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let text = resp
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_string()
        .unwrap();
    if status >= 400 {
        assert_eq!(
            ct, "application/problem+json",
            "{method} {url} → {status} must be problem+json: {text}"
        );
    }
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// The passing report of the bundled smart-plug example (see tests/data/README.md).
pub fn passing_report() -> Vec<u8> {
    std::fs::read(data("smart-plug.report.json")).unwrap()
}

pub fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// Runs the body once per backend available.
#[macro_export]
macro_rules! both {
    ($name:ident, $body:expr) => {
        mod $name {
            use super::*;
            #[test]
            fn sqlite() {
                let f: fn(common::Backend) = $body;
                f(common::Backend::Sqlite);
            }
            #[test]
            fn postgres() {
                if common::pg_url().is_none() {
                    return;
                }
                let f: fn(common::Backend) = $body;
                f(common::Backend::Postgres);
            }
        }
    };
}
