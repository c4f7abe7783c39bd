//! GIF images carved out of blobs: header, logical screen descriptor and global colour table,
//! then image descriptors and extensions made of length-prefixed sub-blocks, up to the 0x3B
//! trailer.

use iotassure_core::layout::Confidence;

use super::bytes::u16_le;
use super::{carve, Anchor, Chunk, Ctx, ExtractError, Extracted, Format, Kind, Magic};

pub static FORMAT: Format = Format {
    id: "gif",
    kind: Kind::Carve,
    anchor: Anchor::Anywhere,
    magics: &[
        Magic {
            bytes: b"GIF87a",
            at: 0,
        },
        Magic {
            bytes: b"GIF89a",
            at: 0,
        },
    ],
    identify,
    extract: Some(extract),
};

const MAX_BLOCKS: usize = 1 << 20;

/// Skips a run of sub-blocks; returns the offset after the terminating empty block.
fn sub_blocks(d: &[u8], mut p: usize) -> Option<usize> {
    for _ in 0..MAX_BLOCKS {
        let n = *d.get(p)? as usize;
        p += 1 + n;
        if n == 0 {
            return Some(p);
        }
    }
    None
}

fn identify(d: &[u8], s: usize) -> Option<Chunk> {
    let w = u16_le(d, s + 6)?;
    let h = u16_le(d, s + 8)?;
    let flags = *d.get(s + 10)?;
    if w == 0 || h == 0 {
        return None;
    }
    let mut p = s + 13;
    if flags & 0x80 != 0 {
        p += 3 << ((flags & 7) + 1);
    }
    let mut images = 0;
    for _ in 0..MAX_BLOCKS {
        match *d.get(p)? {
            0x2c => {
                let f = *d.get(p + 9)?;
                p += 10;
                if f & 0x80 != 0 {
                    p += 3 << ((f & 7) + 1);
                }
                if *d.get(p)? > 12 {
                    return None; // LZW minimum code size
                }
                p = sub_blocks(d, p + 1)?;
                images += 1;
            }
            0x21 => p = sub_blocks(d, p + 2)?,
            0x3b if images > 0 => {
                return Some(
                    Chunk::new(FORMAT.id, "gif", s)
                        .size(p + 1 - s)
                        .describe(format!("GIF image, {w} x {h}, {} bytes", p + 1 - s))
                        .confidence(Confidence::High),
                )
            }
            _ => return None,
        }
    }
    None
}

fn extract(ctx: &Ctx<'_>, d: &[u8], chunk: &Chunk) -> Result<Extracted, ExtractError> {
    carve(ctx, d, chunk, "image.gif")
}
