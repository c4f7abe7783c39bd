//! bzip2: `BZh` + block size digit + the block magic `31 41 59 26 53 59` (or the end-of-stream
//! magic for an empty stream). Decoded with the bzip2 crate.

use bzip2::bufread::BzDecoder;
use iotassure_core::layout::Confidence;
use iotassure_core::tree::BlobKind;

use super::{stream_to_blob, Anchor, Chunk, Ctx, ExtractError, Extracted, Format, Kind, Magic};

pub static FORMAT: Format = Format {
    id: "bzip2",
    kind: Kind::Compressed,
    anchor: Anchor::Anywhere,
    magics: &[Magic {
        bytes: b"BZh",
        at: 0,
    }],
    identify,
    extract: Some(extract),
};

fn identify(d: &[u8], s: usize) -> Option<Chunk> {
    let h = d.get(s..s + 10)?;
    if !(b'1'..=b'9').contains(&h[3])
        || (&h[4..10] != b"\x31\x41\x59\x26\x53\x59" && &h[4..10] != b"\x17\x72\x45\x38\x50\x90")
    {
        return None;
    }
    Some(
        Chunk::new(FORMAT.id, "bzip2", s)
            .describe(format!(
                "bzip2 compressed data, block size: {}00k",
                h[3] as char
            ))
            .confidence(Confidence::High),
    )
}

fn extract(ctx: &Ctx<'_>, d: &[u8], chunk: &Chunk) -> Result<Extracted, ExtractError> {
    let input = &d[chunk.offset..];
    let mut dec = BzDecoder::new(input);
    let (path, n) = stream_to_blob(ctx, "decompressed.bin", &mut dec)?;
    let consumed = dec.total_in() as usize;
    Ok(Extracted::blob(
        consumed,
        path,
        BlobKind::Raw,
        format!("{n} bytes decompressed"),
    ))
}
