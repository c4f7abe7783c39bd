//! Class 9, round two: sysupgrade that reads image *metadata* is not sysupgrade that checks a
//! signature. OpenWrt 18.06 (openwrt-18.06.2-kirkwood-nas of the wider corpus) runs
//! `fwtool_check_image`, which extracts the JSON metadata with `fwtool -i` and compares
//! `supported_devices`; no `fwtool -s` / `usign -V` follows. It had 5.7-1 PASS "sysupgrade
//! calls a signature check" and, through it, 5.3-7 PASS from opkg. The fixture mirrors its
//! /sbin/sysupgrade line and /lib/upgrade/fwtool.sh; the signed variant mirrors the later
//! fwtool_check_signature (fwtool -s, then ucert -V).

use iotassure_core::finding::Outcome;
use iotassure_testkit::inspect::write;

use super::{fails, mentions, run_folder};

const FWTOOL_METADATA: &str = "fwtool_check_image() {\n\t[ $# -gt 1 ] && return 1\n\t. /usr/share/libubox/jshn.sh\n\tif ! fwtool -q -i /tmp/sysupgrade.meta \"$1\"; then\n\t\techo \"Image metadata not found\"\n\t\t[ \"$REQUIRE_IMAGE_METADATA\" = 1 ] && return 1\n\t\treturn 0\n\tfi\n\tjson_load \"$(cat /tmp/sysupgrade.meta)\" || return 1\n\tdevice=\"$(cat /tmp/sysinfo/board_name)\"\n\tjson_select supported_devices || return 1\n\tjson_get_keys dev_keys\n\tfor k in $dev_keys; do\n\t\tjson_get_var dev \"$k\"\n\t\t[ \"$dev\" = \"$device\" ] && return 0\n\tdone\n\treturn 1\n}\n";

const FWTOOL_SIGNATURE: &str = "fwtool_check_signature() {\n\t[ $# -gt 1 ] && return 1\n\t[ ! -x /usr/bin/ucert ] && return 1\n\tif ! fwtool -q -s /tmp/sysupgrade.ucert \"$1\"; then\n\t\techo \"Image signature not present\"\n\t\treturn 1\n\tfi\n\tfwtool -q -T -s /dev/null \"$1\" | ucert -V -m - -c \"/tmp/sysupgrade.ucert\" -P /etc/opkg/keys\n}\n";

fn openwrt_1806(r: &std::path::Path, fwtool: &str) {
    write(r, "etc/opkg.conf", "dest root /\noption check_signature\n");
    write(r, "etc/opkg/distfeeds.conf", "src/gz openwrt_core http://downloads.openwrt.org/releases/18.06.2/targets/kirkwood/generic/packages\n");
    write(r, "etc/opkg/keys/b5043e70f9a75cde", "untrusted comment: public key b5043e70f9a75cde\nRWS1BD5w+adc3j2Hqg9+b66CvLR7NlHbsj7wjNVj0XGt/othDgIAOJS+\n");
    write(r, "bin/opkg", "");
    write(r, "usr/bin/fwtool", "");
    write(r, "sbin/sysupgrade", "#!/bin/sh\n. /lib/functions.sh\ninclude /lib/upgrade\nsysupgrade_image_check=\"fwtool_check_image platform_check_image\"\nfor check in $sysupgrade_image_check; do\n\t( $check \"$IMAGE\" ) || exit 1\ndone\n");
    write(r, "lib/upgrade/fwtool.sh", fwtool);
    write(
        r,
        "lib/upgrade/platform.sh",
        "platform_check_image() {\n\treturn 0\n}\n",
    );
}

#[test]
fn fwtool_metadata_is_not_a_signature_check() {
    let dir = tempfile::tempdir().unwrap();
    openwrt_1806(dir.path(), FWTOOL_METADATA);
    let obs = run_folder(dir.path());
    assert!(
        fails(&obs, "5.7-1")
            .iter()
            .any(|f| mentions(f, "sysupgrade")),
        "sysupgrade with metadata only fails 5.7-1"
    );
    for p in ["5.7-1", "5.3-7"] {
        assert!(
            !obs.findings.iter().any(|f| f.outcome == Outcome::Pass
                && f.check == "5.3-9-fw-update"
                && f.provisions.iter().any(|x| x == p)),
            "no update PASS on {p}"
        );
    }

    // The same layout with a signature extracted and verified is not a FAIL.
    let signed = tempfile::tempdir().unwrap();
    openwrt_1806(
        signed.path(),
        &format!("{FWTOOL_METADATA}{FWTOOL_SIGNATURE}"),
    );
    let obs = run_folder(signed.path());
    assert!(
        !fails(&obs, "5.7-1")
            .iter()
            .any(|f| mentions(f, "sysupgrade")),
        "{:?}",
        fails(&obs, "5.7-1")
            .iter()
            .map(|f| &f.title)
            .collect::<Vec<_>>()
    );
    assert!(obs
        .findings
        .iter()
        .any(|f| f.outcome == Outcome::Pass
            && f.title.contains("sysupgrade calls a signature check")));
}
