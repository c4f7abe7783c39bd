//! The lab tests end to end through the binary: `iotassure intercept` against real TLS clients
//! (curl, openssl s_client) in a namespace, and `probe --outage-test` run inside a gateway
//! namespace that routes a "device" namespace to an "internet" namespace.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use iotassure_testkit::bin;
use iotassure_testkit::device::{self as fx, Lab, Netns, TempDir};
use serde_json::Value;

fn json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .expect("json")
}

fn text(o: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn verdict<'a>(r: &'a Value, id: &str) -> &'a str {
    r["verdicts"]
        .as_array()
        .expect("verdicts")
        .iter()
        .find(|v| v["id"] == id && v["scheme"] == "en303645")
        .and_then(|v| v["verdict"].as_str())
        .unwrap_or_else(|| panic!("no verdict {id}"))
}

/// Runs `iotassure intercept` until `clients` (run in the namespace) have connected.
fn intercept(
    ns: &Netns,
    port: u16,
    out: &Path,
    extra: &[&str],
    clients: &str,
    n: usize,
) -> (Output, Output) {
    let child = Command::new(bin())
        .args(["intercept", "--listen"])
        .arg(format!("{}:{port}", ns.host_ip))
        .arg("--out")
        .arg(out)
        .args([
            "--duration",
            "30",
            "--io-timeout",
            "2000",
            "--max-connections",
        ])
        .arg(n.to_string())
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("intercept starts");
    fx::wait_listening(None, port, Duration::from_secs(20));
    let said = ns.sh(clients);
    let o = child.wait_with_output().expect("intercept ends");
    (o, said)
}

#[test]
fn intercept_tells_validating_clients_from_trusting_ones() {
    let ns = Netns::new(26);
    iotassure_testkit::require_tool("curl", "curl");
    let dir = TempDir::new("intercept");
    let url = |p: u16| {
        format!(
            "https://update.example.com:{p}/fw.bin --resolve update.example.com:{p}:{}",
            ns.host_ip
        )
    };
    let ixit = dir.write(
        "statement.yaml",
        "ics_version: 1\nixit:\n  connections:\n    - { host: update.example.com, protocol: https, purpose: update }\n",
    );

    // Self-signed certificates, in turn to: validating curl, curl -k, s_client that stops on a
    // verification error, and s_client that carries on and sends a request.
    let a = dir.path().join("a");
    let clients = format!(
        "curl -s -o /dev/null -m 5 {u}; echo curl=$?
         curl -sk -o /dev/null -m 5 {u}; echo curl-k=$?
         echo | timeout 5 openssl s_client -connect {h}:8443 -servername update.example.com -verify_return_error -quiet >/dev/null 2>&1; echo s_client-verify=$?
         printf 'GET /fw.bin HTTP/1.0\\r\\n\\r\\n' | timeout 5 openssl s_client -connect {h}:8443 -servername update.example.com -quiet >/dev/null 2>&1; echo s_client=$?",
        u = url(8443),
        h = ns.host_ip
    );
    let (o, said) = intercept(
        &ns,
        8443,
        &a,
        &["--variants", "self-signed", "--ics", ixit.to_str().unwrap()],
        &clients,
        4,
    );
    let ctx = format!("{}\nclients: {}", text(&o), text(&said));
    assert_eq!(
        o.status.code(),
        Some(1),
        "an accepted certificate fails: {ctx}"
    );
    let r = json(&a.join("intercept.json"));
    let outcomes: Vec<&str> = r["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes.len(), 4, "{ctx}");
    assert_eq!(outcomes[0], "rejected", "validating curl: {ctx}");
    assert_eq!(outcomes[1], "accepted", "curl -k: {ctx}");
    assert!(
        matches!(outcomes[2], "rejected" | "closed"),
        "s_client -verify_return_error: {ctx}"
    );
    assert_eq!(outcomes[3], "accepted", "s_client: {ctx}");
    assert!(
        r["records"][1]["app_data"]
            .as_str()
            .unwrap()
            .starts_with("GET /fw.bin"),
        "{ctx}"
    );
    assert_eq!(r["records"][0]["sni"], "update.example.com");
    let report = json(&a.join("report.json"));
    assert_eq!(verdict(&report, "5.5-1"), "FAIL", "{ctx}");
    // The connection is declared for updates: an untrusted update server is a 5.3-2 failure too.
    assert_eq!(verdict(&report, "5.3-2"), "FAIL", "{ctx}");

    // With the throwaway CA trusted (--cacert): the wrong name and the expired certificate must
    // be refused for their own sake, and the valid control accepted. s_client checks the chain
    // but not the name unless asked: it accepts the wrong name.
    let b = dir.path().join("b");
    let ca = dir.path().join("ca");
    let clients = format!(
        "curl -s -o /dev/null -m 5 --cacert {ca}/ca.pem {u}; echo wrong-host=$?
         curl -s -o /dev/null -m 5 --cacert {ca}/ca.pem {u}; echo expired=$?
         curl -s -o /dev/null -m 5 --cacert {ca}/ca.pem {u}; echo valid=$?
         printf 'GET / HTTP/1.0\\r\\n\\r\\n' | timeout 5 openssl s_client -connect {h}:8444 -servername update.example.com -CAfile {ca}/ca.pem -verify_return_error -quiet >/dev/null 2>&1; echo s_client-wrong-host=$?",
        u = url(8444),
        h = ns.host_ip,
        ca = ca.display()
    );
    let (o, said) = intercept(
        &ns,
        8444,
        &b,
        &[
            "--variants",
            "wrong-host,expired,valid",
            "--ca",
            ca.to_str().unwrap(),
        ],
        &clients,
        4,
    );
    let ctx = format!("{}\nclients: {}", text(&o), text(&said));
    let r = json(&b.join("intercept.json"));
    let rec = |i: usize| r["records"][i]["outcome"].as_str().unwrap().to_string();
    assert!(
        matches!(rec(0).as_str(), "rejected" | "closed-after-handshake"),
        "curl, wrong host: {ctx}"
    );
    assert_eq!(rec(1), "rejected", "curl, expired: {ctx}");
    assert!(
        r["records"][1]["detail"]
            .as_str()
            .unwrap()
            .contains("Expired"),
        "{ctx}"
    );
    assert_eq!(rec(2), "accepted", "curl, valid control: {ctx}");
    assert_eq!(
        rec(3),
        "accepted",
        "s_client without a name check, wrong host: {ctx}"
    );

    // The results merge into a probe run (nothing sent): 5.5-1 fails on them.
    let m = dir.path().join("merged");
    let o = Command::new(bin())
        .args(["probe", "10.250.0.106", "--only", "none", "--intercept"])
        .arg(a.join("intercept.json"))
        .arg("--out")
        .arg(&m)
        .output()
        .expect("probe");
    assert_eq!(
        verdict(&json(&m.join("report.json")), "5.5-1"),
        "FAIL",
        "{}",
        text(&o)
    );
}

#[test]
fn outage_test_on_the_gateway() {
    let lab = Lab::new(24, 25);
    iotassure_testkit::require_tool("curl", "curl");
    iotassure_testkit::require_tool("nft", "nftables");
    iotassure_testkit::require_tool("tcpdump", "tcpdump");
    let _cloud = fx::busybox_httpd(&lab.internet_host(), 80, "cloud\n");
    let _ui = fx::busybox_httpd(&lab.device_host(), 80, "<html>thermostat</html>\n");
    // The device's cloud client retries every 0.1 s whatever happens (bounded: ≤ 400 tries).
    let _client = fx::background(
        &lab.device,
        "client",
        &format!(
            "i=0; while [ $i -lt 400 ]; do curl -s -o /dev/null -m 0.1 http://{}/; sleep 0.05; i=$((i+1)); done",
            lab.internet_ip
        ),
    );
    let dir = TempDir::new("outage");
    let st = dir.write(
        "statement.yaml",
        "ics_version: 1\nixit:\n  interfaces:\n    - { port: 80, service: http, authentication: none }\n  basic_functions:\n    - { description: local web UI, port: 80 }\n",
    );
    let run = |out: &Path| {
        Command::new(iotassure_testkit::require_tool("ip", "iproute2"))
            .args(["netns", "exec", &lab.gateway])
            .arg(bin())
            .args([
                "probe",
                &lab.device_ip.to_string(),
                "--ports",
                "80",
                "--no-udp",
                "--max-attempts",
                "2",
            ])
            .arg("--ics")
            .arg(&st)
            .args([
                "--outage-test",
                "--uplink",
                &lab.uplink,
                "--outage",
                "4",
                "--recovery",
                "4",
            ])
            .arg("--out")
            .arg(out)
            .output()
            .expect("probe runs")
    };
    let out = dir.path().join("ok");
    let o = run(&out);
    let ctx = text(&o);
    let report = json(&out.join("report.json"));
    assert_eq!(verdict(&report, "5.9-1"), "PASS", "{ctx}");
    assert_eq!(verdict(&report, "5.9-2"), "PASS", "{ctx}");
    // The client hammered the cloud while it was unreachable: the capture shows the flood.
    assert!(out.join("outage.pcap").is_file(), "{ctx}");
    assert_eq!(verdict(&report, "5.9-3"), "FAIL", "{ctx}");
    let probe = json(&out.join("probe.json"));
    let t = &probe["outage"]["targets"][0];
    assert_eq!(t["basic_function"], "local web UI", "{probe}");
    assert!(t["during_checks"].as_u64().unwrap() >= 2, "{probe}");
    assert_eq!(t["during_ok"], t["during_checks"], "{probe}");
    // The cut is gone, and the cloud is reachable again from the device.
    let tables = fx::netns_sh(&lab.gateway, "nft list tables");
    assert!(
        !String::from_utf8_lossy(&tables.stdout).contains("iotassure_outage"),
        "{tables:?}"
    );
    let back = fx::netns_sh(
        &lab.device,
        &format!("curl -s -m 2 http://{}/", lab.internet_ip),
    );
    assert_eq!(String::from_utf8_lossy(&back.stdout), "cloud\n");

    // A device whose web UI depends on the cloud: a watchdog stops it while the cloud is
    // unreachable and starts it again after (bounded loop).
    let www = dir.write("www/index.html", "<html>thermostat</html>\n");
    let watchdog = format!(
        "pid=''; i=0; while [ $i -lt 300 ]; do
           if curl -s -o /dev/null -m 0.3 http://{cloud}/; then
             [ -n \"$pid\" ] || {{ busybox httpd -f -p {dev}:8080 -h {www} & pid=$!; }}
           else
             [ -n \"$pid\" ] && {{ kill $pid; wait $pid; pid=''; }}
           fi
           sleep 0.2; i=$((i+1))
         done; [ -n \"$pid\" ] && kill $pid",
        cloud = lab.internet_ip,
        dev = lab.device_ip,
        www = www.parent().unwrap().display()
    );
    let _wd = fx::background(&lab.device, "watchdog", &watchdog);
    fx::wait_listening(Some(&lab.device), 8080, Duration::from_secs(10));
    let st2 = dir.write(
        "statement2.yaml",
        "ics_version: 1\nixit:\n  basic_functions:\n    - { description: local web UI, port: 8080 }\n",
    );
    let out2 = dir.path().join("dep");
    let o = Command::new(iotassure_testkit::require_tool("ip", "iproute2"))
        .args(["netns", "exec", &lab.gateway])
        .arg(bin())
        .args([
            "probe",
            &lab.device_ip.to_string(),
            "--ports",
            "8080",
            "--no-udp",
            "--max-attempts",
            "2",
        ])
        .arg("--ics")
        .arg(&st2)
        .args([
            "--outage-test",
            "--uplink",
            &lab.uplink,
            "--outage",
            "4",
            "--recovery",
            "8",
        ])
        .arg("--out")
        .arg(&out2)
        .output()
        .expect("probe runs");
    let ctx = text(&o);
    let report = json(&out2.join("report.json"));
    assert_eq!(verdict(&report, "5.9-1"), "FAIL", "{ctx}");
    let probe = json(&out2.join("probe.json"));
    assert!(
        probe["outage"]["targets"][0]["recovered_after_s"].is_number(),
        "it came back once the cloud was reachable: {probe}"
    );

    // Refusals: no interface named, an interface that does not exist.
    let o = Command::new(bin())
        .args(["probe", "10.250.0.98", "--outage-test", "--dry-run"])
        .output()
        .unwrap();
    assert!(
        !o.status.success() && text(&o).contains("--uplink"),
        "{}",
        text(&o)
    );
    let o = Command::new(bin())
        .args([
            "probe",
            "10.250.0.98",
            "--outage-test",
            "--uplink",
            "nosuchif0",
            "--dry-run",
        ])
        .output()
        .unwrap();
    assert!(
        !o.status.success() && text(&o).contains("no interface"),
        "{}",
        text(&o)
    );
}

#[test]
fn dry_run_lists_the_ixit_capture_and_outage_probes() {
    let dir = TempDir::new("dry-lab");
    let st = dir.write(
        "statement.yaml",
        "ics_version: 1\nixit:\n  interfaces:\n    - { port: 22, service: ssh }\n  connections:\n    - { host: update.example.com, protocol: https, purpose: update }\n  test_accounts:\n    - { service: ssh, username: lab, password: lab-pass }\n",
    );
    // A one-frame capture (pcap header + an empty Ethernet frame).
    let mut pcap = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    pcap.extend_from_slice(&65535u32.to_le_bytes());
    pcap.extend_from_slice(&1u32.to_le_bytes());
    pcap.extend_from_slice(&[0; 8]);
    pcap.extend_from_slice(&14u32.to_le_bytes());
    pcap.extend_from_slice(&14u32.to_le_bytes());
    pcap.extend_from_slice(&[0; 14]);
    let cap = dir.write("device.pcap", &pcap);
    let o = Command::new(bin())
        .args([
            "probe",
            "127.0.0.1",
            "--ports",
            "22",
            "--dry-run",
            "--bruteforce-test",
            "--ics",
        ])
        .arg(&st)
        .arg("--pcap")
        .arg(&cap)
        .args(["--outage-test", "--uplink", "lo", "--outage", "5"])
        .output()
        .expect("run");
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    for want in [
        "5.5-1-cap-traffic",
        "5.9-1-dev-outage",
        "5.5-4-dev-auth-access",
        "compared with the 1 interface(s) declared",
        "one login as `lab`",
        "nftables table `iotassure_outage_<pid>` drops forwarding through lo for 5 s",
        "against the connections declared in",
    ] {
        assert!(t.contains(want), "the plan says {want}:\n{t}");
    }
    // --only none: the capture alone, nothing sent.
    let o = Command::new(bin())
        .args([
            "probe",
            "127.0.0.1",
            "--only",
            "none",
            "--dry-run",
            "--pcap",
        ])
        .arg(&cap)
        .output()
        .expect("run");
    let t = text(&o);
    assert!(
        t.contains("1 probe(s)") && t.contains("5.5-1-cap-traffic"),
        "{t}"
    );
    assert!(!t.contains("5.6-1-dev-ports"), "{t}");
    // assess --dry-run reads the statement's IXIT too.
    let o = Command::new(bin())
        .args([
            "assess",
            "/nonexistent.bin",
            "--out",
            "/nonexistent-out",
            "--device",
            "127.0.0.1",
            "--ports",
            "22",
            "--dry-run",
            "--ics",
        ])
        .arg(&st)
        .output()
        .expect("run");
    let t = text(&o);
    assert!(
        o.status.success() && t.contains("5.5-4-dev-auth-access"),
        "{t}"
    );
}
