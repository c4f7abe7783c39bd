//! TS 103 701 5.8-3-1a end to end: `assess` on an IP-camera root (an image-sensor module, a
//! digital-microphone codec, `/dev/video0` in a boot script) with and without a user guide. The
//! firmware's sensor inventory is held against what the guide declares
//! (`5.8-3-sensors-declared`).

use std::process::Command;

use iotassure_testkit::inspect::write;
use serde_json::Value;

fn assess(guide: Option<&str>) -> Value {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    write(
        &root,
        "lib/modules/4.9.84/extra/sc2336.ko",
        b"\x7fELF\x01\x01\x01",
    );
    write(
        &root,
        "lib/modules/4.9.84/kernel/sound/soc/codecs/snd-soc-dmic.ko",
        b"\x7fELF\x01\x01\x01",
    );
    write(
        &root,
        "etc/init.d/S90stream",
        "#!/bin/sh\nrtspd -d /dev/video0 -p 554 &\n",
    );
    let out = tmp.path().join("report");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_iotassure"));
    cmd.args(["-q", "assess"]).arg(&root).arg("--out").arg(&out);
    if let Some(text) = guide {
        let p = tmp.path().join("user-guide.txt");
        std::fs::write(&p, text).unwrap();
        cmd.arg("--doc").arg(&p);
    }
    let o = cmd.output().unwrap();
    let text = std::fs::read_to_string(out.join("report.json"))
        .unwrap_or_else(|_| panic!("no report: {}", String::from_utf8_lossy(&o.stderr)));
    serde_json::from_str(&text).unwrap()
}

/// (title, outcome) of each joined finding, and the 5.8-3 verdict.
fn joined(r: &Value) -> (Vec<(String, String)>, String) {
    let fs = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "5.8-3-sensors-declared")
        .map(|f| {
            (
                f["title"].as_str().unwrap().to_string(),
                f["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let v = r["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == "5.8-3")
        .unwrap();
    (fs, v["verdict"].as_str().unwrap().to_string())
}

fn outcome_of<'a>(fs: &'a [(String, String)], kind: &str) -> &'a str {
    let hits: Vec<&(String, String)> = fs.iter().filter(|f| f.0.contains(kind)).collect();
    assert_eq!(hits.len(), 1, "{kind}: {fs:?}");
    &hits[0].1
}

#[test]
fn a_camera_the_guide_leaves_out_fails_5_8_3() {
    let (fs, v) = joined(&assess(Some(
        "Quick start guide\n\nSensors\nThe device has a built-in microphone for two-way audio.\n",
    )));
    assert_eq!(outcome_of(&fs, "camera"), "fail");
    assert_eq!(outcome_of(&fs, "microphone"), "pass");
    assert_eq!(v, "FAIL");
}

#[test]
fn every_sensor_declared_passes_5_8_3() {
    let (fs, v) = joined(&assess(Some(
        "Specifications\nThe device is equipped with a 2 MP camera and a built-in microphone.\n",
    )));
    assert_eq!(outcome_of(&fs, "camera"), "pass");
    assert_eq!(outcome_of(&fs, "microphone"), "pass");
    assert_eq!(v, "PASS");
}

#[test]
fn a_guide_denying_the_sensors_fails() {
    let (fs, v) = joined(&assess(Some(
        "Specifications\nThe device has no camera and no microphone.\n",
    )));
    assert_eq!(fs.len(), 2, "{fs:?}");
    assert!(
        fs.iter().all(|f| f.1 == "fail" && f.0.contains("has no")),
        "{fs:?}"
    );
    assert_eq!(v, "FAIL");
}

#[test]
fn without_documents_the_firmware_sensors_are_inconclusive() {
    let (fs, v) = joined(&assess(None));
    assert_eq!(fs.len(), 2, "{fs:?}");
    assert!(fs.iter().all(|f| f.1 == "inconclusive"), "{fs:?}");
    assert_eq!(v, "INCONCLUSIVE");
}
