//! SquashFS 2.x / 3.x directories, checked against an independent reader: Debian's
//! `unsquashfs` (squashfs-tools 4.x still reads 2.x and 3.x zlib images in both byte orders).
//!
//! The fixture is a tree big enough that a directory's entries point into several inode
//! metadata blocks, so each listing carries several directory headers: the structure that was
//! misread on real 3.0 images (its 3.x header is 9 bytes, not 12). Both readers must agree file
//! by file, and both must find every file the writer put in.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::squashfs_legacy::{build, sample, Node, Options};
use common::*;
use iotassure_core::tree::EntryKind;

/// `unsquashfs`, or `None` (skip) outside CI; in CI a missing tool fails the test.
fn unsquashfs() -> Option<std::path::PathBuf> {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        return Some(iotassure_testkit::require_tool(
            "unsquashfs",
            "squashfs-tools",
        ));
    }
    let p = Path::new("/usr/bin/unsquashfs");
    if p.is_file() {
        Some(p.to_path_buf())
    } else {
        eprintln!("skipping: unsquashfs (squashfs-tools) is not installed");
        None
    }
}

fn name(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

/// The sample tree plus 3 folders of 150 files each, with names of every length class, so
/// inodes span several 8 KiB metadata blocks and listings several headers.
fn wide_tree() -> (Vec<Node>, usize) {
    let mut root = sample();
    let mut count = 5; // the sample's regular files
    for d in ["lib", "sbin", "www"] {
        let mut files = Vec::new();
        for i in 0..150 {
            let n = format!("{d}-entry-{i:03}{}", "x".repeat(i % 40));
            let data = format!("{d}/{n}\n").repeat(1 + i % 7).into_bytes();
            files.push(Node::File(name(n), data));
            count += 1;
        }
        root.push(Node::Dir(d, files));
    }
    sort(&mut root);
    (root, count)
}

/// SquashFS listings are sorted by name; `unsquashfs` refuses unsorted ones.
fn sort(nodes: &mut [Node]) {
    nodes.sort_by(|a, b| node_name(a).cmp(node_name(b)));
    for n in nodes {
        if let Node::Dir(_, c) = n {
            sort(c);
        }
    }
}

fn node_name(n: &Node) -> &'static str {
    match n {
        Node::Dir(n, _) | Node::File(n, _) | Node::Link(n, _) => n,
    }
}

/// Regular files and symlinks under `dir` on disk: path → content or "-> target".
fn on_disk(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().to_string();
            let m = std::fs::symlink_metadata(&p).unwrap();
            if m.file_type().is_symlink() {
                let t = std::fs::read_link(&p).unwrap();
                out.insert(rel, format!("-> {}", t.display()).into_bytes());
            } else if m.is_dir() {
                stack.push(p);
            } else {
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[test]
fn legacy_directories_match_unsquashfs_file_by_file_both_byte_orders() {
    let Some(unsquashfs) = unsquashfs() else {
        return;
    };
    let (tree, n_files) = wide_tree();
    let t = tempfile::tempdir().unwrap();
    for (major, minor, be, format) in [
        (3, 0, false, "squashfs-3.0"),
        (3, 0, true, "squashfs-3.0"),
        (3, 1, false, "squashfs-3.1"),
        (3, 1, true, "squashfs-3.1"),
        (2, 1, false, "squashfs-2.1"),
        (2, 0, true, "squashfs-2.0"),
    ] {
        let case = format!("v{major}.{minor}-{}", if be { "be" } else { "le" });
        let img = build(
            &Options {
                major,
                minor,
                be,
                magic: None,
                block_size: 65536,
                compress: Some(zlib),
            },
            &tree,
        );
        let path = t.path().join(format!("{case}.sqfs"));
        std::fs::write(&path, &img).unwrap();
        let theirs_dir = t.path().join(format!("{case}.unsquashfs"));
        let out = Command::new(&unsquashfs)
            .arg("-no-progress")
            .arg("-d")
            .arg(&theirs_dir)
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{case}: unsquashfs refuses the fixture: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let theirs = on_disk(&theirs_dir);
        let regular = theirs.values().filter(|v| !v.starts_with(b"-> ")).count();
        assert_eq!(regular, n_files, "{case}: unsquashfs finds every file");

        let u = run_bytes(t.path(), &case, &img);
        assert!(
            u.summary.problems.is_empty(),
            "{case}: {:#?}",
            u.summary.problems
        );
        let dir = chunk_dir(&u, format);
        let mut ours = files_in(&u.tree, &dir);
        for e in &u.tree.entries {
            if let (EntryKind::Symlink { target }, Some(rel)) =
                (&e.kind, e.path.strip_prefix(&format!("{dir}/")))
            {
                ours.insert(rel.to_string(), format!("-> {target}").into_bytes());
            }
        }
        assert_eq!(
            ours.keys().collect::<Vec<_>>(),
            theirs.keys().collect::<Vec<_>>(),
            "{case}: the same paths"
        );
        for (k, v) in &theirs {
            assert!(ours[k] == *v, "{case}: {k} differs from unsquashfs");
        }
        assert_eq!(
            ours["www/www-entry-120"],
            b"www/www-entry-120\n".repeat(1 + 120 % 7),
            "{case}"
        );
    }
}
