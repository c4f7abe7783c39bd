//! The only way the engine writes to disk. Every path is checked to stay inside the output
//! folder, no write goes through a symlink, nothing is created with setuid or exec bits, device
//! nodes are recorded but never created, and every byte counts against the limits.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use iotassure_core::tree::{Entry, EntryKind};

use crate::limits::Limits;
use crate::links;

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// A global limit was reached; all extraction stops.
    #[error("limit reached: {0}")]
    Limit(String),
    /// This entry was refused (unsafe path); extraction of the rest goes on.
    #[error("refused: {0}")]
    Refused(String),
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// Ownership and permissions as recorded in the image.
#[derive(Debug, Clone, Copy, Default)]
pub struct Meta {
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// Normalises an archive member name to a relative path. Refuses names that would leave the
/// folder they are extracted into: `..` components and NUL bytes. Absolute names are re-rooted
/// inside the folder when `allow_absolute` (the archive's `/etc/x` is the device's `/etc/x`, as
/// GNU tar and cpio treat it), refused otherwise.
pub fn sanitize(name: &str, allow_absolute: bool) -> Result<String, String> {
    if name.contains('\0') {
        return Err(format!("{name:?}: NUL byte in name"));
    }
    if name.starts_with('/') && !allow_absolute {
        return Err(format!("{name}: absolute path"));
    }
    let mut parts = Vec::new();
    for c in name.split('/') {
        match c {
            "" | "." => {}
            ".." => return Err(format!("{name}: `..` would leave the output folder")),
            c => parts.push(c),
        }
    }
    Ok(parts.join("/"))
}

pub struct Sink {
    root: PathBuf,
    pub limits: Limits,
    started: Instant,
    bytes: AtomicU64,
    count: AtomicU64,
    stopped: AtomicBool,
    entries: Mutex<Vec<Entry>>,
    limits_hit: Mutex<Vec<String>>,
    /// Folders (relative) already checked to be real directories: most files go into a folder
    /// that earlier files created, and the check costs a system call per path component.
    /// Nothing else writes in the output folder, so a checked folder stays a folder.
    known_dirs: Mutex<std::collections::HashSet<String>>,
    /// Symlinks recorded (created on disk or not): nothing is ever written through one.
    links: Mutex<std::collections::HashSet<String>>,
    /// The same links with their targets, created on disk at the end ([`Sink::create_links`]).
    declared: Mutex<Vec<links::Declared>>,
}

impl Sink {
    /// `root` must exist and be a directory.
    pub fn new(root: &Path, limits: Limits) -> io::Result<Sink> {
        let root = fs::canonicalize(root)?;
        Ok(Sink {
            root,
            limits,
            started: Instant::now(),
            bytes: AtomicU64::new(0),
            count: AtomicU64::new(0),
            stopped: AtomicBool::new(false),
            entries: Mutex::new(Vec::new()),
            limits_hit: Mutex::new(Vec::new()),
            known_dirs: Mutex::new(std::collections::HashSet::new()),
            links: Mutex::new(std::collections::HashSet::new()),
            declared: Mutex::new(Vec::new()),
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Entries (files, folders, links, devices) recorded so far, for progress.
    pub fn entries_so_far(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    pub fn bytes_written(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    pub fn into_parts(self) -> (Vec<Entry>, Vec<String>) {
        (
            self.entries.into_inner().unwrap_or_default(),
            self.limits_hit.into_inner().unwrap_or_default(),
        )
    }

    /// Stops everything with `msg` (recorded once).
    pub fn hit(&self, msg: String) -> SinkError {
        self.stopped.store(true, Ordering::Relaxed);
        let mut l = self.limits_hit.lock().expect("lock");
        if !l.contains(&msg) {
            l.push(msg.clone());
        }
        SinkError::Limit(msg)
    }

    /// Names the entry an error was for, and the path on disk; a full disk stops everything.
    fn in_path(&self, rel: &str, e: SinkError) -> SinkError {
        match e {
            SinkError::Refused(m) => SinkError::Refused(format!("{rel}: {m}")),
            SinkError::Io(e) => {
                let path = self.root.join(rel);
                if matches!(e.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT)) {
                    return self.hit(format!(
                        "the disk is full: creating {} failed after {} bytes written: {e} (disk full)",
                        path.display(),
                        self.bytes_written()
                    ));
                }
                SinkError::Io(io::Error::new(
                    e.kind(),
                    format!("{rel}: cannot create {}: {e}", path.display()),
                ))
            }
            other => other,
        }
    }

    /// A failed write names the member and the output path; a full disk stops everything (the
    /// next write would fail the same way), saying where it ran out.
    fn write_failed(&self, rel: &str, written: u64, e: io::Error) -> io::Error {
        let path = self.root.join(rel);
        if matches!(e.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT)) {
            return limit_err(self.hit(format!(
                "the disk is full: writing {} failed after {written} bytes of it and {} bytes in all: {e} (disk full)",
                path.display(),
                self.bytes_written()
            )));
        }
        io::Error::new(e.kind(), format!("writing {}: {e}", path.display()))
    }

    /// Fails once any global limit (time included) has been reached.
    pub fn check(&self) -> Result<(), SinkError> {
        if self.stopped.load(Ordering::Relaxed) {
            return Err(SinkError::Limit(
                "extraction stopped by an earlier limit".into(),
            ));
        }
        if self.started.elapsed() > self.limits.max_time {
            return Err(self.hit(format!(
                "time limit of {} s reached (--max-time)",
                self.limits.max_time.as_secs()
            )));
        }
        let live = iotassure_core::memory::live() as u64;
        if live > self.limits.max_memory {
            return Err(self.hit(format!(
                "memory in use passed {} MiB ({} MiB; --max-memory)",
                self.limits.max_memory >> 20,
                live >> 20
            )));
        }
        Ok(())
    }

    fn count_entry(&self) -> Result<(), SinkError> {
        let n = self.count.fetch_add(1, Ordering::Relaxed) + 1;
        if n > self.limits.max_files {
            return Err(self.hit(format!(
                "file count limit of {} reached (--max-files)",
                self.limits.max_files
            )));
        }
        Ok(())
    }

    fn record(&self, entry: Entry) {
        self.entries.lock().expect("lock").push(entry);
    }

    /// Creates every missing directory of `rel` (relative to the root); refuses to pass through
    /// anything that is not a real directory.
    fn ensure_dirs(&self, rel: &str) -> Result<PathBuf, SinkError> {
        let comps: Vec<&str> = rel.split('/').filter(|c| !c.is_empty()).collect();
        let known_len = {
            let known = self.known_dirs.lock().expect("lock");
            (0..=comps.len())
                .rev()
                .find(|&n| n == 0 || known.contains(&comps[..n].join("/")))
                .unwrap_or(0)
        };
        let mut p = self.root.clone();
        for c in &comps[..known_len] {
            p.push(c);
        }
        let not_dir = |p: &Path| {
            SinkError::Refused(format!(
                "{} is not a directory (a symlink or file is in the way)",
                p.strip_prefix(&self.root).unwrap_or(p).display()
            ))
        };
        for (i, comp) in comps.iter().enumerate().skip(known_len) {
            p.push(comp);
            // A link the image declared here (even one not created because it escapes): the
            // device would resolve the path through it, so nothing is written under it.
            if self
                .links
                .lock()
                .expect("lock")
                .contains(&comps[..=i].join("/"))
            {
                return Err(SinkError::Refused(format!(
                    "{} is a symlink in the image; not written through",
                    comps[..=i].join("/")
                )));
            }
            match fs::symlink_metadata(&p) {
                Ok(m) if m.file_type().is_dir() => {}
                Ok(_) => return Err(not_dir(&p)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => match fs::create_dir(&p) {
                    Ok(()) => {}
                    // Another thread made it: check what it made.
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                        if !fs::symlink_metadata(&p)?.file_type().is_dir() {
                            return Err(not_dir(&p));
                        }
                    }
                    Err(e) => return Err(e.into()),
                },
                Err(e) => return Err(e.into()),
            }
            self.known_dirs
                .lock()
                .expect("lock")
                .insert(comps[..=i].join("/"));
        }
        Ok(p)
    }

    fn split(rel: &str) -> (&str, &str) {
        match rel.rsplit_once('/') {
            Some((d, f)) => (d, f),
            None => ("", rel),
        }
    }

    /// A directory at `rel` (already sanitised, relative to the output root).
    pub fn dir(&self, rel: &str, meta: Meta, provenance: &str) -> Result<(), SinkError> {
        self.check()?;
        self.ensure_dirs(rel).map_err(|e| self.in_path(rel, e))?;
        self.count_entry()?;
        self.record(Entry {
            path: rel.to_string(),
            kind: EntryKind::Dir,
            size: 0,
            mode: meta.mode,
            uid: meta.uid,
            gid: meta.gid,
            provenance: provenance.to_string(),
        });
        Ok(())
    }

    /// Creates a regular file for writing. The manifest entry is recorded when the writer is
    /// finished (or dropped), with the size actually written.
    pub fn file<'a>(
        &'a self,
        rel: &str,
        meta: Meta,
        provenance: &str,
        budget: Option<&'a ChunkBudget>,
    ) -> Result<SinkFile<'a>, SinkError> {
        self.check()?;
        let (dir, name) = Self::split(rel);
        if name.is_empty() {
            return Err(SinkError::Refused(format!("{rel}: empty file name")));
        }
        let parent = self.ensure_dirs(dir).map_err(|e| self.in_path(rel, e))?;
        // The link is created at the end; until then its name must stay free for it.
        if self.links.lock().expect("lock").contains(rel) {
            return Err(SinkError::Refused(format!(
                "{rel}: a symlink in the image; not replaced by a file"
            )));
        }
        let path = parent.join(name);
        let open = || {
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o644)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&path)
        };
        let io = |e: io::Error| self.in_path(rel, SinkError::Io(e));
        let file = match open() {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                // A later archive member of the same name replaces a regular file, never a link.
                let m = fs::symlink_metadata(&path).map_err(io)?;
                if !m.file_type().is_file() {
                    return Err(SinkError::Refused(format!(
                        "{rel}: exists and is not a regular file"
                    )));
                }
                fs::remove_file(&path).map_err(io)?;
                open().map_err(io)?
            }
            Err(e) => return Err(io(e)),
        };
        self.count_entry()?;
        Ok(SinkFile {
            sink: self,
            file,
            rel: rel.to_string(),
            meta,
            provenance: provenance.to_string(),
            written: 0,
            budget,
            done: false,
            capped: false,
        })
    }

    /// Records a symlink. It is created on disk later, by [`Sink::create_links`], once every
    /// link of the image is known, and only when its final target stays inside `fs_root` (the
    /// filesystem's root folder, relative to the output root).
    pub fn symlink(
        &self,
        rel: &str,
        target: &str,
        meta: Meta,
        provenance: &str,
        fs_root: &str,
    ) -> Result<(), SinkError> {
        self.check()?;
        let (dir, _) = Self::split(rel);
        self.ensure_dirs(dir).map_err(|e| self.in_path(rel, e))?;
        if !self.links.lock().expect("lock").insert(rel.to_string()) {
            return Err(SinkError::Refused(format!(
                "{rel}: a second link of the same name; the first is kept"
            )));
        }
        self.count_entry()?;
        self.record(Entry {
            path: rel.to_string(),
            kind: EntryKind::Symlink {
                target: target.to_string(),
            },
            size: target.len() as u64,
            mode: meta.mode,
            uid: meta.uid,
            gid: meta.gid,
            provenance: provenance.to_string(),
        });
        self.declared.lock().expect("lock").push(links::Declared {
            rel: rel.to_string(),
            target: target.to_string(),
            fs_root: fs_root.to_string(),
        });
        Ok(())
    }

    /// Creates the recorded links that stay inside their filesystem, following chains through
    /// all of them. Returns the ones refused (path, why); their manifest entries are marked.
    pub fn create_links(&self) -> Vec<(String, String)> {
        let declared = std::mem::take(&mut *self.declared.lock().expect("lock"));
        // Only a path that will be a link on disk is followed as one: where a file or folder
        // took the name first, the disk has that, and so does the walk.
        let free: Vec<&links::Declared> = declared
            .iter()
            .filter(|l| fs::symlink_metadata(self.root.join(&l.rel)).is_err())
            .collect();
        let map: std::collections::HashMap<&str, &links::Declared> =
            free.iter().map(|l| (l.rel.as_str(), *l)).collect();
        let mut refused = Vec::new();
        for l in free {
            match links::check(l, &map) {
                Ok(()) => {
                    let at = self.root.join(&l.rel);
                    if let Err(e) = std::os::unix::fs::symlink(links::disk_target(l), &at) {
                        refused.push((l.rel.clone(), format!("not created: {e}")));
                    }
                }
                Err(why) => refused.push((l.rel.clone(), why.to_string())),
            }
        }
        if !refused.is_empty() {
            let why: std::collections::HashMap<&str, &str> = refused
                .iter()
                .map(|(r, w)| (r.as_str(), w.as_str()))
                .collect();
            for e in self.entries.lock().expect("lock").iter_mut() {
                if let (EntryKind::Symlink { .. }, Some(w)) = (&e.kind, why.get(e.path.as_str())) {
                    e.provenance = format!("{} [{w}; not created]", e.provenance);
                }
            }
        }
        refused
    }

    /// Records a device node, FIFO or socket. Nothing is created on disk.
    pub fn special(
        &self,
        rel: &str,
        kind: EntryKind,
        meta: Meta,
        provenance: &str,
    ) -> Result<(), SinkError> {
        self.check()?;
        self.count_entry()?;
        self.record(Entry {
            path: rel.to_string(),
            kind,
            size: 0,
            mode: meta.mode,
            uid: meta.uid,
            gid: meta.gid,
            provenance: provenance.to_string(),
        });
        Ok(())
    }
}

/// Output accounting for one chunk, for the compression-ratio cap.
pub struct ChunkBudget {
    pub input_size: u64,
    pub output: AtomicU64,
    pub label: String,
}

impl ChunkBudget {
    pub fn new(input_size: u64, label: &str) -> Self {
        ChunkBudget {
            input_size: input_size.max(1),
            output: AtomicU64::new(0),
            label: label.to_string(),
        }
    }
}

pub struct SinkFile<'a> {
    sink: &'a Sink,
    file: File,
    rel: String,
    meta: Meta,
    provenance: String,
    written: u64,
    budget: Option<&'a ChunkBudget>,
    done: bool,
    /// A per-file cap tripped: the file is removed, not recorded.
    capped: bool,
}

impl SinkFile<'_> {
    pub fn path(&self) -> PathBuf {
        self.sink.root.join(&self.rel)
    }

    pub fn written(&self) -> u64 {
        self.written
    }

    /// Records the manifest entry; returns bytes written.
    pub fn finish(mut self) -> u64 {
        self.record();
        self.written
    }

    fn record(&mut self) {
        if !self.done && self.capped {
            self.done = true;
            let _ = fs::remove_file(self.path());
            self.sink.bytes.fetch_sub(self.written, Ordering::Relaxed);
            return;
        }
        if !self.done {
            self.done = true;
            self.sink.record(Entry {
                path: self.rel.clone(),
                kind: EntryKind::File,
                size: self.written,
                mode: self.meta.mode,
                uid: self.meta.uid,
                gid: self.meta.gid,
                provenance: self.provenance.clone(),
            });
        }
    }
}

impl Drop for SinkFile<'_> {
    fn drop(&mut self) {
        self.record();
    }
}

fn limit_err(e: SinkError) -> io::Error {
    io::Error::other(e.to_string())
}

impl Write for SinkFile<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = buf.len() as u64;
        let limits = &self.sink.limits;
        // The per-file and per-chunk caps skip what trips them, not the whole image: a bomb in
        // front of the root filesystem must not hide it. The partial output is removed.
        if self.written + n > limits.max_file_bytes {
            self.capped = true;
            return Err(io::Error::other(format!(
                "{}: one file would exceed {} MiB (--max-file-size); skipped",
                self.rel,
                limits.max_file_bytes >> 20
            )));
        }
        if let Some(b) = self.budget {
            let out = b.output.fetch_add(n, Ordering::Relaxed) + n;
            if out > limits.ratio_floor && out / b.input_size > limits.max_ratio {
                self.capped = true;
                return Err(io::Error::other(format!(
                    "{}: expands more than {}:1 ({} bytes in, over {} MiB out): a decompression bomb? (--max-ratio); skipped",
                    b.label,
                    limits.max_ratio,
                    b.input_size,
                    out >> 20
                )));
            }
        }
        let total = self.sink.bytes.fetch_add(n, Ordering::Relaxed) + n;
        if total > limits.max_total_bytes {
            return Err(limit_err(self.sink.hit(format!(
                "total output would exceed {} MiB (--max-total)",
                limits.max_total_bytes >> 20
            ))));
        }
        self.sink.check().map_err(limit_err)?;
        if let Err(e) = self.file.write_all(buf) {
            return Err(self.sink.write_failed(&self.rel, self.written, e));
        }
        self.written += n;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_refuses_escapes() {
        assert_eq!(sanitize("./etc//passwd", false).unwrap(), "etc/passwd");
        assert!(sanitize("../etc/passwd", false).is_err());
        assert!(sanitize("a/../../b", false).is_err());
        assert!(sanitize("/etc/passwd", false).is_err());
        assert_eq!(sanitize("/etc/passwd", true).unwrap(), "etc/passwd");
        assert!(sanitize("a\0b", true).is_err());
    }

    #[test]
    fn writes_never_follow_symlinks() {
        let out = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let sink = Sink::new(out.path(), Limits::default()).unwrap();
        std::os::unix::fs::symlink(outside.path(), out.path().join("evil")).unwrap();
        let e = sink
            .file("evil/x", Meta::default(), "t", None)
            .err()
            .unwrap();
        assert!(matches!(e, SinkError::Refused(_)), "{e}");
        assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 0);
    }

    #[test]
    fn total_limit_stops_writes() {
        let out = tempfile::tempdir().unwrap();
        let limits = Limits {
            max_total_bytes: 10,
            ..Limits::default()
        };
        let sink = Sink::new(out.path(), limits).unwrap();
        let mut f = sink.file("a", Meta::default(), "t", None).unwrap();
        assert!(f.write_all(&[0u8; 11]).is_err());
        drop(f);
        assert!(sink.check().is_err());
    }
}
