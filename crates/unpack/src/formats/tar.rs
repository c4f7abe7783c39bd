//! POSIX/GNU tar (`ustar` at offset 257, header checksum verified). Members are written through
//! the sink: absolute names and `..` are refused, links recorded, device nodes never created.

use iotassure_core::layout::Confidence;
use iotassure_core::tree::EntryKind;
use tar::{Archive, EntryType};

use super::{copy_file, Anchor, Chunk, Ctx, ExtractError, Extracted, Format, Kind, Magic};
use crate::codec::SliceCounter;
use crate::sink::{sanitize, Meta};

pub static FORMAT: Format = Format {
    id: "tar",
    kind: Kind::Filesystem,
    anchor: Anchor::Anywhere,
    magics: &[Magic {
        bytes: b"ustar",
        at: 257,
    }],
    identify,
    extract: Some(extract),
};

fn checksum_ok(h: &[u8]) -> bool {
    let field = String::from_utf8_lossy(&h[148..156]);
    let Ok(stored) = u32::from_str_radix(field.trim_matches(|c: char| c == '\0' || c == ' '), 8)
    else {
        return false;
    };
    let sum: u32 = h
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                b as u32
            }
        })
        .sum();
    sum == stored
}

fn identify(d: &[u8], s: usize) -> Option<Chunk> {
    let h = d.get(s..s + 512)?;
    if !checksum_ok(h) {
        return None;
    }
    let gnu = &h[257..265] == b"ustar  \0";
    Some(
        Chunk::new(FORMAT.id, "tar", s)
            .describe(if gnu {
                "POSIX tar archive (GNU)"
            } else {
                "POSIX tar archive"
            })
            .confidence(Confidence::High),
    )
}

fn extract(ctx: &Ctx<'_>, d: &[u8], chunk: &Chunk) -> Result<Extracted, ExtractError> {
    let mut archive = Archive::new(SliceCounter::new(&d[chunk.offset..]));
    ctx.root_dir()?;
    let mut files = 0u64;
    let entries = archive
        .entries()
        .map_err(|e| ExtractError::Bad(format!("tar: {e}")))?;
    for entry in entries {
        let mut entry = match entry {
            Ok(e) => e,
            Err(e) => {
                ctx.problem(format!(
                    "tar entry unreadable (archive truncated or corrupt): {e}"
                ));
                break;
            }
        };
        let name = String::from_utf8_lossy(&entry.path_bytes()).to_string();
        let rel = match sanitize(&name, true) {
            Ok(r) if !r.is_empty() => r,
            Ok(_) => continue,
            Err(e) => {
                ctx.problem(format!("member refused: {e}"));
                continue;
            }
        };
        let h = entry.header();
        let meta = Meta {
            mode: h.mode().unwrap_or(0o644),
            uid: h.uid().unwrap_or(0) as u32,
            gid: h.gid().unwrap_or(0) as u32,
        };
        let kind = h.entry_type();
        let link = entry
            .link_name_bytes()
            .map(|l| String::from_utf8_lossy(&l).to_string());
        let r = match kind {
            EntryType::Directory => ctx.dir(&rel, meta),
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                files += 1;
                copy_file(ctx, &rel, meta, &mut entry)?;
                Ok(())
            }
            EntryType::Symlink => ctx.symlink(&rel, link.as_deref().unwrap_or(""), meta),
            // A hard link is recorded as a link to the member it names; nothing is copied.
            EntryType::Link => {
                ctx.symlink(&rel, &format!("/{}", link.as_deref().unwrap_or("")), meta)
            }
            EntryType::Char => ctx.special(&rel, EntryKind::CharDevice, meta),
            EntryType::Block => ctx.special(&rel, EntryKind::BlockDevice, meta),
            EntryType::Fifo => ctx.special(&rel, EntryKind::Fifo, meta),
            _ => continue,
        };
        if let Err(e) = r {
            ctx.entry_error(e)?;
        }
    }
    drop(archive.entries());
    let consumed = archive.into_inner().pos;
    Ok(Extracted::files(consumed, files))
}
