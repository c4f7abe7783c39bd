//! SquashFS 2.x and 3.x, little and big endian, our own reader (backhand reads 3.x only with
//! sasquatch's GPL LZMA code, and 2.x not at all).
//!
//! On disk these versions are C bitfield structures: little-endian images pack fields from the
//! least significant bit, big-endian images from the most significant bit. Reading every
//! structure as a bit stream in the image's order (`Bits`) decodes both.
//!
//! - Superblock: byte-aligned; 2.x uses the 32-bit table offsets at 8..28 and 59, 3.x the
//!   64-bit ones from 63.
//! - Metadata (inodes, directories, fragment entries): blocks of up to 8 KiB, each behind a
//!   16-bit length whose top bit marks an uncompressed block. An inode or directory reference
//!   is (block offset from the table start, offset inside the block).
//! - Inodes: a base header (type, mode, uid/gid indices; 3.x adds mtime and inode number), then
//!   per type: directories (listing size, position in the directory table), regular files
//!   (first block address, fragment index and offset, size, then one 32-bit length per block,
//!   bit 24 marking an uncompressed block), symlinks (target), devices.
//! - Directory listings: headers (entry count − 1 in 8 bits, inode block: 24 bits in 2.x; 32
//!   bits plus a 32-bit base inode number in 3.x, 9 bytes in all) each followed by entries
//!   (13-bit inode offset, 3-bit type, name length − 1 in 8 bits; 3.x adds a 16-bit inode
//!   number delta), then the name. A 3.x directory's size counts 3 bytes more than its listing
//!   (for "." and "..").
//!
//! Compression is zlib in the standard format. Vendors built LZMA variants: the Atheros LSDK
//! `7zip` marker before raw LZMA blocks (D-Link DIR-300, squashfs 2.0 big endian: binwalk v3 and
//! Debian's unsquashfs miss it), DD-WRT's `hsqt`/`tqsh` magic, AVM's minor version 76. The first
//! block decides which one an image uses (`codec::lzma_detect`).

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};

use iotassure_core::layout::Confidence;
use iotassure_core::tree::EntryKind;
use rayon::prelude::*;

use super::bytes::{u16_e, u32_e, u64_e};
use super::squashfs4::timestamp;
use super::{is_limit_message, Anchor, Chunk, Ctx, ExtractError, Extracted, Format, Kind, Magic};
use crate::codec::{lzma_block, lzma_detect, zlib_block, Bits, LzmaBlock};
use crate::sink::{sanitize, Meta};

pub static FORMAT: Format = Format {
    id: "squashfs-legacy",
    kind: Kind::Filesystem,
    anchor: Anchor::Anywhere,
    magics: &[
        Magic {
            bytes: b"hsqs",
            at: 0,
        },
        Magic {
            bytes: b"sqsh",
            at: 0,
        },
        Magic {
            bytes: b"hsqt",
            at: 0,
        },
        Magic {
            bytes: b"tqsh",
            at: 0,
        },
        Magic {
            bytes: b"shsq",
            at: 0,
        },
        Magic {
            bytes: b"qshs",
            at: 0,
        },
        Magic {
            bytes: b"sqlz",
            at: 0,
        },
    ],
    identify,
    extract: Some(extract),
};

const METADATA_SIZE: usize = 8192;
/// Decompressed metadata a hostile image may make us hold.
const MAX_METADATA: usize = 64 << 20;
const MAX_DIR_DEPTH: usize = 64;
const INVALID_FRAG: u32 = 0xffff_ffff;

#[derive(Debug, Clone)]
struct Sb {
    be: bool,
    magic: String,
    major: u16,
    minor: u16,
    inodes: u32,
    mkfs_time: u32,
    block_size: u32,
    flags: u8,
    no_uids: u8,
    no_guids: u8,
    fragments: u32,
    root_inode: u64,
    bytes_used: u64,
    uid_start: u64,
    guid_start: u64,
    inode_table: u64,
    dir_table: u64,
    fragment_table: u64,
}

fn parse(d: &[u8], s: usize) -> Option<Sb> {
    let h = d.get(s..s + 119.min(d.len() - s))?;
    if h.len() < 63 {
        return None;
    }
    let magic = String::from_utf8_lossy(&h[..4]).to_string();
    // The version fields decide the byte order (the magic may be a vendor's).
    let be = match (u16_e(h, 28, false)?, u16_e(h, 28, true)?) {
        (2 | 3, _) => false,
        (_, 2 | 3) => true,
        _ => return None,
    };
    let major = u16_e(h, 28, be)?;
    let minor = u16_e(h, 30, be)?;
    let block_log = u16_e(h, 34, be)?;
    let block_size = u32_e(h, 51, be)?;
    if !block_size.is_power_of_two()
        || !(4096..=1 << 20).contains(&block_size)
        || block_log >= 32
        || 1u32 << block_log != block_size
    {
        return None;
    }
    let mut sb = Sb {
        be,
        magic,
        major,
        minor,
        inodes: u32_e(h, 4, be)?,
        mkfs_time: u32_e(h, 39, be)?,
        block_size,
        flags: h[36],
        no_uids: h[37],
        no_guids: h[38],
        fragments: u32_e(h, 55, be)?,
        root_inode: u64_e(h, 43, be)?,
        bytes_used: u32_e(h, 8, be)? as u64,
        uid_start: u32_e(h, 12, be)? as u64,
        guid_start: u32_e(h, 16, be)? as u64,
        inode_table: u32_e(h, 20, be)? as u64,
        dir_table: u32_e(h, 24, be)? as u64,
        fragment_table: u32_e(h, 59, be)? as u64,
    };
    if major == 3 {
        if h.len() < 119 {
            return None;
        }
        sb.bytes_used = u64_e(h, 63, be)?;
        sb.uid_start = u64_e(h, 71, be)?;
        sb.guid_start = u64_e(h, 79, be)?;
        sb.inode_table = u64_e(h, 87, be)?;
        sb.dir_table = u64_e(h, 95, be)?;
        sb.fragment_table = u64_e(h, 103, be)?;
    }
    let used = sb.bytes_used;
    if !(64..=1 << 32).contains(&used) || sb.inode_table >= sb.dir_table || sb.dir_table >= used {
        return None;
    }
    if sb.uid_start > used || sb.guid_start > used || sb.fragment_table > used {
        return None;
    }
    Some(sb)
}

fn identify(d: &[u8], s: usize) -> Option<Chunk> {
    let sb = parse(d, s)?;
    let available = (d.len() - s) as u64;
    let truncated = sb.bytes_used > available;
    let format = match (sb.major, sb.minor) {
        (2, 0) => "squashfs-2.0",
        (2, _) => "squashfs-2.1",
        (3, 0) => "squashfs-3.0",
        (3, _) => "squashfs-3.1",
        _ => return None,
    };
    let standard = matches!(sb.magic.as_str(), "hsqs" | "sqsh");
    Some(
        Chunk::new(format, format!("{format}-{}", if sb.be { "be" } else { "le" }), s)
            .size(sb.bytes_used.min(available) as usize)
            .describe(format!(
                "SquashFS file system, {} endian, version: {}.{}{}, inode count: {}, block size: {}, image size: {} bytes, created: {}{}",
                if sb.be { "big" } else { "little" },
                sb.major,
                sb.minor,
                if standard { String::new() } else { format!(", non-standard magic \"{}\" (vendor LZMA)", sb.magic) },
                sb.inodes,
                sb.block_size,
                sb.bytes_used,
                timestamp(sb.mkfs_time),
                if truncated { format!(" (TRUNCATED: only {available} bytes present)") } else { String::new() }
            ))
            .confidence(if truncated { Confidence::Low } else { Confidence::Medium })
            .fact("inodes", sb.inodes)
            .fact("block_size", sb.block_size),
    )
}

/// How this image's blocks are compressed; found on the first compressed block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Codec {
    Zlib,
    Lzma(LzmaBlock),
}

struct Reader<'a> {
    d: &'a [u8],
    sb: Sb,
    codec: Mutex<Option<Codec>>,
    check: usize,
}

impl<'a> Reader<'a> {
    fn decompress(&self, block: &[u8], max_out: usize) -> Result<Vec<u8>, String> {
        let known = *self.codec.lock().expect("lock");
        if let Some(c) = known {
            let r = match c {
                Codec::Zlib => zlib_block(block, max_out),
                Codec::Lzma(v) => lzma_block(block, v, max_out),
            };
            if r.is_ok() {
                return r;
            }
        }
        // First block, or a block in another variant: find what decodes it.
        let found = if block.first() == Some(&0x78) {
            zlib_block(block, max_out).ok().map(|o| (Codec::Zlib, o))
        } else {
            None
        };
        let found = found.or_else(|| lzma_detect(block, max_out).map(|(v, o)| (Codec::Lzma(v), o)));
        match found {
            Some((c, o)) => {
                *self.codec.lock().expect("lock") = Some(c);
                Ok(o)
            }
            None => Err("block does not decode as zlib or any LZMA variant".into()),
        }
    }

    /// Reads one metadata block at `pos` (absolute in the image): its data and the next block.
    fn metadata_block(&self, pos: usize) -> Result<(Vec<u8>, usize), String> {
        let raw = u16_e(self.d, pos, self.sb.be).ok_or("metadata block header beyond the end")?;
        let len = (raw & 0x7fff) as usize;
        let start = pos + 2 + self.check;
        let body = self
            .d
            .get(start..start + len)
            .ok_or("metadata block beyond the end")?;
        let out = if raw & 0x8000 != 0 {
            body.to_vec()
        } else {
            self.decompress(body, METADATA_SIZE)?
        };
        Ok((out, start + len))
    }

    /// Decompresses the metadata table from `start` to `end` into one buffer; returns it with a
    /// map from block offset (relative to `start`) to position in the buffer.
    fn table(&self, start: u64, end: u64) -> Result<(Vec<u8>, BlockMap), String> {
        let mut out = Vec::new();
        let mut map = Vec::new();
        let mut pos = start as usize;
        while (pos as u64) < end {
            let (block, next) = self.metadata_block(pos)?;
            map.push((pos - start as usize, out.len()));
            out.extend_from_slice(&block);
            if out.len() > MAX_METADATA {
                return Err(format!("metadata exceeds {MAX_METADATA} bytes"));
            }
            pos = next;
        }
        Ok((out, map))
    }
}

/// A decompressed table's blocks: (offset of the block in the image table, position in the
/// decompressed buffer).
type BlockMap = Vec<(usize, usize)>;

/// Position in a decompressed table of the reference (block offset, offset in block).
fn locate(map: &[(usize, usize)], block: usize, offset: usize) -> Option<usize> {
    let i = map.binary_search_by_key(&block, |&(b, _)| b).ok()?;
    Some(map[i].1 + offset)
}

#[derive(Debug, Clone)]
enum Inode {
    Dir {
        start_block: usize,
        offset: usize,
        size: usize,
    },
    File {
        start: u64,
        fragment: u32,
        frag_offset: u32,
        size: u64,
        blocks: Vec<u32>,
    },
    Symlink(String),
    Dev(EntryKind),
}

struct Attr {
    mode: u32,
    uid: u32,
    gid: u32,
}

struct Fs<'a> {
    r: Reader<'a>,
    inodes: Vec<u8>,
    inode_map: Vec<(usize, usize)>,
    dirs: Vec<u8>,
    dir_map: Vec<(usize, usize)>,
    uids: Vec<u32>,
    guids: Vec<u32>,
    fragments: Vec<(u64, u32)>,
    /// Decompressed fragment blocks: many small files share one.
    frag_cache: Vec<OnceLock<Result<Arc<Vec<u8>>, String>>>,
}

impl<'a> Fs<'a> {
    fn open(d: &'a [u8], s: usize) -> Result<Fs<'a>, String> {
        let sb = parse(d, s).ok_or("superblock no longer parses")?;
        let img = d.get(s..s + sb.bytes_used as usize).ok_or_else(|| {
            format!(
                "truncated: the superblock says {} bytes, only {} are present",
                sb.bytes_used,
                d.len() - s
            )
        })?;
        let check = if sb.flags & 0x04 != 0 { 1 } else { 0 };
        let r = Reader {
            d: img,
            sb: sb.clone(),
            codec: Mutex::new(None),
            check,
        };
        let be = sb.be;
        let ids = |start: u64, n: u8| -> Vec<u32> {
            (0..n as usize)
                .filter_map(|i| u32_e(img, start as usize + 4 * i, be))
                .collect()
        };
        let uids = ids(sb.uid_start, sb.no_uids);
        let guids = ids(sb.guid_start, sb.no_guids);

        // Fragment table: an index of metadata-block addresses, then 8-byte (2.x) or 16-byte
        // (3.x) entries in those blocks.
        let (entry_len, index_len) = if sb.major == 3 { (16, 8) } else { (8, 4) };
        let n_index = (sb.fragments as usize * entry_len).div_ceil(METADATA_SIZE);
        let mut fragments = Vec::new();
        let mut frag_blocks = Vec::new();
        if sb.fragments > 0 && sb.fragments < 1 << 24 {
            for i in 0..n_index {
                let at = sb.fragment_table as usize + i * index_len;
                let addr = if sb.major == 3 {
                    u64_e(img, at, be)
                } else {
                    u32_e(img, at, be).map(u64::from)
                }
                .ok_or("fragment index beyond the end")?;
                frag_blocks.push(addr);
            }
            let mut entries = Vec::new();
            for &addr in &frag_blocks {
                let (b, _) = r.metadata_block(addr as usize)?;
                entries.extend_from_slice(&b);
            }
            for i in 0..sb.fragments as usize {
                let e = entries
                    .get(i * entry_len..(i + 1) * entry_len)
                    .ok_or("fragment table short")?;
                let (start, size) = if sb.major == 3 {
                    (u64_e(e, 0, be).unwrap_or(0), u32_e(e, 8, be).unwrap_or(0))
                } else {
                    (
                        u32_e(e, 0, be).unwrap_or(0) as u64,
                        u32_e(e, 4, be).unwrap_or(0),
                    )
                };
                fragments.push((start, size));
            }
        }
        // The directory table ends where the next table starts.
        let dir_end = [
            sb.fragment_table,
            sb.uid_start,
            sb.guid_start,
            sb.bytes_used,
        ]
        .into_iter()
        .chain(frag_blocks.iter().copied())
        .filter(|&x| x > sb.dir_table)
        .min()
        .unwrap_or(sb.bytes_used);
        let (inodes, inode_map) = r.table(sb.inode_table, sb.dir_table)?;
        let (dirs, dir_map) = r.table(sb.dir_table, dir_end)?;
        Ok(Fs {
            r,
            inodes,
            inode_map,
            dirs,
            dir_map,
            uids,
            guids,
            frag_cache: (0..fragments.len()).map(|_| OnceLock::new()).collect(),
            fragments,
        })
    }

    fn inode(&self, reference: u64) -> Result<(Inode, Attr), String> {
        let block = (reference >> 16) as usize;
        let offset = (reference & 0xffff) as usize;
        let at = locate(&self.inode_map, block, offset)
            .ok_or("inode reference outside the inode table")?;
        let d = self.inodes.get(at..).ok_or("inode beyond the table")?;
        let v3 = self.r.sb.major == 3;
        let bs = self.r.sb.block_size as u64;
        let mut b = Bits::new(d, self.r.sb.be);
        let short = || "inode truncated".to_string();
        let kind = b.u(4).ok_or_else(short)?;
        let mode = b.u(12).ok_or_else(short)?;
        let uid_i = b.u(8).ok_or_else(short)? as usize;
        let gid_i = b.u(8).ok_or_else(short)? as usize;
        if v3 {
            b.get(64).ok_or_else(short)?; // mtime, inode number
        }
        let uid = self.uids.get(uid_i).copied().unwrap_or(uid_i as u32);
        let gid = self.guids.get(gid_i).copied().unwrap_or(uid);
        let type_bits = match kind {
            1 | 8 => 0o040000,
            2 | 9 => 0o100000,
            3 => 0o120000,
            4 => 0o060000,
            5 => 0o020000,
            6 => 0o010000,
            _ => 0o140000,
        };
        let attr = Attr {
            mode: mode | type_bits,
            uid,
            gid,
        };
        let file = |b: &mut Bits, large: bool| -> Result<Inode, String> {
            if v3 && large {
                b.get(32).ok_or_else(short)?; // nlink
            }
            if !v3 {
                b.get(32).ok_or_else(short)?; // mtime
            }
            let start = if v3 { b.get(64) } else { b.get(32) }.ok_or_else(short)?;
            let fragment = b.u(32).ok_or_else(short)?;
            let frag_offset = b.u(32).ok_or_else(short)?;
            let size = if large { b.get(64) } else { b.get(32) }.ok_or_else(short)?;
            let n = if fragment == INVALID_FRAG {
                size.div_ceil(bs)
            } else {
                size / bs
            };
            if n > (self.r.d.len() as u64) {
                return Err("file claims more blocks than the image holds".into());
            }
            let at = b.pos();
            let blocks = (0..n as usize)
                .map(|i| u32_e(d, at + 4 * i, self.r.sb.be))
                .collect::<Option<Vec<_>>>()
                .ok_or("block list beyond the inode table")?;
            Ok(Inode::File {
                start,
                fragment,
                frag_offset,
                size,
                blocks,
            })
        };
        let inode = match kind {
            1 => {
                if v3 {
                    b.get(32).ok_or_else(short)?; // nlink
                }
                let size = b.u(19).ok_or_else(short)? as usize;
                let offset = b.u(13).ok_or_else(short)? as usize;
                if !v3 {
                    b.get(32).ok_or_else(short)?; // mtime
                }
                let start_block = b.u(if v3 { 32 } else { 24 }).ok_or_else(short)? as usize;
                Inode::Dir {
                    start_block,
                    offset,
                    size,
                }
            }
            8 => {
                if v3 {
                    b.get(32).ok_or_else(short)?;
                }
                let size = b.u(27).ok_or_else(short)? as usize;
                let offset = b.u(13).ok_or_else(short)? as usize;
                if !v3 {
                    b.get(32).ok_or_else(short)?;
                }
                let start_block = b.u(if v3 { 32 } else { 24 }).ok_or_else(short)? as usize;
                Inode::Dir {
                    start_block,
                    offset,
                    size,
                }
            }
            2 => file(&mut b, false)?,
            9 if v3 => file(&mut b, true)?,
            3 => {
                if v3 {
                    b.get(32).ok_or_else(short)?;
                }
                let len = b.u(16).ok_or_else(short)? as usize;
                let at = b.pos();
                let target = d
                    .get(at..at + len)
                    .ok_or("symlink target beyond the table")?;
                Inode::Symlink(String::from_utf8_lossy(target).to_string())
            }
            4 => Inode::Dev(EntryKind::BlockDevice),
            5 => Inode::Dev(EntryKind::CharDevice),
            6 => Inode::Dev(EntryKind::Fifo),
            7 => Inode::Dev(EntryKind::Socket),
            other => return Err(format!("unknown inode type {other}")),
        };
        Ok((inode, attr))
    }

    /// The entries of a directory: (name, inode reference).
    fn list(
        &self,
        start_block: usize,
        offset: usize,
        size: usize,
    ) -> Result<Vec<(String, u64)>, String> {
        let v3 = self.r.sb.major == 3;
        let at = locate(&self.dir_map, start_block, offset)
            .ok_or("directory outside the directory table")?;
        // 3.x counts "." and ".." (3 bytes) in the size.
        let size = if v3 { size.saturating_sub(3) } else { size };
        let d = self
            .dirs
            .get(at..(at + size).min(self.dirs.len()))
            .ok_or("directory beyond the table")?;
        let mut out = Vec::new();
        let mut p = 0;
        // 3.x headers are 9 bytes: an 8-bit count, then a 32-bit inode block and a 32-bit base
        // inode number (the entries' 16-bit inode numbers are deltas from it). 2.x headers are
        // 4 bytes: the count and a 24-bit block.
        let hdr = if v3 { 9 } else { 4 };
        while p + hdr <= d.len() {
            let mut b = Bits::new(&d[p..], self.r.sb.be);
            let (count, block) = if v3 {
                let c = b.u(8).ok_or("directory header")? as usize + 1;
                let s = b.u(32).ok_or("directory header")?;
                (c, s)
            } else {
                let c = b.u(8).ok_or("directory header")? as usize + 1;
                (c, b.u(24).ok_or("directory header")?)
            };
            p += hdr;
            for _ in 0..count {
                let mut b = Bits::new(d.get(p..).ok_or("directory entry")?, self.r.sb.be);
                let off = b.u(13).ok_or("directory entry truncated")?;
                let _kind = b.u(3).ok_or("directory entry truncated")?;
                let len = b.u(8).ok_or("directory entry truncated")? as usize + 1;
                if v3 {
                    b.get(16).ok_or("directory entry truncated")?;
                }
                p += if v3 { 5 } else { 3 };
                let name = d.get(p..p + len).ok_or("directory name truncated")?;
                p += len;
                out.push((
                    String::from_utf8_lossy(name).to_string(),
                    ((block as u64) << 16) | off as u64,
                ));
            }
        }
        Ok(out)
    }

    fn fragment(&self, i: usize) -> Result<Arc<Vec<u8>>, String> {
        let cell = self
            .frag_cache
            .get(i)
            .ok_or("fragment index beyond the fragment table")?;
        cell.get_or_init(|| {
            let (start, size) = self.fragments[i];
            let len = (size & !(1 << 24)) as usize;
            let raw = self
                .r
                .d
                .get(start as usize..start as usize + len)
                .ok_or("fragment beyond the end of the image")?;
            let bs = self.r.sb.block_size as usize;
            let data = if size & (1 << 24) != 0 {
                raw.to_vec()
            } else {
                self.r.decompress(raw, bs)?
            };
            Ok(Arc::new(data))
        })
        .clone()
    }

    /// A file's data, block by block, into `w`.
    fn read_file(&self, inode: &Inode, w: &mut dyn std::io::Write) -> Result<(), String> {
        let Inode::File {
            start,
            fragment,
            frag_offset,
            size,
            blocks,
        } = inode
        else {
            return Ok(());
        };
        let bs = self.r.sb.block_size as usize;
        let mut pos = *start as usize;
        let mut left = *size as usize;
        let io = |e: std::io::Error| e.to_string();
        for &b in blocks {
            let len = (b & !(1 << 24)) as usize;
            let want = bs.min(left);
            if len == 0 {
                w.write_all(&vec![0u8; want]).map_err(io)?; // a sparse block
            } else {
                let raw = self
                    .r
                    .d
                    .get(pos..pos + len)
                    .ok_or("data block beyond the end of the image")?;
                let data = if b & (1 << 24) != 0 {
                    raw.to_vec()
                } else {
                    self.r.decompress(raw, bs)?
                };
                w.write_all(&data[..want.min(data.len())]).map_err(io)?;
                if data.len() < want {
                    return Err(format!(
                        "data block decoded to {} bytes, expected {want}",
                        data.len()
                    ));
                }
            }
            pos += len;
            left -= want;
        }
        if left > 0 && *fragment != INVALID_FRAG {
            let data = self.fragment(*fragment as usize)?;
            let from = *frag_offset as usize;
            let part = data
                .get(from..from + left)
                .ok_or("file tail beyond its fragment")?;
            w.write_all(part).map_err(io)?;
            left = 0;
        }
        if left > 0 {
            return Err(format!("{left} bytes missing at the end"));
        }
        Ok(())
    }
}

fn extract(ctx: &Ctx<'_>, d: &[u8], chunk: &Chunk) -> Result<Extracted, ExtractError> {
    let fs = Fs::open(d, chunk.offset).map_err(ExtractError::Bad)?;
    let sb = fs.r.sb.clone();
    let (root, _) = fs
        .inode(sb.root_inode)
        .map_err(|e| ExtractError::Bad(format!("root inode: {e}")))?;
    ctx.root_dir()?;
    // Walk the tree: directories, links and nodes now; files' data afterwards, in parallel.
    let mut files: Vec<(String, Meta, Inode)> = Vec::new();
    let mut stack = vec![(String::new(), root, 0usize)];
    let mut seen = HashSet::new();
    while let Some((path, dir, depth)) = stack.pop() {
        let Inode::Dir {
            start_block,
            offset,
            size,
        } = dir
        else {
            continue;
        };
        // Empty directories share their (empty) listing's position: only listings can loop.
        let empty = size <= if sb.major == 3 { 3 } else { 0 };
        if empty {
            continue;
        }
        if depth > MAX_DIR_DEPTH || !seen.insert((start_block, offset)) {
            ctx.problem(format!(
                "{path}/: directory loop or nesting too deep, not followed"
            ));
            continue;
        }
        let entries = match fs.list(start_block, offset, size) {
            Ok(e) => e,
            Err(e) => {
                ctx.problem(format!(
                    "{path}/: {e} (listing at directory table block 0x{start_block:x} + {offset}, {size} bytes)"
                ));
                continue;
            }
        };
        for (name, reference) in entries {
            let full = format!("{path}/{name}");
            let rel = match sanitize(&full, true) {
                Ok(r) if !r.is_empty() && !name.contains('/') && name != "." && name != ".." => r,
                _ => {
                    ctx.problem(format!("entry refused: {full:?}"));
                    continue;
                }
            };
            let (inode, attr) = match fs.inode(reference) {
                Ok(x) => x,
                Err(e) => {
                    ctx.problem(format!("{full}: {e}"));
                    continue;
                }
            };
            let meta = Meta {
                mode: attr.mode & 0o7777,
                uid: attr.uid,
                gid: attr.gid,
            };
            let r = match &inode {
                Inode::Dir { .. } => {
                    let r = ctx.dir(&rel, meta);
                    stack.push((full.clone(), inode.clone(), depth + 1));
                    r
                }
                Inode::File { .. } => {
                    files.push((rel, meta, inode));
                    Ok(())
                }
                Inode::Symlink(t) => ctx.symlink(&rel, t, meta),
                Inode::Dev(k) => ctx.special(&rel, k.clone(), meta),
            };
            if let Err(e) = r {
                ctx.entry_error(e)?;
            }
        }
    }
    let count = files.len() as u64;
    files.par_iter().try_for_each(|(rel, meta, inode)| {
        let mut out = match ctx.file(rel, *meta) {
            Ok(f) => f,
            Err(e) => return ctx.entry_error(e),
        };
        let r = fs.read_file(inode, &mut out);
        out.finish();
        match r {
            Err(e) if is_limit_message(&e) => Err(ExtractError::Limit(e)),
            Err(e) => {
                ctx.problem(format!("/{rel}: {e}"));
                Ok(())
            }
            Ok(()) => Ok(()),
        }
    })?;
    let codec = match *fs.r.codec.lock().expect("lock") {
        Some(Codec::Zlib) | None => "zlib".to_string(),
        Some(Codec::Lzma(v)) => v.describe(),
    };
    let mut ex = Extracted::files(sb.bytes_used as usize, count);
    ex.note = format!("{count} files, compression: {codec}");
    ex.facts.insert("compression".into(), codec.into());
    Ok(ex)
}
