//! The `--PaCkImGs--` tag D-Link images put before the root filesystem: 12-byte tag, padding, the
//! payload size (big endian) at 0x10; 32 bytes in all.

use iotassure_core::layout::Confidence;

use super::bytes::u32_be;
use super::{Anchor, Chunk, Format, Kind, Magic};

pub static FORMAT: Format = Format {
    id: "packimg",
    kind: Kind::Header,
    anchor: Anchor::Anywhere,
    magics: &[Magic {
        bytes: b"--PaCkImGs--",
        at: 0,
    }],
    identify,
    extract: None,
};

fn identify(d: &[u8], s: usize) -> Option<Chunk> {
    let size = u32_be(d, s + 0x10)? as usize;
    if d.len() < s + 32 {
        return None;
    }
    let fits = s + 32 + size <= d.len();
    if !fits || size == 0 {
        return None; // the tag string alone (kernels carry it in their code)
    }
    Some(
        Chunk::new(FORMAT.id, "packimg", s)
            .size(32)
            .describe(format!(
                "PackImg section delimiter tag, payload size: {size} bytes{}",
                if fits {
                    ""
                } else {
                    " (beyond the end of the data)"
                }
            ))
            .confidence(if fits {
                Confidence::Medium
            } else {
                Confidence::Low
            })
            .fact("payload_size", size),
    )
}
