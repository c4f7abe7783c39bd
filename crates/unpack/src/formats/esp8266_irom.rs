//! Raw irom0 code of an ESP8266 flash dump in the NONOS SDK's plain layout
//! (`eagle.irom0text.bin` flashed at 0x10000, or 0x40000 with SDKs before 1.5). It has no
//! header: it is found only through a hint from the ESP8266 image at offset 0 (`esp`), and it
//! runs where the chip maps flash, 0x40200000 + its flash offset.
//!
//! The region ends at the first erased (all 0xFF) 4 KiB sector: what follows is the SDK's
//! parameter sectors or a file system, scanned on their own.

use iotassure_core::layout::Confidence;
use iotassure_core::tree::BlobKind;

use super::{Anchor, Chunk, Ctx, ExtractError, Extracted, Format, Kind};

pub static FORMAT: Format = Format {
    id: "esp8266-irom0",
    kind: Kind::Blob,
    // No magic: never a candidate of its own, only a hinted one.
    anchor: Anchor::Start,
    magics: &[],
    identify,
    extract: Some(extract),
};

const SECTOR: usize = 0x1000;
const IROM_MAP: u64 = 0x4020_0000;
/// The ESP8266 maps at most 1 MiB of flash for execution.
const MAX_IROM: usize = 1 << 20;

fn extent(d: &[u8], s: usize) -> usize {
    let mut end = s;
    while end < d.len() && end - s < MAX_IROM {
        let sector = &d[end..(end + SECTOR).min(d.len())];
        if sector.iter().all(|&b| b == 0xff) {
            break;
        }
        end += sector.len();
    }
    // Trailing erased bytes of the last sector are not code.
    let used = d[s..end]
        .iter()
        .rposition(|&b| b != 0xff)
        .map_or(0, |p| p + 1);
    s + used
}

fn identify(d: &[u8], s: usize) -> Option<Chunk> {
    if s == 0 || s % SECTOR != 0 || d.first() != Some(&0xe9) {
        return None;
    }
    let size = extent(d, s) - s;
    if size < 16 {
        return None;
    }
    let load = IROM_MAP + s as u64;
    Some(
        Chunk::new(FORMAT.id, "esp8266-irom0", s)
            .size(size)
            .describe(format!(
                "ESP8266 irom0 code (NONOS SDK plain layout, no header), {size} bytes, mapped at 0x{load:08x}"
            ))
            .confidence(Confidence::Medium)
            .fact("load_address", load)
            .fact("size", size),
    )
}

fn extract(ctx: &Ctx<'_>, d: &[u8], chunk: &Chunk) -> Result<Extracted, ExtractError> {
    let size = chunk.size.unwrap_or(0);
    let bytes = d
        .get(chunk.offset..chunk.offset + size)
        .ok_or_else(|| ExtractError::Bad("irom0 region beyond the end of the image".into()))?;
    let load = IROM_MAP + chunk.offset as u64;
    let path = ctx.write_blob(&format!("irom0-0x{load:08x}-IROM.bin"), bytes)?;
    let mut ex = Extracted::blob(
        size,
        path.clone(),
        BlobKind::McuFirmware,
        format!("{size} bytes of irom0 code"),
    );
    for b in &mut ex.blobs {
        b.base_address = Some(load);
    }
    Ok(ex)
}
