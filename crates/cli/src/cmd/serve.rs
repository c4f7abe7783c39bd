//! `iotassure serve`: run the trust center (registry, certificates, attestations, admission,
//! re-check) on SQLite by default or PostgreSQL.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args as ClapArgs;

#[derive(ClapArgs, Debug)]
#[command(
    after_help = "On first start it creates the data folder (mode 0700), an Ed25519 signing key (mode 0600) and a one-time admin token, which it prints once and writes to DATA/admin-token (mode 0600) so a script can bootstrap.\n\nExamples:\n  iotassure serve                                   (SQLite in the default data folder, 127.0.0.1:8700)\n  iotassure serve --data ./tc --listen 127.0.0.1:9000\n  iotassure serve --data ./tc --db postgres://tc@localhost/trustcenter   (several instances may share one database)\n\nThen: iotassure tc --help"
)]
pub struct Args {
    /// Data folder: signing keys, the admin token, and the SQLite database unless --db is given.
    /// Default: $XDG_DATA_HOME/iotassure/trustcenter (or ~/.local/share/iotassure/trustcenter).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://USER[:PASSWORD]@HOST[:PORT]/DB.
    #[arg(long, value_name = "URL", env = "IOTASSURE_DB")]
    pub db: Option<String>,
    /// Address to listen on. Loopback by default; put a TLS-terminating proxy in front to serve
    /// beyond this machine.
    #[arg(long, default_value = "127.0.0.1:8700", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// The trust center's name, as attestations and the registry show it.
    #[arg(long, default_value = "iotassure trust center")]
    pub name: String,
    /// A new advisory at or above this severity suspends the certificates it hits.
    #[arg(long = "suspend-at", default_value = "high", value_parser = ["low", "medium", "high", "critical"])]
    pub suspend_at: String,
    /// Largest request body accepted (a report.json, a batch of advisories), in MiB.
    #[arg(long = "max-body", default_value_t = 32, value_name = "MIB")]
    pub max_body_mib: usize,
    /// The public base URL label pages and QR codes point at (https://tc.example.org). Default:
    /// http://LISTEN, right for a trust center on this machine only.
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// The local feed database (CVE JSON 5, NVD 2.0, OSV; filled by `iotassure advisories
    /// update`): every re-check matches certified components against it too, with the
    /// advisories loaded through `tc advisories load` as the curated layer on top.
    #[arg(long = "advisories-db", value_name = "FILE")]
    pub advisories_db: Option<PathBuf>,
    /// Answer every admission query from the database (no cache); for benchmarks.
    #[arg(long = "no-admission-cache", hide = true)]
    pub no_admission_cache: bool,
}

/// The default data folder.
pub fn default_data_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("iotassure/trustcenter");
    }
    match std::env::var_os("HOME") {
        Some(h) => PathBuf::from(h).join(".local/share/iotassure/trustcenter"),
        None => PathBuf::from("iotassure-trustcenter"),
    }
}

pub fn run(args: Args) -> Result<u8> {
    if !(1..=4096).contains(&args.max_body_mib) {
        bail!("--max-body: 1 to 4096 MiB");
    }
    if let Some(db) = &args.advisories_db {
        // Refused at start, not at the first re-check: a typo must not look like "no matches".
        iotassure_advisories::store::Store::open_existing(db)
            .with_context(|| format!("--advisories-db {}", db.display()))?;
    }
    let public_url = match args.public_url {
        Some(u) if u.starts_with("http://") || u.starts_with("https://") => {
            u.trim_end_matches('/').to_string()
        }
        Some(u) => bail!("--public-url {u}: expected http://HOST[:PORT] or https://HOST"),
        None => format!("http://{}", args.listen),
    };
    let config = iotassure_trustcenter::Config {
        public_url: Some(public_url),
        data_dir: args.data.unwrap_or_else(default_data_dir),
        db_url: args.db,
        listen: args.listen,
        name: args.name,
        suspend_at: iotassure_trustcenter::recheck::parse_severity(&args.suspend_at)
            .expect("clap checked it"),
        max_body: args.max_body_mib << 20,
        admission_cache: !args.no_admission_cache,
        advisories_db: args.advisories_db,
        ..Default::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async move {
        let data = config.data_dir.clone();
        let db = config
            .db_url
            .clone()
            .map(|u| iotassure_trustcenter::store::redact(&u))
            .unwrap_or_else(|| format!("sqlite {}", data.join("trustcenter.db").display()));
        let server = iotassure_trustcenter::Server::start(config).await?;
        eprintln!(
            "trust center listening on http://{} (database: {db}; data: {})",
            server.addr,
            data.display()
        );
        if let Some(t) = &server.admin_token {
            eprintln!(
                "admin token (shown once; also in {}):",
                data.join("admin-token").display()
            );
            println!("{t}");
        }
        server.wait().await
    })?;
    Ok(crate::EXIT_PASS)
}
