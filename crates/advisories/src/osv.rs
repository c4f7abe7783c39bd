//! OSV feeds (<https://ossf.github.io/osv-schema/>): a JSON file holding one record or an array
//! of records, or a folder of such files (searched to a bounded depth).
//!
//! Each `affected[]` entry becomes one advisory for the component its package names: the
//! package name (or the name in its purl) is looked up among the component table's names and
//! aliases; a package the table does not know becomes a component of its own under that name,
//! so a component reported under the same name still matches. `ECOSYSTEM` and `SEMVER` ranges
//! and explicit `versions` are used; `GIT` ranges (commit hashes) cannot be compared with the
//! version strings firmware and banners show and are skipped, with a note in the feed report.
//! Nothing is dropped silently: every record or part not used is listed with the reason.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::db::{validate_advisory, FeedReport, Skipped};
use crate::model::{Advisory, ComponentInfo, Origin, Range};
use crate::version::{Scheme, Version};
use crate::{cvss, Db, Error};

/// Bounds for feeds given on the command line (they are trusted more than firmware, but a
/// wrong path should fail clearly rather than read a disk).
const MAX_FILE: u64 = 256 << 20;
const MAX_FILES: usize = 500_000;
const MAX_DEPTH: usize = 8;

impl Db {
    /// Loads OSV records from a file or a folder. Returns the number of advisories added (or
    /// replaced). A file that is not JSON, or a record without the fields OSV requires, is an
    /// error naming the file; records that cannot be used are reported in [`Db::feeds`].
    pub fn load_osv(&mut self, path: impl AsRef<Path>) -> Result<usize, Error> {
        let path = path.as_ref();
        let shown = path.display().to_string();
        let meta = std::fs::metadata(path).map_err(|e| Error::Io {
            path: shown.clone(),
            source: e,
        })?;
        let mut files = Vec::new();
        if meta.is_dir() {
            collect(path, 0, &mut files)?;
            files.sort();
        } else {
            files.push(path.to_path_buf());
        }
        let mut report = FeedReport {
            path: shown,
            ..Default::default()
        };
        for f in &files {
            self.load_file(f, &mut report)?;
        }
        report.files = files.len();
        let n = report.added + report.replaced;
        self.feeds.push(report);
        Ok(n)
    }

    /// Loads OSV records already in memory (an API body, a database row); `name` is what errors
    /// and the feed report call them. The same rules as [`Db::load_osv`].
    pub fn load_osv_bytes(&mut self, name: &str, text: &[u8]) -> Result<FeedReport, Error> {
        let mut report = FeedReport {
            path: name.to_string(),
            files: 1,
            ..Default::default()
        };
        self.load_text(name, text, &mut report)?;
        self.feeds.push(report.clone());
        Ok(report)
    }

    fn load_file(&mut self, file: &Path, report: &mut FeedReport) -> Result<(), Error> {
        let name = file.display().to_string();
        let feed_err = |message: String| Error::Feed {
            path: name.clone(),
            message,
        };
        let len = std::fs::metadata(file)
            .map_err(|e| Error::Io {
                path: name.clone(),
                source: e,
            })?
            .len();
        if len > MAX_FILE {
            return Err(feed_err(format!(
                "{len} bytes; OSV files over {} MiB are refused",
                MAX_FILE >> 20
            )));
        }
        let text = std::fs::read(file).map_err(|e| Error::Io {
            path: name.clone(),
            source: e,
        })?;
        self.load_text(&name, &text, report)
    }

    fn load_text(&mut self, name: &str, text: &[u8], report: &mut FeedReport) -> Result<(), Error> {
        let name = name.to_string();
        let feed_err = |message: String| Error::Feed {
            path: name.clone(),
            message,
        };
        let json: Value = serde_json::from_slice(text).map_err(|e| {
            feed_err(format!(
                "not valid JSON (line {}, column {}): {e}",
                e.line(),
                e.column()
            ))
        })?;
        let records: Vec<&Value> = match &json {
            Value::Array(a) => a.iter().collect(),
            Value::Object(_) => vec![&json],
            _ => {
                return Err(feed_err(
                    "expected an OSV record (a JSON object) or an array of records".into(),
                ))
            }
        };
        for (k, r) in records.into_iter().enumerate() {
            report.records += 1;
            let at = if matches!(json, Value::Array(_)) {
                format!("record {k}: ")
            } else {
                String::new()
            };
            let obj = r
                .as_object()
                .ok_or_else(|| feed_err(format!("{at}not a JSON object")))?;
            let id = obj
                .get("id")
                .and_then(Value::as_str)
                .filter(|s| !s.trim().is_empty())
                .ok_or_else(|| feed_err(format!("{at}no `id` (required by the OSV schema)")))?
                .to_string();
            if obj.get("modified").and_then(Value::as_str).is_none() {
                return Err(feed_err(format!(
                    "{at}{id}: no `modified` (required by the OSV schema)"
                )));
            }
            let skip = |reason: String, report: &mut FeedReport| {
                report.skipped.push(Skipped {
                    file: name.clone(),
                    id: id.clone(),
                    reason,
                })
            };
            if obj.get("withdrawn").and_then(Value::as_str).is_some() {
                skip("withdrawn".into(), report);
                continue;
            }
            let Some(affected) = obj.get("affected").and_then(Value::as_array) else {
                skip("no `affected` packages".into(), report);
                continue;
            };
            let base = RecordInfo::new(&id, obj);
            for (ai, aff) in affected.iter().enumerate() {
                match self.affected_to_advisory(&base, aff, &name) {
                    Ok((adv, notes)) => {
                        for n in notes {
                            skip(format!("affected[{ai}]: {n}"), report);
                        }
                        if self.component(&adv.component).is_some_and(|c| c.from_feed)
                            && !report.new_components.contains(&adv.component)
                        {
                            report.new_components.push(adv.component.clone());
                        }
                        match self.add_advisory(adv) {
                            Ok(true) => report.replaced += 1,
                            Ok(false) => report.added += 1,
                            Err(e) => skip(format!("affected[{ai}]: {e}"), report),
                        }
                    }
                    Err(why) => skip(format!("affected[{ai}]: {why}"), report),
                }
            }
        }
        Ok(())
    }

    /// One `affected[]` entry → an advisory for one component, plus notes on parts not used.
    fn affected_to_advisory(
        &mut self,
        rec: &RecordInfo,
        aff: &Value,
        file: &str,
    ) -> Result<(Advisory, Vec<String>), String> {
        let pkg = aff.get("package").ok_or("no `package`")?;
        let pname = pkg.get("name").and_then(Value::as_str);
        let purl = pkg.get("purl").and_then(Value::as_str);
        let purl_name = purl.and_then(|p| p.split(['@', '?', '#']).next()?.rsplit('/').next());
        let candidates: Vec<&str> = [pname, purl_name].into_iter().flatten().collect();
        if candidates.is_empty() {
            return Err("the package has neither `name` nor `purl`".into());
        }
        let component = match candidates.iter().find_map(|n| self.component(n)) {
            Some(c) => c.name.clone(),
            None => self.feed_component(candidates[0], purl)?,
        };
        let scheme = self
            .component(&component)
            .map(|c| c.scheme)
            .unwrap_or_default();
        let mut notes = Vec::new();
        let mut ranges = Vec::new();
        for r in aff
            .get("ranges")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let kind = r.get("type").and_then(Value::as_str).unwrap_or("");
            match kind {
                "ECOSYSTEM" | "SEMVER" => {}
                "GIT" => {
                    notes.push(
                        "a GIT range was ignored (commit hashes cannot be compared with version strings)"
                            .to_string(),
                    );
                    continue;
                }
                other => {
                    notes.push(format!("a range of unknown type `{other}` was ignored"));
                    continue;
                }
            }
            let events = r
                .get("events")
                .and_then(Value::as_array)
                .ok_or("a range without `events`")?;
            let mut open: Option<Range> = None;
            for ev in events {
                let ev = ev.as_object().ok_or("an event that is not an object")?;
                let (k, v) = ev.iter().next().ok_or("an empty event")?;
                let v = v.as_str().ok_or("an event whose value is not a string")?;
                let usable = |v: &str| v == "0" || Version::parse(v, scheme).is_ok();
                match k.as_str() {
                    "introduced" => {
                        if let Some(r) = open.take() {
                            ranges.push(r);
                        }
                        if usable(v) {
                            open = Some(Range {
                                introduced: Some(v.to_string()),
                                ..Default::default()
                            });
                        } else {
                            notes.push(format!(
                                "a range from `{v}` was ignored (the version cannot be compared)"
                            ));
                        }
                    }
                    "fixed" | "last_affected" => {
                        let Some(mut r) = open.take() else {
                            continue;
                        };
                        if !usable(v) || v == "0" {
                            notes.push(format!(
                                "a range ending at `{v}` was ignored (the version cannot be compared)"
                            ));
                            continue;
                        }
                        if k == "fixed" {
                            r.fixed = Some(v.to_string());
                        } else {
                            r.last_affected = Some(v.to_string());
                        }
                        ranges.push(r);
                    }
                    "limit" => notes.push(format!("a `limit` event ({v}) was ignored")),
                    other => notes.push(format!("an event `{other}` was ignored")),
                }
            }
            if let Some(r) = open.take() {
                ranges.push(r);
            }
        }
        for v in aff
            .get("versions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let Some(v) = v.as_str() else { continue };
            if Version::parse(v, scheme).is_ok() {
                ranges.push(Range {
                    introduced: Some(v.to_string()),
                    fixed: None,
                    last_affected: Some(v.to_string()),
                });
            } else {
                notes.push(format!(
                    "listed version `{v}` cannot be compared and was ignored"
                ));
            }
        }
        if ranges.is_empty() {
            return Err(if notes.is_empty() {
                "no ranges or versions".to_string()
            } else {
                format!("nothing usable: {}", notes.join("; "))
            });
        }
        // An affected entry's own severity wins over the record's.
        let (cvss, severity) = match severity_of(aff) {
            (None, None) => (rec.cvss, rec.severity),
            s => s,
        };
        let severity = if cvss.is_none() && severity.is_none() {
            notes.push("no CVSS v3 vector or severity; taken as medium".into());
            Some(iotassure_core::Severity::Medium)
        } else {
            severity
        };
        let adv = Advisory {
            id: rec.id.clone(),
            name: None,
            aliases: rec.aliases.clone(),
            component,
            affected: ranges,
            cvss,
            severity,
            summary: rec.summary.clone(),
            source: rec.source.clone(),
            roles: None,
            note: None,
            origin: Origin::Osv {
                file: file.to_string(),
            },
            condition: None,
            low_confidence: false,
        };
        validate_advisory(&adv)?;
        Ok((adv, notes))
    }

    /// Adds a component for a package the table does not know.
    pub(crate) fn feed_component(
        &mut self,
        name: &str,
        purl: Option<&str>,
    ) -> Result<String, String> {
        let canonical = name.trim().to_ascii_lowercase();
        if canonical.is_empty() || canonical.len() > 200 {
            return Err(format!("package name `{name}` is not usable"));
        }
        let purl = purl
            .and_then(|p| p.split(['@', '?', '#']).next())
            .filter(|p| p.starts_with("pkg:"))
            .map(str::to_string)
            .unwrap_or_else(|| format!("pkg:generic/{}", crate::model::purl_escape(&canonical)));
        self.add_component(ComponentInfo {
            name: canonical.clone(),
            title: name.trim().to_string(),
            aliases: Vec::new(),
            purl,
            cpe: None,
            cpe_part: 'a',
            roles: Vec::new(),
            scheme: Scheme::Dotted,
            from_feed: true,
        })?;
        Ok(canonical)
    }
}

/// The record-level fields every advisory of a record shares.
struct RecordInfo {
    id: String,
    aliases: Vec<String>,
    summary: String,
    source: String,
    cvss: Option<f32>,
    severity: Option<iotassure_core::Severity>,
}

impl RecordInfo {
    fn new(id: &str, obj: &serde_json::Map<String, Value>) -> RecordInfo {
        let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::trim);
        let summary = text("summary")
            .filter(|s| !s.is_empty())
            .or_else(|| text("details").and_then(|d| d.lines().find(|l| !l.trim().is_empty())))
            .unwrap_or("(the record has no summary)");
        let summary: String = summary.chars().take(300).collect();
        let refs: Vec<&str> = obj
            .get("references")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| r.get("url").and_then(Value::as_str))
            .filter(|u| crate::db::is_url(u))
            .collect();
        let source = refs
            .iter()
            .find(|u| u.contains("nvd.nist.gov") || u.contains("/advisories/"))
            .or(refs.first())
            .map(|s| s.to_string())
            .unwrap_or_else(|| format!("https://osv.dev/vulnerability/{id}"));
        let aliases = obj
            .get("aliases")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
        let (cvss, severity) = severity_of(&Value::Object(obj.clone()));
        RecordInfo {
            id: id.to_string(),
            aliases,
            summary: summary.replace(['\n', '\r'], " "),
            source,
            cvss,
            severity,
        }
    }
}

/// CVSS from `severity[]` vectors (v3, else v4), else a GHSA-style
/// `database_specific.severity`.
fn severity_of(v: &Value) -> (Option<f32>, Option<iotassure_core::Severity>) {
    let cvss = cvss::record_score(
        v.get("severity")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|s| s.get("score").and_then(Value::as_str)),
    );
    let word = v
        .get("database_specific")
        .and_then(|d| d.get("severity"))
        .and_then(Value::as_str)
        .and_then(|w| match w.to_ascii_lowercase().as_str() {
            "critical" => Some(iotassure_core::Severity::Critical),
            "high" => Some(iotassure_core::Severity::High),
            "moderate" | "medium" => Some(iotassure_core::Severity::Medium),
            "low" => Some(iotassure_core::Severity::Low),
            _ => None,
        });
    (cvss, word)
}

fn collect(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> Result<(), Error> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    let rd = std::fs::read_dir(dir).map_err(|e| Error::Io {
        path: dir.display().to_string(),
        source: e,
    })?;
    for e in rd {
        let e = e.map_err(|e| Error::Io {
            path: dir.display().to_string(),
            source: e,
        })?;
        let p = e.path();
        let ft = e.file_type().map_err(|err| Error::Io {
            path: p.display().to_string(),
            source: err,
        })?;
        if ft.is_dir() {
            collect(&p, depth + 1, out)?;
        } else if ft.is_file()
            && p.extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("json"))
        {
            out.push(p);
            if out.len() > MAX_FILES {
                return Err(Error::Feed {
                    path: dir.display().to_string(),
                    message: format!("more than {MAX_FILES} JSON files"),
                });
            }
        }
    }
    Ok(())
}
