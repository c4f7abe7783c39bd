//! LZMA "alone" (`.lzma`, the usual kernel compression): 13-byte header of properties (lc/lp/pb),
//! dictionary size and uncompressed size (or -1 with an end marker). There is no magic, so a
//! candidate must pass three cheap checks before anything is decoded: a properties byte from the
//! list vendors use, a dictionary size of the form 2^n or 2^n + 2^(n-1), and the zero byte that
//! starts every range-coder stream. Then its first 16 KiB must decode.
//!
//! Properties with lc + lp > 4 (0x6F: lc=3 lp=2 pb=2, the main kernel of the D-Link DIR-612)
//! are legal LZMA but liblzma refuses them, as do binwalk and unblob; they are decoded with
//! lzma-rust2 instead. See `codec::lzma_stream`.

use std::io::Read;

use iotassure_core::layout::Confidence;
use iotassure_core::tree::BlobKind;

use super::bytes::{u32_le, u64_le};
use super::{stream_to_blob, Anchor, Chunk, Ctx, ExtractError, Extracted, Format, Kind, Magic};
use crate::codec::{lzma_props, lzma_stream};

/// Property bytes seen in firmware, each followed by the low byte of a ≥ 64 KiB dictionary.
macro_rules! props {
    ($($p:literal),*) => { &[$(Magic { bytes: &[$p, 0x00, 0x00], at: 0 }),*] };
}

pub static FORMAT: Format = Format {
    id: "lzma",
    kind: Kind::Compressed,
    anchor: Anchor::Weak,
    magics: props!(0x5d, 0x6d, 0x6c, 0x6e, 0x6f, 0x5e, 0x5c, 0x65, 0x66, 0x2c),
    identify,
    extract: Some(extract),
};

const MAX_PLAUSIBLE_SIZE: u64 = 1 << 31;
const PROBE_IN: usize = 64 * 1024;
const PROBE_OUT: usize = 16 * 1024;

struct Header {
    props: u8,
    dict: u32,
    size: Option<u64>,
}

fn header(d: &[u8], s: usize) -> Option<Header> {
    let props = *d.get(s)?;
    lzma_props(props)?;
    let dict = u32_le(d, s + 1)?;
    let plausible_dict = dict >= 4096
        && (dict.is_power_of_two()
            || (dict - (1 << (31 - dict.leading_zeros()))).is_power_of_two());
    if !plausible_dict || dict > 1 << 30 {
        return None;
    }
    let raw = u64_le(d, s + 5)?;
    let size = if raw == u64::MAX { None } else { Some(raw) };
    if size.is_some_and(|n| n == 0 || n > MAX_PLAUSIBLE_SIZE) {
        return None;
    }
    if *d.get(s + 13)? != 0 {
        return None; // the range coder's first byte
    }
    Some(Header { props, dict, size })
}

fn identify(d: &[u8], s: usize) -> Option<Chunk> {
    let h = header(d, s)?;
    let end = (s + 13 + PROBE_IN).min(d.len());
    let mut dec = lzma_stream(&d[s + 13..end], h.props, h.dict, h.size, 256 << 20).ok()?;
    let mut buf = vec![0u8; PROBE_OUT];
    let mut got = 0;
    while got < buf.len() {
        match dec.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            // The probe cut the input short: what decoded before that counts.
            Err(_) if got >= 4096 || h.size.is_some_and(|n| got as u64 >= n) => break,
            Err(_) => return None,
        }
    }
    if got < 256 && h.size.is_none_or(|n| (got as u64) < n) {
        return None;
    }
    let (lc, lp, pb) = lzma_props(h.props)?;
    Some(
        Chunk::new(FORMAT.id, "lzma", s)
            .describe(format!(
                "LZMA compressed data, properties: 0x{:02X} (lc={lc} lp={lp} pb={pb}{}), dictionary size: {} bytes, uncompressed size: {}",
                h.props,
                if lc + lp > 4 { ", lc+lp > 4: non-standard, decoded without liblzma" } else { "" },
                h.dict,
                h.size.map(|n| format!("{n} bytes")).unwrap_or_else(|| "unknown (end marker)".into())
            ))
            .confidence(Confidence::Medium)
            .fact("properties", h.props)
            .fact("dictionary_size", h.dict),
    )
}

fn extract(ctx: &Ctx<'_>, d: &[u8], chunk: &Chunk) -> Result<Extracted, ExtractError> {
    let s = chunk.offset;
    let h = header(d, s).ok_or_else(|| ExtractError::Bad("header no longer parses".into()))?;
    let mut dec = lzma_stream(
        &d[s + 13..],
        h.props,
        h.dict,
        h.size,
        ctx.sink.limits.max_decoder_memory,
    )
    .map_err(ExtractError::Bad)?;
    let result = stream_to_blob(ctx, "decompressed.bin", &mut dec);
    let consumed = 13 + dec.input_used() as usize;
    match result {
        Ok((path, n)) => {
            if let Some(expected) = h.size {
                if n != expected {
                    ctx.problem(format!("decompressed {n} bytes, header says {expected}"));
                }
            }
            Ok(Extracted::blob(
                consumed,
                path,
                BlobKind::Raw,
                format!("{n} bytes decompressed"),
            ))
        }
        Err(ExtractError::Bad(m)) => {
            // Vendor kernels often end without an end marker and with trailing data: keep what
            // decoded, and say so.
            let path = ctx.blob_path("decompressed.bin");
            let written = std::fs::metadata(ctx.sink.root().join(&path))
                .map(|m| m.len())
                .unwrap_or(0);
            if written == 0 {
                return Err(ExtractError::Bad(m));
            }
            ctx.problem(format!(
                "stream ended with an error after {written} bytes: {m}"
            ));
            Ok(Extracted::blob(
                consumed,
                path,
                BlobKind::Raw,
                format!("{written} bytes decompressed (stream damaged)"),
            ))
        }
        Err(e) => Err(e),
    }
}
