//! romfs (`-rom1fs-`): big endian, everything 16-byte aligned. After the volume header (size,
//! checksum, volume name) come file headers: next header offset (its low 4 bits: type and
//! executable flag), type-specific info (a directory's first entry, a hard link's target,
//! a device's numbers), size, checksum, name, then the data.

use iotassure_core::layout::Confidence;
use iotassure_core::tree::EntryKind;

use super::bytes::u32_be;
use super::{write_file, Anchor, Chunk, Ctx, ExtractError, Extracted, Format, Kind, Magic};
use crate::sink::{sanitize, Meta};

pub static FORMAT: Format = Format {
    id: "romfs",
    kind: Kind::Filesystem,
    anchor: Anchor::Anywhere,
    magics: &[Magic {
        bytes: b"-rom1fs-",
        at: 0,
    }],
    identify,
    extract: Some(extract),
};

const MAX_DEPTH: usize = 64;
const MAX_ENTRIES: usize = 1 << 20;

fn name_at(d: &[u8], at: usize) -> Option<(String, usize)> {
    let rest = d.get(at..)?;
    let len = rest.iter().take(4096).position(|&b| b == 0)?;
    Some((
        String::from_utf8_lossy(&rest[..len]).to_string(),
        (at + len + 1).div_ceil(16) * 16,
    ))
}

fn identify(d: &[u8], s: usize) -> Option<Chunk> {
    let size = u32_be(d, s + 8)? as usize;
    let (volume, _) = name_at(d, s + 16)?;
    if size < 32 {
        return None;
    }
    let available = d.len() - s;
    Some(
        Chunk::new(FORMAT.id, "romfs", s)
            .size(size.min(available))
            .describe(format!(
                "romfs file system, size: {size} bytes, volume: \"{volume}\"{}",
                if size > available { " (TRUNCATED)" } else { "" }
            ))
            .confidence(if size > available {
                Confidence::Low
            } else {
                Confidence::High
            }),
    )
}

fn extract(ctx: &Ctx<'_>, d: &[u8], chunk: &Chunk) -> Result<Extracted, ExtractError> {
    let s = chunk.offset;
    let size = u32_be(d, s + 8).unwrap_or(0) as usize;
    let img = d
        .get(s..s + size)
        .ok_or_else(|| ExtractError::Bad("truncated".into()))?;
    let (_, first) = name_at(img, 16).ok_or_else(|| ExtractError::Bad("volume name".into()))?;
    ctx.root_dir()?;
    let mut files = 0u64;
    let mut stack = vec![(String::new(), first, 0usize)];
    let mut seen = std::collections::HashSet::new();
    let mut entries = 0;
    while let Some((dir, mut p, depth)) = stack.pop() {
        while p != 0 {
            entries += 1;
            if !seen.insert(p) || depth > MAX_DEPTH || entries > MAX_ENTRIES {
                ctx.problem(format!("{dir}/: loop in the file headers, not followed"));
                break;
            }
            let (Some(next), Some(info), Some(len)) =
                (u32_be(img, p), u32_be(img, p + 4), u32_be(img, p + 8))
            else {
                ctx.problem(format!("{dir}/: file header beyond the image"));
                break;
            };
            let Some((name, data_at)) = name_at(img, p + 16) else {
                ctx.problem(format!("{dir}/: name beyond the image"));
                break;
            };
            let kind = next & 7;
            let exec = next & 8 != 0;
            p = (next & !15) as usize;
            if name == "." || name == ".." {
                continue;
            }
            let full = format!("{dir}/{name}");
            let rel = match sanitize(&full, true) {
                Ok(r) if !r.is_empty() && !name.contains('/') => r,
                _ => {
                    ctx.problem(format!("entry refused: {full:?}"));
                    continue;
                }
            };
            let data = img.get(data_at..data_at + len as usize);
            let meta = Meta {
                mode: match kind {
                    1 => 0o755,
                    _ if exec => 0o755,
                    _ => 0o644,
                },
                uid: 0,
                gid: 0,
            };
            // A hard link names the header of its target: its data is copied.
            let (kind, data) = if kind == 0 {
                let t = info as usize;
                let target = (|| {
                    let tnext = u32_be(img, t)?;
                    let tlen = u32_be(img, t + 8)? as usize;
                    let (_, tdata) = name_at(img, t + 16)?;
                    Some((tnext & 7, img.get(tdata..tdata + tlen)))
                })();
                match target {
                    Some((2, tdata)) => (2, tdata),
                    _ => {
                        ctx.problem(format!("{full}: hard link to a non-file header, skipped"));
                        continue;
                    }
                }
            } else {
                (kind, data)
            };
            let r = match kind {
                1 => {
                    stack.push((full.clone(), info as usize, depth + 1));
                    ctx.dir(&rel, meta)
                }
                2 => {
                    files += 1;
                    match data {
                        Some(bytes) => {
                            write_file(ctx, &rel, meta, bytes)?;
                        }
                        None => ctx.problem(format!("{full}: data beyond the image")),
                    }
                    Ok(())
                }
                3 => ctx.symlink(&rel, &String::from_utf8_lossy(data.unwrap_or(&[])), meta),
                4 => ctx.special(&rel, EntryKind::BlockDevice, meta),
                5 => ctx.special(&rel, EntryKind::CharDevice, meta),
                6 => ctx.special(&rel, EntryKind::Socket, meta),
                _ => ctx.special(&rel, EntryKind::Fifo, meta),
            };
            if let Err(e) = r {
                ctx.entry_error(e)?;
            }
        }
    }
    Ok(Extracted::files(size, files))
}
