//! A raw microcontroller image (no container: the flash contents as linked) is firmware and
//! gets a report; bytes that are not firmware still end with exit 2 and say why.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use iotassure_testkit::bin;
use serde_json::Value;

fn assess(dir: &Path, name: &str, bytes: &[u8]) -> (Output, Option<Value>) {
    let image = dir.join(name);
    fs::write(&image, bytes).unwrap();
    let out = dir.join(format!("{name}.report"));
    let o = Command::new(bin())
        .args(["-q", "assess"])
        .arg(&image)
        .arg("--out")
        .arg(&out)
        .args(["--crack-time", "2"])
        .output()
        .unwrap();
    let report = fs::read_to_string(out.join("report.json"))
        .ok()
        .map(|t| serde_json::from_str(&t).unwrap());
    (o, report)
}

/// A Cortex-M image linked at 0x08000000, laid out per the ARMv7-M ARM (B1.5.3): initial SP,
/// Thumb exception vectors into the file, reserved slots zero; then the program's strings.
fn stm32_image() -> Vec<u8> {
    let mut words = [0u32; 16];
    words[0] = 0x2002_0000;
    for i in [1, 2, 3, 4, 5, 6, 11, 12, 14, 15] {
        words[i] = 0x0800_0201;
    }
    let mut d: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    d.resize(0x200, 0);
    d.extend_from_slice(&[0xfe, 0xe7]);
    d.resize(0x400, 0);
    d.extend_from_slice(b"\0*** Booting Zephyr OS build zephyr-v2.2.0-2456-g38970c07abfc ***\0");
    d.resize(0x2000, 0xff);
    d
}

#[test]
fn a_raw_cortex_m_image_is_assessed() {
    let t = tempfile::tempdir().unwrap();
    let (o, r) = assess(t.path(), "zephyr.bin", &stm32_image());
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(matches!(o.status.code(), Some(0 | 1)), "{err}");
    let r = r.expect("a report");
    assert!(
        r["components"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "zephyr" && c["version"] == "2.2.0"),
        "{:#}",
        r["components"]
    );
    let v = r["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == "5.7-1" && v["scheme"] == "en303645")
        .expect("5.7-1");
    // Nothing in a raw flash image authenticates it.
    assert_eq!(v["verdict"], "FAIL", "{v:#}");
    for v in r["verdicts"].as_array().unwrap() {
        if v["verdict"] == "INCONCLUSIVE" {
            assert!(v["reason"].as_str().unwrap_or("").len() > 20, "{v:#}");
        }
    }
}

#[test]
fn text_that_is_no_firmware_still_ends_with_exit_2() {
    let t = tempfile::tempdir().unwrap();
    let (o, r) = assess(
        t.path(),
        "notes.txt",
        &b"    just a text file\n".repeat(200),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(r.is_none());
    assert!(String::from_utf8_lossy(&o.stderr).contains("no known firmware format"));
}
