//! ESP-IDF partition table (ESP32 family flash dumps, at 0x8000 by default): 32-byte entries
//! (magic 0xAA 0x50, type, subtype, offset, size, 16-byte label, flags), optionally closed by
//! an MD5 entry (0xEB 0xEB, 14 × 0xFF, the MD5 of the entries before it), then 0xFF.
//!
//! The table is a header: it holds no files, but it says where the application images are.
//! Each app partition (type 0) holding an image is hinted to `esp-app`, so a dump of a whole
//! flash yields every app slot (factory, ota_0, ota_1…), each its own region. Offsets are
//! flash addresses; the dump is taken to start at flash address 0, which puts the table at
//! 0x8000 (ESP-IDF's default `CONFIG_PARTITION_TABLE_OFFSET`). A table found elsewhere is
//! described but hints nothing.

use iotassure_core::layout::Confidence;
use md5::{Digest, Md5};
use serde_json::json;

use super::bytes::{cstr, printable_field, u32_le};
use super::{Anchor, Chunk, Format, Kind, Magic};

pub static FORMAT: Format = Format {
    id: "esp-partition-table",
    kind: Kind::Header,
    anchor: Anchor::Anywhere,
    magics: &[Magic {
        bytes: b"\xaa\x50",
        at: 0,
    }],
    identify,
    extract: None,
};

const ENTRY: usize = 32;
const MAX_ENTRIES: usize = 95;
const DEFAULT_OFFSET: usize = 0x8000;

struct Partition {
    kind: u8,
    subtype: u8,
    offset: u32,
    size: u32,
    label: String,
}

fn kind_name(kind: u8, subtype: u8) -> String {
    match (kind, subtype) {
        (0, 0x00) => "app/factory".into(),
        (0, 0x10..=0x1f) => format!("app/ota_{}", subtype - 0x10),
        (0, 0x20) => "app/test".into(),
        (1, 0x00) => "data/ota".into(),
        (1, 0x01) => "data/phy".into(),
        (1, 0x02) => "data/nvs".into(),
        (1, 0x03) => "data/coredump".into(),
        (1, 0x04) => "data/nvs_keys".into(),
        (1, 0x05) => "data/efuse".into(),
        (1, 0x81) => "data/fat".into(),
        (1, 0x82) => "data/spiffs".into(),
        (1, 0x83) => "data/littlefs".into(),
        (k, s) => format!("{k}/0x{s:02x}"),
    }
}

fn identify(d: &[u8], s: usize) -> Option<Chunk> {
    if s % 0x1000 != 0 {
        return None;
    }
    let mut parts = Vec::new();
    let mut md5_ok = None;
    let mut end = s;
    for i in 0..=MAX_ENTRIES {
        let e = d.get(s + i * ENTRY..s + (i + 1) * ENTRY)?;
        end = s + (i + 1) * ENTRY;
        match (e[0], e[1]) {
            (0xaa, 0x50) => {
                let label = &e[12..28];
                if !printable_field(label) || label[0] == 0 || e[2] > 0x3f {
                    return None;
                }
                let offset = u32_le(e, 4)?;
                let size = u32_le(e, 8)?;
                if offset % 0x1000 != 0 || size == 0 {
                    return None;
                }
                parts.push(Partition {
                    kind: e[2],
                    subtype: e[3],
                    offset,
                    size,
                    label: cstr(e, 12, 16),
                });
            }
            (0xeb, 0xeb) if e[2..16].iter().all(|&b| b == 0xff) => {
                md5_ok = Some(Md5::digest(&d[s..s + i * ENTRY]).as_slice() == &e[16..32]);
                break;
            }
            (0xff, 0xff) => {
                end -= ENTRY;
                break;
            }
            _ => return None,
        }
    }
    if parts.len() < 2 || !parts.iter().any(|p| p.kind == 0) {
        return None;
    }
    let list = parts
        .iter()
        .map(|p| {
            format!(
                "{} {} @0x{:x} {} KiB",
                p.label,
                kind_name(p.kind, p.subtype),
                p.offset,
                p.size / 1024
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    let facts: Vec<serde_json::Value> = parts
        .iter()
        .map(|p| json!({"label": p.label, "type": kind_name(p.kind, p.subtype), "offset": p.offset, "size": p.size}))
        .collect();
    let mut chunk = Chunk::new(FORMAT.id, "esp-partition-table", s)
        .size(end - s)
        .describe(format!(
            "ESP-IDF partition table, {} partitions{}: {list}",
            parts.len(),
            match md5_ok {
                Some(true) => ", MD5 valid",
                Some(false) => ", MD5 DOES NOT MATCH",
                None => "",
            }
        ))
        .confidence(if md5_ok == Some(true) {
            Confidence::High
        } else {
            Confidence::Medium
        })
        .fact("partitions", facts);
    if s == DEFAULT_OFFSET {
        for p in parts.iter().filter(|p| p.kind == 0) {
            let at = p.offset as usize;
            if at > s && d.get(at) == Some(&0xe9) {
                chunk = chunk.hint(at, super::esp::FORMAT.id, None);
            }
        }
    }
    Some(chunk)
}
