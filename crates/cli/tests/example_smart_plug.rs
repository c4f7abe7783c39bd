//! The bundled smart-plug example (examples/smart-plug): it passes the `uk-psti` profile from its
//! firmware image, conformance statement and published documents; its BusyBox component is what
//! the example OSV advisory names; and build.sh rebuilds the committed image.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/smart-plug")
}

/// `iotassure assess IMAGE --ics … --doc … --profile uk-psti`, plus `extra`.
fn assess(image: &Path, extra: &[&str]) -> (Output, Value, tempfile::TempDir) {
    let ex = example();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("report");
    let o = Command::new(env!("CARGO_BIN_EXE_iotassure"))
        .arg("-q")
        .arg("assess")
        .arg(image)
        .arg("--ics")
        .arg(ex.join("smart-plug.ics.yaml"))
        .arg("--doc")
        .arg(ex.join("docs/security.txt"))
        .arg("--doc")
        .arg(ex.join("docs/disclosure-policy.html"))
        .arg("--doc")
        .arg(ex.join("docs/support-period.html"))
        .args(["--profile", "uk-psti", "--out"])
        .arg(&out)
        .args(extra)
        .output()
        .unwrap();
    let text = fs::read_to_string(out.join("report.json")).unwrap_or_else(|e| {
        panic!(
            "no report.json ({e}); exit {:?}\n{}",
            o.status.code(),
            String::from_utf8_lossy(&o.stderr)
        )
    });
    (o, serde_json::from_str(&text).unwrap(), tmp)
}

fn verdict<'a>(r: &'a Value, id: &str) -> &'a Value {
    r["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == id)
        .unwrap_or_else(|| panic!("no verdict {id}"))
}

fn cited<'a>(r: &'a Value, id: &str) -> Vec<&'a Value> {
    verdict(r, id)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &r["findings"][i.as_u64().unwrap() as usize])
        .collect()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// Everything the uk-psti profile needs, checked on one report.
fn assert_passes_uk_psti(o: &Output, r: &Value) {
    assert_eq!(o.status.code(), Some(0), "{}", stderr(o));
    assert_eq!(r["selected_profile"], "uk-psti");
    let p = r["profiles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == "uk-psti")
        .expect("uk-psti roll-up");
    assert_eq!(p["outcome"], "PASS", "{p}");
    for id in ["5.1-1", "5.1-2", "5.2-1", "5.3-13"] {
        let v = verdict(r, id);
        assert_eq!(v["verdict"], "PASS", "{id}: {}", v["reason"]);
    }
    // The published documents decide 5.2-1 and 5.3-13 by evidence, not by the statement.
    for (id, check) in [
        ("5.2-1", "5.2-1-doc-policy"),
        ("5.3-13", "5.3-13-doc-support-period"),
    ] {
        let v = verdict(r, id);
        assert_eq!(v["basis"], "verified", "{id}: {}", v["reason"]);
        assert!(
            cited(r, id)
                .iter()
                .any(|f| f["check"] == check && f["outcome"] == "pass"),
            "{id}: no passing {check} finding"
        );
    }
    assert!(verdict(r, "5.3-13")["reason"]
        .as_str()
        .unwrap()
        .contains("2031-12-31"));
    // 5.1-1 and 5.1-2: no firmware check can show a password is unique per unit (they look for
    // violations; only a live-device probe yields a PASS), so these rest on the statement. The
    // firmware checks ran and found nothing against it: every account in the image is locked.
    for id in ["5.1-1", "5.1-2"] {
        let v = verdict(r, id);
        assert_eq!(v["basis"], "declared", "{id}: {}", v["reason"]);
        assert!(
            v["checks"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c == "5.1-1-fw-accounts"),
            "{id}: the accounts check did not run: {v}"
        );
        let against: Vec<&Value> = cited(r, id)
            .into_iter()
            .filter(|f| f["outcome"] == "fail" || f["outcome"] == "inconclusive")
            .collect();
        assert!(against.is_empty(), "{id}: {against:?}");
    }
    assert_eq!(r["subject"]["product"]["manufacturer"], "Example Plugs Ltd");
    assert_eq!(r["subject"]["product"]["model"], "SP-1 Smart Plug");
}

fn busybox(r: &Value) -> &Value {
    r["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "busybox")
        .unwrap_or_else(|| panic!("no busybox component: {}", r["components"]))
}

#[test]
fn the_smart_plug_passes_uk_psti_from_its_evidence() {
    let (o, r, _t) = assess(&example().join("smart-plug.img"), &[]);
    assert_passes_uk_psti(&o, &r);
    // The component an OSV advisory can name, identified from the firmware itself.
    let bb = busybox(&r);
    assert_eq!(bb["version"], "1.36.1");
    assert_eq!(bb["purl"], "pkg:generic/busybox@1.36.1");
    assert_eq!(bb["cpe"], "cpe:2.3:a:busybox:busybox:1.36.1:*:*:*:*:*:*:*");
    assert_eq!(bb["evidence"][0]["location"]["path"], "/bin/busybox");
    // No built-in advisory or end-of-life rule fails it before the example advisory arrives.
    assert!(
        !r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["check"] == "5.3-8-advisories" && f["outcome"] == "fail"),
        "a known vulnerability before the advisory"
    );
}

#[test]
fn the_example_advisory_hits_its_busybox() {
    let adv = example().join("advisory-osv.json");
    let (o, r, _t) = assess(
        &example().join("smart-plug.img"),
        &["--advisories", adv.to_str().unwrap()],
    );
    // uk-psti does not contain 5.2-3 or 5.3-8: the profile still passes; the advisory shows as
    // a FAIL of those provisions, against the component.
    assert_passes_uk_psti(&o, &r);
    let f = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "5.3-8-advisories" && f["outcome"] == "fail")
        .expect("an advisory finding");
    let title = f["title"].as_str().unwrap();
    assert!(
        title.contains("busybox 1.36.1") && title.contains("GHSA-w9cc-xrp8-ffx4"),
        "{title}"
    );
    assert_eq!(f["severity"], "critical");
    assert!(f["detail"].as_str().unwrap().contains("fixed in 1.37.0"));
    for id in ["5.2-3", "5.3-8"] {
        assert_eq!(verdict(&r, id)["verdict"], "FAIL");
        assert_eq!(verdict(&r, id)["basis"], "verified");
    }
}

fn mksquashfs() -> Option<PathBuf> {
    std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .chain(["/usr/sbin", "/sbin"])
        .map(|d| Path::new(d).join("mksquashfs"))
        .find(|p| p.is_file())
}

#[test]
fn build_sh_rebuilds_an_image_that_passes() {
    let Some(mksquashfs) = mksquashfs() else {
        eprintln!(
            "note: mksquashfs not installed (apt-get install squashfs-tools); rebuild not tested"
        );
        return;
    };
    // Build in a copy, so the committed image is never touched.
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("smart-plug");
    fs::create_dir(&copy).unwrap();
    for item in ["build.sh", "rootfs"] {
        let st = Command::new("cp")
            .arg("-a")
            .arg(example().join(item))
            .arg(&copy)
            .status()
            .unwrap();
        assert!(st.success(), "cp {item}");
    }
    let o = Command::new("bash")
        .arg(copy.join("build.sh"))
        .output()
        .unwrap();
    assert!(o.status.success(), "build.sh failed: {}", stderr(&o));
    let rebuilt = copy.join("smart-plug.img");
    let (o, r, _t) = assess(&rebuilt, &[]);
    assert_passes_uk_psti(&o, &r);
    assert_eq!(busybox(&r)["version"], "1.36.1");
    // The committed image was built with squashfs-tools 4.5.1; with that version the build is
    // byte-for-byte reproducible.
    let version = Command::new(&mksquashfs)
        .arg("-version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
        .unwrap_or_default();
    let same = fs::read(&rebuilt).unwrap() == fs::read(example().join("smart-plug.img")).unwrap();
    if version.contains("mksquashfs version 4.5.1 ") {
        assert!(
            same,
            "build.sh with {version:?} no longer reproduces smart-plug.img: rebuild and commit it"
        );
    } else if !same {
        eprintln!(
            "note: {} differs from the committed image's 4.5.1; the rebuilt image passes",
            version.lines().next().unwrap_or("this mksquashfs")
        );
    }
}
