//! Fixture builders for the unpack tests: a small device root, and the Debian tools that pack
//! it into each format (installed by `.ci/run` from `.ci/apt/unpack.txt`). Standard library only.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{require_tool, run};

/// Deterministic pseudo-random bytes (xorshift64), so fixtures are the same on every run.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Writes a small device root under `dir/root` and returns it: `etc/shadow` (empty root
/// password), `etc/passwd`, `etc/init.d/rcS`, `bin/busybox` (300 KiB of noise: several blocks),
/// `bin/sh -> busybox`, `usr/lib/libz.so` (compressible text), an empty folder and an empty file.
pub fn sample_root(dir: &Path) -> PathBuf {
    let root = dir.join("root");
    for d in ["etc/init.d", "bin", "usr/lib", "var/empty", "www"] {
        fs::create_dir_all(root.join(d)).unwrap();
    }
    fs::write(root.join("etc/shadow"), "root::0:0:99999:7:::\n").unwrap();
    fs::write(
        root.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nnobody:*:65534:65534:nobody:/var:/bin/false\n",
    )
    .unwrap();
    fs::write(
        root.join("etc/init.d/rcS"),
        "#!/bin/sh\ntelnetd -l /bin/sh\n",
    )
    .unwrap();
    fs::write(root.join("bin/busybox"), noise(300 * 1024, 7)).unwrap();
    symlink("busybox", root.join("bin/sh")).unwrap();
    let text: String = (0..20000)
        .map(|i| format!("line {i} of a library\n"))
        .collect();
    fs::write(root.join("usr/lib/libz.so"), text).unwrap();
    fs::write(root.join("www/empty.html"), b"").unwrap();
    root
}

/// Regular files under `dir` (relative path → contents), for comparing an extraction with its
/// source. Symlinks are listed with their target prefixed by `-> `.
pub fn files_under(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let mut entries: Vec<_> = fs::read_dir(dir).unwrap().map(|e| e.unwrap()).collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let p = e.path();
            let rel = p.strip_prefix(base).unwrap().to_string_lossy().to_string();
            let m = fs::symlink_metadata(&p).unwrap();
            if m.file_type().is_symlink() {
                let t = fs::read_link(&p).unwrap();
                out.insert(rel, format!("-> {}", t.display()).into_bytes());
            } else if m.is_dir() {
                walk(base, &p, out);
            } else {
                out.insert(rel, fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// `mksquashfs root out -comp <comp>` plus `extra` options.
pub fn mksquashfs(root: &Path, out: &Path, comp: &str, extra: &[&str]) -> PathBuf {
    let tool = require_tool("mksquashfs", "squashfs-tools");
    let _ = fs::remove_file(out);
    run(Command::new(tool)
        .arg(root)
        .arg(out)
        .args([
            "-comp",
            comp,
            "-noappend",
            "-no-progress",
            "-quiet",
            "-all-root",
        ])
        .args(extra));
    out.to_path_buf()
}

/// A JFFS2 image (`mkfs.jffs2`), little or big endian, 64 KiB erase blocks.
pub fn mkfs_jffs2(root: &Path, out: &Path, big_endian: bool) -> PathBuf {
    let tool = require_tool("mkfs.jffs2", "mtd-utils");
    run(Command::new(tool)
        .arg("-r")
        .arg(root)
        .arg("-o")
        .arg(out)
        .args(["-e", "0x10000", "-p", "-q"])
        .arg(if big_endian { "-b" } else { "-l" }));
    out.to_path_buf()
}

/// A UBIFS image (`mkfs.ubifs`) wrapped in a UBI image (`ubinize`) with one volume "rootfs".
pub fn ubi_image(root: &Path, dir: &Path, compr: &str) -> PathBuf {
    let mkfs = require_tool("mkfs.ubifs", "mtd-utils");
    let ubinize = require_tool("ubinize", "mtd-utils");
    let ubifs = dir.join("rootfs.ubifs");
    run(Command::new(mkfs)
        .arg("-r")
        .arg(root)
        .args(["-m", "2048", "-e", "126976", "-c", "64", "-x", compr, "-o"])
        .arg(&ubifs));
    let ini = dir.join("ubinize.ini");
    fs::write(
        &ini,
        format!(
            "[rootfs]\nmode=ubi\nimage={}\nvol_id=0\nvol_type=dynamic\nvol_name=rootfs\nvol_flags=autoresize\n",
            ubifs.display()
        ),
    )
    .unwrap();
    let out = dir.join("rootfs.ubi");
    run(Command::new(ubinize)
        .arg("-o")
        .arg(&out)
        .args(["-m", "2048", "-p", "128KiB", "-s", "2048"])
        .arg(&ini));
    out
}

/// A cramfs image (`mkfs.cramfs`), little or big endian.
pub fn mkfs_cramfs(root: &Path, out: &Path, big_endian: bool) -> PathBuf {
    let tool = require_tool("mkfs.cramfs", "util-linux");
    let mut c = Command::new(tool);
    if big_endian {
        c.args(["-N", "big"]);
    }
    run(c.arg(root).arg(out));
    out.to_path_buf()
}

/// A romfs image (`genromfs`).
pub fn genromfs(root: &Path, out: &Path) -> PathBuf {
    let tool = require_tool("genromfs", "genromfs");
    run(Command::new(tool).arg("-f").arg(out).arg("-d").arg(root));
    out.to_path_buf()
}

/// A classic ext2 image without feature flags (`genext2fs`, as older Buildroot made them).
pub fn genext2fs(root: &Path, out: &Path) -> PathBuf {
    let tool = require_tool("genext2fs", "genext2fs");
    run(Command::new(tool)
        .arg("-d")
        .arg(root)
        .args(["-b", "2048"])
        .arg(out));
    out.to_path_buf()
}

/// An ext2/ext3/ext4 image made by `mke2fs -d`.
pub fn mke2fs(root: &Path, out: &Path, kind: &str) -> PathBuf {
    let tool = require_tool("mke2fs", "e2fsprogs");
    let _ = fs::remove_file(out);
    run(Command::new(tool)
        .args(["-q", "-F", "-t", kind, "-d"])
        .arg(root)
        .arg(out)
        .arg("4M"));
    out.to_path_buf()
}

/// A cpio archive of `root` (`cpio -o -H <format>`: `newc`, `crc`, `odc` or `bin`).
pub fn cpio(root: &Path, out: &Path, format: &str) -> PathBuf {
    require_tool("cpio", "cpio");
    let script = format!(
        "cd '{}' && find . | LC_ALL=C sort | cpio --quiet -o -H {format} > '{}'",
        root.display(),
        out.display()
    );
    run(Command::new("sh").arg("-c").arg(script));
    out.to_path_buf()
}

/// A tar archive of `root` (GNU tar; `flags` like `-z`).
pub fn tar(root: &Path, out: &Path, flags: &[&str]) -> PathBuf {
    run(Command::new("tar")
        .args(flags)
        .arg("-cf")
        .arg(out)
        .arg("-C")
        .arg(root)
        .arg("."));
    out.to_path_buf()
}

/// A zip archive of `root`, made by 7-Zip.
pub fn zip(root: &Path, out: &Path) -> PathBuf {
    let tool = require_tool("7z", "p7zip-full");
    let _ = fs::remove_file(out);
    run(Command::new(tool)
        .args(["a", "-tzip", "-bd", "-bso0"])
        .arg(out)
        .arg(format!("{}/.", root.display())));
    out.to_path_buf()
}

/// Compresses `input` with a command-line compressor (`gzip`, `xz`, `bzip2`, `zstd`, `lz4`,
/// `lzop`, `lzma`) into `out`.
pub fn compress(tool: &str, input: &Path, out: &Path) -> PathBuf {
    let package = match tool {
        "gzip" => "gzip",
        "xz" | "lzma" => "xz-utils",
        "bzip2" => "bzip2",
        "zstd" => "zstd",
        "lz4" => "lz4",
        "lzop" => "lzop",
        other => panic!("unknown compressor {other}"),
    };
    let exe = require_tool(tool, package);
    let o = run(Command::new(exe).arg("-c").arg(input));
    fs::write(out, o.stdout).unwrap();
    out.to_path_buf()
}

/// A legacy uImage (`mkimage -A mips -O linux -T kernel -C <comp>`) around `payload`, which must
/// already be compressed as `comp` says.
pub fn mkimage_legacy(payload: &Path, out: &Path, comp: &str, name: &str) -> PathBuf {
    let tool = require_tool("mkimage", "u-boot-tools");
    run(Command::new(tool)
        .args(["-A", "mips", "-O", "linux", "-T", "kernel", "-C", comp])
        .args(["-a", "0x80002000", "-e", "0x80002000", "-n", name, "-d"])
        .arg(payload)
        .arg(out));
    out.to_path_buf()
}

/// A FIT image from an image tree source (`mkimage -f`, which runs `dtc`).
pub fn mkimage_fit(its: &Path, out: &Path) -> PathBuf {
    let tool = require_tool("mkimage", "u-boot-tools");
    require_tool("dtc", "device-tree-compiler");
    run(Command::new(tool).arg("-f").arg(its).arg(out));
    out.to_path_buf()
}

/// A U-Boot environment block of `size` bytes (`mkenvimage`), optionally redundant.
pub fn mkenvimage(vars: &[&str], size: usize, redundant: bool, dir: &Path) -> PathBuf {
    let tool = require_tool("mkenvimage", "u-boot-tools");
    let txt = dir.join("env.txt");
    fs::write(&txt, vars.join("\n") + "\n").unwrap();
    let out = dir.join("env.bin");
    let mut c = Command::new(tool);
    if redundant {
        c.arg("-r");
    }
    run(c
        .arg("-s")
        .arg(size.to_string())
        .arg("-o")
        .arg(&out)
        .arg(&txt));
    out
}

/// Converts a binary to Intel HEX or Motorola S-records (`srec_cat`), loaded at `base`.
pub fn srec_cat(bin: &Path, out: &Path, format: &str, base: u32) -> PathBuf {
    let tool = require_tool("srec_cat", "srecord");
    run(Command::new(tool)
        .arg(bin)
        .args(["-binary", "-offset", &format!("0x{base:x}"), "-o"])
        .arg(out)
        .arg(format));
    out.to_path_buf()
}
