//! A private, writable copy of the extracted root filesystem for one run, under the output
//! folder. Files get their modes from the image's manifest (the extracted tree on disk keeps no
//! execute bits); symlinks are recreated as the image has them, since inside the chroot they
//! resolve against the copy. Nothing is ever written through a symlink: every parent of a new
//! entry is checked to be a real directory inside the copy first.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use iotassure_core::tree::{open_nofollow, EntryKind, RootfsView};

use crate::arch::{self, Arch};

/// Bounds on what one copy may hold.
#[derive(Debug, Clone, Copy)]
pub struct CopyLimits {
    pub max_bytes: u64,
    pub max_entries: usize,
}

impl Default for CopyLimits {
    fn default() -> Self {
        CopyLimits {
            max_bytes: 512 << 20,
            max_entries: 100_000,
        }
    }
}

#[derive(Debug, Default)]
pub struct Copied {
    pub files: usize,
    pub bytes: u64,
    pub symlinks: usize,
    /// Entries left out, each with why.
    pub skipped: Vec<String>,
    /// The CPU most ELF files in the copy are built for.
    pub arch: Option<Arch>,
    pub elf_counts: Vec<(Arch, usize)>,
}

/// Directories the sandbox mounts over: they must be real directories in the copy, never
/// symlinks, so a mount made before the chroot cannot be steered to a host path.
const MOUNT_POINTS: &[&str] = &["dev", "proc", "tmp", "sys"];

fn rel_ok(p: &str) -> Option<PathBuf> {
    let path = Path::new(p.trim_start_matches('/'));
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(s) => out.push(s),
            Component::CurDir => {}
            _ => return None,
        }
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

/// Every ancestor of `rel` inside `dest` is a real directory (never a symlink).
fn parents_are_dirs(dest: &Path, rel: &Path) -> bool {
    let mut cur = dest.to_path_buf();
    let comps: Vec<_> = rel.components().collect();
    for c in &comps[..comps.len().saturating_sub(1)] {
        cur.push(c);
        match fs::symlink_metadata(&cur) {
            Ok(m) if m.is_dir() => {}
            _ => return false,
        }
    }
    true
}

/// Writes the root filesystem `view` into `dest` (created, must not exist).
pub fn materialise(
    view: &RootfsView<'_>,
    dest: &Path,
    limits: CopyLimits,
) -> std::io::Result<Copied> {
    fs::create_dir(dest)?;
    let mut c = Copied::default();
    let entries = view.entries();
    if entries.len() > limits.max_entries {
        return Err(std::io::Error::other(format!(
            "the root filesystem has {} entries, more than the {} a copy may hold",
            entries.len(),
            limits.max_entries
        )));
    }
    let mut counts: Vec<(Arch, usize)> = Vec::new();
    // Directories first, then files, then symlinks: no symlink exists yet while anything is
    // written, and a symlink's parents are checked before it is made.
    let mut ordered: Vec<_> = entries.iter().collect();
    ordered.sort_by_key(|(p, e)| {
        (
            match e.kind {
                EntryKind::Dir => 0,
                EntryKind::File => 1,
                EntryKind::Symlink { .. } => 2,
                _ => 3,
            },
            p.len(),
        )
    });
    for (path, e) in ordered {
        let Some(rel) = rel_ok(path) else {
            c.skipped.push(format!("{path}: not a plain relative path"));
            continue;
        };
        let target = dest.join(&rel);
        if !parents_are_dirs(dest, &rel) {
            c.skipped
                .push(format!("{path}: a parent is not a directory"));
            continue;
        }
        match &e.kind {
            EntryKind::Dir => {
                if fs::symlink_metadata(&target).is_err() {
                    fs::create_dir(&target)?;
                }
                fs::set_permissions(
                    &target,
                    fs::Permissions::from_mode(0o755 | (e.mode & 0o7000 & !0o6000)),
                )?;
            }
            EntryKind::File => {
                if c.bytes + e.size > limits.max_bytes {
                    c.skipped.push(format!(
                        "{path}: over the copy's {} MiB cap",
                        limits.max_bytes >> 20
                    ));
                    continue;
                }
                let mut src = open_nofollow(&view.tree.disk_path(e))?;
                let mut out = fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&target)?;
                let mut head = [0u8; 20];
                let mut first = true;
                let mut buf = vec![0u8; 64 << 10];
                loop {
                    let n = src.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    if first && n >= 20 {
                        head.copy_from_slice(&buf[..20]);
                    }
                    first = false;
                    out.write_all(&buf[..n])?;
                }
                if let Some(a) = arch::of_elf(&head) {
                    match counts.iter_mut().find(|(x, _)| *x == a) {
                        Some(x) => x.1 += 1,
                        None => counts.push((a, 1)),
                    }
                }
                // setuid/setgid bits are dropped: inside the sandbox every process is the same
                // unprivileged user anyway. Scripts and ELF files must be executable.
                let mode = (e.mode & 0o777) | 0o600;
                let exec = arch::of_elf(&head).is_some() || head.starts_with(b"#!");
                let mode = if exec { mode | 0o755 } else { mode | 0o644 };
                fs::set_permissions(&target, fs::Permissions::from_mode(mode))?;
                c.files += 1;
                c.bytes += e.size;
            }
            EntryKind::Symlink { target: to } => {
                let top = rel
                    .components()
                    .next()
                    .map(|x| x.as_os_str().to_string_lossy().into_owned());
                if rel.components().count() == 1
                    && top.as_deref().is_some_and(|t| MOUNT_POINTS.contains(&t))
                {
                    fs::create_dir_all(&target)?;
                    c.skipped.push(format!("{path}: a symlink to {to} in the image; a real directory in the copy (the sandbox mounts over it)"));
                    continue;
                }
                if fs::symlink_metadata(&target).is_ok() {
                    continue;
                }
                symlink(to, &target)?;
                c.symlinks += 1;
            }
            _ => c.skipped.push(format!(
                "{path}: a device node or special file (the sandbox provides /dev)"
            )),
        }
    }
    for m in MOUNT_POINTS {
        let p = dest.join(m);
        if fs::symlink_metadata(&p).is_err() {
            fs::create_dir(&p)?;
        }
    }
    counts.sort_by_key(|c| std::cmp::Reverse(c.1));
    c.arch = counts.first().map(|x| x.0);
    c.elf_counts = counts;
    Ok(c)
}

/// Gives the copy to the sandbox's outer user, so that user can write there and nowhere else.
pub fn chown_tree(dir: &Path, uid: u32) -> std::io::Result<()> {
    std::os::unix::fs::lchown(dir, Some(uid), Some(uid))?;
    let m = fs::symlink_metadata(dir)?;
    if m.is_dir() {
        for e in fs::read_dir(dir)? {
            let p = e?.path();
            if fs::symlink_metadata(&p)?.is_dir() {
                chown_tree(&p, uid)?;
            } else {
                std::os::unix::fs::lchown(&p, Some(uid), Some(uid))?;
            }
        }
    }
    Ok(())
}
