//! SEAMA (D-Link, Alpha): magic 0x5EA3A417 big endian, a reserved half-word, the metadata size,
//! the image size, an MD5 of the image, then NUL-separated metadata strings
//! (`dev=/dev/mtdblock/1`, `type=firmware`) and the image.

use iotassure_core::layout::Confidence;
use md5::{Digest, Md5};

use super::bytes::{u16_be, u32_be};
use super::{Anchor, Chunk, Format, Kind, Magic};

pub static FORMAT: Format = Format {
    id: "seama",
    kind: Kind::Header,
    anchor: Anchor::Anywhere,
    magics: &[Magic {
        bytes: b"\x5e\xa3\xa4\x17",
        at: 0,
    }],
    identify,
    extract: None,
};

fn identify(d: &[u8], s: usize) -> Option<Chunk> {
    let meta_len = u16_be(d, s + 6)? as usize;
    let size = u32_be(d, s + 8)? as usize;
    let header_len = 28 + meta_len;
    let digest = d.get(s + 12..s + 28)?;
    let meta = d.get(s + 28..s + header_len)?;
    if meta_len > 4096 || !meta.iter().all(|&b| b == 0 || (0x20..0x7f).contains(&b)) {
        return None;
    }
    let strings: Vec<String> = meta
        .split(|&b| b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).to_string())
        .collect();
    let fits = size > 0 && s + header_len + size <= d.len();
    let md5_ok =
        fits && Md5::digest(&d[s + header_len..s + header_len + size]).as_slice() == digest;
    Some(
        Chunk::new(FORMAT.id, "seama", s)
            .size(header_len)
            .describe(format!(
                "SEAMA firmware header, big endian, meta size: {meta_len}, image size: {size}, metadata: [{}], MD5 {}",
                strings.join(", "),
                if md5_ok { "verified" } else if fits { "does NOT match" } else { "not checked (image truncated)" }
            ))
            .confidence(if md5_ok { Confidence::High } else { Confidence::Low })
            .fact("image_size", size)
            .fact("metadata", strings)
            .fact("md5_verified", md5_ok)
            .fact("integrity", "MD5 digest only (no signature)"),
    )
}
