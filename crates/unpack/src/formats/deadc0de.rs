//! 0xDEADC0DE on an erase-block boundary: OpenWrt's JFFS2 end-of-filesystem marker. The writable
//! overlay (`rootfs_data`) starts there; it is empty until the device first boots.

use iotassure_core::layout::Confidence;

use super::{Anchor, Chunk, Format, Kind, Magic};

pub static FORMAT: Format = Format {
    id: "openwrt-deadc0de",
    kind: Kind::Header,
    anchor: Anchor::Weak,
    magics: &[Magic {
        bytes: b"\xde\xad\xc0\xde",
        at: 0,
    }],
    identify,
    extract: None,
};

fn identify(d: &[u8], s: usize) -> Option<Chunk> {
    // Erase blocks are at least 4 KiB; elsewhere these bytes are just data.
    if s % 4096 != 0 || d.len() < s + 4 {
        return None;
    }
    Some(
        Chunk::new(FORMAT.id, "deadc0de", s)
            .size(4)
            .describe(
                "OpenWrt JFFS2 end-of-filesystem marker (0xDEADC0DE): the rootfs_data overlay starts here, empty until first boot",
            )
            .confidence(Confidence::Medium),
    )
}
