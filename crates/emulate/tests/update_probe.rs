//! TS 103 701 5.7-1-2a on an emulated device: OpenWrt Chaos Calmer's own update check
//! (`sysupgrade -T`) run in the sealed sandbox on the corpus image and on a copy of it modified
//! inside the root filesystem. Prints what the check said; asserts what each outcome means.

use iotassure_core::finding::{Outcome, Source};
use iotassure_core::progress::NoProgress;
use iotassure_emulate::update_probe;
use iotassure_emulate::Limits;
use iotassure_testkit::device::{require_root, TempDir};
use iotassure_testkit::{corpus_image, require_tool};

const CC: &str = "openwrt-CC-r45001-freifunk-tl-wr841n-v9-squashfs-factory.bin";

fn unpack(img: &std::path::Path, tmp: &TempDir) -> iotassure_unpack::Unpacked {
    iotassure_unpack::unpack(
        img,
        &tmp.path().join("x"),
        &iotassure_unpack::Options::default(),
        &NoProgress,
    )
    .expect("unpack")
}

#[test]
fn openwrt_cc_accepts_a_modified_image_on_the_emulated_device() {
    let Some(img) = corpus_image(CC) else { return };
    require_root();
    require_tool("qemu-mips-static", "qemu-user-static");
    let tmp = TempDir::new("update-probe");
    let up = unpack(&img, &tmp);
    let views = up.tree.rootfs_views();
    let view = views
        .iter()
        .find(|v| v.resolve("/sbin/sysupgrade").is_some())
        .expect("the image has sysupgrade");
    let (u, obs) = update_probe::run(&img, view, tmp.path(), Limits::default(), &NoProgress);
    println!("{u:#?}");
    assert_eq!(u.board.as_deref(), Some("tl-wr841n-v9"));
    let (off, len) = u.changed_at.expect("a modified copy was made");
    assert!(
        off > 0x117790 && len == 64,
        "changed inside the squashfs: 0x{off:x}"
    );
    // The control: the unmodified image passes the emulated device's check, so its verdict on
    // the modified one means something.
    assert_eq!(u.original.as_ref().and_then(|o| o.0), Some(0), "{u:#?}");
    // Chaos Calmer's ar71xx check reads the TP-Link header's magic, hardware id and boot size,
    // and never the MD5 the header carries: the modified image is accepted too.
    assert_eq!(u.modified.as_ref().and_then(|m| m.0), Some(0), "{u:#?}");
    assert_eq!(u.outcome, "accepted");
    let f = obs
        .findings
        .iter()
        .find(|f| f.check == update_probe::CHECK)
        .unwrap();
    assert_eq!(f.outcome, Outcome::Fail);
    assert_eq!(f.source, Source::Emulation);
    assert_eq!(f.provisions, ["5.7-1"]);
    assert!(f.detail.as_deref().unwrap().contains("Nothing was flashed"));
    // The sandbox's folder is gone.
    assert!(!tmp.path().read_dir().unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .starts_with(".iotassure-update")));
}

/// An OpenWrt "combined image" (ar71xx RouterStation Pro and others): a 64 KiB header with the
/// magic `CI`, the kernel and root lengths and the MD5 (hex) of everything after the header,
/// laid out as `platform.sh` reads it; the payload is the corpus image. The same CC root's
/// check verifies that MD5 for these boards, so the modified copy must be refused.
#[test]
fn a_checksummed_image_format_is_refused_once_modified() {
    let Some(img) = corpus_image(CC) else { return };
    require_root();
    require_tool("qemu-mips-static", "qemu-user-static");
    let tmp = TempDir::new("update-probe-ci");
    let up = unpack(&img, &tmp);
    let views = up.tree.rootfs_views();
    let view = views
        .iter()
        .find(|v| v.resolve("/sbin/sysupgrade").is_some())
        .unwrap();
    // The payload starts 64 KiB in; the root filesystem offset the probe changes
    // (0x117790, from the view) then falls inside the checksummed part.
    let payload = std::fs::read(&img).unwrap();
    let pf = tmp.path().join("payload");
    std::fs::write(&pf, &payload).unwrap();
    let md5 = std::process::Command::new("md5sum")
        .arg(&pf)
        .output()
        .unwrap();
    let md5 = String::from_utf8(md5.stdout).unwrap()[..32].to_string();
    let mut ci = b"CI".to_vec();
    ci.extend(format!("{:08x}{:08x}", 0x100000, payload.len() - 0x100000).as_bytes());
    ci.extend(md5.as_bytes());
    ci.resize(65536, 0);
    ci.extend(&payload);
    let combined = tmp
        .path()
        .join("openwrt-ar71xx-generic-routerstation-pro-squashfs-sysupgrade.bin");
    std::fs::write(&combined, &ci).unwrap();
    let (u, obs) = update_probe::run(&combined, view, tmp.path(), Limits::default(), &NoProgress);
    println!("{u:#?}");
    assert_eq!(u.board.as_deref(), Some("routerstation-pro"));
    assert_eq!(u.original.as_ref().and_then(|o| o.0), Some(0), "{u:#?}");
    let m = u.modified.as_ref().unwrap();
    assert_eq!(m.0, Some(1), "{u:#?}");
    assert!(m.1.contains("do not match checksum"), "{u:#?}");
    assert_eq!(u.outcome, "refused");
    let f = &obs.findings[0];
    assert_eq!((f.outcome, f.source), (Outcome::Pass, Source::Emulation));
}

#[test]
fn without_a_board_in_the_name_the_unit_stays_inconclusive_with_the_reason() {
    let Some(img) = corpus_image(CC) else { return };
    let tmp = TempDir::new("update-probe-noboard");
    let renamed = tmp.path().join("firmware.bin");
    std::fs::copy(&img, &renamed).unwrap();
    let up = unpack(&renamed, &tmp);
    let views = up.tree.rootfs_views();
    let view = views
        .iter()
        .find(|v| v.resolve("/sbin/sysupgrade").is_some())
        .unwrap();
    let (u, obs) = update_probe::run(&renamed, view, tmp.path(), Limits::default(), &NoProgress);
    assert!(u.outcome.starts_with("inconclusive"), "{u:#?}");
    let f = &obs.findings[0];
    assert_eq!(f.outcome, Outcome::Inconclusive);
    assert!(
        f.detail.as_deref().unwrap().contains("which board"),
        "{f:#?}"
    );
}
