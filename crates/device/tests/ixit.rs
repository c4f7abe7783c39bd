//! The probes against the maker's IXIT (the statement's implementation information): undeclared
//! ports and services, authentication mechanisms other than the declared ones, declared test
//! accounts that log in (5.5-4-2b) and serve as the brute-force test's known-good login (5.1-5).
//! Real daemons on loopback addresses of their own.

use std::net::IpAddr;
use std::time::Duration;

use iotassure_core::finding::{Finding, Outcome, Source};
use iotassure_core::ixit::Ixit;
use iotassure_core::progress::NoProgress;
use iotassure_device::{probe, Options, Ports, ProbeOutcome};
use iotassure_testkit::device::{self as fx};

fn ixit(yaml: &str) -> Ixit {
    serde_yaml_ng::from_str(yaml).expect("IXIT parses")
}

fn run(ip: IpAddr, ports: &[u16], ix: &Ixit, tweak: impl FnOnce(&mut Options)) -> ProbeOutcome {
    let mut o = Options::new(ip, ip.to_string());
    o.ports = Ports::List(ports.to_vec());
    o.udp = false;
    o.max_attempts = 4;
    o.io_timeout = Duration::from_millis(2500);
    o.declared.add_ixit(ix, "statement.yaml");
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

fn find<'a>(o: &'a ProbeOutcome, check: &str, outcome: Outcome) -> Vec<&'a Finding> {
    o.observations
        .findings
        .iter()
        .filter(|f| f.check == check && f.outcome == outcome && f.source == Source::Device)
        .collect()
}

fn outcomes(o: &ProbeOutcome, prov: &str) -> Vec<Outcome> {
    o.observations
        .findings
        .iter()
        .filter(|f| f.provisions.iter().any(|p| p == prov))
        .map(|f| f.outcome)
        .collect()
}

#[test]
fn mqtt_authentication_against_the_declaration_and_test_accounts() {
    fx::require_root();
    let h = fx::loopback();
    let _d = fx::mosquitto(&h, 1883, false);

    // Declared without authentication, but the broker asks for a password: an undocumented
    // mechanism (5.1-1-2a).
    let none = run(
        h.ip,
        &[1883],
        &ixit("interfaces:\n  - { port: 1883, service: mqtt, authentication: none }\n"),
        |_| {},
    );
    let f = find(&none, "5.1-1-dev-auth-declared", Outcome::Fail);
    assert!(
        f.iter()
            .any(|f| f.provisions == ["5.1-1"] && f.title.contains("asks for credentials")),
        "{}",
        summary(&none)
    );

    // Declared with a password and a test account that works: no mismatch, and 5.5-4 passes with
    // access both refused without authentication and granted with it.
    let good = run(
        h.ip,
        &[1883],
        &ixit(&format!(
            "interfaces:\n  - {{ port: 1883, service: mqtt, authentication: password }}\ntest_accounts:\n  - {{ service: mqtt, username: iotuser, password: \"{}\" }}\n",
            fx::STRONG_PASSWORD
        )),
        |_| {},
    );
    assert!(
        find(&good, "5.1-1-dev-auth-declared", Outcome::Fail).is_empty(),
        "{}",
        summary(&good)
    );
    // The match itself is a verdict for 5.1-1-2a, not an Info.
    assert!(
        good.observations
            .findings
            .iter()
            .any(|f| f.provisions == ["5.1-1"]
                && f.outcome == Outcome::Pass
                && f.detail
                    .as_deref()
                    .unwrap_or("")
                    .contains("5.1-1-2a: the authentication mechanism seen is the documented one")),
        "{}",
        summary(&good)
    );
    let pass = good
        .observations
        .findings
        .iter()
        .find(|f| f.outcome == Outcome::Pass && f.provisions == ["5.5-4"])
        .unwrap_or_else(|| panic!("5.5-4 passes:\n{}", summary(&good)));
    assert!(
        pass.detail
            .as_deref()
            .unwrap_or("")
            .contains("test account `iotuser` logs in"),
        "{}",
        summary(&good)
    );
    let unit = find(&good, "5.5-4-dev-auth-access", Outcome::Info);
    assert!(!unit.is_empty(), "{}", summary(&good));

    // A declared test account the device refuses: access with authentication is not shown, so
    // 5.5-4 cannot pass.
    let refused = run(
        h.ip,
        &[1883],
        &ixit("interfaces:\n  - { port: 1883, service: mqtt, authentication: password }\ntest_accounts:\n  - { service: mqtt, username: iotuser, password: not-the-password }\n"),
        |_| {},
    );
    let v = outcomes(&refused, "5.5-4");
    assert!(
        !v.contains(&Outcome::Pass) && v.contains(&Outcome::Inconclusive),
        "{}",
        summary(&refused)
    );

    // The test account is the brute-force test's known-good login: no lockout, still accepted.
    let bf = run(
        h.ip,
        &[1883],
        &ixit(&format!(
            "test_accounts:\n  - {{ service: mqtt, port: 1883, username: iotuser, password: \"{}\" }}\n",
            fx::STRONG_PASSWORD
        )),
        |o| {
            o.bruteforce = true;
            o.bruteforce_attempts = 6;
        },
    );
    let f = find(&bf, "5.1-5-dev-bruteforce", Outcome::Fail);
    assert!(
        f.iter()
            .any(|f| f.detail.as_deref().unwrap_or("").contains("iotuser")),
        "{}",
        summary(&bf)
    );
}

#[test]
fn anonymous_broker_declared_with_a_password_fails_5_5_4() {
    fx::require_root();
    let h = fx::loopback();
    let _d = fx::mosquitto(&h, 1883, true);
    let o = run(
        h.ip,
        &[1883],
        &ixit("interfaces:\n  - { port: 1883, service: mqtt, authentication: password }\n"),
        |_| {},
    );
    let f = find(&o, "5.1-1-dev-auth-declared", Outcome::Fail);
    assert!(
        f.iter()
            .any(|f| f.provisions == ["5.5-4"] && f.title.contains("lets anyone in")),
        "{}",
        summary(&o)
    );
}

#[test]
fn ssh_keys_only_declared_as_password_and_undeclared_port() {
    fx::require_root();
    let h = fx::loopback();
    let _ssh = fx::dropbear(&h, 2222, false);
    let _web = fx::lighttpd(&h, 8080, false);
    let o = run(
        h.ip,
        &[2222, 8080],
        &ixit("interfaces:\n  - { port: 2222, service: ssh, authentication: password }\n"),
        |_| {},
    );
    // Keys only, where the maker documents passwords: the mechanism is not the documented one.
    assert!(
        find(&o, "5.1-1-dev-auth-declared", Outcome::Fail)
            .iter()
            .any(|f| f.title.contains("authenticates differently")),
        "{}",
        summary(&o)
    );
    // 8080 is open but not declared: 5.6-1 and 5.13-1 (an undocumented API), and its login form
    // or Basic challenge is an undeclared authentication mechanism.
    let ports = find(&o, "5.6-1-dev-ports", Outcome::Fail);
    assert!(
        ports
            .iter()
            .any(|f| f.title.contains("8080") && f.provisions.iter().any(|p| p == "5.13-1")),
        "{}",
        summary(&o)
    );
    // Components: dropbear's version from its identification string, with a CPE.
    let c = o
        .observations
        .components
        .iter()
        .find(|c| c.name == "dropbear")
        .unwrap_or_else(|| panic!("components: {:?}", o.observations.components));
    assert!(c
        .cpe
        .as_deref()
        .unwrap_or("")
        .starts_with("cpe:2.3:a:dropbear_ssh_project:dropbear_ssh:"));
    assert_eq!(c.method, "ssh-version");
    assert!(matches!(
        c.evidence[0].location,
        iotassure_core::finding::Location::Network { port: 2222, .. }
    ));
}

#[test]
fn web_ui_declared_https_but_cleartext_fails_5_5_1() {
    fx::require_root();
    let h = fx::loopback();
    let _web = fx::lighttpd(&h, 8443, true);
    let o = run(
        h.ip,
        &[8443],
        &ixit("interfaces:\n  - { port: 8443, service: https, purpose: web UI, authentication: password }\n"),
        |_| {},
    );
    let f = find(&o, "5.6-1-dev-ports", Outcome::Fail);
    assert!(
        f.iter().any(|f| f.provisions.iter().any(|p| p == "5.5-1")
            && f.title.contains("declared as `https`")),
        "{}",
        summary(&o)
    );
    // lighttpd/1.4.x in its Server header is a component too (for the known-vulnerability pass).
    assert!(
        o.observations
            .components
            .iter()
            .any(|c| c.name == "lighttpd" && c.method.contains("http-server")),
        "{:?}",
        o.observations.components
    );
}

#[test]
fn mechanism_that_cannot_be_told_keeps_5_1_1_inconclusive() {
    fx::require_root();
    let h = fx::loopback();
    // A web server whose pages show no login at all: the declared password cannot be seen.
    let _web = fx::busybox_httpd(&h, 8080, "<html><body>status</body></html>");
    let o = run(
        h.ip,
        &[8080],
        &ixit("interfaces:\n  - { port: 8080, service: http, authentication: password }\n"),
        |_| {},
    );
    assert!(
        o.observations
            .findings
            .iter()
            .any(|f| f.provisions == ["5.1-1"]
                && f.outcome == Outcome::Inconclusive
                && f.detail
                    .as_deref()
                    .unwrap_or("")
                    .contains("5.1-1-2a: could not tell")),
        "{}",
        summary(&o)
    );
    assert!(
        !o.observations
            .findings
            .iter()
            .any(|f| f.provisions == ["5.1-1"] && f.outcome == Outcome::Pass),
        "{}",
        summary(&o)
    );
}
