//! D-Link / Alpha Networks "wrgg" firmware headers. Two layouts share the idea: a signature
//! string (the image "sign", e.g. `wrgg19_c_dlwbr_dir300`), a magic twice, the payload size, a
//! device name and an MD5 digest of the payload.
//!
//! - `wrg` (magic 0x20040220, header 0x60): signature[32], magic ×2, size, offset, devname[32],
//!   md5[16] (DIR-300 A1).
//! - `wrgg03` (magic 0x20080321, header 0xA0): signature[32], magic ×2, version[16], model[16],
//!   flags, reserved, build number[16], size, offset, devname[32], md5[16].
//!
//! Vendors wrote the magic little endian and the size big endian (or both in one order); both
//! orders are accepted, and the size that fits the file wins. The MD5 covers the header's offset
//! and device-name fields followed by the payload.

use iotassure_core::layout::Confidence;
use md5::{Digest, Md5};

use super::bytes::{cstr, printable_field, u32_be, u32_le};
use super::{Anchor, Chunk, Format, Kind, Magic};

pub static FORMAT: Format = Format {
    id: "dlink-wrgg",
    kind: Kind::Header,
    anchor: Anchor::Anywhere,
    magics: &[
        Magic {
            bytes: b"\x20\x02\x04\x20\x20\x02\x04\x20",
            at: 0x20,
        },
        Magic {
            bytes: b"\x20\x04\x02\x20\x20\x04\x02\x20",
            at: 0x20,
        },
        Magic {
            bytes: b"\x21\x03\x08\x20\x21\x03\x08\x20",
            at: 0x20,
        },
        Magic {
            bytes: b"\x20\x08\x03\x21\x20\x08\x03\x21",
            at: 0x20,
        },
    ],
    identify,
    extract: None,
};

fn identify(d: &[u8], s: usize) -> Option<Chunk> {
    let h = d.get(s..s + 0x20)?;
    if !printable_field(h) || h[0] == 0 {
        return None;
    }
    let magic = u32_le(d, s + 0x20)?;
    let (wrgg03, header_len, size_at, devname_at, md5_at) = match magic {
        0x2004_0220 | 0x2002_0420 => (false, 0x60, 0x28, 0x30, 0x50),
        0x2008_0321 | 0x2103_0820 => (true, 0xa0, 0x68, 0x70, 0x90),
        _ => return None,
    };
    let hdr = d.get(s..s + header_len)?;
    if !printable_field(&hdr[devname_at..devname_at + 32]) {
        return None;
    }
    let remaining = d.len() - s - header_len;
    let size = [u32_be(hdr, size_at)?, u32_le(hdr, size_at)?]
        .into_iter()
        .map(|n| n as usize)
        .find(|&n| n > 0 && n <= remaining)?;
    let digest = &hdr[md5_at..md5_at + 16];
    let payload = &d[s + header_len..s + header_len + size];
    // The digest covers the header's offset and device name fields, then the payload.
    let mut md5 = Md5::new();
    md5.update(&hdr[size_at + 4..md5_at]);
    md5.update(payload);
    let md5_ok = md5.finalize().as_slice() == digest;
    let signature = cstr(hdr, 0, 32);
    let devname = cstr(hdr, devname_at, 32);
    let model = if wrgg03 {
        cstr(hdr, 0x38, 16)
    } else {
        String::new()
    };
    Some(
        Chunk::new(FORMAT.id, "dlink-wrgg", s)
            .size(header_len)
            .describe(format!(
                "D-Link/Alpha \"{}\" firmware header, signature: \"{signature}\", {}payload size: {size} bytes, device: \"{devname}\", \
                 payload MD5 {}, header size: {header_len} bytes",
                if wrgg03 { "wrgg03" } else { "wrg" },
                if model.is_empty() { String::new() } else { format!("model: \"{model}\", ") },
                if md5_ok { "verified" } else { "does NOT match" }
            ))
            .confidence(if md5_ok { Confidence::High } else { Confidence::Low })
            .fact("signature", signature)
            .fact("payload_size", size)
            .fact("device", devname)
            .fact("md5_verified", md5_ok)
            .fact("integrity", "MD5 digest only (no signature)"),
    )
}
