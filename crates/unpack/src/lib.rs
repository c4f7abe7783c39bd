//! The unpack engine: any firmware image (or a folder) → a tree of files, each knowing where it
//! came from.
//!
//! ```text
//! image ─ scan (magic table) ─ identify (header checks) ─ extract (through the Sink) ─┐
//!   ▲                                                                                  │
//!   └──────────── decompressed blobs are scanned again, up to --depth ◄────────────────┘
//! ```
//!
//! Formats live one per file in [`formats`], registered in [`formats::REGISTRY`]. Everything is
//! written through [`sink::Sink`], which keeps output inside the output folder and enforces the
//! [`Limits`]. A bad chunk is reported with its offset and the rest goes on; the result says
//! whether it is partial. Files found inside an extracted filesystem are scanned too, and what
//! they hold goes beside it (`<chunk>.nested/…`), with the chain in every entry's provenance.
//! See `docs/unpack.md`.

mod ancestry;
pub mod codec;
pub mod engine;
pub mod entropy;
mod flash;
mod flat;
pub mod formats;
#[doc(hidden)]
pub mod fuzz;
pub mod limits;
mod links;
pub mod sink;
mod walk;

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use iotassure_core::layout::UnpackSummary;
use iotassure_core::progress::Progress;
use iotassure_core::tree::{EntryKind, Rootfs, Tree};
use sha2::{Digest, Sha256};

pub use limits::Limits;

#[derive(Debug, Clone, Default)]
pub struct Options {
    pub limits: Limits,
}

/// The result: the tree (manifest + on-disk root) and the summary for reports.
#[derive(Debug, Clone)]
pub struct Unpacked {
    pub tree: Tree,
    pub summary: UnpackSummary,
}

#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}: the file is empty (0 bytes); expected a firmware image")]
    Empty(PathBuf),
    #[error("{path}: no known firmware format found in {size} bytes. Expected a container, filesystem or compressed stream (e.g. squashfs `hsqs` at any offset, a TP-Link header, gzip/xz/bzip2/lzma, tar `ustar` at 257); bytes at offset 0: {head}")]
    NoFormat {
        path: PathBuf,
        size: u64,
        head: String,
    },
    #[error("{path}: nothing could be extracted: {}", problems.join("; "))]
    NothingExtracted {
        path: PathBuf,
        problems: Vec<String>,
        /// When formats were found but every one failed (a damaged image): what there is, with
        /// each problem at its offset, for a caller that reports damage rather than stopping.
        damaged: Option<Box<Unpacked>>,
    },
    #[error("output folder {0} exists and is not empty (use --force to replace it)")]
    OutputNotEmpty(PathBuf),
    /// The disk holding the output filled up: the tree is not the image's, so none of it is
    /// kept.
    #[error("{path}: {message}; what was extracted has been removed")]
    DiskFull { path: PathBuf, message: String },
}

impl UnpackError {
    /// The partial result of a damaged image (formats found, every extraction failed), if this
    /// error is that; otherwise the error itself.
    pub fn into_damaged(self) -> Result<Unpacked, UnpackError> {
        match self {
            UnpackError::NothingExtracted {
                damaged: Some(u), ..
            } => Ok(*u),
            e => Err(e),
        }
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> UnpackError + '_ {
    move |source| UnpackError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Runs `work` while a second thread shows how many entries the sink has written, a few times a
/// second: one large filesystem is a single call into its reader, and without this the count
/// would stand still until the reader returns. The total is unknown until then, so it is an
/// open count, not a bar. The last count is shown once more when `work` returns.
fn counting_entries<R>(sink: &sink::Sink, progress: &dyn Progress, work: impl FnOnce() -> R) -> R {
    let done = std::sync::atomic::AtomicBool::new(false);
    let r = std::thread::scope(|s| {
        let ticker = s.spawn(|| {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                progress.count(sink.entries_so_far(), None);
                std::thread::park_timeout(std::time::Duration::from_millis(100));
            }
        });
        let r = work();
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        ticker.thread().unpark();
        r
    });
    progress.count(sink.entries_so_far(), None);
    r
}

/// Unpacks `input` (a file or a folder) into `out` (created if missing; must be empty).
/// A folder input is read in place: nothing is copied, and `out` is not used.
pub fn unpack(
    input: &Path,
    out: &Path,
    opts: &Options,
    progress: &dyn Progress,
) -> Result<Unpacked, UnpackError> {
    let meta = std::fs::metadata(input).map_err(io_err(input))?;
    if meta.is_dir() {
        progress.stage("reading folder");
        return walk::walk(input).map_err(io_err(input));
    }
    let file = File::open(input).map_err(io_err(input))?;
    let size = meta.len();
    if size == 0 {
        return Err(UnpackError::Empty(input.to_path_buf()));
    }
    // SAFETY: read-only map of the user's input file. If another process truncates it while we
    // run, reads past the new end raise SIGBUS; we do not modify it.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(io_err(input))?;
    let digest: [u8; 32] = Sha256::digest(&map[..]).into();
    let sha256 = hex::encode(digest);

    std::fs::create_dir_all(out).map_err(io_err(out))?;
    // The output marker of the CLI's staging folder is the only entry allowed to be there.
    if std::fs::read_dir(out)
        .map_err(io_err(out))?
        .filter_map(Result::ok)
        .any(|e| e.file_name() != iotassure_core::OUTPUT_MARKER)
    {
        return Err(UnpackError::OutputNotEmpty(out.to_path_buf()));
    }
    let sink = sink::Sink::new(out, opts.limits.clone()).map_err(io_err(out))?;
    progress.stage("unpacking");
    let engine = engine::Engine::new(&sink, progress);
    counting_entries(&sink, progress, || {
        engine.scan(&map, &engine::Scope::image(input, size, digest))
    });
    let refused_links = sink.create_links();
    let mut state = engine.state.into_inner().expect("lock");
    state.problems.extend(links_problems(refused_links));
    state.sort_layout();
    let bytes_written = sink.bytes_written();
    let root = sink.root().to_path_buf();
    let (mut entries, limits_hit) = sink.into_parts();
    if let Some(m) = limits_hit.iter().find(|m| formats::is_disk_full(m)) {
        let _ = std::fs::remove_dir_all(&root);
        return Err(UnpackError::DiskFull {
            path: input.to_path_buf(),
            message: m.clone(),
        });
    }
    entries.sort_by(|a, b| a.path.cmp(&b.path));

    let layout = state.layout;
    let identified = layout
        .iter()
        .any(|l| l.format != "unknown" && l.format != "padding");
    if !identified && !limits_hit.is_empty() {
        let _ = std::fs::remove_dir_all(&root);
        return Err(UnpackError::NothingExtracted {
            path: input.to_path_buf(),
            problems: limits_hit,
            damaged: None,
        });
    }
    if !identified {
        let head = map
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" ");
        let _ = std::fs::remove_dir_all(&root);
        return Err(UnpackError::NoFormat {
            path: input.to_path_buf(),
            size,
            head,
        });
    }
    let mut tree = Tree {
        root,
        entries,
        rootfs: Vec::new(),
        blobs: state.blobs,
    };
    let fs_dirs: Vec<(String, String)> = state
        .fs_dirs
        .iter()
        .filter(|f| !f.nested)
        .map(|f| (f.dir.clone(), f.provenance.clone()))
        .collect();
    tree.rootfs = find_rootfs(&tree, &fs_dirs);
    flat::promote(&mut tree);
    // Carved unknown regions are not extraction: an image whose every chunk failed is an error.
    let extracted = tree
        .entries
        .iter()
        .filter(|e| e.kind != EntryKind::Dir)
        .count() as u64;
    let nothing_extracted = extracted <= state.carved && !state.problems.is_empty();
    let summary = summarize(
        input,
        sha256,
        size,
        file_kind(&layout),
        layout,
        &tree,
        bytes_written,
        state.problems,
        limits_hit,
    );
    if nothing_extracted {
        let problems = summary
            .problems
            .iter()
            .map(|p| format!("{} @0x{:x} {}: {}", p.parent, p.offset, p.format, p.message))
            .collect();
        return Err(UnpackError::NothingExtracted {
            path: input.to_path_buf(),
            problems,
            damaged: Some(Box::new(Unpacked { tree, summary })),
        });
    }
    Ok(Unpacked { tree, summary })
}

/// Links not created, as problems: one per link, up to a bound (an image can hold thousands).
fn links_problems(refused: Vec<(String, String)>) -> Vec<iotassure_core::layout::UnpackProblem> {
    const SHOWN: usize = 200;
    let n = refused.len();
    let mut out: Vec<_> = refused
        .into_iter()
        .take(SHOWN)
        .map(|(path, why)| iotassure_core::layout::UnpackProblem {
            parent: path,
            offset: 0,
            format: "symlink".into(),
            message: why,
        })
        .collect();
    if n > SHOWN {
        out.push(iotassure_core::layout::UnpackProblem {
            parent: "image".into(),
            offset: 0,
            format: "symlink".into(),
            message: format!("{} more links not created (see manifest.json)", n - SHOWN),
        });
    }
    out
}

fn file_kind(layout: &[iotassure_core::layout::LayoutEntry]) -> String {
    layout
        .iter()
        .filter(|l| l.depth == 0 && l.format != "padding" && l.format != "unknown")
        .map(|l| l.format.clone())
        .next()
        .unwrap_or_else(|| "unknown".into())
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn summarize(
    input: &Path,
    sha256: String,
    size: u64,
    kind: String,
    layout: Vec<iotassure_core::layout::LayoutEntry>,
    tree: &Tree,
    bytes_written: u64,
    problems: Vec<iotassure_core::layout::UnpackProblem>,
    limits_hit: Vec<String>,
) -> UnpackSummary {
    let count =
        |f: fn(&EntryKind) -> bool| tree.entries.iter().filter(|e| f(&e.kind)).count() as u64;
    UnpackSummary {
        input: input.display().to_string(),
        sha256,
        size,
        kind,
        layout,
        files: count(|k| *k == EntryKind::File),
        dirs: count(|k| *k == EntryKind::Dir),
        symlinks: count(|k| matches!(k, EntryKind::Symlink { .. })),
        special: count(|k| {
            matches!(
                k,
                EntryKind::CharDevice
                    | EntryKind::BlockDevice
                    | EntryKind::Fifo
                    | EntryKind::Socket
            )
        }),
        bytes_written,
        partial: !problems.is_empty() || !limits_hit.is_empty(),
        problems,
        limits_hit,
    }
}

/// Folders that hold a device root: an `etc` folder beside `bin`, `sbin`, `usr` or `lib`.
/// Searched in every extracted filesystem, at its top or one level down (tarballs often wrap
/// the root in a folder).
pub fn find_rootfs(tree: &Tree, fs_dirs: &[(String, String)]) -> Vec<Rootfs> {
    let dirs: std::collections::HashSet<&str> = tree
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::Dir)
        .map(|e| e.path.as_str())
        .collect();
    let has = |base: &str, name: &str| {
        let p = if base.is_empty() {
            name.to_string()
        } else {
            format!("{base}/{name}")
        };
        dirs.contains(p.as_str())
            || tree
                .entries
                .iter()
                .any(|e| e.path == p && matches!(e.kind, EntryKind::Symlink { .. }))
    };
    let looks_like_root = |base: &str| {
        has(base, "etc")
            && ["bin", "sbin", "usr", "lib", "www"]
                .iter()
                .any(|d| has(base, d))
    };
    let mut out = Vec::new();
    for (dir, provenance) in fs_dirs {
        if looks_like_root(dir) {
            out.push(Rootfs {
                path: dir.clone(),
                provenance: provenance.clone(),
            });
            continue;
        }
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let mut children: Vec<&str> = dirs
            .iter()
            .copied()
            .filter(|d| {
                d.strip_prefix(prefix.as_str())
                    .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'))
            })
            .collect();
        children.sort();
        for c in children {
            if looks_like_root(c) {
                out.push(Rootfs {
                    path: c.to_string(),
                    provenance: provenance.clone(),
                });
            }
        }
    }
    out
}

/// Reads the first bytes of a file (for error messages).
pub fn head(path: &Path, n: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0u8; n];
    let mut f = File::open(path)?;
    let got = f.read(&mut buf)?;
    buf.truncate(got);
    Ok(buf)
}
