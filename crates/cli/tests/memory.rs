//! `--max-memory` holds during inspection, not only during extraction: files that would push the
//! heap past the cap are left unread (smallest first are kept, so the configuration files the
//! checks live on are read), and the report says which limit cut what, as PARTIAL.

use std::fs;
use std::io::Write;
use std::process::Command;

use serde_json::Value;

fn assess(root: &std::path::Path, out: &std::path::Path, extra: &[&str]) -> Value {
    let o = Command::new(env!("CARGO_BIN_EXE_iotassure"))
        .args(["-q", "assess"])
        .arg(root)
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    // 1: the empty root password is a FAIL.
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&fs::read(out.join("report.json")).unwrap()).unwrap()
}

fn empty_password_failed(r: &Value) -> bool {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["outcome"] == "fail" && f["title"].as_str().unwrap().contains("empty password"))
}

#[test]
fn inspection_leaves_large_files_unread_at_the_cap_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    fs::create_dir_all(root.join("etc")).unwrap();
    fs::create_dir_all(root.join("usr/lib")).unwrap();
    fs::write(root.join("etc/passwd"), "root::0:0:root:/root:/bin/sh\n").unwrap();
    // Five 16 MiB files the checks would hold at once: 80 MiB against a 64 MiB cap.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..5 {
        let mut f = fs::File::create(root.join(format!("usr/lib/blob{i}.bin"))).unwrap();
        let mut chunk = vec![0u8; 1 << 20];
        for _ in 0..16 {
            for b in chunk.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
            f.write_all(&chunk).unwrap();
        }
    }

    let free = assess(&root, &tmp.path().join("free"), &[]);
    let fw = &free["subject"]["firmware"];
    assert_eq!(fw["partial"], false);
    assert!(fw["limits_hit"].as_array().unwrap().is_empty());
    assert!(empty_password_failed(&free));

    let capped = assess(&root, &tmp.path().join("capped"), &["--max-memory", "64"]);
    let fw = &capped["subject"]["firmware"];
    assert_eq!(fw["partial"], true);
    let limits: Vec<&str> = fw["limits_hit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert_eq!(limits.len(), 1, "{limits:?}");
    assert!(
        limits[0].contains("not read for inspection") && limits[0].contains("--max-memory"),
        "{limits:?}"
    );
    // Some of the big files were read, not all, and the small one was.
    let unread: u64 = limits[0].split(' ').nth(1).unwrap().parse().unwrap();
    assert!((1..5).contains(&unread), "{limits:?}");
    assert!(empty_password_failed(&capped));
}
