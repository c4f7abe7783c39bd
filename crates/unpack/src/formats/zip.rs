//! ZIP archives: local file headers (`PK\3\4`) and the central directory (`PK\1\2`) ended by
//! the end-of-central-directory record (`PK\5\6`). Stored and deflated members are extracted
//! (others and encrypted members are reported); when the central directory is missing
//! (a truncated archive), the local headers are walked instead. Our own reader: a few hundred
//! lines that bound every size, instead of a crate that pulls in a dozen codecs.

use std::io::Read;

use flate2::bufread::DeflateDecoder;
use iotassure_core::layout::Confidence;
use memchr::memmem;

use super::bytes::{u16_le, u32_le};
use super::{copy_file, Anchor, Chunk, Ctx, ExtractError, Extracted, Format, Kind, Magic};
use crate::sink::{sanitize, Meta};

pub static FORMAT: Format = Format {
    id: "zip",
    kind: Kind::Filesystem,
    anchor: Anchor::Anywhere,
    magics: &[Magic {
        bytes: b"PK\x03\x04",
        at: 0,
    }],
    identify,
    extract: Some(extract),
};

struct Member {
    name: String,
    method: u16,
    flags: u16,
    csize: usize,
    usize_: usize,
    /// Offset of the local header, relative to the archive start.
    local: usize,
    mode: Option<u32>,
}

/// The end-of-central-directory record belonging to the archive at `s`: its offset and the
/// archive's end.
fn eocd(d: &[u8], s: usize) -> Option<(usize, usize)> {
    for pos in memmem::find_iter(&d[s..], b"PK\x05\x06").map(|p| s + p) {
        let entries = u16_le(d, pos + 10)? as usize;
        let cd_size = u32_le(d, pos + 12)? as usize;
        let cd_off = u32_le(d, pos + 16)? as usize;
        let comment = u16_le(d, pos + 20)? as usize;
        if s + cd_off + cd_size == pos && (entries == 0 || cd_size >= entries * 46) {
            return Some((pos, (pos + 22 + comment).min(d.len())));
        }
    }
    None
}

fn central(d: &[u8], s: usize, eocd_at: usize) -> Option<Vec<Member>> {
    let entries = u16_le(d, eocd_at + 10)? as usize;
    let mut p = s + u32_le(d, eocd_at + 16)? as usize;
    let mut out = Vec::with_capacity(entries.min(65536));
    for _ in 0..entries {
        if d.get(p..p + 4)? != b"PK\x01\x02" {
            return None;
        }
        let host = *d.get(p + 5)?;
        let flags = u16_le(d, p + 8)?;
        let method = u16_le(d, p + 10)?;
        let csize = u32_le(d, p + 20)? as usize;
        let usize_ = u32_le(d, p + 24)? as usize;
        let nlen = u16_le(d, p + 28)? as usize;
        let xlen = u16_le(d, p + 30)? as usize;
        let clen = u16_le(d, p + 32)? as usize;
        let attrs = u32_le(d, p + 38)?;
        let local = u32_le(d, p + 42)? as usize;
        let name = String::from_utf8_lossy(d.get(p + 46..p + 46 + nlen)?).to_string();
        out.push(Member {
            name,
            method,
            flags,
            csize,
            usize_,
            local,
            mode: (host == 3).then_some(attrs >> 16),
        });
        p += 46 + nlen + xlen + clen;
    }
    Some(out)
}

/// Walks local headers (no central directory): returns members and where the walk ended.
fn walk_local(d: &[u8], s: usize) -> (Vec<Member>, usize) {
    let mut out = Vec::new();
    let mut p = s;
    while d.get(p..p + 4) == Some(b"PK\x03\x04") {
        let (Some(flags), Some(method), Some(csize), Some(usize_), Some(nlen), Some(xlen)) = (
            u16_le(d, p + 6),
            u16_le(d, p + 8),
            u32_le(d, p + 18),
            u32_le(d, p + 22),
            u16_le(d, p + 26),
            u16_le(d, p + 28),
        ) else {
            break;
        };
        let Some(name) = d.get(p + 30..p + 30 + nlen as usize) else {
            break;
        };
        let data_at = p + 30 + nlen as usize + xlen as usize;
        let mut csize = csize as usize;
        if flags & 0x8 != 0 {
            // Sizes follow the data: only a deflate stream tells where it ends.
            if method != 8 {
                break;
            }
            let mut dec = DeflateDecoder::new(d.get(data_at..).unwrap_or(&[]));
            if std::io::copy(&mut (&mut dec).take(256 << 20), &mut std::io::sink()).is_err() {
                break;
            }
            csize = dec.total_in() as usize;
        }
        out.push(Member {
            name: String::from_utf8_lossy(name).to_string(),
            method,
            flags,
            csize,
            usize_: usize_ as usize,
            local: p - s,
            mode: None,
        });
        p = data_at + csize;
        if flags & 0x8 != 0 {
            // Optional signature, CRC, sizes.
            p += if d.get(p..p + 4) == Some(b"PK\x07\x08") {
                16
            } else {
                12
            };
        }
    }
    (out, p.min(d.len()))
}

fn identify(d: &[u8], s: usize) -> Option<Chunk> {
    let version = u16_le(d, s + 4)?;
    let method = u16_le(d, s + 8)?;
    let nlen = u16_le(d, s + 26)? as usize;
    let name = d.get(s + 30..s + 30 + nlen)?;
    if version > 100 || nlen == 0 || name.iter().any(|&b| b < 0x20) || method > 99 {
        return None;
    }
    let (size, how) = match eocd(d, s) {
        Some((at, end)) => (Some(end - s), format!("{} entries", u16_le(d, at + 10)?)),
        None => (None, "no central directory (truncated?)".to_string()),
    };
    let mut chunk = Chunk::new(FORMAT.id, "zip", s)
        .describe(format!(
            "Zip archive data, {how}, first member: \"{}\"",
            String::from_utf8_lossy(name)
        ))
        .confidence(if size.is_some() {
            Confidence::High
        } else {
            Confidence::Low
        });
    chunk.size = size;
    Some(chunk)
}

fn extract(ctx: &Ctx<'_>, d: &[u8], chunk: &Chunk) -> Result<Extracted, ExtractError> {
    let s = chunk.offset;
    let (members, end) = match eocd(d, s).and_then(|(at, end)| Some((central(d, s, at)?, end))) {
        Some(found) => found,
        None => {
            ctx.problem("central directory missing or damaged: members read from local headers");
            walk_local(d, s)
        }
    };
    ctx.root_dir()?;
    let mut files = 0u64;
    for m in &members {
        let rel = match sanitize(&m.name, true) {
            Ok(r) if !r.is_empty() => r,
            Ok(_) => continue,
            Err(e) => {
                ctx.problem(format!("member refused: {e}"));
                continue;
            }
        };
        let mode = m.mode.unwrap_or(0);
        let meta = Meta {
            mode: if mode & 0o7777 != 0 {
                mode & 0o7777
            } else {
                0o644
            },
            uid: 0,
            gid: 0,
        };
        if m.name.ends_with('/') || mode & 0o170000 == 0o040000 {
            if let Err(e) = ctx.dir(&rel, meta) {
                ctx.entry_error(e)?;
            }
            continue;
        }
        if m.flags & 1 != 0 {
            ctx.problem(format!("/{rel}: encrypted member, not extracted"));
            continue;
        }
        let lh = s + m.local;
        let (Some(nlen), Some(xlen)) = (u16_le(d, lh + 26), u16_le(d, lh + 28)) else {
            ctx.problem(format!("/{rel}: local header beyond the end of the data"));
            continue;
        };
        let data_at = lh + 30 + nlen as usize + xlen as usize;
        let Some(raw) = d.get(data_at..data_at.saturating_add(m.csize)) else {
            ctx.problem(format!("/{rel}: data truncated"));
            continue;
        };
        // Never more than the central directory says (a member that lies is cut there).
        let limit = m.usize_ as u64;
        let mut reader: Box<dyn Read> = match m.method {
            0 => Box::new(raw),
            8 => Box::new(DeflateDecoder::new(raw).take(limit)),
            other => {
                ctx.problem(format!("/{rel}: compression method {other} not supported"));
                continue;
            }
        };
        if mode & 0o170000 == 0o120000 {
            let mut target = String::new();
            let _ = (&mut reader).take(4096).read_to_string(&mut target);
            if let Err(e) = ctx.symlink(&rel, &target, meta) {
                ctx.entry_error(e)?;
            }
            continue;
        }
        files += 1;
        copy_file(ctx, &rel, meta, &mut reader)?;
    }
    Ok(Extracted::files(end - s, files))
}
