//! A folder given as input: the device root as it is on disk (an already-extracted rootfs).
//! Walked with `lstat`, never following symlinks; nothing is copied.

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

use iotassure_core::tree::{Entry, EntryKind, Rootfs, Tree};

use crate::Unpacked;

const MAX_ENTRIES: usize = 2_000_000;

pub fn walk(root: &Path) -> std::io::Result<Unpacked> {
    let root = fs::canonicalize(root)?;
    let mut entries = Vec::new();
    let mut stack = vec![String::new()];
    while let Some(rel) = stack.pop() {
        let dir = if rel.is_empty() {
            root.clone()
        } else {
            root.join(&rel)
        };
        let mut names: Vec<_> = fs::read_dir(&dir)?.filter_map(|e| e.ok()).collect();
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
            let m = fs::symlink_metadata(e.path())?;
            let ft = m.file_type();
            let kind = if ft.is_symlink() {
                EntryKind::Symlink {
                    target: fs::read_link(e.path())?.to_string_lossy().to_string(),
                }
            } else if ft.is_dir() {
                stack.push(path.clone());
                EntryKind::Dir
            } else if ft.is_file() {
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
        Vec::new(),
        Vec::new(),
    );
    Ok(Unpacked { tree, summary })
}
