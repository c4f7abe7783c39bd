//! A whole ESP32-family flash dump (`esptool read_flash`): the partition table at 0x8000 names
//! the app partitions, and every app image in them is parsed, each a region of the layout with
//! its segments as blobs. Laid out per ESP-IDF's partition table format; the app images are the
//! ones `common::esp_image` writes (read back by esptool in `formats.rs`).

mod common;

use common::*;
use md5::{Digest, Md5};

/// A partition table entry: type, subtype, offset, size, label.
fn entry(kind: u8, subtype: u8, offset: u32, size: u32, label: &str) -> Vec<u8> {
    let mut e = vec![0xaa, 0x50, kind, subtype];
    e.extend(offset.to_le_bytes());
    e.extend(size.to_le_bytes());
    let mut l = [0u8; 16];
    l[..label.len()].copy_from_slice(label.as_bytes());
    e.extend(l);
    e.extend(0u32.to_le_bytes());
    e
}

fn table(entries: &[Vec<u8>]) -> Vec<u8> {
    let mut t: Vec<u8> = entries.concat();
    let digest = Md5::digest(&t);
    t.extend([0xeb, 0xeb]);
    t.extend([0xff; 14]);
    t.extend(digest);
    t.resize(0xc00, 0xff);
    t
}

fn app(project: &str, version: &str) -> Vec<u8> {
    let mut drom = esp_app_desc(project, version, "v5.1.2");
    drom.extend(noise(3000, 5));
    esp_image(
        0x4002_2f84,
        &[(0x3f00_0020, drom), (0x4002_2000, noise(9000, 6))],
        false,
    )
}

#[test]
fn every_app_partition_of_a_flash_dump_is_parsed() {
    let t = tempfile::tempdir().unwrap();
    let mut img = vec![0xffu8; 0x8000];
    img.extend(table(&[
        entry(1, 0x02, 0x9000, 0x4000, "nvs"),
        entry(1, 0x00, 0xd000, 0x2000, "otadata"),
        entry(1, 0x01, 0xf000, 0x1000, "phy_init"),
        entry(0, 0x10, 0x10000, 0x10_0000, "ota_0"),
        entry(0, 0x11, 0x11_0000, 0x10_0000, "ota_1"),
    ]));
    img.resize(0x10000, 0xff);
    img.extend(app("lamp", "1.4.0"));
    img.resize(0x11_0000, 0xff);
    img.extend(app("lamp", "1.3.9"));
    img.resize(0x21_0000, 0xff);
    let u = run_bytes(t.path(), "flash.bin", &img);
    let pt = u
        .summary
        .layout
        .iter()
        .find(|l| l.format == "esp-partition-table")
        .unwrap_or_else(|| panic!("{:#?}", u.summary.layout));
    assert_eq!(pt.offset, 0x8000);
    assert!(pt.description.contains("MD5 valid"), "{}", pt.description);
    assert!(
        pt.description.contains("nvs data/nvs @0x9000 16 KiB"),
        "{}",
        pt.description
    );
    for (slot, version) in [(0x10000u64, "1.4.0"), (0x11_0000, "1.3.9")] {
        let l = u
            .summary
            .layout
            .iter()
            .find(|l| l.offset == slot && l.format == "esp-app")
            .unwrap_or_else(|| panic!("no app at 0x{slot:x}: {:#?}", u.summary.layout));
        assert_eq!(l.facts["app"]["app_version"], version);
        assert_eq!(l.facts["chip"], "ESP32-S2");
        let dir = l.extracted_to.clone().unwrap();
        let segs = u
            .tree
            .blobs
            .iter()
            .filter(|b| b.path.starts_with(&format!("{dir}/")))
            .count();
        assert_eq!(segs, 2, "0x{slot:x}");
    }
    // A damaged table (MD5 off) is still read, and says so.
    let mut bad = img.clone();
    bad[0x8000 + 12] ^= 0x20; // a label letter
    let u = run_bytes(t.path(), "bad.bin", &bad);
    let pt = u
        .summary
        .layout
        .iter()
        .find(|l| l.format == "esp-partition-table")
        .unwrap();
    assert!(
        pt.description.contains("MD5 DOES NOT MATCH"),
        "{}",
        pt.description
    );
}
