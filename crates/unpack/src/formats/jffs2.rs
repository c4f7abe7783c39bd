//! JFFS2, either endian: a log of nodes (magic 0x1985, type, length, header CRC). Directory
//! entry nodes link a name in a parent inode to a child inode (inode 0: deleted); inode nodes
//! carry a file's metadata and a piece of its data (offset, compressed and decompressed sizes,
//! compressor: none, zero, rtime, zlib, LZO, LZMA). The newest version of each wins. Erased
//! (0xFF) space between nodes is skipped; a bad node is skipped, never trusted.

use std::collections::{BTreeMap, HashMap, HashSet};

use iotassure_core::layout::Confidence;
use iotassure_core::tree::EntryKind;

use super::bytes::{u16_e, u32_e};
use super::{is_limit_message, Anchor, Chunk, Ctx, ExtractError, Extracted, Format, Kind, Magic};
use crate::codec::{crc32_raw, lzma_block, lzma_detect, lzo1x_decompress, zlib_block, LzmaBlock};
use crate::sink::{sanitize, Meta};

pub static FORMAT: Format = Format {
    id: "jffs2",
    kind: Kind::Filesystem,
    anchor: Anchor::Anywhere,
    magics: &[
        Magic {
            bytes: b"\x85\x19\x03\x20",
            at: 0,
        },
        Magic {
            bytes: b"\x19\x85\x20\x03",
            at: 0,
        },
        Magic {
            bytes: b"\x85\x19\x01\xe0",
            at: 0,
        },
        Magic {
            bytes: b"\x19\x85\xe0\x01",
            at: 0,
        },
        Magic {
            bytes: b"\x85\x19\x02\xe0",
            at: 0,
        },
        Magic {
            bytes: b"\x19\x85\xe0\x02",
            at: 0,
        },
    ],
    identify,
    extract: Some(extract),
};

const DIRENT: u16 = 0xe001;
const INODE: u16 = 0xe002;
/// A stretch without any node this long ends the filesystem.
const MAX_GAP: usize = 1 << 20;
/// A page of a JFFS2 file is at most 4 KiB (and never more than its stated size).
const MAX_NODE_DATA: usize = 1 << 16;
/// JFFS2 lives in flash partitions of a few MiB; no real file comes near this.
const MAX_FILE: usize = 256 << 20;

/// A valid node header at `p`: (type, total length).
fn node(d: &[u8], p: usize, be: bool) -> Option<(u16, usize)> {
    if u16_e(d, p, be)? != 0x1985 {
        return None;
    }
    let kind = u16_e(d, p + 2, be)?;
    let len = u32_e(d, p + 4, be)? as usize;
    let crc = u32_e(d, p + 8, be)?;
    if len < 12 || crc32_raw(0, d.get(p..p + 8)?) != crc || p + len > d.len() {
        return None;
    }
    Some((kind, len))
}

/// Walks nodes from `s`; returns the end of the last one and the count.
fn walk(d: &[u8], s: usize, be: bool, mut f: impl FnMut(u16, &[u8])) -> (usize, usize) {
    let mut p = s;
    let mut end = s;
    let mut count = 0;
    while p + 12 <= d.len() && p - end <= MAX_GAP {
        match node(d, p, be) {
            Some((kind, len)) => {
                f(kind, &d[p..p + len]);
                count += 1;
                p += len.div_ceil(4) * 4;
                end = p;
            }
            None => p += 4,
        }
    }
    (end.min(d.len()), count)
}

fn identify(d: &[u8], s: usize) -> Option<Chunk> {
    let be = d.get(s)? == &0x19;
    node(d, s, be)?;
    let mut content = 0;
    let (end, count) = walk(d, s, be, |kind, _| {
        if kind == DIRENT || kind == INODE {
            content += 1;
        }
    });
    if content == 0 {
        return None; // clean markers alone (a binary that writes them, an erased partition)
    }
    Some(
        Chunk::new(FORMAT.id, "jffs2", s)
            .size(end - s)
            .describe(format!(
                "JFFS2 file system, {} endian, {count} nodes",
                if be { "big" } else { "little" }
            ))
            .confidence(Confidence::High),
    )
}

struct Dirent {
    version: u32,
    ino: u32,
    kind: u8,
}

#[derive(Default)]
struct InodeInfo {
    version: u32,
    mode: u32,
    uid: u32,
    gid: u32,
    size: u32,
    /// (version, offset, node bytes) of every data node.
    pieces: Vec<(u32, u32, usize, usize)>,
}

struct Decoder {
    lzma: Option<LzmaBlock>,
}

impl Decoder {
    fn decode(&mut self, compr: u8, data: &[u8], dsize: usize) -> Result<Vec<u8>, String> {
        let out = match compr {
            0x00 => data.to_vec(),
            0x01 => vec![0u8; dsize],
            0x02 => rtime(data, dsize)?,
            0x06 => zlib_block(data, dsize)?,
            0x07 => lzo1x_decompress(data, dsize).map_err(|e| e.to_string())?.0,
            0x08 => match self.lzma {
                Some(v) => lzma_block(data, v, dsize)?,
                None => {
                    let (v, o) = lzma_detect(data, dsize).ok_or("LZMA node in no known variant")?;
                    self.lzma = Some(v);
                    o
                }
            },
            other => return Err(format!("compressor 0x{other:02x} (rubin) not supported")),
        };
        Ok(out)
    }
}

/// JFFS2's "rtime": each literal byte is followed by a repeat count copying from the last
/// position that byte was seen.
fn rtime(src: &[u8], dsize: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(dsize);
    let mut positions = [0usize; 256];
    let mut p = 0;
    while out.len() < dsize {
        let (Some(&value), Some(&repeat)) = (src.get(p), src.get(p + 1)) else {
            return Err("rtime data truncated".into());
        };
        p += 2;
        out.push(value);
        let back = positions[value as usize];
        positions[value as usize] = out.len();
        for from in back..back + repeat as usize {
            if out.len() >= dsize || from >= out.len() {
                break;
            }
            let b = out[from];
            out.push(b);
        }
    }
    Ok(out)
}

fn extract(ctx: &Ctx<'_>, d: &[u8], chunk: &Chunk) -> Result<Extracted, ExtractError> {
    let s = chunk.offset;
    let be = d.get(s) == Some(&0x19);
    let mut dirents: HashMap<(u32, Vec<u8>), Dirent> = HashMap::new();
    let mut inodes: HashMap<u32, InodeInfo> = HashMap::new();
    let (end, _) = walk(d, s, be, |kind, n| {
        let u32_ = |at| u32_e(n, at, be).unwrap_or(0);
        let start = n.as_ptr() as usize - d.as_ptr() as usize;
        match kind {
            DIRENT if n.len() >= 40 => {
                let nsize = n[28] as usize;
                let Some(name) = n.get(40..40 + nsize) else {
                    return;
                };
                if crc32_raw(0, &n[..32]) != u32_(32) {
                    return; // node CRC
                }
                let key = (u32_(12), name.to_vec());
                let version = u32_(16);
                if dirents.get(&key).is_none_or(|e| e.version < version) {
                    dirents.insert(
                        key,
                        Dirent {
                            version,
                            ino: u32_(20),
                            kind: n[29],
                        },
                    );
                }
            }
            INODE if n.len() >= 68 => {
                if crc32_raw(0, &n[..60]) != u32_(64) {
                    return;
                }
                let ino = u32_(12);
                let version = u32_(16);
                let info = inodes.entry(ino).or_default();
                if version >= info.version {
                    info.version = version;
                    info.mode = u32_(20);
                    info.uid = u16_e(n, 24, be).unwrap_or(0) as u32;
                    info.gid = u16_e(n, 26, be).unwrap_or(0) as u32;
                    info.size = u32_(28);
                }
                info.pieces.push((version, u32_(44), start, n.len()));
            }
            _ => {}
        }
    });
    ctx.root_dir()?;
    // Children of each directory inode.
    let mut children: BTreeMap<u32, Vec<(Vec<u8>, u32, u8)>> = BTreeMap::new();
    for ((parent, name), e) in &dirents {
        if e.ino != 0 {
            children
                .entry(*parent)
                .or_default()
                .push((name.clone(), e.ino, e.kind));
        }
    }
    let mut dec = Decoder { lzma: None };
    let mut files = 0u64;
    let mut stack = vec![(String::new(), 1u32, 0usize)];
    let mut seen = HashSet::new();
    while let Some((path, dir, depth)) = stack.pop() {
        if depth > 64 || !seen.insert(dir) {
            ctx.problem(format!("{path}/: directory loop, not followed"));
            continue;
        }
        for (name, ino, kind) in children.get(&dir).cloned().unwrap_or_default() {
            let name = String::from_utf8_lossy(&name).to_string();
            let full = format!("{path}/{name}");
            let rel = match sanitize(&full, true) {
                Ok(r) if !r.is_empty() && !name.contains('/') && name != "." && name != ".." => r,
                _ => {
                    ctx.problem(format!("entry refused: {full:?}"));
                    continue;
                }
            };
            let info = inodes.get(&ino);
            let meta = Meta {
                mode: info.map_or(0o644, |i| i.mode & 0o7777),
                uid: info.map_or(0, |i| i.uid),
                gid: info.map_or(0, |i| i.gid),
            };
            let content = |dec: &mut Decoder| -> Result<Vec<u8>, String> {
                let Some(info) = info else {
                    return Ok(Vec::new());
                };
                // Never allocate more than the nodes cover (a hostile size field is only a number).
                let extent = info
                    .pieces
                    .iter()
                    .map(|&(_, off, at, _)| {
                        off as usize
                            + (u32_e(&d[at..], 52, be).unwrap_or(0) as usize).min(MAX_NODE_DATA)
                    })
                    .max()
                    .unwrap_or(0);
                let size = (info.size as usize).min(extent).min(MAX_FILE);
                if (info.size as usize) > MAX_FILE {
                    return Err(format!(
                        "file of {} bytes: more than a JFFS2 partition holds",
                        info.size
                    ));
                }
                let mut buf = vec![0u8; size];
                let mut pieces = info.pieces.clone();
                pieces.sort();
                for (_, offset, at, len) in pieces {
                    let n = &d[at..at + len];
                    let csize = u32_e(n, 48, be).unwrap_or(0) as usize;
                    let dsize = (u32_e(n, 52, be).unwrap_or(0) as usize).min(MAX_NODE_DATA);
                    let Some(data) = n.get(68..68 + csize) else {
                        continue;
                    };
                    let out = dec.decode(n[56], data, dsize)?;
                    let from = offset as usize;
                    if from < buf.len() {
                        let to = (from + out.len()).min(buf.len());
                        buf[from..to].copy_from_slice(&out[..to - from]);
                    }
                }
                Ok(buf)
            };
            let r = match kind {
                4 => {
                    stack.push((full.clone(), ino, depth + 1));
                    ctx.dir(&rel, meta)
                }
                8 => {
                    files += 1;
                    match content(&mut dec) {
                        Ok(buf) => {
                            super::write_file(ctx, &rel, meta, &buf)?;
                        }
                        Err(e) if is_limit_message(&e) => return Err(ExtractError::Limit(e)),
                        Err(e) => ctx.problem(format!("{full}: {e}")),
                    }
                    Ok(())
                }
                10 => match content(&mut dec) {
                    Ok(t) => ctx.symlink(&rel, &String::from_utf8_lossy(&t), meta),
                    Err(e) => {
                        ctx.problem(format!("{full}: {e}"));
                        Ok(())
                    }
                },
                2 => ctx.special(&rel, EntryKind::CharDevice, meta),
                6 => ctx.special(&rel, EntryKind::BlockDevice, meta),
                1 => ctx.special(&rel, EntryKind::Fifo, meta),
                _ => ctx.special(&rel, EntryKind::Socket, meta),
            };
            if let Err(e) = r {
                ctx.entry_error(e)?;
            }
        }
    }
    Ok(Extracted::files(end - s, files))
}
