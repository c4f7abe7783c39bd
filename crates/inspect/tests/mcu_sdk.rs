//! Microcontroller firmware judged end to end: an ESP8266 flash dump laid out per esptool's
//! format description, unpacked by the real unpacker (every image, every segment), then
//! inspected. The SDK and its version become components; compiled-in MQTT credentials, a
//! plain-HTTP OTA URL, a login-free serial interpreter and the single privilege level of the
//! SDK become findings; the web-form and format strings of a real Tasmota build do not.

use std::path::Path;

use iotassure_core::facts::FactKey;
use iotassure_core::finding::{Observations, Outcome};
use iotassure_core::progress::NoProgress;
use iotassure_inspect::{inspect, Options};

/// An ESP8266 image (0xE9, no extended header): segments, then the checksum byte.
fn esp8266_image(entry: u32, segments: &[(u32, Vec<u8>)]) -> Vec<u8> {
    let mut img = vec![0xe9, segments.len() as u8, 2, 0x20];
    img.extend(entry.to_le_bytes());
    let mut sum = 0xefu8;
    for (load, data) in segments {
        img.extend(load.to_le_bytes());
        img.extend((data.len() as u32).to_le_bytes());
        img.extend(data);
        sum = data.iter().fold(sum, |a, &b| a ^ b);
    }
    while img.len() % 16 != 15 {
        img.push(0);
    }
    img.push(sum);
    img
}

/// Code-like filler with NUL-separated strings spliced in the middle.
fn code_with(strings: &[&str], seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut v: Vec<u8> = (0..24_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8 & 0x7f | 0x80
        })
        .collect();
    let mut s = vec![0u8];
    for t in strings {
        s.extend(t.as_bytes());
        s.push(0);
    }
    v.splice(12_000..12_000, s);
    v
}

fn ram() -> Vec<(u32, Vec<u8>)> {
    vec![
        (0x4010_0000, code_with(&[], 2)),
        (0x3ffe_8000, vec![0u8; 600]),
    ]
}

fn assess(dir: &Path, name: &str, img: &[u8]) -> Observations {
    let p = dir.join(name);
    std::fs::write(&p, img).unwrap();
    let u = iotassure_unpack::unpack(
        &p,
        &dir.join(format!("{name}.out")),
        &Default::default(),
        &NoProgress,
    )
    .expect("unpacks");
    let opts = Options {
        crack_budget: std::time::Duration::from_secs(1),
        ..Default::default()
    };
    inspect(&u.tree, &opts, &NoProgress)
}

fn fails(obs: &Observations, prov: &str) -> Vec<String> {
    obs.findings
        .iter()
        .filter(|f| f.outcome == Outcome::Fail && f.provisions.iter().any(|p| p == prov))
        .map(|f| f.title.clone())
        .collect()
}

fn component(obs: &Observations, name: &str) -> Option<String> {
    obs.components
        .iter()
        .find(|c| c.name == name)
        .map(|c| c.version.clone())
}

#[test]
fn arduino_layout_app_at_0x1000_with_mqtt_and_http_ota() {
    let t = tempfile::tempdir().unwrap();
    let irom = code_with(
        &[
            "SDK ver: %s compiled @ Jul  3 2019 15:53:05",
            "2.2.2-dev(38a443e)",
            "x-ESP8266-sdk-version",
            "mqtt://plug:Plug2019!@broker.vendor-cloud.example:1883",
            "http://ota.vendor-cloud.example/firmware/plug-1.4.bin",
        ],
        7,
    );
    let mut app_segs = vec![(0x4020_1010, irom)];
    app_segs.extend(ram());
    let mut img = esp8266_image(
        0x4010_f3e4,
        &[(0x4010_f000, code_with(&[], 3)[..3000].to_vec())],
    );
    img.resize(0x1000, 0xff);
    img.extend(esp8266_image(0x4010_00b8, &app_segs));
    let obs = assess(t.path(), "plug.bin", &img);
    // Found only in the application at 0x1000: the bootloader holds none of it.
    assert_eq!(
        component(&obs, "esp8266-nonos-sdk").as_deref(),
        Some("2.2.2-dev")
    );
    let creds = fails(&obs, "5.1-1");
    assert!(
        creds.iter().any(|t| t.contains("plug:Plug2019!")),
        "{creds:?}"
    );
    let ota = fails(&obs, "5.5-1");
    assert!(
        ota.iter()
            .any(|t| t.contains("http://ota.vendor-cloud.example/firmware/plug-1.4.bin")),
        "{ota:?}"
    );
    assert!(obs
        .facts
        .iter()
        .any(|f| f.key == FactKey::UpdatesOverNetwork && f.value));
    let privilege = fails(&obs, "5.6-7");
    assert!(
        privilege.iter().any(|t| t.contains("esp8266-nonos-sdk")),
        "{privilege:?}"
    );
    assert!(
        fails(&obs, "5.6-4").is_empty(),
        "no interpreter on this image"
    );
}

#[test]
fn nodemcu_plain_layout_with_a_lua_prompt_and_an_mqtt_password_key() {
    let t = tempfile::tempdir().unwrap();
    let irom = code_with(
        &[
            "NodeMCU 2.2.1 build 20200101 powered by Lua 5.1.4 on SDK 2.2.1(6ab97e9)",
            "@init.lua",
            "MQTT_PASS",
            "Pl4ntW4ter",
        ],
        11,
    );
    let mut img = esp8266_image(0x4010_0004, &ram());
    img.resize(0x10000, 0xff);
    img.extend(&irom);
    img.resize(0x80000, 0xff);
    let obs = assess(t.path(), "nodemcu.bin", &img);
    assert_eq!(
        component(&obs, "nodemcu-firmware").as_deref(),
        Some("2.2.1")
    );
    assert_eq!(component(&obs, "lua").as_deref(), Some("5.1.4"));
    let repl = fails(&obs, "5.6-4");
    assert!(repl.iter().any(|t| t.contains("Lua")), "{repl:?}");
    assert!(obs
        .facts
        .iter()
        .any(|f| f.key == FactKey::DebugInterfaceAccessible && f.value));
    let creds = fails(&obs, "5.1-1");
    assert!(creds.iter().any(|t| t.contains("Pl4ntW4ter")), "{creds:?}");
}

#[test]
fn tasmota_web_form_and_format_strings_are_not_findings() {
    // Strings of a real Tasmota 6.x build: a placeholder user name in the MQTT form, a
    // key list, URL formats. None is a credential or an OTA URL.
    let t = tempfile::tempdir().unwrap();
    let irom = code_with(
        &[
            "<p><b>User</b> (DVES_USER)<br><input id='mu' placeholder='DVES_USER' value='%s'></p>",
            "|MqttUser|MqttPassword|MqttHost|MqttPort|MqttRetry|",
            "LOCATION: http://%s:80/setup.xml",
            "http://",
            "<input id='o' placeholder='OTA_URL' value='%s'>",
            "MqttPassword",
            "Password",
        ],
        13,
    );
    let mut app_segs = vec![(0x4020_1010, irom)];
    app_segs.extend(ram());
    let mut img = esp8266_image(
        0x4010_f3e4,
        &[(0x4010_f000, code_with(&[], 3)[..3000].to_vec())],
    );
    img.resize(0x1000, 0xff);
    img.extend(esp8266_image(0x4010_00b8, &app_segs));
    let obs = assess(t.path(), "tasmota-like.bin", &img);
    for p in ["5.1-1", "5.5-1", "5.6-4"] {
        assert!(fails(&obs, p).is_empty(), "{p}: {:?}", fails(&obs, p));
    }
    // No version string, no 5.6-7 claim.
    assert!(fails(&obs, "5.6-7").is_empty());
}
