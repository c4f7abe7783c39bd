//! LZ4: the frame format (`04 22 4D 18`, what `lz4` writes) and the legacy format (`02 21 4C 18`,
//! what Linux kernels and initramfs use: 8 MiB blocks, each prefixed by its compressed size).
//! Decoded with lz4_flex (safe decoder).

use std::io::{Read, Write};

use iotassure_core::layout::Confidence;
use iotassure_core::tree::BlobKind;

use super::bytes::u32_le;
use super::{
    is_limit_message, stream_to_blob, Anchor, Chunk, Ctx, ExtractError, Extracted, Format, Kind,
    Magic,
};
use crate::codec::SliceCounter;

pub static FORMAT: Format = Format {
    id: "lz4",
    kind: Kind::Compressed,
    anchor: Anchor::Anywhere,
    magics: &[
        Magic {
            bytes: b"\x04\x22\x4d\x18",
            at: 0,
        },
        Magic {
            bytes: b"\x02\x21\x4c\x18",
            at: 0,
        },
    ],
    identify,
    extract: Some(extract),
};

const LEGACY_MAGIC: u32 = 0x184C_2102;
const LEGACY_BLOCK: usize = 8 << 20;

fn identify(d: &[u8], s: usize) -> Option<Chunk> {
    let legacy = u32_le(d, s)? == LEGACY_MAGIC;
    if legacy {
        let first = u32_le(d, s + 4)? as usize;
        if first == 0 || first > lz4_flex::block::get_maximum_output_size(LEGACY_BLOCK) {
            return None;
        }
        let block = d.get(s + 8..s + 8 + first)?;
        let mut out = vec![0u8; LEGACY_BLOCK];
        lz4_flex::block::decompress_into(block, &mut out).ok()?;
    } else {
        // FLG: version 01, reserved bit 1 clear; BD: reserved bits clear, block size 4..7.
        let flg = *d.get(s + 4)?;
        let bd = *d.get(s + 5)?;
        if flg >> 6 != 1 || flg & 0x02 != 0 || bd & 0x8f != 0 || bd >> 4 < 4 {
            return None;
        }
        let mut dec = lz4_flex::frame::FrameDecoder::new(&d[s..]);
        let mut buf = [0u8; 1024];
        // A frame cut short still is a frame (extraction reports where it ends).
        if let Err(e) = dec.read(&mut buf) {
            if e.kind() != std::io::ErrorKind::UnexpectedEof {
                return None;
            }
        }
    }
    Some(
        Chunk::new(FORMAT.id, "lz4", s)
            .describe(if legacy {
                "LZ4 compressed data, legacy format (Linux kernel / initramfs)"
            } else {
                "LZ4 compressed data, frame format"
            })
            .confidence(Confidence::High),
    )
}

fn extract(ctx: &Ctx<'_>, d: &[u8], chunk: &Chunk) -> Result<Extracted, ExtractError> {
    let input = &d[chunk.offset..];
    if u32_le(input, 0) == Some(LEGACY_MAGIC) {
        return extract_legacy(ctx, input);
    }
    let mut counter = SliceCounter::new(input);
    let mut dec = lz4_flex::frame::FrameDecoder::new(&mut counter);
    let (path, n) = stream_to_blob(ctx, "decompressed.bin", &mut dec)?;
    drop(dec);
    Ok(Extracted::blob(
        counter.pos,
        path,
        BlobKind::Raw,
        format!("{n} bytes decompressed"),
    ))
}

fn extract_legacy(ctx: &Ctx<'_>, input: &[u8]) -> Result<Extracted, ExtractError> {
    let mut out = ctx.blob("decompressed.bin")?;
    let mut pos = 4;
    let mut buf = vec![0u8; LEGACY_BLOCK];
    let mut total = 0u64;
    while let Some(len) = u32_le(input, pos) {
        let len = len as usize;
        if len == LEGACY_MAGIC as usize {
            pos += 4;
            continue;
        }
        let Some(block) = input.get(pos + 4..pos + 4 + len).filter(|_| len > 0) else {
            break;
        };
        let Ok(n) = lz4_flex::block::decompress_into(block, &mut buf) else {
            break; // the data after the last block
        };
        out.write_all(&buf[..n]).map_err(|e| {
            let m = e.to_string();
            if is_limit_message(&m) {
                ExtractError::Limit(m)
            } else {
                ExtractError::Bad(m)
            }
        })?;
        total += n as u64;
        pos += 4 + len;
    }
    out.finish();
    if total == 0 {
        return Err(ExtractError::Bad("no LZ4 block decoded".into()));
    }
    Ok(Extracted::blob(
        pos,
        ctx.blob_path("decompressed.bin"),
        BlobKind::Raw,
        format!("{total} bytes decompressed"),
    ))
}
