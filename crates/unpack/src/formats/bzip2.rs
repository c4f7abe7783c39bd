//! bzip2: `BZh` + block size digit + the block magic `31 41 59 26 53 59`. Decoded with the
//! bzip2 crate (pure-Rust backend).

use bzip2::bufread::BzDecoder;
use iotassure_core::layout::Confidence;
use iotassure_core::tree::BlobKind;

use super::{stream_to_blob, Chunk, Ctx, ExtractError, Extracted, Format, Kind, Magic};

pub static FORMAT: Format = Format {
    id: "bzip2",
    kind: Kind::Compressed,
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
    Some(Chunk {
        format: FORMAT.id,
        label: "bzip2".into(),
        offset: s,
        size: None,
        description: format!("bzip2 compressed data, block size: {}00k", h[3] as char),
        confidence: Confidence::High,
        hints: vec![],
    })
}

fn extract(ctx: &mut Ctx<'_>, d: &[u8], chunk: &Chunk) -> Result<Extracted, ExtractError> {
    let input = &d[chunk.offset..];
    let mut dec = BzDecoder::new(input);
    let (path, n) = stream_to_blob(ctx, "decompressed.bin", &mut dec)?;
    let consumed = dec.total_in() as usize;
    Ok(Extracted {
        consumed,
        blob: Some((path, BlobKind::Raw)),
        note: format!("{n} bytes decompressed"),
    })
}
