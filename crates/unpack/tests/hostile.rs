//! Hostile images: decompression bombs, path traversal (tar, cpio, squashfs), symlink loops
//! and escapes, overlapping carves, truncated streams, empty input, and every limit. For each:
//! nothing is written outside the output folder, memory stays bounded, and the result says
//! what happened (an error naming the offset, or a tree marked partial).

mod common;

use std::fs;
use std::path::Path;
use std::time::Duration;

use common::*;
use iotassure_core::tree::EntryKind;
use iotassure_core::NoProgress;
use iotassure_testkit::unpack as tk;
use iotassure_unpack::{unpack, Limits, Options, UnpackError, Unpacked};

/// Unpacks `bytes` (written as `t/in/<name>`) into `t/out`; asserts afterwards that nothing
/// appeared in `t` beside `in` and `out`.
fn hostile(t: &Path, name: &str, bytes: &[u8], limits: Limits) -> Result<Unpacked, UnpackError> {
    fs::create_dir_all(t.join("in")).unwrap();
    let input = t.join("in").join(name);
    fs::write(&input, bytes).unwrap();
    let r = unpack(&input, &t.join("out"), &Options { limits }, &NoProgress);
    let mut beside: Vec<String> = fs::read_dir(t)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    beside.sort();
    assert!(
        beside.iter().all(|n| n == "in" || n == "out"),
        "{name}: written outside the output folder: {beside:?}"
    );
    assert_eq!(
        fs::read_dir(t.join("in")).unwrap().count(),
        1,
        "{name}: input folder touched"
    );
    r
}

/// Every path under `out` is inside it, even through links (no link resolves outside).
fn assert_contained(out: &Path) {
    let root = fs::canonicalize(out).unwrap();
    for e in walk(out) {
        if let Ok(real) = fs::canonicalize(&e) {
            assert!(
                real.starts_with(&root),
                "{} resolves to {}",
                e.display(),
                real.display()
            );
        }
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let m = fs::symlink_metadata(&p).unwrap();
        if m.is_dir() {
            out.extend(walk(&p));
        }
        out.push(p);
    }
    out
}

/// A raw ustar member (so names the `tar` crate would refuse can be written).
fn tar_member(name: &str, kind: u8, link: &str, data: &[u8]) -> Vec<u8> {
    let mut h = [0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..107].copy_from_slice(b"0000644");
    h[108..115].copy_from_slice(b"0000000");
    h[116..123].copy_from_slice(b"0000000");
    h[124..135].copy_from_slice(format!("{:011o}", data.len()).as_bytes());
    h[136..147].copy_from_slice(b"00000000000");
    h[156] = kind;
    h[157..157 + link.len()].copy_from_slice(link.as_bytes());
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].fill(b' ');
    let sum: u32 = h.iter().map(|&b| b as u32).sum();
    h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    let mut v = h.to_vec();
    v.extend_from_slice(data);
    v.resize(v.len().div_ceil(512) * 512, 0);
    v
}

fn newc_member(name: &str, mode: u32, data: &[u8]) -> Vec<u8> {
    let mut v = format!(
        "070701{:08X}{mode:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}{:08X}",
        1,
        0,
        0,
        1,
        0,
        data.len(),
        0,
        0,
        0,
        0,
        name.len() + 1,
        0
    )
    .into_bytes();
    v.extend_from_slice(name.as_bytes());
    v.push(0);
    v.resize(v.len().div_ceil(4) * 4, 0);
    v.extend_from_slice(data);
    v.resize(v.len().div_ceil(4) * 4, 0);
    v
}

#[test]
fn decompression_bomb_stops_at_the_ratio_cap_in_bounded_memory() {
    if std::env::var("IOTASSURE_BOMB_CHILD").is_ok() {
        return bomb_child();
    }
    // Measure the child's peak RSS: the bomb runs alone in its own process, reaped by wait4
    // (which reports that process's own peak, whatever else the test binary spawns).
    let exe = std::env::current_exe().unwrap();
    #[allow(clippy::zombie_processes)] // reaped by wait4 below
    let mut child = std::process::Command::new(exe)
        .args([
            "decompression_bomb_stops",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("IOTASSURE_BOMB_CHILD", "1")
        .spawn()
        .unwrap();
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: `rusage` is plain data the kernel fills; `pid` is our own child, reaped here once
    // (so `child.wait()` is not called afterwards).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid);
    std::mem::forget(child.stdin.take());
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child failed: {status}"
    );
    let rss_mib = usage.ru_maxrss / 1024;
    eprintln!("bomb: peak RSS {rss_mib} MiB");
    assert!(rss_mib < 200, "peak RSS {rss_mib} MiB");
}

fn bomb_child() {
    let t = tempfile::tempdir().unwrap();
    // 4 GiB of zeros in ~130 KiB of zstd: 30,000:1.
    let mut enc = zstd::stream::Encoder::new(Vec::new(), 1).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..4096 {
        std::io::Write::write_all(&mut enc, &zeros).unwrap();
    }
    let bomb = enc.finish().unwrap();
    // The cap skips the stream (and only it): with nothing else in the image, nothing is left.
    let u = hostile(t.path(), "bomb.zst", &bomb, Limits::default())
        .or_else(UnpackError::into_damaged)
        .unwrap();
    assert!(u.summary.partial);
    assert!(
        u.summary.problems.iter().any(|p| p.offset == 0
            && p.message.contains("--max-ratio")
            && p.message.contains("decompression bomb")),
        "{:?}",
        u.summary.problems
    );
    // The cap: 1000 × the input, once past the 32 MiB floor.
    assert!(
        u.summary.bytes_written <= 1000 * bomb.len() as u64 + (1 << 20),
        "{}",
        u.summary.bytes_written
    );
    assert!(u.summary.layout[0].description.contains("stopped"));
}

#[test]
fn tar_traversal_absolute_and_symlink_escapes_are_refused() {
    let t = tempfile::tempdir().unwrap();
    let mut tar = Vec::new();
    tar.extend(tar_member(
        "ok/etc/passwd",
        b'0',
        "",
        b"root:x:0:0::/root:/bin/sh\n",
    ));
    tar.extend(tar_member("../../escape.txt", b'0', "", b"out"));
    tar.extend(tar_member("ok/../../../escape2.txt", b'0', "", b"out"));
    tar.extend(tar_member("/abs/rerooted.txt", b'0', "", b"in"));
    tar.extend(tar_member("ok/up", b'2', "../../../../..", b""));
    tar.extend(tar_member("ok/up/escape3.txt", b'0', "", b"through a link"));
    tar.extend(tar_member("ok/root", b'2', "/", b""));
    tar.extend(tar_member(
        "ok/root/etc/escape4",
        b'0',
        "",
        b"through an absolute link",
    ));
    tar.extend(tar_member("ok/a", b'2', "b", b""));
    tar.extend(tar_member("ok/b", b'2', "a", b""));
    tar.extend(tar_member("ok/self", b'2', "self", b""));
    tar.extend(tar_member("ok/dev/console", b'3', "", b""));
    tar.extend(tar_member("ok/empty", b'0', "", b""));
    tar.extend([0u8; 1024]);
    let u = hostile(t.path(), "evil.tar", &tar, Limits::default()).unwrap();
    let out = t.path().join("out");
    assert_contained(&out);
    let root = "0x0-tar";
    let p = |s: &str| out.join(root).join(s);
    assert_eq!(
        fs::read(p("ok/etc/passwd")).unwrap(),
        b"root:x:0:0::/root:/bin/sh\n"
    );
    assert_eq!(
        fs::read(p("abs/rerooted.txt")).unwrap(),
        b"in",
        "absolute names stay inside"
    );
    assert!(!p("ok/up").exists() || fs::symlink_metadata(p("ok/up")).unwrap().is_symlink());
    assert_eq!(
        fs::read(p("ok/empty")).unwrap(),
        b"",
        "a zero-length file is a file"
    );
    // Refusals are reported, and the tree says it is partial.
    let problems: Vec<_> = u
        .summary
        .problems
        .iter()
        .map(|p| p.message.as_str())
        .collect();
    assert!(
        problems
            .iter()
            .any(|m| m.contains("../../escape.txt") && m.contains("..")),
        "{problems:#?}"
    );
    assert!(
        problems
            .iter()
            .any(|m| m.contains("escape3.txt") && m.contains("symlink")),
        "{problems:#?}"
    );
    assert!(
        problems
            .iter()
            .any(|m| m.contains("escape4") && m.contains("symlink")),
        "{problems:#?}"
    );
    assert!(u.summary.partial);
    // Links are recorded as they are; the escaping one is not created on disk.
    let up = u
        .tree
        .entries
        .iter()
        .find(|e| e.path == format!("{root}/ok/up"))
        .unwrap();
    assert_eq!(
        up.kind,
        EntryKind::Symlink {
            target: "../../../../..".into()
        }
    );
    assert!(
        fs::symlink_metadata(p("ok/up")).is_err(),
        "escaping link not created"
    );
    // The device node is recorded, never created.
    assert!(u
        .tree
        .entries
        .iter()
        .any(|e| e.path == format!("{root}/ok/dev/console") && e.kind == EntryKind::CharDevice));
    assert!(fs::symlink_metadata(p("ok/dev/console")).is_err());
    // Loops resolve to nothing instead of spinning.
    let tree_root = iotassure_core::tree::Rootfs {
        path: format!("{root}/ok"),
        provenance: "t".into(),
    };
    let view = iotassure_core::tree::RootfsView::new(&u.tree, &tree_root);
    assert!(view.resolve("/a").is_none() && view.resolve("/self").is_none());
}

#[test]
fn cpio_traversal_is_refused() {
    let t = tempfile::tempdir().unwrap();
    let mut c = Vec::new();
    c.extend(newc_member("etc", 0o040755, b""));
    c.extend(newc_member("etc/shadow", 0o100644, b"root::0:0:::::\n"));
    c.extend(newc_member("../../cpio-escape", 0o100644, b"out"));
    c.extend(newc_member("/etc/abs-rerooted", 0o100644, b"in"));
    c.extend(newc_member("lnk", 0o120777, b"../../../../etc/passwd"));
    c.extend(newc_member("lnk/through", 0o100644, b"x"));
    c.extend(newc_member("TRAILER!!!", 0, b""));
    let u = hostile(t.path(), "evil.cpio", &c, Limits::default()).unwrap();
    assert_contained(&t.path().join("out"));
    let f = files_in(&u.tree, "0x0-cpio");
    assert_eq!(f["etc/shadow"], b"root::0:0:::::\n");
    assert_eq!(f["etc/abs-rerooted"], b"in");
    assert!(!f.contains_key("lnk/through"));
    assert!(u
        .summary
        .problems
        .iter()
        .any(|p| p.message.contains("../../cpio-escape")));
}

#[test]
fn squashfs_traversal_names_are_refused() {
    use common::squashfs_legacy::{build, Node, Options};
    let t = tempfile::tempdir().unwrap();
    // Our 3.x writer puts any name in a directory listing, `..` and `a/b` included.
    let img = build(
        &Options {
            major: 3,
            minor: 0,
            be: false,
            magic: None,
            block_size: 4096,
            compress: Some(zlib),
        },
        &[
            Node::Dir("etc", vec![Node::File("passwd", b"root:x:0:0\n".to_vec())]),
            Node::Dir("..", vec![Node::File("escape", b"out".to_vec())]),
            Node::File("../../sq-escape", b"out".to_vec()),
            Node::Link("link", "../../../../../etc/shadow"),
        ],
    );
    let u = hostile(t.path(), "evil.sqfs", &img, Limits::default()).unwrap();
    assert_contained(&t.path().join("out"));
    let f = files_in(&u.tree, "0x0-squashfs-3.0-le");
    assert_eq!(f.keys().collect::<Vec<_>>(), vec!["etc/passwd"]);
    assert_eq!(
        u.summary
            .problems
            .iter()
            .filter(|p| p.message.contains("refused"))
            .count(),
        2,
        "{:#?}",
        u.summary.problems
    );

    // SquashFS 4 from mksquashfs, with a name patched to `..` in its uncompressed directory table.
    let root = t.path().join("src");
    fs::create_dir_all(root.join("d")).unwrap();
    fs::write(root.join("d/zz"), b"patched").unwrap();
    fs::write(root.join("keep"), b"kept").unwrap();
    let img = tk::mksquashfs(
        &root,
        &t.path().join("p.sqfs"),
        "gzip",
        &["-noI", "-noD", "-noF", "-noX"],
    );
    let mut bytes = fs::read(&img).unwrap();
    let at = bytes.windows(2).rposition(|w| w == b"zz").unwrap();
    bytes[at..at + 2].copy_from_slice(b"..");
    let t2 = tempfile::tempdir().unwrap();
    let u = hostile(t2.path(), "patched.sqfs", &bytes, Limits::default());
    match u {
        Ok(u) => {
            assert_contained(&t2.path().join("out"));
            let f = files_in(&u.tree, "0x0-squashfs-4.0-gzip");
            assert_eq!(f.get("keep").map(|v| v.as_slice()), Some(&b"kept"[..]));
            assert!(!f.keys().any(|k| k.contains("..")));
            assert!(u.summary.partial, "a refused entry makes the tree partial");
        }
        // backhand may refuse the whole table: then the error names the offset.
        Err(e) => assert!(e.to_string().contains("@0x0"), "{e}"),
    }
}

#[test]
fn overlapping_carves_are_extracted_once_and_reported() {
    let t = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    let root = tk::sample_root(src.path());
    let sq = fs::read(tk::mksquashfs(
        &root,
        &src.path().join("r.sqfs"),
        "gzip",
        &[],
    ))
    .unwrap();
    // A TP-Link header whose kernel extent covers the filesystem its rootfs offset names.
    let kernel = lzma_alone(&fake_kernel(b""), 3, 0, 2);
    let mut img = tplink_v1("TP-LINK Technologies", &kernel, &sq, 0x200 + kernel.len());
    let inside = 0x200 + kernel.len() / 2;
    img[inside..inside + sq.len()].copy_from_slice(&sq);
    img[0x88..0x8c].copy_from_slice(&(inside as u32).to_be_bytes());
    // A second superblock inside the first filesystem's extent.
    let inner = 0x200 + kernel.len() + 4096;
    img[inner..inner + sq.len().min(200)].copy_from_slice(&sq[..sq.len().min(200)]);
    let u = hostile(t.path(), "overlap.bin", &img, Limits::default()).unwrap();
    let sqfs: Vec<_> = u
        .summary
        .layout
        .iter()
        .filter(|l| l.format == "squashfs-4.0")
        .collect();
    assert!(sqfs.len() <= 2);
    assert!(
        u.summary
            .problems
            .iter()
            .any(|p| p.message.contains("overlap")),
        "{:#?}",
        u.summary.problems
    );
    assert_eq!(
        u.summary
            .layout
            .iter()
            .filter(|l| l.format == "lzma" && l.depth == 0)
            .count(),
        1
    );
}

#[test]
fn truncated_streams_name_their_offset() {
    let t = tempfile::tempdir().unwrap();
    let root = tk::sample_root(t.path());
    let tarball = tk::tar(&root, &t.path().join("r.tar"), &[]);
    for tool in ["gzip", "xz", "bzip2", "zstd", "lzma", "lz4", "lzop"] {
        let full = fs::read(tk::compress(
            tool,
            &tarball,
            &t.path().join(format!("r.{tool}")),
        ))
        .unwrap();
        let mut img = vec![0xffu8; 0x1000];
        img.extend_from_slice(&full[..full.len() / 2]);
        let d = t.path().join(format!("t-{tool}"));
        fs::create_dir_all(&d).unwrap();
        match hostile(&d, "cut.bin", &img, Limits::default()) {
            Ok(u) => {
                assert!(u.summary.partial, "{tool}: a truncated stream is partial");
                assert!(
                    u.summary
                        .problems
                        .iter()
                        .any(|p| p.offset == 0x1000 || p.parent.contains("@0x1000")),
                    "{tool}: {:#?}",
                    u.summary.problems
                );
            }
            Err(e) => assert!(e.to_string().contains("@0x1000"), "{tool}: {e}"),
        }
    }
    // A filesystem cut short: a clear error with the offset and the word "truncated".
    let sq = fs::read(tk::mksquashfs(&root, &t.path().join("r.sqfs"), "xz", &[])).unwrap();
    let used = u64::from_le_bytes(sq[40..48].try_into().unwrap()) as usize;
    let d = t.path().join("t-sqfs");
    fs::create_dir_all(&d).unwrap();
    let e = hostile(&d, "cut.sqfs", &sq[..used / 2], Limits::default()).unwrap_err();
    let m = e.to_string();
    assert!(m.contains("@0x0") && m.contains("truncated"), "{m}");
}

#[test]
fn empty_input_is_an_error_and_empty_members_are_files() {
    let t = tempfile::tempdir().unwrap();
    let e = hostile(t.path(), "empty.bin", b"", Limits::default()).unwrap_err();
    assert!(matches!(e, UnpackError::Empty(_)), "{e}");
    assert!(e.to_string().contains("empty"));
    let t = tempfile::tempdir().unwrap();
    let mut tar = tar_member("etc/empty", b'0', "", b"");
    tar.extend(tar_member("etc/also-empty", b'0', "", b""));
    tar.extend([0u8; 1024]);
    let u = hostile(t.path(), "empties.tar", &tar, Limits::default()).unwrap();
    assert!(!u.summary.partial);
    assert_eq!(files_in(&u.tree, "0x0-tar")["etc/empty"], b"");
}

#[test]
fn every_limit_stops_with_its_flag_named() {
    let t = tempfile::tempdir().unwrap();
    let root = tk::sample_root(t.path());
    let tgz = fs::read(tk::tar(&root, &t.path().join("r.tgz"), &["-z"])).unwrap();
    let cases: Vec<(&str, Limits, &str)> = vec![
        (
            "files",
            Limits {
                max_files: 5,
                ..Limits::default()
            },
            "--max-files",
        ),
        (
            "total",
            Limits {
                max_total_bytes: 100_000,
                ..Limits::default()
            },
            "--max-total",
        ),
        (
            "file",
            Limits {
                max_file_bytes: 50_000,
                ..Limits::default()
            },
            "--max-file-size",
        ),
        (
            "time",
            Limits {
                max_time: Duration::ZERO,
                ..Limits::default()
            },
            "--max-time",
        ),
        (
            "ratio",
            Limits {
                max_ratio: 1,
                ratio_floor: 1000,
                ..Limits::default()
            },
            "--max-ratio",
        ),
    ];
    for (name, limits, flag) in cases {
        let d = t.path().join(name);
        fs::create_dir_all(&d).unwrap();
        match hostile(&d, "r.tgz", &tgz, limits) {
            Ok(u) => {
                assert!(u.summary.partial, "{name}");
                let all = [
                    u.summary.limits_hit.clone(),
                    u.summary
                        .problems
                        .iter()
                        .map(|p| p.message.clone())
                        .collect(),
                ]
                .concat();
                assert!(all.iter().any(|m| m.contains(flag)), "{name}: {all:#?}");
            }
            Err(e) => assert!(e.to_string().contains(flag), "{name}: {e}"),
        }
    }
    // Depth: gzip at depth 0, the tar inside it at depth 1 is not opened with --depth 1.
    let d = t.path().join("depth");
    fs::create_dir_all(&d).unwrap();
    let u = hostile(
        &d,
        "r.tgz",
        &tgz,
        Limits {
            max_depth: 1,
            ..Limits::default()
        },
    )
    .unwrap();
    assert!(u.summary.partial);
    assert!(u
        .summary
        .problems
        .iter()
        .any(|p| p.message.contains("--depth")));
    assert!(u
        .summary
        .layout
        .iter()
        .any(|l| l.format == "tar" && l.description.contains("not extracted")));
}

#[test]
fn random_bytes_are_no_format_and_leave_nothing() {
    let t = tempfile::tempdir().unwrap();
    let e = hostile(
        t.path(),
        "random.bin",
        &noise(1 << 20, 42),
        Limits::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("no known firmware format"), "{e}");
    assert!(
        !t.path().join("out").exists() || fs::read_dir(t.path().join("out")).unwrap().count() == 0
    );
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// 1,100 nested gzip layers with the depth cap raised to match: this overflowed the stack (the
/// engine recursed once per layer), killing the process with `fatal runtime error: stack
/// overflow`. No cap setting may turn hostile data into a crash: every layer is unpacked (or
/// refused with a problem), and the run returns.
#[test]
fn nesting_deeper_than_any_stack_is_no_crash() {
    const LAYERS: usize = 1100;
    let mut img = b"innermost payload: plain text, nothing to find here\n".repeat(4);
    for _ in 0..LAYERS {
        img = gzip(&img);
    }
    assert!(img.len() < 64 << 10, "{} bytes", img.len());
    let t = tempfile::tempdir().unwrap();
    let limits = Limits {
        max_depth: LAYERS as u32,
        ..Limits::default()
    };
    let u = hostile(t.path(), "deep.gz", &img, limits).expect("unpacks");
    let gz = u
        .summary
        .layout
        .iter()
        .filter(|l| l.format == "gzip")
        .count();
    let deepest = u.summary.layout.iter().map(|l| l.depth).max().unwrap_or(0);
    // Either every layer is opened, or the run says (a problem, PARTIAL) where it stopped.
    assert!(
        gz == LAYERS || u.summary.partial,
        "{gz} gzip layers, deepest {deepest}, problems {:?}",
        u.summary.problems.first()
    );
    assert!(gz > 100, "{gz} gzip layers");
}
