//! Motorola S-records: `S0` header, `S1`/`S2`/`S3` data with 16/24/32-bit addresses, `S5`/`S6`
//! counts, `S7`/`S8`/`S9` start address; each record checksummed (ones' complement of the byte
//! sum). Becomes flat binaries per contiguous region, like Intel HEX.

use iotassure_core::layout::Confidence;
use iotassure_core::tree::BlobKind;

use super::{Anchor, Chunk, Ctx, ExtractError, Extracted, Format, Kind, Magic, OutBlob};
use crate::flash::Flash;

pub static FORMAT: Format = Format {
    id: "srec",
    kind: Kind::Blob,
    anchor: Anchor::Start,
    magics: &[
        Magic {
            bytes: b"S0",
            at: 0,
        },
        Magic {
            bytes: b"S1",
            at: 0,
        },
        Magic {
            bytes: b"S2",
            at: 0,
        },
        Magic {
            bytes: b"S3",
            at: 0,
        },
    ],
    identify,
    extract: Some(extract),
};

const MAX_DATA: u64 = 256 << 20;

struct Parsed {
    flash: Flash,
    records: usize,
    end: usize,
    header: String,
    start_address: Option<u32>,
}

fn parse(d: &[u8], limit: usize) -> Result<Parsed, String> {
    let mut p = Parsed {
        flash: Flash::default(),
        records: 0,
        end: 0,
        header: String::new(),
        start_address: None,
    };
    let mut pos = 0;
    while pos < d.len() && p.records < limit {
        let line_end = memchr::memchr(b'\n', &d[pos..]).map_or(d.len(), |i| pos + i + 1);
        let line = d[pos..line_end].trim_ascii();
        let at = pos;
        pos = line_end;
        if line.is_empty() {
            continue;
        }
        if line.len() < 10 || line[0] != b'S' || line.len() % 2 != 0 {
            return Err(format!("offset 0x{at:x}: not an S-record"));
        }
        let kind = line[1];
        let bytes: Vec<u8> = line[2..]
            .chunks(2)
            .map(|b| {
                let h = |c: u8| (c as char).to_digit(16);
                Some((h(b[0])? * 16 + h(b[1])?) as u8)
            })
            .collect::<Option<_>>()
            .ok_or_else(|| format!("offset 0x{at:x}: not hexadecimal"))?;
        if bytes[0] as usize + 1 != bytes.len() {
            return Err(format!("offset 0x{at:x}: record length mismatch"));
        }
        if bytes.iter().fold(0u8, |a, &b| a.wrapping_add(b)) != 0xff {
            return Err(format!("offset 0x{at:x}: checksum mismatch"));
        }
        let alen = match kind {
            b'0' | b'1' | b'5' | b'9' => 2,
            b'2' | b'6' | b'8' => 3,
            b'3' | b'7' => 4,
            _ => {
                return Err(format!(
                    "offset 0x{at:x}: unknown record type S{}",
                    kind as char
                ))
            }
        };
        if bytes.len() < 2 + alen {
            return Err(format!("offset 0x{at:x}: record too short"));
        }
        let addr = bytes[1..1 + alen]
            .iter()
            .fold(0u64, |a, &b| (a << 8) | b as u64);
        let data = &bytes[1 + alen..bytes.len() - 1];
        p.records += 1;
        p.end = line_end;
        match kind {
            b'0' => {
                p.header = String::from_utf8_lossy(data)
                    .trim_end_matches('\0')
                    .to_string()
            }
            b'1' | b'2' | b'3' => p.flash.add(addr, data, MAX_DATA)?,
            b'7' | b'8' | b'9' => {
                p.start_address = Some(addr as u32);
                break;
            }
            _ => {}
        }
    }
    Ok(p)
}

fn identify(d: &[u8], s: usize) -> Option<Chunk> {
    if s != 0 {
        return None;
    }
    let p = parse(d, 8).ok()?;
    if p.records < 2 {
        return None;
    }
    Some(
        Chunk::new(FORMAT.id, "srec", 0)
            .describe(format!(
                "Motorola S-record firmware{}",
                if p.header.is_empty() {
                    String::new()
                } else {
                    format!(", header: \"{}\"", p.header)
                }
            ))
            .confidence(Confidence::High),
    )
}

fn extract(ctx: &Ctx<'_>, d: &[u8], chunk: &Chunk) -> Result<Extracted, ExtractError> {
    let p = parse(&d[chunk.offset..], usize::MAX).map_err(ExtractError::Bad)?;
    if p.flash.is_empty() {
        return Err(ExtractError::Bad("no data records".into()));
    }
    let regions = p.flash.regions();
    let mut blobs = Vec::new();
    let mut facts_regions = Vec::new();
    for r in &regions {
        let path = ctx.write_blob(&format!("flash-0x{:08x}.bin", r.start), &r.data)?;
        blobs.push(OutBlob {
            path,
            kind: BlobKind::McuFirmware,
            base_address: Some(r.start),
        });
        facts_regions.push(serde_json::json!({
            "start": r.start, "end": r.start + r.data.len() as u64, "size": r.data.len()
        }));
    }
    let mut ex = Extracted {
        consumed: p.end,
        blobs,
        note: format!("{} records, {} region(s)", p.records, regions.len()),
        facts: Default::default(),
    };
    ex.facts.insert("records".into(), p.records.into());
    ex.facts.insert("regions".into(), facts_regions.into());
    if let Some(a) = p.start_address {
        ex.facts.insert("start_address".into(), a.into());
    }
    Ok(ex)
}
