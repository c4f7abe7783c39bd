//! Components of microcontroller firmware that carry no "name version" banner (issue 11,
//! round two), end to end through inspect(): the strings and words of the wider corpus's
//! nodemcu-master-7-modules-2017-integer (NONOS `1.5.4.1(39cb9a32)` after erased-flash
//! padding; a NodeMCU custom-build banner with branch and commit) and tasmota-8.5.0-DE
//! (VERSION 0x08050000 between the 0x5AA55AA5 / 0xA55AA55A markers), laid out in AVR-like
//! filler as an Intel HEX blob.

use iotassure_core::progress::NoProgress;
use iotassure_core::tree::{Blob, BlobKind, Tree};
use iotassure_inspect::{inspect, Options};
use iotassure_testkit::inspect::{intel_hex, parse_intel_hex};

fn components(flash: &[u8]) -> Vec<(String, String)> {
    let dir = tempfile::tempdir().unwrap();
    let (base, flat) = parse_intel_hex(&intel_hex(flash, 0));
    std::fs::write(dir.path().join("fw.bin"), &flat).unwrap();
    let tree = Tree {
        root: dir.path().to_path_buf(),
        entries: vec![],
        rootfs: vec![],
        blobs: vec![Blob {
            path: "fw.bin".into(),
            kind: BlobKind::McuFirmware,
            provenance: "image @0x0 ihex".into(),
            base_address: Some(base as u64),
        }],
    };
    let obs = inspect(&tree, &Options::default(), &NoProgress);
    obs.components
        .iter()
        .map(|c| (c.name.clone(), c.version.clone()))
        .collect()
}

fn filler() -> Vec<u8> {
    [0x0Cu8, 0x94, 0x47, 0x00].repeat(128)
}

#[test]
fn nodemcu_custom_build_and_four_part_nonos_version() {
    let mut f = filler();
    f.extend(b"\0error calling 'print' (%s)\0\nNodeMCU custom build by frightanic.com\n\tbranch: master\n\tcommit: 81ec3665cb5fe68eb8596612485cc206b65659c9\n\tSSL: false\n\tmodules: file,gpio,net,node,tmr,uart,wifi\n build \tbuilt on: 2017-01-19 11:09\n powered by Lua 5.1.4 on SDK \0=LUA_INIT\0");
    f.extend(filler());
    f.extend([0xff; 12]);
    f.extend(b"1.5.4.1(39cb9a32)\0\xff\xff");
    f.extend(filler());
    let got = components(&f);
    assert!(
        got.contains(&("esp8266-nonos-sdk".into(), "1.5.4.1".into())),
        "{got:?}"
    );
    assert!(
        got.contains(&("nodemcu-firmware".into(), "master-81ec366".into())),
        "{got:?}"
    );
}

#[test]
fn tasmota_version_from_its_marker() {
    let mut f = filler();
    f.extend(b"\0Tasmota %s von Theo Arends\0");
    f.extend(filler());
    for w in [
        0x7c74_7352u32,
        0x5AA5_5AA5,
        0x0805_0000,
        0xA55A_A55A,
        0x7375_654e,
    ] {
        f.extend(w.to_le_bytes());
    }
    f.extend(filler());
    let got = components(&f);
    assert!(got.contains(&("tasmota".into(), "8.5.0".into())), "{got:?}");
    // The same words without the markers around them are no version.
    let mut plain = filler();
    plain.extend(b"\0Tasmota %s by Theo Arends\0");
    plain.extend(0x0606_0000u32.to_le_bytes());
    plain.extend(filler());
    assert!(!components(&plain).iter().any(|(n, _)| n == "tasmota"));
}
