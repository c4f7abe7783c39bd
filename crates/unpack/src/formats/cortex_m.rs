//! A raw ARM Cortex-M flash image: no container, only the program as the chip executes it from
//! flash, recognised by the vector table the core reads at reset (ARMv7-M ARM B1.5.3, ARMv6-M
//! ARM B1.5.2). Most bare-metal and RTOS builds (Zephyr, Contiki-NG, FreeRTOS, STM32Cube,
//! Atmel ASF, NXP SDK) ship as exactly this.
//!
//! The table has no magic, so the test is structural and strict, because a wrong match would hide
//! the real format of an image: the initial stack pointer is word-aligned inside the SRAM region,
//! the reset vector is a Thumb address (odd) in the code region, every other filled exception
//! vector is a Thumb address in the code region too, the reserved words are zero, and every
//! handler lies inside the file once it is placed at a VTOR-aligned flash base. Text never passes
//! (an ASCII word is never odd with a top byte under 0x20) and random bytes pass with odds far
//! below one in 2^40.
//!
//! The 64-byte table is the chunk; the program after it becomes the microcontroller blob, so the
//! checks run on it and the engine still scans it for anything embedded (a compressed payload, a
//! file system in flash).

use iotassure_core::layout::Confidence;
use iotassure_core::tree::BlobKind;

use super::{Anchor, Chunk, Ctx, ExtractError, Extracted, Format, Kind, Magic, OutBlob};

pub static FORMAT: Format = Format {
    id: "cortex-m",
    kind: Kind::Blob,
    anchor: Anchor::Start,
    // No magic: the identify function decides from the table's structure.
    magics: &[Magic { bytes: b"", at: 0 }],
    identify,
    extract: Some(extract),
};

/// The 16 words the architecture defines (SP, then exceptions 1-15).
const TABLE: usize = 64;
/// Smaller than this is a table with no program, not an image.
const MIN_IMAGE: usize = 512;
/// The SRAM region (0x2000_0000..0x4000_0000) plus the tightly coupled / low SRAM some vendors map
/// below it (NXP Kinetis SRAM_L, STM32 CCM, LPC local SRAM at 0x1000_0000).
const SP_RANGE: std::ops::Range<u32> = 0x1000_0000..0x4000_0001;
/// The code region, where the core fetches vectors from.
const CODE_END: u32 = 0x2000_0000;
/// Exceptions whose slots the architecture reserves: 7 is left out because NXP LPC boot ROMs
/// store the table checksum there.
const RESERVED: [usize; 4] = [8, 9, 10, 13];

/// What the table tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VectorTable {
    pub initial_sp: u32,
    pub reset: u32,
    /// Flash address of the table's first byte: the most aligned base that puts every handler
    /// inside the file.
    pub base: u32,
    /// Filled exception vectors (NMI..SysTick), counting the reset vector.
    pub handlers: usize,
}

fn word(d: &[u8], i: usize) -> u32 {
    u32::from_le_bytes(d[i * 4..i * 4 + 4].try_into().expect("4 bytes"))
}

fn thumb_code(a: u32) -> bool {
    a & 1 == 1 && a < CODE_END
}

/// Parses a Cortex-M vector table at the start of `d`, or `None` when the bytes are not one.
pub fn parse(d: &[u8]) -> Option<VectorTable> {
    if d.len() < MIN_IMAGE {
        return None;
    }
    let sp = word(d, 0);
    let reset = word(d, 1);
    if sp & 3 != 0 || !SP_RANGE.contains(&sp) || !thumb_code(reset) {
        return None;
    }
    if RESERVED.iter().any(|&i| word(d, i) != 0) {
        return None;
    }
    let mut lo = reset & !1;
    let mut hi = lo;
    let mut handlers = 1;
    for i in (2..16).filter(|i| *i != 7 && !RESERVED.contains(i)) {
        let v = word(d, i);
        if v == 0 {
            continue;
        }
        if !thumb_code(v) {
            return None;
        }
        lo = lo.min(v & !1);
        hi = hi.max(v & !1);
        handlers += 1;
    }
    // Every handler inside the file: base in (hi - len, lo], and VTOR needs 128-byte alignment.
    let len = u32::try_from(d.len()).unwrap_or(u32::MAX);
    let base = most_aligned(hi.saturating_sub(len - 2), lo & !0x7f)?;
    Some(VectorTable {
        initial_sp: sp,
        reset,
        base,
        handlers,
    })
}

/// The multiple of the largest power of two in `[lo, hi]` (flash images start on a round
/// address: 0x0800_0000, 0x0040_0000, 0x0002_6000).
fn most_aligned(lo: u32, hi: u32) -> Option<u32> {
    if lo > hi {
        return None;
    }
    if lo == 0 {
        return Some(0);
    }
    (7..32)
        .rev()
        .map(|bits| (hi >> bits) << bits)
        .find(|&b| b >= lo)
}

fn identify(d: &[u8], s: usize) -> Option<Chunk> {
    let t = parse(d.get(s..)?)?;
    Some(
        Chunk::new(FORMAT.id, "cortex-m", s)
            .size(d.len() - s)
            .describe(format!(
                "ARM Cortex-M flash image (vector table: initial SP 0x{:08x}, reset 0x{:08x}, {} exception handlers, flash base 0x{:08x})",
                t.initial_sp, t.reset, t.handlers, t.base
            ))
            .confidence(if t.handlers >= 3 {
                Confidence::High
            } else {
                Confidence::Medium
            })
            .fact("initial_sp", t.initial_sp)
            .fact("reset_vector", t.reset)
            .fact("flash_base", t.base)
            .fact("handlers", t.handlers),
    )
}

fn extract(ctx: &Ctx<'_>, d: &[u8], chunk: &Chunk) -> Result<Extracted, ExtractError> {
    let image = &d[chunk.offset..];
    let t = parse(image).ok_or_else(|| ExtractError::Bad("vector table no longer valid".into()))?;
    let base = u64::from(t.base) + TABLE as u64;
    let path = ctx.write_blob(&format!("flash-0x{base:08x}.bin"), &image[TABLE..])?;
    Ok(Extracted {
        consumed: image.len(),
        blobs: vec![OutBlob {
            path,
            kind: BlobKind::McuFirmware,
            base_address: Some(base),
        }],
        note: format!("program of {} bytes after the table", image.len() - TABLE),
        facts: Default::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_is_the_rounder_address_in_range() {
        assert_eq!(
            most_aligned(0x0800_0000 - 0x5000, 0x0800_0100),
            Some(0x0800_0000)
        );
        assert_eq!(most_aligned(0x0800_3000, 0x0800_4200), Some(0x0800_4000));
        assert_eq!(most_aligned(0x10, 0x08), None);
    }
}
