//! TP-Link firmware header version 1 (`mktplinkfw`), as written by TP-Link and by OpenWrt's
//! build (vendor field "OpenWrt"). 512 bytes, big endian: version 0x01000000, vendor name (24),
//! firmware version (36), hardware id, revision, region, two MD5 fields, kernel load address and
//! entry point, firmware length, then kernel/rootfs/bootloader offset and length pairs.

use iotassure_core::layout::Confidence;

use super::bytes::{cstr, printable_field, u32_be};
use super::{Anchor, Chunk, Format, Kind, Magic};

pub static FORMAT: Format = Format {
    id: "tplink-v1",
    kind: Kind::Header,
    anchor: Anchor::Anywhere,
    magics: &[
        Magic {
            bytes: b"\x01\x00\x00\x00TP-LINK Technologies\x00",
            at: 0,
        },
        Magic {
            bytes: b"\x01\x00\x00\x00OpenWrt\x00",
            at: 0,
        },
        Magic {
            bytes: b"\x01\x00\x00\x00TP-Link\x00",
            at: 0,
        },
    ],
    identify,
    extract: None,
};

const HEADER_LEN: usize = 0x200;

fn identify(d: &[u8], s: usize) -> Option<Chunk> {
    let h = d.get(s..s + HEADER_LEN)?;
    if u32_be(h, 0)? != 0x0100_0000 || !printable_field(&h[4..28]) || !printable_field(&h[28..64]) {
        return None;
    }
    let vendor = cstr(h, 4, 24);
    let version = cstr(h, 28, 36);
    if vendor.is_empty() {
        return None;
    }
    let hw_id = u32_be(h, 0x40)?;
    let hw_rev = u32_be(h, 0x44)?;
    let (la, ep, fw_len) = (u32_be(h, 0x74)?, u32_be(h, 0x78)?, u32_be(h, 0x7c)?);
    let (k_ofs, k_len) = (u32_be(h, 0x80)? as usize, u32_be(h, 0x84)? as usize);
    let (r_ofs, r_len) = (u32_be(h, 0x88)? as usize, u32_be(h, 0x8c)? as usize);
    if (fw_len as usize) < HEADER_LEN || k_ofs < HEADER_LEN || k_len == 0 {
        return None;
    }
    let fits = s + fw_len as usize <= d.len();
    let mut chunk = Chunk::new(FORMAT.id, "tplink-v1", s)
        .size(HEADER_LEN)
        .describe(format!(
            "TP-Link firmware header v1, vendor: \"{vendor}\", version: \"{version}\", hardware id: 0x{hw_id:08x} rev {hw_rev}, \
             kernel load address: 0x{la:x}, entry point: 0x{ep:x}, kernel: 0x{k_ofs:x} (+0x{k_len:x}), rootfs: 0x{r_ofs:x} (+0x{r_len:x}), \
             firmware length: 0x{fw_len:x}{}, header size: 512 bytes",
            if fits { "" } else { " (image is shorter: truncated?)" }
        ))
        .confidence(if fits { Confidence::Medium } else { Confidence::Low })
        .fact("vendor", vendor)
        .fact("firmware_version", version)
        .fact("hardware_id", format!("0x{hw_id:08x}"))
        .fact("kernel_load_address", la)
        .fact("kernel_entry_point", ep);
    // The kernel's extent is stated, so it is extracted beside the rest of the scan.
    if s + k_ofs + k_len <= d.len() {
        chunk = chunk.hint(s + k_ofs, "lzma", Some(k_len));
    }
    if r_len > 0 && s + r_ofs < d.len() {
        chunk = chunk.hint(s + r_ofs, "squashfs-4.0", None);
    }
    Some(chunk)
}
