//! Flat firmware: an image that holds no root filesystem, no kernel and no microcontroller
//! image of a known format, but does decompress to a payload (an RTOS or bare-metal program in
//! an LZMA, gzip or vendor stream). That payload *is* the device's software, so it is handed to
//! the checks as a flat firmware blob (`BlobKind::McuFirmware`): strings, credentials,
//! signatures, SDK and RTOS identification run on it, as they do on a microcontroller image.
//!
//! Regions the engine carved because it recognised nothing there stay raw: they are whatever
//! sits between known chunks, not a program the image was built to deliver.

use iotassure_core::tree::{BlobKind, Tree};

/// Payloads smaller than this are not a device's software (a header, a checksum, a logo).
const MIN_PAYLOAD: u64 = 1024;

/// Re-labels decompressed raw payloads as flat firmware when the tree has nothing else for the
/// checks. Returns how many were re-labelled.
pub fn promote(tree: &mut Tree) -> usize {
    let has_system = !tree.rootfs.is_empty()
        || tree
            .blobs
            .iter()
            .any(|b| matches!(b.kind, BlobKind::Kernel | BlobKind::McuFirmware));
    if has_system {
        return 0;
    }
    let sizes: std::collections::HashMap<&str, u64> = tree
        .entries
        .iter()
        .map(|e| (e.path.as_str(), e.size))
        .collect();
    let mut n = 0;
    for b in &mut tree.blobs {
        // The engine names carved regions "… @0xOFF unknown" (engine.rs).
        let carved = b.provenance.ends_with(" unknown");
        let size = sizes.get(b.path.as_str()).copied().unwrap_or(0);
        if b.kind == BlobKind::Raw && !carved && size >= MIN_PAYLOAD {
            b.kind = BlobKind::McuFirmware;
            n += 1;
        }
    }
    n
}
