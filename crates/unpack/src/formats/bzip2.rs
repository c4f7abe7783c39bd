//! bzip2: `BZh` + block size digit + the block magic `31 41 59 26 53 59` (or the end-of-stream
//! magic for an empty stream). Decoded with the bzip2 crate.
//!
//! bzip2 blocks are independent, so a stream of several blocks is decoded in parallel, the way
//! lbzip2 does it: the 48-bit block magics are found at any bit offset, each block is re-wrapped
//! as a one-block stream (header, the block's bits, end-of-stream magic, the block's CRC as the
//! stream CRC) and decoded on its own thread. Every block's CRC is checked by the decoder; if
//! anything does not add up, the stream is decoded the ordinary way.

use std::io::Write;

use bzip2::bufread::BzDecoder;
use iotassure_core::layout::Confidence;
use iotassure_core::tree::BlobKind;
use rayon::prelude::*;

use super::{
    is_limit_message, stream_to_blob, Anchor, Chunk, Ctx, ExtractError, Extracted, Format, Kind,
    Magic,
};
use crate::codec::read_capped;

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

const BLOCK_MAGIC: u64 = 0x3141_5926_5359;
const EOS_MAGIC: u64 = 0x1772_4538_5090;
/// A block decoded in parallel may produce this much (run-length coding can expand a 900 kB
/// block ~45×); beyond it the ordinary, streamed decoder takes over.
const MAX_BLOCK_OUT: usize = 16 << 20;
/// Blocks in flight at once (bounds the memory held).
const WINDOW: usize = 4;

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

/// 48 bits at bit position `bit`.
fn bits48(d: &[u8], bit: u64) -> Option<u64> {
    let byte = (bit / 8) as usize;
    let shift = bit % 8;
    let w = d.get(byte..byte + 7)?;
    let v = w.iter().fold(0u64, |a, &b| (a << 8) | b as u64); // 56 bits
    Some((v >> (8 - shift)) & 0xffff_ffff_ffff)
}

/// Bit positions of every block magic of the stream at the start of `d`, and of its end marker.
fn blocks(d: &[u8]) -> Option<(Vec<u64>, u64)> {
    let mut marks: Vec<(u64, bool)> = Vec::new();
    for (magic, is_block) in [(BLOCK_MAGIC, true), (EOS_MAGIC, false)] {
        for shift in 0..8u64 {
            // The magic at this bit alignment covers four whole bytes, starting one byte in.
            let placed = magic << (16 - shift);
            let be = placed.to_be_bytes();
            let needle = &be[1..5];
            for p in memchr::memmem::find_iter(d, needle) {
                let Some(bit) = (p as u64 * 8 + shift).checked_sub(8) else {
                    continue;
                };
                if bits48(d, bit) == Some(magic) {
                    marks.push((bit, is_block));
                }
            }
        }
    }
    marks.sort();
    let eos = marks.iter().find(|(_, b)| !b)?.0;
    let starts: Vec<u64> = marks
        .iter()
        .filter(|(p, b)| *b && *p < eos)
        .map(|(p, _)| *p)
        .collect();
    (starts.first() == Some(&32)).then_some((starts, eos))
}

struct BitWriter {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl BitWriter {
    /// Appends the low `bits` (at most 32) of `v`.
    fn push(&mut self, v: u64, bits: u32) {
        debug_assert!(bits <= 32);
        self.acc = (self.acc << bits) | (v & ((1u64 << bits) - 1));
        self.n += bits;
        while self.n >= 8 {
            self.n -= 8;
            self.out.push((self.acc >> self.n) as u8);
        }
        self.acc &= (1u64 << self.n) - 1;
    }
    fn copy(&mut self, d: &[u8], from: u64, bits: u64) {
        let mut b = from;
        let end = from + bits;
        while b + 8 <= end {
            let byte = (b / 8) as usize;
            let s = b % 8;
            let v = if s == 0 {
                d[byte]
            } else {
                (d[byte] << s) | (d[byte + 1] >> (8 - s))
            };
            self.push(v as u64, 8);
            b += 8;
        }
        while b < end {
            self.push(((d[(b / 8) as usize] >> (7 - b % 8)) & 1) as u64, 1);
            b += 1;
        }
    }
    fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.out.push((self.acc << (8 - self.n)) as u8);
        }
        self.out
    }
}

/// Block `i` as a stream of its own.
fn one_block_stream(d: &[u8], level: u8, start: u64, end: u64) -> Option<Vec<u8>> {
    let crc = bits48(d, start + 48)? >> 16; // the 32 bits after the magic
    let mut w = BitWriter {
        out: Vec::with_capacity(((end - start) / 8 + 16) as usize),
        acc: 0,
        n: 0,
    };
    w.out.extend_from_slice(&[b'B', b'Z', b'h', level]);
    w.copy(d, start, end - start);
    w.push(EOS_MAGIC >> 24, 24);
    w.push(EOS_MAGIC & 0xff_ffff, 24);
    w.push(crc, 32);
    Some(w.finish())
}

fn parallel(ctx: &Ctx<'_>, input: &[u8]) -> Result<Option<(String, u64, usize)>, ExtractError> {
    let Some((starts, eos)) = blocks(input) else {
        return Ok(None);
    };
    if starts.len() < 2 {
        return Ok(None); // one block: nothing to share out
    }
    let level = input[3];
    let mut out = ctx.blob("decompressed.bin")?;
    let mut total = 0u64;
    let ends: Vec<u64> = starts.iter().skip(1).copied().chain([eos]).collect();
    let spans: Vec<(u64, u64)> = starts.into_iter().zip(ends).collect();
    for window in spans.chunks(WINDOW) {
        let decoded: Vec<Option<Vec<u8>>> = window
            .par_iter()
            .map(|&(s, e)| {
                let stream = one_block_stream(input, level, s, e)?;
                let mut dec = BzDecoder::new(&stream[..]);
                let (v, st) = read_capped(&mut dec, MAX_BLOCK_OUT);
                st.ok().map(|()| v)
            })
            .collect();
        if decoded.iter().any(Option::is_none) {
            drop(out);
            return Ok(None);
        }
        for block in decoded.into_iter().flatten() {
            out.write_all(&block).map_err(|e| {
                let m = e.to_string();
                if is_limit_message(&m) {
                    ExtractError::Limit(m)
                } else {
                    ExtractError::Bad(m)
                }
            })?;
            total += block.len() as u64;
        }
    }
    out.finish();
    let consumed = (eos + 48 + 32).div_ceil(8) as usize;
    Ok(Some((ctx.blob_path("decompressed.bin"), total, consumed)))
}

fn extract(ctx: &Ctx<'_>, d: &[u8], chunk: &Chunk) -> Result<Extracted, ExtractError> {
    let input = &d[chunk.offset..];
    if let Some((path, n, consumed)) = parallel(ctx, input)? {
        return Ok(Extracted::blob(
            consumed,
            path,
            BlobKind::Raw,
            format!("{n} bytes decompressed"),
        ));
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_found_and_decode_alone() {
        // 100 kB blocks over 600 kB of mixed data: several blocks at odd bit offsets.
        let data: Vec<u8> = (0..600_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 ^ (i / 5000) as u8)
            .collect();
        let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::new(1));
        e.write_all(&data).unwrap();
        let z = e.finish().unwrap();
        let (starts, eos) = blocks(&z).expect("blocks");
        assert!(starts.len() >= 6, "{} blocks", starts.len());
        let ends: Vec<u64> = starts.iter().skip(1).copied().chain([eos]).collect();
        let mut out = Vec::new();
        for (s, e) in starts.iter().zip(ends) {
            let one = one_block_stream(&z, b'1', *s, e).unwrap();
            let mut d = BzDecoder::new(&one[..]);
            let (v, st) = read_capped(&mut d, MAX_BLOCK_OUT);
            st.unwrap();
            out.extend(v);
        }
        assert_eq!(out, data);
        assert_eq!((eos + 80).div_ceil(8) as usize, z.len());
    }

    #[test]
    fn magic_found_at_every_bit_alignment() {
        for shift in 0..8u64 {
            let mut d = vec![0u8; 16];
            let v = BLOCK_MAGIC << (16 - shift);
            d[3..11].copy_from_slice(&v.to_be_bytes());
            assert_eq!(bits48(&d, 24 + shift), Some(BLOCK_MAGIC), "shift {shift}");
        }
    }
}
