//! Intel HEX: text records `:LLAAAATT<data>CC` (data, end of file, extended segment / linear
//! address, start address), each checksummed. Becomes a flat binary per contiguous region: an
//! MCU firmware blob with its load address, which the checks scan like any flash image.

use iotassure_core::layout::Confidence;
use iotassure_core::tree::BlobKind;

use super::{Anchor, Chunk, Ctx, ExtractError, Extracted, Format, Kind, Magic, OutBlob};
use crate::flash::Flash;

pub static FORMAT: Format = Format {
    id: "intel-hex",
    kind: Kind::Blob,
    anchor: Anchor::Start,
    magics: &[Magic { bytes: b":", at: 0 }],
    identify,
    extract: Some(extract),
};

/// Data a HEX file may describe (the text is at most ~2.8× its data).
const MAX_DATA: u64 = 256 << 20;

struct Parsed {
    flash: Flash,
    records: usize,
    end: usize,
    start_address: Option<u32>,
    eof_record: bool,
}

fn hexbyte(b: &[u8]) -> Option<u8> {
    let h = |c: u8| (c as char).to_digit(16);
    Some((h(b[0])? * 16 + h(b[1])?) as u8)
}

/// Parses records from the start; `limit` stops after that many (for identification).
fn parse(d: &[u8], limit: usize) -> Result<Parsed, String> {
    let mut p = Parsed {
        flash: Flash::default(),
        records: 0,
        end: 0,
        start_address: None,
        eof_record: false,
    };
    let mut base: u64 = 0;
    let mut pos = 0;
    while pos < d.len() && p.records < limit {
        let line_end = memchr::memchr(b'\n', &d[pos..]).map_or(d.len(), |i| pos + i + 1);
        let line = d[pos..line_end].trim_ascii();
        let at = pos;
        pos = line_end;
        if line.is_empty() {
            continue;
        }
        if line[0] != b':' || line.len() < 11 || line.len() % 2 == 0 {
            return Err(format!("offset 0x{at:x}: not a HEX record"));
        }
        let bytes: Vec<u8> = line[1..]
            .chunks(2)
            .map(hexbyte)
            .collect::<Option<_>>()
            .ok_or_else(|| format!("offset 0x{at:x}: not hexadecimal"))?;
        let len = bytes[0] as usize;
        if bytes.len() != len + 5 {
            return Err(format!("offset 0x{at:x}: record length mismatch"));
        }
        if bytes.iter().fold(0u8, |a, &b| a.wrapping_add(b)) != 0 {
            return Err(format!("offset 0x{at:x}: checksum mismatch"));
        }
        p.records += 1;
        let addr = u16::from_be_bytes([bytes[1], bytes[2]]) as u64;
        let data = &bytes[4..4 + len];
        match bytes[3] {
            0 => p.flash.add(base + addr, data, MAX_DATA)?,
            1 => {
                p.eof_record = true;
                p.end = line_end;
                break;
            }
            2 if len == 2 => base = (u16::from_be_bytes([data[0], data[1]]) as u64) << 4,
            4 if len == 2 => base = (u16::from_be_bytes([data[0], data[1]]) as u64) << 16,
            3 if len == 4 => {
                let cs = u16::from_be_bytes([data[0], data[1]]) as u32;
                let ip = u16::from_be_bytes([data[2], data[3]]) as u32;
                p.start_address = Some((cs << 4) + ip);
            }
            5 if len == 4 => {
                p.start_address = Some(u32::from_be_bytes(data.try_into().unwrap_or_default()))
            }
            t => {
                return Err(format!(
                    "offset 0x{at:x}: record type {t:02X} not valid here"
                ))
            }
        }
        p.end = line_end;
    }
    Ok(p)
}

fn identify(d: &[u8], s: usize) -> Option<Chunk> {
    if s != 0 {
        return None;
    }
    // Eight good records make a HEX file; the full parse happens at extraction.
    let p = parse(d, 8).ok()?;
    if p.records < 2 && !p.eof_record {
        return None;
    }
    Some(
        Chunk::new(FORMAT.id, "ihex", 0)
            .describe("Intel HEX firmware (text records)")
            .confidence(Confidence::High),
    )
}

fn extract(ctx: &Ctx<'_>, d: &[u8], chunk: &Chunk) -> Result<Extracted, ExtractError> {
    let p = parse(&d[chunk.offset..], usize::MAX).map_err(ExtractError::Bad)?;
    if p.flash.is_empty() {
        return Err(ExtractError::Bad("no data records".into()));
    }
    if !p.eof_record {
        ctx.problem("no end-of-file record: the file may be truncated");
    }
    let regions = p.flash.regions();
    let mut blobs = Vec::new();
    let mut facts_regions = Vec::new();
    for r in &regions {
        let name = format!("flash-0x{:08x}.bin", r.start);
        let path = ctx.write_blob(&name, &r.data)?;
        blobs.push(OutBlob {
            path,
            kind: BlobKind::McuFirmware,
            base_address: Some(r.start),
        });
        facts_regions.push(serde_json::json!({
            "start": r.start, "end": r.start + r.data.len() as u64, "size": r.data.len()
        }));
    }
    let desc = regions
        .iter()
        .map(|r| {
            format!(
                "0x{:04X}-0x{:04X}",
                r.start,
                r.start + r.data.len() as u64 - 1
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let mut ex = Extracted {
        consumed: p.end,
        blobs,
        note: format!(
            "{} records, data {desc}{}",
            p.records,
            p.start_address
                .map(|a| format!(", start address 0x{a:X}"))
                .unwrap_or_default()
        ),
        facts: Default::default(),
    };
    ex.facts.insert("records".into(), p.records.into());
    ex.facts.insert("regions".into(), facts_regions.into());
    if let Some(a) = p.start_address {
        ex.facts.insert("start_address".into(), a.into());
    }
    Ok(ex)
}
