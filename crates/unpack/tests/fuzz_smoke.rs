//! A short, deterministic fuzz run for CI: every format's parser on mutations of a valid seed
//! (bit flips, overwritten header fields, truncations, junk insertions). The long runs use
//! cargo-fuzz with the same entry points (`fuzz/`, see docs/unpack.md). A panic anywhere fails.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};

use common::*;
use iotassure_testkit::unpack as tk;
use iotassure_unpack::fuzz;

const MUTATIONS: usize = 120;

/// A valid input for every format, at offset 0.
fn seeds(t: &std::path::Path) -> BTreeMap<&'static str, Vec<u8>> {
    let small = t.join("small");
    fs::create_dir_all(small.join("etc")).unwrap();
    fs::write(small.join("etc/shadow"), "root::0:0:::::\n").unwrap();
    fs::write(small.join("etc/data"), noise(9000, 1)).unwrap();
    std::os::unix::fs::symlink("shadow", small.join("etc/link")).unwrap();
    let read = |p: std::path::PathBuf| fs::read(p).unwrap();
    let tarball = tk::tar(&small, &t.join("s.tar"), &[]);
    let mut s = BTreeMap::new();
    s.insert(
        "squashfs-4.0",
        read(tk::mksquashfs(&small, &t.join("s.sqfs"), "gzip", &["-noI"])),
    );
    s.insert(
        "squashfs-legacy",
        common::squashfs_legacy::build(
            &common::squashfs_legacy::Options {
                major: 3,
                minor: 0,
                be: false,
                magic: None,
                block_size: 4096,
                compress: Some(zlib),
            },
            &common::squashfs_legacy::sample(),
        ),
    );
    s.insert(
        "cramfs",
        read(tk::mkfs_cramfs(&small, &t.join("c.img"), false)),
    );
    s.insert("romfs", read(tk::genromfs(&small, &t.join("r.img"))));
    s.insert(
        "jffs2",
        read(tk::mkfs_jffs2(&small, &t.join("j.img"), false)),
    );
    let ubi_dir = t.join("ubi");
    fs::create_dir_all(&ubi_dir).unwrap();
    s.insert("ubi", read(tk::ubi_image(&small, &ubi_dir, "lzo")));
    s.insert("ubifs", read(ubi_dir.join("rootfs.ubifs")));
    // A small ext2 (64 KiB, not the 2 MiB `tk::genext2fs` makes): the fuzzer mutates every
    // byte of its seeds, and zeros are no use to it.
    let genext2fs = iotassure_testkit::require_tool("genext2fs", "genext2fs");
    iotassure_testkit::run(
        std::process::Command::new(genext2fs)
            .arg("-d")
            .arg(&small)
            .args(["-b", "64"])
            .arg(t.join("e.img")),
    );
    s.insert("ext", read(t.join("e.img")));
    s.insert("cpio", read(tk::cpio(&small, &t.join("s.cpio"), "newc")));
    s.insert(
        "cpio-binary",
        read(tk::cpio(&small, &t.join("b.cpio"), "bin")),
    );
    s.insert("tar", read(tarball.clone()));
    s.insert("zip", read(tk::zip(&small, &t.join("s.zip"))));
    for (tool, id) in [
        ("gzip", "gzip"),
        ("xz", "xz"),
        ("bzip2", "bzip2"),
        ("zstd", "zstd"),
        ("lz4", "lz4"),
        ("lzop", "lzop"),
        ("lzma", "lzma"),
    ] {
        s.insert(
            id,
            read(tk::compress(tool, &tarball, &t.join(format!("s.{tool}")))),
        );
    }
    s.insert("zlib", zlib(&fs::read(&tarball).unwrap()));
    let kernel = fake_kernel(&fs::read(t.join("s.cpio")).unwrap());
    fs::write(t.join("k.bin"), &kernel).unwrap();
    s.insert(
        "uimage",
        read(tk::mkimage_legacy(
            &t.join("k.bin"),
            &t.join("uImage"),
            "none",
            "k",
        )),
    );
    s.insert("linux-kernel", kernel[200 * 1024..].to_vec());
    let its = t.join("f.its");
    fs::write(&its, format!("/dts-v1/;\n/ {{ description = \"f\"; images {{ k {{ data = /incbin/(\"{}\"); type = \"kernel\"; compression = \"none\"; hash-1 {{ algo = \"crc32\"; }}; }}; }}; configurations {{ default = \"c\"; c {{ kernel = \"k\"; }}; }}; }};\n", t.join("s.cpio").display())).unwrap();
    s.insert("fdt", read(tk::mkimage_fit(&its, &t.join("f.itb"))));
    let klz = lzma_alone(&kernel, 3, 0, 2);
    s.insert(
        "tplink-v1",
        tplink_v1("OpenWrt", &klz, &[], 0x200 + klz.len()),
    );
    s.insert("tplink-v2", tplink_v2(&klz));
    s.insert("dlink-wrgg", wrgg("wrgg19_c_dlwbr_dir300", &klz));
    s.insert("trx", trx(&[&klz]));
    s.insert("seama", seama(&["type=firmware"], &klz));
    s.insert(
        "realtek",
        realtek(b"cs6c", 0x8000_0000, &lzma_alone(&kernel, 3, 2, 2)),
    );
    let mut pk = b"--PaCkImGs--\0\0\0\0".to_vec();
    pk.extend(&16u32.to_be_bytes());
    pk.resize(48, 0);
    s.insert("packimg", pk);
    s.insert(
        "esp-app",
        esp_image(
            0x4002_2f84,
            &[
                (0x3f00_0020, esp_app_desc("p", "v", "i")),
                (0x4002_2000, noise(300, 1)),
            ],
            true,
        ),
    );
    let mut nonos = esp8266_image(0x4010_0004, &[(0x4010_0000, noise(200, 3))]);
    nonos.resize(0x10000, 0xff);
    nonos.extend(noise(2000, 4));
    s.insert("esp8266-irom0", nonos);
    let mut pt = Vec::new();
    for (kind, sub, off, size, label) in [
        (1u8, 2u8, 0x9000u32, 0x4000u32, "nvs"),
        (0, 0, 0x10000, 0x10_0000, "factory"),
    ] {
        pt.extend([0xaa, 0x50, kind, sub]);
        pt.extend(off.to_le_bytes());
        pt.extend(size.to_le_bytes());
        let mut l = [0u8; 16];
        l[..label.len()].copy_from_slice(label.as_bytes());
        pt.extend(l);
        pt.extend([0u8; 4]);
    }
    pt.resize(0x200, 0xff);
    s.insert("esp-partition-table", pt);
    let bin = t.join("flash.bin");
    fs::write(&bin, noise(3000, 2)).unwrap();
    s.insert(
        "intel-hex",
        read(tk::srec_cat(&bin, &t.join("f.hex"), "-intel", 0)),
    );
    s.insert(
        "srec",
        read(tk::srec_cat(&bin, &t.join("f.s19"), "-motorola", 0x100)),
    );
    let env_dir = t.join("env");
    fs::create_dir_all(&env_dir).unwrap();
    s.insert(
        "uboot-env",
        read(tk::mkenvimage(
            &["bootdelay=1", "baudrate=115200", "bootcmd=bootm"],
            0x1000,
            false,
            &env_dir,
        )),
    );
    s.insert("openwrt-deadc0de", b"\xde\xad\xc0\xde".to_vec());
    // A Cortex-M image linked at 0x08000000: SP in SRAM, Thumb handlers inside the file.
    let mut cm: Vec<u8> = [0x2000_5000u32, 0x0800_0201, 0x0800_0301, 0x0800_0301]
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect();
    cm.resize(0x40, 0);
    cm.extend(noise(2000, 3));
    s.insert("cortex-m", cm);
    let mut arm: Vec<u8> = std::iter::once(0xea00_0006u32)
        .chain([0xe59f_f018; 7])
        .flat_map(|w| w.to_le_bytes())
        .collect();
    arm.extend(noise(2000, 4));
    s.insert("arm-vectors", arm);
    // Tiny images of each carved format.
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [
        (&b"IHDR"[..], &[0u8, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0][..]),
        (b"IDAT", &[1, 2, 3][..]),
        (b"IEND", &[][..]),
    ] {
        png.extend(&(data.len() as u32).to_be_bytes());
        let mut c = kind.to_vec();
        c.extend_from_slice(data);
        png.extend(&c);
        png.extend(&crc32fast::hash(&c).to_be_bytes());
    }
    s.insert("png", png);
    s.insert("gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3b".to_vec());
    s.insert("jpeg", b"\xff\xd8\xff\xe0\x00\x04ab\xff\xc0\x00\x05abc\xff\xda\x00\x03a\x01\x02\xff\x00\x03\xff\xd9".to_vec());
    s
}

/// Deterministic mutations: the i-th variant of `seed`.
fn mutate(seed: &[u8], i: usize) -> Vec<u8> {
    let r = noise(64, i as u64 * 7919 + seed.len() as u64);
    let mut v = seed.to_vec();
    if v.is_empty() {
        return r;
    }
    let pick = |k: usize, n: usize| {
        (u32::from_le_bytes([r[k], r[k + 1], r[k + 2], r[k + 3]]) as usize) % n.max(1)
    };
    // Header fields are where parsers trust numbers: mutate them most.
    let head = v.len().min(1024);
    match i % 6 {
        0 => {
            for k in 0..4 {
                let p = pick(4 * k, head);
                v[p] ^= 1 << (r[20 + k] % 8);
            }
        }
        1 => {
            let p = pick(0, head.saturating_sub(4));
            let val = [0u32, 0xffff_ffff, 0x7fff_ffff, 0x8000_0000, 1, 0x10000][pick(8, 6)];
            let end = (p + 4).min(v.len());
            v[p..end].copy_from_slice(&val.to_le_bytes()[..end - p]);
        }
        2 => v.truncate(pick(0, v.len())),
        3 => {
            let p = pick(0, v.len());
            let junk = noise(pick(4, 512) + 1, i as u64);
            v.splice(p..p, junk);
        }
        4 => {
            for k in 0..16 {
                let p = pick(2 * k, v.len());
                v[p] = r[40 + k % 20];
            }
        }
        _ => {
            let p = pick(0, head.saturating_sub(2));
            let end = (p + 2).min(v.len());
            v[p..end].copy_from_slice(&[0xff, 0xff][..end - p]);
        }
    }
    v
}

#[test]
fn every_parser_survives_mutated_inputs() {
    let t = tempfile::tempdir().unwrap();
    let seeds = seeds(t.path());
    let ids = fuzz::format_ids();
    for id in &ids {
        assert!(seeds.contains_key(id), "no fuzz seed for format {id}");
    }
    let composite = tplink_v1(
        "OpenWrt",
        &lzma_alone(&fake_kernel(&seeds["cpio"]), 1, 2, 2),
        &seeds["squashfs-4.0"],
        0x40000,
    );
    // `IOTASSURE_FUZZ_SEEDS=$PWD/fuzz/seeds cargo test --test fuzz_smoke` writes the seeds, one
    // folder per fuzz target (the committed `fuzz/seeds` was made so; `tests/fuzz_targets.rs`
    // checks each reaches its parser).
    if let Ok(dir) = std::env::var("IOTASSURE_FUZZ_SEEDS") {
        let all = seeds
            .iter()
            .map(|(id, seed)| (id.replace(['-', '.'], "_"), seed))
            .chain([("engine".to_string(), &composite)]);
        for (target, seed) in all {
            let d = std::path::Path::new(&dir).join(target);
            fs::create_dir_all(&d).unwrap();
            fs::write(d.join("seed"), seed).unwrap();
        }
    }
    let mut failures = Vec::new();
    for (id, seed) in &seeds {
        for i in 0..MUTATIONS {
            let input = if i == 0 {
                seed.clone()
            } else {
                mutate(seed, i)
            };
            if catch_unwind(AssertUnwindSafe(|| fuzz::format(id, &input))).is_err() {
                let keep = t.path().join(format!("crash-{id}-{i}.bin"));
                fs::write(&keep, &input).unwrap();
                failures.push(format!(
                    "{id} mutation {i} (input kept in {})",
                    keep.display()
                ));
            }
        }
    }
    // The engine as a whole, on a few mutations of a composite image.
    for i in 0..20 {
        let input = mutate(&composite, i);
        if catch_unwind(AssertUnwindSafe(|| fuzz::engine(&input))).is_err() {
            failures.push(format!("engine mutation {i}"));
        }
    }
    assert!(failures.is_empty(), "panics: {failures:#?}");
}

/// Inputs cargo-fuzz found crashing, kept as regressions: `tests/data/fuzz/<format>__<what>.bin`.
#[test]
fn fuzz_regressions_stay_fixed() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz");
    let mut n = 0;
    for e in fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let (id, _) = name.split_once("__").expect("<format>__<what>.bin");
        let data = fs::read(&p).unwrap();
        fuzz::format(id, &data);
        fuzz::engine(&data);
        n += 1;
    }
    assert!(n > 0);
}

/// Every fuzz target in `fuzz/fuzz_targets` reaches its parser on its seed: the format is
/// identified and (where the format has an extractor) the extractor walks the content and
/// records entries. The `ext` target once returned at once (no file handle for the reader), so
/// 1.46 M executions tested nothing; this fails on such a harness. It also bounds the time of
/// one seed run, so a seed stays small enough for a fuzzer to make many executions a second.
#[test]
fn every_fuzz_target_reaches_its_parser() {
    let t = tempfile::tempdir().unwrap();
    let seeds = seeds(t.path());
    let targets = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/fuzz_targets");
    let mut checked = 0;
    let mut failures = Vec::new();
    let mut files: Vec<_> = fs::read_dir(&targets)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for path in files {
        let target = path.file_stem().unwrap().to_string_lossy().to_string();
        let src = fs::read_to_string(&path).unwrap();
        let t0 = std::time::Instant::now();
        let (reached, want) = if src.contains("fuzz::engine(") {
            let composite = tplink_v1(
                "OpenWrt",
                &lzma_alone(&fake_kernel(&seeds["cpio"]), 1, 2, 2),
                &seeds["squashfs-4.0"],
                0x40000,
            );
            // Header, kernel, initramfs files, the squashfs and its files.
            (fuzz::engine(&composite), 8)
        } else {
            let id = src
                .split("fuzz::format(\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap_or_else(|| panic!("{target}: calls neither fuzz::format nor fuzz::engine"));
            let seed = seeds
                .get(id)
                .unwrap_or_else(|| panic!("{target}: no seed for format {id}"));
            let f = iotassure_unpack::formats::by_id(id).unwrap();
            let want = match (f.extract.is_some(), f.kind) {
                (false, _) => 0,
                (true, iotassure_unpack::formats::Kind::Filesystem) => 3,
                (true, _) => 1,
            };
            (fuzz::format(id, seed), want)
        };
        let took = t0.elapsed();
        eprintln!("{target}: {reached:?} in {took:?}");
        if !reached.identified {
            failures.push(format!("{target}: its seed is not identified"));
        } else if want > 0 && reached.entries < want {
            failures.push(format!(
                "{target}: the parser recorded {} entries (want at least {want}): it does not reach the content",
                reached.entries
            ));
        }
        if took > std::time::Duration::from_secs(5) {
            failures.push(format!("{target}: one seed run took {took:?}"));
        }
        checked += 1;
    }
    assert!(checked >= 41, "only {checked} fuzz targets found");
    assert!(failures.is_empty(), "{failures:#?}");
}
