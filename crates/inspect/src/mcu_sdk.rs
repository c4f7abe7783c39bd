//! Microcontroller and RTOS firmware (flat images: ESP app segments, ESP8266 irom0, Intel HEX,
//! decompressed RTOS programs): which SDK or RTOS it is built on, and at which version, from
//! the strings the SDK itself compiles in; and what such firmware commonly gets wrong.
//!
//! Identification (components, for 5.3 and 5.2-3):
//! - ESP8266 NONOS SDK: `system_get_sdk_version()` returns `2.2.0(f28eaf2)`, a version and a
//!   7-8 digit git hash, printed after "SDK ver: %s";
//! - NodeMCU: its banner `NodeMCU 0.9.5 build 20150214  powered by Lua 5.1.4`;
//! - MicroPython: `MicroPython v1.19.1 on 2022-06-18; …`;
//! - the Arduino ESP8266 core compiles in no version of its own: the NONOS SDK under it is
//!   what is reported;
//! - RTOS banners: ThreadX (`ThreadX … Version G5.8.5.0`), FreeRTOS (`FreeRTOS Kernel V10.4.3`),
//!   VxWorks (`VxWorks 5.5.1`), uC/OS-II, eCos.
//!
//! Findings:
//! - 5.6-7: these SDKs and RTOS kernels run every task in one address space at one privilege
//!   level (no MMU, no user mode), so nothing runs with least privilege. Judged only where the
//!   platform is identified by name; an SDK that can isolate tasks (FreeRTOS-MPU, VxWorks RTPs)
//!   is not judged.
//! - 5.6-4: an interpreter on the serial port with no login (NodeMCU's Lua prompt, MicroPython's
//!   REPL) is a debug interface handed to anyone with the UART pins.
//! - 5.1-1: MQTT credentials compiled in (`mqtt://user:pass@host`, or a password value right
//!   after an MQTT password key in the string table).
//! - 5.5-1: a plain-HTTP URL for firmware (OTA) downloads.
//!
//! Each is a pattern match on strings and is marked heuristic.

use iotassure_core::facts::{FactKey, InferredFact};
use iotassure_core::finding::{
    Evidence, Finding, Location, Observations, Outcome, Severity, Source,
};
use iotassure_core::tree::BlobKind;

use crate::checks::Check;
use crate::Ctx;

pub const CHECK: Check = Check {
    id: "5.6-fw-mcu-sdk",
    provisions: &["5.1-1", "5.5-1", "5.6-4", "5.6-7"],
    run,
};

/// An SDK, RTOS or runtime identified in a firmware image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// Component name (lower case, as advisories name it).
    pub name: &'static str,
    pub version: String,
    /// Offset of the string in the blob.
    pub offset: usize,
    pub excerpt: String,
    /// All its tasks share one privilege level and address space.
    pub single_privilege: bool,
}

/// Printable ASCII runs of 4 bytes or more: (offset, text).
fn strings(data: &[u8]) -> Vec<(usize, &str)> {
    crate::text::printable_runs(data, 4)
}

/// The version right after `prefix` in `s`: digits and dots (at least "N.N").
fn version_after<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let at = s.find(prefix)? + prefix.len();
    let rest = &s[at..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let v = rest[..end].trim_end_matches('.');
    (v.contains('.') && v.starts_with(|c: char| c.is_ascii_digit())).then_some(v)
}

/// `2.2.0(f28eaf2)` or `2.2.2-dev(38a443e)`: the NONOS SDK's version string.
fn nonos_version(s: &str) -> Option<&str> {
    let (v, rest) = s.split_once('(')?;
    let hash = rest.strip_suffix(')')?;
    let base = v.strip_suffix("-dev").unwrap_or(v);
    let parts: Vec<&str> = base.split('.').collect();
    let ok = parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 2 && p.bytes().all(|b| b.is_ascii_digit()))
        && (7..=8).contains(&hash.len())
        && hash
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
    ok.then_some(v)
}

/// The platforms `data` names, each once (first string that names it).
pub fn identify(data: &[u8]) -> Vec<Platform> {
    let mut out: Vec<Platform> = Vec::new();
    let mut add = |name: &'static str, version: &str, off: usize, s: &str, single: bool| {
        if !out.iter().any(|p| p.name == name) {
            out.push(Platform {
                name,
                version: version.to_string(),
                offset: off,
                excerpt: s.chars().take(120).collect(),
                single_privilege: single,
            });
        }
    };
    for (off, s) in strings(data) {
        if let Some(v) = nonos_version(s) {
            add("esp8266-nonos-sdk", v, off, s, true);
        }
        if let Some(v) = s
            .strip_prefix("NodeMCU ")
            .and_then(|_| version_after(s, "NodeMCU "))
        {
            add("nodemcu-firmware", v, off, s, true);
            if let Some(l) = version_after(s, "powered by Lua ") {
                add("lua", l, off, s, true);
            }
        }
        if let Some(v) = version_after(s, "MicroPython v") {
            add("micropython", v, off, s, true);
        }
        if s.contains("ThreadX") {
            if let Some(v) = version_after(s, "Version G").or_else(|| version_after(s, "Version "))
            {
                // ThreadX Modules isolate application modules; plain ThreadX does not.
                let modules = s.contains("Module");
                add("threadx", v, off, s, !modules);
            }
        }
        if let Some(v) =
            version_after(s, "FreeRTOS Kernel V").or_else(|| version_after(s, "FreeRTOS V"))
        {
            add("freertos", v, off, s, true);
        }
        if let Some(v) = version_after(s, "VxWorks ").or_else(|| version_after(s, "VxWorks")) {
            // VxWorks 6 and later can run code in user-mode RTPs.
            let v5 = v.starts_with('5') || v.starts_with('4');
            add("vxworks", v, off, s, v5);
        }
        if let Some(v) = version_after(s, "uC/OS-II V").or_else(|| version_after(s, "uC/OS-III V"))
        {
            add("ucos", v, off, s, true);
        }
        if let Some(v) = version_after(s, "eCos release ") {
            add("ecos", v, off, s, true);
        }
        // Zephyr's build version (`zephyr-v2.2.0-2456-g38970c0`, printed by "Booting Zephyr OS
        // build %s"); the kernel runs user threads unprivileged only with CONFIG_USERSPACE,
        // which a string cannot tell, so privilege is not judged.
        if let Some(v) = version_after(s, "zephyr-v") {
            add("zephyr", v, off, s, false);
        }
        // Contiki-NG's CONTIKI_VERSION_STRING (`Contiki-NG-release/v4.4`, `Contiki-NG-4.4`).
        if let Some(v) =
            version_after(s, "Contiki-NG-release/v").or_else(|| version_after(s, "Contiki-NG-"))
        {
            add("contiki-ng", v, off, s, true);
        }
        // lwIP, a TCP/IP stack (not a platform: no privilege judgement): its httpd banner
        // `Server: lwIP/1.3.1`, or without a version its `lwIP/pre-0.6` banner or the
        // `…/lwip/src/core/…` assertion paths its LWIP_ASSERT compiles in.
        if let Some(v) = version_after(s, "lwIP/") {
            add("lwip", v, off, s, false);
        } else if s.contains("lwIP/pre-") || s.to_ascii_lowercase().contains("lwip/src/") {
            add("lwip", "", off, s, false);
        }
        // The STM32 Arduino core (stm32duino) names its version in the build paths it compiles
        // in (`…/packages/STM32/hardware/stm32/1.3.0/cores/arduino/…`).
        if let Some(v) = version_after(s, "/hardware/stm32/") {
            add("stm32duino", v, off, s, true);
        }
    }
    out
}

/// The platforms of `data` as components: (name, version, evidence).
pub fn components(data: &[u8], provenance: &str) -> Vec<(&'static str, String, Evidence)> {
    identify(data)
        .into_iter()
        .map(|p| {
            let ev = Evidence {
                location: loc(provenance, p.offset, p.excerpt.len()),
                excerpt: p.excerpt,
            };
            (p.name, p.version, ev)
        })
        .collect()
}

/// The loaded MCU / flat-firmware blobs with their strings: (provenance, data).
fn mcu_blobs<'c>(ctx: &'c Ctx<'_>) -> impl Iterator<Item = &'c crate::BlobRec<'c>> {
    ctx.blobs
        .iter()
        .filter(|b| b.blob.kind == BlobKind::McuFirmware)
}

fn loc(provenance: &str, off: usize, len: usize) -> Location {
    Location::Image {
        offset: off as u64,
        length: Some(len as u64),
        provenance: provenance.to_string(),
    }
}

fn fact(obs: &mut Observations, key: FactKey, reason: &str, ev: Evidence) {
    if !obs.facts.iter().any(|f| f.key == key && f.value) {
        obs.facts.push(InferredFact {
            key,
            value: true,
            reason: reason.to_string(),
            evidence: vec![ev],
        });
    }
}

/// A serial interpreter with no login: (what, offset, string).
fn repl<'a>(strs: &[(usize, &'a str)]) -> Option<(&'static str, usize, &'a str)> {
    let micropython = strs.iter().find(|(_, s)| s.starts_with("MicroPython v"));
    let help = strs
        .iter()
        .any(|(_, s)| s.contains("Type \"help()\" for more information"));
    if let (Some((o, s)), true) = (micropython, help) {
        return Some(("the MicroPython REPL", *o, s));
    }
    let nodemcu = strs
        .iter()
        .find(|(_, s)| s.starts_with("NodeMCU ") && s.contains("Lua"));
    let lua_init = strs.iter().any(|(_, s)| s.contains("init.lua"));
    if let (Some((o, s)), true) = (nodemcu, lua_init) {
        return Some(("NodeMCU's Lua interpreter", *o, s));
    }
    None
}

/// `mqtt://user:pass@host` (or mqtts, tcp, ssl) with a literal password.
fn mqtt_url_credentials(s: &str) -> Option<(&str, &str)> {
    let rest = ["mqtt://", "mqtts://"]
        .iter()
        .find_map(|p| s.find(p).map(|i| &s[i + p.len()..]))?;
    let (userinfo, _) = rest.split_once('@')?;
    let (user, pass) = userinfo.split_once(':')?;
    let literal =
        |x: &str| !x.is_empty() && !x.contains('%') && !x.contains('{') && !x.contains('/');
    (literal(user) && literal(pass)).then_some((user, pass))
}

fn is_mqtt_pass_key(s: &str) -> bool {
    let k = s.to_ascii_lowercase().replace(['-', ' '], "_");
    matches!(
        k.as_str(),
        "mqtt_pass" | "mqtt_password" | "mqttpass" | "mqttpassword" | "mqtt_pwd" | "mqtt_passwd"
    )
}

/// A value that can be a compiled-in password: one token, not a format or a key name.
fn value_like(s: &str) -> bool {
    (4..=64).contains(&s.len())
        && !s.contains(' ')
        && !s.contains('%')
        && !s.contains('{')
        && !s.to_ascii_lowercase().contains("mqtt")
        && !s.to_ascii_lowercase().contains("pass")
        && s.bytes().any(|b| b.is_ascii_alphanumeric())
}

/// `http://host/…` for firmware: the path names an update, OTA or firmware image.
fn http_ota_url(s: &str) -> Option<&str> {
    let i = s.find("http://")?;
    let url = &s[i..];
    let end = url
        .find(|c: char| c.is_whitespace() || c == '"' || c == '\'')
        .unwrap_or(url.len());
    let url = &url[..end];
    let host = url["http://".len()..]
        .split(['/', ':'])
        .next()
        .unwrap_or("");
    if host.is_empty() || host.contains('%') || host.contains('{') || host == "localhost" {
        return None;
    }
    let path = url.to_ascii_lowercase();
    let firmware = ["ota", "firmware", "fw/", "update", "upgrade", ".bin"]
        .iter()
        .any(|k| path[7 + host.len()..].contains(k));
    firmware.then_some(url)
}

fn run(ctx: &Ctx<'_>, obs: &mut Observations) {
    let mut examined = 0u64;
    let mut privilege_done = false;
    let mut repl_done = false;
    for b in mcu_blobs(ctx) {
        examined += 1;
        let prov = b.blob.provenance.as_str();
        let strs = strings(&b.data);
        if !privilege_done {
            if let Some(p) = identify(&b.data).into_iter().find(|p| p.single_privilege) {
                privilege_done = true;
                obs.findings.push(
                    Finding::new(CHECK.id, &["5.6-7"], Outcome::Fail, Severity::Low, Source::Firmware,
                        format!("every task runs at one privilege level: the firmware is built on {} {}", p.name, p.version))
                        .detail(format!("{} runs all code in one address space without a user mode or memory protection between tasks, so a flaw in any network-facing task reaches all memory (keys, credentials, flash). Identified from the string at 0x{:x}; a build that enables task isolation (an MPU port) would show it in the code, which a string match cannot see.", p.name, p.offset))
                        .evidence(loc(prov, p.offset, p.excerpt.len()), p.excerpt.clone())
                        .heuristic(),
                );
            }
        }
        if !repl_done {
            if let Some((what, off, s)) = repl(&strs) {
                repl_done = true;
                let ev = Evidence {
                    location: loc(prov, off, s.len()),
                    excerpt: s.to_string(),
                };
                fact(
                    obs,
                    FactKey::DebugInterfaceAccessible,
                    &format!("{what} listens on the serial port"),
                    ev.clone(),
                );
                obs.findings.push(
                    Finding::new(CHECK.id, &["5.6-4"], Outcome::Fail, Severity::High, Source::Firmware,
                        format!("unauthenticated serial interpreter: {what}"))
                        .detail(format!("The firmware starts {what} on the UART with no login: anyone with the serial pins can read the Wi-Fi and cloud credentials and rewrite the flash. A debug interface must be disabled in software (5.6-4)."))
                        .evidence(ev.location, ev.excerpt)
                        .heuristic(),
                );
            }
        }
        for (i, (off, s)) in strs.iter().enumerate() {
            let cred = mqtt_url_credentials(s)
                .map(|(u, p)| (format!("{u}:{p}"), *off, s.to_string()))
                .or_else(|| {
                    if !is_mqtt_pass_key(s) {
                        return None;
                    }
                    let (voff, v) = strs.get(i + 1)?;
                    (voff - off <= 64 && value_like(v))
                        .then(|| (v.to_string(), *voff, format!("{s} = {v}")))
                });
            if let Some((secret, at, excerpt)) = cred {
                let ev = Evidence {
                    location: loc(prov, at, excerpt.len()),
                    excerpt: excerpt.clone(),
                };
                fact(
                    obs,
                    FactKey::PasswordsUsed,
                    "an MQTT password is compiled into the firmware",
                    ev.clone(),
                );
                fact(
                    obs,
                    FactKey::PreinstalledPasswords,
                    "an MQTT password ships in the firmware",
                    ev.clone(),
                );
                obs.findings.push(
                    Finding::new(CHECK.id, &["5.1-1"], Outcome::Fail, Severity::High, Source::Firmware,
                        format!("MQTT credentials compiled into the firmware ({secret})"))
                        .detail("The broker login is the same in every unit that runs this image: whoever reads one device's flash can log in to the broker as any of them.")
                        .evidence(ev.location, ev.excerpt)
                        .heuristic(),
                );
            }
            if let Some(url) = http_ota_url(s) {
                let ev = Evidence {
                    location: loc(prov, *off, url.len()),
                    excerpt: url.to_string(),
                };
                fact(
                    obs,
                    FactKey::UpdateMechanism,
                    &format!("the firmware downloads updates ({url})"),
                    ev.clone(),
                );
                fact(
                    obs,
                    FactKey::UpdatesOverNetwork,
                    &format!("updates come over the network ({url})"),
                    ev.clone(),
                );
                fact(
                    obs,
                    FactKey::SoftwareUpdateable,
                    "the firmware has an OTA update URL",
                    ev.clone(),
                );
                obs.findings.push(
                    Finding::new(CHECK.id, &["5.5-1"], Outcome::Fail, Severity::Medium, Source::Firmware,
                        format!("firmware updates fetched over plain HTTP: {url}"))
                        .detail("The update travels unencrypted and unauthenticated by the transport: anyone on the path can read it or, unless the image is signed and the signature checked (5.3-10), replace it.")
                        .evidence(ev.location, ev.excerpt)
                        .heuristic(),
                );
            }
        }
    }
    obs.ran(CHECK.id, Source::Firmware, CHECK.provisions, examined);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_from_the_sdks_own_strings() {
        let mut d = b"\0SDK ver: %s compiled @ %s\0".to_vec();
        d.extend(b"2.2.2-dev(38a443e)\0NodeMCU 0.9.5 build 20150214  powered by Lua 5.1.4\0");
        d.extend(b"Copyright (c) 1996-2018 Express Logic Inc. * ThreadX Cortex-M4/GNU Version G5.8.5.0 SN: 1 *\0");
        d.extend(b"MicroPython v1.19.1 on 2022-06-18; ESP module with ESP8266\0VxWorks 6.9\0");
        let got: Vec<(&str, String, bool)> = identify(&d)
            .into_iter()
            .map(|p| (p.name, p.version, p.single_privilege))
            .collect();
        assert_eq!(
            got,
            vec![
                ("esp8266-nonos-sdk", "2.2.2-dev".into(), true),
                ("nodemcu-firmware", "0.9.5".into(), true),
                ("lua", "5.1.4".into(), true),
                ("threadx", "5.8.5.0".into(), true),
                ("micropython", "1.19.1".into(), true),
                ("vxworks", "6.9".into(), false),
            ]
        );
        // Look-alikes are not versions.
        for s in [
            "2.2.0(F28EAF2)",
            "1.2(abcdef0)",
            "2.2.0(f28e)",
            "12.3.4(zzzzzzz)",
        ] {
            assert!(nonos_version(s).is_none(), "{s}");
        }
        assert_eq!(nonos_version("2.2.0(f28eaf2)"), Some("2.2.0"));
        let names = |d: &[u8]| -> Vec<(&'static str, String)> {
            identify(d)
                .into_iter()
                .map(|p| (p.name, p.version))
                .collect()
        };
        assert_eq!(
            names(b"\0zephyr-v2.2.0-2456-g38970c07abfc\0"),
            [("zephyr", "2.2.0".to_string())]
        );
        assert_eq!(
            names(b"\0Starting Contiki-NG-release/v4.4-dirty\0"),
            [("contiki-ng", "4.4".to_string())]
        );
        assert_eq!(
            names(b"\0Server: lwIP/1.3.1 (http://savannah.nongnu.org/projects/lwip)\0"),
            [("lwip", "1.3.1".to_string())]
        );
        assert_eq!(
            names(b"\0../Middlewares/Third_Party/LwIP/src/core/tcp.c\0"),
            [("lwip", String::new())]
        );
        assert_eq!(
            names(b"\0/home/u/.arduino15/packages/STM32/hardware/stm32/1.3.0/cores/arduino/main.cpp\0"),
            [("stm32duino", "1.3.0".to_string())]
        );
        // A mention is not a build: no version, no lwIP source path.
        assert!(names(b"\0lwIP - A Lightweight TCP/IP Stack\0zephyr\0").is_empty());
    }

    #[test]
    fn mqtt_and_ota_patterns() {
        assert_eq!(
            mqtt_url_credentials("mqtt://dev:S3cret!@broker.example.com:1883"),
            Some(("dev", "S3cret!"))
        );
        assert_eq!(mqtt_url_credentials("mqtt://%s:%s@%s"), None);
        assert_eq!(mqtt_url_credentials("mqtt://broker.example.com"), None);
        assert!(is_mqtt_pass_key("MQTT_PASS") && is_mqtt_pass_key("mqttPassword"));
        assert!(!is_mqtt_pass_key("MqttHost"));
        assert_eq!(
            http_ota_url("http://fw.example.com/ota/cam.bin"),
            Some("http://fw.example.com/ota/cam.bin")
        );
        for s in [
            "http://%s:80/setup.xml",
            "http://schemas.xmlsoap.org/soap/envelope/",
            "https://fw.example.com/ota.bin",
            "http://",
        ] {
            assert_eq!(http_ota_url(s), None, "{s}");
        }
    }
}
