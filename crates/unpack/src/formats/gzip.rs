//! gzip (RFC 1952): `1f 8b 08`, flags, mtime, extra fields, optional original name. Decoded with
//! flate2; the member's end is where the decoder stops reading.

use std::io::Read;

use flate2::bufread::GzDecoder;
use iotassure_core::layout::Confidence;
use iotassure_core::tree::BlobKind;

use super::{stream_to_blob, Anchor, Chunk, Ctx, ExtractError, Extracted, Format, Kind, Magic};
use crate::sink::sanitize;

pub static FORMAT: Format = Format {
    id: "gzip",
    kind: Kind::Compressed,
    anchor: Anchor::Anywhere,
    magics: &[Magic {
        bytes: b"\x1f\x8b\x08",
        at: 0,
    }],
    identify,
    extract: Some(extract),
};

fn original_name(h: &[u8]) -> Option<String> {
    let flags = h[3];
    let mut p = 10;
    if flags & 0x04 != 0 {
        let xlen = u16::from_le_bytes([*h.get(10)?, *h.get(11)?]) as usize;
        p += 2 + xlen;
    }
    if flags & 0x08 == 0 {
        return None;
    }
    let rest = h.get(p..)?;
    let end = rest.iter().take(256).position(|&b| b == 0)?;
    Some(String::from_utf8_lossy(&rest[..end]).to_string())
}

fn identify(d: &[u8], s: usize) -> Option<Chunk> {
    let h = d.get(s..s + 10)?;
    let flags = h[3];
    if flags & 0xe0 != 0 || !matches!(h[9], 0..=13 | 255) {
        return None;
    }
    // Confirm the deflate stream starts: decode a little.
    let mut probe = GzDecoder::new(&d[s..]);
    let mut buf = [0u8; 512];
    if probe.read(&mut buf).ok()? == 0 {
        return None;
    }
    let name = original_name(&d[s..]);
    Some(
        Chunk::new(FORMAT.id, "gzip", s)
            .describe(format!(
                "gzip compressed data{}, operating system: {}",
                name.as_deref()
                    .map(|n| format!(", original file name: \"{n}\""))
                    .unwrap_or_default(),
                h[9]
            ))
            .confidence(Confidence::High),
    )
}

fn extract(ctx: &Ctx<'_>, d: &[u8], chunk: &Chunk) -> Result<Extracted, ExtractError> {
    let input = &d[chunk.offset..];
    let name = original_name(input)
        .and_then(|n| sanitize(&n, false).ok())
        .filter(|n| !n.is_empty() && !n.contains('/'))
        .unwrap_or_else(|| "decompressed.bin".into());
    let mut dec = GzDecoder::new(input);
    let (path, n) = stream_to_blob(ctx, &name, &mut dec)?;
    let consumed = input.len() - dec.into_inner().len();
    Ok(Extracted::blob(
        consumed,
        path,
        BlobKind::Raw,
        format!("{n} bytes decompressed"),
    ))
}
