//! Images that unpack to no Linux system (an RTOS or bare-metal program in a compressed
//! stream, or just a small payload) end with a report, not with exit 2 and "nothing to
//! inspect". The report holds what the program itself shows, and every INCONCLUSIVE says why.
//! A raw microcontroller image (no container: the flash contents as linked) is firmware too;
//! bytes that are not firmware still end with exit 2 and say why.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use iotassure_testkit::{bin, require_tool};
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

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr)
        .chars()
        .take(3000)
        .collect()
}

/// `xz --format=lzma`: the LZMA "alone" stream RTOS images ship in.
fn lzma_alone(data: &[u8], dir: &Path) -> Vec<u8> {
    let xz = require_tool("xz", "xz-utils");
    let p = dir.join("payload");
    fs::write(&p, data).unwrap();
    let o = Command::new(xz)
        .args(["--format=lzma", "-k", "-c"])
        .arg(&p)
        .output()
        .unwrap();
    assert!(o.status.success());
    o.stdout
}

/// Code-like bytes (a fixed xorshift stream) with the strings of a ThreadX camera program.
fn rtos_program() -> Vec<u8> {
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut code: Vec<u8> = (0..48_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    let strings: &[&str] = &[
        "Copyright (c) 1996-2018 Express Logic Inc. * ThreadX Cortex-M4/GNU Version G5.8.5.0 SN: 3535-007-0501 *",
        "tx_thread_create",
        "Password:",
        "s3cr3tPassw0rd",
        "camera_main",
    ];
    let mut blob = Vec::new();
    for s in strings {
        blob.extend_from_slice(s.as_bytes());
        blob.push(0);
    }
    code.splice(20_000..20_000, blob);
    code
}

fn verdict<'a>(r: &'a Value, id: &str) -> &'a Value {
    r["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == id && v["scheme"] == "en303645")
        .unwrap_or_else(|| panic!("no verdict {id}"))
}

fn every_inconclusive_says_why(r: &Value) {
    for v in r["verdicts"].as_array().unwrap() {
        if v["verdict"] == "INCONCLUSIVE" {
            let why = v["reason"].as_str().unwrap_or("");
            assert!(why.len() > 20, "{} INCONCLUSIVE without a reason", v["id"]);
        }
    }
}

#[test]
fn an_rtos_program_in_an_lzma_stream_is_assessed() {
    let t = tempfile::tempdir().unwrap();
    let img = lzma_alone(&rtos_program(), t.path());
    let (o, r) = assess(t.path(), "rtos.lzma", &img);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
    let r = r.expect("a report");
    // The decompressed program was judged as the device's software: its password beside a
    // prompt is found, and a checksum-only image fails 5.7-1.
    let f11 = verdict(&r, "5.1-1");
    assert_eq!(f11["verdict"], "FAIL", "{f11:#}");
    assert!(f11.to_string().contains("s3cr3tPassw0rd"), "{f11:#}");
    assert_eq!(verdict(&r, "5.7-1")["verdict"], "FAIL");
    // The RTOS is named, with its version, and judged for 5.6-7: one privilege level.
    assert!(
        r["components"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "threadx" && c["version"] == "5.8.5.0"),
        "{:#}",
        r["components"]
    );
    let f67 = verdict(&r, "5.6-7");
    assert_eq!(f67["verdict"], "FAIL", "{f67:#}");
    every_inconclusive_says_why(&r);
}

#[test]
fn an_image_with_nothing_for_the_checks_still_gets_a_report() {
    // A gzip stream holding a short note: it unpacks, but holds no program. Before, this ended
    // in exit 2, "nothing to inspect".
    let t = tempfile::tempdir().unwrap();
    let gzip = require_tool("gzip", "gzip");
    let p = t.path().join("note.txt");
    fs::write(&p, "device note: nothing here\n").unwrap();
    let o = Command::new(gzip)
        .args(["-c", "-n"])
        .arg(&p)
        .output()
        .unwrap();
    let (o, r) = assess(t.path(), "note.gz", &o.stdout);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
    let r = r.expect("a report");
    assert!(r["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .all(|v| v["verdict"] != "FAIL" && v["verdict"] != "PASS"));
    every_inconclusive_says_why(&r);
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
