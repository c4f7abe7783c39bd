//! Firmware uploaded for the trust center to assess, and the `worker` processes that do it.
//!
//! An upload (multipart: the image, the maker's statement, its documents) is streamed to
//! DATA/uploads/<job>/ under a size cap and queued. A worker claims the oldest queued job (or a
//! running one whose lease ran out: its worker died), runs the same `iotassure assess` pipeline
//! as a user would, and stores the report as an assessment in the transaction that marks the job
//! done — only while the job is still its own, so a job is never lost and never done twice.
//! Several workers on one PostgreSQL database claim with `FOR UPDATE SKIP LOCKED`; the uploads
//! folder must then be shared (the same DATA) between the service and the workers.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use axum::extract::Multipart;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::Row;
use tokio::io::AsyncWriteExt;
use utoipa::ToSchema;

use crate::auth::{Caller, Role};
use crate::problem::{ApiResult, Problem};
use crate::registry;
use crate::server::AppState;
use crate::store::{audit, Audit, Backend};
use crate::util;

/// A statement or a document: a few hundred KiB in practice.
const MAX_TEXT_PART: usize = 4 << 20;
const MAX_DOCS: usize = 16;
/// A job that failed this many times is given up (state `failed`).
pub const MAX_ATTEMPTS: i64 = 3;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Job {
    pub id: String,
    /// `queued`, `running`, `done` or `failed`.
    pub state: String,
    pub image_sha256: String,
    pub size: i64,
    pub profile: String,
    pub attempts: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assessment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
}

fn uploads(st: &AppState) -> PathBuf {
    st.config.data_dir.join("uploads")
}

/// Writes one multipart field to `path`, refusing past `cap` bytes.
pub(crate) async fn save_field(
    field: &mut axum::extract::multipart::Field<'_>,
    path: &Path,
    cap: usize,
) -> ApiResult<(String, i64)> {
    use sha2::Digest;
    let mut f = tokio::fs::File::create(path)
        .await
        .map_err(|e| Problem::internal(format!("writing the upload: {e}")))?;
    let mut h = sha2::Sha256::new();
    let mut n = 0usize;
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|e| Problem::bad_request(format!("reading the upload: {e}")))?
    {
        n += chunk.len();
        if n > cap {
            let name = field.name().unwrap_or("").to_string();
            // Drain the rest of this part (bounded), so the client hears the 413.
            let mut left = DRAIN;
            while let Ok(Some(c)) = field.chunk().await {
                left = left.saturating_sub(c.len());
                if left == 0 {
                    break;
                }
            }
            return Err(Problem::too_large(format!(
                "part `{name}` is larger than {cap} bytes"
            )));
        }
        h.update(&chunk);
        f.write_all(&chunk)
            .await
            .map_err(|e| Problem::internal(format!("writing the upload: {e}")))?;
    }
    f.sync_all()
        .await
        .map_err(|e| Problem::internal(format!("writing the upload: {e}")))?;
    Ok((hex::encode(h.finalize()), n as i64))
}

struct Parts {
    image: Option<(String, i64)>,
    statement: bool,
    docs: usize,
    maker: Option<String>,
    profile: String,
    support_end: Option<String>,
}

/// Past a cap, this much more of an upload is read and dropped before the refusal is sent.
pub(crate) const DRAIN: usize = 64 << 20;

async fn read_parts(st: &AppState, mp: &mut Multipart, partial: &Path) -> ApiResult<Parts> {
    let (mut image, mut statement, mut docs) = (None, false, 0usize);
    let (mut maker, mut profile, mut support_end) = (None, "en303645-m".to_string(), None);
    while let Some(mut field) = mp
        .next_field()
        .await
        .map_err(|e| Problem::bad_request(format!("malformed multipart body: {e}")))?
    {
        let name = field.name().unwrap_or("").to_string();
        match name.as_str() {
            "image" => {
                image = Some(
                    save_field(&mut field, &partial.join("image"), st.config.max_upload).await?,
                )
            }
            "statement" => {
                save_field(&mut field, &partial.join("statement.yaml"), MAX_TEXT_PART).await?;
                statement = true;
            }
            "doc" => {
                if docs == MAX_DOCS {
                    return Err(Problem::invalid(format!("at most {MAX_DOCS} documents")));
                }
                // The document's own name is kept only as a sanitised suffix: the checks read
                // its extension (html, txt), and no name from the client reaches a path.
                let ext = field
                    .file_name()
                    .and_then(|f| f.rsplit('.').next())
                    .filter(|e| e.len() <= 8 && e.chars().all(|c| c.is_ascii_alphanumeric()))
                    .unwrap_or("txt")
                    .to_ascii_lowercase();
                save_field(
                    &mut field,
                    &partial.join(format!("doc-{docs}.{ext}")),
                    MAX_TEXT_PART,
                )
                .await?;
                docs += 1;
            }
            "maker" | "profile" | "support_end" => {
                let v = field
                    .text()
                    .await
                    .map_err(|e| Problem::bad_request(format!("reading `{name}`: {e}")))?;
                if v.len() > 200 {
                    return Err(Problem::invalid(format!(
                        "`{name}`: at most 200 characters"
                    )));
                }
                match name.as_str() {
                    "maker" => maker = Some(v),
                    "profile" => profile = v,
                    _ => support_end = Some(v),
                }
            }
            other => return Err(Problem::invalid(format!("unknown part `{other}`"))),
        }
    }
    Ok(Parts {
        image,
        statement,
        docs,
        maker,
        profile,
        support_end,
    })
}

/// Takes an upload and queues it. Fields: `image` (required), `statement` (the conformance
/// statement, required: it names the product), `doc` (repeatable), `maker`, `profile`,
/// `support_end`.
pub async fn upload(st: &AppState, who: &Caller, mut mp: Multipart) -> ApiResult<Job> {
    who.require(&[Role::Certifier, Role::Maker])?;
    let id = util::new_id();
    let partial = uploads(st).join(format!("{id}.partial"));
    tokio::fs::create_dir_all(&partial)
        .await
        .map_err(|e| Problem::internal(format!("creating {}: {e}", partial.display())))?;
    // Whatever goes wrong below, nothing half-written stays.
    struct Cleanup(PathBuf, bool);
    impl Drop for Cleanup {
        fn drop(&mut self) {
            if !self.1 {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }
    let mut cleanup = Cleanup(partial.clone(), false);
    let parts = match read_parts(st, &mut mp, &partial).await {
        Ok(p) => p,
        Err(p) => {
            // Read what the client is still sending (bounded), so it hears the problem
            // instead of a reset connection.
            let mut left = DRAIN;
            while let Ok(Some(mut f)) = mp.next_field().await {
                while let Ok(Some(c)) = f.chunk().await {
                    left = left.saturating_sub(c.len());
                    if left == 0 {
                        return Err(p);
                    }
                }
            }
            return Err(p);
        }
    };
    let Parts {
        image,
        statement,
        docs,
        maker,
        profile,
        support_end,
    } = parts;
    let (sha, size) = image.ok_or_else(|| Problem::invalid("no `image` part"))?;
    if !statement {
        return Err(Problem::invalid(
            "no `statement` part: the conformance statement names the product (iotassure ics init)",
        ));
    }
    if iotassure_core::catalog::catalog()
        .profiles
        .iter()
        .all(|p| p.id != profile)
    {
        return Err(Problem::invalid(format!(
            "`profile`: no profile {profile:?}"
        )));
    }
    if support_end
        .as_deref()
        .is_some_and(|d| util::parse_date(d).is_none())
    {
        return Err(Problem::invalid("`support_end`: a date, YYYY-MM-DD"));
    }
    let maker = registry::resolve_maker(st, who, maker.as_deref()).await?;
    let dir = uploads(st).join(&id);
    let job = Job {
        id: id.clone(),
        state: "queued".into(),
        image_sha256: sha,
        size,
        profile,
        attempts: 0,
        assessment: None,
        error: None,
        created_at: util::now(),
        finished_at: None,
    };
    let mut tx = st.store.write().await?;
    sqlx::query(
        "INSERT INTO jobs (id, state, image_path, image_sha256, size, profile, support_end, submitted_by, submitter_role, maker_id, attempts, created_at) \
         VALUES ($1, 'queued', $2, $3, $4, $5, $6, $7, $8, $9, 0, $10)",
    )
    .bind(&id)
    .bind(dir.display().to_string())
    .bind(&job.image_sha256)
    .bind(size)
    .bind(&job.profile)
    .bind(&support_end)
    .bind(who.org.as_deref().unwrap_or(""))
    .bind(who.role.as_str())
    .bind(&maker)
    .bind(&job.created_at)
    .execute(&mut *tx)
    .await?;
    audit(
        &mut tx,
        Audit {
            actor: &who.actor(),
            action: "job.queue",
            subject: &id,
            before: Value::Null,
            after: json!({"image_sha256": job.image_sha256, "size": size, "profile": job.profile, "documents": docs}),
        },
    )
    .await?;
    // The files are in place before the row commits: a worker never sees a job without them.
    std::fs::rename(&partial, &dir)
        .map_err(|e| Problem::internal(format!("storing the upload: {e}")))?;
    cleanup.1 = true;
    if let Err(e) = tx.commit().await {
        let _ = std::fs::remove_dir_all(&dir);
        return Err(e.into());
    }
    st.changed();
    Ok(job)
}

fn job_row(r: &sqlx::any::AnyRow) -> Result<Job, sqlx::Error> {
    Ok(Job {
        id: r.try_get("id")?,
        state: r.try_get("state")?,
        image_sha256: r.try_get("image_sha256")?,
        size: r.try_get("size")?,
        profile: r.try_get("profile")?,
        attempts: r.try_get("attempts")?,
        assessment: r.try_get("assessment_id")?,
        error: r.try_get("error")?,
        created_at: r.try_get("created_at")?,
        finished_at: r.try_get("finished_at")?,
    })
}

pub async fn get(st: &AppState, who: &Caller, id: &str) -> ApiResult<Job> {
    who.require(&[Role::Admin, Role::Certifier, Role::Maker])?;
    if !util::is_id(id) {
        return Err(Problem::not_found("no such job"));
    }
    let r = sqlx::query("SELECT * FROM jobs WHERE id = $1")
        .bind(id)
        .fetch_optional(&st.store.pool)
        .await?
        .ok_or_else(|| Problem::not_found("no such job"))?;
    let maker: String = r.try_get("maker_id")?;
    if !who.may_see_org(&maker) {
        return Err(Problem::not_found("no such job"));
    }
    Ok(job_row(&r)?)
}

/// A claimed job, as the worker needs it.
pub struct Claimed {
    pub id: String,
    pub dir: PathBuf,
    pub profile: String,
    pub maker: String,
    pub support_end: Option<String>,
    pub submitted_by: String,
    pub submitter_role: Role,
    pub attempts: i64,
}

/// Claims the oldest queued job, or a running one whose lease has passed.
pub async fn claim(st: &AppState, worker: &str, lease: Duration) -> ApiResult<Option<Claimed>> {
    let now = util::now();
    let until = util::stamp(time::OffsetDateTime::now_utc() + lease);
    let lock = if st.store.backend == Backend::Postgres {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let mut tx = st.store.write().await?;
    let row = sqlx::query(&format!(
        "SELECT * FROM jobs WHERE state = 'queued' OR (state = 'running' AND lease_until < $1) ORDER BY created_at LIMIT 1{lock}"
    ))
    .bind(&now)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let id: String = r.try_get("id")?;
    let attempts: i64 = r.try_get::<i64, _>("attempts")? + 1;
    let before: String = r.try_get("state")?;
    if attempts > MAX_ATTEMPTS {
        sqlx::query("UPDATE jobs SET state = 'failed', error = $1, finished_at = $2 WHERE id = $3")
            .bind(format!("given up after {MAX_ATTEMPTS} attempts"))
            .bind(&now)
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        audit(
            &mut tx,
            Audit {
                actor: worker,
                action: "job.failed",
                subject: &id,
                before: json!({"state": before}),
                after: json!({"state": "failed", "attempts": attempts - 1}),
            },
        )
        .await?;
        tx.commit().await?;
        return Ok(None);
    }
    sqlx::query("UPDATE jobs SET state = 'running', worker = $1, lease_until = $2, attempts = $3 WHERE id = $4")
        .bind(worker)
        .bind(&until)
        .bind(attempts)
        .bind(&id)
        .execute(&mut *tx)
        .await?;
    audit(
        &mut tx,
        Audit {
            actor: worker,
            action: "job.claim",
            subject: &id,
            before: json!({"state": before}),
            after: json!({"state": "running", "attempts": attempts, "lease_until": until}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Some(Claimed {
        id,
        dir: PathBuf::from(r.try_get::<String, _>("image_path")?),
        profile: r.try_get("profile")?,
        maker: r.try_get("maker_id")?,
        support_end: r.try_get("support_end")?,
        submitted_by: r.try_get("submitted_by")?,
        submitter_role: Role::parse(&r.try_get::<String, _>("submitter_role")?)
            .unwrap_or(Role::Certifier),
        attempts,
    }))
}

/// Runs `exe assess` on a claimed job; returns the report.json bytes or why it failed.
pub fn assess(exe: &Path, job: &Claimed, timeout: Duration) -> Result<Vec<u8>, String> {
    let work = tempfile::tempdir().map_err(|e| e.to_string())?;
    let out = work.path().join("out");
    let mut cmd = Command::new(exe);
    cmd.args(["-q", "assess"])
        .arg(job.dir.join("image"))
        .arg("--ics")
        .arg(job.dir.join("statement.yaml"))
        .args(["--profile", &job.profile, "--out"])
        .arg(&out);
    let mut docs: Vec<PathBuf> = std::fs::read_dir(&job.dir)
        .map_err(|e| format!("{}: {e}", job.dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("doc-"))
        })
        .collect();
    docs.sort();
    for d in docs {
        cmd.arg("--doc").arg(d);
    }
    let mut child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("starting {}: {e}", exe.display()))?;
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().map_err(|e| e.to_string())? {
            break s;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "assess ran past {} s and was stopped",
                timeout.as_secs()
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        use std::io::Read;
        let _ = e.by_ref().take(64 << 10).read_to_string(&mut err);
    }
    match status.code() {
        Some(0 | 1) => {
            std::fs::read(out.join("report.json")).map_err(|e| format!("report.json: {e}"))
        }
        _ => Err(format!(
            "assess exited {status}: {}",
            err.lines()
                .rev()
                .take(5)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join(" / ")
        )),
    }
}

/// Stores the report and marks the job done in one transaction, only if the job is still this
/// worker's (a worker whose lease passed and whose job was taken over stores nothing).
pub async fn finish(
    st: &AppState,
    worker: &str,
    job: &Claimed,
    report: &[u8],
) -> ApiResult<String> {
    let parsed = registry::validate_report(report)?;
    let who = Caller {
        role: job.submitter_role,
        org: Some(job.submitted_by.clone()),
        token_id: Some(format!("worker:{worker}")),
    };
    let mut tx = st.store.write().await?;
    let mine = sqlx::query("UPDATE jobs SET state = 'done', finished_at = $1, error = NULL WHERE id = $2 AND worker = $3 AND state = 'running'")
        .bind(util::now())
        .bind(&job.id)
        .bind(worker)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if mine != 1 {
        return Err(Problem::conflict(
            "the job is no longer this worker's (its lease passed); nothing stored",
        ));
    }
    let done = registry::store_report(
        &mut tx,
        &who,
        &job.maker,
        job.support_end.as_deref(),
        report,
        &parsed,
    )
    .await?;
    sqlx::query("UPDATE jobs SET assessment_id = $1 WHERE id = $2")
        .bind(&done.id)
        .bind(&job.id)
        .execute(&mut *tx)
        .await?;
    audit(
        &mut tx,
        Audit {
            actor: worker,
            action: "job.done",
            subject: &job.id,
            before: json!({"state": "running"}),
            after: json!({"state": "done", "assessment": done.id}),
        },
    )
    .await?;
    tx.commit().await?;
    st.changed();
    Ok(done.id)
}

/// Records a failed attempt: queued again, or `failed` after [`MAX_ATTEMPTS`].
pub async fn fail(st: &AppState, worker: &str, job: &Claimed, why: &str) -> ApiResult<()> {
    let to = if job.attempts >= MAX_ATTEMPTS {
        "failed"
    } else {
        "queued"
    };
    let mut tx = st.store.write().await?;
    let n = sqlx::query("UPDATE jobs SET state = $1, error = $2, finished_at = $3 WHERE id = $4 AND worker = $5 AND state = 'running'")
        .bind(to)
        .bind(why.chars().take(2000).collect::<String>())
        .bind((to == "failed").then(util::now))
        .bind(&job.id)
        .bind(worker)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if n == 1 {
        audit(
            &mut tx,
            Audit {
                actor: worker,
                action: "job.attempt_failed",
                subject: &job.id,
                before: json!({"state": "running"}),
                after: json!({"state": to, "error": why}),
            },
        )
        .await?;
    }
    tx.commit().await?;
    st.changed();
    Ok(())
}
