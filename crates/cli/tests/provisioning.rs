//! TS 103 701 5.4-3-2a end to end: `assess` on a root folder with keys laid out as a device's,
//! and a statement whose IXIT declares how each security parameter is provisioned
//! (`ixit.security_parameters`). The real key check finds the keys; the verdict engine holds
//! them against the declarations (`5.4-3-ixit-provisioning`).

use std::path::{Path, PathBuf};
use std::process::Command;

use iotassure_testkit::inspect::write;
use serde_json::Value;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/demo-router")
}

/// A root with a TLS key shipped in the image and an empty SSH host key placeholder.
fn rootfs(dir: &Path) -> PathBuf {
    let root = dir.join("rootfs");
    let key = std::fs::read(examples().join("rootfs/etc/server.key")).unwrap();
    write(&root, "etc/ssl/private/device.key", key);
    write(&root, "etc/dropbear/dropbear_rsa_host_key", "");
    write(
        &root,
        "etc/passwd",
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n",
    );
    write(&root, "etc/shadow", "root:*:19000:0:99999:7:::\n");
    root
}

/// The demo router's statement, with `params` (YAML list items) as its security parameters.
fn statement(dir: &Path, params: &str) -> PathBuf {
    let text = std::fs::read_to_string(examples().join("demo-router.ics.yaml")).unwrap();
    let text = if params.is_empty() {
        text
    } else {
        text.replacen(
            "ixit:\n",
            &format!("ixit:\n  security_parameters:\n{params}"),
            1,
        )
    };
    let p = dir.join("statement.yaml");
    std::fs::write(&p, text).unwrap();
    p
}

fn assess(params: &str) -> (Value, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let root = rootfs(tmp.path());
    let ics = statement(tmp.path(), params);
    let out = tmp.path().join("report");
    let o = Command::new(env!("CARGO_BIN_EXE_iotassure"))
        .args(["-q", "assess"])
        .arg(&root)
        .arg("--ics")
        .arg(&ics)
        .arg("--out")
        .arg(&out)
        .args(["--crack-time", "1"])
        .output()
        .unwrap();
    let text = std::fs::read_to_string(out.join("report.json"))
        .unwrap_or_else(|_| panic!("no report; stderr: {}", String::from_utf8_lossy(&o.stderr)));
    (serde_json::from_str(&text).unwrap(), tmp)
}

fn judged(r: &Value) -> Vec<&Value> {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "5.4-3-ixit-provisioning")
        .collect()
}

fn one<'a>(fs: &[&'a Value], name: &str) -> &'a Value {
    let hits: Vec<&&Value> = fs
        .iter()
        .filter(|f| f["title"].as_str().unwrap().starts_with(name))
        .collect();
    assert_eq!(hits.len(), 1, "one finding for {name}: {fs:#?}");
    hits[0]
}

#[test]
fn a_per_device_key_in_the_image_fails_and_a_placeholder_passes() {
    let (r, _tmp) = assess(
        "    - { name: \"web TLS key\", kind: tls_key, provisioning: per_device, path: /etc/ssl/private/device.key }\n    - { name: \"SSH host key\", kind: ssh_host_key, provisioning: per_device, path: /etc/dropbear/dropbear_rsa_host_key }\n    - { name: \"cloud token\", kind: token, provisioning: per_device }\n    - { name: \"admin password\", kind: password, provisioning: user_set }\n",
    );
    let fs = judged(&r);
    let tls = one(&fs, "web TLS key");
    assert_eq!(tls["outcome"], "fail", "{tls:#?}");
    assert_eq!(tls["source"], "firmware");
    let cites: Vec<&str> = tls["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["location"]["path"].as_str())
        .collect();
    assert_eq!(cites, ["/etc/ssl/private/device.key"]);
    assert!(tls["detail"].as_str().unwrap().contains("contradicted"));
    // The declaration is cited at its line in the statement.
    assert!(tls["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["location"]["kind"] == "statement" && e["location"]["line"].as_u64().is_some()));

    let ssh = one(&fs, "SSH host key");
    assert_eq!(ssh["outcome"], "pass", "{ssh:#?}");
    assert!(ssh["title"].as_str().unwrap().contains("placeholder"));
    // Tokens are recognised only in known providers' formats: not finding one proves nothing.
    let token = one(&fs, "cloud token");
    assert_eq!(token["outcome"], "inconclusive", "{token:#?}");
    let pw = one(&fs, "admin password");
    assert_eq!(pw["outcome"], "inconclusive", "{pw:#?}");

    let v = r["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == "5.4-3")
        .unwrap();
    assert_eq!(v["verdict"], "FAIL");
    let cited: Vec<&Value> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &r["findings"][i.as_u64().unwrap() as usize])
        .collect();
    assert!(
        cited.contains(&tls),
        "5.4-3 cites the judged finding: {v:#?}"
    );
}

#[test]
fn a_per_model_declaration_admits_the_hard_coded_key_and_still_fails() {
    let (r, _tmp) =
        assess("    - { name: \"web TLS key\", kind: tls_key, provisioning: per_model }\n");
    let fs = judged(&r);
    let tls = one(&fs, "web TLS key");
    assert_eq!(tls["outcome"], "fail");
    assert!(tls["detail"]
        .as_str()
        .unwrap()
        .contains("itself declares it shared"));
}

#[test]
fn without_declared_parameters_the_unit_is_inconclusive_with_the_reason() {
    let (r, _tmp) = assess("");
    let fs = judged(&r);
    assert_eq!(fs.len(), 1, "{fs:#?}");
    assert_eq!(fs[0]["outcome"], "inconclusive");
    assert!(fs[0]["detail"]
        .as_str()
        .unwrap()
        .contains("ixit.security_parameters"));
}
