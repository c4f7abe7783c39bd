//! JPEG images carved out of blobs: SOI, marker segments with their lengths, the entropy-coded
//! scan (0xFF00 stuffing and restart markers skipped), up to EOI.

use iotassure_core::layout::Confidence;

use super::bytes::u16_be;
use super::{carve, Anchor, Chunk, Ctx, ExtractError, Extracted, Format, Kind, Magic};

pub static FORMAT: Format = Format {
    id: "jpeg",
    kind: Kind::Carve,
    anchor: Anchor::Anywhere,
    magics: &[Magic {
        bytes: b"\xff\xd8\xff",
        at: 0,
    }],
    identify,
    extract: Some(extract),
};

const MAX_SEGMENTS: usize = 10_000;

fn identify(d: &[u8], s: usize) -> Option<Chunk> {
    let mut p = s + 2;
    let mut frame = false;
    for _ in 0..MAX_SEGMENTS {
        if *d.get(p)? != 0xff {
            return None;
        }
        let m = *d.get(p + 1)?;
        match m {
            0xd9 => {
                if !frame {
                    return None;
                }
                let end = p + 2;
                return Some(
                    Chunk::new(FORMAT.id, "jpeg", s)
                        .size(end - s)
                        .describe(format!("JPEG image, {} bytes", end - s))
                        .confidence(Confidence::High),
                );
            }
            0xff => p += 1, // fill byte
            0xd0..=0xd7 | 0x01 => p += 2,
            0xc0..=0xcf | 0xdb | 0xdd | 0xe0..=0xef | 0xfe | 0xda => {
                let len = u16_be(d, p + 2)? as usize;
                if len < 2 {
                    return None;
                }
                if matches!(m, 0xc0..=0xc3 | 0xc5..=0xc7 | 0xc9..=0xcb | 0xcd..=0xcf) {
                    frame = true;
                }
                p += 2 + len;
                if m == 0xda {
                    // Entropy-coded data: to the next marker that is not stuffing or a restart.
                    loop {
                        let i = memchr::memchr(0xff, d.get(p..)?)?;
                        p += i;
                        match *d.get(p + 1)? {
                            0x00 | 0xd0..=0xd7 | 0xff => p += 1,
                            _ => break,
                        }
                    }
                }
            }
            _ => return None,
        }
    }
    None
}

fn extract(ctx: &Ctx<'_>, d: &[u8], chunk: &Chunk) -> Result<Extracted, ExtractError> {
    carve(ctx, d, chunk, "image.jpg")
}
