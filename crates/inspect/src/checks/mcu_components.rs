//! Components of microcontroller firmware that crate::mcu_sdk's banners do not name:
//! - the ESP8266 NONOS SDK's four-part versions (`1.5.4.1(39cb9a32)`, the 1.5.x patch
//!   releases NodeMCU builds on);
//! - NodeMCU custom builds (`NodeMCU custom build by frightanic.com` with `branch:` and
//!   `commit:` lines instead of a version number);
//! - Tasmota, whose version is no string at all: `VERSION` is a 32-bit constant
//!   (0xMMmmppss), kept in the image between the markers 0x5AA55AA5 and 0xA55AA55A
//!   (`VERSION_MARKER`, Tasmota 8 and later) so that the OTA code can read it. A build without
//!   the marker (Tasmota 6.x) shows no version a string scan can read; it is not guessed.

use iotassure_core::finding::{Evidence, Location};

fn loc(provenance: &str, off: usize, len: usize) -> Location {
    Location::Image {
        offset: off as u64,
        length: Some(len as u64),
        provenance: provenance.to_string(),
    }
}

/// `1.5.4.1(39cb9a32)`: four numeric parts and a 7-8 digit lower-case git hash.
fn nonos4(s: &str) -> Option<&str> {
    let (v, rest) = s.split_once('(')?;
    let hash = rest.strip_suffix(')')?;
    let parts: Vec<&str> = v.split('.').collect();
    let ok = parts.len() == 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 2 && p.bytes().all(|b| b.is_ascii_digit()))
        && (7..=8).contains(&hash.len())
        && hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    ok.then_some(v)
}

/// The value after `key` on the same line (`\tbranch: master\n`).
fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let at = text.find(key)? + key.len();
    let v = text[at..].split(['\n', '\0']).next()?.trim();
    (!v.is_empty() && v.len() <= 64).then_some(v)
}

/// Components of one MCU blob: (name, version, evidence).
pub fn scan(data: &[u8], provenance: &str) -> Vec<(&'static str, String, Evidence)> {
    let mut out = Vec::new();
    // NONOS: the version string is a printable run of its own (padding around it varies:
    // NUL, or 0xFF of erased flash).
    let mut start = None;
    for (i, &b) in data.iter().chain(std::iter::once(&0)).enumerate() {
        if b.is_ascii_graphic() {
            start.get_or_insert(i);
            continue;
        }
        let Some(s0) = start.take() else {
            continue;
        };
        let run = &data[s0..i];
        if !(14..=20).contains(&run.len()) {
            continue;
        }
        if let Some(v) = std::str::from_utf8(run).ok().and_then(nonos4) {
            out.push((
                "esp8266-nonos-sdk",
                v.to_string(),
                Evidence {
                    location: loc(provenance, s0, run.len()),
                    excerpt: String::from_utf8_lossy(run).into_owned(),
                },
            ));
            break;
        }
    }
    if let Some(at) = memchr::memmem::find(data, b"NodeMCU custom build by ") {
        let end = data[at..]
            .iter()
            .position(|b| *b == 0)
            .map_or(data.len(), |e| at + e.min(512));
        let text = String::from_utf8_lossy(&data[at..end]).into_owned();
        let branch = field(&text, "branch:").unwrap_or("unknown");
        let version = match field(&text, "commit:") {
            Some(c) if c.len() >= 7 && c.bytes().all(|b| b.is_ascii_hexdigit()) => {
                format!("{branch}-{}", &c[..7])
            }
            _ => branch.to_string(),
        };
        let first = text.lines().next().unwrap_or("").to_string();
        out.push((
            "nodemcu-firmware",
            version,
            Evidence {
                location: loc(provenance, at, end - at),
                excerpt: first,
            },
        ));
    }
    if memchr::memmem::find(data, b"Tasmota").is_some() {
        let start = 0x5AA5_5AA5u32.to_le_bytes();
        let stop = 0xA55A_A55Au32.to_le_bytes();
        let mut from = 0;
        while let Some(i) = memchr::memmem::find(&data[from..], &start).map(|i| from + i) {
            from = i + 4;
            let Some(w) = data.get(i + 4..i + 8) else {
                break;
            };
            if data.get(i + 8..i + 12) != Some(&stop[..]) {
                continue;
            }
            let [sub, patch, minor, major] = [w[0], w[1], w[2], w[3]];
            if !(1..=40).contains(&major) || minor > 40 || patch > 40 {
                continue;
            }
            let mut v = format!("{major}.{minor}.{patch}");
            if sub > 0 {
                v.push_str(&format!(".{sub}"));
            }
            out.push((
                "tasmota",
                v,
                Evidence {
                    location: loc(provenance, i, 12),
                    excerpt: format!(
                        "VERSION_MARKER {{ 0x5AA55AA5, 0x{:08X}, 0xA55AA55A }}",
                        u32::from_le_bytes([w[0], w[1], w[2], w[3]])
                    ),
                },
            ));
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mcu_versions() {
        let mut d = b"\0\x80\x81SDK ver: %s\0".to_vec();
        d.extend(b"\xff\xff1.5.4.1(39cb9a32)\0");
        d.extend(b"\nNodeMCU custom build by frightanic.com\n\tbranch: master\n\tcommit: 81ec3665cb5fe68eb8596612485cc206b65659c9\n\tSSL: false\n powered by Lua 5.1.4 on SDK \0");
        d.extend(b"Tasmota %s by Theo Arends\0\0\0");
        d.extend(0x5AA5_5AA5u32.to_le_bytes());
        d.extend(0x0805_0000u32.to_le_bytes());
        d.extend(0xA55A_A55Au32.to_le_bytes());
        let got: Vec<(&str, String)> = scan(&d, "t").into_iter().map(|(n, v, _)| (n, v)).collect();
        assert_eq!(
            got,
            vec![
                ("esp8266-nonos-sdk", "1.5.4.1".to_string()),
                ("nodemcu-firmware", "master-81ec366".to_string()),
                ("tasmota", "8.5.0".to_string()),
            ]
        );
        // Look-alikes: a three-part NONOS version is mcu_sdk's; a marker without Tasmota, or
        // with a value that is no version, is nothing.
        assert!(scan(b"\x002.2.1(cfd48f3)\0", "t").is_empty());
        let mut m = 0x5AA5_5AA5u32.to_le_bytes().to_vec();
        m.extend(0x0805_0000u32.to_le_bytes());
        m.extend(0xA55A_A55Au32.to_le_bytes());
        assert!(scan(&m, "t").is_empty());
        let mut bad = b"Tasmota\0".to_vec();
        bad.extend(0x5AA5_5AA5u32.to_le_bytes());
        bad.extend(0xFFFF_FFFFu32.to_le_bytes());
        bad.extend(0xA55A_A55Au32.to_le_bytes());
        assert!(scan(&bad, "t").is_empty());
    }
}
