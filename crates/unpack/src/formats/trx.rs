//! Broadcom TRX (`HDR0`): little endian, 28 bytes (v1: three partition offsets) or 32 bytes
//! (v2: four). The CRC-32 covers everything after the CRC field up to the stated length.
//! Partitions are typically an LZMA loader, the kernel and the root filesystem.

use iotassure_core::layout::Confidence;

use super::bytes::{u16_le, u32_le};
use super::{Anchor, Chunk, Format, Kind, Magic};
use crate::codec::{crc32, crc32_raw};

pub static FORMAT: Format = Format {
    id: "trx",
    kind: Kind::Header,
    anchor: Anchor::Anywhere,
    magics: &[Magic {
        bytes: b"HDR0",
        at: 0,
    }],
    identify,
    extract: None,
};

fn identify(d: &[u8], s: usize) -> Option<Chunk> {
    let len = u32_le(d, s + 4)? as usize;
    let crc = u32_le(d, s + 8)?;
    let flags = u16_le(d, s + 12)?;
    let version = u16_le(d, s + 14)?;
    let parts = match version {
        1 => 3,
        2 => 4,
        _ => return None,
    };
    let header_len = 16 + 4 * parts;
    if len < header_len || s + len > d.len() {
        return None;
    }
    let offsets: Vec<usize> = (0..parts)
        .map(|i| u32_le(d, s + 16 + 4 * i).map(|o| o as usize))
        .collect::<Option<_>>()?;
    if offsets
        .iter()
        .any(|&o| o != 0 && (o < header_len || o >= len))
    {
        return None;
    }
    let body = &d[s + 12..s + len];
    // Broadcom's tools store the register without the final inversion; some store the usual CRC.
    let crc_ok = crc32_raw(0xffff_ffff, body) == crc || crc32(body) == crc;
    let list = offsets
        .iter()
        .filter(|&&o| o != 0)
        .map(|o| format!("0x{o:x}"))
        .collect::<Vec<_>>()
        .join(", ");
    Some(
        Chunk::new(FORMAT.id, "trx", s)
            .size(header_len)
            .describe(format!(
                "TRX firmware header, version {version}, length: {len} bytes, flags: 0x{flags:04x}, CRC32: 0x{crc:08x} ({}), partitions at: {list}",
                if crc_ok { "verified" } else { "does NOT match" }
            ))
            .confidence(if crc_ok { Confidence::High } else { Confidence::Low })
            .fact("length", len)
            .fact("crc_verified", crc_ok)
            .fact("integrity", "CRC32 only (no signature)"),
    )
}
