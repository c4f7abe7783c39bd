//! UBI images (`UBI#`): every physical erase block (PEB) starts with an erase-counter header
//! (VID header offset, data offset, CRC) and, if in use, a volume-id header (`UBI!`: volume id,
//! logical block number, sequence number, CRC). The layout volume holds the volume table
//! (names, types). Each volume is rebuilt from its logical blocks (the highest sequence number
//! wins) into a blob, which is scanned in turn: UBIFS, squashfs, anything.

use std::collections::BTreeMap;

use iotassure_core::layout::Confidence;
use iotassure_core::tree::BlobKind;

use super::bytes::{u16_be, u32_be, u64_be};
use super::{Anchor, Chunk, Ctx, ExtractError, Extracted, Format, Kind, Magic, OutBlob};
use crate::codec::crc32_raw;
use crate::sink::sanitize;

pub static FORMAT: Format = Format {
    id: "ubi",
    kind: Kind::Blob,
    anchor: Anchor::Anywhere,
    magics: &[Magic {
        bytes: b"UBI#",
        at: 0,
    }],
    identify,
    extract: Some(extract),
};

const LAYOUT_VOLUME: u32 = 0x7fff_efff;
const MAX_VOLUMES: usize = 128;

struct Ec {
    vid_offset: usize,
    data_offset: usize,
}

fn ec_header(d: &[u8], p: usize) -> Option<Ec> {
    let h = d.get(p..p + 64)?;
    if &h[..4] != b"UBI#" || crc32_raw(0xffff_ffff, &h[..60]) != u32_be(h, 60)? {
        return None;
    }
    Some(Ec {
        vid_offset: u32_be(h, 16)? as usize,
        data_offset: u32_be(h, 20)? as usize,
    })
}

struct Vid {
    vol_id: u32,
    lnum: u32,
    data_size: u32,
    sqnum: u64,
    static_vol: bool,
}

fn vid_header(d: &[u8], p: usize) -> Option<Vid> {
    let h = d.get(p..p + 64)?;
    if &h[..4] != b"UBI!" || crc32_raw(0xffff_ffff, &h[..60]) != u32_be(h, 60)? {
        return None;
    }
    Some(Vid {
        static_vol: h[5] == 2,
        vol_id: u32_be(h, 8)?,
        lnum: u32_be(h, 12)?,
        data_size: u32_be(h, 20)?,
        sqnum: u64_be(h, 40)?,
    })
}

/// The erase block size: the distance to the next erase-counter header.
fn peb_size(d: &[u8], s: usize) -> Option<usize> {
    [
        1 << 14,
        1 << 15,
        1 << 16,
        1 << 17,
        1 << 18,
        1 << 19,
        1 << 20,
        1 << 21,
    ]
    .into_iter()
    .find(|&n| ec_header(d, s + n).is_some())
}

fn identify(d: &[u8], s: usize) -> Option<Chunk> {
    let ec = ec_header(d, s)?;
    let peb = peb_size(d, s).unwrap_or(d.len() - s);
    if ec.data_offset >= peb || ec.vid_offset >= ec.data_offset {
        return None;
    }
    let mut n = 0;
    while ec_header(d, s + n * peb).is_some() {
        n += 1;
    }
    Some(
        Chunk::new(FORMAT.id, "ubi", s)
            .size(n * peb)
            .describe(format!(
                "UBI image, erase block size: {peb} bytes, {n} erase blocks, data offset: {}",
                ec.data_offset
            ))
            .confidence(Confidence::High)
            .fact("peb_size", peb)
            .fact("pebs", n),
    )
}

fn extract(ctx: &Ctx<'_>, d: &[u8], chunk: &Chunk) -> Result<Extracted, ExtractError> {
    let s = chunk.offset;
    let first = ec_header(d, s).ok_or_else(|| ExtractError::Bad("erase-counter header".into()))?;
    let peb = peb_size(d, s).unwrap_or(d.len() - s);
    let leb = peb - first.data_offset;
    // volume → lnum → (sqnum, data offset, data size)
    let mut vols: BTreeMap<u32, BTreeMap<u32, (u64, usize, usize)>> = BTreeMap::new();
    let mut statics = std::collections::HashSet::new();
    let mut p = s;
    while let Some(ec) = ec_header(d, p) {
        if let Some(v) = vid_header(d, p + ec.vid_offset) {
            let size = if v.static_vol {
                v.data_size as usize
            } else {
                leb
            };
            if v.static_vol {
                statics.insert(v.vol_id);
            }
            let slot = vols.entry(v.vol_id).or_default();
            if slot.get(&v.lnum).is_none_or(|e| e.0 < v.sqnum) && v.lnum < (1 << 20) {
                slot.insert(v.lnum, (v.sqnum, p + ec.data_offset, size.min(leb)));
            }
        }
        p += peb;
        if vols.len() > MAX_VOLUMES {
            return Err(ExtractError::Bad("more than 128 volumes".into()));
        }
    }
    // Names from the volume table (layout volume, first record array).
    let mut names: BTreeMap<u32, String> = BTreeMap::new();
    if let Some((_, at, _)) = vols.get(&LAYOUT_VOLUME).and_then(|l| l.get(&0)).copied() {
        for i in 0..MAX_VOLUMES {
            let Some(rec) = d.get(at + i * 172..at + (i + 1) * 172) else {
                break;
            };
            if crc32_raw(0xffff_ffff, &rec[..168]) != u32_be(rec, 168).unwrap_or(0) {
                continue;
            }
            let len = (u16_be(rec, 14).unwrap_or(0) as usize).min(127);
            if len > 0 {
                names.insert(
                    i as u32,
                    String::from_utf8_lossy(&rec[16..16 + len]).to_string(),
                );
            }
        }
    }
    let mut blobs = Vec::new();
    let mut listed = Vec::new();
    for (id, lebs) in vols.iter().filter(|(id, _)| **id != LAYOUT_VOLUME) {
        let name = names.get(id).cloned().unwrap_or_else(|| format!("vol{id}"));
        let file = match sanitize(&name, false) {
            Ok(n) if !n.is_empty() && !n.contains('/') => format!("{id}-{n}.ubivol"),
            _ => format!("{id}.ubivol"),
        };
        let mut out = ctx.blob(&file)?;
        let last = lebs.keys().next_back().copied().unwrap_or(0);
        use std::io::Write;
        let blank = vec![0xffu8; leb];
        for lnum in 0..=last {
            let r = match lebs.get(&lnum) {
                Some(&(_, at, size)) => out.write_all(d.get(at..at + size).unwrap_or(&[])),
                None if !statics.contains(id) => out.write_all(&blank),
                None => Ok(()),
            };
            r?;
        }
        out.finish();
        listed.push(format!("{name} ({} LEBs)", lebs.len()));
        blobs.push(OutBlob {
            path: ctx.blob_path(&file),
            kind: BlobKind::Raw,
            base_address: None,
        });
    }
    Ok(Extracted {
        consumed: (p - s).max(peb),
        note: format!("volumes: {}", listed.join(", ")),
        blobs,
        facts: Default::default(),
    })
}
