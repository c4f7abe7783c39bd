//! Class 9: a PASS on an update provision that ignores another update path. The fixture
//! mirrors the update files of an OpenWrt 15.05–18.06 build (opkg with `check_signature` and a
//! usign key in /etc/opkg/keys; /sbin/sysupgrade and /lib/upgrade scripts that check only the
//! image format), the layout in which opkg verifies packages while sysupgrade flashes unsigned
//! images. The corpus image of the class is emux DV-ARM (OpenWrt-based: opkg with three usign
//! keys, sysupgrade without a signature tool), which had 5.3-7 PASS.

use iotassure_core::finding::Outcome;
use iotassure_testkit::inspect::write;

use super::{fails, inspect_corpus, mentions, run_folder};

fn opkg_signed(r: &std::path::Path) {
    write(
        r,
        "etc/opkg.conf",
        "dest root /\nlists_dir ext /var/opkg-lists\noption check_signature 1\n",
    );
    write(
        r,
        "etc/opkg/distfeeds.conf",
        "src/gz base https://downloads.example.org/packages/base\n",
    );
    write(r, "etc/opkg/keys/b5043e70f9a75cde", "untrusted comment: public key b5043e70f9a75cde\nRWS1BD5w+adc3j2Hqg9+b66CvLR7NlHbsj7wjNVj0XGt/othDgIAOJS+\n");
    write(r, "bin/opkg", "");
}

#[test]
fn signed_packages_do_not_pass_while_sysupgrade_is_unsigned() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    opkg_signed(r);
    write(r, "sbin/sysupgrade", "#!/bin/sh\n. /lib/upgrade/common.sh\nplatform_check_image \"$1\" || exit 1\ndo_upgrade \"$1\"\n");
    write(r, "lib/upgrade/common.sh", "#!/bin/sh\nplatform_check_image() {\n\tmagic=$(dd if=\"$1\" bs=4 count=1 2>/dev/null | hexdump -v -e '1/1 \"%02x\"')\n\t[ \"$magic\" = \"27051956\" ]\n}\ndo_upgrade() {\n\tmtd write \"$1\" firmware\n}\n");
    let obs = run_folder(r);
    let update_pass = obs.findings.iter().any(|f| {
        f.outcome == Outcome::Pass
            && f.check == "5.3-9-fw-update"
            && f.provisions.iter().any(|p| p == "5.3-7" || p == "5.3-10")
    });
    assert!(!update_pass, "no update PASS while sysupgrade is unsigned");
    assert!(
        fails(&obs, "5.3-7")
            .iter()
            .any(|f| mentions(f, "sysupgrade")),
        "5.3-7 fails on the unsigned sysupgrade path"
    );
    assert!(obs
        .findings
        .iter()
        .any(|f| f.outcome == Outcome::Info && mentions(f, "not on every update path")));

    // With opkg as the only path, its PASS stands.
    let only = tempfile::tempdir().unwrap();
    opkg_signed(only.path());
    let obs = run_folder(only.path());
    assert!(obs
        .findings
        .iter()
        .any(|f| f.outcome == Outcome::Pass && f.provisions.iter().any(|p| p == "5.3-7")));
}

#[test]
fn corpus_emux_update_paths() {
    let Some((obs, _d)) = inspect_corpus("emux_DV-ARM_rootfs-arm.tar.bz2") else {
        return;
    };
    assert!(!obs.findings.iter().any(|f| f.outcome == Outcome::Pass
        && f.check == "5.3-9-fw-update"
        && f.provisions.iter().any(|p| p == "5.3-7")));
    assert!(fails(&obs, "5.3-7")
        .iter()
        .any(|f| mentions(f, "sysupgrade installs firmware images without verifying")));
}
