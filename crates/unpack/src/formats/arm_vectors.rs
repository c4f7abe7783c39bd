//! A raw program for a classic ARM core (ARM7/ARM9/ARM11, Cortex-R, or a Cortex-A boot stage):
//! no container, only the code the core executes from address 0, recognised by the exception
//! vector table every such program starts with (ARM ARM A2.6): eight ARM instructions, each a
//! branch (`B label`, 0xEAxxxxxx) or a load of the PC from a literal (`LDR PC, [PC, #imm]`,
//! 0xE59FFxxx). Bluetooth controller ROM patches, RTOS images (ThreadX, Nucleus) and boot
//! loaders for these cores ship as exactly this.
//!
//! Seven of the eight slots must hold such an instruction (slot 5 was "address exception" on
//! ARMv2 and some tool chains leave it as data); a random or text file matches one slot with
//! odds 1 in 256 at best. The table is the chunk; the program after it becomes the
//! microcontroller blob, scanned in turn. Its load address is not in the table, so none is given.

use iotassure_core::layout::Confidence;
use iotassure_core::tree::BlobKind;

use super::{Anchor, Chunk, Ctx, ExtractError, Extracted, Format, Kind, Magic, OutBlob};

pub static FORMAT: Format = Format {
    id: "arm-vectors",
    kind: Kind::Blob,
    anchor: Anchor::Start,
    // No magic: the identify function decides from the eight instructions.
    magics: &[Magic { bytes: b"", at: 0 }],
    identify,
    extract: Some(extract),
};

const TABLE: usize = 32;
/// Smaller than this is a table with no program, not an image.
const MIN_IMAGE: usize = 512;

fn is_vector(w: u32) -> bool {
    w >> 24 == 0xea || w & 0xffff_f000 == 0xe59f_f000
}

/// How many of the eight slots hold a vector instruction, or `None` when the start is not a
/// table.
pub fn parse(d: &[u8]) -> Option<usize> {
    if d.len() < MIN_IMAGE {
        return None;
    }
    let words: Vec<u32> = d[..TABLE]
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes")))
        .collect();
    let n = words.iter().filter(|w| is_vector(**w)).count();
    (is_vector(words[0]) && n >= 7).then_some(n)
}

fn identify(d: &[u8], s: usize) -> Option<Chunk> {
    let n = parse(d.get(s..)?)?;
    Some(
        Chunk::new(FORMAT.id, "arm-vectors", s)
            .size(d.len() - s)
            .describe(format!(
                "ARM program with an exception vector table ({n} of 8 vectors are branches or PC loads)"
            ))
            .confidence(if n == 8 {
                Confidence::High
            } else {
                Confidence::Medium
            })
            .fact("vectors", n),
    )
}

fn extract(ctx: &Ctx<'_>, d: &[u8], chunk: &Chunk) -> Result<Extracted, ExtractError> {
    let image = &d[chunk.offset..];
    parse(image).ok_or_else(|| ExtractError::Bad("vector table no longer valid".into()))?;
    let path = ctx.write_blob("program.bin", &image[TABLE..])?;
    Ok(Extracted {
        consumed: image.len(),
        blobs: vec![OutBlob {
            path,
            kind: BlobKind::McuFirmware,
            base_address: None,
        }],
        note: format!("program of {} bytes after the table", image.len() - TABLE),
        facts: Default::default(),
    })
}
