//! Raw ARM Cortex-M flash images (no container): recognised from the vector table the core reads
//! at reset, laid out here per the ARMv7-M ARM (B1.5.3): word 0 the initial main stack pointer,
//! words 1-15 the exception vectors (Thumb addresses, bit 0 set), words 7-10 and 13 reserved.
//! Both sides are tested: firmware-shaped images become a microcontroller blob at the flash
//! base the handlers imply, and bytes that only resemble a table stay "no known format".

mod common;

use common::*;
use iotassure_core::tree::BlobKind;
use iotassure_core::NoProgress;
use iotassure_unpack::{unpack, Options};

/// An image linked at `base`: a vector table whose handlers point into the program after it,
/// then `program` (padded to 4 KiB so the handlers land inside the file).
fn image(base: u32, sp: u32, program: &[u8], fill_all: bool) -> Vec<u8> {
    let reset = base + 0x201;
    let default = base + 0x301;
    let mut words = [0u32; 16];
    words[0] = sp;
    words[1] = reset;
    words[2] = default; // NMI
    words[3] = base + 0x305; // HardFault
    if fill_all {
        for i in [4, 5, 6, 11, 12, 14, 15] {
            words[i] = default;
        }
    }
    let mut d: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    // 32 external interrupt vectors (device-specific), as vendor startup files emit them.
    for _ in 0..32 {
        d.extend_from_slice(&default.to_le_bytes());
    }
    // Thumb code: `b .` loops for the handlers.
    d.resize(0x200, 0);
    d.extend_from_slice(&[0xfe, 0xe7]);
    d.resize(0x400, 0);
    d.extend_from_slice(program);
    d.resize(d.len().max(0x1000), 0xff);
    d
}

fn run_ok(name: &str, bytes: &[u8]) -> (tempfile::TempDir, iotassure_unpack::Unpacked) {
    let t = tempfile::tempdir().unwrap();
    let u = run_bytes(t.path(), name, bytes);
    (t, u)
}

#[test]
fn stm32_image_at_flash_base_becomes_mcu_blob_with_strings() {
    let program = b"\0lwIP/1.3.1\0HTTP/1.0 200 OK\0Zephyr OS build v2.2.0\0";
    let img = image(0x0800_0000, 0x2002_0000, program, true);
    let (_t, u) = run_ok("stm32.bin", &img);
    let l = u
        .summary
        .layout
        .iter()
        .find(|l| l.format == "cortex-m")
        .expect("cortex-m chunk in the layout");
    assert_eq!(l.offset, 0);
    assert!(
        l.description.contains("reset 0x08000201"),
        "{}",
        l.description
    );
    assert_eq!(l.facts["flash_base"], 0x0800_0000u32);
    let b: Vec<_> = u
        .tree
        .blobs
        .iter()
        .filter(|b| b.kind == BlobKind::McuFirmware)
        .collect();
    assert_eq!(b.len(), 1, "{:?}", u.tree.blobs);
    assert_eq!(b[0].base_address, Some(0x0800_0040));
    let e = u.tree.entries.iter().find(|e| e.path == b[0].path).unwrap();
    let bytes = std::fs::read(u.tree.disk_path(e)).unwrap();
    assert_eq!(bytes, img[64..], "the blob is the program after the table");
}

#[test]
fn application_behind_a_bootloader_gets_its_own_base() {
    // An app linked at 0x08004000 (after a 16 KiB bootloader), shipped as its own file.
    let img = image(0x0800_4000, 0x2000_5000, b"app", true);
    let (_t, u) = run_ok("app.bin", &img);
    let l = u
        .summary
        .layout
        .iter()
        .find(|l| l.format == "cortex-m")
        .unwrap();
    assert_eq!(l.facts["flash_base"], 0x0800_4000u32);
}

#[test]
fn cortex_m0_minimal_table_at_zero_is_recognised() {
    // ARMv6-M: no MemManage/BusFault/UsageFault/DebugMon; flash at 0 (SAMD, nRF, LPC).
    let img = image(0, 0x2000_8000, b"contiki", false);
    let (_t, u) = run_ok("m0.bin", &img);
    let l = u
        .summary
        .layout
        .iter()
        .find(|l| l.format == "cortex-m")
        .unwrap();
    assert_eq!(l.facts["flash_base"], 0u32);
    assert!(u.tree.blobs.iter().any(|b| b.kind == BlobKind::McuFirmware));
}

fn no_format(name: &str, bytes: &[u8]) -> String {
    let t = tempfile::tempdir().unwrap();
    let input = t.path().join(name);
    std::fs::write(&input, bytes).unwrap();
    let e = unpack(
        &input,
        &t.path().join("out"),
        &Options::default(),
        &NoProgress,
    )
    .err()
    .unwrap_or_else(|| panic!("{name} was taken for firmware"));
    e.to_string()
}

#[test]
fn near_misses_stay_unidentified() {
    let good = image(0x0800_0000, 0x2002_0000, b"x", true);
    let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
    let mut even_reset = good.clone();
    even_reset[4] &= !1; // an ARM-state reset vector faults on Cortex-M
    cases.push(("even-reset", even_reset));
    let mut reserved = good.clone();
    reserved[8 * 4] = 1; // reserved slot 8 filled
    cases.push(("reserved", reserved));
    let mut sp = good.clone();
    sp[0..4].copy_from_slice(&0x6000_0000u32.to_le_bytes()); // stack outside SRAM
    cases.push(("stack", sp));
    let mut far = good.clone();
    far[8..12].copy_from_slice(&0x0900_0001u32.to_le_bytes()); // NMI 16 MiB past a 4 KiB file
    cases.push(("handler-outside-file", far));
    cases.push(("table-only", good[..256].to_vec()));
    cases.push((
        "text",
        b"    hello world, this is a text file\n".repeat(100),
    ));
    cases.push(("random", noise(64 << 10, 7)));
    for (name, bytes) in cases {
        let e = no_format(name, &bytes);
        assert!(e.contains("no known firmware format"), "{name}: {e}");
    }
}

/// A classic ARM program: `B reset` then seven `LDR PC, [PC, #0x18]`, the literal pool, code.
fn arm_program(program: &[u8]) -> Vec<u8> {
    let mut d: Vec<u8> = Vec::new();
    d.extend(0xea00_0006u32.to_le_bytes());
    for _ in 0..7 {
        d.extend(0xe59f_f018u32.to_le_bytes());
    }
    for _ in 0..8 {
        d.extend(0x0000_0100u32.to_le_bytes());
    }
    d.resize(0x100, 0);
    d.extend_from_slice(program);
    d.resize(d.len().max(0x1000), 0);
    d
}

#[test]
fn classic_arm_vector_table_becomes_mcu_blob() {
    let img = arm_program(b"\0ThreadX ARM7/Green Hills Version G4.0b\0");
    let (_t, u) = run_ok("arm.bin", &img);
    let l = u
        .summary
        .layout
        .iter()
        .find(|l| l.format == "arm-vectors")
        .expect("arm-vectors chunk");
    assert_eq!(l.facts["vectors"], 8);
    let b = u
        .tree
        .blobs
        .iter()
        .find(|b| b.kind == BlobKind::McuFirmware)
        .expect("program blob");
    let e = u.tree.entries.iter().find(|e| e.path == b.path).unwrap();
    assert_eq!(std::fs::read(u.tree.disk_path(e)).unwrap(), img[32..]);
    // Two slots that are not vector instructions: not a table.
    let mut two = img.clone();
    two[8..16].copy_from_slice(&[0x41; 8]);
    let e = no_format("two-bad.bin", &two);
    assert!(e.contains("no known firmware format"), "{e}");
}

#[test]
fn a_vector_table_inside_a_filesystem_is_a_file_not_the_device_program() {
    // Co-processor firmware under /lib/firmware of a Linux image stays a file.
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("root");
    std::fs::create_dir_all(root.join("lib/firmware")).unwrap();
    std::fs::write(
        root.join("lib/firmware/mcu.bin"),
        image(0x0800_0000, 0x2000_5000, b"fw", true),
    )
    .unwrap();
    std::fs::write(root.join("lib/firmware/arm.bin"), arm_program(b"fw")).unwrap();
    let tar = iotassure_testkit::unpack::tar(&root, &t.path().join("fs.tar"), &[]);
    let u = run(&tar, &t.path().join("out"));
    assert!(
        u.summary
            .layout
            .iter()
            .all(|l| l.format != "cortex-m" && l.format != "arm-vectors"),
        "{:#?}",
        u.summary.layout
    );
    assert!(u
        .tree
        .entries
        .iter()
        .any(|e| e.path.ends_with("lib/firmware/mcu.bin")));
    assert!(!u.tree.blobs.iter().any(|b| b.kind == BlobKind::McuFirmware));
}
