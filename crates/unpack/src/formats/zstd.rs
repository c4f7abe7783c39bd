//! Zstandard frames (`28 B5 2F FD`): the frame header descriptor is checked (reserved bit clear,
//! window descriptor sane), then the frame decoded with libzstd under the memory limit.

use std::io::Read;

use iotassure_core::layout::Confidence;
use iotassure_core::tree::BlobKind;

use super::{stream_to_blob, Anchor, Chunk, Ctx, ExtractError, Extracted, Format, Kind, Magic};

pub static FORMAT: Format = Format {
    id: "zstd",
    kind: Kind::Compressed,
    anchor: Anchor::Anywhere,
    magics: &[Magic {
        bytes: b"\x28\xb5\x2f\xfd",
        at: 0,
    }],
    identify,
    extract: Some(extract),
};

/// The largest window accepted: 2^27 bytes (zstd's default limit for decoders).
const WINDOW_LOG_MAX: u32 = 27;

fn decoder(input: &[u8]) -> std::io::Result<zstd::stream::read::Decoder<'_, &[u8]>> {
    let mut dec = zstd::stream::read::Decoder::with_buffer(input)?.single_frame();
    dec.window_log_max(WINDOW_LOG_MAX)?;
    Ok(dec)
}

fn identify(d: &[u8], s: usize) -> Option<Chunk> {
    let fhd = *d.get(s + 4)?;
    if fhd & 0x08 != 0 {
        return None;
    }
    let mut dec = decoder(&d[s..]).ok()?;
    let mut buf = [0u8; 1024];
    let _ = dec.read(&mut buf).ok()?; // any output at all: a frame that starts decoding
    Some(
        Chunk::new(FORMAT.id, "zstd", s)
            .describe("Zstandard compressed data")
            .confidence(Confidence::High),
    )
}

fn extract(ctx: &Ctx<'_>, d: &[u8], chunk: &Chunk) -> Result<Extracted, ExtractError> {
    let input = &d[chunk.offset..];
    let mut dec = decoder(input).map_err(|e| ExtractError::Bad(format!("zstd: {e}")))?;
    let (path, n) = stream_to_blob(ctx, "decompressed.bin", &mut dec)?;
    let rest = dec.finish();
    Ok(Extracted::blob(
        input.len() - rest.len(),
        path,
        BlobKind::Raw,
        format!("{n} bytes decompressed"),
    ))
}
