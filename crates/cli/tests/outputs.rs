//! Output safety: `--force` replaces only a folder iotassure wrote (it carries the
//! .iotassure-output marker), never /, the home folder, the current folder or an ancestor, a
//! symlink, or a folder holding the input; file outputs are replaced only with --force; stale
//! staging folders of killed runs are cleaned up. Every case here destroyed or risked user data
//! before (`assess IMAGE --out /tmp --force` deleted /tmp).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_iotassure"))
}

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/demo-router/demo-router.img")
}

fn run(cmd: &str, out: &Path, extra: &[&str]) -> Output {
    bin()
        .args(["-q", cmd])
        .arg(demo())
        .arg("--out")
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// A folder holding a user's file, not written by iotassure.
fn users_folder(root: &Path) -> PathBuf {
    let d = root.join("precious");
    fs::create_dir_all(&d).unwrap();
    fs::write(d.join("thesis.tex"), "years of work").unwrap();
    d
}

#[test]
fn force_refuses_a_folder_iotassure_did_not_write() {
    for cmd in ["assess", "unpack"] {
        let tmp = tempfile::tempdir().unwrap();
        let d = users_folder(tmp.path());
        let o = run(cmd, &d, &["--force"]);
        assert_eq!(o.status.code(), Some(2), "{cmd}: {}", stderr(&o));
        assert!(
            stderr(&o).contains(".iotassure-output"),
            "{cmd}: names the marker: {}",
            stderr(&o)
        );
        assert!(stderr(&o).contains("Nothing was removed"), "{}", stderr(&o));
        assert_eq!(
            fs::read_to_string(d.join("thesis.tex")).unwrap(),
            "years of work"
        );
        // Without --force: refused too.
        let o = run(cmd, &d, &[]);
        assert_eq!(o.status.code(), Some(2), "{cmd}: {}", stderr(&o));
        assert!(d.join("thesis.tex").exists());
    }
}

#[test]
fn force_replaces_what_iotassure_wrote() {
    for cmd in ["assess", "unpack"] {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("out");
        let first = run(cmd, &out, &[]);
        assert!(
            first.status.code().unwrap() <= 1,
            "{cmd}: {}",
            stderr(&first)
        );
        let marker = fs::read_to_string(out.join(".iotassure-output")).unwrap();
        assert!(
            marker.contains("\"format\":\"iotassure-output\"")
                && marker.contains(&format!("\"command\":\"{cmd}\"")),
            "{marker}"
        );
        fs::write(out.join("stale-file"), "from the first run").unwrap();
        let second = run(cmd, &out, &["--force"]);
        assert!(
            second.status.code().unwrap() <= 1,
            "{cmd}: {}",
            stderr(&second)
        );
        assert!(
            !out.join("stale-file").exists(),
            "{cmd}: the old output was replaced"
        );
        assert!(out.join(".iotassure-output").exists());
        let want = if cmd == "assess" {
            "report.json"
        } else {
            "manifest.json"
        };
        assert!(out.join(want).exists(), "{cmd}");
    }
}

#[test]
fn force_never_replaces_root_home_cwd_or_an_ancestor() {
    let tmp = tempfile::tempdir().unwrap();
    // Each of these holds a marker, so only the rule under test can refuse it.
    let home_parent = tmp.path().join("users");
    let home = home_parent.join("me");
    let cwd_parent = tmp.path().join("work");
    let cwd = cwd_parent.join("project");
    fs::create_dir_all(&cwd).unwrap();
    fs::create_dir_all(&home).unwrap();
    let marker = r#"{"format":"iotassure-output","version":1,"command":"assess"}"#;
    for d in [&home, &home_parent, &cwd, &cwd_parent] {
        fs::write(d.join(".iotassure-output"), marker).unwrap();
        fs::write(d.join("keep"), "x").unwrap();
    }
    let cases: [(&Path, &str); 5] = [
        (&home, "it is your home folder"),
        (&home_parent, "it holds your home folder"),
        (&cwd, "current folder"),
        (&cwd_parent, "current folder or one of its ancestors"),
        (Path::new("/"), "root folder"),
    ];
    for (target, why) in cases {
        let o = bin()
            .args(["-q", "assess"])
            .arg(demo())
            .arg("--out")
            .arg(target)
            .arg("--force")
            .current_dir(&cwd)
            .env("HOME", &home)
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(2),
            "{}: {}",
            target.display(),
            stderr(&o)
        );
        assert!(
            stderr(&o).contains(why),
            "{}: {}",
            target.display(),
            stderr(&o)
        );
    }
    for d in [&home, &home_parent, &cwd, &cwd_parent] {
        assert!(d.join("keep").exists(), "{} untouched", d.display());
    }
}

#[test]
fn force_refuses_a_symlink_and_a_folder_holding_the_image() {
    let tmp = tempfile::tempdir().unwrap();
    let real = tmp.path().join("real");
    let first = run("unpack", &real, &[]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let link = tmp.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let o = run("assess", &link, &["--force"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("symlink"), "{}", stderr(&o));
    assert!(real.join("manifest.json").exists());
    // Named with a trailing slash, the symlink is still refused, before any work.
    let o = run(
        "unpack",
        Path::new(&format!("{}/", link.display())),
        &["--force"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("is a symlink"), "{}", stderr(&o));
    assert!(link.is_symlink() && real.join("manifest.json").exists());
    // The image inside the output folder.
    let img = real.join("fw.img");
    fs::copy(demo(), &img).unwrap();
    let o = bin()
        .args(["-q", "assess"])
        .arg(&img)
        .arg("--out")
        .arg(&real)
        .arg("--force")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("holds the input"), "{}", stderr(&o));
    assert!(img.exists());
}

#[test]
fn stale_staging_folders_of_dead_runs_are_removed_others_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    // PID 4194304 is above Linux's pid_max: never a running process.
    let stale = tmp.path().join(".out.partial-4194304");
    let foreign = tmp.path().join(".out.partial-4194303");
    fs::create_dir_all(&stale).unwrap();
    fs::create_dir_all(&foreign).unwrap();
    fs::write(
        stale.join(".iotassure-output"),
        r#"{"format":"iotassure-output","version":1}"#,
    )
    .unwrap();
    fs::write(stale.join("big"), "half-written").unwrap();
    fs::write(foreign.join("users-file"), "not ours").unwrap();
    let o = run("assess", &out, &[]);
    assert!(o.status.code().unwrap() <= 1, "{}", stderr(&o));
    assert!(!stale.exists(), "the stale staging folder was removed");
    assert!(
        stderr(&o).contains("left by an earlier run"),
        "{}",
        stderr(&o)
    );
    assert!(
        foreign.join("users-file").exists(),
        "a folder without the marker is left alone"
    );
}

/// `--out .` in an empty current folder, and a mount point: refused before anything is written
/// (an empty folder needs no --force, but these are never replaced).
#[test]
fn the_current_folder_and_a_mount_point_are_refused_even_when_empty() {
    let tmp = tempfile::tempdir().unwrap();
    let cwd = tmp.path().join("empty");
    fs::create_dir(&cwd).unwrap();
    let o = bin()
        .args(["-q", "unpack"])
        .arg(demo())
        .args(["--out", "."])
        .current_dir(&cwd)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("current folder"), "{}", stderr(&o));
    assert_eq!(fs::read_dir(&cwd).unwrap().count(), 0, "nothing written");
    // /proc is a mount point wherever it is mounted; refused before anything is touched.
    if Path::new("/proc/self").exists() {
        let o = run("unpack", Path::new("/proc"), &["--force"]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains("mount point"), "{}", stderr(&o));
    }
}

/// Every input counts, not only the image: a folder holding the statement is never replaced,
/// and a file output never overwrites an input.
#[test]
fn inputs_are_never_replaced_or_overwritten() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let first = run("unpack", &out, &[]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let ics = out.join("statement.yaml");
    fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples/demo-router/demo-router.ics.yaml"),
        &ics,
    )
    .unwrap();
    let o = run("assess", &out, &["--force", "--ics", ics.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("holds the input"), "{}", stderr(&o));
    assert!(ics.exists() && out.join("manifest.json").exists());

    let img = tmp.path().join("fw.img");
    fs::copy(demo(), &img).unwrap();
    let o = bin()
        .args(["-q", "assess"])
        .arg(&img)
        .arg("--out")
        .arg(tmp.path().join("r"))
        .arg("--sbom-out")
        .arg(&img)
        .arg("--force")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("is an input"), "{}", stderr(&o));
    assert_eq!(fs::read(&img).unwrap(), fs::read(demo()).unwrap());

    let report = tmp.path().join("report.json");
    fs::write(&report, "{}").unwrap();
    let o = bin()
        .args(["ics", "init", "--force", "--from"])
        .arg(&report)
        .arg("--out")
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(fs::read_to_string(&report).unwrap(), "{}");
}

/// The replaced output steps aside as `.NAME.partial-PID.old` (a name the stale clean-up knows),
/// never under a name a user's folder may have.
#[test]
fn replacing_leaves_a_users_dot_old_folder_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let first = run("unpack", &out, &[]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let users = tmp.path().join(".out.old");
    fs::create_dir(&users).unwrap();
    fs::write(users.join("keep"), "mine").unwrap();
    let second = run("unpack", &out, &["--force"]);
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    assert_eq!(fs::read_to_string(users.join("keep")).unwrap(), "mine");
    assert!(out.join("manifest.json").exists());
    let left: Vec<_> = fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.contains(".partial-"))
        .collect();
    assert!(left.is_empty(), "nothing left behind: {left:?}");
}

/// `intercept`'s default CA (OUT/ca, "reused when present") survives `--force`: a lab may have
/// installed it in a device's trust store.
#[test]
fn intercept_force_keeps_the_default_ca() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("mitm");
    let intercept = |extra: &[&str]| {
        bin()
            .args([
                "-q",
                "intercept",
                "--listen",
                "127.0.0.1:0",
                "--duration",
                "1",
            ])
            .arg("--out")
            .arg(&out)
            .args(extra)
            .output()
            .unwrap()
    };
    let o = intercept(&[]);
    assert_eq!(o.status.code(), Some(1), "nothing decided: {}", stderr(&o));
    let pem = fs::read_to_string(out.join("ca/ca.pem")).unwrap();
    let key = fs::read_to_string(out.join("ca/ca.key")).unwrap();
    let o = intercept(&["--force"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_eq!(fs::read_to_string(out.join("ca/ca.pem")).unwrap(), pem);
    assert_eq!(fs::read_to_string(out.join("ca/ca.key")).unwrap(), key);
}

#[test]
fn file_outputs_are_replaced_only_with_force() {
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("statement.yaml");
    fs::write(&f, "mine").unwrap();
    let o = bin()
        .args(["ics", "init", "--out"])
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(fs::read_to_string(&f).unwrap(), "mine");
    let o = bin()
        .args(["ics", "init", "--force", "--out"])
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(fs::read_to_string(&f).unwrap().contains("ics_version"));

    let sbom = tmp.path().join("sbom.json");
    fs::write(&sbom, "mine").unwrap();
    let o = run(
        "assess",
        &tmp.path().join("r1"),
        &["--sbom-out", sbom.to_str().unwrap()],
    );
    assert_eq!(
        o.status.code(),
        Some(2),
        "refused before any work: {}",
        stderr(&o)
    );
    assert!(!tmp.path().join("r1").exists());
    assert_eq!(fs::read_to_string(&sbom).unwrap(), "mine");
    // The old name still works, as an alias.
    let o = run(
        "assess",
        &tmp.path().join("r2"),
        &["--sbom", sbom.to_str().unwrap(), "--force"],
    );
    assert!(o.status.code().unwrap() <= 1, "{}", stderr(&o));
    assert!(fs::read_to_string(&sbom).unwrap().contains("CycloneDX"));
    // Never through a symlink.
    let target = tmp.path().join("target.json");
    fs::write(&target, "other").unwrap();
    let link = tmp.path().join("link.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let o = run(
        "assess",
        &tmp.path().join("r3"),
        &["--sbom-out", link.to_str().unwrap(), "--force"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(fs::read_to_string(&target).unwrap(), "other");
}

#[test]
fn unpack_of_a_folder_says_there_is_nothing_to_unpack() {
    let tmp = tempfile::tempdir().unwrap();
    let o = bin()
        .args(["-q", "unpack"])
        .arg(tmp.path())
        .arg("--out")
        .arg(tmp.path().join("o"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("nothing to unpack"), "{}", stderr(&o));
    assert!(!tmp.path().join("o").exists());
}

/// `iotassure catalog export | head -c 10` ends quietly (status 141, as by SIGPIPE), never with a panic
/// (exit 101). The outputs are larger than a pipe's buffer, so the reader really goes away first.
#[test]
fn a_closed_pipe_ends_quietly() {
    for args in [
        "catalog export --format json",
        "catalog export --format oscal",
    ] {
        let o = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "'{}' {args} | head -c 10 >/dev/null; echo ${{PIPESTATUS[0]}}",
                env!("CARGO_BIN_EXE_iotassure")
            ))
            .output()
            .unwrap();
        let status = String::from_utf8_lossy(&o.stdout).trim().to_string();
        assert_eq!(
            status,
            "141",
            "{args}: the writer ended with {status}: {}",
            stderr(&o)
        );
        assert!(!stderr(&o).contains("panicked"), "{args}: {}", stderr(&o));
    }
}

/// `ics check`: 0 valid, 1 invalid (including YAML that does not parse and a provision given
/// twice, which names both lines), 2 only when the file cannot be read.
#[test]
fn ics_check_exit_status_and_duplicate_entries() {
    let ex =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/smart-plug/smart-plug.ics.yaml");
    let text = fs::read_to_string(&ex).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let check = |name: &str, body: &str| {
        let f = tmp.path().join(name);
        fs::write(&f, body).unwrap();
        bin().args(["ics", "check"]).arg(&f).output().unwrap()
    };
    assert_eq!(check("good.yaml", &text).status.code(), Some(0));
    let i = text.find("  \"5.1-1\":").unwrap();
    let j = text.find("  # 5.1-2").unwrap();
    let dup = format!("{}{}{}", &text[..j], &text[i..j], &text[j..]);
    let o = check("dup.yaml", &dup);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let first = text[..i].lines().count() + 1;
    let second = dup[..j].lines().count() + 1;
    assert!(
        stderr(&o).contains(&format!(
            "provision 5.1-1 has more than one entry (lines {first} and {second})"
        )),
        "{}",
        stderr(&o)
    );
    let o = check(
        "bad.yaml",
        &text.replacen("    support: Y\n", "    support: Q\n", 1),
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let o = bin()
        .args(["ics", "check"])
        .arg(tmp.path().join("missing.yaml"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

/// Completions, the man page and `catalog --json` for scripts; a mistyped `--doc` fails before
/// any unpacking.
#[test]
fn completions_man_json_and_early_input_checks() {
    let o = bin().args(["completions", "bash"]).output().unwrap();
    assert!(o.status.success() && String::from_utf8_lossy(&o.stdout).contains("_iotassure"));
    let o = bin().arg("man").output().unwrap();
    assert!(o.status.success() && String::from_utf8_lossy(&o.stdout).contains(".TH iotassure"));
    let o = bin().args(["catalog", "list", "--json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 68);
    let o = bin()
        .args(["catalog", "show", "uk-psti", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        v["requirements"],
        serde_json::json!(["5.1-1", "5.1-2", "5.2-1", "5.3-13"])
    );
    let tmp = tempfile::tempdir().unwrap();
    let o = run(
        "assess",
        &tmp.path().join("r"),
        &["--doc", "/nonexistent/security.txt"],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--doc /nonexistent/security.txt"),
        "{}",
        stderr(&o)
    );
    assert!(!tmp.path().join("r").exists());
}

/// TEC's own requirements can be stated (their verdicts ask for an entry); unknown ids cannot.
#[test]
fn ics_check_accepts_tec_requirements() {
    let ex =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/smart-plug/smart-plug.ics.yaml");
    let text = fs::read_to_string(&ex).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let with = |entry: &str| {
        let f = tmp.path().join("s.yaml");
        fs::write(
            &f,
            text.replacen("provisions:\n", &format!("provisions:\n{entry}"), 1),
        )
        .unwrap();
        bin().args(["ics", "check"]).arg(&f).output().unwrap()
    };
    let o = with("  \"TEC-2-bug-bounty\":\n    support: Y\n    detail: \"Bounty at https://plugs.example/bounty\"\n");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = with("  \"TEC-2-bug-bounty\":\n    support: N/A\n    detail: \"x\"\n");
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no Annex B condition"),
        "{}",
        stderr(&o)
    );
    let o = with("  \"TEC-99-nothing\":\n    support: Y\n");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("unknown provision `TEC-99-nothing`"),
        "{}",
        stderr(&o)
    );
}

/// Names from firmware are data: an HTML tag in a file name is escaped in report.md (or kept in
/// a code span it cannot leave), and terminal escape sequences never reach the console.
#[test]
fn firmware_names_cannot_inject_html_or_terminal_escapes() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    fs::create_dir_all(root.join("etc")).unwrap();
    let key = Command::new("openssl")
        .args(["genrsa", "1024"])
        .output()
        .expect("openssl");
    assert!(key.status.success());
    for name in [
        "<img src=x onerror=alert(1)>`x`.pem",
        "\u{1b}]0;pwned\u{7}\u{1b}[2J.pem",
    ] {
        fs::write(root.join("etc").join(name), &key.stdout).unwrap();
    }
    let out = tmp.path().join("out");
    let o = bin()
        .args(["-q", "assess"])
        .arg(&root)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let console = String::from_utf8_lossy(&o.stdout);
    assert!(console.contains("5.4-1"), "the keys were found: {console}");
    assert!(
        !console.contains('\u{1b}'),
        "no escape byte on the console: {console:?}"
    );
    assert!(console.contains("\\u{1b}]0;pwned"), "{console}");
    let md = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(!md.contains('\u{1b}'));
    for line in md.lines().filter(|l| l.contains("<img")) {
        assert!(
            line.starts_with("- at ``"),
            "raw HTML outside a code span: {line}"
        );
    }
    assert!(md.contains("&lt;img src=x onerror=alert(1)&gt;"));
}
