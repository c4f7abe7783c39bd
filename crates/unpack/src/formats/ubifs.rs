//! UBIFS (a UBI volume's contents, node magic 0x06101831, little endian). The superblock node
//! (LEB 0) gives the LEB size; the master node (LEB 1 or 2, newest sequence number) gives the
//! root of the index B+tree. Walking the index reaches the current leaf nodes: inode nodes
//! (mode, owner, size, inline data for symlinks), directory entries (parent, name, child inode)
//! and data nodes (4 KiB blocks compressed with LZO, zlib's raw deflate or zstd).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;

use iotassure_core::layout::Confidence;
use iotassure_core::tree::EntryKind;

use super::bytes::{u16_le, u32_le, u64_le};
use super::{is_limit_message, Anchor, Chunk, Ctx, ExtractError, Extracted, Format, Kind, Magic};
use crate::codec::{crc32_raw, lzo1x_decompress, read_capped};
use crate::sink::{sanitize, Meta};

pub static FORMAT: Format = Format {
    id: "ubifs",
    kind: Kind::Filesystem,
    anchor: Anchor::Anywhere,
    magics: &[Magic {
        bytes: b"\x31\x18\x10\x06",
        at: 0,
    }],
    identify,
    extract: Some(extract),
};

const BLOCK: usize = 4096;
const MAX_INDEX_DEPTH: usize = 64;
const MAX_NODES: usize = 4 << 20;

const INO_NODE: u8 = 0;
const DATA_NODE: u8 = 1;
const DENT_NODE: u8 = 2;
const SB_NODE: u8 = 6;
const MST_NODE: u8 = 7;
const IDX_NODE: u8 = 9;

/// A node at `p` with a valid CRC: (type, length).
fn node(d: &[u8], p: usize) -> Option<(u8, usize)> {
    let h = d.get(p..p + 24)?;
    if u32_le(h, 0)? != 0x0610_1831 {
        return None;
    }
    let len = u32_le(h, 16)? as usize;
    if len < 24 || crc32_raw(0xffff_ffff, d.get(p + 8..p + len)?) != u32_le(h, 4)? {
        return None;
    }
    Some((h[20], len))
}

struct Sb {
    leb_size: usize,
    leb_cnt: u32,
    compr: u16,
}

fn superblock(d: &[u8], s: usize) -> Option<Sb> {
    let (kind, _) = node(d, s)?;
    if kind != SB_NODE {
        return None;
    }
    let leb_size = u32_le(d, s + 36)? as usize;
    if !(4096..=4 << 20).contains(&leb_size) {
        return None;
    }
    Some(Sb {
        leb_size,
        leb_cnt: u32_le(d, s + 40)?,
        compr: u16_le(d, s + 84)?,
    })
}

fn compr_name(c: u16) -> &'static str {
    match c {
        0 => "none",
        1 => "lzo",
        2 => "zlib",
        3 => "zstd",
        _ => "unknown",
    }
}

fn identify(d: &[u8], s: usize) -> Option<Chunk> {
    let sb = superblock(d, s)?;
    let size = (sb.leb_size * sb.leb_cnt as usize).min(d.len() - s);
    Some(
        Chunk::new(FORMAT.id, "ubifs", s)
            .size(size)
            .describe(format!(
                "UBIFS file system, LEB size: {}, LEB count: {}, default compression: {}",
                sb.leb_size,
                sb.leb_cnt,
                compr_name(sb.compr)
            ))
            .confidence(Confidence::High),
    )
}

#[derive(Default, Clone)]
struct Ino {
    mode: u32,
    uid: u32,
    gid: u32,
    size: u64,
    /// Inline data (a symlink's target).
    data: Vec<u8>,
}

fn decompress(compr: u16, data: &[u8], size: usize) -> Result<Vec<u8>, String> {
    match compr {
        0 => Ok(data.to_vec()),
        1 => Ok(lzo1x_decompress(data, size).map_err(|e| e.to_string())?.0),
        2 => {
            // The kernel's "zlib" is a raw deflate stream.
            let mut r = flate2::read::DeflateDecoder::new(data);
            let (out, st) = read_capped(&mut r, size);
            st.map(|()| out)
        }
        3 => {
            let mut r =
                zstd::stream::read::Decoder::with_buffer(data).map_err(|e| e.to_string())?;
            let (out, st) = read_capped(&mut (&mut r).take(size as u64 + 1), size);
            st.map(|()| out)
        }
        other => Err(format!("compression type {other} not supported")),
    }
}

fn extract(ctx: &Ctx<'_>, d: &[u8], chunk: &Chunk) -> Result<Extracted, ExtractError> {
    let s = chunk.offset;
    let sb = superblock(d, s).ok_or_else(|| ExtractError::Bad("superblock node".into()))?;
    let img = &d[s..(s + sb.leb_size * sb.leb_cnt as usize).min(d.len())];
    let at = |lnum: u32, offs: u32| lnum as usize * sb.leb_size + offs as usize;
    // The newest master node (LEB 1 and 2 hold copies; each LEB may hold several).
    let mut master: Option<(u64, usize)> = None;
    for lnum in [1u32, 2] {
        for p in (at(lnum, 0)..at(lnum + 1, 0).min(img.len())).step_by(8) {
            if let Some((MST_NODE, _)) = node(img, p) {
                let sq = u64_le(img, p + 8).unwrap_or(0);
                if master.is_none_or(|(m, _)| m < sq) {
                    master = Some((sq, p));
                }
            }
        }
    }
    let (_, m) = master.ok_or_else(|| ExtractError::Bad("no valid master node".into()))?;
    let root = (
        u32_le(img, m + 48).unwrap_or(0),
        u32_le(img, m + 52).unwrap_or(0),
    );
    // Walk the index to the leaves.
    let mut inodes: HashMap<u64, Ino> = HashMap::new();
    let mut dents: BTreeMap<u64, Vec<(String, u64, u8)>> = BTreeMap::new();
    let mut data: HashMap<u64, Vec<(u32, usize)>> = HashMap::new();
    let mut stack = vec![(root.0, root.1, 0usize)];
    let mut visited = HashSet::new();
    let mut count = 0;
    while let Some((lnum, offs, depth)) = stack.pop() {
        count += 1;
        if depth > MAX_INDEX_DEPTH || count > MAX_NODES || !visited.insert((lnum, offs)) {
            ctx.problem("index tree loops or is too deep: partly read");
            break;
        }
        let p = at(lnum, offs);
        let Some((kind, len)) = node(img, p) else {
            ctx.problem(format!("bad node at LEB {lnum}:{offs}"));
            continue;
        };
        let n = &img[p..p + len];
        match kind {
            IDX_NODE => {
                let children = u16_le(n, 24).unwrap_or(0) as usize;
                for i in 0..children {
                    let b = 28 + i * 20;
                    if let (Some(l), Some(o)) = (u32_le(n, b), u32_le(n, b + 4)) {
                        stack.push((l, o, depth + 1));
                    }
                }
            }
            INO_NODE => {
                let inum = u32_le(n, 24).unwrap_or(0) as u64;
                let dlen = u32_le(n, 112).unwrap_or(0) as usize;
                inodes.insert(
                    inum,
                    Ino {
                        size: u64_le(n, 48).unwrap_or(0),
                        uid: u32_le(n, 96).unwrap_or(0),
                        gid: u32_le(n, 100).unwrap_or(0),
                        mode: u32_le(n, 104).unwrap_or(0),
                        data: n.get(160..160 + dlen).unwrap_or(&[]).to_vec(),
                    },
                );
            }
            DENT_NODE => {
                let parent = u32_le(n, 24).unwrap_or(0) as u64;
                let child = u64_le(n, 40).unwrap_or(0);
                let nlen = u16_le(n, 50).unwrap_or(0) as usize;
                if let Some(name) = n.get(56..56 + nlen) {
                    dents.entry(parent).or_default().push((
                        String::from_utf8_lossy(name).to_string(),
                        child,
                        n[49],
                    ));
                }
            }
            DATA_NODE => {
                let inum = u32_le(n, 24).unwrap_or(0) as u64;
                let block = u32_le(n, 28).unwrap_or(0) & 0x1fff_ffff;
                data.entry(inum).or_default().push((block, p));
            }
            _ => {}
        }
    }
    ctx.root_dir()?;
    let mut files = 0u64;
    let mut walk = vec![(String::new(), 1u64, 0usize)];
    let mut seen = HashSet::new();
    while let Some((path, dir, depth)) = walk.pop() {
        if depth > 64 {
            ctx.problem(format!("{path}/: nesting too deep, not followed"));
            continue;
        }
        if !seen.insert(dir) {
            ctx.problem(format!(
                "{path}/: directory loop: inode {dir} is already extracted, not followed"
            ));
            continue;
        }
        for (name, inum, _) in dents.get(&dir).cloned().unwrap_or_default() {
            let full = format!("{path}/{name}");
            let rel = match sanitize(&full, true) {
                Ok(r) if !r.is_empty() && !name.contains('/') && name != "." && name != ".." => r,
                _ => {
                    ctx.problem(format!("entry refused: {full:?}"));
                    continue;
                }
            };
            let ino = inodes.get(&inum).cloned().unwrap_or_default();
            let meta = Meta {
                mode: ino.mode & 0o7777,
                uid: ino.uid,
                gid: ino.gid,
            };
            let r = match ino.mode & 0o170000 {
                0o040000 => {
                    walk.push((full.clone(), inum, depth + 1));
                    ctx.dir(&rel, meta)
                }
                0o120000 => ctx.symlink(&rel, &String::from_utf8_lossy(&ino.data), meta),
                0o020000 => ctx.special(&rel, EntryKind::CharDevice, meta),
                0o060000 => ctx.special(&rel, EntryKind::BlockDevice, meta),
                0o010000 => ctx.special(&rel, EntryKind::Fifo, meta),
                0o140000 => ctx.special(&rel, EntryKind::Socket, meta),
                _ => {
                    files += 1;
                    let mut blocks = data.get(&inum).cloned().unwrap_or_default();
                    blocks.sort();
                    let mut out = match ctx.file(&rel, meta) {
                        Ok(f) => f,
                        Err(e) => {
                            ctx.entry_error(e)?;
                            continue;
                        }
                    };
                    let mut written = 0u64;
                    let mut err = None;
                    for (block, p) in blocks {
                        let (Some(size), Some(compr), Some(len)) = (
                            u32_le(img, p + 40),
                            u16_le(img, p + 44),
                            u32_le(img, p + 16),
                        ) else {
                            continue;
                        };
                        let Some(raw) = img.get(p + 48..p + len as usize) else {
                            continue;
                        };
                        let start = block as u64 * BLOCK as u64;
                        if start >= ino.size {
                            continue;
                        }
                        // Holes between blocks are zeros.
                        use std::io::Write;
                        while written < start {
                            let n = (start - written).min(BLOCK as u64) as usize;
                            if let Err(e) = out.write_all(&vec![0u8; n]) {
                                err = Some(e.to_string());
                                break;
                            }
                            written += n as u64;
                        }
                        match decompress(compr, raw, (size as usize).min(BLOCK)) {
                            Ok(bytes) => {
                                let keep = (bytes.len() as u64).min(ino.size - written) as usize;
                                if let Err(e) = out.write_all(&bytes[..keep]) {
                                    err = Some(e.to_string());
                                    break;
                                }
                                written += keep as u64;
                            }
                            Err(e) => {
                                err = Some(format!("block {block}: {e}"));
                                break;
                            }
                        }
                    }
                    out.finish();
                    if let Some(e) = err {
                        if is_limit_message(&e) {
                            return Err(ExtractError::Limit(e));
                        }
                        ctx.problem(format!("{full}: {e}"));
                    }
                    Ok(())
                }
            };
            if let Err(e) = r {
                ctx.entry_error(e)?;
            }
        }
    }
    Ok(Extracted::files(img.len(), files))
}
