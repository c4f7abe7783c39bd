//! Credentials in microcontroller string tables (issue 11, round two). Each fixture lays out
//! the strings of a real image of the wider corpus in the order and spacing it has there, in
//! code-like filler, as Intel HEX flattened by the testkit reader:
//! - DVID_characteristics (ATmega328P + HM-10): HM-10 AT commands are not passwords; the
//!   password is the value inside "Password : Cow";
//! - Tasmota 6.6.0 / 8.5.0 (ESP8266): numbered names, form field names and option lists near
//!   "PASS1" are not passwords; the default MQTT login DVES_USER / DVES_PASS is;
//! - Contiki-NG 4.4 SNMP server (CC2538): the community "public" beside "Request with invalid
//!   community".

use std::path::Path;

use iotassure_core::finding::{Observations, Outcome};
use iotassure_core::progress::NoProgress;
use iotassure_core::tree::{Blob, BlobKind, Tree};
use iotassure_inspect::{inspect, Options};
use iotassure_testkit::inspect::{intel_hex, parse_intel_hex};

/// `strings` at their offsets (relative to the first), in AVR-like filler (`jmp` words).
fn flash_with(strings: &[(usize, &str)]) -> Vec<u8> {
    let mut flash = [0x0Cu8, 0x94, 0x47, 0x00].repeat(256);
    let start = flash.len();
    for (off, s) in strings {
        let at = start + off;
        if flash.len() < at {
            flash.resize(at, 0);
        }
        flash.truncate(at);
        flash.extend(s.as_bytes());
        flash.push(0);
    }
    flash.extend([0x0Cu8, 0x94, 0x47, 0x00].repeat(64));
    flash
}

fn inspect_hex(dir: &Path, flash: &[u8]) -> Observations {
    let (base, flat) = parse_intel_hex(&intel_hex(flash, 0));
    std::fs::write(dir.join("fw.bin"), &flat).unwrap();
    let tree = Tree {
        root: dir.to_path_buf(),
        entries: vec![],
        rootfs: vec![],
        blobs: vec![Blob {
            path: "fw.bin".into(),
            kind: BlobKind::McuFirmware,
            provenance: "image @0x0 ihex".into(),
            base_address: Some(base as u64),
        }],
    };
    inspect(&tree, &Options::default(), &NoProgress)
}

fn cred_fails(obs: &Observations) -> Vec<String> {
    obs.findings
        .iter()
        .filter(|f| f.outcome == Outcome::Fail && f.provisions.iter().any(|p| p == "5.1-1"))
        .map(|f| {
            assert!(f.heuristic, "string matches are heuristic: {}", f.title);
            f.title.clone()
        })
        .collect()
}

#[test]
fn hm10_at_commands_are_not_passwords_and_the_leaked_one_is_found() {
    // DVID_characteristics, flash 0x43CB..0x4444.
    let flash = flash_with(&[
        (0x00, "dvid-"),
        (0x06, "AT+IBEA0"),
        (0x0F, "AT+ROLE0"),
        (0x18, "AT+UUID0xFFE0"),
        (0x26, "AT+CHAR0xFFE1"),
        (0x34, "AT+NAME"),
        (0x3C, "AT+RESET"),
        (0x49, "Verbose mode = 1 on 0000ffe1"),
        (0x66, "Password : Cow"),
        (0x79, "Something is leaking on 0000ffe1"),
    ]);
    let t = tempfile::tempdir().unwrap();
    let got = cred_fails(&inspect_hex(t.path(), &flash));
    assert!(!got.iter().any(|t| t.contains("AT+")), "{got:?}");
    assert!(got.iter().any(|t| t.contains("\"Cow\"")), "{got:?}");
}

#[test]
fn tasmota_lists_are_not_passwords_and_the_mqtt_default_is() {
    // Tasmota 6.6.0, file 0x6D4CA.. (client, user, pass) and 0x6D982.. (web page strings).
    let flash = flash_with(&[
        (0x000, "DVES_%06X"),
        (0x00A, "DVES_USER"),
        (0x014, "DVES_PASS"),
        (0x100, "MqttHost|MqttPort|MqttRetry|StateText|MqttFingerprint|MqttClient|MqttUser|MqttPassword|FullTopic"),
        (0x4B8, "Toggle"),
        (0x4BF, "USER1"),
        (0x4C5, "PASS1"),
        (0x4CB, " style='width:200px'"),
        (0x4E0, "save"),
        (0x4E5, "Serial Out"),
        (0x4F0, "Button1"),
        (0x4F8, "Serial In"),
        (0x502, "Relay1"),
        (0x509, "Led1i"),
        (0x510, "TLSv1.2"),
        (0x518, "setRot90"),
        (0x521, "|||WPA-PSK||WPA2-PSK|WEP||keine|AUTO"),
        (0x56B, "user"),
        (0x570, "password"),
        (0x579, "<p><b>Password</b><input id='mp' type='password' placeholder='Password' value='****'></p>"),
    ]);
    let t = tempfile::tempdir().unwrap();
    let got = cred_fails(&inspect_hex(t.path(), &flash));
    for fp in [
        "Button1",
        "Relay1",
        "\"password\"",
        "TLSv1",
        "setRot90",
        "WPA-PSK",
        "USER1",
    ] {
        assert!(!got.iter().any(|t| t.contains(fp)), "{fp}: {got:?}");
    }
    assert!(
        got.iter()
            .any(|t| t.contains("MQTT") && t.contains("DVES_USER") && t.contains("DVES_PASS")),
        "{got:?}"
    );
    assert_eq!(got.len(), 1, "{got:?}");
}

#[test]
fn snmp_community_beside_its_check_is_a_credential() {
    // Contiki-NG snmp-server, file 0x7315..0x74DB.
    let flash = flash_with(&[
        (0x000, "Could not decode community"),
        (0x01C, "Invalid version"),
        (0x0EC, "SNMP"),
        (0x0F1, "Listening on port %u"),
        (0x16B, "SNMP Process"),
        (0x178, "public"),
        (0x17F, "SNMP [engine]"),
        (0x191, "Request with invalid community"),
        (0x1B1, "Invalid request type"),
        (0x1C6, "Main"),
    ]);
    let t = tempfile::tempdir().unwrap();
    let got = cred_fails(&inspect_hex(t.path(), &flash));
    assert!(
        got.iter().any(|t| t.contains("SNMP community \"public\"")),
        "{got:?}"
    );
    assert!(
        !got.iter()
            .any(|t| t.contains("Main") || t.contains("SNMP Process")),
        "{got:?}"
    );
    // Without the community check beside it, "public" is an ordinary word.
    let plain = flash_with(&[
        (0x000, "public"),
        (0x010, "SNMP Process"),
        (0x400, "Invalid version"),
    ]);
    let got = cred_fails(&inspect_hex(t.path(), &plain));
    assert!(got.is_empty(), "{got:?}");
}
