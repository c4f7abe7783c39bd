//! ESP8266 flash dumps with more than one image: every image is parsed, each a region of the
//! layout, each segment a blob at its load address. The three layouts of the field:
//! - Arduino core: eboot at 0x0, the application (0xE9, irom0 as a segment) at 0x1000;
//! - NONOS SDK OTA: boot_v1.x at 0x0, `user1.bin` (0xEA "v2" image) at 0x1000;
//! - NONOS SDK plain (NodeMCU builds): `eagle.flash.bin` at 0x0, raw irom0 at 0x10000.
//!
//! The images are laid out here per esptool's format description; `esptool image-info` reads
//! each one independently, so the fixtures are what the chip's tools would write.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use iotassure_core::tree::BlobKind;

/// `esptool`, or `None` (skip) outside CI; in CI a missing tool fails the test.
fn esptool() -> Option<std::path::PathBuf> {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        return Some(iotassure_testkit::require_tool(
            "esptool",
            "esptool (pip: .ci/setup.d/esp.sh)",
        ));
    }
    let found = std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .map(|d| Path::new(d).join("esptool"))
        .find(|p| p.is_file());
    if found.is_none() {
        eprintln!(
            "skipping the esptool cross-check: esptool is not installed (pip install esptool)"
        );
    }
    found
}

/// `esptool image-info` of `bytes`: its text, which must say the image is valid.
fn image_info(tool: &Path, dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    let o = Command::new(tool)
        .args(["--chip", "esp8266", "image-info"])
        .arg(&p)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "esptool refuses {name}: {text}");
    assert!(text.contains("(valid)"), "{name}: {text}");
    text
}

/// The SDK bootloader's CRC-32 variant over a v2 image (esptool's `esp8266_crc32`).
fn esp8266_crc32(d: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in d {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xedb8_8320
            } else {
                c >> 1
            };
        }
    }
    let crc = !c;
    if crc & 0x8000_0000 != 0 {
        !crc
    } else {
        crc + 1
    }
}

/// A NONOS SDK `user1.bin`: 0xEA header, the irom0 segment (load address 0), then an ordinary
/// image of the RAM segments, then the CRC.
fn v2_image(irom: &[u8], ram: &[(u32, Vec<u8>)]) -> Vec<u8> {
    let mut img = vec![0xea, 4, 0, 0x20];
    img.extend(0x4010_0004u32.to_le_bytes());
    img.extend(0u32.to_le_bytes());
    img.extend((irom.len() as u32).to_le_bytes());
    img.extend_from_slice(irom);
    img.extend(esp8266_image(0x4010_0004, ram));
    let crc = esp8266_crc32(&img);
    img.extend(crc.to_le_bytes());
    img
}

fn pad_to(img: &mut Vec<u8>, at: usize) {
    assert!(img.len() <= at);
    img.resize(at, 0xff);
}

fn bootloader() -> Vec<u8> {
    esp8266_image(0x4010_f3e4, &[(0x4010_f000, noise(3456, 1))])
}

fn ram_segments() -> Vec<(u32, Vec<u8>)> {
    vec![
        (0x4010_0000, noise(28012, 2)),
        (0x3ffe_8000, noise(2812, 3)),
        (0x3ffe_8b00, noise(7156, 4)),
    ]
}

/// (load address, size) of the MCU blobs of the chunk at `offset`.
fn segments_at(u: &iotassure_unpack::Unpacked, offset: u64) -> Vec<(u64, u64)> {
    let dir = u
        .summary
        .layout
        .iter()
        .find(|l| l.offset == offset && l.depth == 0)
        .and_then(|l| l.extracted_to.clone())
        .unwrap_or_else(|| panic!("nothing extracted at 0x{offset:x}: {:#?}", u.summary.layout));
    let mut v: Vec<(u64, u64)> = u
        .tree
        .blobs
        .iter()
        .filter(|b| b.path.starts_with(&format!("{dir}/")))
        .map(|b| {
            assert_eq!(b.kind, BlobKind::McuFirmware);
            let len = std::fs::metadata(u.tree.root.join(&b.path)).unwrap().len();
            (b.base_address.unwrap(), len)
        })
        .collect();
    v.sort();
    v
}

#[test]
fn arduino_layout_bootloader_and_application() {
    let t = tempfile::tempdir().unwrap();
    let irom = noise(50_000, 7);
    let mut app_segs = vec![(0x4020_1010, irom.clone())];
    app_segs.extend(ram_segments());
    let app = esp8266_image(0x4010_00b8, &app_segs);
    let mut img = bootloader();
    pad_to(&mut img, 0x1000);
    img.extend(&app);
    if let Some(tool) = esptool() {
        let info = image_info(&tool, t.path(), "app.bin", &app);
        assert!(info.contains("Segments: 4"), "{info}");
        assert!(info.contains("Flash size: 1MB"), "{info}");
    }
    let u = run_bytes(t.path(), "arduino.bin", &img);
    let l0 = &u.summary.layout[0];
    // The ESP8266 header's 0x2_ nibble is 1 MB (it is 4 MB on an ESP32).
    assert!(l0.description.contains(" 1MB "), "{}", l0.description);
    assert_eq!(segments_at(&u, 0), vec![(0x4010_f000, 3456)]);
    assert_eq!(l0.facts["segments"][0]["region"], "IRAM");
    assert_eq!(
        segments_at(&u, 0x1000),
        vec![
            (0x3ffe_8000, 2812),
            (0x3ffe_8b00, 7156),
            (0x4010_0000, 28012),
            (0x4020_1010, 50_000)
        ]
    );
    let irom_blob = u
        .tree
        .blobs
        .iter()
        .find(|b| b.base_address == Some(0x4020_1010))
        .unwrap();
    assert_eq!(
        std::fs::read(u.tree.root.join(&irom_blob.path)).unwrap(),
        irom
    );
    assert!(u.summary.problems.is_empty(), "{:#?}", u.summary.problems);
}

#[test]
fn nonos_ota_layout_with_a_v2_user_image_in_both_slots() {
    let t = tempfile::tempdir().unwrap();
    let irom = noise(40_000, 8);
    let user = v2_image(&irom, &ram_segments());
    if let Some(tool) = esptool() {
        let info = image_info(&tool, t.path(), "user1.bin", &user);
        assert!(info.contains("Image version: 2"), "{info}");
    }
    let mut img = bootloader();
    pad_to(&mut img, 0x1000);
    img.extend(&user);
    pad_to(&mut img, 0x81000);
    img.extend(&user);
    img.resize(0x100000, 0xff);
    let u = run_bytes(t.path(), "ota.bin", &img);
    for slot in [0x1000u64, 0x81000] {
        let l = u.summary.layout.iter().find(|l| l.offset == slot).unwrap();
        assert!(l.description.contains("CRC-32 valid"), "{}", l.description);
        // irom0 runs where the chip maps this slot: 0x40200000 + slot + 16 header bytes.
        let segs = segments_at(&u, slot);
        assert!(
            segs.contains(&(0x4020_0000 + slot + 16, 40_000)),
            "{segs:x?}"
        );
        assert_eq!(segs.len(), 4);
    }
    // A damaged v2 image says so.
    let mut bad = img.clone();
    bad[0x1000 + 100] ^= 1;
    let u = run_bytes(t.path(), "ota-bad.bin", &bad);
    let l = u
        .summary
        .layout
        .iter()
        .find(|l| l.offset == 0x1000)
        .unwrap();
    assert!(
        l.description.contains("CRC-32 INVALID"),
        "{}",
        l.description
    );
}

#[test]
fn v2_user_image_shipped_alone_is_an_application() {
    // The SDK's OTA build output (`user1.4096.new.6.bin`) is the 0xEA image by itself.
    let t = tempfile::tempdir().unwrap();
    let user = v2_image(&noise(40_000, 9), &ram_segments());
    let u = run_bytes(t.path(), "user1.bin", &user);
    let l = u.summary.layout.iter().find(|l| l.offset == 0).unwrap();
    assert_eq!(l.format, "esp-app");
    assert!(l.description.contains("CRC-32 valid"), "{}", l.description);
    // irom0 of user1 runs from slot 0x1000: 0x40200000 + 0x1000 + 16 header bytes.
    let segs = segments_at(&u, 0);
    assert!(segs.contains(&(0x4020_1010, 40_000)), "{segs:x?}");
    assert_eq!(segs.len(), 4);
    // 0xEA followed by anything else is not an image.
    let mut junk = noise(8192, 10);
    junk[0] = 0xea;
    let input = t.path().join("junk.bin");
    std::fs::write(&input, &junk).unwrap();
    let e = iotassure_unpack::unpack(
        &input,
        &t.path().join("junk.out"),
        &iotassure_unpack::Options::default(),
        &iotassure_core::NoProgress,
    )
    .expect_err("0xEA + noise taken for an image");
    assert!(e.to_string().contains("no known firmware format"), "{e}");
}

#[test]
fn nonos_plain_layout_with_raw_irom0() {
    let t = tempfile::tempdir().unwrap();
    let mut code = noise(20_000, 9);
    code.extend(b"NodeMCU 2.2.0.0 built with Docker\0");
    code.extend(noise(30_000, 10));
    let mut img = esp8266_image(0x4010_0004, &ram_segments());
    pad_to(&mut img, 0x10000);
    img.extend(&code);
    img.resize(0x80000, 0xff);
    let u = run_bytes(t.path(), "nodemcu.bin", &img);
    let l = u
        .summary
        .layout
        .iter()
        .find(|l| l.offset == 0x10000)
        .unwrap_or_else(|| panic!("{:#?}", u.summary.layout));
    assert_eq!(l.format, "esp8266-irom0");
    assert_eq!(l.size, code.len() as u64, "ends before the erased sectors");
    assert_eq!(
        segments_at(&u, 0x10000),
        vec![(0x4021_0000, code.len() as u64)]
    );
    assert_eq!(segments_at(&u, 0).len(), 3);
    // Without the ESP8266 image at 0x0, the same bytes at 0x10000 are not irom0.
    let mut alone = vec![0u8; 0x10000];
    alone.extend(&code);
    let p = t.path().join("alone.bin");
    std::fs::write(&p, &alone).unwrap();
    if let Ok(u) = iotassure_unpack::unpack(
        &p,
        &t.path().join("alone.out"),
        &Default::default(),
        &iotassure_core::NoProgress,
    ) {
        assert!(u.summary.layout.iter().all(|l| l.format != "esp8266-irom0"));
    }
}

#[test]
fn flash_size_tables_differ_between_esp8266_and_esp32() {
    // The same size nibble (2 in 0x2_, 1 in 0x1_) means 1 MB on the ESP8266 (its table starts
    // 512KB, 256KB, 1MB) and 2 MB on the ESP32 family (1MB, 2MB, …), as esptool reads them.
    let t = tempfile::tempdir().unwrap();
    let mut e8266 = esp8266_image(0x4010_0004, &[(0x4010_0000, noise(64, 1))]);
    e8266[3] = 0x40; // 4MB on the ESP8266
    let e32 = esp_image(0x4002_2f84, &[(0x4002_2000, noise(64, 2))], false); // 0x1f
    let mut sizes = Vec::new();
    for (name, img) in [("8266.bin", e8266), ("32.bin", e32)] {
        let u = run_bytes(t.path(), name, &img);
        sizes.push(u.summary.layout[0].description.clone());
    }
    assert!(
        sizes[0].contains("(ESP8266)") && sizes[0].contains(" 4MB "),
        "{}",
        sizes[0]
    );
    assert!(
        sizes[1].contains("(ESP32-S2)") && sizes[1].contains(" 2MB 80m"),
        "{}",
        sizes[1]
    );
}

#[test]
fn hostile_second_images_are_refused_not_followed() {
    let t = tempfile::tempdir().unwrap();
    let user = v2_image(&noise(4000, 8), &ram_segments());
    let mut base = bootloader();
    pad_to(&mut base, 0x1000);
    // An irom0 length past the end, a truncated image, a wrong segment count: each stays
    // outside the layout as an image (its bytes are still carved and scanned).
    let mut huge = user.clone();
    huge[12..16].copy_from_slice(&0x7fff_fff0u32.to_le_bytes());
    let truncated = user[..user.len() / 2].to_vec();
    let mut count = user.clone();
    count[1] = 9;
    for (name, second) in [("huge", huge), ("truncated", truncated), ("count", count)] {
        let mut img = base.clone();
        img.extend(&second);
        let u = run_bytes(t.path(), &format!("{name}.bin"), &img);
        assert!(
            u.summary
                .layout
                .iter()
                .all(|l| !(l.offset == 0x1000 && l.format == "esp-app")),
            "{name}: {:#?}",
            u.summary.layout
        );
        assert_eq!(segments_at(&u, 0), vec![(0x4010_f000, 3456)], "{name}");
    }
}
