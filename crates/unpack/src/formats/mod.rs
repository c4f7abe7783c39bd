//! The format registry. Each format lives in one file holding its magic, its header parser with
//! validation, and its extractor; [`REGISTRY`] lists them all. To add a format: write the file,
//! add it to `mod` below and to [`REGISTRY`], and give it a test fixture.

use std::collections::BTreeMap;
use std::sync::Mutex;

use iotassure_core::layout::Confidence;
use iotassure_core::tree::{BlobKind, EntryKind};
use serde_json::Value;

use crate::sink::{ChunkBudget, Meta, Sink, SinkError, SinkFile};

pub mod arm_vectors;
pub mod bzip2;
pub mod cortex_m;
pub mod cpio;
pub mod cramfs;
pub mod deadc0de;
pub mod esp;
pub mod esp8266_irom;
pub mod esp_partitions;
pub mod ext;
mod ext_inodes;
pub mod fit;
pub mod gif;
pub mod gzip;
pub mod ihex;
pub mod jffs2;
pub mod jpeg;
pub mod linux;
pub mod lz4;
pub mod lzma;
pub mod lzop;
pub mod packimg;
pub mod png;
pub mod realtek;
pub mod romfs;
pub mod seama;
pub mod squashfs4;
mod squashfs4_errors;
pub mod squashfs_legacy;
pub mod srec;
pub mod tar;
pub mod tplink;
pub mod tplink_v2;
pub mod trx;
pub mod ubi;
pub mod ubifs;
pub mod uboot_env;
pub mod uimage;
pub mod wrgg;
pub mod xz;
pub mod zip;
pub mod zlib;
pub mod zstd;

/// Every format the engine knows, in priority order for chunks that start at the same offset:
/// vendor headers first (they say what follows), then filesystems and archives, then streams,
/// and the magic-less guesses last.
pub static REGISTRY: &[&Format] = &[
    &tplink::FORMAT,
    &tplink_v2::FORMAT,
    &wrgg::FORMAT,
    &trx::FORMAT,
    &seama::FORMAT,
    &realtek::FORMAT,
    &packimg::FORMAT,
    &uimage::FORMAT,
    &fit::FORMAT,
    &esp::FORMAT,
    &esp8266_irom::FORMAT,
    &esp_partitions::FORMAT,
    &ihex::FORMAT,
    &srec::FORMAT,
    &squashfs4::FORMAT,
    &squashfs_legacy::FORMAT,
    &cramfs::FORMAT,
    &romfs::FORMAT,
    &ubi::FORMAT,
    &ubifs::FORMAT,
    &jffs2::FORMAT,
    &ext::FORMAT,
    &cpio::FORMAT,
    &cpio::BINARY,
    &tar::FORMAT,
    &zip::FORMAT,
    &gzip::FORMAT,
    &xz::FORMAT,
    &bzip2::FORMAT,
    &zstd::FORMAT,
    &lz4::FORMAT,
    &lzop::FORMAT,
    &lzma::FORMAT,
    &zlib::FORMAT,
    &uboot_env::FORMAT,
    &png::FORMAT,
    &gif::FORMAT,
    &jpeg::FORMAT,
    &linux::FORMAT,
    &deadc0de::FORMAT,
    // Magic-less: tried only when no format claimed offset 0.
    &cortex_m::FORMAT,
    &arm_vectors::FORMAT,
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
    /// A container whose payload becomes blobs (MCU images, kernels, FIT images).
    Blob,
    /// A file embedded as is (an image in a web blob): its bytes are copied out, not scanned.
    Carve,
}

/// Where a format may start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// Anywhere its magic matches.
    Anywhere,
    /// Its magic proves little (LZMA properties, a zlib header, a kernel banner): anywhere in an
    /// image or a decompressed blob, but only at offset 0 of a file found inside a filesystem,
    /// so that a string in an ELF binary is not carved into the tree.
    Weak,
    /// Only at offset 0 of a blob: whole-file formats (Intel HEX, S-records, ESP app images)
    /// whose one-byte or text magic would match everywhere.
    Start,
}

pub type Identify = fn(data: &[u8], start: usize) -> Option<Chunk>;
pub type Extract = fn(ctx: &Ctx<'_>, data: &[u8], chunk: &Chunk) -> Result<Extracted, ExtractError>;

pub struct Format {
    pub id: &'static str,
    pub kind: Kind,
    pub anchor: Anchor,
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
    /// The region's length, when the header states it.
    pub size: Option<usize>,
}

/// An identified region.
#[derive(Debug, Clone)]
pub struct Chunk {
    /// Format id shown in the layout (a format may name its variant: `squashfs-2.0`).
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
    /// The same facts, machine-readable (see `LayoutEntry::facts`).
    pub facts: BTreeMap<String, Value>,
}

impl Chunk {
    pub fn new(format: &'static str, label: impl Into<String>, offset: usize) -> Chunk {
        Chunk {
            format,
            label: label.into(),
            offset,
            size: None,
            description: String::new(),
            confidence: Confidence::Medium,
            hints: Vec::new(),
            facts: BTreeMap::new(),
        }
    }

    pub fn size(mut self, size: usize) -> Chunk {
        self.size = Some(size);
        self
    }

    pub fn describe(mut self, d: impl Into<String>) -> Chunk {
        self.description = d.into();
        self
    }

    pub fn confidence(mut self, c: Confidence) -> Chunk {
        self.confidence = c;
        self
    }

    pub fn hint(mut self, offset: usize, format: &'static str, size: Option<usize>) -> Chunk {
        self.hints.push(Hint {
            offset,
            format,
            size,
        });
        self
    }

    pub fn fact(mut self, key: &str, value: impl Into<Value>) -> Chunk {
        self.facts.insert(key.to_string(), value.into());
        self
    }
}

/// One blob an extraction wrote.
#[derive(Debug, Clone)]
pub struct OutBlob {
    /// Relative to the output root.
    pub path: String,
    pub kind: BlobKind,
    pub base_address: Option<u64>,
}

/// What extraction produced.
#[derive(Debug, Clone, Default)]
pub struct Extracted {
    /// Bytes of the input the chunk occupied.
    pub consumed: usize,
    /// For streams and blob containers: the blobs written.
    pub blobs: Vec<OutBlob>,
    /// Anything worth a line in the layout ("742 files").
    pub note: String,
    /// Facts only extraction can tell (files extracted, kernel version of a payload).
    pub facts: BTreeMap<String, Value>,
}

impl Extracted {
    pub fn blob(consumed: usize, path: String, kind: BlobKind, note: String) -> Extracted {
        Extracted {
            consumed,
            blobs: vec![OutBlob {
                path,
                kind,
                base_address: None,
            }],
            note,
            facts: BTreeMap::new(),
        }
    }

    pub fn files(consumed: usize, files: u64) -> Extracted {
        let mut facts = BTreeMap::new();
        facts.insert("files".to_string(), Value::from(files));
        Extracted {
            consumed,
            blobs: Vec::new(),
            note: format!("{files} files"),
            facts,
        }
    }
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
        if is_limit_message(&msg) {
            ExtractError::Limit(msg)
        } else {
            ExtractError::Bad(msg)
        }
    }
}

/// Limit messages name their flag (`--max-total`, `--max-time` …). The file-size cap is not
/// one of them here: it skips one file (or one stream), and its extractor goes on. The ratio cap
/// stops its chunk only (the engine goes on with the rest of the image).
pub fn is_limit_message(m: &str) -> bool {
    (m.contains("(--max-") && !is_file_cap(m))
        || m.contains("stopped by an earlier limit")
        || m.contains("(disk full)")
}

/// The message of a full disk (from the sink).
pub fn is_disk_full(m: &str) -> bool {
    m.contains("(disk full)")
}

/// The message of the per-file cap (`--max-file-size`).
pub fn is_file_cap(m: &str) -> bool {
    m.contains("(--max-file-size)")
}

/// What an extractor may do: write inside its own folder, through the sink. Shared between
/// threads when an extractor writes files in parallel.
pub struct Ctx<'a> {
    pub sink: &'a Sink,
    /// The chunk's folder, relative to the output root.
    pub dir: String,
    /// The chunk's provenance chain: `image @0x117790 squashfs-4.0-xz`.
    pub provenance: String,
    pub budget: ChunkBudget,
    /// Entries refused or damaged; the chunk goes on and the tree is marked partial.
    pub problems: Mutex<Vec<String>>,
    /// Regular files written (relative to the output root), for nested scanning.
    pub files: Mutex<Vec<String>>,
    /// The file the scanned data was mapped from (the input, or a blob in the output), for
    /// readers that want a file handle rather than a slice (ext2/3/4).
    pub source: Option<std::path::PathBuf>,
    dir_made: std::sync::atomic::AtomicBool,
}

impl<'a> Ctx<'a> {
    pub fn new(sink: &'a Sink, dir: String, provenance: String, input_size: u64) -> Ctx<'a> {
        Ctx {
            sink,
            budget: ChunkBudget::new(input_size, &provenance),
            dir,
            provenance,
            problems: Mutex::new(Vec::new()),
            files: Mutex::new(Vec::new()),
            source: None,
            dir_made: std::sync::atomic::AtomicBool::new(false),
        }
    }

    fn join(&self, rel: &str) -> String {
        if rel.is_empty() {
            self.dir.clone()
        } else {
            format!("{}/{rel}", self.dir)
        }
    }

    pub fn problem(&self, msg: impl Into<String>) {
        self.problems.lock().expect("lock").push(msg.into());
    }

    /// A file at `rel` (sanitised, relative to the chunk folder).
    pub fn file(&self, rel: &str, meta: Meta) -> Result<SinkFile<'_>, SinkError> {
        let path = self.join(rel);
        let f = self
            .sink
            .file(&path, meta, &self.provenance, Some(&self.budget))?;
        self.files.lock().expect("lock").push(path);
        Ok(f)
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

    /// The chunk folder itself (for filesystems: the root directory).
    pub fn root_dir(&self) -> Result<(), SinkError> {
        if self
            .dir_made
            .swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            return Ok(());
        }
        self.dir(
            "",
            Meta {
                mode: 0o755,
                ..Meta::default()
            },
        )
    }

    /// A blob output, named `name` inside the chunk folder.
    pub fn blob(&self, name: &str) -> Result<SinkFile<'_>, SinkError> {
        if !self
            .dir_made
            .swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            self.sink.dir(
                &self.dir,
                Meta {
                    mode: 0o755,
                    ..Meta::default()
                },
                &self.provenance,
            )?;
        }
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
    pub fn entry_error(&self, e: SinkError) -> Result<(), ExtractError> {
        match e {
            SinkError::Limit(m) => Err(ExtractError::Limit(m)),
            other => {
                self.problem(other.to_string());
                Ok(())
            }
        }
    }

    /// Writes a whole blob from memory.
    pub fn write_blob(&self, name: &str, bytes: &[u8]) -> Result<String, ExtractError> {
        use std::io::Write;
        let mut f = self.blob(name)?;
        f.write_all(bytes)?;
        f.finish();
        Ok(self.blob_path(name))
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
    pub fn u64_be(d: &[u8], at: usize) -> Option<u64> {
        Some(u64::from_be_bytes(d.get(at..at + 8)?.try_into().ok()?))
    }
    /// Reads a u16/u32/u64 in the given byte order.
    pub fn u16_e(d: &[u8], at: usize, be: bool) -> Option<u16> {
        if be {
            u16_be(d, at)
        } else {
            u16_le(d, at)
        }
    }
    pub fn u32_e(d: &[u8], at: usize, be: bool) -> Option<u32> {
        if be {
            u32_be(d, at)
        } else {
            u32_le(d, at)
        }
    }
    pub fn u64_e(d: &[u8], at: usize, be: bool) -> Option<u64> {
        if be {
            u64_be(d, at)
        } else {
            u64_le(d, at)
        }
    }
    /// True when every byte of a fixed-size string field is printable ASCII or NUL padding.
    pub fn printable_field(d: &[u8]) -> bool {
        let end = d.iter().position(|&b| b == 0).unwrap_or(d.len());
        d[..end].iter().all(|&b| (0x20..0x7f).contains(&b))
    }
    /// A NUL-terminated string field, lossily decoded.
    pub fn cstr(d: &[u8], at: usize, len: usize) -> String {
        let f = d.get(at..(at + len).min(d.len())).unwrap_or(&[]);
        let end = f.iter().position(|&b| b == 0).unwrap_or(f.len());
        String::from_utf8_lossy(&f[..end]).trim().to_string()
    }
}

/// `io::copy` with a 256 KiB buffer: an eighth of the write calls on big files.
fn copy_big(r: &mut dyn std::io::Read, w: &mut dyn std::io::Write) -> std::io::Result<u64> {
    let mut buf = vec![0u8; 256 * 1024];
    let mut n = 0u64;
    loop {
        let got = match r.read(&mut buf) {
            Ok(0) => return Ok(n),
            Ok(g) => g,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        w.write_all(&buf[..got])?;
        n += got as u64;
    }
}

/// Streams `reader` into the chunk's blob; returns (blob path, bytes written).
pub fn stream_to_blob(
    ctx: &Ctx<'_>,
    name: &str,
    reader: &mut dyn std::io::Read,
) -> Result<(String, u64), ExtractError> {
    let mut out = ctx.blob(name)?;
    let n = copy_big(reader, &mut out).map_err(|e| {
        let m = e.to_string();
        if is_limit_message(&m) {
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
    ctx: &Ctx<'_>,
    rel: &str,
    meta: Meta,
    reader: &mut dyn std::io::Read,
) -> Result<(), ExtractError> {
    let mut out = match ctx.file(rel, meta) {
        Ok(f) => f,
        Err(e) => return ctx.entry_error(e),
    };
    let r = copy_big(reader, &mut out);
    let written = out.written();
    out.finish();
    if let Err(e) = r {
        let m = e.to_string();
        if is_limit_message(&m) {
            return Err(ExtractError::Limit(m));
        }
        if is_file_cap(&m) {
            ctx.problem(format!("/{rel}: {m}"));
        } else {
            ctx.problem(format!("/{rel}: damaged after {written} bytes: {m}"));
        }
    }
    Ok(())
}

/// Writes one regular file from memory.
pub fn write_file(ctx: &Ctx<'_>, rel: &str, meta: Meta, bytes: &[u8]) -> Result<(), ExtractError> {
    copy_file(ctx, rel, meta, &mut &bytes[..])
}

/// Copies the chunk's bytes to `name` in its folder.
pub fn carve(
    ctx: &Ctx<'_>,
    d: &[u8],
    chunk: &Chunk,
    name: &str,
) -> Result<Extracted, ExtractError> {
    let end = chunk.offset + chunk.size.unwrap_or(0);
    let bytes = d
        .get(chunk.offset..end)
        .ok_or_else(|| ExtractError::Bad("beyond the end of the data".into()))?;
    ctx.root_dir()?;
    write_file(
        ctx,
        name,
        crate::sink::Meta {
            mode: 0o644,
            ..Default::default()
        },
        bytes,
    )?;
    Ok(Extracted {
        consumed: bytes.len(),
        note: String::new(),
        ..Extracted::default()
    })
}

/// A reader decompressing a payload whose compression a header names (uImage, FIT).
pub fn payload_reader<'a>(
    compression: &str,
    data: &'a [u8],
    memlimit: u64,
) -> Result<Box<dyn std::io::Read + 'a>, String> {
    Ok(match compression {
        "none" => Box::new(data),
        "gzip" => Box::new(flate2::bufread::MultiGzDecoder::new(data)),
        "bzip2" => Box::new(::bzip2::bufread::BzDecoder::new(data)),
        "lzma" => {
            let props = *data.first().ok_or("empty LZMA payload")?;
            let dict = bytes::u32_le(data, 1).ok_or("short LZMA header")?;
            let size = bytes::u64_le(data, 5).ok_or("short LZMA header")?;
            crate::codec::lzma_stream(
                data.get(13..).unwrap_or(&[]),
                props,
                dict,
                (size != u64::MAX).then_some(size),
                memlimit,
            )?
        }
        "lzo" => Box::new(lzop::LzopReader::new(data).ok_or("not an lzop stream")?),
        "lz4" => Box::new(lz4_flex::frame::FrameDecoder::new(data)),
        "zstd" => {
            Box::new(::zstd::stream::read::Decoder::with_buffer(data).map_err(|e| e.to_string())?)
        }
        other => return Err(format!("compression \"{other}\" not supported")),
    })
}
