//! `iotassure emulate` and `iotassure assess --emulate` on the corpus's ARM image (the fastest
//! to come up): the outputs, the `emulation` source, and verdicts that say the evidence came
//! from an emulated device.

use std::process::Command;

use iotassure_testkit::device::{require_root, TempDir};
use iotassure_testkit::{corpus_image, require_tool};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_iotassure"))
}

#[test]
fn emulate_and_assess_emulate_on_the_arm_image() {
    let Some(image) = corpus_image("emux_DV-ARM_rootfs-arm.tar.bz2") else {
        return;
    };
    require_root();
    require_tool("qemu-arm-static", "qemu-user-static");
    let tmp = TempDir::new("cli-emulate");
    let out = tmp.path().join("emu");
    let o = bin()
        .arg("emulate")
        .arg(&image)
        .arg("--out")
        .arg(&out)
        .arg("-q")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        stdout.contains("2 of 2 service(s) up (ARM (32-bit))"),
        "{stdout}"
    );
    let em: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("emulation.json")).unwrap()).unwrap();
    assert_eq!(em["arch"], "arm");
    assert_eq!(em["copy_removed"], true);
    let dropbear = em["services"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["program"] == "dropbear")
        .unwrap();
    assert_eq!(dropbear["up"], true);
    assert_eq!(dropbear["port"], 22);
    let findings: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("findings.json")).unwrap()).unwrap();
    let f = findings.as_array().unwrap();
    assert!(f.iter().all(|x| x["source"] == "emulation"));
    assert!(f.iter().any(|x| x["outcome"] == "fail"
        && x["title"]
            .as_str()
            .unwrap()
            .contains("lets `root` in with no authentication")));
    assert!(out.join("emulation-probe-log.jsonl").is_file());

    let rep = tmp.path().join("rep");
    let o = bin()
        .arg("assess")
        .arg(&image)
        .arg("--emulate")
        .arg("--out")
        .arg(&rep)
        .arg("-q")
        .output()
        .unwrap();
    assert!(
        o.status.code() == Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(rep.join("report.json")).unwrap()).unwrap();
    assert!(r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["source"] == "emulation" && x["outcome"] == "fail"));
    let v = r["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["scheme"] == "en303645" && v["id"] == "5.6-2")
        .unwrap();
    assert_eq!(v["verdict"], "FAIL", "{v}");
    assert!(
        v["reason"].as_str().unwrap().contains("emulated device"),
        "{v}"
    );
    assert!(rep.join("emulation.json").is_file());
}
