//! `iotassure probe` and `iotassure assess --device/--doc` end to end, against real daemons on
//! loopback addresses of their own and in a network namespace these tests create.

use std::net::{SocketAddr, TcpListener};
use std::process::Command;

use iotassure_testkit::device::{self as fx, Netns, Telnet, Tls};
use iotassure_testkit::{bin, corpus_image};
use serde_json::Value;

fn json(p: &std::path::Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .expect("json")
}

fn verdict<'a>(r: &'a Value, id: &str) -> &'a Value {
    r["verdicts"]
        .as_array()
        .expect("verdicts")
        .iter()
        .find(|v| v["id"] == id && v["scheme"] == "en303645")
        .unwrap_or_else(|| panic!("no verdict {id}"))
}

#[test]
fn dry_run_lists_every_probe_and_sends_nothing() {
    // A listener on the target: a dry run must not connect to it.
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.set_nonblocking(true).expect("nonblocking");
    let port = l.local_addr().expect("addr").port();
    let out = Command::new(bin())
        .args([
            "probe",
            "127.0.0.1",
            "--dry-run",
            "--bruteforce-test",
            "--fuzz",
            "--ports",
        ])
        .arg(port.to_string())
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    for id in [
        "5.6-1-dev-ports",
        "5.6-1-dev-udp",
        "5.6-2-dev-banners",
        "5.5-1-dev-tls",
        "5.5-7-dev-cleartext",
        "5.1-1-dev-default-creds",
        "5.1-5-dev-bruteforce",
        "5.5-4-dev-unauth",
        "5.5-5-dev-unauth-config",
        "5.2-1-dev-security-txt",
        "5.13-1-dev-fuzz",
    ] {
        assert!(text.contains(id), "the plan names {id}:\n{text}");
    }
    assert!(
        text.contains("M-SEARCH * HTTP/1.1\\r\\nHOST: 127.0.0.1:1900"),
        "exact payloads are listed"
    );
    assert!(
        text.contains("admin:admin"),
        "the credentials tried are listed"
    );
    assert!(l.accept().is_err(), "a dry run connected to the target");
    // The same through assess, before any image is read.
    let out = Command::new(bin())
        .args([
            "assess",
            "/nonexistent.bin",
            "--out",
            "/nonexistent-out",
            "--device",
            "127.0.0.1",
            "--dry-run",
        ])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("5.6-1-dev-ports"));
}

#[test]
fn probe_writes_verdicts_and_the_full_log() {
    fx::require_root();
    let host = fx::loopback();
    let _mq = fx::mosquitto(&host, 1883, true);
    let dir = tempfile::tempdir().expect("tmp");
    let outdir = dir.path().join("out");
    let out = Command::new(bin())
        .args(["-q", "probe"])
        .arg(host.ip.to_string())
        .args(["--ports", "1883", "--no-udp", "--out"])
        .arg(&outdir)
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(1),
        "the profile fails: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let r = json(&outdir.join("report.json"));
    assert_eq!(r["subject"]["device"], host.ip.to_string());
    let v = verdict(&r, "5.5-4");
    assert_eq!(v["verdict"], "FAIL", "{v}");
    let log = std::fs::read_to_string(outdir.join("probe-log.jsonl")).expect("probe log");
    let entries: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).expect("jsonl"))
        .collect();
    assert!(
        entries
            .iter()
            .any(|e| e["dir"] == "sent" && e["data"].as_str().unwrap_or("").contains("MQTT\\x04")),
        "the CONNECT bytes are logged exactly"
    );
    assert!(entries.iter().all(|e| e["host"] == host.ip.to_string()));
    let p = json(&outdir.join("probe.json"));
    assert_eq!(p["scan"]["open"], serde_json::json!([1883]));
    assert!(outdir.join("report.md").is_file() && outdir.join("report.html").is_file());
}

#[test]
fn assess_merges_firmware_device_and_documents() {
    let Some(image) = corpus_image("tplink-tl-wr841n-v14-2023-rootfs.squashfs") else {
        return;
    };
    // The "device": a namespace at 10.250.0.2 running the insecure daemons.
    let ns = Netns::new(0);
    let dev = ns.device();
    assert_eq!(dev.ip.to_string(), "10.250.0.2");
    let _t = fx::telnetd(&dev, 23, Telnet::Weak);
    let _w = fx::lighttpd(&dev, 80, true);
    let _m = fx::mosquitto(&dev, 1883, true);
    let _s = fx::s_server(&dev, 443, Tls::Tls10Rsa1024Sha1);
    let dir = tempfile::tempdir().expect("tmp");
    let doc = dir.path().join("security.txt");
    std::fs::write(&doc, "Contact: mailto:psirt@example.invalid\nExpires: 2099-01-01T00:00:00.000Z\nPolicy: https://example.invalid/disclosure\n").expect("doc");
    let outdir = dir.path().join("report");
    let out = Command::new(bin())
        .args(["-q", "assess"])
        .arg(&image)
        .args(["--device", "10.250.0.2", "--max-attempts", "8", "--doc"])
        .arg(&doc)
        .arg("--out")
        .arg(&outdir)
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.code() == Some(1),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = json(&outdir.join("report.json"));
    assert_eq!(r["subject"]["device"], "10.250.0.2");
    assert!(
        r["subject"]["firmware"].is_object(),
        "firmware evidence in the same report"
    );
    let docs: Vec<&str> = r["subject"]["documents"]
        .as_array()
        .expect("documents")
        .iter()
        .filter_map(|d| d.as_str())
        .collect();
    assert!(
        docs.iter()
            .any(|d| d.ends_with("security.txt") && !d.starts_with("http")),
        "the --doc file: {docs:?}"
    );
    assert!(
        docs.iter()
            .any(|d| d.starts_with("http://10.250.0.2:80/.well-known/security.txt")),
        "the device's own security.txt: {docs:?}"
    );
    let findings = r["findings"].as_array().expect("findings");
    let by_source = |s: &str| findings.iter().filter(|f| f["source"] == s).count();
    assert!(
        by_source("firmware") > 0 && by_source("device") > 0,
        "firmware and device findings in one report"
    );
    // 5.1-1 is decided by both: admin:1234 cracked in the image, admin:admin accepted live.
    let v = verdict(&r, "5.1-1");
    assert_eq!(v["verdict"], "FAIL");
    let sources: std::collections::BTreeSet<&str> = v["findings"]
        .as_array()
        .expect("idx")
        .iter()
        .filter_map(|i| findings[i.as_u64().unwrap_or(0) as usize]["source"].as_str())
        .collect();
    assert!(
        sources.contains("firmware") && sources.contains("device"),
        "5.1-1 rests on both sources: {sources:?}"
    );
    // Verdicts only the device can give.
    for id in ["5.5-1", "5.5-4", "5.6-2"] {
        let v = verdict(&r, id);
        assert_eq!(v["verdict"], "FAIL", "{id}: {v}");
        assert!(
            v["findings"]
                .as_array()
                .expect("idx")
                .iter()
                .any(|i| findings[i.as_u64().unwrap_or(0) as usize]["source"] == "device"),
            "{id} decided by device evidence"
        );
    }
    assert!(outdir.join("probe-log.jsonl").is_file());
    let p = json(&outdir.join("probe.json"));
    assert_eq!(p["scan"]["ports_scanned"], 65535);
    assert_eq!(
        p["scan"]["open"],
        serde_json::json!([23, 80, 443, 1883]),
        "a full scan of the namespace finds exactly its daemons"
    );
    let _ = SocketAddr::new(dev.ip, 80);
}

#[test]
fn other_unit_report_turns_a_shared_host_key_into_a_5_4_3_fail() {
    fx::require_root();
    let keys = fx::TempDir::new("unit-key");
    let shared = keys.path().join("host_key");
    fx::dropbear_key(&shared);
    let (h1, h2) = (fx::loopback(), fx::loopback());
    let _a = fx::dropbear_keyed(&h1, 22, false, Some(&shared));
    let _b = fx::dropbear_keyed(&h2, 22, false, Some(&shared));
    let dir = tempfile::tempdir().expect("tmp");
    let probe = |ip: &str, out: &std::path::Path, extra: &[&str]| {
        Command::new(bin())
            .args(["-q", "probe", ip, "--ports", "22", "--no-udp", "--out"])
            .arg(out)
            .args(extra)
            .output()
            .expect("run")
    };
    let first = dir.path().join("unit-a");
    probe(&h1.ip.to_string(), &first, &[]);
    let r = json(&first.join("report.json"));
    assert_ne!(verdict(&r, "5.4-3")["verdict"], "FAIL", "one unit alone");
    let second = dir.path().join("unit-b");
    let report = first.join("report.json");
    let o = probe(
        &h2.ip.to_string(),
        &second,
        &["--other-unit", report.to_str().unwrap()],
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r = json(&second.join("report.json"));
    let v = verdict(&r, "5.4-3");
    assert_eq!(v["verdict"], "FAIL", "{v}");
    assert!(
        v["reason"]
            .as_str()
            .unwrap()
            .contains("same on another unit"),
        "{v}"
    );
    // Not a report: a clear error before anything is sent.
    let bogus = dir.path().join("bogus.json");
    std::fs::write(&bogus, "{}").unwrap();
    let o = probe(
        &h2.ip.to_string(),
        &dir.path().join("unit-c"),
        &["--other-unit", bogus.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no key fingerprints"));
}
