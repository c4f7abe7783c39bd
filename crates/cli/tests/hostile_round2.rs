//! Hostile firmware, round two (issue 16): symlink chains that climb out of the output folder,
//! a decompression bomb in front of the root filesystem, directory loops and images that
//! contain themselves, and errors that name what failed. Each input is built here with the
//! real tools (tar, cpio, mksquashfs, zip, mke2fs/debugfs, gzip, zstd), then run through the
//! `iotassure` binary as a user would.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use iotassure_testkit::unpack as tk;
use iotassure_testkit::{require_tool, run};
use serde_json::Value;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_iotassure"))
}

fn describe(o: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status,
        String::from_utf8_lossy(&o.stdout)
            .chars()
            .take(3000)
            .collect::<String>(),
        String::from_utf8_lossy(&o.stderr)
            .chars()
            .take(3000)
            .collect::<String>()
    )
}

fn unpack(image: &Path, out: &Path, extra: &[&str]) -> Output {
    bin()
        .arg("-q")
        .arg("unpack")
        .arg(image)
        .arg("--out")
        .arg(out)
        .arg("--json")
        .args(extra)
        .output()
        .unwrap()
}

fn assess(image: &Path, out: &Path, extra: &[&str]) -> Output {
    bin()
        .arg("-q")
        .arg("assess")
        .arg(image)
        .arg("--out")
        .arg(out)
        .args(["--crack-time", "1"])
        .args(extra)
        .output()
        .unwrap()
}

/// Every path under `dir`, not following links.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let ft = fs::symlink_metadata(&p).unwrap().file_type();
            if ft.is_dir() {
                stack.push(p.clone());
            }
            out.push(p);
        }
    }
    out
}

/// No symlink anywhere under `root` canonicalises outside it; returns how many links there are.
fn assert_links_contained(root: &Path) -> usize {
    let canon = fs::canonicalize(root).unwrap();
    let mut links = 0;
    for p in walk(root) {
        if !fs::symlink_metadata(&p).unwrap().file_type().is_symlink() {
            continue;
        }
        links += 1;
        if let Ok(real) = fs::canonicalize(&p) {
            assert!(
                real.starts_with(&canon),
                "{} resolves to {}, outside {}",
                p.display(),
                real.display(),
                canon.display()
            );
        }
    }
    links
}

/// A small device root holding the attack: `d1/d2/l1 -> ../..`, `up1 -> d1/d2/l1/..`, then
/// `upN -> up(N-1)/..` up to 20; links to links in other folders that climb the same way; and a
/// harmless chain of 20 links (`ok20 -> … -> ok1 -> etc`) that must survive.
fn chain_root(t: &Path) -> PathBuf {
    let root = t.join("chain");
    for d in ["etc", "bin", "d1/d2", "p/q", "s/t"] {
        fs::create_dir_all(root.join(d)).unwrap();
    }
    fs::write(root.join("etc/passwd"), "root:x:0:0::/root:/bin/sh\n").unwrap();
    fs::write(root.join("bin/busybox"), tk::noise(4096, 3)).unwrap();
    symlink("busybox", root.join("bin/sh")).unwrap();
    symlink("../..", root.join("d1/d2/l1")).unwrap();
    symlink("d1/d2/l1/..", root.join("up1")).unwrap();
    for n in 2..=20 {
        symlink(format!("up{}/..", n - 1), root.join(format!("up{n}"))).unwrap();
    }
    // Across folders: p/q/r1 → s/t/r2 → a folder above the root.
    symlink("../../s/t/r2", root.join("p/q/r1")).unwrap();
    symlink("../../d1/d2/l1/../..", root.join("s/t/r2")).unwrap();
    symlink("../../p/q/r1/etc/shadow", root.join("d1/d2/far")).unwrap();
    symlink("etc", root.join("ok1")).unwrap();
    for n in 2..=20 {
        symlink(format!("ok{}", n - 1), root.join(format!("ok{n}"))).unwrap();
    }
    root
}

const ESCAPING: &[&str] = &["up1", "up2", "up20", "p/q/r1", "s/t/r2", "d1/d2/far"];

/// The manifest lists every link; the escaping ones are marked and absent on disk; the good
/// chain is there and reaches `etc/passwd`.
fn check_manifest(manifest: &Path, label: &str) {
    let m: Value = serde_json::from_str(&fs::read_to_string(manifest).unwrap()).unwrap();
    let base = manifest.parent().unwrap();
    let entries = m["entries"].as_array().unwrap();
    for want in ESCAPING {
        let e = entries
            .iter()
            .find(|e| e["path"].as_str().unwrap().ends_with(&format!("/{want}")))
            .unwrap_or_else(|| panic!("{label}: {want} not in the manifest"));
        assert_eq!(e["type"], "symlink", "{label}: {want}: {e}");
        assert!(
            e["provenance"].as_str().unwrap().contains("escaping link"),
            "{label}: {want} not marked as escaping: {e}"
        );
        let on_disk = base.join(e["path"].as_str().unwrap());
        assert!(
            fs::symlink_metadata(&on_disk).is_err(),
            "{label}: escaping link {} was created",
            on_disk.display()
        );
    }
    let ok20 = entries
        .iter()
        .find(|e| e["path"].as_str().unwrap().ends_with("/ok20"))
        .unwrap_or_else(|| panic!("{label}: ok20 not in the manifest"));
    let ok20 = base.join(ok20["path"].as_str().unwrap());
    assert_eq!(
        fs::read_to_string(ok20.join("passwd")).unwrap(),
        "root:x:0:0::/root:/bin/sh\n",
        "{label}: the harmless chain of 20 links must resolve"
    );
}

fn chain_images(t: &Path) -> Vec<(&'static str, PathBuf)> {
    let root = chain_root(t);
    let mut images = vec![
        ("tar", tk::tar(&root, &t.join("chain.tar"), &[])),
        ("cpio", tk::cpio(&root, &t.join("chain.cpio"), "newc")),
        (
            "squashfs",
            tk::mksquashfs(&root, &t.join("chain.sqfs"), "gzip", &[]),
        ),
    ];
    // Info-ZIP with -y stores the links as links (7-Zip would follow them, on this host).
    let zip = require_tool("zip", "zip");
    let z = t.join("chain.zip");
    run(Command::new(zip)
        .current_dir(&root)
        .args(["-q", "-r", "-y"])
        .arg(&z)
        .arg("."));
    images.push(("zip", z));
    images
}

#[test]
fn symlink_chains_never_lead_out_of_the_output_folder() {
    let t = tempfile::tempdir().unwrap();
    for (label, image) in chain_images(t.path()) {
        let out = t.path().join(format!("{label}.out"));
        let o = unpack(&image, &out, &[]);
        assert!(o.status.success(), "{label}: {}", describe(&o));
        let links = assert_links_contained(&out);
        assert!(links >= 21, "{label}: only {links} links on disk");
        check_manifest(&out.join("manifest.json"), label);
        let summary: Value = serde_json::from_slice(&o.stdout).unwrap();
        let problems = summary["summary"]["problems"].to_string();
        assert!(
            problems.contains("up20") && problems.contains("escaping link"),
            "{label}: escaping links not reported: {problems}"
        );

        let rep = t.path().join(format!("{label}.assess"));
        let o = assess(&image, &rep, &["--keep-extracted"]);
        assert!(
            o.status.code().is_some_and(|c| c < 2),
            "{label}: {}",
            describe(&o)
        );
        let extracted = rep.join("extracted");
        assert!(assert_links_contained(&extracted) >= 21, "{label}");
        assert_links_contained(&rep);
        check_manifest(&extracted.join("manifest.json"), label);
    }
}

/// `n` MiB of zeros compressed with `tool` (`gzip`, `zstd`): a small stream that expands past
/// any small `--max-file-size`.
fn bomb(t: &Path, tool: &str, mib: usize) -> Vec<u8> {
    let raw = t.join(format!("zeros-{mib}"));
    if !raw.exists() {
        fs::write(&raw, vec![0u8; mib << 20]).unwrap();
    }
    let out = tk::compress(tool, &raw, &t.join(format!("bomb.{tool}")));
    fs::read(out).unwrap()
}

fn json(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn a_bomb_in_front_of_the_root_filesystem_does_not_hide_it() {
    let t = tempfile::tempdir().unwrap();
    let root = tk::sample_root(t.path());
    let sqfs = fs::read(tk::mksquashfs(&root, &t.path().join("r.sqfs"), "xz", &[])).unwrap();
    for tool in ["gzip", "zstd"] {
        let b = bomb(t.path(), tool, 40);
        assert!(b.len() < 200_000, "{tool}: {} bytes", b.len());
        let image = t.path().join(format!("bomb-{tool}.img"));
        fs::write(&image, [b.as_slice(), &sqfs].concat()).unwrap();
        let out = t.path().join(format!("bomb-{tool}.report"));
        let o = assess(&image, &out, &["--max-file-size", "16"]);
        // 1: the example root fails (empty root password); 2 would be "nothing to inspect".
        assert_eq!(o.status.code(), Some(1), "{tool}: {}", describe(&o));
        let report = json(&out.join("report.json"));
        let fw = &report["subject"]["firmware"];
        assert_eq!(fw["partial"], true, "{tool}");
        let problems = fw["problems"].as_array().unwrap();
        let skipped = problems
            .iter()
            .find(|p| p["offset"] == 0 && p["parent"] == "image")
            .unwrap_or_else(|| panic!("{tool}: the bomb is not a problem: {problems:#?}"));
        assert!(
            skipped["message"]
                .as_str()
                .unwrap()
                .contains("(--max-file-size)"),
            "{tool}: {skipped}"
        );
        assert_eq!(fw["limits_hit"].as_array().unwrap().len(), 0, "{tool}");
        // The root filesystem was extracted and assessed: its empty root password is found.
        let findings = report["findings"].as_array().unwrap();
        assert!(
            findings.iter().any(|f| f["outcome"] == "fail"
                && f["provisions"].to_string().contains("5.1-1")
                && f["evidence"].to_string().contains("/etc/shadow")),
            "{tool}: the root filesystem was not assessed"
        );
        let hidden = findings
            .iter()
            .find(|f| f["check"] == "fw-bomb-hidden-material")
            .unwrap_or_else(|| panic!("{tool}: no finding for the bomb"));
        assert!(
            hidden["title"]
                .as_str()
                .unwrap()
                .contains("hidden behind a decompression bomb"),
            "{hidden}"
        );
        let md = fs::read_to_string(out.join("report.md")).unwrap();
        assert!(
            md.contains("**partial**") && md.contains("max-file-size") && md.contains("skipped"),
            "{tool}: report.md does not say what was skipped"
        );
    }
}

#[test]
fn a_bomb_after_the_root_filesystem_is_skipped_without_a_finding() {
    let t = tempfile::tempdir().unwrap();
    let root = tk::sample_root(t.path());
    let sqfs = fs::read(tk::mksquashfs(&root, &t.path().join("r.sqfs"), "xz", &[])).unwrap();
    let b = bomb(t.path(), "gzip", 40);
    let image = t.path().join("late.img");
    fs::write(&image, [sqfs.as_slice(), &b].concat()).unwrap();
    let out = t.path().join("late.report");
    let o = assess(&image, &out, &["--max-file-size", "16"]);
    assert_eq!(o.status.code(), Some(1), "{}", describe(&o));
    let report = json(&out.join("report.json"));
    assert_eq!(report["subject"]["firmware"]["partial"], true);
    assert!(report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["check"] != "fw-bomb-hidden-material"));
}

#[test]
fn one_oversized_file_in_an_ext_image_leaves_the_rest_extracted() {
    let t = tempfile::tempdir().unwrap();
    let root = tk::sample_root(t.path());
    fs::write(root.join("usr/big.bin"), tk::noise(20 << 20, 5)).unwrap();
    for i in 0..50 {
        fs::write(root.join(format!("etc/f{i:02}")), format!("file {i}\n")).unwrap();
    }
    let mke2fs = require_tool("mke2fs", "e2fsprogs");
    let img = t.path().join("big.ext4");
    run(Command::new(mke2fs)
        .args(["-q", "-F", "-t", "ext4", "-d"])
        .arg(&root)
        .arg(&img)
        .arg("40M"));
    let out = t.path().join("big.out");
    let o = unpack(&img, &out, &["--max-file-size", "16"]);
    assert!(o.status.success(), "{}", describe(&o));
    let s: Value = serde_json::from_slice(&o.stdout).unwrap();
    let problems = s["summary"]["problems"].as_array().unwrap();
    assert!(
        problems.iter().any(|p| {
            let m = p["message"].as_str().unwrap();
            m.contains("big.bin") && m.contains("(--max-file-size)")
        }),
        "{problems:#?}"
    );
    assert_eq!(s["summary"]["partial"], true);
    let manifest = json(&out.join("manifest.json"));
    let paths: Vec<&str> = manifest["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    // Every other file is there (the 50 small ones, shadow, busybox …); the big one is not.
    let small = paths.iter().filter(|p| p.contains("/etc/f")).count();
    assert_eq!(small, 50, "{paths:?}");
    for want in ["/etc/shadow", "/bin/busybox", "/usr/lib/libz.so"] {
        assert!(paths.iter().any(|p| p.ends_with(want)), "{want}: {paths:?}");
    }
    assert!(!paths.iter().any(|p| p.ends_with("/usr/big.bin")));
    assert!(walk(&out).iter().all(|p| !p.ends_with("usr/big.bin")));
}

fn problems_of(o: &Output) -> Vec<Value> {
    let s: Value = serde_json::from_slice(&o.stdout).unwrap();
    s["summary"]["problems"].as_array().unwrap().clone()
}

fn entries_of(out: &Path) -> usize {
    json(&out.join("manifest.json"))["entries"]
        .as_array()
        .unwrap()
        .len()
}

#[test]
fn an_ext_directory_loop_is_detected_at_once() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("loop");
    fs::create_dir_all(root.join("a/b")).unwrap();
    fs::create_dir_all(root.join("etc")).unwrap();
    fs::write(root.join("a/b/f"), "f\n").unwrap();
    fs::write(root.join("etc/passwd"), "root:x:0:0::/:/bin/sh\n").unwrap();
    for kind in ["ext2", "ext4"] {
        let img = tk::mke2fs(&root, &t.path().join(format!("loop.{kind}")), kind);
        // Two hard links from /a/b back to /a: without detection, 2^64 paths.
        let debugfs = require_tool("debugfs", "e2fsprogs");
        for name in ["loop", "loop2"] {
            run(Command::new(&debugfs)
                .arg("-w")
                .arg("-R")
                .arg(format!("link /a /a/b/{name}"))
                .arg(&img));
        }
        let out = t.path().join(format!("loop-{kind}.out"));
        let t0 = Instant::now();
        let o = unpack(&img, &out, &[]);
        let took = t0.elapsed();
        assert!(o.status.success(), "{kind}: {}", describe(&o));
        assert!(took < Duration::from_secs(20), "{kind}: {took:?}");
        let problems = problems_of(&o);
        let loops: Vec<&Value> = problems
            .iter()
            .filter(|p| p["message"].as_str().unwrap().contains("directory loop"))
            .collect();
        assert_eq!(loops.len(), 2, "{kind}: {problems:#?}");
        for p in &loops {
            let m = p["message"].as_str().unwrap();
            assert!(
                m.contains("/a/b/loop") && m.contains("same directory as /a/"),
                "{kind}: {m}"
            );
        }
        // a, a/b, a/b/f, a/b/loop, a/b/loop2, etc, etc/passwd, the root folder.
        assert!(entries_of(&out) <= 10, "{kind}: {}", entries_of(&out));
    }
}

/// An image built with fixed time stamps (a reproducible build) where `a/c/c/c` are real
/// folders with the same metadata and the same one name each: not a loop.
#[test]
fn a_real_x_x_x_chain_with_identical_metadata_is_not_a_loop() {
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("cc");
    fs::create_dir_all(root.join("a/c/c/c")).unwrap();
    fs::write(root.join("a/c/c/c/f"), "f\n").unwrap();
    run(Command::new("find").arg(&root).args([
        "-exec",
        "touch",
        "-h",
        "-d",
        "@1000000000",
        "{}",
        "+",
    ]));
    let mke2fs = require_tool("mke2fs", "e2fsprogs");
    let img = t.path().join("cc.ext2");
    run(Command::new(mke2fs)
        .env("E2FSPROGS_FAKE_TIME", "1000000000")
        .args(["-q", "-F", "-t", "ext2", "-I", "128", "-d"])
        .arg(&root)
        .arg(&img)
        .arg("4M"));
    let out = t.path().join("cc.out");
    let o = unpack(&img, &out, &[]);
    assert!(o.status.success(), "{}", describe(&o));
    assert!(problems_of(&o).is_empty(), "{:#?}", problems_of(&o));
    assert!(walk(&out).iter().any(|p| p.ends_with("a/c/c/c/f")));
}

/// A squashfs whose regular files are the image itself: one-block sparse files (no data on
/// disk) whose inodes are then pointed at byte 0 with the image's length, uncompressed.
fn self_containing_squashfs(t: &Path, copies: usize) -> Vec<u8> {
    let root = t.join("selfroot");
    fs::create_dir_all(root.join("etc")).unwrap();
    fs::write(root.join("etc/passwd"), "root:x:0:0::/:/bin/sh\n").unwrap();
    for i in 0..copies {
        fs::write(root.join(format!("self{i}")), vec![0u8; 4096]).unwrap();
    }
    let img = t.join("self.sqfs");
    let mut d = fs::read(tk::mksquashfs(
        &root,
        &img,
        "gzip",
        &["-noI", "-noId", "-b", "4096", "-nopad", "-no-xattrs"],
    ))
    .unwrap();
    let len = d.len() as u32;
    assert!(len < 4096, "{len}");
    let mut patched = 0;
    let mut p = 96;
    while p + 36 <= d.len() {
        let u32_at = |d: &[u8], at: usize| u32::from_le_bytes(d[at..at + 4].try_into().unwrap());
        // Basic file inode: type 2, then blocks_start, fragment (none), offset, size 4096 (one
        // sparse block, so the one block-size entry can take the image's length).
        if d[p..p + 2] == [2, 0] && u32_at(&d, p + 20) == u32::MAX && u32_at(&d, p + 28) == 4096 {
            d[p + 16..p + 20].copy_from_slice(&0u32.to_le_bytes());
            d[p + 28..p + 32].copy_from_slice(&len.to_le_bytes());
            d[p + 32..p + 36].copy_from_slice(&(len | 1 << 24).to_le_bytes());
            patched += 1;
        }
        p += 1;
    }
    assert_eq!(patched, copies, "sparse file inodes not found");
    d
}

#[test]
fn a_squashfs_whose_files_are_itself_is_detected_by_hash() {
    let t = tempfile::tempdir().unwrap();
    let d = self_containing_squashfs(t.path(), 4);
    let img = t.path().join("self.img");
    fs::write(&img, &d).unwrap();
    let out = t.path().join("self.out");
    let t0 = Instant::now();
    let o = unpack(&img, &out, &[]);
    let took = t0.elapsed();
    assert!(o.status.success(), "{}", describe(&o));
    assert!(took < Duration::from_secs(20), "{took:?}");
    // The files really are the image (so the reader followed the crafted inodes).
    let files: Vec<PathBuf> = walk(&out)
        .into_iter()
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("self"))
        .collect();
    assert_eq!(files.len(), 4, "{files:?}");
    for f in &files {
        assert_eq!(fs::read(f).unwrap(), d, "{}", f.display());
    }
    let problems = problems_of(&o);
    let copies: Vec<&Value> = problems
        .iter()
        .filter(|p| {
            p["message"]
                .as_str()
                .unwrap()
                .contains("an image that contains itself")
        })
        .collect();
    assert_eq!(copies.len(), 4, "{problems:#?}");
    assert!(copies
        .iter()
        .all(|p| p["message"].as_str().unwrap().contains("/self")));
    // The root folder, etc, etc/passwd and the four files: nothing nested.
    assert!(entries_of(&out) <= 8, "{}", entries_of(&out));
}

#[test]
fn a_damaged_squashfs4_says_what_is_wrong() {
    let t = tempfile::tempdir().unwrap();
    let root = tk::sample_root(t.path());
    let mut d = fs::read(tk::mksquashfs(
        &root,
        &t.path().join("r.sqfs"),
        "gzip",
        &["-noI"],
    ))
    .unwrap();
    // The root inode's type (uncompressed metadata: a 2-byte block header, then the inode).
    let root_ref = u64::from_le_bytes(d[32..40].try_into().unwrap());
    let inode_table = u64::from_le_bytes(d[64..72].try_into().unwrap());
    let at = (inode_table + (root_ref >> 16) + 2 + (root_ref & 0xffff)) as usize;
    d[at..at + 2].copy_from_slice(&[0x0f, 0]);
    let img = t.path().join("bad.sqfs");
    fs::write(&img, &d).unwrap();
    let o = unpack(&img, &t.path().join("bad.out"), &[]);
    // Damage is a problem at its offset (in the JSON summary, or the error when nothing else
    // could be extracted); either way it must say something after the prefix.
    let text = if o.status.success() {
        serde_json::to_string(&problems_of(&o)).unwrap()
    } else {
        String::from_utf8_lossy(&o.stderr).to_string()
    };
    let said = text
        .split("squashfs tables:")
        .nth(1)
        .unwrap_or_else(|| panic!("{}", describe(&o)));
    let said: String = said
        .chars()
        .take_while(|c| *c != '"' && *c != '\n')
        .collect();
    assert!(said.trim().len() > 10, "nothing said: {}", describe(&o));
}

/// A newc cpio member.
fn newc(name: &str, mode: u32, data: &[u8]) -> Vec<u8> {
    let mut v = format!(
        "070701{:08x}{mode:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
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
    while v.len() % 4 != 0 {
        v.push(0);
    }
    v.extend_from_slice(data);
    while v.len() % 4 != 0 {
        v.push(0);
    }
    v
}

#[test]
fn a_name_too_long_for_the_disk_names_the_member_and_the_path() {
    let t = tempfile::tempdir().unwrap();
    let long = format!("etc/{}", "n".repeat(300));
    let mut cpio = newc("etc", 0o040755, b"");
    cpio.extend(newc("etc/passwd", 0o100644, b"root:x:0:0::/:/bin/sh\n"));
    cpio.extend(newc(&long, 0o100644, b"x"));
    cpio.extend(newc("TRAILER!!!", 0, b""));
    let img = t.path().join("long.cpio");
    fs::write(&img, &cpio).unwrap();
    let out = t.path().join("long.out");
    let o = unpack(&img, &out, &[]);
    assert!(o.status.success(), "{}", describe(&o));
    let problems = problems_of(&o);
    let p = problems
        .iter()
        .map(|p| p["message"].as_str().unwrap())
        .find(|m| m.contains("os error 36"))
        .unwrap_or_else(|| panic!("{problems:#?}"));
    assert!(p.contains(&long), "the member is not named: {p}");
    let base = fs::canonicalize(t.path()).unwrap();
    assert!(
        p.contains("cannot create") && p.contains(&base.display().to_string()),
        "the output path is not named: {p}"
    );
    assert!(walk(&out).iter().any(|p| p.ends_with("etc/passwd")));
}

/// Mounts a 2 MiB tmpfs at `dir`; `None` (with the reason printed) where that is not allowed.
fn small_disk(dir: &Path) -> Option<()> {
    fs::create_dir_all(dir).unwrap();
    let o = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
        .arg(dir)
        .output();
    match o {
        Ok(o) if o.status.success() => Some(()),
        Ok(o) => {
            eprintln!(
                "SKIP: cannot mount a small tmpfs (needs root): {}",
                String::from_utf8_lossy(&o.stderr).trim()
            );
            None
        }
        Err(e) => {
            eprintln!("SKIP: cannot run mount: {e}");
            None
        }
    }
}

#[test]
fn a_full_disk_cleans_up_and_says_where_it_ran_out() {
    let t = tempfile::tempdir().unwrap();
    let disk = t.path().join("disk");
    if small_disk(&disk).is_none() {
        return;
    }
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(self.0).status();
        }
    }
    let _guard = Unmount(&disk);
    let root = tk::sample_root(t.path());
    fs::write(root.join("usr/lib/big.bin"), tk::noise(4 << 20, 9)).unwrap();
    let img = tk::mksquashfs(&root, &t.path().join("big.sqfs"), "gzip", &[]);
    let out = disk.join("out");
    let o = unpack(&img, &out, &[]);
    assert_eq!(o.status.code(), Some(2), "{}", describe(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("the disk is full"), "{}", describe(&o));
    // It names the member it was writing when the disk ran out. Members are written in
    // parallel, so which one that is depends on the run (big.bin, or a file beside it once
    // big.bin has filled the disk): any member of the image, named in full, will do.
    let named = err
        .split("writing ")
        .nth(1)
        .and_then(|r| r.split(" failed").next())
        .and_then(|p| p.split_once("squashfs-4.0-gzip"))
        .map(|(_, member)| member.to_string())
        .unwrap_or_else(|| panic!("no member named: {}", describe(&o)));
    assert!(
        root.join(named.trim_start_matches('/')).is_file(),
        "{named} is not a file of the image: {}",
        describe(&o)
    );
    // Nothing is left on the small disk: no output, no staging folder, no empty manifest.
    let left: Vec<PathBuf> = walk(&disk);
    assert!(left.is_empty(), "left behind: {left:?}");
}
