//! The shared corpus against `../shared/corpus/ground_truth.json`: the layout offsets the
//! ground truth documents, the extracted file counts (regular files, folders, symlinks and
//! device nodes inside the root filesystem, counted like the ground truth counts them), the key
//! files, the kernels' versions and the MCU images' facts. Skips, with a note, when `../shared`
//! is absent.

mod common;

use std::collections::HashMap;
use std::fs;

use common::run;
use iotassure_core::tree::{BlobKind, EntryKind, Tree};
use iotassure_testkit::{corpus_image, shared_dir};
use iotassure_unpack::Unpacked;
use serde_json::Value;

fn ground_truth() -> Option<HashMap<String, Value>> {
    let dir = shared_dir()?;
    let v: Vec<Value> =
        serde_json::from_slice(&fs::read(dir.join("corpus/ground_truth.json")).unwrap()).unwrap();
    Some(
        v.into_iter()
            .map(|e| (e["file"].as_str().unwrap().to_string(), e))
            .collect(),
    )
}

fn unpack_corpus(name: &str) -> Option<(Unpacked, Value, tempfile::TempDir)> {
    let img = corpus_image(name)?;
    let gt = ground_truth()?
        .remove(name)
        .expect("image in ground_truth.json");
    let t = tempfile::tempdir().unwrap();
    let u = run(&img, &t.path().join("out"));
    Some((u, gt, t))
}

/// Depth-0 layout offsets (not gaps).
fn offsets(u: &Unpacked) -> Vec<(u64, String)> {
    u.summary
        .layout
        .iter()
        .filter(|l| l.depth == 0 && l.format != "unknown" && l.format != "padding")
        .map(|l| (l.offset, l.format.clone()))
        .collect()
}

fn hex(s: &str) -> u64 {
    u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap()
}

/// Every offset binwalk v3 reports, we report too (formats may be named differently).
fn assert_binwalk_offsets(u: &Unpacked, gt: &Value) {
    let ours = offsets(u);
    for e in gt["container_layout"]["binwalk_v3.1.0"].as_array().unwrap() {
        let off = hex(e["offset"].as_str().unwrap());
        assert!(
            ours.iter().any(|(o, _)| *o == off),
            "binwalk v3 reports {} at 0x{off:x}; we have {ours:x?}",
            e["description"]
        );
    }
}

/// Counts inside one folder of the tree, the way the ground truth counts an extracted root
/// (the root folder itself not included).
fn counts(tree: &Tree, dir: &str) -> [u64; 4] {
    let p = format!("{dir}/");
    let mut n = [0u64; 4];
    for e in tree.entries.iter().filter(|e| e.path.starts_with(&p)) {
        match e.kind {
            EntryKind::File => n[0] += 1,
            EntryKind::Dir => n[1] += 1,
            EntryKind::Symlink { .. } => n[2] += 1,
            _ => n[3] += 1,
        }
    }
    n
}

/// The single device root, compared with `extraction.file_count`; key files present.
fn assert_rootfs(u: &Unpacked, gt: &Value, key_files: &[&str]) -> String {
    assert_eq!(
        u.tree.rootfs.len(),
        1,
        "exactly one device root: {:?}",
        u.tree.rootfs
    );
    let root = u.tree.rootfs[0].path.clone();
    let want = &gt["extraction"]["file_count"];
    let [files, dirs, links, special] = counts(&u.tree, &root);
    let w = |k: &str| want[k].as_u64().unwrap();
    let msg = format!(
        "{root}: {files} files, {dirs} dirs, {links} symlinks, {special} device nodes; ground truth {want}"
    );
    assert!(files >= w("regular_files"), "regular files: {msg}");
    assert!(dirs >= w("directories"), "directories: {msg}");
    assert!(links >= w("symlinks"), "symlinks: {msg}");
    assert!(special >= w("device_nodes_fifos"), "device nodes: {msg}");
    assert!(!u.summary.partial, "{:#?}", u.summary.problems);
    for k in key_files {
        let e = u
            .tree
            .entries
            .iter()
            .find(|e| e.path == format!("{root}/{k}"))
            .unwrap_or_else(|| panic!("{k} missing from {root}"));
        assert!(
            matches!(e.kind, EntryKind::File | EntryKind::Symlink { .. }),
            "{k}: {:?}",
            e.kind
        );
    }
    root
}

fn kernel_version(u: &Unpacked) -> Option<String> {
    u.summary
        .layout
        .iter()
        .find(|l| l.format == "linux-kernel")
        .and_then(|l| l.facts.get("linux_version"))
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

#[test]
fn openwrt_tplink_v1_lzma_kernel_with_initramfs_and_squashfs_xz() {
    let Some((u, gt, _t)) =
        unpack_corpus("openwrt-CC-r45001-freifunk-tl-wr841n-v9-squashfs-factory.bin")
    else {
        return;
    };
    assert_binwalk_offsets(&u, &gt);
    let o = offsets(&u);
    // The header binwalk v3 does not report (vendor "OpenWrt"), and the JFFS2 end marker.
    assert!(o.contains(&(0, "tplink-v1".into())), "{o:x?}");
    assert!(o.contains(&(0x117790, "squashfs-4.0".into())), "{o:x?}");
    assert!(o.contains(&(0x340000, "openwrt-deadc0de".into())), "{o:x?}");
    let root = assert_rootfs(&u, &gt, &["etc/shadow", "etc/passwd", "etc/rc.d/S50telnet"]);
    assert_eq!(root, "0x117790-squashfs-4.0-xz");
    let shadow = u
        .tree
        .entries
        .iter()
        .find(|e| e.path == format!("{root}/etc/shadow"))
        .unwrap();
    assert_eq!(shadow.provenance, "image @0x117790 squashfs-4.0-xz");
    assert!(fs::read_to_string(u.tree.disk_path(shadow))
        .unwrap()
        .starts_with("root::"));
    assert_eq!(kernel_version(&u).as_deref(), Some("3.18.9"));
    // The kernel's initramfs (a cpio at 0x33E648 of the decompressed kernel, as unblob finds).
    let cpio = u
        .summary
        .layout
        .iter()
        .find(|l| l.format == "cpio")
        .expect("initramfs cpio");
    assert_eq!(
        (cpio.parent.as_str(), cpio.offset),
        ("image @0x200 lzma", 0x33e648)
    );
    assert!(u
        .tree
        .blobs
        .iter()
        .any(|b| b.kind == BlobKind::Kernel && b.provenance == "image @0x200 lzma"));
}

#[test]
fn ddwrt_tplink_v1_squashfs_with_shared_key() {
    let Some((u, gt, _t)) = unpack_corpus("ddwrt-tl-wr841nd-v9-factory-to-ddwrt.bin") else {
        return;
    };
    assert_binwalk_offsets(&u, &gt);
    assert!(offsets(&u).contains(&(0, "tplink-v1".into())));
    let root = assert_rootfs(
        &u,
        &gt,
        &[
            "etc/key.pem",
            "etc/cert.pem",
            "etc/defaults.bin",
            "etc/passwd",
        ],
    );
    let key = u
        .tree
        .entries
        .iter()
        .find(|e| e.path == format!("{root}/etc/key.pem"))
        .unwrap();
    assert!(fs::read_to_string(u.tree.disk_path(key))
        .unwrap()
        .contains("BEGIN RSA PRIVATE KEY"));
    // DD-WRT's kernel has no banner: its version comes from the utsname record.
    assert_eq!(kernel_version(&u).as_deref(), Some("3.18.77"));
}

#[test]
fn dir300_wrgg_lzma_and_squashfs_2_big_endian_lzma() {
    let Some((u, gt, _t)) = unpack_corpus("DIR-300A1_FW105b09.bin") else {
        return;
    };
    assert_binwalk_offsets(&u, &gt);
    let o = offsets(&u);
    for want in [
        (0, "dlink-wrgg"),
        (0x60, "lzma"),
        (0x80060, "packimg"),
        (0x80080, "squashfs-2.0"),
    ] {
        assert!(
            o.contains(&(want.0, want.1.into())),
            "{want:x?} not in {o:x?}"
        );
    }
    assert!(u.summary.layout[0]
        .description
        .contains("wrgg19_c_dlwbr_dir300"));
    let root = assert_rootfs(
        &u,
        &gt,
        &[
            "etc/config/image_sign",
            "etc/scripts/misc/telnetd.sh",
            "etc/config/defaultvalue.gz",
        ],
    );
    let sign = u
        .tree
        .entries
        .iter()
        .find(|e| e.path == format!("{root}/etc/config/image_sign"))
        .unwrap();
    assert_eq!(
        fs::read_to_string(u.tree.disk_path(sign)).unwrap().trim(),
        "wrgg19_c_dlwbr_dir300"
    );
    assert!(kernel_version(&u).unwrap().starts_with("2.4.25"));
    // The gzip'd default configuration inside the root, unpacked beside it.
    let xml = u
        .tree
        .entries
        .iter()
        .find(|e| e.path.ends_with("defaultvalue.gz/0x0-gzip/rgdb.xml"))
        .expect("nested gzip");
    assert_eq!(
        xml.provenance,
        "image @0x80080 squashfs-2.0-be → /etc/config/defaultvalue.gz → @0x0 gzip"
    );
}

#[test]
fn tplink_v14_rootfs_squashfs() {
    let Some((u, gt, _t)) = unpack_corpus("tplink-tl-wr841n-v14-2023-rootfs.squashfs") else {
        return;
    };
    assert_binwalk_offsets(&u, &gt);
    let root = assert_rootfs(
        &u,
        &gt,
        &["etc/passwd.bak", "etc/inittab", "etc/init.d/rcS"],
    );
    let bak = u
        .tree
        .entries
        .iter()
        .find(|e| e.path == format!("{root}/etc/passwd.bak"))
        .unwrap();
    assert!(fs::read_to_string(u.tree.disk_path(bak))
        .unwrap()
        .starts_with("admin:$1$$iC.dUsGpxNNJGeOm1dFio/"));
}

#[test]
fn tplink_v14_kernel_ver2_header() {
    let Some((u, gt, _t)) = unpack_corpus("tplink-tl-wr841n-v14-2023-kernel.bin") else {
        return;
    };
    assert_binwalk_offsets(&u, &gt);
    let h = &u.summary.layout[0];
    assert_eq!((h.offset, h.format.as_str()), (0, "tplink-v2"));
    assert_eq!(h.facts["hardware_id"], "0x08410014");
    assert_eq!(kernel_version(&u).as_deref(), Some("2.6.36"));
    assert!(u
        .summary
        .layout
        .iter()
        .any(|l| l.format == "cpio" && l.offset == 0x2d8000));
    assert!(u.tree.rootfs.is_empty(), "no root filesystem in this file");
}

#[test]
fn emux_bzip2_tar_rootfs() {
    let Some((u, gt, _t)) = unpack_corpus("emux_DV-ARM_rootfs-arm.tar.bz2") else {
        return;
    };
    assert_binwalk_offsets(&u, &gt);
    let root = assert_rootfs(
        &u,
        &gt,
        &["etc/shadow", "etc/passwd", "etc/inittab", "etc/rc.local"],
    );
    assert_eq!(root, "0x0-bzip2/0x0-tar/rootfs-arm");
}

#[test]
fn esp32s2_app_image_facts() {
    let Some((u, _gt, _t)) = unpack_corpus("esptool_esp_idf_blink_esp32s2.bin") else {
        return;
    };
    let l = &u.summary.layout[0];
    assert_eq!(l.format, "esp-app");
    assert_eq!(l.facts["entry_point"], 0x4002_2f84u32);
    assert_eq!(l.facts["chip"], "ESP32-S2");
    assert_eq!(l.facts["segments"].as_array().unwrap().len(), 6);
    assert_eq!(
        l.facts["sha256"],
        "10f48f4a71a48cc4c917d70d13bf717b1bc7f3187b3d564b00192f7e381531b7"
    );
    assert_eq!(l.facts["sha256_valid"], true);
    assert_eq!(l.facts["secure_boot_v2_signature"], false);
    assert_eq!(l.facts["app"]["esp_idf"], "v5.0-beta1-427-g4532e6e0b2-dirt");
    let regions: Vec<_> = l.facts["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["region"].as_str().unwrap())
        .collect();
    assert_eq!(
        regions,
        ["DROM", "DRAM", "IRAM", "IROM", "IRAM", "RTC_DATA"]
    );
    assert_eq!(
        u.tree
            .blobs
            .iter()
            .filter(|b| b.kind == BlobKind::McuFirmware)
            .count(),
        6
    );
}

#[test]
fn dvid_intel_hex_flash_image() {
    let Some((u, gt, _t)) = unpack_corpus("DVID_hardcodedPassword.ino.arduino_standard.hex") else {
        return;
    };
    assert_eq!(u.summary.layout[0].format, "intel-hex");
    assert_eq!(u.summary.layout[0].facts["records"], 1027);
    let b = &u.tree.blobs[0];
    assert_eq!((b.kind, b.base_address), (BlobKind::McuFirmware, Some(0)));
    let flash = fs::read(u.tree.root.join(&b.path)).unwrap();
    assert_eq!(flash.len(), 0x4014);
    let pw = &gt["mcu"]["hardcoded_passwords"][0];
    let at = hex(pw["offset_in_flash"].as_str().unwrap()) as usize;
    let s = pw["string"].as_str().unwrap();
    assert_eq!(&flash[at..at + s.len()], s.as_bytes());
}
