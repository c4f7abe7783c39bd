//! SquashFS 4.0, little and big endian, with gzip, lzma, lzo, xz, lz4 and zstd, read with
//! backhand. LZMA and LZO blocks go through our own codec (`crate::codec`), which knows the
//! vendor LZMA variants: the standard 13-byte header, OpenWrt's 5-byte header without the size
//! (Debian's unsquashfs refuses it), and raw streams. Files are decompressed in parallel.
//!
//! Superblock (96 bytes, endianness from the magic): magic, inode count, mtime, block size,
//! fragment count, compressor, block log, flags, id count, version major/minor, root inode,
//! bytes used, then table offsets.

use std::io::Cursor;
use std::sync::Mutex;

use backhand::compression::{CompressionAction, Compressor, DefaultCompressor};
use backhand::kind::{Kind as BhKind, BE_V4_0, LE_V4_0};
use backhand::{BackhandError, FilesystemReader, InnerNode};

use super::squashfs4_errors::describe;
use iotassure_core::layout::Confidence;
use iotassure_core::tree::EntryKind;
use rayon::prelude::*;

use super::bytes::{u16_e, u32_e, u64_e};
use super::{copy_file, Anchor, Chunk, Ctx, ExtractError, Extracted, Format, Kind, Magic};
use crate::codec::{lzma_block, lzma_detect, lzo1x_decompress, LzmaBlock};
use crate::sink::{sanitize, Meta};

pub static FORMAT: Format = Format {
    id: "squashfs-4.0",
    kind: Kind::Filesystem,
    anchor: Anchor::Anywhere,
    magics: &[
        Magic {
            bytes: b"hsqs",
            at: 0,
        },
        Magic {
            bytes: b"sqsh",
            at: 0,
        },
    ],
    identify,
    extract: Some(extract),
};

pub struct Superblock {
    pub big_endian: bool,
    pub inodes: u32,
    pub mtime: u32,
    pub block_size: u32,
    pub compressor: u16,
    pub bytes_used: u64,
}

fn parse(d: &[u8], s: usize) -> Option<Superblock> {
    let h = d.get(s..s + 96)?;
    let be = &h[0..4] == b"sqsh";
    if u16_e(h, 28, be)? != 4 || u16_e(h, 30, be)? != 0 {
        return None;
    }
    let block_size = u32_e(h, 12, be)?;
    let block_log = u16_e(h, 22, be)?;
    if !block_size.is_power_of_two()
        || !(4096..=1 << 20).contains(&block_size)
        || block_log >= 32
        || 1u32 << block_log != block_size
    {
        return None;
    }
    let compressor = u16_e(h, 20, be)?;
    if !(1..=6).contains(&compressor) {
        return None;
    }
    let bytes_used = u64_e(h, 40, be)?;
    if bytes_used < 96 {
        return None;
    }
    Some(Superblock {
        big_endian: be,
        inodes: u32_e(h, 4, be)?,
        mtime: u32_e(h, 8, be)?,
        block_size,
        compressor,
        bytes_used,
    })
}

pub fn compressor_name(c: u16) -> &'static str {
    match c {
        1 => "gzip",
        2 => "lzma",
        3 => "lzo",
        4 => "xz",
        5 => "lz4",
        6 => "zstd",
        _ => "unknown",
    }
}

pub fn timestamp(secs: u32) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs as i64)
        .ok()
        .and_then(|t| {
            t.format(&time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second]"
            ))
            .ok()
        })
        .unwrap_or_else(|| secs.to_string())
}

fn identify(d: &[u8], s: usize) -> Option<Chunk> {
    let sb = parse(d, s)?;
    let available = (d.len() - s) as u64;
    let truncated = sb.bytes_used > available;
    let comp = compressor_name(sb.compressor);
    Some(
        Chunk::new(FORMAT.id, format!("squashfs-4.0-{comp}"), s)
            .size(sb.bytes_used.min(available) as usize)
            .describe(format!(
                "SquashFS file system, {} endian, version: 4.0, compression: {comp}, inode count: {}, block size: {}, image size: {} bytes, created: {}{}",
                if sb.big_endian { "big" } else { "little" },
                sb.inodes,
                sb.block_size,
                sb.bytes_used,
                timestamp(sb.mtime),
                if truncated { format!(" (TRUNCATED: only {available} bytes present)") } else { String::new() }
            ))
            .confidence(if truncated { Confidence::Low } else { Confidence::Medium })
            .fact("compression", comp)
            .fact("inodes", sb.inodes)
            .fact("block_size", sb.block_size),
    )
}

/// Backhand's decompressor, with LZMA (every vendor variant) and LZO done by our codec. The
/// LZMA variant is found on the first block and kept for the rest of the image.
struct Codec {
    lzma: Mutex<Option<LzmaBlock>>,
}

impl CompressionAction for Codec {
    type Error = BackhandError;
    type Compressor = Compressor;
    type FilesystemCompressor = backhand::FilesystemCompressor;
    type SuperBlock = backhand::SuperBlock;

    fn decompress(
        &self,
        bytes: &[u8],
        out: &mut Vec<u8>,
        compressor: Compressor,
    ) -> Result<(), BackhandError> {
        // Backhand reserves the most a block may hold (block size or 8 KiB of metadata).
        let max_out = out.capacity().max(8192);
        let bad = |m: String| BackhandError::UnsupportedCompression(m);
        match compressor {
            Compressor::Lzma => {
                let known = *self.lzma.lock().expect("lock");
                let decoded = match known {
                    Some(v) => lzma_block(bytes, v, max_out).map_err(bad)?,
                    None => {
                        let (v, o) = lzma_detect(bytes, max_out)
                            .ok_or_else(|| bad("no LZMA variant decodes this block".into()))?;
                        *self.lzma.lock().expect("lock") = Some(v);
                        o
                    }
                };
                out.extend_from_slice(&decoded);
                Ok(())
            }
            Compressor::Lzo => {
                let (o, _) = lzo1x_decompress(bytes, max_out).map_err(|e| bad(e.to_string()))?;
                out.extend_from_slice(&o);
                Ok(())
            }
            other => DefaultCompressor.decompress(bytes, out, other),
        }
    }

    fn compress(
        &self,
        bytes: &[u8],
        fc: Self::FilesystemCompressor,
        block_size: u32,
    ) -> Result<Vec<u8>, BackhandError> {
        DefaultCompressor.compress(bytes, fc, block_size)
    }
}

fn extract(ctx: &Ctx<'_>, d: &[u8], chunk: &Chunk) -> Result<Extracted, ExtractError> {
    let sb = parse(d, chunk.offset)
        .ok_or_else(|| ExtractError::Bad("superblock no longer parses".into()))?;
    let end = (chunk.offset as u64).saturating_add(sb.bytes_used);
    if end > d.len() as u64 {
        return Err(ExtractError::Bad(format!(
            "truncated: the superblock says {} bytes, only {} are present",
            sb.bytes_used,
            d.len() - chunk.offset
        )));
    }
    // One codec per image (its LZMA variant); leaked because backhand takes `&'static`. A few
    // bytes per LZMA/LZO filesystem, only those.
    let kind = if matches!(sb.compressor, 2 | 3) {
        let codec: &'static Codec = Box::leak(Box::new(Codec {
            lzma: Mutex::new(None),
        }));
        BhKind::new_v4_with_const(codec, if sb.big_endian { BE_V4_0 } else { LE_V4_0 })
    } else {
        BhKind::from_const(if sb.big_endian { BE_V4_0 } else { LE_V4_0 })
            .map_err(ExtractError::Bad)?
    };
    let bytes = &d[chunk.offset..end as usize];
    let fs = FilesystemReader::from_reader_with_offset_and_kind(Cursor::new(bytes), 0, kind)
        .map_err(|e| ExtractError::Bad(format!("squashfs tables: {}", describe(&e))))?;
    ctx.root_dir()?;
    // Directories, links and nodes first (in tree order, so parents exist), then the files'
    // data in parallel.
    let mut files = Vec::new();
    for node in fs.files() {
        let full = node.fullpath.to_string_lossy();
        let rel = match sanitize(&full, true) {
            Ok(r) => r,
            Err(e) => {
                ctx.problem(format!("entry refused: {e}"));
                continue;
            }
        };
        if rel.is_empty() {
            continue; // the root itself
        }
        let h = &node.header;
        let meta = Meta {
            mode: h.permissions as u32,
            uid: h.uid,
            gid: h.gid,
        };
        let r = match &node.inner {
            InnerNode::Dir(_) => ctx.dir(&rel, meta),
            InnerNode::File(f) => {
                files.push((rel, meta, f));
                Ok(())
            }
            InnerNode::Symlink(l) => ctx.symlink(&rel, &l.link.to_string_lossy(), meta),
            InnerNode::CharacterDevice(_) => ctx.special(&rel, EntryKind::CharDevice, meta),
            InnerNode::BlockDevice(_) => ctx.special(&rel, EntryKind::BlockDevice, meta),
            InnerNode::NamedPipe => ctx.special(&rel, EntryKind::Fifo, meta),
            InnerNode::Socket => ctx.special(&rel, EntryKind::Socket, meta),
        };
        if let Err(e) = r {
            ctx.entry_error(e)?;
        }
    }
    let count = files.len() as u64;
    files.par_iter().try_for_each(|(rel, meta, f)| {
        let mut reader = match fs.file(f).reader_checked() {
            Ok(r) => r,
            Err(e) => {
                ctx.problem(format!("/{rel}: {}", describe(&e)));
                return Ok(());
            }
        };
        copy_file(ctx, rel, *meta, &mut reader)
    })?;
    Ok(Extracted::files(sb.bytes_used as usize, count))
}
