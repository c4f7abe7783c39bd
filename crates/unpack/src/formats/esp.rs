//! Espressif application images (ESP8266, ESP32 family), as `esptool image-info` reads them:
//!
//! - header: magic 0xE9, segment count, SPI mode, flash size/frequency, entry point (LE);
//! - ESP32 family: a 16-byte extended header (chip id, chip revisions, `hash_appended`);
//! - segments: load address, length, data;
//! - a checksum byte (0xEF XOR every data byte) at the end of a 16-byte-aligned block;
//! - a SHA-256 of everything before it, when `hash_appended`;
//! - Secure Boot v2: signature blocks (magic 0xE7) at the next 4 KiB boundary.
//!
//! Each segment becomes an MCU firmware blob with its load address. The layout says whether
//! the image is signed: an appended SHA-256 is integrity, not authenticity.
//!
//! ESP8266 flash dumps hold more than one image, each found through hints from the image at
//! offset 0:
//! - a second-stage bootloader at 0x0 (Arduino's eboot, Espressif's boot_v1.x) and the
//!   application at 0x1000 (and, for OTA layouts, a second slot at 0x81000, 0x101000, …);
//! - the application as a "v2" image (magic 0xEA, NONOS SDK `user1.bin`): an 8-byte header,
//!   the irom0 segment (stored with load address 0, mapped at 0x40200000 + its flash offset),
//!   then an ordinary 0xE9 image and a CRC-32 of everything before it;
//! - the NONOS SDK's plain layout: `eagle.flash.bin` (IRAM/DRAM) at 0x0 and the raw irom0 code
//!   (`eagle.irom0text.bin`) at 0x10000 or 0x40000 (`esp8266_irom`).
//!
//! The flash-size nibble of the header means different sizes on the ESP8266 and the ESP32.

use iotassure_core::layout::Confidence;
use iotassure_core::tree::BlobKind;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::bytes::{cstr, u16_le, u32_le};
use super::{Anchor, Chunk, Ctx, ExtractError, Extracted, Format, Kind, Magic, OutBlob};
use crate::codec::crc32;

pub static FORMAT: Format = Format {
    id: "esp-app",
    kind: Kind::Blob,
    anchor: Anchor::Start,
    // 0xEA: a NONOS SDK OTA image (`user1.bin`/`user2.bin`) shipped on its own, not behind boot_v1.x.
    magics: &[
        Magic {
            bytes: b"\xe9",
            at: 0,
        },
        Magic {
            bytes: b"\xea",
            at: 0,
        },
    ],
    identify,
    extract: Some(extract),
};

const MAX_SEGMENTS: usize = 16;
const SIG_BLOCK: usize = 1216;

struct Segment {
    load: u32,
    offset: usize,
    len: usize,
}

struct Image {
    chip: Option<(u16, &'static str)>,
    segments: Vec<Segment>,
    entry: u32,
    flash_mode: u8,
    flash_size_freq: u8,
    checksum_ok: bool,
    /// Offset just after the checksum byte (and the SHA-256, if appended).
    end: usize,
    sha256: Option<(String, bool)>,
    sig_blocks: Vec<u8>,
    /// A v2 (0xEA) image: its CRC-32 trailer matched.
    v2_crc_ok: Option<bool>,
}

fn chip_name(id: u16) -> Option<&'static str> {
    Some(match id {
        0 => "ESP32",
        2 => "ESP32-S2",
        5 => "ESP32-C3",
        9 => "ESP32-S3",
        12 => "ESP32-C2",
        13 => "ESP32-C6",
        16 => "ESP32-H2",
        18 => "ESP32-P4",
        20 => "ESP32-C61",
        23 => "ESP32-C5",
        _ => return None,
    })
}

/// The memory region a load address falls in, per chip family (from the chips' memory maps).
fn region(chip: Option<u16>, a: u32) -> &'static str {
    let table: &[(u32, u32, &str)] = match chip {
        None => &[
            (0x3ffe_8000, 0x4000_0000, "DRAM"),
            // 64 KiB: the upper half is flash cache once the SDK runs, but second-stage
            // bootloaders (Arduino's eboot at 0x4010f000) load there before that.
            (0x4010_0000, 0x4011_0000, "IRAM"),
            (0x4020_0000, 0x4030_0000, "IROM"),
        ],
        Some(0) => &[
            (0x3f40_0000, 0x3f80_0000, "DROM"),
            (0x3ff8_0000, 0x3ff8_2000, "RTC_DRAM"),
            (0x3ffa_e000, 0x4000_0000, "DRAM"),
            (0x4007_0000, 0x400a_0000, "IRAM"),
            (0x400c_0000, 0x400c_2000, "RTC_IRAM"),
            (0x400c_2000, 0x40c0_0000, "IROM"),
            (0x5000_0000, 0x5000_2000, "RTC_DATA"),
        ],
        Some(2) => &[
            (0x3f00_0000, 0x3ff8_0000, "DROM"),
            (0x3ff9_e000, 0x3ffa_0000, "RTC_DRAM"),
            (0x3ffb_0000, 0x4000_0000, "DRAM"),
            (0x4002_0000, 0x4007_0000, "IRAM"),
            (0x4007_0000, 0x4007_2000, "RTC_IRAM"),
            (0x4008_0000, 0x4080_0000, "IROM"),
            (0x5000_0000, 0x5000_2000, "RTC_DATA"),
        ],
        Some(_) => &[
            (0x3c00_0000, 0x3e00_0000, "DROM"),
            (0x3fc8_0000, 0x3fd0_0000, "DRAM"),
            (0x4037_0000, 0x403e_0000, "IRAM"),
            (0x4080_0000, 0x4090_0000, "RAM"),
            (0x4200_0000, 0x4400_0000, "IROM"),
            (0x5000_0000, 0x5000_4000, "RTC_DATA"),
            (0x600f_e000, 0x6010_0000, "RTC_DRAM"),
        ],
    };
    table
        .iter()
        .find(|(lo, hi, _)| (*lo..*hi).contains(&a))
        .map_or("UNKNOWN", |r| r.2)
}

/// Where the ESP8266 maps flash for execution (irom0).
const IROM_MAP: u32 = 0x4020_0000;

/// An image starting at `d[0]`, which sits at `flash_off` in the flash (for the irom0 segment
/// of a v2 image, whose load address the image does not state).
fn parse(d: &[u8], flash_off: usize) -> Option<Image> {
    if d.first() == Some(&0xea) {
        return parse_v2(d, flash_off);
    }
    parse_e9(d)
}

fn parse_v2(d: &[u8], flash_off: usize) -> Option<Image> {
    if *d.get(1)? != 4 || *d.get(2)? > 5 {
        return None;
    }
    let irom_len = u32_le(d, 12)? as usize;
    if irom_len > 16 << 20 || u32_le(d, 8)? != 0 {
        return None;
    }
    let inner_at = 16 + irom_len;
    let inner = parse_as(d.get(inner_at..)?, false)?;
    let crc_at = inner_at + inner.end;
    // The SDK bootloader's variant of CRC-32 (esptool's `esp8266_crc32`): the standard CRC,
    // inverted when its top bit is set, else plus one.
    let crc = crc32(&d[..crc_at]);
    let want = if crc & 0x8000_0000 != 0 {
        !crc
    } else {
        crc.wrapping_add(1)
    };
    let v2_crc_ok = u32_le(d, crc_at).map(|c| c == want);
    // A v2 image never runs from flash 0 (boot_v1.x sits there): at the start of a file it is a
    // slot image shipped alone, and `user1.bin`, the one shipped for flashing, goes at 0x1000.
    let slot = if flash_off == 0 { 0x1000 } else { flash_off };
    let irom = Segment {
        load: IROM_MAP.checked_add(u32::try_from(slot + 16).ok()?)?,
        offset: 16,
        len: irom_len,
    };
    let mut segments = vec![irom];
    segments.extend(inner.segments.into_iter().map(|g| Segment {
        offset: g.offset + inner_at,
        ..g
    }));
    // The flash parameters that count are the inner header's (esptool reads them so too;
    // flashing tools rewrite only the image at 0x0).
    Some(Image {
        segments,
        end: crc_at + if v2_crc_ok.is_some() { 4 } else { 0 },
        v2_crc_ok: Some(v2_crc_ok == Some(true)),
        ..inner
    })
}

fn parse_e9(d: &[u8]) -> Option<Image> {
    // The ESP32 family's extended header, if it looks like one; else (or if its checksum fails)
    // the ESP8266 layout, segments right after the 8-byte header.
    let ext = d.get(8..24)?;
    let chip_id = u16_le(ext, 4)?;
    let esp32 = chip_name(chip_id).is_some() && ext[11..15] == [0; 4] && ext[15] <= 1;
    let first = if esp32 { parse_as(d, true) } else { None };
    match first {
        Some(img) if img.checksum_ok => Some(img),
        other => parse_as(d, false).filter(|i| i.checksum_ok).or(other),
    }
}

fn parse_as(d: &[u8], esp32: bool) -> Option<Image> {
    if *d.first()? != 0xe9 {
        return None;
    }
    let count = *d.get(1)? as usize;
    let flash_mode = *d.get(2)?;
    if count == 0 || count > MAX_SEGMENTS || flash_mode > 5 {
        return None;
    }
    let entry = u32_le(d, 4)?;
    let ext = d.get(8..24)?;
    let chip_id = u16_le(ext, 4)?;
    let hash_appended = esp32 && ext[15] == 1;
    let mut p = if esp32 { 24 } else { 8 };
    let mut segments = Vec::new();
    let mut sum = 0xefu8;
    for _ in 0..count {
        let load = u32_le(d, p)?;
        let len = u32_le(d, p + 4)? as usize;
        let data = d.get(p + 8..(p + 8).checked_add(len)?)?;
        if len > 16 << 20 {
            return None;
        }
        sum = data.iter().fold(sum, |a, &b| a ^ b);
        segments.push(Segment {
            load,
            offset: p + 8,
            len,
        });
        p += 8 + len;
    }
    // Pad so the checksum is the last byte of a 16-byte block.
    let cks_at = p + (15 - p % 16);
    let checksum_ok = *d.get(cks_at)? == sum;
    let mut end = cks_at + 1;
    let sha256 = if hash_appended {
        let stored = d.get(end..end + 32)?;
        let ok = Sha256::digest(&d[..end]).as_slice() == stored;
        end += 32;
        Some((hex::encode(stored), ok))
    } else {
        None
    };
    // Secure Boot v2 blocks start at the next 4 KiB boundary: magic 0xE7, version 2 (RSA-PSS)
    // or 3 (ECDSA), CRC-32 of the first 1196 bytes at 1196.
    let mut sig_blocks = Vec::new();
    let mut at = end.div_ceil(4096) * 4096;
    while let Some(b) = d.get(at..at + SIG_BLOCK) {
        if b[0] != 0xe7 || !matches!(b[1], 2 | 3) || u32_le(b, 1196)? != crc32(&b[..1196]) {
            break;
        }
        sig_blocks.push(b[1]);
        at += SIG_BLOCK;
        if sig_blocks.len() == 3 {
            break;
        }
    }
    if !sig_blocks.is_empty() {
        end = at;
    }
    Some(Image {
        chip: esp32.then(|| (chip_id, chip_name(chip_id).unwrap_or("ESP32"))),
        segments,
        entry,
        flash_mode,
        flash_size_freq: d[3],
        checksum_ok,
        end,
        sha256,
        sig_blocks,
        v2_crc_ok: None,
    })
}

fn app_desc(d: &[u8], img: &Image) -> Option<serde_json::Value> {
    let seg = img.segments.first()?;
    let a = d.get(seg.offset..seg.offset + seg.len)?;
    if u32_le(a, 0)? != 0xabcd_5432 {
        return None;
    }
    Some(json!({
        "secure_version": u32_le(a, 4)?,
        "app_version": cstr(a, 16, 32),
        "project_name": cstr(a, 48, 32),
        "compile_time": format!("{} {}", cstr(a, 96, 16), cstr(a, 80, 16)),
        "esp_idf": cstr(a, 112, 32),
    }))
}

/// ESP8266 flash sizes by the header's high nibble (esptool's table); the ESP32 family's
/// table is a plain power of two from 1 MB.
fn flash_size(esp8266: bool, nibble: u8) -> &'static str {
    let table: &[&str] = if esp8266 {
        &[
            "512KB", "256KB", "1MB", "2MB", "4MB", "2MB-c1", "4MB-c1", "?", "8MB", "16MB",
        ]
    } else {
        &["1MB", "2MB", "4MB", "8MB", "16MB", "32MB", "64MB", "128MB"]
    };
    table.get(nibble as usize).copied().unwrap_or("?")
}

/// Flash offsets where an ESP8266 application image may follow the image at 0x0: after a
/// bootloader, and the second OTA slot of each flash size's layout.
const APP_SLOTS: [usize; 5] = [0x1000, 0x41000, 0x81000, 0x101000, 0x201000];
/// Where the NONOS SDK's plain layout puts irom0 (SDK ≥ 1.5 and older ones).
const IROM_SLOTS: [usize; 2] = [0x10000, 0x40000];

fn identify(d: &[u8], s: usize) -> Option<Chunk> {
    // Offset 0 is the engine's own candidate; others come only from hints (the ESP8266 image
    // at 0x0, an ESP-IDF partition table), and must be whole, valid images at a sector start.
    if s % 0x1000 != 0 {
        return None;
    }
    let img = parse(d.get(s..)?, s)?;
    if s != 0 {
        let esp8266_behind_one = img.chip.is_none() && esp8266_at_start(d);
        let sha_valid = img.sha256.as_ref().is_none_or(|(_, ok)| *ok);
        if !img.checksum_ok || !sha_valid || !(img.chip.is_some() || esp8266_behind_one) {
            return None;
        }
    }
    let sha_ok = img.sha256.as_ref().is_none_or(|(_, ok)| *ok);
    if !img.checksum_ok && !img.sha256.as_ref().is_some_and(|(_, ok)| *ok) {
        return None; // 0xE9 followed by anything: not an image unless a checksum agrees
    }
    let chip = img.chip.map_or("ESP8266", |c| c.1);
    let chip_id = img.chip.map(|c| c.0);
    let modes = ["QIO", "QOUT", "DIO", "DOUT", "FAST_READ", "SLOW_READ"];
    let size = flash_size(img.chip.is_none(), img.flash_size_freq >> 4);
    let freq = match img.flash_size_freq & 0xf {
        0 => "40m",
        1 => "26m",
        2 => "20m",
        0xf => "80m",
        _ => "?",
    };
    let segs: Vec<serde_json::Value> = img
        .segments
        .iter()
        .map(|g| json!({"load_address": g.load, "size": g.len, "region": region(chip_id, g.load)}))
        .collect();
    let seg_text = img
        .segments
        .iter()
        .map(|g| format!("0x{:08x} {} B {}", g.load, g.len, region(chip_id, g.load)))
        .collect::<Vec<_>>()
        .join("; ");
    let signed = !img.sig_blocks.is_empty();
    let desc = app_desc(&d[s..], &img);
    let v2 = match img.v2_crc_ok {
        Some(true) => "v2 (0xEA, NONOS SDK OTA) image, CRC-32 valid, ",
        Some(false) => "v2 (0xEA, NONOS SDK OTA) image, CRC-32 INVALID, ",
        None => "",
    };
    let mut chunk = Chunk::new(FORMAT.id, "esp-app", s)
        .size(img.end)
        .describe(format!(
            "ESP application image ({chip}), {v2}{} segments, entry point: 0x{:08x}, flash: {} {size} {freq}, checksum {}, {}, {}; segments: {seg_text}{}",
            img.segments.len(),
            img.entry,
            modes[img.flash_mode as usize],
            if img.checksum_ok { "valid" } else { "INVALID" },
            match &img.sha256 {
                Some((h, true)) => format!("SHA-256 {h} (valid)"),
                Some((h, false)) => format!("SHA-256 {h} (DOES NOT MATCH)"),
                None => "no SHA-256 appended".into(),
            },
            if signed {
                format!("Secure Boot v2 signature block(s): {}", img.sig_blocks.len())
            } else {
                "no Secure Boot v2 signature block (integrity digest only, not authenticity)".into()
            },
            desc.as_ref()
                .map(|a| format!("; app: {} {} (ESP-IDF {})", a["project_name"].as_str().unwrap_or(""), a["app_version"].as_str().unwrap_or(""), a["esp_idf"].as_str().unwrap_or("")))
                .unwrap_or_default(),
        ))
        .confidence(if img.checksum_ok && sha_ok { Confidence::High } else { Confidence::Low })
        .fact("chip", chip)
        .fact("entry_point", img.entry)
        .fact("segments", segs)
        .fact("checksum_valid", img.checksum_ok)
        .fact("hash_appended", img.sha256.is_some())
        .fact("secure_boot_v2_signature", signed)
        .fact("signature_blocks", img.sig_blocks.len());
    if let Some((h, ok)) = &img.sha256 {
        chunk = chunk.fact("sha256", h.clone()).fact("sha256_valid", *ok);
    }
    if let Some(a) = desc {
        chunk = chunk.fact("app", a);
    }
    if s == 0 && img.chip.is_none() {
        chunk = esp8266_hints(d, img.end, chunk);
    }
    Some(chunk)
}

fn esp8266_at_start(d: &[u8]) -> bool {
    d.first() == Some(&0xe9) && parse(d, 0).is_some_and(|i| i.chip.is_none() && i.checksum_ok)
}

/// The other images of an ESP8266 flash dump whose image at 0x0 ends at `end`.
fn esp8266_hints(d: &[u8], end: usize, mut chunk: Chunk) -> Chunk {
    let mut app = false;
    for at in APP_SLOTS {
        if at >= end && matches!(d.get(at), Some(0xe9 | 0xea)) {
            chunk = chunk.hint(at, FORMAT.id, None);
            app = true;
        }
    }
    // Without an application image, the code executed from flash is raw irom0.
    if !app {
        if let Some(at) = IROM_SLOTS.into_iter().find(|&at| {
            at >= end
                && d.get(at..at + 16)
                    .is_some_and(|h| h.iter().any(|&b| b != 0xff) && h[0] != 0xe9)
        }) {
            chunk = chunk.hint(at, super::esp8266_irom::FORMAT.id, None);
        }
    }
    chunk
}

fn extract(ctx: &Ctx<'_>, d: &[u8], chunk: &Chunk) -> Result<Extracted, ExtractError> {
    let img = parse(&d[chunk.offset..], chunk.offset)
        .ok_or_else(|| ExtractError::Bad("image no longer parses".into()))?;
    let chip_id = img.chip.map(|c| c.0);
    let mut blobs = Vec::new();
    for (i, g) in img.segments.iter().enumerate() {
        let name = format!("seg{i}-0x{:08x}-{}.bin", g.load, region(chip_id, g.load));
        let path = ctx.write_blob(
            &name,
            &d[chunk.offset + g.offset..chunk.offset + g.offset + g.len],
        )?;
        blobs.push(OutBlob {
            path,
            kind: BlobKind::McuFirmware,
            base_address: Some(g.load as u64),
        });
    }
    Ok(Extracted {
        consumed: img.end,
        note: format!("{} segments written", blobs.len()),
        blobs,
        facts: Default::default(),
    })
}
