//! PNG images carved out of blobs (web UI assets inside a firmware blob): the signature, then
//! chunks (length, type, data, CRC) up to `IEND`. IHDR and IEND CRCs are checked.

use iotassure_core::layout::Confidence;

use super::bytes::u32_be;
use super::{carve, Anchor, Chunk, Ctx, ExtractError, Extracted, Format, Kind, Magic};
use crate::codec::crc32;

pub static FORMAT: Format = Format {
    id: "png",
    kind: Kind::Carve,
    anchor: Anchor::Anywhere,
    magics: &[Magic {
        bytes: b"\x89PNG\r\n\x1a\n",
        at: 0,
    }],
    identify,
    extract: Some(extract),
};

const MAX_CHUNKS: usize = 100_000;

fn identify(d: &[u8], s: usize) -> Option<Chunk> {
    let mut p = s + 8;
    let (w, h) = (u32_be(d, p + 8)?, u32_be(d, p + 12)?);
    for i in 0..MAX_CHUNKS {
        let len = u32_be(d, p)? as usize;
        let kind = d.get(p + 4..p + 8)?;
        let end = p.checked_add(12 + len)?;
        if end > d.len() || !kind.iter().all(u8::is_ascii_alphabetic) {
            return None;
        }
        let crc_ok = || crc32(&d[p + 4..p + 8 + len]) == u32_be(d, p + 8 + len).unwrap_or(0);
        if i == 0 && (kind != b"IHDR" || len != 13 || !crc_ok()) {
            return None;
        }
        p = end;
        if kind == b"IEND" {
            if !crc_ok_at(d, p - 12) {
                return None;
            }
            return Some(
                Chunk::new(FORMAT.id, "png", s)
                    .size(p - s)
                    .describe(format!("PNG image, {w} x {h}, {} bytes", p - s))
                    .confidence(Confidence::High),
            );
        }
    }
    None
}

fn crc_ok_at(d: &[u8], p: usize) -> bool {
    crc32(&d[p + 4..p + 8]) == u32_be(d, p + 8).unwrap_or(0)
}

fn extract(ctx: &Ctx<'_>, d: &[u8], chunk: &Chunk) -> Result<Extracted, ExtractError> {
    carve(ctx, d, chunk, "image.png")
}
