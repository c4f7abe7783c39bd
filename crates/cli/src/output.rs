//! Output folders and files, written so that nothing of the user's is ever lost.
//!
//! A folder is written into a hidden sibling staging folder (`.NAME.partial-PID`) that carries
//! a marker file ([`OUTPUT_MARKER`]) from its first moment, and renamed into place at the end:
//! a report appears complete or not at all. `--force` replaces an existing folder only when it
//! holds that marker, i.e. when iotassure wrote it, and never `/`, the home folder (or a folder
//! holding it), the current folder or one of its ancestors, a mount point, a symlink, or a
//! folder holding an input. Staging folders left by a killed run (their process is gone, the
//! marker is there) are removed on the next run. Every command that writes a folder goes
//! through [`Staged`]: it is the one place that decides what may be removed.
//!
//! A file (`--sbom-out`, `ics init --out`) is written to a temporary sibling and renamed; an
//! existing file is replaced only with `--force`, never through a symlink, never an input.

use std::ffi::OsStr;
use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use iotassure_core::OUTPUT_MARKER;

const MARKER_FORMAT: &str = "iotassure-output";
const MARKER_VERSION: u64 = 1;

pub struct Staged {
    pub dir: PathBuf,
    target: PathBuf,
    parent: PathBuf,
    name: String,
    force: bool,
    inputs: Vec<PathBuf>,
    done: bool,
}

impl Staged {
    /// Prepares staging for `target`. An existing non-empty `target` is refused unless `force`,
    /// and then only when it holds the marker; the protected places ([`check_protected`]) are
    /// refused even when empty. `inputs` are the files the command reads: a folder holding one
    /// of them is never replaced.
    pub fn new(target: &Path, force: bool, command: &str, inputs: &[&Path]) -> Result<Staged> {
        let inputs: Vec<PathBuf> = inputs.iter().map(|p| p.to_path_buf()).collect();
        let target = normalize(target)?;
        check_target(&target, force, &inputs)?;
        let name = target
            .file_name()
            .ok_or_else(|| anyhow!("{} cannot be an output folder", target.display()))?
            .to_string_lossy()
            .to_string();
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent)
            .with_context(|| format!("creating {}", parent.display()))?;
        remove_stale(&parent, &name);
        let dir = parent.join(format!(".{name}.partial-{}", std::process::id()));
        clear_own(&dir)?;
        std::fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let marker = serde_json::json!({
            "format": MARKER_FORMAT,
            "version": MARKER_VERSION,
            "command": command,
            "tool_version": env!("CARGO_PKG_VERSION"),
        });
        let staged = Staged {
            dir,
            target,
            parent,
            name,
            force,
            inputs,
            done: false,
        };
        let marker_path = staged.dir.join(OUTPUT_MARKER);
        std::fs::write(&marker_path, format!("{marker}\n"))
            .with_context(|| format!("writing {}", marker_path.display()))?;
        Ok(staged)
    }

    /// Moves the staged folder into place (checking the target again: it may have changed).
    /// Returns the final folder.
    pub fn commit(mut self) -> Result<PathBuf> {
        let target = self.target.clone();
        let shown = target.display();
        if std::fs::symlink_metadata(&target).is_ok() {
            check_target(&target, self.force, &self.inputs)?;
            let empty = std::fs::read_dir(&target)?.next().is_none();
            if empty {
                std::fs::remove_dir(&target).with_context(|| format!("replacing {shown}"))?;
            } else {
                // The old output steps aside under a name a later run recognises as stale.
                let old =
                    self.parent
                        .join(format!(".{}.partial-{}.old", self.name, std::process::id()));
                clear_own(&old)?;
                std::fs::rename(&target, &old).with_context(|| format!("replacing {shown}"))?;
                if let Err(e) = std::fs::rename(&self.dir, &target) {
                    // Put the old output back rather than leave nothing.
                    let _ = std::fs::rename(&old, &target);
                    return Err(e).with_context(|| format!("moving the output into {shown}"));
                }
                self.done = true;
                if let Err(e) = std::fs::remove_dir_all(&old) {
                    eprintln!(
                        "note: could not remove the replaced output {}: {e}",
                        old.display()
                    );
                }
                return Ok(target);
            }
        }
        std::fs::rename(&self.dir, &target)
            .with_context(|| format!("moving the output into {shown}"))?;
        self.done = true;
        Ok(target)
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// The path the checks and the renames work on: `DIR/NAME`, without a trailing `/` or `.`
/// (so that a symlink named as `link/` is still seen as the symlink it is). A path that ends
/// in `..` or is `.` or `/` is resolved to the folder it names.
fn normalize(target: &Path) -> Result<PathBuf> {
    match target.components().next_back() {
        Some(Component::Normal(name)) => Ok(target.parent().unwrap_or(Path::new("")).join(name)),
        _ => target
            .canonicalize()
            .with_context(|| format!("resolving the output folder {}", target.display())),
    }
}

/// Our own staging (or set-aside) path exists already: a run with the same process id left it.
/// It is removed when it carries the marker; anything else there is the user's.
fn clear_own(path: &Path) -> Result<()> {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    if meta.is_dir() && read_marker(&path.join(OUTPUT_MARKER)).is_ok() {
        std::fs::remove_dir_all(path).with_context(|| format!("removing {}", path.display()))
    } else {
        bail!(
            "{} is in the way of iotassure's staging folder and iotassure did not write it; nothing was removed. Remove it yourself or choose another --out",
            path.display()
        )
    }
}

/// May `target` be written? Absent: yes. A symlink or a non-folder: never. A protected place
/// ([`check_protected`]): never, even empty. Empty: yes. Non-empty: only with `force`, and only
/// when it holds the marker with a known format version.
fn check_target(target: &Path, force: bool, inputs: &[PathBuf]) -> Result<()> {
    let Ok(meta) = std::fs::symlink_metadata(target) else {
        return Ok(());
    };
    let shown = target.display();
    if meta.file_type().is_symlink() {
        bail!("refusing to use {shown} as the output folder: it is a symlink, and iotassure never writes through or replaces one (even with --force). Nothing was removed; choose another --out");
    }
    if !meta.is_dir() {
        bail!("refusing to use {shown} as the output folder: it exists and is not a folder. Nothing was removed; choose another --out");
    }
    check_protected(target, inputs)?;
    let empty = std::fs::read_dir(target)
        .with_context(|| format!("reading {shown}"))?
        .next()
        .is_none();
    if empty {
        return Ok(());
    }
    if !force {
        bail!("output folder {shown} exists and is not empty. Nothing was removed; choose another --out or remove it yourself (--force replaces it only if it is an earlier iotassure output, one holding the {OUTPUT_MARKER} marker)");
    }
    if let Err(why) = read_marker(&target.join(OUTPUT_MARKER)) {
        bail!("--force: refusing to replace {shown}: iotassure did not write it ({OUTPUT_MARKER} marker: {why}). Nothing was removed; remove it yourself or choose another --out");
    }
    Ok(())
}

/// The places iotassure never replaces, with or without `--force`, checked on the canonical
/// path: `/`, the home folder or a folder holding it, the current folder or one of its
/// ancestors, a mount point, a folder holding one of `inputs`.
fn check_protected(target: &Path, inputs: &[PathBuf]) -> Result<()> {
    let shown = target.display();
    let canon = target
        .canonicalize()
        .with_context(|| format!("resolving the output folder {shown}"))?;
    let refuse = |why: &str| -> Result<()> {
        bail!("refusing to replace {shown}: {why}; iotassure never replaces it, even with --force. Nothing was removed; remove it yourself or choose another --out")
    };
    if canon.parent().is_none() {
        return refuse("it is the root folder");
    }
    if let Some(home) = std::env::var_os("HOME").and_then(|h| PathBuf::from(h).canonicalize().ok())
    {
        if home == canon {
            return refuse("it is your home folder");
        }
        if home.starts_with(&canon) {
            return refuse("it holds your home folder");
        }
    }
    if let Ok(cwd) = std::env::current_dir().and_then(|d| d.canonicalize()) {
        if cwd.starts_with(&canon) {
            return refuse("it is the current folder or one of its ancestors");
        }
    }
    if is_mount_point(&canon).with_context(|| format!("reading {shown}"))? {
        return refuse("it is a mount point");
    }
    for input in inputs {
        if let Ok(i) = input.canonicalize() {
            if i.starts_with(&canon) {
                return refuse(&format!("it holds the input {}", input.display()));
            }
        }
    }
    Ok(())
}

/// Is the canonical folder `canon` a mount point? Another device than its parent's, the same
/// inode as its parent (the root of a file system), or listed in /proc/self/mountinfo (a bind
/// mount of a folder of the same file system keeps the device number).
fn is_mount_point(canon: &Path) -> Result<bool> {
    let meta = std::fs::metadata(canon)?;
    if let Some(parent) = canon.parent() {
        let pm = std::fs::metadata(parent)?;
        if pm.dev() != meta.dev() || pm.ino() == meta.ino() {
            return Ok(true);
        }
    }
    let Ok(table) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return Ok(false);
    };
    let want = canon.as_os_str().as_bytes();
    Ok(table
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .any(|m| unescape_octal(m) == want))
}

/// mountinfo writes space, tab, newline and backslash in paths as `\040`, `\011`, `\012`, `\134`.
fn unescape_octal(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let oct = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (b[i], oct) {
            (b'\\', Some(d)) => {
                out.push(d.iter().fold(0u8, |n, c| n.wrapping_mul(8) + (c - b'0')));
                i += 4;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
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
/// `inputs` are the files the command reads: none of them is ever overwritten.
pub fn check_file(path: &Path, force: bool, flag: &str, inputs: &[&Path]) -> Result<()> {
    let shown = path.display();
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    if meta.file_type().is_symlink() {
        bail!("refusing to write {flag} {shown}: it is a symlink, and iotassure never writes through or replaces one (even with --force). Nothing was written; remove it yourself or choose another {flag}");
    }
    if !meta.is_file() {
        bail!("refusing to write {flag} {shown}: it exists and is not a regular file. Nothing was written; choose another {flag}");
    }
    if let Ok(canon) = path.canonicalize() {
        if inputs
            .iter()
            .any(|i| i.canonicalize().is_ok_and(|i| i == canon))
        {
            bail!("refusing to write {flag} {shown}: it is an input of this command (even with --force). Nothing was written; choose another {flag}");
        }
    }
    if !force {
        bail!("{flag} {shown} exists. Nothing was written; add --force to replace the file, or choose another {flag}");
    }
    Ok(())
}

/// Writes a file output atomically (a temporary file in the same folder, renamed over the
/// target). An existing regular file is replaced only with `force`; a symlink, a folder,
/// another special file or an input never is.
pub fn write_file(
    path: &Path,
    bytes: &[u8],
    force: bool,
    flag: &str,
    inputs: &[&Path],
) -> Result<()> {
    check_file(path, force, flag, inputs)?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().unwrap_or(OsStr::new("out"));
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{}.", name.to_string_lossy()))
        .suffix(".tmp")
        .tempfile_in(&dir)
        .with_context(|| format!("writing {}", path.display()))?;
    use std::os::unix::fs::PermissionsExt;
    // tempfile creates 0600; an output file is an ordinary document (a replaced file keeps its
    // mode).
    let mode = std::fs::symlink_metadata(path)
        .map(|m| m.mode() & 0o777)
        .unwrap_or(0o666 & !umask());
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("writing {}", path.display()))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// The process's umask (from /proc/self/status; 022 when it cannot be read).
fn umask() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Umask:"))
                .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        })
        .unwrap_or(0o022)
}

/// Text for the terminal: control characters (ESC and the rest) shown as `\u{..}`, so a name
/// from firmware cannot set the title, clear the screen or move the cursor.
/// [`console_safe`] for a multi-line text: line breaks and tabs stay, other control characters
/// (terminal escapes from firmware names among them) are shown as `\u{..}`.
pub fn console_safe_keep_newlines(s: &str) -> String {
    s.split('\n')
        .map(|l| {
            l.split('\t')
                .map(console_safe)
                .collect::<Vec<_>>()
                .join("\t")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

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
