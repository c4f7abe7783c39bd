//! xz (`FD 37 7A 58 5A 00`): stream header with CRC32-checked flags. Decoded with liblzma under a
//! memory limit; the stream's end is liblzma's `total_in`.

use iotassure_core::layout::Confidence;
use iotassure_core::tree::BlobKind;
use liblzma::bufread::XzDecoder;
use liblzma::stream::Stream;

use super::{stream_to_blob, Anchor, Chunk, Ctx, ExtractError, Extracted, Format, Kind, Magic};
use crate::codec::crc32;

pub static FORMAT: Format = Format {
    id: "xz",
    kind: Kind::Compressed,
    anchor: Anchor::Anywhere,
    magics: &[Magic {
        bytes: b"\xfd7zXZ\x00",
        at: 0,
    }],
    identify,
    extract: Some(extract),
};

fn identify(d: &[u8], s: usize) -> Option<Chunk> {
    let h = d.get(s..s + 12)?;
    // Stream flags: first byte 0, second the check type (0, 1, 4 or 10).
    if h[6] != 0 || !matches!(h[7], 0 | 1 | 4 | 10) {
        return None;
    }
    let crc = u32::from_le_bytes(h[8..12].try_into().ok()?);
    if crc32(&h[6..8]) != crc {
        return None;
    }
    Some(
        Chunk::new(FORMAT.id, "xz", s)
            .describe(format!(
                "XZ compressed data, check type: {}",
                match h[7] {
                    0 => "none",
                    1 => "CRC32",
                    4 => "CRC64",
                    _ => "SHA-256",
                }
            ))
            .confidence(Confidence::High),
    )
}

fn extract(ctx: &Ctx<'_>, d: &[u8], chunk: &Chunk) -> Result<Extracted, ExtractError> {
    let input = &d[chunk.offset..];
    let stream = Stream::new_stream_decoder(ctx.sink.limits.max_decoder_memory, 0)
        .map_err(|e| ExtractError::Bad(format!("xz decoder: {e}")))?;
    let mut dec = XzDecoder::new_stream(input, stream);
    let (path, n) = stream_to_blob(ctx, "decompressed.bin", &mut dec)?;
    let consumed = dec.total_in() as usize;
    Ok(Extracted::blob(
        consumed,
        path,
        BlobKind::Raw,
        format!("{n} bytes decompressed"),
    ))
}
