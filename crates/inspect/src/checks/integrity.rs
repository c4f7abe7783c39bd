//! Integrity and boot (5.7-1): signed images (FIT signature nodes, an ESP32 Secure Boot v2
//! signature block, MCUboot signature TLVs) versus images protected only by a checksum
//! (TP-Link and wrgg headers with MD5, uImage/TRX CRC32, an ESP32 SHA-256 digest, Intel HEX
//! record checksums), and encrypted regions (high-entropy files with no known format).

use iotassure_core::finding::{Finding, Location, Observations, Outcome, Severity, Source};
use iotassure_core::tree::BlobKind;

use super::Check;
use crate::Ctx;

pub const CHECK: Check = Check {
    id: "5.7-1-fw-image-signature",
    provisions: &["5.7-1"],
    run,
};

/// What an image's own structure says about its authenticity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Protection {
    /// A signature structure is present (what, where).
    Signed(String),
    /// Only an integrity check a forger can recompute.
    ChecksumOnly(String),
}

/// ESP32 app image: header, segments, checksum, optional SHA-256, optional SB v2 block.
pub fn esp32(data: &[u8]) -> Option<Protection> {
    if data.len() < 24 || data[0] != 0xE9 || data[1] == 0 || data[1] > 16 {
        return None;
    }
    let segments = data[1] as usize;
    let hash_appended = data[23] == 1;
    let mut p = 24usize;
    for _ in 0..segments {
        let len = u32::from_le_bytes(data.get(p + 4..p + 8)?.try_into().ok()?) as usize;
        if len > 16 << 20 {
            return None;
        }
        p = p.checked_add(8 + len)?;
        if p > data.len() {
            return None;
        }
    }
    // Padding to 16 bytes with the checksum as the last byte.
    p = (p + 16) & !15;
    if hash_appended {
        p += 32;
    }
    if p > data.len() {
        return None;
    }
    let sig_at = (p + 4095) & !4095;
    if data.get(sig_at) == Some(&0xE7) && data.get(sig_at + 1) == Some(&0x02) {
        return Some(Protection::Signed(format!(
            "ESP32 Secure Boot v2 signature block at 0x{sig_at:x}"
        )));
    }
    Some(Protection::ChecksumOnly(format!(
        "ESP32 app image ({segments} segments) with an XOR checksum{}; no Secure Boot v2 signature block after the image (end 0x{p:x})",
        if hash_appended { " and a SHA-256 digest" } else { "" }
    )))
}

/// MCUboot: header magic, then signature TLVs after the image.
fn mcuboot(data: &[u8]) -> Option<Protection> {
    if data.get(..4)? != 0x96f3_b83du32.to_le_bytes() {
        return None;
    }
    let hdr = u16::from_le_bytes(data.get(8..10)?.try_into().ok()?) as usize;
    let size = u32::from_le_bytes(data.get(12..16)?.try_into().ok()?) as usize;
    let mut p = hdr.checked_add(size)?;
    for _ in 0..2 {
        let magic = u16::from_le_bytes(data.get(p..p + 2)?.try_into().ok()?);
        let total = u16::from_le_bytes(data.get(p + 2..p + 4)?.try_into().ok()?) as usize;
        if magic != 0x6907 && magic != 0x6908 {
            break;
        }
        let mut q = p + 4;
        while q + 4 <= p + total {
            let t = u16::from_le_bytes(data.get(q..q + 2)?.try_into().ok()?);
            let l = u16::from_le_bytes(data.get(q + 2..q + 4)?.try_into().ok()?) as usize;
            if (0x20..=0x25).contains(&t) {
                return Some(Protection::Signed(format!(
                    "MCUboot image with a signature TLV (type 0x{t:x})"
                )));
            }
            q += 4 + l;
        }
        p += total;
    }
    Some(Protection::ChecksumOnly(
        "MCUboot image with hash TLVs only, no signature TLV".into(),
    ))
}

/// A flattened device tree (FIT): signed when it has `signature` nodes with an algorithm.
fn fit(data: &[u8]) -> Option<Protection> {
    if data.get(..4)? != [0xd0, 0x0d, 0xfe, 0xed] {
        return None;
    }
    let size = u32::from_be_bytes(data.get(4..8)?.try_into().ok()?) as usize;
    let blob = &data[..size.min(data.len())];
    let has = |s: &[u8]| memchr::memmem::find(blob, s).is_some();
    if !has(b"images") {
        return None;
    }
    if has(b"signature")
        && (has(b"rsa2048")
            || has(b"rsa4096")
            || has(b"rsa3072")
            || has(b"ecdsa")
            || has(b"key-name-hint"))
    {
        return Some(Protection::Signed("FIT image with signature nodes".into()));
    }
    Some(Protection::ChecksumOnly(
        "FIT image with hash nodes only (no signature node)".into(),
    ))
}

/// The container header at the start of an image.
pub fn header(data: &[u8]) -> Option<Protection> {
    if let Some(p) = esp32(data).or_else(|| mcuboot(data)).or_else(|| fit(data)) {
        return Some(p);
    }
    if data.len() >= 0x5c
        && (data[..4] == [1, 0, 0, 0])
        && (data[4..].starts_with(b"TP-LINK") || data[4..].starts_with(b"OpenWrt"))
    {
        return Some(Protection::ChecksumOnly(
            "TP-Link v1 firmware header with an MD5 digest at 0x4c (no signature)".into(),
        ));
    }
    if data.len() >= 0x40 && data[4..].starts_with(b"ver. 2.0") {
        return Some(Protection::ChecksumOnly(
            "TP-Link \"ver. 2.0\" header with an MD5 field (no signature)".into(),
        ));
    }
    if data.len() >= 0x80 && data[32..36] == 0x2004_0220u32.to_le_bytes() {
        let sig = String::from_utf8_lossy(&data[..32])
            .trim_end_matches('\0')
            .to_string();
        return Some(Protection::ChecksumOnly(format!("wrgg header (signature string \"{sig}\") with an MD5 digest; the string is a model tag, not a cryptographic signature")));
    }
    if data.len() >= 64 && data[..4] == [0x27, 0x05, 0x19, 0x56] {
        return Some(Protection::ChecksumOnly(
            "U-Boot legacy uImage header: CRC32 of header and data only".into(),
        ));
    }
    if data.starts_with(b"HDR0") {
        return Some(Protection::ChecksumOnly("TRX header: CRC32 only".into()));
    }
    // Linksys "BIN" header (also DD-WRT's addpattern): a 4-byte model code, the firmware
    // date and version, "U2ND" at 0x0e, then the TRX at 0x20. Neither carries a signature.
    if data.len() >= 0x40 && &data[0x0e..0x12] == b"U2ND" {
        let code = String::from_utf8_lossy(&data[..4]).to_string();
        let trx = if &data[0x20..0x24] == b"HDR0" {
            " and a TRX header at 0x20 (CRC32)"
        } else {
            ""
        };
        return Some(Protection::ChecksumOnly(format!(
            "Linksys BIN header (model code \"{code}\", U2ND){trx}: checksums only, no signature"
        )));
    }
    if data.first() == Some(&b':')
        && data
            .iter()
            .take(64)
            .all(|b| b.is_ascii_hexdigit() || b":\r\n".contains(b))
    {
        return Some(Protection::ChecksumOnly(
            "Intel HEX: per-record checksums only".into(),
        ));
    }
    None
}

fn entropy(data: &[u8]) -> f64 {
    let mut counts = [0u64; 256];
    for b in data {
        counts[*b as usize] += 1;
    }
    let n = data.len() as f64;
    counts
        .iter()
        .filter(|c| **c > 0)
        .map(|c| {
            let p = *c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

const KNOWN_MAGIC: &[&[u8]] = &[
    b"\x1f\x8b",
    b"\xfd7zXZ",
    b"BZh",
    b"PK\x03\x04",
    b"\x89PNG",
    b"\xff\xd8\xff",
    b"GIF8",
    b"hsqs",
    b"sqsh",
    b"\x5d\x00\x00",
    b"\x7fELF",
    b"RIFF",
    b"OggS",
    b"\x28\xb5\x2f\xfd",
    b"\x04\x22\x4d\x18",
];

fn run(ctx: &Ctx<'_>, obs: &mut Observations) {
    let mut examined = 0u64;
    let push = |p: Protection, loc: Location, what: &str, obs: &mut Observations| {
        match p {
        Protection::Signed(s) => obs.findings.push(
            Finding::new(CHECK.id, &["5.7-1"], Outcome::Pass, Severity::Info, Source::Firmware, format!("{what} is signed: {s}"))
                .detail("The image carries a signature a secure-boot chain can verify. Whether verification is enforced (eFuses, bootloader configuration) is a property of the device.")
                .evidence(loc, s),
        ),
        Protection::ChecksumOnly(s) => obs.findings.push(
            Finding::new(CHECK.id, &["5.7-1"], Outcome::Fail, Severity::Medium, Source::Firmware, format!("{what} is protected only by a checksum"))
                .detail(format!("{s}. A checksum detects corruption but anyone can recompute it for modified software, so nothing in the image lets a boot chain verify its origin (checked: FIT signature nodes, ESP32 Secure Boot v2 block, MCUboot signature TLVs)."))
                .evidence(loc, s),
        ),
    }
    };
    if let Some((name, data)) = &ctx.image {
        examined += 1;
        if let Some(p) = header(data) {
            push(
                p,
                Location::Image {
                    offset: 0,
                    length: Some(data.len().min(512) as u64),
                    provenance: format!("image ({name})"),
                },
                "the firmware image",
                obs,
            );
        }
    }
    for b in &ctx.blobs {
        if b.blob.kind != BlobKind::McuFirmware {
            continue;
        }
        examined += 1;
        let loc = Location::Image {
            offset: 0,
            length: Some(b.data.len() as u64),
            provenance: b.blob.provenance.clone(),
        };
        let p = header(&b.data).unwrap_or_else(|| {
            Protection::ChecksumOnly(format!(
                "microcontroller image of {} bytes{} with no signature structure",
                b.data.len(),
                b.blob
                    .base_address
                    .map(|a| format!(" at 0x{a:x}"))
                    .unwrap_or_default()
            ))
        });
        push(p, loc, "the microcontroller firmware", obs);
    }
    for root in &ctx.roots {
        for f in &root.files {
            if f.data.len() < 4096
                || f.elf.is_some()
                || !(f.path.starts_with("/etc/") || f.path.contains("config"))
            {
                continue;
            }
            examined += 1;
            if KNOWN_MAGIC.iter().any(|m| f.data.starts_with(m)) || f.is_text() {
                continue;
            }
            let e = entropy(&f.data[..f.data.len().min(1 << 20)]);
            if e > 7.95 {
                obs.findings.push(
                    Finding::new(CHECK.id, &["5.4-1"], Outcome::Info, Severity::Info, Source::Firmware, format!("encrypted region: {} ({} bytes, entropy {e:.2} bits/byte, no known format)", f.path, f.data.len()))
                        .detail("Data that looks encrypted cannot be inspected statically (it may hold default configuration or credentials); its key must be somewhere on the device.")
                        .evidence(root.location(&f.path, None, None), format!("entropy {e:.3}")),
                );
            }
        }
    }
    obs.ran(CHECK.id, Source::Firmware, CHECK.provisions, examined);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An ESP32 image with one segment, SHA-256 appended, optionally an SB v2 block.
    pub fn esp_image(signed: bool) -> Vec<u8> {
        let mut d = vec![0xE9, 1, 2, 0x1f, 0x84, 0x2f, 0x02, 0x40];
        d.extend([0u8; 15]);
        d.push(1); // hash appended
        d.extend(0x3f00_0020u32.to_le_bytes());
        d.extend(100u32.to_le_bytes());
        d.extend([0xAA; 100]);
        while d.len() % 16 != 15 {
            d.push(0);
        }
        d.push(0x18);
        d.extend([0x55; 32]);
        if signed {
            while d.len() % 4096 != 0 {
                d.push(0xff);
            }
            d.extend([0xE7, 0x02, 0, 0]);
            d.extend([0; 1212]);
        }
        d
    }

    #[test]
    fn headers() {
        assert!(matches!(
            esp32(&esp_image(false)),
            Some(Protection::ChecksumOnly(_))
        ));
        assert!(matches!(
            esp32(&esp_image(true)),
            Some(Protection::Signed(_))
        ));
        let mut tp = vec![1, 0, 0, 0];
        tp.extend(b"TP-LINK Technologies");
        tp.resize(0x200, 0);
        assert!(matches!(header(&tp), Some(Protection::ChecksumOnly(_))));
        assert!(header(b":100000000C9447000C9475000C9475000C947500AE\r\n").is_some());
        assert!(header(b"hsqs\0\0\0\0").is_none());
        // ddwrt-v24-mini-wrt54g / linksys-wrt54gl: BIN header, TRX at 0x20.
        let mut bin = b"W54G\0\0\0\0\x08\x05\x18\x04\x14\x06U2ND\x01\0\x1f\0".to_vec();
        bin.resize(0x20, 0);
        bin.extend(b"HDR0\0\x90\x2c\0\x06\x15\x9a\x70\0\0\x01\0");
        bin.resize(0x60, 0);
        match header(&bin) {
            Some(Protection::ChecksumOnly(s)) => {
                assert!(s.contains("W54G") && s.contains("TRX"), "{s}")
            }
            _ => panic!("BIN header not recognised"),
        }
        bin[0x0e] = b'X';
        assert!(header(&bin).is_none());
        let mut fitd = vec![0xd0, 0x0d, 0xfe, 0xed, 0, 0, 1, 0];
        fitd.extend(b"images\0signature\0algo\0sha256,rsa2048\0");
        fitd.resize(256, 0);
        assert!(matches!(fit(&fitd), Some(Protection::Signed(_))));
    }
}
