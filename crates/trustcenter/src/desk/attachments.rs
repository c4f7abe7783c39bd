//! A report's attachments: streamed to a staging folder under caps while the request is read,
//! moved into DATA/reports/<id>/ just before the report's transaction commits, removed if
//! anything fails. The client's file name is kept as data to show, never as a path.

use std::path::{Path, PathBuf};

use axum::extract::Multipart;
use serde::Serialize;
use serde_json::{json, Value};
use sqlx::Row;
use utoipa::ToSchema;

use super::NewReport;
use crate::problem::{ApiResult, Problem};
use crate::server::AppState;
use crate::store::Tx;
use crate::util;

pub const MAX_FILES: usize = 5;
pub const MAX_FILE: usize = 10 << 20;
/// A text part of the form (or the `report` JSON part).
const MAX_FIELD: usize = 256 << 10;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Info {
    pub n: i64,
    pub name: String,
    pub size: i64,
    pub sha256: String,
}

fn root(st: &AppState) -> PathBuf {
    st.config.data_dir.join("reports")
}

/// Attachments on disk, not yet part of any report. Dropped unplaced, they are removed.
pub struct Staged {
    dir: Option<PathBuf>,
    files: Vec<Info>,
}

impl Staged {
    pub fn none() -> Staged {
        Staged {
            dir: None,
            files: Vec::new(),
        }
    }

    pub fn files(&self) -> &[Info] {
        &self.files
    }

    /// Streams the next file into the staging folder (made on first use), under [`MAX_FILE`].
    pub async fn add(
        &mut self,
        st: &AppState,
        name: &str,
        field: &mut axum::extract::multipart::Field<'_>,
    ) -> ApiResult<()> {
        if self.files.len() == MAX_FILES {
            return Err(Problem::invalid(format!("at most {MAX_FILES} attachments")));
        }
        let dir = match &self.dir {
            Some(d) => d.clone(),
            None => {
                let d = root(st).join(format!("{}.partial", util::new_id()));
                tokio::fs::create_dir_all(&d)
                    .await
                    .map_err(|e| Problem::internal(format!("creating {}: {e}", d.display())))?;
                self.dir = Some(d.clone());
                d
            }
        };
        let n = self.files.len() as i64;
        let (sha256, size) =
            crate::jobs::save_field(field, &dir.join(n.to_string()), MAX_FILE).await?;
        let name: String = name.chars().take(200).collect();
        self.files.push(Info {
            n,
            name: if name.is_empty() {
                format!("attachment-{n}")
            } else {
                name
            },
            size,
            sha256,
        });
        Ok(())
    }

    /// Inserts the attachment rows (in the report's transaction).
    pub async fn commit_rows(&self, tx: &mut Tx, report: &str) -> ApiResult<Value> {
        for f in &self.files {
            sqlx::query(
                "INSERT INTO vuln_report_attachments (report_id, n, name, size, sha256) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(report)
            .bind(f.n)
            .bind(&f.name)
            .bind(f.size)
            .bind(&f.sha256)
            .execute(&mut **tx)
            .await?;
        }
        Ok(json!(self
            .files
            .iter()
            .map(|f| json!({"name": f.name, "size": f.size, "sha256": f.sha256}))
            .collect::<Vec<_>>()))
    }

    /// Moves the files to the report's folder; [`Placed::undo`] if the commit then fails.
    pub fn place(mut self, st: &AppState, report: &str) -> ApiResult<Placed> {
        let Some(dir) = self.dir.take() else {
            return Ok(Placed(None));
        };
        let to = root(st).join(report);
        std::fs::rename(&dir, &to).map_err(|e| {
            let _ = std::fs::remove_dir_all(&dir);
            Problem::internal(format!("storing the attachments: {e}"))
        })?;
        Ok(Placed(Some(to)))
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Some(d) = &self.dir {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

pub struct Placed(Option<PathBuf>);

impl Placed {
    pub fn undo(self) {
        if let Some(d) = &self.0 {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// Reads a multipart filing: either one `report` part holding the JSON of [`NewReport`], or the
/// form's fields one by one (`title`, `description`, …); `attachment` parts are files.
pub async fn read_multipart(st: &AppState, mp: &mut Multipart) -> ApiResult<(NewReport, Staged)> {
    let mut staged = Staged::none();
    let mut json_part: Option<NewReport> = None;
    let mut form = NewReport::default();
    let mut saw_field = false;
    while let Some(mut field) = mp
        .next_field()
        .await
        .map_err(|e| Problem::bad_request(format!("malformed multipart body: {e}")))?
    {
        let name = field.name().unwrap_or("").to_string();
        if name == "attachment" {
            let file = field.file_name().unwrap_or("").to_string();
            // An empty file input in a browser form still sends a part: skip it.
            if file.is_empty() && field.content_type().is_none() {
                continue;
            }
            staged.add(st, &file, &mut field).await?;
            continue;
        }
        let mut text = Vec::new();
        while let Some(c) = field
            .chunk()
            .await
            .map_err(|e| Problem::bad_request(format!("reading `{name}`: {e}")))?
        {
            if text.len() + c.len() > MAX_FIELD {
                return Err(Problem::too_large(format!(
                    "part `{name}` is larger than {MAX_FIELD} bytes"
                )));
            }
            text.extend_from_slice(&c);
        }
        let text = String::from_utf8(text)
            .map_err(|_| Problem::invalid(format!("`{name}` is not UTF-8 text")))?;
        let opt = |t: String| (!t.is_empty()).then_some(t);
        match name.as_str() {
            "report" => {
                json_part =
                    Some(serde_json::from_str(&text).map_err(|e| {
                        Problem::invalid(format!("part `report` is not a report: {e}"))
                    })?)
            }
            "title" => form.title = text,
            "description" => form.description = text,
            "affected_versions" => form.affected_versions = text,
            "certificate" => form.certificate = opt(text),
            "firmware" => form.firmware = opt(text),
            "maker" => form.maker = opt(text),
            "cvss" => form.cvss = opt(text),
            "contact" => form.contact = opt(text),
            // The web form's CSRF field is checked by the page handler, not here.
            "csrf" => continue,
            other => return Err(Problem::invalid(format!("unknown part `{other}`"))),
        }
        if name != "report" {
            saw_field = true;
        }
    }
    let r = match (json_part, saw_field) {
        (Some(_), true) => {
            return Err(Problem::invalid(
                "send either a `report` JSON part or the form's fields, not both",
            ))
        }
        (Some(r), false) => r,
        (None, _) => form,
    };
    Ok((r, staged))
}

pub async fn list(st: &AppState, report: &str) -> ApiResult<Vec<Info>> {
    let rows = sqlx::query(
        "SELECT n, name, size, sha256 FROM vuln_report_attachments WHERE report_id = $1 ORDER BY n",
    )
    .bind(report)
    .fetch_all(&st.store.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Info {
                n: r.try_get("n")?,
                name: r.try_get("name")?,
                size: r.try_get("size")?,
                sha256: r.try_get("sha256")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(Into::into)
}

/// The file of attachment `n` of a report the caller may read.
pub async fn path(st: &AppState, report: &str, n: i64) -> ApiResult<(Info, PathBuf)> {
    let info = list(st, report)
        .await?
        .into_iter()
        .find(|i| i.n == n)
        .ok_or_else(|| Problem::not_found("no such attachment"))?;
    let p = root(st).join(report).join(n.to_string());
    Ok((info, p))
}

/// Staging folders left by a process that died mid-upload hold no record; remove them. Only
/// those untouched for an hour: another instance on the same DATA may be receiving one now.
pub fn sweep_partials(data_dir: &Path) {
    let Ok(rd) = std::fs::read_dir(data_dir.join("reports")) else {
        return;
    };
    for e in rd.flatten() {
        let stale = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age.as_secs() > 3600);
        if stale && e.file_name().to_string_lossy().ends_with(".partial") {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}
