//! zlib (RFC 1950): a two-byte header (CM 8, window ≤ 32 KiB, FCHECK making it a multiple of 31)
//! and a deflate stream with an Adler-32 trailer. Two bytes prove little, so a candidate counts
//! only when it decodes to a complete stream (checksum verified) or to 64 KiB without error.

use std::io::Read;

use flate2::bufread::ZlibDecoder;
use iotassure_core::layout::Confidence;
use iotassure_core::tree::BlobKind;

use super::{stream_to_blob, Anchor, Chunk, Ctx, ExtractError, Extracted, Format, Kind, Magic};

pub static FORMAT: Format = Format {
    id: "zlib",
    kind: Kind::Compressed,
    anchor: Anchor::Weak,
    magics: &[
        Magic {
            bytes: b"\x78\x01",
            at: 0,
        },
        Magic {
            bytes: b"\x78\x5e",
            at: 0,
        },
        Magic {
            bytes: b"\x78\x9c",
            at: 0,
        },
        Magic {
            bytes: b"\x78\xda",
            at: 0,
        },
    ],
    identify,
    extract: Some(extract),
};

const PROBE: usize = 64 * 1024;
/// Smaller complete streams are too likely to be chance.
const MIN_OUTPUT: usize = 64;

fn identify(d: &[u8], s: usize) -> Option<Chunk> {
    let h = d.get(s..s + 2)?;
    if (h[0] as u16 * 256 + h[1] as u16) % 31 != 0 || h[1] & 0x20 != 0 {
        return None;
    }
    let mut dec = ZlibDecoder::new(&d[s..]);
    let mut buf = vec![0u8; PROBE];
    let mut got = 0;
    loop {
        match dec.read(&mut buf[got..]) {
            Ok(0) => break, // stream end, Adler-32 verified
            Ok(n) => {
                got += n;
                if got == PROBE {
                    break;
                }
            }
            Err(_) => return None,
        }
    }
    if got < MIN_OUTPUT {
        return None;
    }
    Some(
        Chunk::new(FORMAT.id, "zlib", s)
            .describe(format!(
                "zlib compressed data, {} compression",
                match h[1] >> 6 {
                    0 => "fastest",
                    1 => "fast",
                    2 => "default",
                    _ => "maximum",
                }
            ))
            .confidence(Confidence::Medium),
    )
}

fn extract(ctx: &Ctx<'_>, d: &[u8], chunk: &Chunk) -> Result<Extracted, ExtractError> {
    let mut dec = ZlibDecoder::new(&d[chunk.offset..]);
    let (path, n) = stream_to_blob(ctx, "decompressed.bin", &mut dec)?;
    let consumed = dec.total_in() as usize;
    Ok(Extracted::blob(
        consumed,
        path,
        BlobKind::Raw,
        format!("{n} bytes decompressed"),
    ))
}
