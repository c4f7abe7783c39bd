//! SquashFS 4.0, little and big endian, with gzip, lzma (including OpenWrt's raw-LZMA variant,
//! whose parameters backhand finds adaptively), xz, lz4 and zstd. Read with backhand.
//!
//! Superblock (96 bytes, endianness from the magic): magic, inode count, mtime, block size,
//! fragment count, compressor, block log, flags, id count, version major/minor, root inode,
//! bytes used, then table offsets.

use std::io::Cursor;

use backhand::kind::Kind as BhKind;
use backhand::{FilesystemReader, InnerNode};
use iotassure_core::layout::Confidence;
use iotassure_core::tree::EntryKind;

use super::bytes::{u16_be, u16_le, u32_be, u32_le};
use super::{copy_file, Chunk, Ctx, ExtractError, Extracted, Format, Kind, Magic};
use crate::sink::{sanitize, Meta};

pub static FORMAT: Format = Format {
    id: "squashfs-4.0",
    kind: Kind::Filesystem,
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

struct Superblock {
    big_endian: bool,
    inodes: u32,
    mtime: u32,
    block_size: u32,
    compressor: u16,
    bytes_used: u64,
}

fn parse(d: &[u8], s: usize) -> Option<Superblock> {
    let h = d.get(s..s + 96)?;
    let be = &h[0..4] == b"sqsh";
    let u16_ = |at| if be { u16_be(h, at) } else { u16_le(h, at) };
    let u32_ = |at| if be { u32_be(h, at) } else { u32_le(h, at) };
    let u64_ = |at: usize| -> Option<u64> {
        let lo = u32_(at)? as u64;
        let hi = u32_(at + 4)? as u64;
        Some(if be { (lo << 32) | hi } else { (hi << 32) | lo })
    };
    if u16_(28)? != 4 || u16_(30)? != 0 {
        return None;
    }
    let block_size = u32_(12)?;
    let block_log = u16_(22)?;
    if !block_size.is_power_of_two()
        || !(4096..=1 << 20).contains(&block_size)
        || 1u32 << block_log != block_size
    {
        return None;
    }
    let compressor = u16_(20)?;
    if !(1..=6).contains(&compressor) {
        return None;
    }
    let bytes_used = u64_(40)?;
    if bytes_used < 96 {
        return None;
    }
    Some(Superblock {
        big_endian: be,
        inodes: u32_(4)?,
        mtime: u32_(8)?,
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
    Some(Chunk {
        format: FORMAT.id,
        label: format!("squashfs-4.0-{comp}"),
        offset: s,
        size: Some(sb.bytes_used.min(available) as usize),
        description: format!(
            "SquashFS file system, {} endian, version: 4.0, compression: {comp}, inode count: {}, block size: {}, image size: {} bytes, created: {}{}",
            if sb.big_endian { "big" } else { "little" },
            sb.inodes,
            sb.block_size,
            sb.bytes_used,
            timestamp(sb.mtime),
            if truncated { format!(" (TRUNCATED: only {available} bytes present)") } else { String::new() }
        ),
        confidence: if truncated { Confidence::Low } else { Confidence::Medium },
        hints: vec![],
    })
}

fn extract(ctx: &mut Ctx<'_>, d: &[u8], chunk: &Chunk) -> Result<Extracted, ExtractError> {
    let sb = parse(d, chunk.offset)
        .ok_or_else(|| ExtractError::Bad("superblock no longer parses".into()))?;
    let end = chunk.offset as u64 + sb.bytes_used;
    if end > d.len() as u64 {
        return Err(ExtractError::Bad(format!(
            "truncated: the superblock says {} bytes, only {} are present",
            sb.bytes_used,
            d.len() - chunk.offset
        )));
    }
    let target = match (sb.big_endian, sb.compressor) {
        (false, 2) => "le_v4_0_lzma",
        (true, 2) => "be_v4_0_lzma",
        (false, _) => "le_v4_0",
        (true, _) => "be_v4_0",
    };
    let kind = BhKind::from_target(target).map_err(ExtractError::Bad)?;
    let bytes = &d[chunk.offset..end as usize];
    let fs = FilesystemReader::from_reader_with_offset_and_kind(Cursor::new(bytes), 0, kind)
        .map_err(|e| ExtractError::Bad(format!("squashfs tables: {e}")))?;
    ctx.dir(
        "",
        Meta {
            mode: 0o755,
            ..Meta::default()
        },
    )?;
    let mut files = 0u64;
    for node in fs.files() {
        let full = node.fullpath.to_string_lossy();
        let rel = match sanitize(&full, true) {
            Ok(r) => r,
            Err(e) => {
                ctx.problems.push(format!("entry refused: {e}"));
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
                files += 1;
                let mut reader = fs.file(f).reader();
                copy_file(ctx, &rel, meta, &mut reader)?;
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
    Ok(Extracted {
        consumed: sb.bytes_used as usize,
        blob: None,
        note: format!("{files} files"),
    })
}
