//! A folder given as input: the device root as it is on disk (an already-extracted rootfs).
//! Walked with `lstat`, never following symlinks; nothing is copied.
//!
//! A folder or file that cannot be read (permissions, an I/O error) is a problem recorded in the
//! summary, naming it: the rest is still inspected, and the report is PARTIAL. Only the root
//! itself being unreadable ends the run.

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use iotassure_core::layout::UnpackProblem;
use iotassure_core::tree::{Entry, EntryKind, Rootfs, Tree};

use crate::Unpacked;

const MAX_ENTRIES: usize = 2_000_000;

pub fn walk(root: &Path) -> std::io::Result<Unpacked> {
    let root = fs::canonicalize(root)?;
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    let mut unreadable = |path: &Path, what: &str, e: std::io::Error| {
        problems.push(UnpackProblem {
            parent: "folder".into(),
            offset: 0,
            format: "directory".into(),
            message: format!("{}: cannot {what}: {e}", path.display()),
        });
    };
    let mut stack = vec![String::new()];
    while let Some(rel) = stack.pop() {
        let dir = if rel.is_empty() {
            root.clone()
        } else {
            root.join(&rel)
        };
        let listing = match fs::read_dir(&dir) {
            Ok(l) => l,
            Err(e) if !rel.is_empty() => {
                unreadable(&dir, "list this folder", e);
                continue;
            }
            Err(e) => return Err(e),
        };
        let mut names: Vec<_> = listing.filter_map(|e| e.ok()).collect();
        names.sort_by_key(|e| e.file_name());
        for e in names {
            if entries.len() >= MAX_ENTRIES {
                return Err(std::io::Error::other(format!(
                    "more than {MAX_ENTRIES} entries under {}",
                    root.display()
                )));
            }
            let name = e.file_name().to_string_lossy().to_string();
            let path = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let m = match fs::symlink_metadata(e.path()) {
                Ok(m) => m,
                Err(err) => {
                    unreadable(&e.path(), "read its metadata", err);
                    continue;
                }
            };
            let ft = m.file_type();
            let kind = if ft.is_symlink() {
                match fs::read_link(e.path()) {
                    Ok(t) => EntryKind::Symlink {
                        target: t.to_string_lossy().to_string(),
                    },
                    Err(err) => {
                        unreadable(&e.path(), "read the link", err);
                        continue;
                    }
                }
            } else if ft.is_dir() {
                stack.push(path.clone());
                EntryKind::Dir
            } else if ft.is_file() {
                // The checks read every file: one they cannot open is named now, once.
                if let Err(err) = fs::File::open(e.path()) {
                    unreadable(&e.path(), "read this file", err);
                    continue;
                }
                EntryKind::File
            } else if ft.is_char_device() {
                EntryKind::CharDevice
            } else if ft.is_block_device() {
                EntryKind::BlockDevice
            } else if ft.is_fifo() {
                EntryKind::Fifo
            } else {
                EntryKind::Socket
            };
            entries.push(Entry {
                path,
                kind,
                size: m.len(),
                mode: m.mode() & 0o7777,
                uid: m.uid(),
                gid: m.gid(),
                provenance: "folder".into(),
            });
        }
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    let mut tree = Tree {
        root: root.clone(),
        entries,
        rootfs: Vec::new(),
        blobs: Vec::new(),
    };
    let mut roots = crate::find_rootfs(&tree, &[(String::new(), "folder".into())]);
    if roots.is_empty() {
        // Still inspect it: a folder is what the user says is the device root.
        roots.push(Rootfs {
            path: String::new(),
            provenance: "folder".into(),
        });
    }
    tree.rootfs = roots;
    let summary = crate::summarize(
        &root,
        String::new(),
        tree.entries.iter().map(|e| e.size).sum(),
        "directory".into(),
        Vec::new(),
        &tree,
        0,
        problems,
        Vec::new(),
    );
    Ok(Unpacked { tree, summary })
}
