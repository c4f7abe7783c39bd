//! cpio archives: "new" ASCII (`070701`, and `070702` with checksums: what the kernel's
//! initramfs uses), portable ASCII (`070707`, odc) and old binary (`0x71C7` either endian).
//! Members are written through the sink: absolute names and `..` are refused, symlinks recorded
//! (created only when they stay inside), device nodes never created.

use iotassure_core::layout::Confidence;
use iotassure_core::tree::EntryKind;

use super::{write_file, Anchor, Chunk, Ctx, ExtractError, Extracted, Format, Kind, Magic};
use crate::sink::{sanitize, Meta};

pub static FORMAT: Format = Format {
    id: "cpio",
    kind: Kind::Filesystem,
    anchor: Anchor::Anywhere,
    magics: &[
        Magic {
            bytes: b"070701",
            at: 0,
        },
        Magic {
            bytes: b"070702",
            at: 0,
        },
        Magic {
            bytes: b"070707",
            at: 0,
        },
    ],
    identify,
    extract: Some(extract),
};

/// The old binary variant: its two-byte magic would match all over binaries, so inside the
/// files of a filesystem it is only tried at offset 0.
pub static BINARY: Format = Format {
    id: "cpio-binary",
    kind: Kind::Filesystem,
    anchor: Anchor::Weak,
    magics: &[
        Magic {
            bytes: b"\xc7\x71",
            at: 0,
        },
        Magic {
            bytes: b"\x71\xc7",
            at: 0,
        },
    ],
    identify,
    extract: Some(extract),
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Variant {
    Newc,
    Odc,
    BinLe,
    BinBe,
}

struct Member<'a> {
    name: String,
    mode: u32,
    uid: u32,
    gid: u32,
    data: &'a [u8],
    /// Offset of the next header.
    next: usize,
}

fn hex(f: &[u8]) -> Option<u32> {
    u32::from_str_radix(std::str::from_utf8(f).ok()?, 16).ok()
}

fn oct(f: &[u8]) -> Option<u64> {
    u64::from_str_radix(std::str::from_utf8(f).ok()?, 8).ok()
}

fn align(n: usize, a: usize) -> usize {
    n.div_ceil(a) * a
}

fn variant(d: &[u8], p: usize) -> Option<Variant> {
    match d.get(p..p + 6)? {
        b"070701" | b"070702" => Some(Variant::Newc),
        b"070707" => Some(Variant::Odc),
        m if m[..2] == [0xc7, 0x71] => Some(Variant::BinLe),
        m if m[..2] == [0x71, 0xc7] => Some(Variant::BinBe),
        _ => None,
    }
}

/// Parses the member at `p` (relative to the archive start `base`, for alignment).
fn member(d: &[u8], base: usize, p: usize, v: Variant) -> Option<Member<'_>> {
    let (mode, uid, gid, namesize, filesize, hdr) = match v {
        Variant::Newc => {
            let h = d.get(p..p + 110)?;
            (
                hex(&h[14..22])?,
                hex(&h[22..30])?,
                hex(&h[30..38])?,
                hex(&h[94..102])? as usize,
                hex(&h[54..62])? as usize,
                110,
            )
        }
        Variant::Odc => {
            let h = d.get(p..p + 76)?;
            (
                oct(&h[18..24])? as u32,
                oct(&h[24..30])? as u32,
                oct(&h[30..36])? as u32,
                oct(&h[59..65])? as usize,
                oct(&h[65..76])? as usize,
                76,
            )
        }
        Variant::BinLe | Variant::BinBe => {
            let h = d.get(p..p + 26)?;
            let w = |i: usize| -> u32 {
                let b = [h[i], h[i + 1]];
                (if v == Variant::BinLe {
                    u16::from_le_bytes(b)
                } else {
                    u16::from_be_bytes(b)
                }) as u32
            };
            (
                w(6),
                w(8),
                w(10),
                w(20) as usize,
                ((w(22) << 16) | w(24)) as usize,
                26,
            )
        }
    };
    if namesize == 0 || namesize > 4096 {
        return None;
    }
    let name_bytes = d.get(p + hdr..p + hdr + namesize)?;
    let name_bytes = name_bytes.strip_suffix(&[0])?;
    if name_bytes.iter().any(|&b| b < 0x20) {
        return None;
    }
    let name = String::from_utf8_lossy(name_bytes).to_string();
    let unit = match v {
        Variant::Newc => 4,
        Variant::Odc => 1,
        _ => 2,
    };
    let data_at = base + align(p - base + hdr + namesize, unit);
    let data = d.get(data_at..data_at.checked_add(filesize)?)?;
    Some(Member {
        name,
        mode,
        uid,
        gid,
        data,
        next: base + align(data_at + filesize - base, unit),
    })
}

fn identify(d: &[u8], s: usize) -> Option<Chunk> {
    let v = variant(d, s)?;
    let m = member(d, s, s, v)?;
    // The first member's name must look like a path.
    if m.name.is_empty() || m.name.chars().any(|c| c.is_control()) {
        return None;
    }
    let what = match v {
        Variant::Newc => "new ASCII (newc)",
        Variant::Odc => "portable ASCII (odc)",
        Variant::BinLe => "old binary, little endian",
        Variant::BinBe => "old binary, big endian",
    };
    Some(
        Chunk::new(FORMAT.id, "cpio", s)
            .describe(format!(
                "cpio archive, {what}, first member: \"{}\"",
                m.name
            ))
            .confidence(Confidence::High),
    )
}

fn extract(ctx: &Ctx<'_>, d: &[u8], chunk: &Chunk) -> Result<Extracted, ExtractError> {
    let base = chunk.offset;
    let v = variant(d, base).ok_or_else(|| ExtractError::Bad("bad cpio magic".into()))?;
    ctx.root_dir()?;
    let mut p = base;
    let mut files = 0u64;
    let mut ended = false;
    while variant(d, p) == Some(v) {
        let Some(m) = member(d, base, p, v) else {
            ctx.problem(format!(
                "member at +0x{:x} is truncated or corrupt",
                p - base
            ));
            break;
        };
        p = m.next.min(d.len());
        if m.name == "TRAILER!!!" {
            ended = true;
            break;
        }
        let rel = match sanitize(&m.name, true) {
            Ok(r) if !r.is_empty() => r,
            Ok(_) => continue,
            Err(e) => {
                ctx.problem(format!("member refused: {e}"));
                continue;
            }
        };
        let meta = Meta {
            mode: m.mode & 0o7777,
            uid: m.uid,
            gid: m.gid,
        };
        let r = match m.mode & 0o170000 {
            0o040000 => ctx.dir(&rel, meta),
            0o100000 | 0 => {
                files += 1;
                write_file(ctx, &rel, meta, m.data)?;
                Ok(())
            }
            0o120000 => ctx.symlink(&rel, &String::from_utf8_lossy(m.data), meta),
            0o020000 => ctx.special(&rel, EntryKind::CharDevice, meta),
            0o060000 => ctx.special(&rel, EntryKind::BlockDevice, meta),
            0o010000 => ctx.special(&rel, EntryKind::Fifo, meta),
            _ => ctx.special(&rel, EntryKind::Socket, meta),
        };
        if let Err(e) = r {
            ctx.entry_error(e)?;
        }
    }
    if !ended {
        ctx.problem("archive ends without its TRAILER!!! member (truncated?)");
    }
    Ok(Extracted::files(p - base, files))
}
