//! LZMA "alone" (`.lzma`, the usual kernel compression): 13-byte header of properties (lc/lp/pb),
//! dictionary size and uncompressed size (or -1 with an end marker). There is no magic, so a
//! candidate is accepted only when its header is plausible and its first bytes decode.
//! Decoded with liblzma under a memory limit.

use std::io::Read;

use iotassure_core::layout::Confidence;
use iotassure_core::tree::BlobKind;
use liblzma::bufread::XzDecoder;
use liblzma::stream::Stream;

use super::bytes::{u32_le, u64_le};
use super::{stream_to_blob, Chunk, Ctx, ExtractError, Extracted, Format, Kind, Magic};

pub static FORMAT: Format = Format {
    id: "lzma",
    kind: Kind::Compressed,
    // Common property bytes followed by the two low bytes of a power-of-two dictionary size.
    magics: &[
        Magic {
            bytes: b"\x5d\x00\x00",
            at: 0,
        },
        Magic {
            bytes: b"\x6d\x00\x00",
            at: 0,
        },
        Magic {
            bytes: b"\x6c\x00\x00",
            at: 0,
        },
        Magic {
            bytes: b"\x5e\x00\x00",
            at: 0,
        },
        Magic {
            bytes: b"\x5c\x00\x00",
            at: 0,
        },
    ],
    identify,
    extract: Some(extract),
};

const MAX_PLAUSIBLE_SIZE: u64 = 1 << 30;

struct Header {
    props: u8,
    dict: u32,
    size: Option<u64>,
}

fn header(d: &[u8], s: usize) -> Option<Header> {
    let props = *d.get(s)?;
    if props >= 9 * 5 * 5 {
        return None;
    }
    let dict = u32_le(d, s + 1)?;
    // Dictionary sizes are 2^n or 2^n + 2^(n-1), from 4 KiB up.
    let plausible_dict = dict >= 4096
        && (dict.is_power_of_two()
            || (dict - (1 << (31 - dict.leading_zeros()))).is_power_of_two());
    if !plausible_dict || dict > 1 << 28 {
        return None;
    }
    let raw = u64_le(d, s + 5)?;
    let size = if raw == u64::MAX { None } else { Some(raw) };
    if size.is_some_and(|n| n == 0 || n > MAX_PLAUSIBLE_SIZE) {
        return None;
    }
    Some(Header { props, dict, size })
}

fn decoder(input: &[u8], memlimit: u64) -> Option<XzDecoder<&[u8]>> {
    let stream = Stream::new_lzma_decoder(memlimit).ok()?;
    Some(XzDecoder::new_stream(input, stream))
}

fn identify(d: &[u8], s: usize) -> Option<Chunk> {
    let h = header(d, s)?;
    // Decode a little: random bytes that pass the header test fail here.
    let end = (s + 64 * 1024).min(d.len());
    let mut dec = decoder(&d[s..end], 64 << 20)?;
    let mut buf = vec![0u8; 16 * 1024];
    let mut got = 0;
    while got < buf.len() {
        match dec.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(_) if got >= 4096 || h.size.is_some_and(|n| got as u64 >= n) => break,
            Err(_) => return None,
        }
    }
    if got < 256 && h.size.is_none_or(|n| (got as u64) < n) {
        return None;
    }
    let (lc, lp, pb) = (h.props % 9, (h.props / 9) % 5, h.props / 45);
    Some(Chunk {
        format: FORMAT.id,
        label: "lzma".into(),
        offset: s,
        size: None,
        description: format!(
            "LZMA compressed data, properties: 0x{:02X} (lc={lc} lp={lp} pb={pb}), dictionary size: {} bytes, uncompressed size: {}",
            h.props,
            h.dict,
            h.size.map(|n| format!("{n} bytes")).unwrap_or_else(|| "unknown (end marker)".into())
        ),
        confidence: Confidence::Medium,
        hints: vec![],
    })
}

fn extract(ctx: &mut Ctx<'_>, d: &[u8], chunk: &Chunk) -> Result<Extracted, ExtractError> {
    let input = &d[chunk.offset..];
    let h = header(d, chunk.offset)
        .ok_or_else(|| ExtractError::Bad("header no longer parses".into()))?;
    let mut dec = decoder(input, ctx.sink.limits.max_decoder_memory)
        .ok_or_else(|| ExtractError::Bad("liblzma refused the properties".into()))?;
    let result = stream_to_blob(ctx, "decompressed.bin", &mut dec);
    let consumed = dec.total_in() as usize;
    match result {
        Ok((path, n)) => {
            if let Some(expected) = h.size {
                if n != expected {
                    ctx.problems
                        .push(format!("decompressed {n} bytes, header says {expected}"));
                }
            }
            Ok(Extracted {
                consumed,
                blob: Some((path, BlobKind::Raw)),
                note: format!("{n} bytes decompressed"),
            })
        }
        Err(ExtractError::Bad(m)) if dec.total_out() > 0 => {
            // Vendor kernels often end without an end marker and with trailing data; keep what
            // decoded, and say so.
            ctx.problems.push(format!(
                "stream ended with an error after {} bytes: {m}",
                dec.total_out()
            ));
            let path = ctx.blob_path("decompressed.bin");
            Ok(Extracted {
                consumed,
                blob: Some((path, BlobKind::Raw)),
                note: format!("{} bytes decompressed (stream damaged)", dec.total_out()),
            })
        }
        Err(e) => Err(e),
    }
}
