//! The extracted file tree: what the unpack engine produced, with every entry's origin.
//!
//! The on-disk tree holds regular files and directories only where they are safe to create; the
//! manifest (`entries`) is the truth about kinds, modes and owners as they were in the image
//! (setuid bits, device nodes and symlinks are recorded here, not recreated on disk).
//!
//! Firmware symlinks point into the *device's* root (`/etc/passwd -> /tmp/etc/passwd`). Reading
//! through them on the host would read the host's files, so [`RootfsView`] resolves symlinks
//! inside the image's root and opens the final file with `O_NOFOLLOW`.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::finding::Location;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EntryKind {
    File,
    Dir,
    Symlink { target: String },
    CharDevice,
    BlockDevice,
    Fifo,
    Socket,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Entry {
    /// Path relative to the tree root, `/`-separated, no leading slash.
    pub path: String,
    #[serde(flatten)]
    pub kind: EntryKind,
    pub size: u64,
    /// Permission bits as in the source (including setuid/setgid/sticky).
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Provenance chain of the container this entry came from, e.g.
    /// `image @0x117790 squashfs-4.0-xz`. The entry's own path is appended when cited.
    pub provenance: String,
}

/// A directory of the tree that holds a device root filesystem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Rootfs {
    /// Relative to the tree root; empty for the root itself.
    pub path: String,
    /// Provenance of the filesystem, e.g. `image @0x117790 squashfs-4.0-xz`.
    pub provenance: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BlobKind {
    /// A decompressed OS kernel.
    Kernel,
    /// Flat microcontroller firmware (Intel HEX payload, ESP app segments, raw flash).
    McuFirmware,
    /// Anything else worth a string scan.
    Raw,
}

/// A binary that is not a filesystem but still carries evidence (strings, keys, banners).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Blob {
    /// Relative to the tree root.
    pub path: String,
    pub kind: BlobKind,
    pub provenance: String,
    /// Load address of the first byte, where the format states one (Intel HEX, ESP segments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_address: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Tree {
    /// The on-disk directory entry paths are relative to.
    pub root: PathBuf,
    pub entries: Vec<Entry>,
    pub rootfs: Vec<Rootfs>,
    pub blobs: Vec<Blob>,
}

/// Reading more than this from one file is never needed by a check; bigger files are truncated
/// and the check is told so.
pub const DEFAULT_READ_LIMIT: u64 = 64 << 20;

/// Opens a file of the tree without following a symlink at the last component.
pub fn open_nofollow(path: &Path) -> io::Result<File> {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

impl Tree {
    /// Views of every root filesystem, deepest-first order preserved from `rootfs`.
    pub fn rootfs_views(&self) -> Vec<RootfsView<'_>> {
        self.rootfs
            .iter()
            .map(|r| RootfsView::new(self, r))
            .collect()
    }

    pub fn disk_path(&self, entry: &Entry) -> PathBuf {
        self.root.join(&entry.path)
    }

    /// Reads a blob (at most `limit` bytes).
    pub fn read_blob(&self, blob: &Blob, limit: u64) -> io::Result<Vec<u8>> {
        read_limited(&self.root.join(&blob.path), limit)
    }

    pub fn file_count(&self) -> usize {
        self.entries
            .iter()
            .filter(|e| e.kind == EntryKind::File)
            .count()
    }
}

pub fn read_limited(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let f = open_nofollow(path)?;
    // Sized up front: through `take` the reader gives no size hint, so the buffer would grow by
    // doubling and hold up to twice the file while it is read (a 16 MiB file: 32 MiB).
    let size = f.metadata().map_or(0, |m| m.len()).min(limit);
    let mut buf = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    f.take(limit).read_to_end(&mut buf)?;
    Ok(buf)
}

/// One root filesystem, with symlinks resolved inside it.
pub struct RootfsView<'a> {
    pub tree: &'a Tree,
    pub rootfs: &'a Rootfs,
    /// Path inside the rootfs (no leading slash) → entry.
    index: HashMap<&'a str, &'a Entry>,
}

const MAX_SYMLINK_HOPS: usize = 40;

impl<'a> RootfsView<'a> {
    pub fn new(tree: &'a Tree, rootfs: &'a Rootfs) -> Self {
        let prefix = if rootfs.path.is_empty() {
            String::new()
        } else {
            format!("{}/", rootfs.path)
        };
        let index = tree
            .entries
            .iter()
            .filter_map(|e| e.path.strip_prefix(prefix.as_str()).map(|rel| (rel, e)))
            .filter(|(rel, _)| !rel.is_empty())
            .collect();
        RootfsView {
            tree,
            rootfs,
            index,
        }
    }

    /// Every entry, with its path inside the rootfs (leading `/`), sorted by path.
    pub fn entries(&self) -> Vec<(String, &'a Entry)> {
        let mut v: Vec<(String, &Entry)> = self
            .index
            .iter()
            .map(|(p, e)| (format!("/{p}"), *e))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// Regular files, with their path inside the rootfs.
    pub fn files(&self) -> Vec<(String, &'a Entry)> {
        self.entries()
            .into_iter()
            .filter(|(_, e)| e.kind == EntryKind::File)
            .collect()
    }

    /// The entry at `path` itself (no symlink resolution).
    pub fn lstat(&self, path: &str) -> Option<&'a Entry> {
        self.index.get(path.trim_start_matches('/')).copied()
    }

    /// Resolves `path` (absolute inside the device) following symlinks within the rootfs.
    /// Returns the final entry and its canonical path (leading `/`).
    pub fn resolve(&self, path: &str) -> Option<(String, &'a Entry)> {
        let mut pending: Vec<String> = split(path).into_iter().rev().collect();
        let mut current: Vec<String> = Vec::new();
        let mut hops = 0;
        while let Some(comp) = pending.pop() {
            match comp.as_str() {
                "." => continue,
                ".." => {
                    current.pop();
                    continue;
                }
                _ => {}
            }
            current.push(comp);
            let joined = current.join("/");
            let entry = *self.index.get(joined.as_str())?;
            if let EntryKind::Symlink { target } = &entry.kind {
                hops += 1;
                if hops > MAX_SYMLINK_HOPS {
                    return None;
                }
                current.pop();
                if target.starts_with('/') {
                    current.clear();
                }
                for c in split(target).into_iter().rev() {
                    pending.push(c);
                }
            }
        }
        let joined = current.join("/");
        let entry = self.index.get(joined.as_str())?;
        Some((format!("/{joined}"), entry))
    }

    /// Reads the file at `path` (following symlinks inside the rootfs), at most `limit` bytes.
    pub fn read(&self, path: &str, limit: u64) -> io::Result<(String, Vec<u8>)> {
        let (canonical, entry) = self.resolve(path).ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, format!("{path}: not in the image"))
        })?;
        if entry.kind != EntryKind::File {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{path}: not a regular file"),
            ));
        }
        Ok((canonical, read_limited(&self.tree.disk_path(entry), limit)?))
    }

    /// Reads a regular file entry.
    pub fn read_entry(&self, entry: &Entry, limit: u64) -> io::Result<Vec<u8>> {
        read_limited(&self.tree.disk_path(entry), limit)
    }

    /// The provenance chain of a path inside this rootfs, e.g.
    /// `image @0x117790 squashfs-4.0-xz → /etc/shadow`.
    pub fn provenance(&self, path: &str) -> String {
        let p = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/{path}")
        };
        let base = self
            .lstat(&p)
            .map(|e| e.provenance.as_str())
            .unwrap_or(self.rootfs.provenance.as_str());
        format!("{base} → {p}")
    }

    /// A file location for evidence.
    pub fn location(&self, path: &str, line: Option<u32>, offset: Option<u64>) -> Location {
        let p = if path.starts_with('/') {
            path.to_string()
        } else {
            format!("/{path}")
        };
        Location::File {
            provenance: self.provenance(&p),
            path: p,
            line,
            offset,
        }
    }
}

fn split(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|c| !c.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(path: &str, kind: EntryKind) -> Entry {
        Entry {
            path: path.into(),
            kind,
            size: 0,
            mode: 0o644,
            uid: 0,
            gid: 0,
            provenance: "image".into(),
        }
    }

    #[test]
    fn symlinks_resolve_inside_the_rootfs() {
        let tree = Tree {
            root: "/nonexistent".into(),
            entries: vec![
                entry("fs/etc", EntryKind::Dir),
                entry("fs/tmp", EntryKind::Dir),
                entry("fs/tmp/etc", EntryKind::Dir),
                entry("fs/tmp/etc/passwd", EntryKind::File),
                entry(
                    "fs/etc/passwd",
                    EntryKind::Symlink {
                        target: "/tmp/etc/passwd".into(),
                    },
                ),
                entry(
                    "fs/etc/loop",
                    EntryKind::Symlink {
                        target: "loop".into(),
                    },
                ),
                entry(
                    "fs/etc/up",
                    EntryKind::Symlink {
                        target: "../../../../tmp/etc/passwd".into(),
                    },
                ),
            ],
            rootfs: vec![Rootfs {
                path: "fs".into(),
                provenance: "image @0x0 squashfs".into(),
            }],
            blobs: vec![],
        };
        let views = tree.rootfs_views();
        let v = &views[0];
        assert_eq!(v.resolve("/etc/passwd").unwrap().0, "/tmp/etc/passwd");
        assert!(v.resolve("/etc/loop").is_none(), "a symlink loop ends");
        // `..` never climbs above the device root.
        assert_eq!(v.resolve("/etc/up").unwrap().0, "/tmp/etc/passwd");
        assert_eq!(v.provenance("/etc/passwd"), "image → /etc/passwd");
    }
}
