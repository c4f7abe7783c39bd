//! `iotassure diff`: a pair the test builds (a fixed and an unfixed root folder) and the real
//! corpus pair (OpenWrt and DD-WRT for the same TL-WR841N v9 hardware).

use std::fs;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_iotassure"))
}

fn root(dir: &Path, shadow: &str) {
    fs::create_dir_all(dir.join("etc")).unwrap();
    fs::write(dir.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    fs::write(dir.join("etc/shadow"), shadow).unwrap();
}

#[test]
fn a_fix_passes_the_gate_and_its_reversal_fails_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (unfixed, fixed) = (tmp.path().join("unfixed"), tmp.path().join("fixed"));
    root(&unfixed, "root::19000:0:99999:7:::\n");
    // SHA-512 crypt of 32 random characters: not in any list, not crackable in the budget.
    root(
        &fixed,
        "root:$6$Qp3ZxK1v$2sD0a0qg1r0Xo5yZlXwX0d3y6m4m3n2b1v0c9x8z7a6s5d4f3g2h1j0k9l8p7o6i5u4y3t2r1e0w9q8a7s6d5f4g3h2j:19000:0:99999:7:::\n",
    );
    let o = bin()
        .arg("diff")
        .arg(&unfixed)
        .arg(&fixed)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "a fix is not a regression: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let d: Value = serde_json::from_slice(&o.stdout).unwrap();
    let v = d["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == "5.1-1")
        .expect("5.1-1 changed");
    assert_eq!(
        (v["old"].as_str(), v["worse"].as_bool()),
        (Some("FAIL"), Some(false)),
        "{v}"
    );
    assert!(d["findings_removed"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["check"] == "5.1-1-fw-accounts"));

    let out = tmp.path().join("gate");
    let o = bin()
        .arg("diff")
        .arg(&fixed)
        .arg(&unfixed)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "the reversal regresses");
    let d: Value = serde_json::from_slice(&fs::read(out.join("diff.json")).unwrap()).unwrap();
    assert!(
        d["regressions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r.as_str().unwrap().starts_with("5.1-1:")),
        "{d}"
    );
    let md = fs::read_to_string(out.join("diff.md")).unwrap();
    assert!(md.contains("**Regressions (") && md.contains("| 5.1-1 | "));
    assert!(fs::read_to_string(out.join("diff.html"))
        .unwrap()
        .contains("Content-Security-Policy"));
}

#[test]
fn the_corpus_pair_shows_component_moves_both_ways() {
    let (Some(old), Some(new)) = (
        iotassure_testkit::corpus_image(
            "openwrt-CC-r45001-freifunk-tl-wr841n-v9-squashfs-factory.bin",
        ),
        iotassure_testkit::corpus_image("ddwrt-tl-wr841nd-v9-factory-to-ddwrt.bin"),
    ) else {
        return;
    };
    let o = bin()
        .arg("diff")
        .arg(&old)
        .arg(&new)
        .args(["--format", "json"])
        .output()
        .unwrap();
    // DD-WRT brings a private key, telnet at boot and a guessable nvram password: a regression.
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let d: Value = serde_json::from_slice(&o.stdout).unwrap();
    let comp = |name: &str| {
        d["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("{name} not in the diff"))
            .clone()
    };
    // Read off the two reports by hand: busybox 1.22.1 → 1.27.2, iptables 1.4.21 → 1.3.7,
    // uhttpd only in OpenWrt, musl only in DD-WRT.
    let b = comp("busybox");
    assert_eq!(
        (b["change"].as_str(), b["old"].as_str(), b["new"].as_str()),
        (Some("upgraded"), Some("1.22.1"), Some("1.27.2"))
    );
    assert_eq!(comp("iptables")["change"], "downgraded");
    assert_eq!(comp("uhttpd")["change"], "removed");
    assert_eq!(comp("musl")["change"], "added");
    let regressions: Vec<&str> = d["regressions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(
        regressions.iter().any(|r| r.contains("RSA PRIVATE KEY")),
        "{regressions:?}"
    );
    // Names the images by file name only, never by the host path.
    assert_eq!(
        d["old"]["firmware"],
        "openwrt-CC-r45001-freifunk-tl-wr841n-v9-squashfs-factory.bin"
    );
    let dir = old.parent().unwrap().display().to_string();
    assert!(!String::from_utf8_lossy(&o.stdout).contains(&dir));
}
