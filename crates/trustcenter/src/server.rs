//! Starting the service: the data folder, the database, the signing keys, the bootstrap admin
//! token, the background loops (webhooks, cache invalidation, expiry) and the HTTP listener.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use iotassure_core::finding::Severity;
use tokio::sync::Notify;

use crate::admission;
use crate::auth::{Role, TokenCache};
use crate::keys::Keys;
use crate::registry;
use crate::store::{self, Audit, Store};
use crate::util;

/// How often an instance looks for changes made by the others (cache invalidation).
pub const POLL: Duration = Duration::from_millis(250);

#[derive(Debug, Clone)]
pub struct Config {
    /// Keys, the SQLite file (by default), the admin token, uploads.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; default: `sqlite://DATA/trustcenter.db`.
    pub db_url: Option<String>,
    pub listen: SocketAddr,
    /// The trust center's name, as attestations and the registry pages show it.
    pub name: String,
    /// A new advisory at or above this severity suspends the certificates it hits.
    pub suspend_at: Severity,
    /// Largest request body accepted (report.json, advisories), in bytes.
    pub max_body: usize,
    /// How often the expiry sweep runs.
    pub sweep_every: Duration,
    /// Largest firmware upload for the trust center to assess, in bytes.
    pub max_upload: usize,
    /// Cache admission answers (per audit generation). Off only to measure the database path.
    pub admission_cache: bool,
    /// The public base URL (`https://tc.example.org`) that label links and QR codes encode.
    pub public_url: Option<String>,
    /// Without `public_url`, build absolute URLs from the request's Host header (off: a forged
    /// Host must not end up printed on a label).
    pub public_url_from_host: bool,
    /// A client must send a request's whole header within this time (also while a kept-alive
    /// connection waits for its next request).
    pub header_timeout: Duration,
    /// A request body that sends nothing for this long is cut off.
    pub body_idle: Duration,
    /// Connections served at once; more wait in the kernel's accept queue.
    pub max_connections: usize,
    /// The local feed database (`iotassure advisories update`): the re-check matches certified
    /// components against it as well as against the advisories loaded into the trust center.
    pub advisories_db: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("iotassure-trustcenter"),
            db_url: None,
            listen: "127.0.0.1:8700".parse().expect("address"),
            name: "iotassure trust center".into(),
            suspend_at: Severity::High,
            max_body: 32 << 20,
            sweep_every: Duration::from_secs(3600),
            admission_cache: true,
            max_upload: 512 << 20,
            public_url: None,
            public_url_from_host: false,
            header_timeout: Duration::from_secs(15),
            body_idle: Duration::from_secs(30),
            max_connections: 1024,
            advisories_db: None,
        }
    }
}

pub struct AppState {
    pub store: Store,
    pub keys: Keys,
    pub config: Config,
    pub admission: admission::Cache,
    pub tokens: TokenCache,
    pub outbox_wake: Notify,
}

impl AppState {
    /// Called after every committed state change of this instance.
    pub fn changed(&self) {
        self.admission.clear();
        self.tokens.clear();
        self.outbox_wake.notify_one();
    }
}

/// A started trust center.
pub struct Server {
    pub addr: SocketAddr,
    pub state: Arc<AppState>,
    /// Set on first start only: the bootstrap admin token (also in DATA/admin-token).
    pub admin_token: Option<String>,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Opens (and on first use creates) the data folder, database and keys, and starts
    /// listening. Returns once the socket is bound.
    pub async fn start(config: Config) -> Result<Server> {
        let state = Arc::new(open(config).await?);
        let admin_token = bootstrap_admin(&state).await?;
        let listener = tokio::net::TcpListener::bind(state.config.listen)
            .await
            .with_context(|| format!("listening on {}", state.config.listen))?;
        let addr = listener.local_addr()?;
        spawn_loops(&state);
        let app = crate::api::router(state.clone());
        let limits = crate::listen::Limits::from(&state.config);
        let task = tokio::spawn(crate::listen::serve(listener, app, limits));
        Ok(Server {
            addr,
            state,
            admin_token,
            task,
        })
    }

    /// Serves until the process is told to stop (Ctrl-C / SIGTERM).
    pub async fn wait(self) -> Result<()> {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
            _ = self.task => {}
        }
        Ok(())
    }
}

/// The state without a listener (for `worker` and tests).
pub async fn open(config: Config) -> Result<AppState> {
    create_private_dir(&config.data_dir)?;
    crate::desk::attachments::sweep_partials(&config.data_dir);
    let url = config.db_url.clone().unwrap_or_else(|| {
        format!(
            "sqlite://{}?mode=rwc",
            config.data_dir.join("trustcenter.db").display()
        )
    });
    let store = Store::open(&url).await?;
    let keys = Keys::open(&config.data_dir.join("keys"), &store).await?;
    Ok(AppState {
        store,
        keys,
        config,
        admission: admission::Cache::new(200_000),
        tokens: TokenCache::new(100_000),
        outbox_wake: Notify::new(),
    })
}

fn create_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("creating {}", dir.display()))?;
    }
    Ok(())
}

/// On first start (no admin token in the database): makes one, writes it to DATA/admin-token
/// (mode 0600) and returns it for printing once.
async fn bootstrap_admin(state: &AppState) -> Result<Option<String>> {
    let mut tx = state.store.write().await?;
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tokens WHERE role = 'admin'")
        .fetch_one(&mut *tx)
        .await?;
    if n > 0 {
        return Ok(None);
    }
    let token = util::new_token();
    let id = util::new_id();
    registry::insert_token(&mut tx, &id, &token, Role::Admin, None, "bootstrap").await?;
    store::audit(
        &mut tx,
        Audit {
            actor: "system",
            action: "token.bootstrap",
            subject: &id,
            before: serde_json::Value::Null,
            after: serde_json::json!({"role": "admin"}),
        },
    )
    .await?;
    let path = state.config.data_dir.join("admin-token");
    write_secret(&path, &token)?;
    tx.commit().await?;
    Ok(Some(token))
}

fn write_secret(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("writing {}", tmp.display()))?;
    f.write_all(text.as_bytes())?;
    f.write_all(b"\n")?;
    f.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn spawn_loops(state: &Arc<AppState>) {
    tokio::spawn(crate::webhook::run(state.clone(), Duration::from_secs(1)));
    let s = state.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(POLL).await;
            if let Ok(g) = s.store.generation().await {
                s.admission.clear_if_stale(g);
                s.tokens.clear_if_stale(g);
            }
        }
    });
    let s = state.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(s.config.sweep_every).await;
            let r = async {
                let mut tx = s.store.write().await?;
                let run = crate::recheck::run_in(&s, &mut tx, "system:sweep").await?;
                tx.commit().await?;
                Ok::<_, crate::problem::Problem>(run)
            }
            .await;
            match r {
                Ok(_) => s.changed(),
                Err(e) => eprintln!("trust center: scheduled re-check: {}", e.detail),
            }
        }
    });
}
