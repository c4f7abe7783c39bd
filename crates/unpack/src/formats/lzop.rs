//! lzop files (`89 4C 5A 4F 00 0D 0A 1A 0A`): a header (version, method, flags, mode, mtime,
//! name, header checksum) and blocks of LZO1X data, each with its sizes and optional Adler-32 or
//! CRC-32 checksums, ended by a zero length. Also what U-Boot means by LZO compression.

use std::io::Read;

use iotassure_core::layout::Confidence;
use iotassure_core::tree::BlobKind;

use super::bytes::{u16_be, u32_be};
use super::{stream_to_blob, Anchor, Chunk, Ctx, ExtractError, Extracted, Format, Kind, Magic};
use crate::codec::lzo1x_decompress;

pub static FORMAT: Format = Format {
    id: "lzop",
    kind: Kind::Compressed,
    anchor: Anchor::Anywhere,
    magics: &[Magic {
        bytes: b"\x89LZO\x00\x0d\x0a\x1a\x0a",
        at: 0,
    }],
    identify,
    extract: Some(extract),
};

const F_ADLER32_D: u32 = 0x1;
const F_ADLER32_C: u32 = 0x2;
const F_H_FILTER: u32 = 0x800;
const F_CRC32_D: u32 = 0x100;
const F_CRC32_C: u32 = 0x200;
const MAX_BLOCK: usize = 64 << 20;

struct Header {
    flags: u32,
    len: usize,
    name: String,
    method: u8,
}

fn header(d: &[u8]) -> Option<Header> {
    let mut p = 9;
    let version = u16_be(d, p)?;
    p += 4; // version, library version
    if version >= 0x0940 {
        p += 2; // version needed to extract
    }
    let method = *d.get(p)?;
    p += 1;
    if version >= 0x0940 {
        p += 1; // level
    }
    let flags = u32_be(d, p)?;
    p += 4;
    if flags & F_H_FILTER != 0 {
        p += 4;
    }
    p += 8; // mode, mtime low
    if version >= 0x0940 {
        p += 4; // mtime high
    }
    let name_len = *d.get(p)? as usize;
    let name = String::from_utf8_lossy(d.get(p + 1..p + 1 + name_len)?).to_string();
    p += 1 + name_len + 4; // name, header checksum
    if !(1..=3).contains(&method) || p > d.len() {
        return None;
    }
    Some(Header {
        flags,
        len: p,
        name,
        method,
    })
}

fn identify(d: &[u8], s: usize) -> Option<Chunk> {
    let h = header(&d[s..])?;
    Some(
        Chunk::new(FORMAT.id, "lzop", s)
            .describe(format!(
                "lzop compressed data, method: LZO1X-{}{}",
                if h.method == 3 { "999" } else { "1" },
                if h.name.is_empty() {
                    String::new()
                } else {
                    format!(", original file name: \"{}\"", h.name)
                }
            ))
            .confidence(Confidence::High),
    )
}

/// Decodes an lzop file block by block.
pub struct LzopReader<'a> {
    input: &'a [u8],
    pos: usize,
    flags: u32,
    buf: Vec<u8>,
    at: usize,
    done: bool,
}

impl<'a> LzopReader<'a> {
    pub fn new(input: &'a [u8]) -> Option<LzopReader<'a>> {
        let h = header(input)?;
        Some(LzopReader {
            input,
            pos: h.len,
            flags: h.flags,
            buf: Vec::new(),
            at: 0,
            done: false,
        })
    }

    /// Input bytes used so far (the whole file once reading has ended).
    pub fn consumed(&self) -> usize {
        self.pos
    }

    fn next_block(&mut self) -> std::io::Result<bool> {
        let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string());
        let dst =
            u32_be(self.input, self.pos).ok_or_else(|| bad("truncated block header"))? as usize;
        self.pos += 4;
        if dst == 0 {
            return Ok(false);
        }
        let src =
            u32_be(self.input, self.pos).ok_or_else(|| bad("truncated block header"))? as usize;
        self.pos += 4;
        if dst > MAX_BLOCK || src > dst {
            return Err(bad("implausible block size"));
        }
        if self.flags & (F_ADLER32_D | F_CRC32_D) != 0 {
            self.pos += 4
                * (((self.flags & F_ADLER32_D) != 0) as usize
                    + ((self.flags & F_CRC32_D) != 0) as usize);
        }
        if src < dst && self.flags & (F_ADLER32_C | F_CRC32_C) != 0 {
            self.pos += 4
                * (((self.flags & F_ADLER32_C) != 0) as usize
                    + ((self.flags & F_CRC32_C) != 0) as usize);
        }
        let data = self
            .input
            .get(self.pos..self.pos + src)
            .ok_or_else(|| bad("truncated block"))?;
        self.pos += src;
        self.buf = if src == dst {
            data.to_vec()
        } else {
            let (out, _) = lzo1x_decompress(data, dst).map_err(|e| bad(&e.to_string()))?;
            if out.len() != dst {
                return Err(bad("block decoded to the wrong size"));
            }
            out
        };
        self.at = 0;
        Ok(true)
    }
}

impl Read for LzopReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.buf.len() {
            if self.done || !self.next_block()? {
                self.done = true;
                return Ok(0);
            }
        }
        let n = out.len().min(self.buf.len() - self.at);
        out[..n].copy_from_slice(&self.buf[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

fn extract(ctx: &Ctx<'_>, d: &[u8], chunk: &Chunk) -> Result<Extracted, ExtractError> {
    let input = &d[chunk.offset..];
    let mut r =
        LzopReader::new(input).ok_or_else(|| ExtractError::Bad("bad lzop header".into()))?;
    let (path, n) = stream_to_blob(ctx, "decompressed.bin", &mut r)?;
    Ok(Extracted::blob(
        r.consumed(),
        path,
        BlobKind::Raw,
        format!("{n} bytes decompressed"),
    ))
}
