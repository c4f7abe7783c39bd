//! The trust center end to end, through the real binary: `serve` as a process, `assess` on the
//! bundled smart-plug example, `tc submit`, `tc certify`, `tc admission` (allow), an OSV advisory
//! that hits one of its components (`suspended`, deny), `attest verify` (valid, and invalid for
//! an envelope changed by one byte); and an acknowledged write surviving `kill -9`.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_iotassure"))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Serve {
    child: Child,
    url: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `iotassure serve` and waits until it answers; returns it and the admin token (first
/// start only).
fn serve(data: &Path, db: Option<&str>, port: u16) -> (Serve, Option<String>) {
    let mut cmd = bin();
    cmd.arg("serve")
        .arg("--data")
        .arg(data)
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"));
    if let Some(db) = db {
        cmd.arg("--db").arg(db);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}");
    let stdout = child.stdout.take().unwrap();
    let start = Instant::now();
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "serve did not start"
        );
        if let Ok(Some(st)) = child.try_wait() {
            let mut err = String::new();
            std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).ok();
            panic!("serve exited {st}: {err}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // The token is printed on stdout on first start only; read what is there without blocking
    // on a second start, where nothing comes.
    let token = std::fs::read_to_string(data.join("admin-token"))
        .ok()
        .map(|t| t.trim().to_string());
    drop(BufReader::new(stdout).lines());
    (Serve { child, url }, token)
}

fn tc(url: &str, token: &str, args: &[&str]) -> Output {
    bin()
        .arg("tc")
        .arg("--server")
        .arg(url)
        .arg("--token")
        .arg(token)
        .args(args)
        .output()
        .unwrap()
}

fn json_out(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

fn ok(o: &Output) -> Value {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    json_out(o)
}

fn example(name: &str) -> PathBuf {
    root().join("examples/smart-plug").join(name)
}

fn assess_example(out: &Path) {
    let o = bin()
        .args(["-q", "assess"])
        .arg(example("smart-plug.img"))
        .arg("--ics")
        .arg(example("smart-plug.ics.yaml"))
        .arg("--doc")
        .arg(example("docs/security.txt"))
        .arg("--doc")
        .arg(example("docs/disclosure-policy.html"))
        .arg("--doc")
        .arg(example("docs/support-period.html"))
        .args(["--profile", "uk-psti", "--out"])
        .arg(out)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "the example passes uk-psti: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn assess_submit_certify_admit_suspend_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let port = free_port();
    let (srv, admin) = serve(&tmp.path().join("tc"), None, port);
    let admin = admin.expect("first start writes the admin token");
    let meta = std::fs::metadata(tmp.path().join("tc/admin-token")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);

    let url = srv.url.clone();
    ok(&tc(
        &url,
        &admin,
        &["org", "create", "Test Lab", "--kind", "lab"],
    ));
    ok(&tc(
        &url,
        &admin,
        &["org", "create", "Example Plugs Ltd", "--kind", "maker"],
    ));
    ok(&tc(
        &url,
        &admin,
        &["org", "create", "Campus Network", "--kind", "operator"],
    ));
    let lab = ok(&tc(
        &url,
        &admin,
        &[
            "token",
            "create",
            "--role",
            "certifier",
            "--org",
            "Test Lab",
        ],
    ))["token"]
        .as_str()
        .unwrap()
        .to_string();
    let op = ok(&tc(
        &url,
        &admin,
        &[
            "token",
            "create",
            "--role",
            "operator",
            "--org",
            "Campus Network",
        ],
    ))["token"]
        .as_str()
        .unwrap()
        .to_string();

    let out = tmp.path().join("report");
    assess_example(&out);
    let sub = ok(&tc(
        &url,
        &lab,
        &[
            "submit",
            out.join("report.json").to_str().unwrap(),
            "--maker",
            "Example Plugs Ltd",
            "--support-end",
            "2031-12-31",
        ],
    ));
    let assessment = sub["id"].as_str().unwrap();
    let cert = ok(&tc(
        &url,
        &lab,
        &["certify", assessment, "--profile", "uk-psti"],
    ));
    let id = cert["id"].as_str().unwrap().to_string();
    assert_eq!(cert["status"], "valid");

    // The label page's QR code works out of the box: `serve` defaults its public URL to
    // http://LISTEN.
    let mut qr = ureq::get(&format!("{url}/registry/{id}/qr.svg"))
        .call()
        .unwrap();
    let svg = qr.body_mut().read_to_string().unwrap();
    assert!(svg.contains("<svg"), "{svg}");
    let img = example("smart-plug.img");
    let vsa = tmp.path().join("vsa.json");
    let a = tc(
        &url,
        &op,
        &[
            "admission",
            "--image",
            img.to_str().unwrap(),
            "--vsa",
            vsa.to_str().unwrap(),
        ],
    );
    assert_eq!(
        a.status.code(),
        Some(0),
        "allow: {}",
        String::from_utf8_lossy(&a.stdout)
    );
    assert_eq!(json_out(&a)["decision"], "allow");

    // Offline verification of the certificate's attestation, and of a one-byte change.
    let env = tmp.path().join("attestation.json");
    let keys = tmp.path().join("keys.json");
    ok_quiet(&tc(
        &url,
        &lab,
        &["attestation", &id, "--out", env.to_str().unwrap()],
    ));
    ok_quiet(&tc(&url, &lab, &["keys", "--out", keys.to_str().unwrap()]));
    let v = bin()
        .args(["attest", "verify"])
        .arg(&env)
        .arg("--key")
        .arg(&keys)
        .arg("--image")
        .arg(&img)
        .output()
        .unwrap();
    assert_eq!(
        v.status.code(),
        Some(0),
        "valid: {}{}",
        String::from_utf8_lossy(&v.stdout),
        String::from_utf8_lossy(&v.stderr)
    );
    let v = bin()
        .args(["attest", "verify"])
        .arg(&vsa)
        .arg("--key")
        .arg(&keys)
        .arg("--image")
        .arg(&img)
        .output()
        .unwrap();
    assert_eq!(
        v.status.code(),
        Some(0),
        "the VSA verifies too: {}",
        String::from_utf8_lossy(&v.stderr)
    );
    let mut e: Value = serde_json::from_slice(&std::fs::read(&env).unwrap()).unwrap();
    let sig = e["signatures"][0]["sig"].as_str().unwrap().to_string();
    let flipped = match sig.strip_prefix('A') {
        Some(rest) => format!("B{rest}"),
        None => format!("A{}", &sig[1..]),
    };
    e["signatures"][0]["sig"] = Value::String(flipped);
    let bad = tmp.path().join("bad.json");
    std::fs::write(&bad, serde_json::to_vec(&e).unwrap()).unwrap();
    let v = bin()
        .args(["attest", "verify"])
        .arg(&bad)
        .arg("--key")
        .arg(&keys)
        .output()
        .unwrap();
    assert_eq!(
        v.status.code(),
        Some(1),
        "one byte changed is invalid: {}",
        String::from_utf8_lossy(&v.stdout)
    );
    let other = tmp.path().join("other.img");
    std::fs::write(&other, b"another image").unwrap();
    let v = bin()
        .args(["attest", "verify"])
        .arg(&env)
        .arg("--key")
        .arg(&keys)
        .arg("--image")
        .arg(&other)
        .output()
        .unwrap();
    assert_eq!(v.status.code(), Some(1), "another image is invalid");

    // An advisory that hits the example's BusyBox: suspended, and admission denies.
    let l = ok(&tc(
        &url,
        &lab,
        &[
            "advisories",
            "load",
            example("advisory-osv.json").to_str().unwrap(),
        ],
    ));
    assert_eq!(l["run"]["suspended"], 1, "{l}");
    let s = ok(&tc(&url, &lab, &["status", &id]));
    assert_eq!(s["status"], "suspended");
    let a = tc(&url, &op, &["admission", "--image", img.to_str().unwrap()]);
    assert_eq!(a.status.code(), Some(1), "deny exits 1");
    assert_eq!(json_out(&a)["decision"], "deny");

    let av = tc(&url, &admin, &["audit", "verify"]);
    assert_eq!(av.status.code(), Some(0));
    assert_eq!(json_out(&av)["ok"], true);
}

fn ok_quiet(o: &Output) {
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Submit in a loop, kill -9 the server mid-loop, restart: every record answered 2xx is there
/// and the audit chain verifies.
#[test]
fn acknowledged_writes_survive_kill_9() {
    for db in backends() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("tc");
        let port = free_port();
        let (mut srv, admin) = serve(&data, db.as_deref(), port);
        let admin = admin.unwrap();
        let url = srv.url.clone();
        let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let writer = {
            let acked = acked.clone();
            let url = url.clone();
            let admin = admin.clone();
            std::thread::spawn(move || {
                for i in 0..2000 {
                    let name = format!("org-{i}");
                    let o = tc(&url, &admin, &["org", "create", &name, "--kind", "maker"]);
                    if o.status.success() {
                        acked.lock().unwrap().push(name);
                    } else {
                        break;
                    }
                }
            })
        };
        // Let some writes land, then kill without warning.
        let start = Instant::now();
        while acked.lock().unwrap().len() < 15 && start.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(20));
        }
        kill9(&mut srv.child);
        writer.join().unwrap();
        let acked = acked.lock().unwrap().clone();
        assert!(acked.len() >= 15, "writes went through before the kill");
        drop(srv);
        let (srv, again) = serve(&data, db.as_deref(), port);
        assert!(again.is_some(), "the token file is still there");
        let list = ok(&tc(&srv.url, &admin, &["org", "list"]));
        let names: Vec<&str> = list
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["name"].as_str().unwrap())
            .collect();
        for n in &acked {
            assert!(
                names.contains(&n.as_str()),
                "{n} was acknowledged but is gone after kill -9 ({db:?})"
            );
        }
        let av = tc(&srv.url, &admin, &["audit", "verify"]);
        assert_eq!(
            json_out(&av)["ok"],
            true,
            "{}",
            String::from_utf8_lossy(&av.stdout)
        );
    }
}

fn kill9(child: &mut Child) {
    // std's Child::kill sends SIGKILL on Unix: no handler runs, nothing is flushed.
    child.kill().unwrap();
    child.wait().unwrap();
}

/// SQLite always; PostgreSQL where .ci/run started it (a fresh database each time).
fn backends() -> Vec<Option<String>> {
    let mut v = vec![None];
    match std::env::var("IOTASSURE_TEST_PG") {
        Ok(admin) if !admin.is_empty() => {
            static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let name = format!("tc_cli_{}_{n}", std::process::id());
            let o = Command::new("psql")
                .arg(&admin)
                .arg("-qAtc")
                .arg(format!("CREATE DATABASE {name}"))
                .output()
                .expect("psql");
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let base = admin.rsplit_once('/').unwrap().0;
            v.push(Some(format!("{base}/{name}")));
        }
        _ if std::env::var("CI").is_ok_and(|c| c == "true") => {
            panic!("IOTASSURE_TEST_PG is not set")
        }
        _ => eprintln!("note: IOTASSURE_TEST_PG not set; PostgreSQL variant skipped"),
    }
    v
}

/// Six uploads, two `iotassure worker` processes draining the queue at once: every job is done
/// exactly once (one attempt, its own assessment), on SQLite and on PostgreSQL.
#[test]
fn two_workers_drain_one_queue() {
    for db in backends() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("tc");
        let (srv, admin) = serve(&data, db.as_deref(), free_port());
        let admin = admin.unwrap();
        let url = srv.url.clone();
        ok(&tc(
            &url,
            &admin,
            &["org", "create", "Lab", "--kind", "lab"],
        ));
        ok(&tc(
            &url,
            &admin,
            &["org", "create", "Example Plugs Ltd", "--kind", "maker"],
        ));
        let lab = ok(&tc(
            &url,
            &admin,
            &["token", "create", "--role", "certifier", "--org", "Lab"],
        ))["token"]
            .as_str()
            .unwrap()
            .to_string();
        let mut jobs = Vec::new();
        for _ in 0..6 {
            let j = ok(&tc(
                &url,
                &lab,
                &[
                    "upload",
                    example("smart-plug.img").to_str().unwrap(),
                    "--statement",
                    example("smart-plug.ics.yaml").to_str().unwrap(),
                    "--doc",
                    example("docs/security.txt").to_str().unwrap(),
                    "--doc",
                    example("docs/disclosure-policy.html").to_str().unwrap(),
                    "--doc",
                    example("docs/support-period.html").to_str().unwrap(),
                    "--maker",
                    "Example Plugs Ltd",
                    "--profile",
                    "uk-psti",
                ],
            ));
            assert_eq!(j["state"], "queued");
            jobs.push(j["id"].as_str().unwrap().to_string());
        }
        let worker = || {
            let mut c = bin();
            c.arg("worker")
                .arg("--data")
                .arg(&data)
                .arg("--exit-when-idle");
            if let Some(db) = &db {
                c.arg("--db").arg(db);
            }
            c.stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (w1, w2) = (worker(), worker());
        let (o1, o2) = (
            w1.wait_with_output().unwrap(),
            w2.wait_with_output().unwrap(),
        );
        assert!(
            o1.status.success() && o2.status.success(),
            "{}\n{}",
            String::from_utf8_lossy(&o1.stderr),
            String::from_utf8_lossy(&o2.stderr)
        );
        let mut assessments = std::collections::HashSet::new();
        for id in &jobs {
            let j = ok(&tc(&url, &lab, &["job", id]));
            assert_eq!(j["state"], "done", "{j}");
            assert_eq!(j["attempts"], 1, "{j}");
            assert!(
                assessments.insert(j["assessment"].as_str().unwrap().to_string()),
                "one assessment per job"
            );
        }
        // Each assessment is the real pipeline's report: it certifies under uk-psti.
        let first = assessments.iter().next().unwrap().clone();
        let cert = ok(&tc(
            &url,
            &lab,
            &["certify", &first, "--profile", "uk-psti"],
        ));
        assert_eq!(cert["status"], "valid");
        let av = tc(&url, &admin, &["audit", "verify"]);
        assert_eq!(json_out(&av)["ok"], true);
    }
}

/// The disclosure desk through the binary: an anonymous researcher files with an attachment and
/// follows by the secret; the maker handles the report; the track record, saved with `tc
/// track-record --out` (or fetched by URL), becomes 5.2-2 evidence in `assess`.
#[test]
fn disclosure_desk_feeds_the_assessment() {
    let tmp = tempfile::tempdir().unwrap();
    let (srv, admin) = serve(&tmp.path().join("tc"), None, free_port());
    let admin = admin.unwrap();
    let url = srv.url.clone();
    ok(&tc(
        &url,
        &admin,
        &["org", "create", "Example Plugs Ltd", "--kind", "maker"],
    ));
    let maker = ok(&tc(
        &url,
        &admin,
        &[
            "token",
            "create",
            "--role",
            "maker",
            "--org",
            "Example Plugs Ltd",
        ],
    ))["token"]
        .as_str()
        .unwrap()
        .to_string();
    let poc = tmp.path().join("poc.sh");
    std::fs::write(&poc, "#!/bin/sh\ntelnet 192.0.2.1\n").unwrap();
    let filed = bin()
        .args([
            "tc",
            "--server",
            &url,
            "report",
            "file",
            "--maker",
            "Example Plugs Ltd",
        ])
        .args([
            "--title",
            "Telnet root shell",
            "--description",
            "port 23, no password",
        ])
        .args([
            "--cvss",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "--attach",
        ])
        .arg(&poc)
        .env_remove("IOTASSURE_TOKEN")
        .output()
        .unwrap();
    let filed = ok(&filed);
    assert_eq!(filed["state"], "received");
    let secret = filed["secret"].as_str().unwrap().to_string();
    let id = filed["id"].as_str().unwrap().to_string();
    let list = ok(&tc(&url, &maker, &["report", "list"]));
    assert_eq!(list[0]["id"], id.as_str());
    assert_eq!(list[0]["cvss"]["score"], 9.8);
    for step in [
        vec!["--to", "acknowledged", "--note", "On it."],
        vec!["--to", "triaged", "--valid", "true"],
        vec!["--to", "fixed", "--fixed-version", "2.4.2"],
    ] {
        let mut args = vec!["report", "move", &id];
        args.extend(step);
        ok(&tc(&url, &maker, &args));
    }
    let followed = ok(&bin()
        .args(["tc", "--server", &url, "report", "follow", &secret])
        .env_remove("IOTASSURE_TOKEN")
        .output()
        .unwrap());
    assert_eq!(followed["state"], "fixed");
    assert_eq!(followed["attachments"][0]["name"], "poc.sh");
    assert_eq!(followed["events"][1]["body"], "On it.");

    // The record, saved; an existing file is replaced only with --force.
    let tr = tmp.path().join("track-record.json");
    let args = [
        "track-record",
        "Example Plugs Ltd",
        "--out",
        tr.to_str().unwrap(),
    ];
    ok_quiet(&tc(&url, &maker, &args));
    let again = tc(&url, &maker, &args);
    assert_eq!(again.status.code(), Some(2), "exists, no --force");
    let mut forced = args.to_vec();
    forced.push("--force");
    ok_quiet(&tc(&url, &maker, &forced));

    // As evidence: from the file and straight from the trust center.
    for src in [tr.to_str().unwrap(), url.as_str()] {
        let out = tmp.path().join(format!("assessed-{}", src.len()));
        let o = bin()
            .args(["-q", "assess"])
            .arg(example("smart-plug.img"))
            .arg("--ics")
            .arg(example("smart-plug.ics.yaml"))
            .args(["--track-record", src, "--out"])
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            o.status.code().is_some_and(|c| c < 2),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let r: Value =
            serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
        let f = r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["check"] == "5.2-2-desk-record")
            .unwrap_or_else(|| panic!("no desk finding from {src}"));
        assert_eq!(f["outcome"], "pass", "{f}");
        assert!(f["detail"].as_str().unwrap().contains("1 report(s)"), "{f}");
        let v = r["verdicts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["id"] == "5.2-2")
            .unwrap();
        assert_eq!(v["verdict"], "PASS", "{v}");
    }
}
