//! Class 7: component identification gaps. pppd prints its version through a format string
//! (`pppd %s started by %s, uid %d` beside a bare `2.4.7`), and so does the standalone udhcp
//! server: the corpus DIR-300 A1 (pppd 2.4.2b3, udhcp 0.9.8) and DD-WRT (pppd 2.4.7) images are
//! the real cases. miniupnpd 1.x announces itself as `UPnP/1.0 miniupnpd/1.0`, and openvpn's
//! help text names older versions ("OpenVPN 2.1", "1.5") that are not its own; the fixture
//! lays those strings out as in the binaries (a title line `OpenVPN 2.4.7 <target> [SSL …]`).

use iotassure_core::finding::Observations;
use iotassure_testkit::inspect::write;

use super::{inspect_corpus, run_folder};

fn versions(obs: &Observations, name: &str) -> Vec<String> {
    let mut v: Vec<String> = obs
        .components
        .iter()
        .filter(|c| c.name == name)
        .map(|c| c.version.clone())
        .collect();
    v.sort();
    v
}

#[test]
fn pppd_and_udhcpd_from_format_banners_in_real_images() {
    if let Some((obs, _d)) = inspect_corpus("DIR-300A1_FW105b09.bin") {
        assert_eq!(versions(&obs, "pppd"), ["2.4.2b3"]);
        assert_eq!(versions(&obs, "udhcpd"), ["0.9.8"]);
    }
    if let Some((obs, _d)) = inspect_corpus("ddwrt-tl-wr841nd-v9-factory-to-ddwrt.bin") {
        assert_eq!(versions(&obs, "pppd"), ["2.4.7"]);
        // DD-WRT's udhcpd is busybox's applet: busybox's version, not a component of its own.
        assert!(versions(&obs, "udhcpd").is_empty());
    }
}

#[test]
fn openvpn_help_text_and_miniupnpd_1x() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    let mut openvpn = b"\x7fBIN\0".to_vec();
    for s in [
        "--compat-mode v : Be compatible with OpenVPN 2.1 peers (option format of 1.5 and 2.1).",
        "--tls-version-min v : Minimum TLS version (OpenVPN 2.4 and later).",
        "OpenVPN 2.4.7 mips-openwrt-linux-gnu [SSL (OpenSSL)] [LZO] [LZ4] [EPOLL] [MH/PKTINFO] [AEAD]",
        "Usage: openvpn [options]",
    ] {
        openvpn.extend(s.as_bytes());
        openvpn.push(0);
    }
    write(r, "usr/sbin/openvpn", &openvpn);
    write(
        r,
        "usr/sbin/miniupnpd",
        b"\x7fBIN\0SERVER: Linux/2.6.21 UPnP/1.0 miniupnpd/1.0\r\n\0/etc/miniupnpd/miniupnpd.conf\0",
    );
    let obs = run_folder(r);
    assert_eq!(
        versions(&obs, "openvpn"),
        ["2.4.7"],
        "help text numbers are no versions"
    );
    assert_eq!(versions(&obs, "miniupnpd"), ["1.0"]);
}
