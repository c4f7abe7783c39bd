//! The small subcommands: catalog, ics, report. Their output is what users and scripts read.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::{json, Value};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_iotassure"))
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn example(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/demo-router")
        .join(name)
}

#[test]
fn catalog_list_show_and_exports() {
    let list = ok(&bin().args(["catalog", "list"]).output().unwrap());
    assert!(
        list.contains("5.1-1")
            && list.contains("M C(1)")
            && list.contains("68 provisions (33 mandatory, 35 recommended)")
    );
    let show = ok(&bin().args(["catalog", "show", "5.1-1"]).output().unwrap());
    assert!(
        show.contains("Condition 1: Passwords are used.")
            && show.contains("UK CoP")
            && show.contains("OWASP")
    );
    let tec = ok(&bin()
        .args(["catalog", "show", "TEC-3-rollback"])
        .output()
        .unwrap());
    assert!(tec.contains("Own requirement of tec"));
    let json: Value = serde_json::from_str(&ok(&bin()
        .args(["catalog", "export", "--format", "json"])
        .output()
        .unwrap()))
    .unwrap();
    assert_eq!(json["provisions"].as_array().unwrap().len(), 68);
    let oscal: Value = serde_json::from_str(&ok(&bin()
        .args(["catalog", "export", "--format", "oscal"])
        .output()
        .unwrap()))
    .unwrap();
    assert_eq!(oscal["catalog"]["metadata"]["oscal-version"], "1.1.2");
    let bad = bin().args(["catalog", "show", "9.9-9"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("catalog list"));
}

#[test]
fn ics_init_check_export() {
    let t = tempfile::tempdir().unwrap();
    let tpl = t.path().join("ics.yaml");
    ok(&bin()
        .args(["ics", "init", "--out"])
        .arg(&tpl)
        .output()
        .unwrap());
    // A fresh template is not yet valid: exit 1, with located errors.
    let o = bin().args(["ics", "check"]).arg(&tpl).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("5.1-1: support is not stated")
            && err.contains(&format!("{}:", tpl.display()))
    );

    let ex = example("demo-router.ics.yaml");
    let out = ok(&bin().args(["ics", "check"]).arg(&ex).output().unwrap());
    assert!(out.contains("valid (68 provisions stated"));
    let md = ok(&bin()
        .args(["ics", "export"])
        .arg(&ex)
        .args(["--format", "md"])
        .output()
        .unwrap());
    assert!(md.starts_with("| Clause | Provision |") && md.contains("| 5.7 | 5.7-1 "));
    let csv = ok(&bin()
        .args(["ics", "export"])
        .arg(&ex)
        .args(["--format", "csv"])
        .output()
        .unwrap());
    assert_eq!(csv.lines().count(), 69);

    // An unknown field: invalid (exit 1; 2 is only for a file that cannot be read), with line
    // and column.
    let broken = t.path().join("broken.yaml");
    fs::write(
        &broken,
        fs::read_to_string(&ex)
            .unwrap()
            .replacen("    detail:", "    detials:", 1),
    )
    .unwrap();
    let o = bin().args(["ics", "check"]).arg(&broken).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("unknown field `detials`") && err.contains("broken.yaml:"),
        "{err}"
    );
}

#[test]
fn ics_init_from_a_report_prefills_inferred_facts_and_report_rerenders() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("r");
    let o = bin()
        .args(["-q", "assess"])
        .arg(example("demo-router.img"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let report = out.join("report.json");
    let tpl = ok(&bin()
        .args(["ics", "init", "--from"])
        .arg(&report)
        .output()
        .unwrap());
    assert!(
        tpl.contains("  passwords_used: true    # inferred: "),
        "{tpl}"
    );
    assert!(tpl.contains("  update_mechanism: true    # inferred: "));
    assert!(tpl.contains("  telemetry_collected: null"));

    let html = ok(&bin()
        .args(["report", "render"])
        .arg(&report)
        .args(["--format", "html"])
        .output()
        .unwrap());
    assert!(html.starts_with("<!DOCTYPE html>"));
    let b1 = ok(&bin()
        .args(["report", "render"])
        .arg(&report)
        .args(["--format", "b1"])
        .output()
        .unwrap());
    assert_eq!(b1.lines().count(), 2 + 68);
    let schema: Value =
        serde_json::from_str(&ok(&bin().args(["report", "schema"]).output().unwrap())).unwrap();
    assert!(schema["properties"]["verdicts"].is_object());
}

#[test]
fn help_teaches() {
    let h = ok(&bin().arg("--help").output().unwrap());
    for cmd in ["assess", "unpack", "probe", "ics", "catalog", "report"] {
        assert!(h.contains(cmd), "{cmd} missing from --help");
    }
    let a = ok(&bin().args(["assess", "--help"]).output().unwrap());
    assert!(a.contains("Exit status") && a.contains("--ics") && a.contains("--profile"));
}

#[test]
fn unpack_refuses_a_used_folder_unless_forced_and_never_removes_the_image() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x");
    let img = example("demo-router.img");
    let unpack = |extra: &[&str], image: &Path| {
        bin()
            .args(["-q", "unpack"])
            .arg(image)
            .arg("--out")
            .arg(&out)
            .args(extra)
            .output()
            .unwrap()
    };
    let first = ok(&unpack(&[], &img));
    assert!(first.contains("root filesystem"), "{first}");
    let again = unpack(&[], &img);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force replaces it"));
    ok(&unpack(&["--force"], &img));
    assert!(out.join("manifest.json").is_file());
    // An image inside the folder --force would remove is refused, and stays.
    let inside = out.join("copy.img");
    fs::copy(&img, &inside).unwrap();
    let o = unpack(&["--force"], &inside);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("holds the input"));
    assert!(inside.is_file(), "the image was removed");
}

/// An I/O error names the file and gives the OS reason once (it used to be repeated, once from
/// the library's message and once from its source).
#[test]
fn io_errors_name_the_file_and_say_the_reason_once() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("missing.bin");
    let img = example("../smart-plug/smart-plug.img");
    for args in [
        vec![
            "unpack".to_string(),
            missing.display().to_string(),
            "--out".into(),
            tmp.path().join("o1").display().to_string(),
        ],
        vec![
            "assess".to_string(),
            img.display().to_string(),
            "--advisories".into(),
            missing.display().to_string(),
            "--out".into(),
            tmp.path().join("o2").display().to_string(),
        ],
    ] {
        let o = bin().args(&args).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        let line = err.lines().find(|l| l.starts_with("error: ")).unwrap();
        assert!(line.contains(&missing.display().to_string()), "{line}");
        assert_eq!(line.matches("(os error 2)").count(), 1, "{line}");
    }
}

fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xEDB8_8320
            } else {
                c >> 1
            };
        }
    }
    !c
}

/// The unpack table shows names from the image (a uImage header's name here): a terminal escape
/// in one is shown as text, never sent to the terminal.
#[test]
fn unpack_table_escapes_names_from_the_image() {
    let tmp = tempfile::tempdir().unwrap();
    let payload = b"raw kernel bytes, nothing compressed".repeat(4);
    let mut h = vec![0u8; 64];
    h[0..4].copy_from_slice(&0x2705_1956u32.to_be_bytes());
    h[12..16].copy_from_slice(&(payload.len() as u32).to_be_bytes());
    h[24..28].copy_from_slice(&crc32(&payload).to_be_bytes());
    h[28] = 5; // Linux
    h[29] = 5; // MIPS
    h[30] = 2; // kernel
    h[31] = 0; // no compression
    let name = b"\x1b]0;pwned\x07\x1b[2Jk";
    h[32..32 + name.len()].copy_from_slice(name);
    let hcrc = crc32(&h);
    h[4..8].copy_from_slice(&hcrc.to_be_bytes());
    let img = tmp.path().join("uimage.bin");
    fs::write(&img, [h, payload].concat()).unwrap();
    let o = bin()
        .args(["-q", "unpack"])
        .arg(&img)
        .arg("--out")
        .arg(tmp.path().join("out"))
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("uImage header"), "{out}");
    assert!(!out.contains('\u{1b}'), "{out:?}");
    assert!(out.contains("\\u{1b}]0;pwned"), "{out}");
}

/// `report schema` is closed and versioned: a real report validates (Python's `jsonschema`,
/// draft 7), and one with an unknown member, a misspelt verdict field or another major version
/// does not.
#[test]
fn report_schema_is_closed_and_real_reports_validate() {
    let python = Command::new("python3")
        .args(["-c", "import jsonschema"])
        .output();
    if !python.is_ok_and(|o| o.status.success()) {
        assert!(
            std::env::var("CI").is_err(),
            "CI must have python3 with jsonschema (.ci/setup.d/python.sh)"
        );
        eprintln!("skipped: python3 jsonschema not installed");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let schema = tmp.path().join("schema.json");
    fs::write(
        &schema,
        ok(&bin().args(["report", "schema"]).output().unwrap()),
    )
    .unwrap();
    let s: Value = serde_json::from_slice(&fs::read(&schema).unwrap()).unwrap();
    assert_eq!(s["$id"], "https://iotassure.dev/schema/report/v1.json");
    let out = tmp.path().join("out");
    let o = bin()
        .args(["-q", "assess"])
        .arg(example("../smart-plug/smart-plug.img"))
        .arg("--ics")
        .arg(example("../smart-plug/smart-plug.ics.yaml"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.code().is_some_and(|c| c < 2));
    let script = r#"
import json, sys, jsonschema
s = json.load(open(sys.argv[1])); r = json.load(open(sys.argv[2]))
v = jsonschema.Draft7Validator(s)
def errors(doc): return len(list(v.iter_errors(doc)))
print(errors(r))
a = json.loads(json.dumps(r)); a["bogus"] = 1; print(errors(a))
b = json.loads(json.dumps(r)); b["verdicts"][0]["verdcit"] = "PASS"; print(errors(b))
c = json.loads(json.dumps(r)); c["schema_version"] = "2.0"; print(errors(c))
"#;
    let v = Command::new("python3")
        .args(["-c", script])
        .arg(&schema)
        .arg(out.join("report.json"))
        .output()
        .unwrap();
    let counts = String::from_utf8_lossy(&v.stdout);
    let n: Vec<usize> = counts.lines().map(|l| l.trim().parse().unwrap()).collect();
    assert_eq!(
        n[0],
        0,
        "the real report validates: {}",
        String::from_utf8_lossy(&v.stderr)
    );
    assert!(
        n[1..].iter().all(|&e| e > 0),
        "tampered reports are refused: {n:?}"
    );
}

/// What a lab hands over: a front page (report id, lab, client, scope, limitations, a date
/// without fractions), a declared PASS that never looks like a verified one, a justified
/// recommendation shown as JUSTIFIED (not FAIL) everywhere, findings numbered as read, and a
/// console line that keeps the profile's counts apart from the whole standard's.
#[test]
fn reports_separate_declared_justified_and_verified() {
    let tmp = tempfile::tempdir().unwrap();
    let sp = |n: &str| example(&format!("../smart-plug/{n}"));
    let out = tmp.path().join("out");
    let o = bin()
        .args(["assess"])
        .arg(sp("smart-plug.img"))
        .arg("--ics")
        .arg(sp("smart-plug.ics.yaml"))
        .args([
            "--profile",
            "uk-psti",
            "--lab",
            "Test Lab <A>",
            "--client",
            "Example Plugs Ltd",
        ])
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let console = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{console}");
    let first = console.lines().next().unwrap();
    assert!(
        first.contains("profile uk-psti PASS (4 provisions: "),
        "{first}"
    );
    assert!(
        first.contains("— all 68 EN 303 645 provisions: "),
        "{first}"
    );
    assert!(first.contains(" 0 FAIL, 3 JUSTIFIED"), "{first}");
    assert!(console.contains("  JUSTIFIED 5.7-1"), "{console}");
    assert!(
        !console.lines().any(|l| l.trim_start().starts_with("FAIL")),
        "{console}"
    );

    let json: Value = serde_json::from_slice(&fs::read(out.join("report.json")).unwrap()).unwrap();
    let at = json["generated_at"].as_str().unwrap();
    assert!(at.ends_with('Z') && !at.contains('.'), "{at}");
    assert_eq!(json["engagement"]["lab"], "Test Lab <A>");
    assert!(json["engagement"]["report_id"]
        .as_str()
        .unwrap()
        .starts_with("IOTA-"));

    let md = fs::read_to_string(out.join("report.md")).unwrap();
    let row = |id: &str| {
        md.lines()
            .find(|l| l.starts_with(&format!("| {id} ")))
            .unwrap()
            .to_string()
    };
    assert!(
        row("5.7-1").contains("| **JUSTIFIED** |"),
        "{}",
        row("5.7-1")
    );
    let declared: Vec<String> = md
        .lines()
        .filter(|l| l.contains("| PASS (declared) |"))
        .map(str::to_string)
        .collect();
    assert!(!declared.is_empty());
    assert!(
        declared.iter().all(|l| l.contains("| declared |")),
        "{declared:?}"
    );
    assert!(md.contains("## Limitations") && md.contains("rest on the maker's declaration alone"));
    assert!(
        md.contains("### [1] "),
        "findings numbered from 1 in reading order"
    );

    let html = fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("Test Lab &#60;A&#62;"),
        "the lab's name is escaped"
    );
    assert!(html.contains(r#"<span class="badge declared">PASS (declared)</span>"#));
    assert!(html.contains(r#"<span class="badge justified">JUSTIFIED</span>"#));
    assert!(html.contains("thead { display: table-header-group; }"));
    assert!(html.contains(" UTC</td>"));
    // Every reference from a verdict row leads to a numbered finding, numbered in reading order.
    let anchors: Vec<usize> = html
        .match_indices(r#"<div class="finding"#)
        .map(|(i, _)| {
            let id = &html[i..].split("id=\"f").nth(1).unwrap();
            id[..id.find('"').unwrap()].parse().unwrap()
        })
        .collect();
    assert_eq!(anchors, (1..=anchors.len()).collect::<Vec<_>>());
    for (i, _) in html.match_indices("<a href=\"#f") {
        let n: usize = html[i + 11..].split('"').next().unwrap().parse().unwrap();
        assert!((1..=anchors.len()).contains(&n));
    }
}

/// A root folder with one file and one folder the user cannot read: both are problems in the
/// report naming them, the rest is assessed, the report is PARTIAL. Run as `nobody` (setpriv)
/// when the tests run as root, since root reads everything.
#[test]
fn an_unreadable_file_in_a_root_folder_is_a_problem_not_the_end() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o777)).unwrap();
    let root = tmp.path().join("root");
    fs::create_dir_all(root.join("etc")).unwrap();
    fs::create_dir_all(root.join("secret")).unwrap();
    fs::write(root.join("etc/shadow"), "root::0:0:99999:7:::\n").unwrap();
    fs::write(root.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    fs::write(root.join("etc/locked.conf"), "x").unwrap();
    fs::set_permissions(
        root.join("etc/locked.conf"),
        fs::Permissions::from_mode(0o000),
    )
    .unwrap();
    fs::set_permissions(root.join("secret"), fs::Permissions::from_mode(0o000)).unwrap();
    let out = tmp.path().join("out");
    let as_root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
    let mut cmd = if as_root {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]);
        c.arg(env!("CARGO_BIN_EXE_iotassure"));
        c
    } else {
        bin()
    };
    let o = cmd
        .args(["-q", "assess"])
        .arg(&root)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "assessed, not aborted: {err}");
    let r: Value = serde_json::from_slice(&fs::read(out.join("report.json")).unwrap()).unwrap();
    let fw = &r["subject"]["firmware"];
    assert_eq!(fw["partial"], true);
    let problems: Vec<&str> = fw["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["message"].as_str().unwrap())
        .collect();
    assert!(
        problems
            .iter()
            .any(|m| m.contains("etc/locked.conf") && m.contains("cannot read this file")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|m| m.contains("/secret") && m.contains("cannot list this folder")),
        "{problems:?}"
    );
    // The readable rest was inspected: root's empty password is found.
    assert!(
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["check"] == "5.1-1-fw-accounts" && f["outcome"] == "fail"),
        "the shadow file was still read"
    );
}

/// report.pdf: the HTML report printed by headless Chromium, read back with pdftotext — a
/// front page, the summary, table B.1 and the findings, on several pages; without a browser, a
/// clear error and no file.
#[test]
fn report_pdf_holds_the_report_and_needs_a_browser() {
    let have = |tool: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !(have("chromium") && have("pdftotext")) {
        assert!(
            std::env::var("CI").is_err(),
            "CI must have chromium and poppler-utils"
        );
        eprintln!("skipped: chromium or pdftotext not installed");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = bin()
        .args(["-q", "assess"])
        .arg(example("../smart-plug/smart-plug.img"))
        .arg("--ics")
        .arg(example("../smart-plug/smart-plug.ics.yaml"))
        .args(["--report-id", "LAB-2026-0042", "--format", "pdf", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        o.status.code().is_some_and(|c| c < 2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let pdf = out.join("report.pdf");
    assert!(fs::read(&pdf).unwrap().starts_with(b"%PDF-"));
    let text = Command::new("pdftotext")
        .args(["-layout"])
        .arg(&pdf)
        .arg("-")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    for want in [
        "LAB-2026-0042",
        "Limitations",
        "Table B.1 with verdicts",
        "Findings",
        "5.1-1",
    ] {
        assert!(text.contains(want), "{want} not in the PDF");
    }
    let info = Command::new("pdfinfo").arg(&pdf).output().unwrap();
    let pages: usize = String::from_utf8_lossy(&info.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("Pages:").map(|n| n.trim().parse().unwrap()))
        .unwrap();
    assert!(pages >= 3, "paginated: {pages} pages");
    // The cover page stands alone: the summary starts on page 2.
    let first = Command::new("pdftotext")
        .args(["-f", "1", "-l", "1"])
        .arg(&pdf)
        .arg("-")
        .output()
        .unwrap();
    let first = String::from_utf8_lossy(&first.stdout);
    assert!(
        first.contains("LAB-2026-0042") && !first.contains("Verdicts per clause"),
        "{first}"
    );

    let o = bin()
        .args(["report", "render"])
        .arg(out.join("report.json"))
        .args(["--format", "pdf", "--out"])
        .arg(tmp.path().join("x.pdf"))
        .env("IOTASSURE_CHROMIUM", "/nonexistent/chromium")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/chromium"));
    assert!(!tmp.path().join("x.pdf").exists());
}

/// `--sbom-in`: the maker's SBOM held against the firmware of a real image (the OpenWrt corpus
/// image). Built from the SBOM iotassure itself writes for that image, minus one component and
/// with another's version changed: exactly those two are findings, in CycloneDX and in SPDX.
#[test]
fn a_makers_sbom_that_omits_or_misstates_a_component_is_a_finding() {
    let Some(img) = iotassure_testkit::corpus_image(
        "openwrt-CC-r45001-freifunk-tl-wr841n-v9-squashfs-factory.bin",
    ) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let assess = |out: &str, extra: &[&std::ffi::OsStr]| {
        let o = bin()
            .args(["-q", "assess"])
            .arg(&img)
            .args(extra)
            .arg("--out")
            .arg(tmp.path().join(out))
            .output()
            .unwrap();
        assert!(
            o.status.code().is_some_and(|c| c < 2),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let r: Value =
            serde_json::from_slice(&fs::read(tmp.path().join(out).join("report.json")).unwrap())
                .unwrap();
        r
    };
    let base = assess("base", &["--format".as_ref(), "spdx".as_ref()]);
    let fails = |r: &Value| -> Vec<String> {
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["check"] == "5.2-3-sbom-accuracy" && f["outcome"] == "fail")
            .map(|f| f["title"].as_str().unwrap().to_string())
            .collect()
    };
    // CycloneDX: drop dropbear, misstate busybox.
    let mut cdx: Value =
        serde_json::from_slice(&fs::read(tmp.path().join("base/sbom.cdx.json")).unwrap()).unwrap();
    let comps = cdx["components"].as_array_mut().unwrap();
    let before = comps.len();
    comps.retain(|c| c["name"] != "dropbear");
    assert_eq!(comps.len(), before - 1, "the image has dropbear");
    for c in comps.iter_mut().filter(|c| c["name"] == "busybox") {
        c["version"] = json!("1.99.0");
    }
    let f = tmp.path().join("maker.cdx.json");
    fs::write(&f, serde_json::to_vec(&cdx).unwrap()).unwrap();
    let r = assess("cdx", &["--sbom-in".as_ref(), f.as_os_str()]);
    let mut got = fails(&r);
    got.sort();
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(
        got[0].starts_with("busybox is ") && got[0].ends_with("but 1.99.0 in the maker's SBOM"),
        "{got:?}"
    );
    assert!(
        got[1].starts_with("dropbear ")
            && got[1].ends_with("is in the firmware but not in the maker's SBOM"),
        "{got:?}"
    );
    assert!(fails(&base).is_empty());
    // SPDX, unchanged: no finding.
    let spdx = tmp.path().join("base/sbom.spdx.json");
    let r = assess("spdx", &["--sbom-in".as_ref(), spdx.as_os_str()]);
    assert!(fails(&r).is_empty(), "{:?}", fails(&r));
}

/// `--max-memory` stops extraction cleanly, naming the cap, instead of letting the OS kill the
/// run; the default leaves a normal image alone.
#[test]
fn the_memory_cap_stops_extraction_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    fs::create_dir_all(root.join("etc")).unwrap();
    // Many entries: the tree the unpacker keeps grows with them (about 3 MiB here).
    for i in 0..20_000 {
        fs::write(root.join(format!("etc/file-with-a-longish-name-{i}")), b"x").unwrap();
    }
    let img = tmp.path().join("fs.sqfs");
    let st = Command::new("mksquashfs")
        .arg(&root)
        .arg(&img)
        .args(["-noappend", "-quiet", "-comp", "gzip"])
        .status()
        .expect("mksquashfs");
    assert!(st.success());
    let run = |extra: &[&str], out: &str| {
        bin()
            .args(["-q", "unpack"])
            .arg(&img)
            .args(extra)
            .arg("--out")
            .arg(tmp.path().join(out))
            .output()
            .unwrap()
    };
    let o = run(&[], "ok");
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let o = run(&["--max-memory", "1"], "capped");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2));
    assert!(err.contains("--max-memory"), "{err}");
    assert!(!tmp.path().join("capped").exists(), "nothing half-written");
}
