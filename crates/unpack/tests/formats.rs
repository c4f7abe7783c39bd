//! Every format the engine claims, on a fixture built here: with the Debian tool that writes it
//! (`.ci/apt/unpack.txt`) or generated in Rust (`common`). None needs `../shared`.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use common::*;
use iotassure_core::tree::{BlobKind, EntryKind};
use iotassure_testkit::unpack as tk;

/// The regular files of the sample root, as extracted under `dir` of the tree.
fn assert_sample_root(u: &iotassure_unpack::Unpacked, dir: &str, root: &Path) {
    let want: BTreeMap<String, Vec<u8>> = tk::files_under(root)
        .into_iter()
        .filter(|(k, v)| !v.starts_with(b"-> ") || !k.starts_with("bin/sh"))
        .filter(|(k, _)| k != "bin/sh")
        .collect();
    let got = files_in(&u.tree, dir);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "files under {dir}"
    );
    for (k, v) in &want {
        assert!(got[k] == *v, "{dir}/{k}: content differs");
    }
    let sh = u
        .tree
        .entries
        .iter()
        .find(|e| e.path == format!("{dir}/bin/sh"))
        .unwrap_or_else(|| panic!("{dir}/bin/sh missing"));
    assert_eq!(
        sh.kind,
        EntryKind::Symlink {
            target: "busybox".into()
        }
    );
    assert!(
        u.tree
            .entries
            .iter()
            .any(|e| e.path == format!("{dir}/var/empty") && e.kind == EntryKind::Dir),
        "empty folder kept"
    );
    assert!(!u.summary.partial, "problems: {:#?}", u.summary.problems);
    assert!(
        u.tree.rootfs.iter().any(|r| r.path == dir),
        "{dir} found as a device root: {:?}",
        u.tree.rootfs
    );
}

fn sample(dir: &Path) -> std::path::PathBuf {
    tk::sample_root(dir)
}

#[test]
fn squashfs4_every_compressor() {
    let t = tempfile::tempdir().unwrap();
    let root = sample(t.path());
    for comp in ["gzip", "xz", "lzo", "lz4", "zstd", "lzma"] {
        let img = tk::mksquashfs(&root, &t.path().join(format!("{comp}.sqfs")), comp, &[]);
        let u = run(&img, &t.path().join(format!("out-{comp}")));
        let dir = chunk_dir(&u, "squashfs-4.0");
        assert_eq!(dir, format!("0x0-squashfs-4.0-{comp}"));
        assert_sample_root(&u, &dir, &root);
    }
}

#[test]
fn squashfs4_big_endian_and_openwrt_lzma_variant() {
    use backhand::compression::{CompressionAction, Compressor, DefaultCompressor};
    use backhand::kind::{Kind, BE_V4_0, LE_V4_0};
    use backhand::{BackhandError, FilesystemCompressor, FilesystemWriter, NodeHeader};

    /// OpenWrt's old squashfs-lzma: each block is props + dictionary size (5 bytes) and a raw
    /// LZMA stream, without the uncompressed size Debian's unsquashfs expects.
    struct OpenWrtLzma;
    impl CompressionAction for OpenWrtLzma {
        type Error = BackhandError;
        type Compressor = Compressor;
        type FilesystemCompressor = FilesystemCompressor;
        type SuperBlock = backhand::SuperBlock;
        fn decompress(
            &self,
            b: &[u8],
            o: &mut Vec<u8>,
            c: Compressor,
        ) -> Result<(), BackhandError> {
            DefaultCompressor.decompress(b, o, c)
        }
        fn compress(
            &self,
            b: &[u8],
            _: FilesystemCompressor,
            _: u32,
        ) -> Result<Vec<u8>, BackhandError> {
            let mut out = vec![0x5d];
            out.extend_from_slice(&(1u32 << 20).to_le_bytes());
            out.extend(lzma_raw(b, 3, 0, 2, 1 << 20));
            Ok(out)
        }
    }
    static OPENWRT: OpenWrtLzma = OpenWrtLzma;

    let t = tempfile::tempdir().unwrap();
    let build = |kind: Kind, comp: Compressor| {
        let mut w = FilesystemWriter::default();
        w.set_kind(kind);
        w.set_compressor(FilesystemCompressor::new(comp, None).unwrap());
        let h = NodeHeader::new(0o755, 0, 0, 0);
        w.push_dir("etc", h).unwrap();
        w.push_dir("bin", h).unwrap();
        w.push_file(&b"root::0:0:99999:7:::\n"[..], "etc/shadow", h)
            .unwrap();
        let big = noise(200_000, 11);
        w.push_file(std::io::Cursor::new(big), "bin/busybox", h)
            .unwrap();
        w.push_symlink("busybox", "bin/sh", h).unwrap();
        let mut out = std::io::Cursor::new(Vec::new());
        w.write(&mut out).unwrap();
        out.into_inner()
    };
    let be = build(Kind::from_const(BE_V4_0).unwrap(), Compressor::Gzip);
    assert_eq!(&be[..4], b"sqsh");
    let u = run_bytes(t.path(), "be.sqfs", &be);
    let f = files_in(&u.tree, &chunk_dir(&u, "squashfs-4.0"));
    assert_eq!(f["etc/shadow"], b"root::0:0:99999:7:::\n");
    assert_eq!(f["bin/busybox"], noise(200_000, 11));
    assert!(u.summary.layout[0].description.contains("big endian"));

    let ow = build(Kind::new_v4_with_const(&OPENWRT, LE_V4_0), Compressor::Lzma);
    let u = run_bytes(t.path(), "openwrt-lzma.sqfs", &ow);
    let f = files_in(&u.tree, &chunk_dir(&u, "squashfs-4.0"));
    assert_eq!(
        f["bin/busybox"],
        noise(200_000, 11),
        "5-byte-header LZMA blocks decode"
    );
    assert!(!u.summary.partial, "{:#?}", u.summary.problems);
}

#[test]
fn squashfs_2_and_3_both_endians_and_vendor_lzma() {
    use common::squashfs_legacy::{build, sample, Options};
    fn lzma_7zip(d: &[u8]) -> Vec<u8> {
        let mut v = b"7zip".to_vec();
        v.extend(lzma_raw(d, 3, 0, 2, 1 << 16));
        v
    }
    fn lzma_alone_block(d: &[u8]) -> Vec<u8> {
        lzma_alone(d, 3, 0, 2)
    }
    let t = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, Options, &str)> = vec![
        (
            "v2.0-be-7zip",
            Options {
                major: 2,
                minor: 0,
                be: true,
                magic: None,
                block_size: 65536,
                compress: Some(lzma_7zip),
            },
            "squashfs-2.0",
        ),
        (
            "v2.1-le-zlib",
            Options {
                major: 2,
                minor: 1,
                be: false,
                magic: None,
                block_size: 65536,
                compress: Some(zlib),
            },
            "squashfs-2.1",
        ),
        (
            "v3.0-le-zlib",
            Options {
                major: 3,
                minor: 0,
                be: false,
                magic: None,
                block_size: 131072,
                compress: Some(zlib),
            },
            "squashfs-3.0",
        ),
        (
            "v3.1-be-zlib",
            Options {
                major: 3,
                minor: 1,
                be: true,
                magic: None,
                block_size: 65536,
                compress: Some(zlib),
            },
            "squashfs-3.1",
        ),
        (
            "v3.0-le-ddwrt-hsqt",
            Options {
                major: 3,
                minor: 0,
                be: false,
                magic: Some(*b"hsqt"),
                block_size: 65536,
                compress: Some(lzma_alone_block),
            },
            "squashfs-3.0",
        ),
        (
            "v3.0-be-uncompressed",
            Options {
                major: 3,
                minor: 0,
                be: true,
                magic: None,
                block_size: 4096,
                compress: None,
            },
            "squashfs-3.0",
        ),
    ];
    for (name, opts, format) in cases {
        let img = build(&opts, &sample());
        let u = run_bytes(t.path(), name, &img);
        let dir = chunk_dir(&u, format);
        let f = files_in(&u.tree, &dir);
        assert_eq!(f["etc/shadow"], b"root::0:0:99999:7:::\n", "{name}");
        assert_eq!(
            f["bin/busybox"],
            noise(150_000, 3),
            "{name}: blocks + fragment"
        );
        assert_eq!(
            f["usr/lib/text.so"],
            "library text\n".repeat(9000).into_bytes(),
            "{name}"
        );
        assert_eq!(f["etc/init.d/rcS"], b"#!/bin/sh\ntelnetd\n", "{name}");
        assert!(
            u.tree
                .entries
                .iter()
                .any(|e| e.path == format!("{dir}/bin/sh")
                    && e.kind
                        == EntryKind::Symlink {
                            target: "busybox".into()
                        }),
            "{name}: symlink"
        );
        assert!(u
            .tree
            .entries
            .iter()
            .any(|e| e.path == format!("{dir}/var") && e.kind == EntryKind::Dir));
        assert!(!u.summary.partial, "{name}: {:#?}", u.summary.problems);
        assert_eq!(u.tree.rootfs.len(), 1, "{name}: device root found");
        if name.contains("hsqt") {
            assert!(u.summary.layout[0]
                .description
                .contains("non-standard magic \"hsqt\""));
        }
    }
}

#[test]
fn flash_filesystems_cramfs_romfs_jffs2_ubi_ubifs() {
    let t = tempfile::tempdir().unwrap();
    let root = sample(t.path());
    let cases = [
        (
            "cramfs-le",
            tk::mkfs_cramfs(&root, &t.path().join("c.img"), false),
            "cramfs",
        ),
        (
            "cramfs-be",
            tk::mkfs_cramfs(&root, &t.path().join("cbe.img"), true),
            "cramfs",
        ),
        (
            "romfs",
            tk::genromfs(&root, &t.path().join("r.img")),
            "romfs",
        ),
        (
            "jffs2-le",
            tk::mkfs_jffs2(&root, &t.path().join("j.img"), false),
            "jffs2",
        ),
        (
            "jffs2-be",
            tk::mkfs_jffs2(&root, &t.path().join("jbe.img"), true),
            "jffs2",
        ),
    ];
    for (name, img, format) in cases {
        let u = run(&img, &t.path().join(format!("out-{name}")));
        assert_sample_root(&u, &chunk_dir(&u, format), &root);
    }
    for compr in ["lzo", "zlib"] {
        let d = t.path().join(format!("ubi-{compr}"));
        fs::create_dir_all(&d).unwrap();
        let img = tk::ubi_image(&root, &d, compr);
        let u = run(&img, &d.join("out"));
        // UBI → volume blob → UBIFS: the provenance chain says so.
        let dir = chunk_dir(&u, "ubifs");
        assert_sample_root(&u, &dir, &root);
        let shadow = u
            .tree
            .entries
            .iter()
            .find(|e| e.path == format!("{dir}/etc/shadow"))
            .unwrap();
        assert_eq!(shadow.provenance, "image @0x0 ubi → @0x0 ubifs");
    }
}

#[test]
fn ext2_ext3_ext4() {
    let t = tempfile::tempdir().unwrap();
    let root = sample(t.path());
    let cases = [
        (
            "genext2fs",
            tk::genext2fs(&root, &t.path().join("g.img")),
            "0x0-ext2",
        ),
        (
            "ext2",
            tk::mke2fs(&root, &t.path().join("e2.img"), "ext2"),
            "0x0-ext2",
        ),
        (
            "ext3",
            tk::mke2fs(&root, &t.path().join("e3.img"), "ext3"),
            "0x0-ext3",
        ),
        (
            "ext4",
            tk::mke2fs(&root, &t.path().join("e4.img"), "ext4"),
            "0x0-ext4",
        ),
    ];
    for (name, img, dir) in cases {
        let u = run(&img, &t.path().join(format!("out-{name}")));
        assert_eq!(chunk_dir(&u, "ext"), dir, "{name}");
        assert_sample_root(&u, dir, &root);
    }
}

#[test]
fn archives_cpio_tar_zip() {
    let t = tempfile::tempdir().unwrap();
    let root = sample(t.path());
    for fmt in ["newc", "crc", "odc", "bin"] {
        let img = tk::cpio(&root, &t.path().join(format!("{fmt}.cpio")), fmt);
        let u = run(&img, &t.path().join(format!("out-{fmt}")));
        assert_sample_root(&u, &chunk_dir(&u, "cpio"), &root);
    }
    let img = tk::tar(&root, &t.path().join("a.tar"), &[]);
    let u = run(&img, &t.path().join("out-tar"));
    assert_sample_root(&u, &chunk_dir(&u, "tar"), &root);
    let img = tk::zip(&root, &t.path().join("a.zip"));
    let u = run(&img, &t.path().join("out-zip"));
    let f = files_in(&u.tree, &chunk_dir(&u, "zip"));
    assert_eq!(f["etc/shadow"], b"root::0:0:99999:7:::\n");
    assert_eq!(f["bin/busybox"].len(), 300 * 1024);
    assert_eq!(f["www/empty.html"], b"");
}

#[test]
fn compressors_wrap_a_tarball() {
    let t = tempfile::tempdir().unwrap();
    let root = sample(t.path());
    let tarball = tk::tar(&root, &t.path().join("r.tar"), &[]);
    for (tool, format) in [
        ("gzip", "gzip"),
        ("xz", "xz"),
        ("bzip2", "bzip2"),
        ("zstd", "zstd"),
        ("lz4", "lz4"),
        ("lzop", "lzop"),
        ("lzma", "lzma"),
    ] {
        let img = tk::compress(tool, &tarball, &t.path().join(format!("r.tar.{tool}")));
        let u = run(&img, &t.path().join(format!("out-{tool}")));
        assert_eq!(u.summary.layout[0].format, format, "{tool}");
        let dir = chunk_dir(&u, "tar");
        assert_eq!(dir, format!("0x0-{format}/0x0-tar"), "{tool}");
        assert_sample_root(&u, &dir, &root);
    }
    // bzip2 with 100 kB blocks: eight blocks, decoded in parallel, byte for byte.
    let exe = iotassure_testkit::require_tool("bzip2", "bzip2");
    let o = iotassure_testkit::run(
        std::process::Command::new(exe)
            .args(["-1", "-c"])
            .arg(&tarball),
    );
    let u = run_bytes(t.path(), "r.tar.bz2-1", &o.stdout);
    assert_eq!(u.summary.layout[0].size as usize, o.stdout.len());
    let blob = u
        .tree
        .blobs
        .iter()
        .find(|b| b.provenance == "image @0x0 bzip2")
        .unwrap();
    assert_eq!(
        fs::read(u.tree.root.join(&blob.path)).unwrap(),
        fs::read(&tarball).unwrap()
    );
    assert_sample_root(&u, &chunk_dir(&u, "tar"), &root);
    // zlib has no command-line tool in Debian's base: made with flate2.
    let z = zlib(&fs::read(&tarball).unwrap());
    let u = run_bytes(t.path(), "r.tar.zlib", &z);
    assert_sample_root(&u, &chunk_dir(&u, "tar"), &root);
}

#[test]
fn kernel_in_uimage_reports_banner_and_extracts_initramfs() {
    let t = tempfile::tempdir().unwrap();
    let init = t.path().join("init");
    fs::create_dir_all(init.join("etc")).unwrap();
    fs::create_dir_all(init.join("bin")).unwrap();
    fs::write(init.join("etc/shadow"), "root:$1$abc$xyz:0:0:::::\n").unwrap();
    fs::write(init.join("init"), "#!/bin/sh\nexec /bin/sh\n").unwrap();
    let cpio = tk::cpio(&init, &t.path().join("init.cpio"), "newc");
    let kernel = fake_kernel(&fs::read(&cpio).unwrap());
    let raw = t.path().join("vmlinux.bin");
    fs::write(&raw, &kernel).unwrap();
    let lz = tk::compress("lzma", &raw, &t.path().join("vmlinux.lzma"));
    let img = tk::mkimage_legacy(&lz, &t.path().join("uImage"), "lzma", "Linux-4.14.180");
    let u = run(&img, &t.path().join("out"));
    let top = &u.summary.layout[0];
    assert_eq!(top.format, "uimage");
    assert!(
        top.description.contains("header CRC verified") && top.description.contains("data CRC: 0x")
    );
    let kernel_blob = u
        .tree
        .blobs
        .iter()
        .find(|b| b.kind == BlobKind::Kernel)
        .expect("kernel blob");
    assert_eq!(
        fs::read(u.tree.root.join(&kernel_blob.path)).unwrap(),
        kernel
    );
    let banner = u
        .summary
        .layout
        .iter()
        .find(|l| l.format == "linux-kernel")
        .expect("banner");
    assert_eq!(banner.facts["linux_version"], "4.14.180");
    let dir = chunk_dir(&u, "cpio");
    let f = files_in(&u.tree, &dir);
    assert_eq!(f["etc/shadow"], b"root:$1$abc$xyz:0:0:::::\n");
    let e = u
        .tree
        .entries
        .iter()
        .find(|e| e.path == format!("{dir}/etc/shadow"))
        .unwrap();
    let at = kernel.windows(6).position(|w| w == b"070701").unwrap();
    assert_eq!(e.provenance, format!("image @0x0 uimage → @0x{at:x} cpio"));
    assert_eq!(
        u.tree.rootfs.len(),
        1,
        "the initramfs is a device root: {:?}",
        u.tree.rootfs
    );

    // The same kernel compressed by the kernel's own legacy LZ4.
    let u = run_bytes(t.path(), "vmlinux.lz4", &lz4_legacy(&kernel));
    assert_eq!(u.summary.layout[0].format, "lz4");
    assert!(u.tree.blobs.iter().any(|b| b.kind == BlobKind::Kernel));
    assert!(u.summary.layout.iter().any(|l| l.format == "cpio"));
}

#[test]
fn fit_image_hashes_signatures_and_payloads() {
    let t = tempfile::tempdir().unwrap();
    let kernel = fake_kernel(b"");
    fs::write(t.path().join("k.bin"), &kernel).unwrap();
    let kgz = tk::compress("gzip", &t.path().join("k.bin"), &t.path().join("k.gz"));
    fs::write(t.path().join("dt.dtb"), b"\xd0\x0d\xfe\xed").unwrap();
    let its = |signed: bool| {
        format!(
            r#"/dts-v1/;
/ {{
    description = "test FIT";
    #address-cells = <1>;
    images {{
        kernel-1 {{
            description = "kernel";
            data = /incbin/("{}");
            type = "kernel"; arch = "mips"; os = "linux"; compression = "gzip";
            load = <0x80002000>; entry = <0x80002000>;
            hash-1 {{ algo = "sha256"; }};
        }};
    }};
    configurations {{
        default = "conf-1";
        conf-1 {{
            kernel = "kernel-1";
            {}
        }};
    }};
}};
"#,
            kgz.display(),
            if signed {
                r#"signature-1 { algo = "sha256,rsa2048"; key-name-hint = "dev"; sign-images = "kernel"; };"#
            } else {
                ""
            }
        )
    };
    for signed in [false, true] {
        let src = t.path().join(format!("fit-{signed}.its"));
        fs::write(&src, its(signed)).unwrap();
        let img = tk::mkimage_fit(&src, &t.path().join(format!("fit-{signed}.itb")));
        let u = run(&img, &t.path().join(format!("out-{signed}")));
        let fit = &u.summary.layout[0];
        assert_eq!(fit.format, "fdt");
        assert_eq!(fit.facts["signed"], signed, "{}", fit.description);
        assert_eq!(fit.facts["images"][0]["hashes"][0], "sha256");
        if signed {
            assert_eq!(fit.facts["signatures"][0]["key_name_hint"], "dev");
            assert!(fit
                .description
                .contains("/configurations/conf-1/signature-1"));
        } else {
            assert!(fit.description.contains("no signature nodes"));
        }
        let k = u
            .tree
            .blobs
            .iter()
            .find(|b| b.kind == BlobKind::Kernel)
            .expect("kernel");
        assert_eq!(k.base_address, Some(0x8000_2000));
        assert_eq!(fs::read(u.tree.root.join(&k.path)).unwrap(), kernel);
    }
}

#[test]
fn esp_app_images_signed_and_unsigned() {
    let t = tempfile::tempdir().unwrap();
    let mut drom = esp_app_desc("blink", "v1.2.3", "v5.0");
    drom.extend(b"wifi password: hunter2\0");
    let segs = vec![
        (0x3f00_0020, drom.clone()),
        (0x4002_2000, noise(1000, 1)),
        (0x4008_0020, noise(5000, 2)),
    ];
    for signed in [false, true] {
        let img = esp_image(0x4002_2f84, &segs, signed);
        let u = run_bytes(t.path(), &format!("esp-{signed}.bin"), &img);
        let l = &u.summary.layout[0];
        assert_eq!(l.format, "esp-app");
        assert_eq!(l.facts["entry_point"], 0x4002_2f84u32);
        assert_eq!(l.facts["chip"], "ESP32-S2");
        assert_eq!(l.facts["sha256_valid"], true);
        assert_eq!(l.facts["secure_boot_v2_signature"], signed);
        assert_eq!(l.facts["segments"].as_array().unwrap().len(), 3);
        assert_eq!(l.facts["segments"][0]["region"], "DROM");
        assert_eq!(l.facts["app"]["project_name"], "blink");
        let b: Vec<_> = u
            .tree
            .blobs
            .iter()
            .filter(|b| b.kind == BlobKind::McuFirmware)
            .collect();
        assert_eq!(b.len(), 3);
        assert_eq!(b[0].base_address, Some(0x3f00_0020));
        assert_eq!(fs::read(u.tree.root.join(&b[0].path)).unwrap(), drom);
    }
    // ESP8266: no extended header; the first segment's length even looks like a chip id.
    let img = esp8266_image(
        0x4010_0004,
        &[(0x4010_0000, vec![5u8; 5]), (0x3ffe_8000, noise(64, 3))],
    );
    let u = run_bytes(t.path(), "esp8266.bin", &img);
    let l = &u.summary.layout[0];
    assert_eq!(l.facts["chip"], "ESP8266", "{}", l.description);
    assert_eq!(l.facts["hash_appended"], false);
    assert_eq!(l.facts["segments"][0]["region"], "IRAM");
    assert_eq!(l.facts["segments"][1]["region"], "DRAM");
    // A 0xE9 byte followed by junk is not an image.
    let mut junk = vec![0xe9, 3, 2, 0x1f];
    junk.extend(noise(4000, 9));
    let p = t.path().join("junk.bin");
    fs::write(&p, &junk).unwrap();
    assert!(iotassure_unpack::unpack(
        &p,
        &t.path().join("junk.out"),
        &Default::default(),
        &iotassure_core::NoProgress
    )
    .is_err());
}

#[test]
fn intel_hex_and_srecords_become_flash_images() {
    let t = tempfile::tempdir().unwrap();
    let mut flash = noise(0x3f72, 4);
    flash.extend(b"sup3rp4ssw0rd\0");
    flash.extend(noise(100, 5));
    let bin = t.path().join("flash.bin");
    fs::write(&bin, &flash).unwrap();
    for (fmt, format, base) in [
        ("-intel", "intel-hex", 0u32),
        ("-motorola", "srec", 0x0800_0000),
    ] {
        let img = tk::srec_cat(&bin, &t.path().join(format!("f{fmt}")), fmt, base);
        let u = run(&img, &t.path().join(format!("out{fmt}")));
        assert_eq!(u.summary.layout[0].format, format);
        let b = &u.tree.blobs[0];
        assert_eq!(b.kind, BlobKind::McuFirmware);
        assert_eq!(b.base_address, Some(base as u64));
        let data = fs::read(u.tree.root.join(&b.path)).unwrap();
        assert_eq!(data, flash, "{fmt}");
        assert_eq!(&data[0x3f72..0x3f7f], b"sup3rp4ssw0rd");
    }
}

#[test]
fn uboot_environment_with_and_without_redundancy() {
    let t = tempfile::tempdir().unwrap();
    let vars = [
        "bootdelay=0",
        "baudrate=115200",
        "bootargs=console=ttyS0,115200 root=/dev/mtdblock2",
        "bootcmd=bootm 0x9f020000",
        "ipaddr=192.168.1.1",
    ];
    for redundant in [false, true] {
        let d = t.path().join(format!("r{redundant}"));
        fs::create_dir_all(&d).unwrap();
        let env = fs::read(tk::mkenvimage(&vars, 0x10000, redundant, &d)).unwrap();
        // Inside a flash dump, at an erase-block offset, between noise.
        let mut img = noise(0x20000, 1);
        img.extend(&env);
        img.extend(noise(0x1000, 2));
        let u = run_bytes(&d, "flash.bin", &img);
        let e = u
            .summary
            .layout
            .iter()
            .find(|l| l.format == "uboot-env")
            .expect("env");
        assert_eq!(e.offset, 0x20000);
        assert_eq!(e.size, 0x10000);
        assert!(
            e.description.contains("CRC32 verified"),
            "{}",
            e.description
        );
        assert_eq!(e.facts["bootdelay"], "0");
        let f = files_in(&u.tree, &chunk_dir(&u, "uboot-env"));
        assert_eq!(
            String::from_utf8_lossy(&f["environment.txt"]),
            vars.join("\n") + "\n"
        );
    }
}

#[test]
fn vendor_headers_tplink_wrgg_trx_seama_realtek_packimg() {
    use common::squashfs_legacy::{build, Options};
    let t = tempfile::tempdir().unwrap();
    let root = sample(t.path());
    let sq = fs::read(tk::mksquashfs(&root, &t.path().join("r.sqfs"), "xz", &[])).unwrap();
    let kernel = fake_kernel(b"");
    let klz = lzma_alone(&kernel, 1, 2, 2); // props 0x6D, as OpenWrt's kernels

    // TP-Link v1 written by OpenWrt (vendor "OpenWrt"): binwalk v3 does not see this header.
    let img = tplink_v1("OpenWrt", &klz, &sq, 0x40000);
    let u = run_bytes(t.path(), "tplink-v1.bin", &img);
    let l: Vec<_> = u
        .summary
        .layout
        .iter()
        .filter(|l| l.depth == 0)
        .map(|l| (l.offset, l.format.as_str()))
        .collect();
    assert!(
        l.contains(&(0, "tplink-v1"))
            && l.contains(&(0x200, "lzma"))
            && l.contains(&(0x40000, "squashfs-4.0")),
        "{l:?}"
    );
    assert_sample_root(&u, "0x40000-squashfs-4.0-xz", &root);
    assert!(u
        .tree
        .blobs
        .iter()
        .any(|b| b.kind == BlobKind::Kernel && b.provenance == "image @0x200 lzma"));

    let u = run_bytes(t.path(), "tplink-v2.bin", &tplink_v2(&klz));
    assert_eq!(u.summary.layout[0].format, "tplink-v2");
    assert_eq!(u.summary.layout[0].facts["hardware_id"], "0x08410014");
    assert_eq!(
        u.summary.layout[0].facts["kernel_load_address"],
        0x8000_0000u32
    );

    // D-Link DIR-300 layout: wrgg header, LZMA kernel, PackImg tag, squashfs 2.0 BE "7zip" LZMA.
    fn lzma_7zip(d: &[u8]) -> Vec<u8> {
        let mut v = b"7zip".to_vec();
        v.extend(lzma_raw(d, 3, 0, 2, 1 << 16));
        v
    }
    let sq2 = build(
        &Options {
            major: 2,
            minor: 0,
            be: true,
            magic: None,
            block_size: 65536,
            compress: Some(lzma_7zip),
        },
        &common::squashfs_legacy::sample(),
    );
    let mut payload = lzma_alone(&kernel, 3, 0, 2);
    payload.resize(0x40000 - 0x60, 0);
    payload.extend(b"--PaCkImGs--\0\0\0\0");
    payload.extend(&(sq2.len() as u32).to_be_bytes());
    payload.resize(0x40000 - 0x60 + 0x20, 0);
    payload.extend(&sq2);
    let img = wrgg("wrgg19_c_dlwbr_dir300", &payload);
    let u = run_bytes(t.path(), "dir300.bin", &img);
    let l: Vec<_> = u
        .summary
        .layout
        .iter()
        .filter(|l| l.depth == 0)
        .map(|l| (l.offset, l.format.as_str()))
        .collect();
    assert!(
        l.contains(&(0, "dlink-wrgg"))
            && l.contains(&(0x60, "lzma"))
            && l.contains(&(0x40000, "packimg"))
            && l.contains(&(0x40020, "squashfs-2.0")),
        "{l:?}"
    );
    assert!(u.summary.layout[0].description.contains("MD5 verified"));
    assert_eq!(
        files_in(&u.tree, "0x40020-squashfs-2.0-be")["etc/shadow"],
        b"root::0:0:99999:7:::\n"
    );

    // Broadcom TRX: loader, kernel, rootfs.
    let img = trx(&[&noise(3000, 8), &klz, &sq]);
    let u = run_bytes(t.path(), "trx.bin", &img);
    assert!(
        u.summary.layout[0].description.contains("CRC32: 0x")
            && u.summary.layout[0].description.contains("verified")
    );
    assert!(u.tree.rootfs.len() == 1 && u.tree.blobs.iter().any(|b| b.kind == BlobKind::Kernel));

    // SEAMA around a uImage-less kernel.
    let img = seama(&["dev=/dev/mtdblock/1", "type=firmware"], &klz);
    let u = run_bytes(t.path(), "seama.bin", &img);
    assert!(
        u.summary.layout[0].description.contains("MD5 verified"),
        "{}",
        u.summary.layout[0].description
    );
    assert_eq!(u.summary.layout[0].facts["metadata"][1], "type=firmware");

    // Realtek "cs6c": a loader, then chained LZMA streams, the main one with properties 0x6F
    // (lc=3 lp=2: liblzma, binwalk and unblob refuse them).
    let main = lzma_alone(&kernel, 3, 2, 2);
    assert_eq!(main[0], 0x6f);
    let mut body = noise(0x1000, 6);
    body.extend(lzma_alone(
        b"second stage loader text ".repeat(400).as_slice(),
        3,
        0,
        2,
    ));
    body.extend(&main);
    let img = realtek(b"cs6c", 0x8000_0000, &body);
    let u = run_bytes(t.path(), "realtek.bin", &img);
    let l: Vec<_> = u
        .summary
        .layout
        .iter()
        .filter(|l| l.depth == 0)
        .map(|l| (l.format.as_str(), l.description.clone()))
        .collect();
    assert_eq!(l[0].0, "realtek");
    assert!(l[0].1.contains("checksum verified"));
    let streams: Vec<_> = l.iter().filter(|(f, _)| *f == "lzma").collect();
    assert_eq!(streams.len(), 2, "{l:#?}");
    assert!(streams[1].1.contains("0x6F") && streams[1].1.contains("non-standard"));
    let k = u
        .tree
        .blobs
        .iter()
        .find(|b| b.kind == BlobKind::Kernel)
        .expect("the 0x6F stream decodes to the kernel");
    assert_eq!(fs::read(u.tree.root.join(&k.path)).unwrap(), kernel);
}

#[test]
fn nested_archives_go_beside_the_root_with_their_chain() {
    let t = tempfile::tempdir().unwrap();
    let root = sample(t.path());
    // A package inside the root filesystem: a tarball of a tree that also looks like a root.
    let pkg = t.path().join("pkg");
    fs::create_dir_all(pkg.join("etc/config")).unwrap();
    fs::create_dir_all(pkg.join("usr/bin")).unwrap();
    fs::write(pkg.join("etc/config/app"), "option enabled 1\n").unwrap();
    fs::write(pkg.join("usr/bin/app"), noise(5000, 3)).unwrap();
    fs::create_dir_all(root.join("usr/share")).unwrap();
    tk::tar(&pkg, &root.join("usr/share/app.tar.gz"), &["-z"]);
    let img = tk::mksquashfs(&root, &t.path().join("r.sqfs"), "xz", &[]);
    let u = run(&img, &t.path().join("out"));
    let nested = "0x0-squashfs-4.0-xz.nested/usr/share/app.tar.gz/0x0-gzip/0x0-tar";
    let f = files_in(&u.tree, nested);
    assert_eq!(f["etc/config/app"], b"option enabled 1\n");
    let e = u
        .tree
        .entries
        .iter()
        .find(|e| e.path == format!("{nested}/etc/config/app"))
        .unwrap();
    assert_eq!(
        e.provenance,
        "image @0x0 squashfs-4.0-xz → /usr/share/app.tar.gz → @0x0 gzip → @0x0 tar"
    );
    // The root filesystem folder holds exactly the image's files, and is the only device root.
    assert!(files_in(&u.tree, "0x0-squashfs-4.0-xz")
        .keys()
        .all(|k| !k.contains("0x0-gzip")));
    assert_eq!(u.tree.rootfs.len(), 1, "{:?}", u.tree.rootfs);
    assert_eq!(u.tree.rootfs[0].path, "0x0-squashfs-4.0-xz");
}

#[test]
fn gaps_are_carved_and_high_entropy_is_flagged() {
    let t = tempfile::tempdir().unwrap();
    let root = sample(t.path());
    let sq = fs::read(tk::mksquashfs(&root, &t.path().join("r.sqfs"), "gzip", &[])).unwrap();
    let mut img = vec![0u8; 0x1000];
    img.extend(noise(0x3000, 77)); // "encrypted" blob
    img.extend(vec![0xffu8; 0x1000]);
    img.extend(&sq);
    img.extend(
        b"\xde\xad\xc0\xde"
            .repeat(4)
            .iter()
            .chain(std::iter::repeat_n(&0x11u8, 100)),
    );
    let u = run_bytes(t.path(), "gaps.bin", &img);
    let unknown = u
        .summary
        .layout
        .iter()
        .find(|l| l.format == "unknown" && l.offset == 0x1000)
        .expect("gap");
    assert!(unknown.entropy.unwrap() > 7.9 && unknown.description.contains("possibly encrypted"));
    assert_eq!(unknown.facts["possibly_encrypted"], true);
    let carved = unknown.extracted_to.as_ref().expect("carved");
    assert_eq!(
        fs::read(u.tree.root.join(carved)).unwrap(),
        noise(0x3000, 77)
    );
    assert!(u
        .summary
        .layout
        .iter()
        .any(|l| l.format == "padding" && l.offset == 0));
    assert!(u
        .summary
        .layout
        .iter()
        .any(|l| l.format == "squashfs-4.0" && l.offset == 0x5000));
}
