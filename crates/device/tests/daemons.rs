//! The probes against real daemons: each insecure configuration must FAIL on its provisions and a
//! hardened variant PASS on the same provisions. Daemons run on loopback addresses of their own
//! (127.x.y.z) or in network namespaces these tests create; all are stopped on drop.

use std::net::IpAddr;
use std::time::Duration;

use iotassure_core::finding::{Outcome, Source};
use iotassure_core::progress::NoProgress;
use iotassure_device::{probe, Credential, Options, Ports, ProbeOutcome};
use iotassure_testkit::device::{self as fx, Host, Netns, Telnet, Tls};

fn run(ip: IpAddr, ports: &[u16], tweak: impl FnOnce(&mut Options)) -> ProbeOutcome {
    let mut o = Options::new(ip, ip.to_string());
    o.ports = Ports::List(ports.to_vec());
    o.udp = false;
    o.io_timeout = Duration::from_millis(2500);
    tweak(&mut o);
    probe(&o, &NoProgress).expect("probe runs")
}

fn summary(o: &ProbeOutcome) -> String {
    o.observations
        .findings
        .iter()
        .map(|f| {
            format!(
                "  {:?} {} {:?} {}\n      {}",
                f.outcome,
                f.check,
                f.provisions,
                f.title,
                f.detail
                    .clone()
                    .unwrap_or_default()
                    .replace('\n', "\n      ")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn outcomes(o: &ProbeOutcome, prov: &str) -> Vec<Outcome> {
    o.observations
        .findings
        .iter()
        .filter(|f| f.source == Source::Device && f.provisions.iter().any(|p| p == prov))
        .map(|f| f.outcome)
        .collect()
}

#[track_caller]
fn assert_fail(o: &ProbeOutcome, prov: &str) {
    assert!(
        outcomes(o, prov).contains(&Outcome::Fail),
        "expected FAIL on {prov}; findings:\n{}",
        summary(o)
    );
}

#[track_caller]
fn assert_pass(o: &ProbeOutcome, prov: &str) {
    let v = outcomes(o, prov);
    assert!(
        v.contains(&Outcome::Pass) && !v.contains(&Outcome::Fail),
        "expected PASS (and no FAIL) on {prov}; findings:\n{}",
        summary(o)
    );
}

fn with_check<'a>(
    o: &'a ProbeOutcome,
    check: &str,
    outcome: Outcome,
) -> Vec<&'a iotassure_core::finding::Finding> {
    o.observations
        .findings
        .iter()
        .filter(|f| f.check == check && f.outcome == outcome)
        .collect()
}

#[test]
fn telnet_weak_account_fails_and_lockout_variant_passes_bruteforce() {
    fx::require_root();
    let weak_host = fx::loopback();
    let _weak = fx::telnetd(&weak_host, 23, Telnet::Weak);
    let lock_host = fx::loopback();
    let _lock = fx::telnetd(&lock_host, 23, Telnet::Lockout);

    let weak = run(weak_host.ip, &[23], |o| {
        o.bruteforce = true;
        o.bruteforce_attempts = 4;
    });
    assert_fail(&weak, "5.1-1");
    assert_fail(&weak, "5.5-7");
    assert_fail(&weak, "5.6-1");
    // busybox login: 3 s after each failure, no lockout, and admin:admin still works after.
    assert_fail(&weak, "5.1-5");
    let f = &with_check(&weak, "5.1-1-dev-default-creds", Outcome::Fail)[0];
    let transcript = format!("{:?}", f.evidence[0].location);
    assert!(
        transcript.contains("IOTA42SURE"),
        "the login is proven by a command's output: {transcript}"
    );

    let locked = run(lock_host.ip, &[23], |o| {
        o.bruteforce = true;
        o.known_logins = vec![Credential::new(
            fx::LOCKOUT_USER,
            fx::STRONG_PASSWORD,
            "--login",
        )];
    });
    assert_pass(&locked, "5.1-5");
    // The default-credential probe met the lockout, so it cannot claim every candidate refused.
    assert!(
        !outcomes(&locked, "5.1-1").contains(&Outcome::Pass)
            && !outcomes(&locked, "5.1-1").contains(&Outcome::Fail),
        "{}",
        summary(&locked)
    );
    assert!(
        outcomes(&locked, "5.1-1").contains(&Outcome::Inconclusive),
        "{}",
        summary(&locked)
    );
}

#[test]
fn telnet_without_login_is_an_open_shell() {
    fx::require_root();
    let host = fx::loopback();
    let _d = fx::telnetd(&host, 23, Telnet::NoLogin);
    let o = run(host.ip, &[23], |_| {});
    assert_fail(&o, "5.5-4");
    assert_fail(&o, "5.5-5");
    assert!(
        with_check(&o, "5.5-5-dev-unauth-config", Outcome::Fail)
            .iter()
            .any(|f| f.title.contains("shell without any login")),
        "{}",
        summary(&o)
    );
}

#[test]
fn dropbear_weak_password_fails_and_publickey_only_passes() {
    fx::require_root();
    let h1 = fx::loopback();
    let _weak = fx::dropbear(&h1, 22, true);
    let h2 = fx::loopback();
    let _hard = fx::dropbear(&h2, 22, false);

    let weak = run(h1.ip, &[22], |_| {});
    assert_fail(&weak, "5.1-1");
    assert_fail(&weak, "5.6-2"); // SSH-2.0-dropbear_2022.83
    let hard = run(h2.ip, &[22], |_| {});
    assert_pass(&hard, "5.1-1");
    assert_pass(&hard, "5.5-4");
    let s = &hard.services[0];
    assert!(
        s.ssh
            .as_ref()
            .is_some_and(|k| k.kex.iter().any(|a| a.starts_with("curve25519"))),
        "KEXINIT read: {:?}",
        s.ssh
    );
}

#[test]
fn ssh_client_speaks_every_algorithm_it_offers_with_openssh() {
    fx::require_root();
    for (cipher, mac, kex) in [
        ("aes128-ctr", "hmac-sha2-256", "ecdh-sha2-nistp256"),
        ("aes256-ctr", "hmac-sha1", "ecdh-sha2-nistp384"),
        (
            "chacha20-poly1305@openssh.com",
            "hmac-sha2-256",
            "curve25519-sha256",
        ),
    ] {
        let h = fx::loopback();
        let _d = fx::openssh(&h, 22, cipher, mac, kex);
        let o = run(h.ip, &[22], |o| o.max_attempts = 3);
        let negotiated = o
            .log
            .iter()
            .find(|e| e.data.starts_with("negotiated"))
            .map(|e| e.data.clone())
            .unwrap_or_default();
        assert!(
            negotiated.contains(kex) && negotiated.contains(cipher),
            "{negotiated}"
        );
        assert_fail(&o, "5.1-1"); // admin:admin accepted: the whole transport worked
    }
}

#[test]
fn lighttpd_weak_fails_and_hardened_passes() {
    fx::require_root();
    let h1 = fx::loopback();
    let _weak = fx::lighttpd(&h1, 80, true);
    let h2 = fx::loopback();
    let _hard = fx::lighttpd(&h2, 80, false);

    let weak = run(h1.ip, &[80], |o| {
        o.fuzz = true;
        o.max_attempts = 6;
    });
    assert_fail(&weak, "5.1-1"); // admin:admin on /admin
    assert_fail(&weak, "5.6-2"); // Server: lighttpd/1.4.x
    assert_fail(&weak, "5.5-4"); // /backup.cfg served without login
    assert_fail(&weak, "5.5-7"); // Basic auth over cleartext HTTP
    assert_fail(&weak, "5.13-1"); // the CGI reflects its query
    assert!(
        weak.documents
            .iter()
            .any(|(u, t)| u.ends_with("/.well-known/security.txt") && t.contains("Expires: 2021")),
        "the device's security.txt is handed to the document checks: {:?}",
        weak.documents
    );

    let hard = run(h2.ip, &[80], |o| {
        o.fuzz = true;
        o.max_attempts = 6;
    });
    assert_pass(&hard, "5.1-1");
    assert_pass(&hard, "5.6-2");
    assert_pass(&hard, "5.13-1");
    assert!(
        outcomes(&hard, "5.5-4").iter().all(|x| *x != Outcome::Fail),
        "{}",
        summary(&hard)
    );
    assert!(
        hard.documents.iter().any(|(_, t)| t.contains("Policy:")),
        "{:?}",
        hard.documents
    );
}

#[test]
fn mosquitto_anonymous_fails_and_password_file_passes() {
    fx::require_root();
    let h1 = fx::loopback();
    let _anon = fx::mosquitto(&h1, 1883, true);
    let h2 = fx::loopback();
    let _auth = fx::mosquitto(&h2, 1883, false);

    let anon = run(h1.ip, &[1883], |_| {});
    assert_fail(&anon, "5.5-4");
    assert_fail(&anon, "5.6-2"); // $SYS/broker/version to anonymous clients
    let auth = run(h2.ip, &[1883], |o| {
        o.bruteforce = true;
        o.known_logins = vec![Credential::new("iotuser", fx::STRONG_PASSWORD, "--login")];
    });
    assert_pass(&auth, "5.5-4");
    assert_pass(&auth, "5.1-1");
    assert_pass(&auth, "5.6-2");
    // mosquitto has no brute-force protection: thousands of guesses a second, login still works.
    assert_fail(&auth, "5.1-5");
}

#[test]
fn tls_weak_servers_fail_and_modern_passes() {
    fx::require_root();
    let h = fx::loopback();
    let _a = fx::s_server(&h, 4431, Tls::Tls10Rsa1024Sha1);
    let _b = fx::s_server(&h, 4432, Tls::NullAnon);
    let _c = fx::s_server(&h, 443, Tls::Modern);

    let old = run(h.ip, &[4431], |_| {});
    assert_fail(&old, "5.5-1");
    assert_fail(&old, "TEC-5-no-downgrade");
    let t = &old.tls[0];
    assert_eq!(t.versions, vec!["TLS 1.0"]);
    let c = t
        .cert
        .as_ref()
        .expect("certificate read from the TLS 1.0 flight");
    assert_eq!(
        (c.key_bits, c.signature.as_str(), c.self_signed),
        (1024, "sha1WithRSAEncryption", true)
    );

    let null = run(h.ip, &[4432], |_| {});
    assert_fail(&null, "5.5-1");
    assert_fail(&null, "5.5-7");
    let t = &null.tls[0];
    let weak: Vec<&str> = t
        .weak_suites()
        .iter()
        .map(|(_, s)| s.name.as_str())
        .collect();
    assert!(
        weak.iter().any(|n| n.contains("NULL")) && weak.iter().any(|n| n.contains("anon")),
        "{weak:?}"
    );
    assert!(t.accepts(0x0301) && t.accepts(0x0304));
    assert_eq!(
        t.fallback_scsv_refused,
        Some(true),
        "OpenSSL honours TLS_FALLBACK_SCSV"
    );

    let modern = run(h.ip, &[443], |_| {});
    assert_pass(&modern, "5.5-1");
    assert_pass(&modern, "5.8-1");
    assert_pass(&modern, "TEC-5-no-downgrade");
    let t = &modern.tls[0];
    assert_eq!(t.versions, vec!["TLS 1.2", "TLS 1.3"]);
    assert!(t.weak_suites().is_empty());
    assert_eq!(
        modern.services[0].name(),
        "https",
        "HTTPS identified through rustls"
    );
}

#[test]
fn ssdp_responder_discloses_versions() {
    fx::require_root();
    let h = fx::loopback();
    let _r = fx::ssdp_responder(&h, 49152);
    let o = run(h.ip, &[49152], |o| o.udp = true);
    let ssdp = o
        .services
        .iter()
        .find(|s| s.udp && s.port == 1900)
        .unwrap_or_else(|| panic!("SSDP answered unicast: {:?}", o.udp));
    assert!(
        ssdp.info
            .iter()
            .any(|(k, v)| k == "modelNumber" && v == "FW 4.2.1"),
        "description fetched: {:?}",
        ssdp.info
    );
    assert_fail(&o, "5.6-2");
    assert!(
        with_check(&o, "5.6-2-dev-banners", Outcome::Fail)
            .iter()
            .any(|f| f.title.contains("Linux/5.10.0-iot")),
        "{}",
        summary(&o)
    );
}

#[test]
fn miniupnpd_in_a_namespace_fails_unauthenticated_igd_and_full_scan_sees_only_it() {
    let ns = Netns::new(1);
    let _mu = fx::miniupnpd(&ns, 1);
    let o = run(IpAddr::V4(ns.device_ip), &[], |o| {
        o.ports = Ports::All;
        o.udp = true;
    });
    assert_eq!(o.scan.ports_total, 65535);
    assert_eq!(
        o.scan.open,
        vec![5000],
        "only miniupnpd's HTTP port is open in the namespace"
    );
    assert_fail(&o, "5.5-5"); // GetExternalIPAddress without authentication
    assert_fail(&o, "5.6-2"); // Server header with the OS and kernel version
    let server = o
        .services
        .iter()
        .find(|s| s.port == 1900 && s.udp)
        .and_then(|s| s.banner.clone())
        .unwrap_or_default();
    assert!(server.contains("MiniUPnPd/"), "{server}");
}

#[test]
fn probes_touch_only_the_target() {
    fx::require_root();
    let target: Host = fx::loopback();
    let _d = fx::mosquitto(&target, 1883, true);
    let o = run(target.ip, &[1883, 1884], |o| o.udp = true);
    assert!(
        o.log.iter().all(|e| e.host == target.ip.to_string()),
        "every logged exchange is with the target"
    );
    assert!(
        o.log
            .iter()
            .any(|e| e.dir == "sent" && e.data.contains("MQTT")),
        "the log keeps the bytes sent"
    );
}

#[test]
fn declared_interfaces_decide_5_6_1() {
    fx::require_root();
    let h = fx::loopback();
    let _d = fx::mosquitto(&h, 1883, false);
    let ok = run(h.ip, &[1883, 8883], |o| {
        o.declared.add_expected(&[(1883, false)]);
        o.max_attempts = 3;
    });
    assert_pass(&ok, "5.6-1");
    assert_pass(&ok, "5.6-5");
    let bad = run(h.ip, &[1883], |o| {
        o.declared.add_expected(&[(8883, false)]);
        o.max_attempts = 3;
    });
    assert_fail(&bad, "5.6-1");
    // Without the maker's list there is nothing to pass 5.6-1 against.
    let none = run(h.ip, &[1883], |o| o.max_attempts = 3);
    assert!(
        !outcomes(&none, "5.6-1").contains(&Outcome::Pass),
        "{}",
        summary(&none)
    );
}

#[test]
fn fuzz_covers_ssh_and_names_services_it_cannot_test() {
    fx::require_root();
    let h = fx::loopback();
    let _ssh = fx::dropbear(&h, 2222, false);
    let ssh = run(h.ip, &[2222], |o| o.fuzz = true);
    // dropbear refuses every malformed identification and packet and keeps answering.
    let pass = ssh
        .observations
        .findings
        .iter()
        .find(|f| f.outcome == Outcome::Pass && f.provisions == ["5.13-1"])
        .unwrap_or_else(|| panic!("{}", summary(&ssh)));
    assert!(
        pass.detail
            .as_deref()
            .unwrap_or("")
            .contains("KEXINIT name-list of 2 GiB"),
        "{}",
        summary(&ssh)
    );
    // The verdict names what it rests on: a fixed, bounded case set, not fuzzing.
    let d = pass.detail.as_deref().unwrap_or("");
    assert!(
        d.contains("bounded case set (") && d.contains("not coverage-guided fuzzing"),
        "{d}"
    );
    // An SSDP responder has no case set: 5.13-1 cannot pass over it.
    let u = fx::loopback();
    let _ssdp = fx::ssdp_responder(&u, 8089);
    let o = run(u.ip, &[8089], |o| {
        o.fuzz = true;
        o.udp = true;
    });
    let v = outcomes(&o, "5.13-1");
    assert!(
        !v.contains(&Outcome::Pass) && v.contains(&Outcome::Inconclusive),
        "{}",
        summary(&o)
    );
}

#[test]
fn a_host_key_shared_by_two_units_fails_5_4_3_and_a_per_device_key_does_not() {
    use iotassure_device::checks::identity::OtherUnit;
    fx::require_root();
    let keys = fx::TempDir::new("shared-key");
    let shared = keys.path().join("host_key");
    fx::dropbear_key(&shared);
    let (h1, h2, h3) = (fx::loopback(), fx::loopback(), fx::loopback());
    let _a = fx::dropbear_keyed(&h1, 22, false, Some(&shared));
    let _b = fx::dropbear_keyed(&h2, 22, false, Some(&shared));
    let _c = fx::dropbear_keyed(&h3, 22, false, None);

    let a = run(h1.ip, &[22], |_| {});
    let prints = with_check(&a, "5.4-3-dev-key-identity", Outcome::Info);
    assert!(
        prints
            .iter()
            .any(|f| f.title.contains("ssh-ed25519 SHA256:")),
        "the host key fingerprint is recorded:\n{}",
        summary(&a)
    );
    assert!(outcomes(&a, "5.4-3").iter().all(|o| *o != Outcome::Fail));
    let unit_a = OtherUnit::from_findings("unit A".into(), &a.observations.findings);
    assert_eq!(unit_a.keys.len(), 1, "{unit_a:?}");

    let b = run(h2.ip, &[22], |o| o.other_unit = Some(unit_a.clone()));
    assert_fail(&b, "5.4-3");
    assert!(
        with_check(&b, "5.4-3-dev-key-identity", Outcome::Fail)
            .iter()
            .any(|f| f.title.contains("same on another unit (unit A)")),
        "{}",
        summary(&b)
    );
    let c = run(h3.ip, &[22], |o| o.other_unit = Some(unit_a.clone()));
    assert!(
        !outcomes(&c, "5.4-3").contains(&Outcome::Fail),
        "a per-device key is not a shared one:\n{}",
        summary(&c)
    );
    assert!(with_check(&c, "5.4-3-dev-key-identity", Outcome::Info)
        .iter()
        .any(|f| f.title.contains("differs from the other unit")));

    // TS 103 701 5.4-3-2a: the same two comparisons held against an IXIT that declares the
    // host key per device (`5.4-3-ixit-provisioning`).
    let st = iotassure_assess::statement::LoadedStatement::parse(
        "unit.ics.yaml",
        "ics_version: 1\nixit:\n  security_parameters:\n    - { name: SSH host key, kind: ssh_host_key, provisioning: per_device }\n",
    )
    .expect("statement");
    let judged = |o: &iotassure_device::ProbeOutcome| {
        iotassure_assess::provisioning::judge(Some(&st), &o.observations).findings
    };
    let shared = judged(&b);
    assert!(
        shared.iter().any(|f| f.outcome == Outcome::Fail
            && f.title.starts_with("SSH host key (declared per_device")
            && f.title.contains("same on two units")),
        "{shared:#?}"
    );
    let own = judged(&c);
    assert!(
        own.iter()
            .any(|f| f.outcome == Outcome::Pass && f.title.contains("differs between two units")),
        "{own:#?}"
    );
    assert!(!own.iter().any(|f| f.outcome == Outcome::Fail), "{own:#?}");
}
