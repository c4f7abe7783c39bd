//! Output folders and files, written so that nothing of the user's is ever lost.
//!
//! A folder is written into a hidden sibling staging folder (`.NAME.partial-PID`) that carries
//! a marker file ([`OUTPUT_MARKER`]) from its first moment, and renamed into place at the end:
//! a report appears complete or not at all. `--force` replaces an existing folder only when it
//! holds that marker, i.e. when iotassure wrote it, and never `/`, the home folder, the current
//! folder or one of its ancestors, a mount point, a symlink, or a folder holding an input.
//! Staging folders left by a killed run (their process is gone) are removed on the next run.
//!
//! A file (`--sbom-out`, `ics init --out`) is written to a temporary sibling and renamed; an
//! existing file is replaced only with `--force`, and never through a symlink.

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use iotassure_core::OUTPUT_MARKER;

const MARKER_FORMAT: &str = "iotassure-output";
const MARKER_VERSION: u64 = 1;

pub struct Staged {
    pub dir: PathBuf,
    target: PathBuf,
    force: bool,
    inputs: Vec<PathBuf>,
    done: bool,
}

impl Staged {
    /// Prepares staging for `target`. An existing non-empty `target` is refused unless `force`,
    /// and then only when [`check_replaceable`] allows it. `inputs` are the files the command
    /// reads: a folder holding one of them is never replaced.
    pub fn new(target: &Path, force: bool, command: &str, inputs: &[&Path]) -> Result<Staged> {
        let inputs: Vec<PathBuf> = inputs.iter().map(|p| p.to_path_buf()).collect();
        check_target(target, force, &inputs)?;
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent)
            .with_context(|| format!("creating {}", parent.display()))?;
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| "out".into());
        remove_stale(&parent, &name);
        let dir = parent.join(format!(".{name}.partial-{}", std::process::id()));
        if dir.exists() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
        }
        std::fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let marker = serde_json::json!({
            "format": MARKER_FORMAT,
            "version": MARKER_VERSION,
            "command": command,
            "tool_version": env!("CARGO_PKG_VERSION"),
        });
        std::fs::write(dir.join(OUTPUT_MARKER), format!("{marker}\n"))
            .with_context(|| format!("writing {}", dir.join(OUTPUT_MARKER).display()))?;
        Ok(Staged {
            dir,
            target: target.to_path_buf(),
            force,
            inputs,
            done: false,
        })
    }

    /// Moves the staged folder into place (checking the target again: it may have changed).
    pub fn commit(mut self) -> Result<PathBuf> {
        if std::fs::symlink_metadata(&self.target).is_ok() {
            check_target(&self.target, self.force, &self.inputs)?;
            let empty = std::fs::read_dir(&self.target)?.next().is_none();
            if empty {
                std::fs::remove_dir(&self.target)
                    .with_context(|| format!("replacing {}", self.target.display()))?;
            } else {
                let old = self.dir.with_extension("old");
                std::fs::rename(&self.target, &old)
                    .with_context(|| format!("replacing {}", self.target.display()))?;
                std::fs::rename(&self.dir, &self.target)
                    .with_context(|| format!("moving the output into {}", self.target.display()))?;
                self.done = true;
                std::fs::remove_dir_all(&old).ok();
                return Ok(self.target.clone());
            }
        }
        std::fs::rename(&self.dir, &self.target)
            .with_context(|| format!("moving the output into {}", self.target.display()))?;
        self.done = true;
        Ok(self.target.clone())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// May `target` be written? Absent or an empty folder: yes. A non-empty folder: only with
/// `force`, and only when [`check_replaceable`] says so.
fn check_target(target: &Path, force: bool, inputs: &[PathBuf]) -> Result<()> {
    let Ok(meta) = std::fs::symlink_metadata(target) else {
        return Ok(());
    };
    if meta.file_type().is_symlink() {
        bail!(
            "{} is a symlink; iotassure does not write through one (choose another --out)",
            target.display()
        );
    }
    if !meta.is_dir() {
        bail!(
            "{} exists and is not a folder (choose another --out)",
            target.display()
        );
    }
    let empty = std::fs::read_dir(target)
        .with_context(|| format!("reading {}", target.display()))?
        .next()
        .is_none();
    if empty {
        return Ok(());
    }
    if !force {
        bail!(
            "output folder {} exists and is not empty (--force replaces it, but only if iotassure wrote it)",
            target.display()
        );
    }
    check_replaceable(target, inputs)
}

/// The rules `--force` follows before it removes anything.
pub fn check_replaceable(target: &Path, inputs: &[PathBuf]) -> Result<()> {
    let shown = target.display();
    let canon = target
        .canonicalize()
        .with_context(|| format!("--force: resolving {shown}"))?;
    let refuse = |why: &str| -> Result<()> {
        bail!("--force: refusing to replace {shown}: {why}. Nothing was removed; remove it yourself or choose another --out")
    };
    if canon.parent().is_none() {
        return refuse("it is the root folder");
    }
    if let Some(home) = std::env::var_os("HOME").and_then(|h| PathBuf::from(h).canonicalize().ok())
    {
        if home == canon {
            return refuse("it is your home folder");
        }
    }
    if let Ok(cwd) = std::env::current_dir().and_then(|d| d.canonicalize()) {
        if cwd.starts_with(&canon) {
            return refuse("it is the current folder or one of its ancestors");
        }
    }
    let meta = std::fs::metadata(&canon).with_context(|| format!("--force: reading {shown}"))?;
    if let Some(parent) = canon.parent() {
        let pm = std::fs::metadata(parent)?;
        if pm.dev() != meta.dev() || pm.ino() == meta.ino() {
            return refuse("it is a mount point");
        }
    }
    for input in inputs {
        if let Ok(i) = input.canonicalize() {
            if i.starts_with(&canon) {
                return refuse(&format!("it holds the input {}", input.display()));
            }
        }
    }
    match read_marker(&canon.join(OUTPUT_MARKER)) {
        Ok(()) => Ok(()),
        Err(why) => refuse(&format!(
            "iotassure did not write it ({OUTPUT_MARKER}: {why})"
        )),
    }
}

fn read_marker(path: &Path) -> std::result::Result<(), String> {
    let meta = std::fs::symlink_metadata(path).map_err(|_| "missing".to_string())?;
    if !meta.is_file() || meta.len() > 4096 {
        return Err("not a marker file".into());
    }
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let v: serde_json::Value =
        serde_json::from_str(&text).map_err(|_| "not a marker file".to_string())?;
    if v.get("format").and_then(|f| f.as_str()) != Some(MARKER_FORMAT) {
        return Err("not a marker file".into());
    }
    match v.get("version").and_then(|n| n.as_u64()) {
        Some(n) if (1..=MARKER_VERSION).contains(&n) => Ok(()),
        Some(n) => Err(format!(
            "format version {n}, newer than this iotassure knows"
        )),
        None => Err("no format version".into()),
    }
}

/// Removes `.NAME.partial-PID` (and `.old`) folders next to the output whose process is gone
/// and which carry the marker: what a killed run left behind.
fn remove_stale(parent: &Path, name: &str) {
    let prefix = format!(".{name}.partial-");
    let Ok(rd) = std::fs::read_dir(parent) else {
        return;
    };
    for e in rd.flatten() {
        let fname = e.file_name().to_string_lossy().to_string();
        let Some(rest) = fname.strip_prefix(&prefix) else {
            continue;
        };
        let pid = rest.strip_suffix(".old").unwrap_or(rest);
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        if pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        let path = e.path();
        let is_dir = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir());
        if is_dir && read_marker(&path.join(OUTPUT_MARKER)).is_ok() {
            match std::fs::remove_dir_all(&path) {
                Ok(()) => eprintln!(
                    "note: removed {}, left by an earlier run (process {pid}) that did not finish",
                    path.display()
                ),
                Err(err) => eprintln!("note: could not remove {}: {err}", path.display()),
            }
        }
    }
}

/// Would [`write_file`] accept `path`? Checked before long work, so a mistake fails at once.
pub fn check_file(path: &Path, force: bool, flag: &str) -> Result<()> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if meta.file_type().is_symlink() {
            bail!(
                "{} is a symlink; iotassure does not write through one",
                path.display()
            );
        }
        if !meta.is_file() {
            bail!("{} exists and is not a regular file", path.display());
        }
        if !force {
            bail!(
                "{} exists ({flag} replaces a file only with --force)",
                path.display()
            );
        }
    }
    Ok(())
}

/// Writes a file output atomically. An existing file is replaced only with `force`; a symlink,
/// a folder or another special file never is.
pub fn write_file(path: &Path, bytes: &[u8], force: bool, flag: &str) -> Result<()> {
    check_file(path, force, flag)?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".iotassure-")
        .tempfile_in(&dir)
        .with_context(|| format!("writing {}", path.display()))?;
    use std::os::unix::fs::PermissionsExt;
    // tempfile creates 0600; an output file is an ordinary document.
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o644))
        .with_context(|| format!("writing {}", path.display()))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Text for the terminal: control characters (ESC and the rest) shown as `\u{..}`, so a name
/// from firmware cannot set the title, clear the screen or move the cursor.
pub fn console_safe(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}
