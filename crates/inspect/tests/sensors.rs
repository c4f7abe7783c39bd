//! The firmware sensor inventory (`5.8-3-fw-sensors`): a camera found in the real ESP32-CAM
//! image of the wider corpus and in an IP-camera root, and nothing found in the routers of the
//! shared corpus nor in a root full of look-alikes (ALSA playback, arecord, ffmpeg, I2S, a board
//! temperature monitor, "snd" in strings).

use std::path::Path;

use iotassure_core::finding::{Observations, Outcome};
use iotassure_core::progress::NoProgress;
use iotassure_core::tree::{Blob, BlobKind, Tree};
use iotassure_inspect::{inspect, Options};
use iotassure_testkit::inspect::write;

const CHECK: &str = "5.8-3-fw-sensors";

fn inspect_image(img: &Path) -> (Observations, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x");
    let up = iotassure_unpack::unpack(img, &out, &Default::default(), &NoProgress)
        .or_else(iotassure_unpack::UnpackError::into_damaged)
        .expect("unpack");
    let opts = Options {
        image: Some(img.to_path_buf()),
        ..Default::default()
    };
    (inspect(&up.tree, &opts, &NoProgress), dir)
}

/// The kinds the inventory reports ("camera", "microphone", …), with each finding's cited places.
fn sensors(obs: &Observations) -> Vec<(String, Vec<String>)> {
    assert!(
        obs.checks.iter().any(|c| c.check == CHECK),
        "the sensor check ran"
    );
    obs.findings
        .iter()
        .filter(|f| f.check == CHECK)
        .map(|f| {
            assert_eq!(
                f.outcome,
                Outcome::Info,
                "the inventory alone decides nothing"
            );
            let kind = f
                .title
                .strip_prefix("sensing capability in the firmware: ")
                .unwrap()
                .split(" (")
                .next()
                .unwrap()
                .to_string();
            (kind, f.evidence.iter().map(|e| e.location.cite()).collect())
        })
        .collect()
}

fn kinds(obs: &Observations) -> Vec<String> {
    sensors(obs).into_iter().map(|s| s.0).collect()
}

#[test]
fn the_esp32_cam_image_shows_a_camera_and_no_microphone() {
    let dir = std::env::var("IOTASSURE_WIDER_CORPUS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| {
            Path::new(&std::env::var("HOME").unwrap_or_default())
                .join(".cache/iotassure/wider-corpus")
        });
    let img = dir.join("micropython-v1.21.0-esp32-camera.bin");
    if !img.is_file() {
        eprintln!(
            "skipping: {} is absent (bash corpus/wider/fetch.sh brings it)",
            img.display()
        );
        return;
    }
    let (obs, _d) = inspect_image(&img);
    let got = sensors(&obs);
    // The MicroPython build carries the I2S driver (i2s_read, PDM RX clocks): a bus, not a
    // microphone.
    assert_eq!(
        got.iter().map(|s| s.0.as_str()).collect::<Vec<_>>(),
        ["camera"],
        "{got:?}"
    );
    assert!(got[0].1.iter().all(|c| c.contains("@0x")), "{got:?}");
}

/// The strings of the ESP32-CAM image in their order (the esp32-camera HAL, its messages and
/// its sensor table, and MicroPython's I2S driver), laid out in a flat image: so CI, which has
/// no wider corpus, runs the same rule.
#[test]
fn esp32_camera_strings_in_a_flat_image() {
    let dir = tempfile::tempdir().unwrap();
    let mut fw = vec![0xe9u8, 0x03, 0x02, 0x20];
    fw.extend([0x11; 4096]);
    for s in [
        "i2s_driver_install",
        "i2s_calculate_pdm_rx_clock",
        "i2s_read",
        "Camera probe failed with error 0x%x(%s)",
        "@cam_hal",
        "cam_dma_config failed",
        "OV2640",
        "OV3660",
        "GC0308",
        "camera_xclk",
    ] {
        fw.extend(s.as_bytes());
        fw.extend([0u8; 3]);
        fw.extend([0x11; 64]);
    }
    std::fs::write(dir.path().join("fw.bin"), &fw).unwrap();
    let tree = Tree {
        root: dir.path().to_path_buf(),
        entries: vec![],
        rootfs: vec![],
        blobs: vec![Blob {
            path: "fw.bin".into(),
            kind: BlobKind::McuFirmware,
            provenance: "image @0x0 esp32".into(),
            base_address: None,
        }],
    };
    let obs = inspect(&tree, &Options::default(), &NoProgress);
    assert_eq!(kinds(&obs), ["camera"]);
    let f = obs.findings.iter().find(|f| f.check == CHECK).unwrap();
    assert!(f.evidence[0].excerpt.contains("OV2640"), "{f:#?}");

    // Without the HAL tag the same sensor names are only a table: nothing is reported.
    let plain: Vec<u8> = fw
        .windows(7)
        .position(|w| w == b"cam_hal")
        .map(|i| {
            let mut v = fw.clone();
            v[i..i + 7].copy_from_slice(b"xxx_xxx");
            v
        })
        .unwrap();
    std::fs::write(dir.path().join("fw.bin"), &plain).unwrap();
    let obs = inspect(&tree, &Options::default(), &NoProgress);
    assert!(kinds(&obs).is_empty());
}

fn inspect_root(root: &Path) -> Observations {
    let dir = tempfile::tempdir().unwrap();
    let up = iotassure_unpack::unpack(
        root,
        &dir.path().join("x"),
        &Default::default(),
        &NoProgress,
    )
    .expect("unpack a folder");
    inspect(&up.tree, &Options::default(), &NoProgress)
}

#[test]
fn an_ip_camera_root_shows_its_camera_and_microphone() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    write(
        &root,
        "lib/modules/4.9.84/extra/sc2336.ko",
        b"\x7fELF\x01\x01\x01",
    );
    write(
        &root,
        "lib/modules/4.9.84/kernel/sound/soc/codecs/snd-soc-dmic.ko",
        b"\x7fELF\x01\x01\x01",
    );
    write(
        &root,
        "etc/init.d/S90stream",
        "#!/bin/sh\nstart() {\n  rtspd -d /dev/video0 -p 554 &\n}\n",
    );
    write(&root, "bin/busybox", b"\x7fELF\x01\x01\x01");
    let obs = inspect_root(&root);
    let got = sensors(&obs);
    assert_eq!(
        got.iter().map(|s| s.0.as_str()).collect::<Vec<_>>(),
        ["camera", "microphone"],
        "{got:?}"
    );
    let camera = &got[0].1;
    assert!(
        camera.iter().any(|c| c.ends_with("sc2336.ko")),
        "{camera:?}"
    );
    assert!(
        camera.iter().any(|c| c.contains("S90stream:3")),
        "{camera:?}"
    );
}

#[test]
fn audio_playback_transcoders_and_board_monitors_are_not_sensors() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    for m in [
        "snd-usb-audio",
        "snd-pcm",
        "snd-soc-core",
        "lm75",
        "sc16is7xx",
        "imx2_wdt",
    ] {
        write(
            &root,
            &format!("lib/modules/5.4.0/{m}.ko"),
            b"\x7fELF\x01\x01\x01",
        );
    }
    for b in [
        "usr/bin/aplay",
        "usr/bin/arecord",
        "usr/bin/ffmpeg",
        "usr/bin/gst-launch-1.0",
    ] {
        write(&root, b, b"\x7fELF\x01\x01\x01snd_pcm_open\0video\0");
    }
    write(
        &root,
        "etc/config/system",
        "config system\n\toption hostname 'snd-router'\n\t# video streaming is not supported\n",
    );
    write(
        &root,
        "etc/mdev.conf",
        "snd/.* 0:29 0660\nvideo 0:44 0660 @mknod /dev/video c 81 0\n",
    );
    let obs = inspect_root(&root);
    assert!(kinds(&obs).is_empty(), "{:?}", sensors(&obs));
}

#[test]
fn the_shared_corpus_routers_show_no_sensor() {
    for name in [
        "openwrt-CC-r45001-freifunk-tl-wr841n-v9-squashfs-factory.bin",
        "ddwrt-tl-wr841nd-v9-factory-to-ddwrt.bin",
        "DIR-300A1_FW105b09.bin",
        "tplink-tl-wr841n-v14-2023-rootfs.squashfs",
    ] {
        let Some(img) = iotassure_testkit::corpus_image(name) else {
            return;
        };
        let (obs, _d) = inspect_image(&img);
        assert!(kinds(&obs).is_empty(), "{name}: {:?}", sensors(&obs));
    }
}
