//! Realtek RTL819x firmware header (RTL8196C/E, RTL8198; D-Link DIR-612, DIR-605L, Edimax…):
//! a 4-byte signature, the load address, the flash (burn) address and the payload length, big
//! endian, 16 bytes in all. The payload ends with a 16-bit checksum that makes the big-endian
//! 16-bit sum of the payload zero.
//!
//! `cs6c`/`cs6b`/`csys` carry a kernel, `cr6c`/`cr6b`/`csro` a kernel followed by the root
//! filesystem, `r6cr`/`r6br`/`root` a root filesystem, `w6cp`/`webp` web pages, `boot` the
//! bootloader. The kernel payload is a small loader followed by LZMA streams chained one after
//! another (DIR-612's main stream uses properties 0x6F, lc=3 lp=2, which liblzma refuses; the LZMA
//! format reads it through lzma-rust2). The scan goes on inside the payload, so each stream of the
//! chain is found, decoded and bounded in turn.

use iotassure_core::layout::Confidence;

use super::bytes::u32_be;
use super::{Anchor, Chunk, Format, Kind, Magic};

const SIGNATURES: &[(&[u8; 4], &str)] = &[
    (b"cs6c", "kernel"),
    (b"cs6b", "kernel"),
    (b"csys", "kernel"),
    (b"cr6c", "kernel + root filesystem"),
    (b"cr6b", "kernel + root filesystem"),
    (b"csro", "kernel + root filesystem"),
    (b"r6cr", "root filesystem"),
    (b"r6br", "root filesystem"),
    (b"root", "root filesystem"),
    (b"w6cp", "web pages"),
    (b"w6bp", "web pages"),
    (b"webp", "web pages"),
    (b"boot", "bootloader"),
];

pub static FORMAT: Format = Format {
    id: "realtek",
    kind: Kind::Header,
    anchor: Anchor::Anywhere,
    magics: &[
        Magic {
            bytes: b"cs6c",
            at: 0,
        },
        Magic {
            bytes: b"cs6b",
            at: 0,
        },
        Magic {
            bytes: b"csys",
            at: 0,
        },
        Magic {
            bytes: b"cr6c",
            at: 0,
        },
        Magic {
            bytes: b"cr6b",
            at: 0,
        },
        Magic {
            bytes: b"csro",
            at: 0,
        },
        Magic {
            bytes: b"r6cr",
            at: 0,
        },
        Magic {
            bytes: b"r6br",
            at: 0,
        },
        Magic {
            bytes: b"root",
            at: 0,
        },
        Magic {
            bytes: b"w6cp",
            at: 0,
        },
        Magic {
            bytes: b"w6bp",
            at: 0,
        },
        Magic {
            bytes: b"webp",
            at: 0,
        },
        Magic {
            bytes: b"boot",
            at: 0,
        },
    ],
    identify,
    extract: None,
};

/// The 16-bit big-endian sum of the payload, which the trailing checksum makes zero.
fn checksum_ok(payload: &[u8]) -> bool {
    if payload.len() < 2 || payload.len() % 2 != 0 {
        return false;
    }
    let sum = payload.chunks_exact(2).fold(0u16, |a, w| {
        a.wrapping_add(u16::from_be_bytes([w[0], w[1]]))
    });
    sum == 0
}

fn identify(d: &[u8], s: usize) -> Option<Chunk> {
    let sig: &[u8; 4] = d.get(s..s + 4)?.try_into().ok()?;
    let (_, what) = SIGNATURES.iter().find(|(m, _)| *m == sig)?;
    let load = u32_be(d, s + 4)?;
    let burn = u32_be(d, s + 8)?;
    let len = u32_be(d, s + 12)? as usize;
    if len < 16 || s + 16 + len > d.len() || burn >= 0x0400_0000 {
        return None;
    }
    let sum_ok = checksum_ok(&d[s + 16..s + 16 + len]);
    let strong = !matches!(sig, b"root" | b"boot" | b"webp");
    // Plain words (`root`, `boot`) appear in any text: without a checksum they are not headers.
    let plausible_load = load == 0 || (0x8000_0000..0xc000_0000).contains(&load);
    if !(sum_ok || strong && plausible_load) {
        return None;
    }
    let sig_s = String::from_utf8_lossy(sig).to_string();
    Some(
        Chunk::new(FORMAT.id, format!("realtek-{sig_s}"), s)
            .size(16)
            .describe(format!(
                "Realtek firmware header \"{sig_s}\" ({what}), load address: 0x{load:08x}, flash address: 0x{burn:x}, payload: {len} bytes, checksum {}",
                if sum_ok { "verified" } else { "does NOT match" }
            ))
            .confidence(if sum_ok { Confidence::High } else { Confidence::Low })
            .fact("signature", sig_s)
            .fact("load_address", load)
            .fact("flash_address", burn)
            .fact("payload_size", len)
            .fact("checksum_verified", sum_ok),
    )
}
