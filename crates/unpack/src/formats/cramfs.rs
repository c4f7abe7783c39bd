//! cramfs (`0x28CD3D45` + "Compressed ROMFS"), either endian. The superblock ends with the root
//! inode; every inode is 12 bytes of bitfields (mode 16, uid 16 / size 24, gid 8 / name length
//! 6, offset 26, in 4-byte units). A directory's entries (inode + padded name) sit at its
//! offset; a file's data is a table of block-end pointers followed by zlib blocks of 4 KiB
//! (with the hole, uncompressed and direct-pointer extensions of newer kernels).

use iotassure_core::layout::Confidence;
use iotassure_core::tree::EntryKind;

use super::bytes::{cstr, u32_e};
use super::{is_limit_message, Anchor, Chunk, Ctx, ExtractError, Extracted, Format, Kind, Magic};
use crate::codec::{zlib_block, Bits};
use crate::sink::{sanitize, Meta};

pub static FORMAT: Format = Format {
    id: "cramfs",
    kind: Kind::Filesystem,
    anchor: Anchor::Anywhere,
    magics: &[
        Magic {
            bytes: b"\x45\x3d\xcd\x28",
            at: 0,
        },
        Magic {
            bytes: b"\x28\xcd\x3d\x45",
            at: 0,
        },
    ],
    identify,
    extract: Some(extract),
};

const PAGE: usize = 4096;
const FLAG_HOLES: u32 = 0x100;
const FLAG_EXT_BLOCK_POINTERS: u32 = 0x800;
const MAX_DEPTH: usize = 64;

struct Sb {
    be: bool,
    size: u32,
    flags: u32,
    files: u32,
    name: String,
}

fn parse(d: &[u8], s: usize) -> Option<Sb> {
    let h = d.get(s..s + 76)?;
    let be = h[0] == 0x28;
    if &h[16..32] != b"Compressed ROMFS" {
        return None;
    }
    let size = u32_e(h, 4, be)?;
    if size < 76 {
        return None;
    }
    Some(Sb {
        be,
        size,
        flags: u32_e(h, 8, be)?,
        files: u32_e(h, 44, be)?,
        name: cstr(h, 48, 16),
    })
}

struct Inode {
    mode: u32,
    uid: u32,
    size: usize,
    gid: u32,
    namelen: usize,
    offset: usize,
}

fn inode(d: &[u8], at: usize, be: bool) -> Option<Inode> {
    let raw = d.get(at..at + 12)?;
    // Bitfields in the image's order: from the low bit (LE) or the high bit (BE) of each word.
    let mut b = Bits::new(raw, be);
    Some(Inode {
        mode: b.u(16)?,
        uid: b.u(16)?,
        size: b.u(24)? as usize,
        gid: b.u(8)?,
        namelen: b.u(6)? as usize * 4,
        offset: b.u(26)? as usize * 4,
    })
}

fn identify(d: &[u8], s: usize) -> Option<Chunk> {
    let sb = parse(d, s)?;
    let available = d.len() - s;
    let truncated = sb.size as usize > available;
    Some(
        Chunk::new(FORMAT.id, "cramfs", s)
            .size((sb.size as usize).min(available))
            .describe(format!(
                "cramfs file system, {} endian, size: {} bytes, {} files, name: \"{}\"{}",
                if sb.be { "big" } else { "little" },
                sb.size,
                sb.files,
                sb.name,
                if truncated { " (TRUNCATED)" } else { "" }
            ))
            .confidence(if truncated {
                Confidence::Low
            } else {
                Confidence::High
            }),
    )
}

/// The data of a file or symlink inode.
fn read_data(img: &[u8], sb: &Sb, ino: &Inode, w: &mut dyn std::io::Write) -> Result<(), String> {
    let blocks = ino.size.div_ceil(PAGE);
    let table = ino.offset;
    let mut start = table + 4 * blocks;
    let mut left = ino.size;
    for i in 0..blocks {
        let raw_ptr = u32_e(img, table + 4 * i, sb.be).ok_or("block pointer beyond the image")?;
        let want = PAGE.min(left);
        let (uncompressed, direct, ptr) = if sb.flags & FLAG_EXT_BLOCK_POINTERS != 0 {
            (
                raw_ptr & 0x8000_0000 != 0,
                raw_ptr & 0x4000_0000 != 0,
                (raw_ptr & 0x3fff_ffff) as usize,
            )
        } else {
            (false, false, raw_ptr as usize)
        };
        let (from, to) = if direct {
            // Direct pointers give the block start (in 4-byte units); its length follows.
            let from = ptr << 2;
            (
                from,
                if uncompressed {
                    from + want
                } else {
                    from + 2 + u16_from(img, from, sb.be)?
                },
            )
        } else {
            (start, ptr)
        };
        let data = if to == from && sb.flags & FLAG_HOLES != 0 {
            vec![0u8; want]
        } else {
            let raw = img.get(from..to).ok_or("data block beyond the image")?;
            if uncompressed {
                raw.to_vec()
            } else {
                let raw = if direct { &raw[2..] } else { raw };
                zlib_block(raw, PAGE)?
            }
        };
        if data.len() < want {
            return Err(format!(
                "block {i} decoded to {} bytes, expected {want}",
                data.len()
            ));
        }
        w.write_all(&data[..want]).map_err(|e| e.to_string())?;
        left -= want;
        if !direct {
            start = ptr;
        }
    }
    Ok(())
}

fn u16_from(d: &[u8], at: usize, be: bool) -> Result<usize, String> {
    super::bytes::u16_e(d, at, be)
        .map(|v| v as usize)
        .ok_or_else(|| "block length beyond the image".to_string())
}

fn extract(ctx: &Ctx<'_>, d: &[u8], chunk: &Chunk) -> Result<Extracted, ExtractError> {
    let sb = parse(d, chunk.offset)
        .ok_or_else(|| ExtractError::Bad("superblock no longer parses".into()))?;
    let img = d
        .get(chunk.offset..chunk.offset + sb.size as usize)
        .ok_or_else(|| {
            ExtractError::Bad(format!(
                "truncated: {} bytes stated, {} present",
                sb.size,
                d.len() - chunk.offset
            ))
        })?;
    let root = inode(img, 64, sb.be).ok_or_else(|| ExtractError::Bad("root inode".into()))?;
    ctx.root_dir()?;
    let mut files = 0u64;
    let mut stack = vec![(String::new(), root.offset, root.size, 0usize)];
    let mut seen = std::collections::HashSet::new();
    while let Some((path, off, size, depth)) = stack.pop() {
        if size == 0 {
            continue;
        }
        if depth > MAX_DEPTH || !seen.insert(off) {
            ctx.problem(format!("{path}/: directory loop, not followed"));
            continue;
        }
        let mut p = off;
        while p < off + size {
            let Some(ino) = inode(img, p, sb.be) else {
                ctx.problem(format!("{path}/: entry beyond the image"));
                break;
            };
            let name = img.get(p + 12..p + 12 + ino.namelen).map(|n| {
                let end = n.iter().position(|&b| b == 0).unwrap_or(n.len());
                String::from_utf8_lossy(&n[..end]).to_string()
            });
            p += 12 + ino.namelen;
            let Some(name) =
                name.filter(|n| !n.is_empty() && !n.contains('/') && n != "." && n != "..")
            else {
                ctx.problem(format!("{path}/: entry with a bad name refused"));
                continue;
            };
            let full = format!("{path}/{name}");
            let Ok(rel) = sanitize(&full, true) else {
                continue;
            };
            let meta = Meta {
                mode: ino.mode & 0o7777,
                uid: ino.uid,
                gid: ino.gid,
            };
            let r = match ino.mode & 0o170000 {
                0o040000 => {
                    stack.push((full.clone(), ino.offset, ino.size, depth + 1));
                    ctx.dir(&rel, meta)
                }
                0o100000 => {
                    files += 1;
                    match ctx.file(&rel, meta) {
                        Ok(mut out) => {
                            let r = read_data(img, &sb, &ino, &mut out);
                            out.finish();
                            if let Err(e) = r {
                                if is_limit_message(&e) {
                                    return Err(ExtractError::Limit(e));
                                }
                                ctx.problem(format!("{full}: {e}"));
                            }
                            Ok(())
                        }
                        Err(e) => Err(e),
                    }
                }
                0o120000 => {
                    let mut t = Vec::new();
                    match read_data(img, &sb, &ino, &mut t) {
                        Ok(()) => ctx.symlink(&rel, &String::from_utf8_lossy(&t), meta),
                        Err(e) => {
                            ctx.problem(format!("{full}: {e}"));
                            Ok(())
                        }
                    }
                }
                0o020000 => ctx.special(&rel, EntryKind::CharDevice, meta),
                0o060000 => ctx.special(&rel, EntryKind::BlockDevice, meta),
                0o010000 => ctx.special(&rel, EntryKind::Fifo, meta),
                _ => ctx.special(&rel, EntryKind::Socket, meta),
            };
            if let Err(e) = r {
                ctx.entry_error(e)?;
            }
        }
    }
    Ok(Extracted::files(sb.size as usize, files))
}
