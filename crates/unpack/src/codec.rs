//! Decoders shared by several formats: checksums, LZO1X, and the LZMA variants vendors put in
//! filesystems. Every decoder here takes the most it may produce and never allocates beyond it,
//! so a hostile block cannot exhaust memory.

use std::io::Read;

/// CRC-32 (IEEE 802.3), as zlib, gzip, U-Boot and TRX compute it.
pub fn crc32(data: &[u8]) -> u32 {
    crc32fast::hash(data)
}

/// CRC-32 register update without the final inversion, from `init`: JFFS2 uses `init = 0`,
/// UBI and UBIFS use `init = 0xFFFF_FFFF`.
pub fn crc32_raw(init: u32, data: &[u8]) -> u32 {
    // crc32fast continues a *finished* CRC: finalize = !raw(!initial, data).
    let mut h = crc32fast::Hasher::new_with_initial(!init);
    h.update(data);
    !h.finalize()
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CodecError {
    #[error("input ends inside the stream")]
    Truncated,
    #[error("corrupt stream: {0}")]
    Corrupt(&'static str),
    #[error("output would exceed {0} bytes")]
    TooLarge(usize),
}

/// LZO1X (as written by lzo1x_1 and lzo1x_999), decoded from `input` into at most `max_out`
/// bytes. Returns the output and the number of input bytes used (up to the end marker).
pub fn lzo1x_decompress(input: &[u8], max_out: usize) -> Result<(Vec<u8>, usize), CodecError> {
    let mut out: Vec<u8> = Vec::with_capacity(max_out.min(1 << 20));
    let mut ip = 0usize;
    let byte = |ip: &mut usize| -> Result<usize, CodecError> {
        let b = *input.get(*ip).ok_or(CodecError::Truncated)?;
        *ip += 1;
        Ok(b as usize)
    };
    // A run length: `base` plus 255 for every zero byte, plus the next non-zero byte.
    fn long_len(input: &[u8], ip: &mut usize, base: usize) -> Result<usize, CodecError> {
        let mut n = base;
        loop {
            let b = *input.get(*ip).ok_or(CodecError::Truncated)?;
            *ip += 1;
            if b != 0 {
                return Ok(n + b as usize);
            }
            n += 255;
            if n > (1 << 30) {
                return Err(CodecError::Corrupt("run length too long"));
            }
        }
    }
    let literals = |out: &mut Vec<u8>, ip: &mut usize, n: usize| -> Result<(), CodecError> {
        let src = input.get(*ip..*ip + n).ok_or(CodecError::Truncated)?;
        if out.len() + n > max_out {
            return Err(CodecError::TooLarge(max_out));
        }
        out.extend_from_slice(src);
        *ip += n;
        Ok(())
    };
    let copy_match = |out: &mut Vec<u8>, dist: usize, len: usize| -> Result<(), CodecError> {
        if dist == 0 || dist > out.len() {
            return Err(CodecError::Corrupt(
                "match distance before the start of output",
            ));
        }
        if out.len() + len > max_out {
            return Err(CodecError::TooLarge(max_out));
        }
        let from = out.len() - dist;
        for i in 0..len {
            let b = out[from + i];
            out.push(b);
        }
        Ok(())
    };

    // `state`: literals copied by the previous instruction (0..3), or 4 after a long literal run.
    let mut state;
    let first = *input.first().ok_or(CodecError::Truncated)? as usize;
    if first > 17 {
        ip = 1;
        let n = first - 17;
        literals(&mut out, &mut ip, n)?;
        state = if n < 4 { n } else { 4 };
    } else {
        state = 0;
    }
    loop {
        let inst = byte(&mut ip)?;
        let (dist, len, next);
        if inst >= 64 {
            // M2: 3..8 bytes within 2 KiB.
            let h = byte(&mut ip)?;
            dist = (h << 3) + ((inst >> 2) & 7) + 1;
            len = (inst >> 5) + 1;
            next = inst & 3;
        } else if inst >= 32 {
            // M3: within 16 KiB.
            let mut l = inst & 31;
            if l == 0 {
                l = long_len(input, &mut ip, 31)?;
            }
            let lo = byte(&mut ip)?;
            let hi = byte(&mut ip)?;
            let d = lo | (hi << 8);
            dist = (d >> 2) + 1;
            len = l + 2;
            next = d & 3;
        } else if inst >= 16 {
            // M4: 16..48 KiB, or the end marker.
            let mut l = inst & 7;
            if l == 0 {
                l = long_len(input, &mut ip, 7)?;
            }
            let lo = byte(&mut ip)?;
            let hi = byte(&mut ip)?;
            let d = lo | (hi << 8);
            let far = ((inst & 8) << 11) + (d >> 2);
            if far == 0 {
                return Ok((out, ip));
            }
            dist = far + 16384;
            len = l + 2;
            next = d & 3;
        } else if state == 0 {
            // A literal run of 4 or more.
            let n = if inst == 0 {
                long_len(input, &mut ip, 15)? + 3
            } else {
                inst + 3
            };
            literals(&mut out, &mut ip, n)?;
            state = 4;
            continue;
        } else if state < 4 {
            let h = byte(&mut ip)?;
            dist = (inst >> 2) + (h << 2) + 1;
            len = 2;
            next = inst & 3;
        } else {
            let h = byte(&mut ip)?;
            dist = (inst >> 2) + (h << 2) + 2049;
            len = 3;
            next = inst & 3;
        }
        copy_match(&mut out, dist, len)?;
        literals(&mut out, &mut ip, next)?;
        state = next;
    }
}

/// LZMA properties: lc, lp, pb from the props byte.
pub fn lzma_props(props: u8) -> Option<(u32, u32, u32)> {
    if props >= 9 * 5 * 5 {
        return None;
    }
    let p = props as u32;
    Some((p % 9, (p / 9) % 5, p / 45))
}

/// A decoder for LZMA "alone" data (13-byte header already parsed), reading `input` from the
/// start of the range-coder stream. liblzma is used where it accepts the properties (it is the
/// fastest); lc + lp > 4, which liblzma refuses but vendor encoders write (DIR-612's props 0x6F),
/// goes to lzma-rust2.
pub fn lzma_stream<'a>(
    input: &'a [u8],
    props: u8,
    dict: u32,
    size: Option<u64>,
    memlimit: u64,
) -> Result<Box<dyn CountingRead + 'a>, String> {
    let (lc, lp, pb) = lzma_props(props).ok_or("invalid properties byte")?;
    if (dict as u64) > memlimit {
        return Err(format!(
            "dictionary of {dict} bytes exceeds the decoder memory limit"
        ));
    }
    if lc + lp <= 4 {
        // liblzma's .lzma decoder checks the size and the end marker: give it the header back.
        let mut header = [0u8; 13];
        header[0] = props;
        header[1..5].copy_from_slice(&dict.to_le_bytes());
        header[5..].copy_from_slice(&size.unwrap_or(u64::MAX).to_le_bytes());
        let stream =
            liblzma::stream::Stream::new_lzma_decoder(memlimit).map_err(|e| e.to_string())?;
        let chained =
            std::io::BufReader::with_capacity(64 * 1024, std::io::Cursor::new(header).chain(input));
        let dec = liblzma::bufread::XzDecoder::new_stream(chained, stream);
        Ok(Box::new(LiblzmaCounting { dec }))
    } else {
        let counter = SliceCounter::new(input);
        let r = lzma_rust2::LzmaReader::new(
            counter,
            size.unwrap_or(u64::MAX),
            lc,
            lp,
            pb,
            dict.max(4096),
            None,
        )
        .map_err(|e| e.to_string())?;
        Ok(Box::new(RustCounting { r }))
    }
}

/// A reader that can tell how much compressed input it has used.
pub trait CountingRead: Read {
    fn input_used(&self) -> u64;
}

/// The rebuilt 13-byte header followed by the stream.
type HeaderedInput<'a> = std::io::BufReader<std::io::Chain<std::io::Cursor<[u8; 13]>, &'a [u8]>>;

struct LiblzmaCounting<'a> {
    dec: liblzma::bufread::XzDecoder<HeaderedInput<'a>>,
}

impl Read for LiblzmaCounting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.dec.read(buf)
    }
}

impl CountingRead for LiblzmaCounting<'_> {
    fn input_used(&self) -> u64 {
        self.dec.total_in().saturating_sub(13)
    }
}

struct RustCounting<'a> {
    r: lzma_rust2::LzmaReader<SliceCounter<'a>>,
}

impl Read for RustCounting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.r.read(buf)
    }
}

impl CountingRead for RustCounting<'_> {
    fn input_used(&self) -> u64 {
        self.r.inner().pos as u64
    }
}

/// A slice reader that counts what was read from it.
pub struct SliceCounter<'a> {
    pub data: &'a [u8],
    pub pos: usize,
}

impl<'a> SliceCounter<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        SliceCounter { data, pos: 0 }
    }
}

impl Read for SliceCounter<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.data.len() - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Reads `r` to its end or its first error, keeping at most `max_out` bytes. Returns the bytes
/// and whether the stream ended cleanly.
pub fn read_capped(r: &mut dyn Read, max_out: usize) -> (Vec<u8>, Result<(), String>) {
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match r.read(&mut buf) {
            Ok(0) => return (out, Ok(())),
            Ok(n) => {
                if out.len() + n > max_out {
                    let keep = max_out - out.len();
                    out.extend_from_slice(&buf[..keep]);
                    return (out, Err(format!("output exceeds {max_out} bytes")));
                }
                out.extend_from_slice(&buf[..n]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return (out, Err(e.to_string())),
        }
    }
}

/// How the LZMA blocks of one filesystem are stored. Vendors wrote many variants; the first
/// block that decodes decides, and the rest of the filesystem uses the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LzmaBlock {
    /// The usual .lzma header: props, dictionary size, 8-byte uncompressed size.
    Alone,
    /// Props and dictionary size only (5 bytes), then the raw stream (OpenWrt's old squashfs-lzma).
    Header5,
    /// Raw stream with fixed properties after `skip` bytes (`7zip` marker of the Atheros LSDK
    /// squashfs 2.0: skip 4, lc=3 lp=0 pb=2).
    Raw { skip: u8, lc: u8, lp: u8, pb: u8 },
}

impl LzmaBlock {
    pub fn describe(&self) -> String {
        match self {
            LzmaBlock::Alone => "LZMA (13-byte .lzma header)".into(),
            LzmaBlock::Header5 => "LZMA (5-byte header, no size: OpenWrt variant)".into(),
            LzmaBlock::Raw { skip, lc, lp, pb } => {
                format!("raw LZMA after {skip} bytes, lc={lc} lp={lp} pb={pb}")
            }
        }
    }
}

/// Decodes one LZMA filesystem block of at most `max_out` bytes in the given variant.
pub fn lzma_block(input: &[u8], variant: LzmaBlock, max_out: usize) -> Result<Vec<u8>, String> {
    let (props, dict, size, body) = match variant {
        LzmaBlock::Alone => {
            let h = input.get(..13).ok_or("block shorter than an LZMA header")?;
            let size = u64::from_le_bytes(h[5..13].try_into().expect("8 bytes"));
            if size != u64::MAX && size > max_out as u64 {
                return Err(format!(
                    "block claims {size} bytes, at most {max_out} allowed"
                ));
            }
            (
                h[0],
                u32::from_le_bytes(h[1..5].try_into().expect("4 bytes")),
                (size != u64::MAX).then_some(size),
                &input[13..],
            )
        }
        LzmaBlock::Header5 => {
            let h = input.get(..5).ok_or("block shorter than an LZMA header")?;
            (
                h[0],
                u32::from_le_bytes(h[1..5].try_into().expect("4 bytes")),
                None,
                &input[5..],
            )
        }
        LzmaBlock::Raw { skip, lc, lp, pb } => (
            (pb * 45 + lp * 9 + lc),
            (max_out as u32).next_power_of_two().max(4096),
            None,
            input
                .get(skip as usize..)
                .ok_or("block shorter than its marker")?,
        ),
    };
    if body.first() != Some(&0) {
        // The range coder always starts with a zero byte.
        return Err("not an LZMA stream (first range-coder byte is not 0)".into());
    }
    let cap = size.map_or(max_out, |n| (n as usize).min(max_out));
    let dict = dict.clamp(4096, (max_out as u32).next_power_of_two().max(1 << 16));
    let (lc, lp, pb) = lzma_props(props).ok_or("invalid LZMA properties")?;
    let (out, status, used_all) = if lc + lp <= 4 {
        // liblzma's raw LZMA1 decoder: several times faster than the pure-Rust one.
        let mut opts = liblzma::stream::LzmaOptions::new_preset(0).map_err(|e| e.to_string())?;
        opts.literal_context_bits(lc)
            .literal_position_bits(lp)
            .position_bits(pb)
            .dict_size(dict);
        let mut filters = liblzma::stream::Filters::new();
        filters.lzma1(&opts);
        let stream =
            liblzma::stream::Stream::new_raw_decoder(&filters).map_err(|e| e.to_string())?;
        let mut r = liblzma::bufread::XzDecoder::new_stream(body, stream);
        let (out, status) = read_capped(&mut r, cap);
        let used_all = r.total_in() as usize >= body.len();
        (out, status, used_all)
    } else {
        let counter = SliceCounter::new(body);
        let mut r =
            lzma_rust2::LzmaReader::new(counter, size.unwrap_or(u64::MAX), lc, lp, pb, dict, None)
                .map_err(|e| e.to_string())?;
        let (out, status) = read_capped(&mut r, cap);
        let used_all = r.inner().pos >= body.len();
        (out, status, used_all)
    };
    match status {
        Ok(()) => Ok(out),
        // Streams without an end marker end with the input (or at the stated size): what
        // decoded is the block.
        Err(_) if !out.is_empty() && (used_all || out.len() == cap) => Ok(out),
        Err(e) => Err(e),
    }
}

/// Finds the variant that decodes `input` (the first LZMA block of a filesystem).
pub fn lzma_detect(input: &[u8], max_out: usize) -> Option<(LzmaBlock, Vec<u8>)> {
    let mut tries = vec![LzmaBlock::Alone, LzmaBlock::Header5];
    if input.starts_with(b"7zip") {
        tries.insert(
            0,
            LzmaBlock::Raw {
                skip: 4,
                lc: 3,
                lp: 0,
                pb: 2,
            },
        );
    }
    // The grid sasquatch searches: a few leading bytes, then every lc/lp/pb.
    for skip in 0..=4u8 {
        tries.push(LzmaBlock::Raw {
            skip,
            lc: 3,
            lp: 0,
            pb: 2,
        });
    }
    for skip in 0..=4u8 {
        for lc in 0..=4u8 {
            for lp in 0..=4u8 {
                for pb in 0..=4u8 {
                    if lc + lp <= 4 && !(lc == 3 && lp == 0 && pb == 2) {
                        tries.push(LzmaBlock::Raw { skip, lc, lp, pb });
                    }
                }
            }
        }
    }
    tries.into_iter().find_map(|v| {
        lzma_block(input, v, max_out)
            .ok()
            .filter(|o| !o.is_empty())
            .map(|o| (v, o))
    })
}

/// zlib (RFC 1950) block into at most `max_out` bytes.
pub fn zlib_block(input: &[u8], max_out: usize) -> Result<Vec<u8>, String> {
    let mut d = flate2::read::ZlibDecoder::new(input);
    let (out, status) = read_capped(&mut d, max_out);
    status.map(|()| out)
}

/// A bit-stream reader in a C bitfield layout's order: little-endian images pack fields from
/// the least significant bit of each byte, big-endian ones from the most significant bit.
pub struct Bits<'a> {
    d: &'a [u8],
    bit: usize,
    be: bool,
}

impl<'a> Bits<'a> {
    pub fn new(d: &'a [u8], be: bool) -> Self {
        Bits { d, bit: 0, be }
    }

    pub fn get(&mut self, n: usize) -> Option<u64> {
        if self.bit + n > self.d.len() * 8 {
            return None;
        }
        let mut v = 0u64;
        for i in 0..n {
            let pos = self.bit + i;
            let byte = self.d[pos / 8];
            if self.be {
                let b = (byte >> (7 - pos % 8)) & 1;
                v = (v << 1) | b as u64;
            } else {
                let b = (byte >> (pos % 8)) & 1;
                v |= (b as u64) << i;
            }
        }
        self.bit += n;
        Some(v)
    }

    pub fn u(&mut self, n: usize) -> Option<u32> {
        self.get(n).map(|v| v as u32)
    }

    /// Bytes consumed so far (rounded up).
    pub fn pos(&self) -> usize {
        self.bit.div_ceil(8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_variants() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        // Without the final inversion, from all ones: the UBI/UBIFS convention.
        assert_eq!(crc32_raw(0xFFFF_FFFF, b"123456789"), !0xCBF4_3926);
    }

    #[test]
    fn lzo_literal_only_stream_and_bounds() {
        // 5 literals "hello", then the end marker (M4 with distance 16384: 0x11 0x00 0x00).
        let s = [17 + 5, b'h', b'e', b'l', b'l', b'o', 0x11, 0, 0];
        let (out, used) = lzo1x_decompress(&s, 100).unwrap();
        assert_eq!(out, b"hello");
        assert_eq!(used, s.len());
        assert_eq!(
            lzo1x_decompress(&s, 3).unwrap_err(),
            CodecError::TooLarge(3)
        );
        assert_eq!(
            lzo1x_decompress(&s[..4], 100).unwrap_err(),
            CodecError::Truncated
        );
        // A match reaching before the output start is refused, not a panic.
        assert!(lzo1x_decompress(&[0x40, 0xff, 0x11, 0, 0], 100).is_err());
    }

    #[test]
    fn lzma_detect_refuses_garbage() {
        assert!(lzma_detect(&[0xffu8; 64], 8192).is_none());
    }
}
