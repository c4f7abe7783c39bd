//! The format registry. Each format lives in one file holding its magic, its header parser with
//! validation, and its extractor; [`REGISTRY`] lists them all. To add a format: write the file,
//! add it to `mod` below and to [`REGISTRY`], and give it a test fixture.

use iotassure_core::layout::Confidence;
use iotassure_core::tree::{BlobKind, EntryKind};

use crate::sink::{ChunkBudget, Meta, Sink, SinkError, SinkFile};

pub mod bzip2;
pub mod gzip;
pub mod lzma;
pub mod squashfs4;
pub mod tar;
pub mod tplink;
pub mod xz;

/// Every format the engine knows, in priority order for chunks that start at the same offset.
pub static REGISTRY: &[&Format] = &[
    &tplink::FORMAT,
    &squashfs4::FORMAT,
    &tar::FORMAT,
    &gzip::FORMAT,
    &xz::FORMAT,
    &bzip2::FORMAT,
    &lzma::FORMAT,
];

pub fn by_id(id: &str) -> Option<&'static Format> {
    REGISTRY.iter().copied().find(|f| f.id == id)
}

/// A byte pattern at a fixed offset from the start of a chunk.
#[derive(Debug, Clone, Copy)]
pub struct Magic {
    pub bytes: &'static [u8],
    /// Offset of `bytes` from the chunk start (tar's `ustar` sits at 257).
    pub at: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A vendor header: describes regions, holds no files. The payload after it is scanned.
    Header,
    /// A compressed stream: decompresses to one blob, which is scanned in turn.
    Compressed,
    /// A filesystem or archive: extracts to a folder of files.
    Filesystem,
    /// A container whose payload becomes a blob (MCU images, kernels).
    Blob,
}

pub type Identify = fn(data: &[u8], start: usize) -> Option<Chunk>;
pub type Extract =
    fn(ctx: &mut Ctx<'_>, data: &[u8], chunk: &Chunk) -> Result<Extracted, ExtractError>;

pub struct Format {
    pub id: &'static str,
    pub kind: Kind,
    pub magics: &'static [Magic],
    /// Validates a header at `start`; `None` when it is not this format (or not plausibly).
    pub identify: Identify,
    /// Absent for headers.
    pub extract: Option<Extract>,
}

/// A region another header says holds a given format (a TP-Link header names its kernel and
/// rootfs offsets): tried even where the magic scan is unreliable (LZMA).
#[derive(Debug, Clone)]
pub struct Hint {
    pub offset: usize,
    pub format: &'static str,
}

/// An identified region.
#[derive(Debug, Clone)]
pub struct Chunk {
    pub format: &'static str,
    /// Used in provenance and folder names: `squashfs-4.0-xz`, `lzma`, `tplink-v1`.
    pub label: String,
    pub offset: usize,
    /// Known from the header; `None` when only extraction can tell (most streams).
    pub size: Option<usize>,
    /// binwalk-style: the header's fields.
    pub description: String,
    pub confidence: Confidence,
    pub hints: Vec<Hint>,
}

/// What extraction produced.
#[derive(Debug, Clone)]
pub struct Extracted {
    /// Bytes of the input the chunk occupied.
    pub consumed: usize,
    /// For streams and blob containers: the blob written (relative to the output root).
    pub blob: Option<(String, BlobKind)>,
    /// Anything worth a line in the layout ("742 files").
    pub note: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// A global limit: everything stops.
    #[error("{0}")]
    Limit(String),
    /// This chunk is bad (truncated, corrupt); the rest goes on.
    #[error("{0}")]
    Bad(String),
}

impl From<SinkError> for ExtractError {
    fn from(e: SinkError) -> Self {
        match e {
            SinkError::Limit(m) => ExtractError::Limit(m),
            other => ExtractError::Bad(other.to_string()),
        }
    }
}

impl From<std::io::Error> for ExtractError {
    fn from(e: std::io::Error) -> Self {
        // Limits surface through `Write` as io errors; keep them fatal.
        let msg = e.to_string();
        if msg.contains("(--max-") || msg.contains("limit") {
            ExtractError::Limit(msg)
        } else {
            ExtractError::Bad(msg)
        }
    }
}

/// What an extractor may do: write inside its own folder, through the sink.
pub struct Ctx<'a> {
    pub sink: &'a Sink,
    /// The chunk's folder, relative to the output root.
    pub dir: String,
    /// The chunk's provenance chain: `image @0x117790 squashfs-4.0-xz`.
    pub provenance: String,
    pub budget: ChunkBudget,
    /// Entries refused or damaged; the chunk goes on and the tree is marked partial.
    pub problems: Vec<String>,
}

impl<'a> Ctx<'a> {
    fn join(&self, rel: &str) -> String {
        if rel.is_empty() {
            self.dir.clone()
        } else {
            format!("{}/{rel}", self.dir)
        }
    }

    /// A file at `rel` (sanitised, relative to the chunk folder).
    pub fn file(&self, rel: &str, meta: Meta) -> Result<SinkFile<'_>, SinkError> {
        self.sink
            .file(&self.join(rel), meta, &self.provenance, Some(&self.budget))
    }

    pub fn dir(&self, rel: &str, meta: Meta) -> Result<(), SinkError> {
        self.sink.dir(&self.join(rel), meta, &self.provenance)
    }

    pub fn symlink(&self, rel: &str, target: &str, meta: Meta) -> Result<(), SinkError> {
        self.sink
            .symlink(&self.join(rel), target, meta, &self.provenance, &self.dir)
    }

    pub fn special(&self, rel: &str, kind: EntryKind, meta: Meta) -> Result<(), SinkError> {
        self.sink
            .special(&self.join(rel), kind, meta, &self.provenance)
    }

    /// The single output of a stream, named `name` inside the chunk folder.
    pub fn blob(&self, name: &str) -> Result<SinkFile<'_>, SinkError> {
        self.sink.dir(
            &self.dir,
            Meta {
                mode: 0o755,
                ..Meta::default()
            },
            &self.provenance,
        )?;
        self.sink.file(
            &self.join(name),
            Meta {
                mode: 0o644,
                ..Meta::default()
            },
            &self.provenance,
            Some(&self.budget),
        )
    }

    pub fn blob_path(&self, name: &str) -> String {
        self.join(name)
    }

    /// Records a per-entry problem; a refusal is not fatal, a limit is.
    pub fn entry_error(&mut self, e: SinkError) -> Result<(), ExtractError> {
        match e {
            SinkError::Limit(m) => Err(ExtractError::Limit(m)),
            other => {
                self.problems.push(other.to_string());
                Ok(())
            }
        }
    }
}

/// Reads integers without panicking on short input.
pub mod bytes {
    pub fn u16_le(d: &[u8], at: usize) -> Option<u16> {
        Some(u16::from_le_bytes(d.get(at..at + 2)?.try_into().ok()?))
    }
    pub fn u32_le(d: &[u8], at: usize) -> Option<u32> {
        Some(u32::from_le_bytes(d.get(at..at + 4)?.try_into().ok()?))
    }
    pub fn u64_le(d: &[u8], at: usize) -> Option<u64> {
        Some(u64::from_le_bytes(d.get(at..at + 8)?.try_into().ok()?))
    }
    pub fn u16_be(d: &[u8], at: usize) -> Option<u16> {
        Some(u16::from_be_bytes(d.get(at..at + 2)?.try_into().ok()?))
    }
    pub fn u32_be(d: &[u8], at: usize) -> Option<u32> {
        Some(u32::from_be_bytes(d.get(at..at + 4)?.try_into().ok()?))
    }
    /// A NUL-terminated string field, lossily decoded.
    pub fn cstr(d: &[u8], at: usize, len: usize) -> String {
        let f = d.get(at..(at + len).min(d.len())).unwrap_or(&[]);
        let end = f.iter().position(|&b| b == 0).unwrap_or(f.len());
        String::from_utf8_lossy(&f[..end]).trim().to_string()
    }
}

/// Streams `reader` into the chunk's blob; returns (blob path, bytes written).
pub fn stream_to_blob(
    ctx: &Ctx<'_>,
    name: &str,
    reader: &mut dyn std::io::Read,
) -> Result<(String, u64), ExtractError> {
    let mut out = ctx.blob(name)?;
    let n = std::io::copy(reader, &mut out).map_err(|e| {
        let m = e.to_string();
        if m.contains("(--max-") {
            ExtractError::Limit(m)
        } else {
            ExtractError::Bad(format!("after {} bytes of output: {m}", out.written()))
        }
    })?;
    out.finish();
    Ok((ctx.blob_path(name), n))
}

/// Writes one regular file of an archive or filesystem. A damaged member is recorded as a
/// problem (the bytes that decoded are kept); a limit stops the extraction.
pub fn copy_file(
    ctx: &mut Ctx<'_>,
    rel: &str,
    meta: Meta,
    reader: &mut dyn std::io::Read,
) -> Result<(), ExtractError> {
    let outcome: Result<Option<String>, SinkError> = {
        let c: &Ctx<'_> = ctx;
        match c.file(rel, meta) {
            Ok(mut out) => {
                let r = std::io::copy(reader, &mut out);
                let written = out.written();
                out.finish();
                match r {
                    Ok(_) => Ok(None),
                    Err(e) => {
                        let m = e.to_string();
                        if m.contains("(--max-") {
                            return Err(ExtractError::Limit(m));
                        }
                        Ok(Some(format!("/{rel}: damaged after {written} bytes: {m}")))
                    }
                }
            }
            Err(e) => Err(e),
        }
    };
    match outcome {
        Ok(Some(p)) => {
            ctx.problems.push(p);
            Ok(())
        }
        Ok(None) => Ok(()),
        Err(e) => ctx.entry_error(e),
    }
}
