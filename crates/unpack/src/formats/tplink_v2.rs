//! TP-Link firmware header "ver. 2.0" (`mktplinkfw2`, header version 2 or 3), used by newer
//! TP-Link routers (TL-WR841N v14). 512 bytes, big endian: version, firmware version string (48),
//! hardware id / revision / additional version, two MD5 fields, kernel load address and entry
//! point at 0x68, firmware length, kernel and rootfs offset/length pairs, then 0x55AA and a
//! 0xA5 magic with the software version.

use iotassure_core::layout::Confidence;

use super::bytes::{cstr, printable_field, u16_be, u32_be};
use super::{Anchor, Chunk, Format, Kind, Magic};

pub static FORMAT: Format = Format {
    id: "tplink-v2",
    kind: Kind::Header,
    anchor: Anchor::Anywhere,
    magics: &[
        Magic {
            bytes: b"\x00\x00\x00\x02ver. ",
            at: 0,
        },
        Magic {
            bytes: b"\x00\x00\x00\x03ver. ",
            at: 0,
        },
        Magic {
            bytes: b"\x02\x00\x00\x00ver. ",
            at: 0,
        },
        Magic {
            bytes: b"\x03\x00\x00\x00ver. ",
            at: 0,
        },
    ],
    identify,
    extract: None,
};

const HEADER_LEN: usize = 0x200;

fn identify(d: &[u8], s: usize) -> Option<Chunk> {
    let h = d.get(s..s + HEADER_LEN)?;
    let version = h[0].max(h[3]);
    if !printable_field(&h[4..0x34]) {
        return None;
    }
    let fw_version = cstr(h, 4, 0x30);
    let hw_id = u32_be(h, 0x34)?;
    let hw_rev = u32_be(h, 0x38)?;
    // Some builds store the load address and entry point little endian (TL-WR841N v14).
    let addr = |at: usize| -> Option<u32> {
        let be = u32_be(h, at)?;
        let le = u32::from_le_bytes(h[at..at + 4].try_into().ok()?);
        Some(if be < 0x8000_0000 && le >= 0x8000_0000 {
            le
        } else {
            be
        })
    };
    let (la, ep, fw_len) = (addr(0x68)?, addr(0x6c)?, u32_be(h, 0x70)? as usize);
    let (k_ofs, k_len) = (u32_be(h, 0x74)? as usize, u32_be(h, 0x78)? as usize);
    let (r_ofs, r_len) = (u32_be(h, 0x7c)? as usize, u32_be(h, 0x80)? as usize);
    if fw_len < HEADER_LEN || k_ofs < HEADER_LEN || k_len == 0 || k_ofs.checked_add(k_len)? > fw_len
    {
        return None;
    }
    let magic_ok = u16_be(h, 0x8c)? == 0x55aa && h[0x90] == 0xa5;
    let (ver_hi, ver_mid, ver_lo) = (h[0x91], h[0x92], h[0x93]);
    let present = d.len() - s;
    let mut chunk = Chunk::new(FORMAT.id, "tplink-v2", s)
        .size(HEADER_LEN)
        .describe(format!(
            "TP-Link firmware header \"ver. 2.0\" (header version {version}), firmware version: \"{fw_version}\", \
             hardware id: 0x{hw_id:08x} rev {hw_rev}, software version: {ver_hi}.{ver_mid}.{ver_lo}, \
             kernel load address: 0x{la:x}, entry point: 0x{ep:x}, kernel: 0x{k_ofs:x} (+0x{k_len:x}), \
             rootfs: 0x{r_ofs:x} (+0x{r_len:x}), firmware length: 0x{fw_len:x}{}, header size: 512 bytes",
            if fw_len > present {
                format!(" ({present} bytes present: the kernel partition alone)")
            } else {
                String::new()
            }
        ))
        .confidence(if magic_ok { Confidence::Medium } else { Confidence::Low })
        .fact("header_version", version)
        .fact("firmware_version", fw_version)
        .fact("hardware_id", format!("0x{hw_id:08x}"))
        .fact("kernel_load_address", la)
        .fact("kernel_entry_point", ep);
    if s + k_ofs + k_len <= d.len() {
        chunk = chunk.hint(s + k_ofs, "lzma", Some(k_len));
    }
    if r_len > 0 && s + r_ofs < d.len() {
        chunk = chunk.hint(s + r_ofs, "squashfs-4.0", None);
    }
    Some(chunk)
}
