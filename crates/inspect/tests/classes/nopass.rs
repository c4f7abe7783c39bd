//! Class 2: what the firmware itself counts as "no password". OpenWrt CC r45001 (the corpus
//! image `openwrt-CC-r45001-freifunk-tl-wr841n-v9-squashfs-factory.bin`) starts telnetd with
//! `-l /bin/login.sh` only while `has_root_pwd` finds no password, and both read a root field
//! of `x` or `!` as none. The fixture mirrors those files (init script with the helper,
//! login wrapper, rc.d link), written here from their behaviour.

use iotassure_core::finding::Severity;
use iotassure_testkit::inspect::write;

use super::{corpus_rootfs, fails, mentions, run_folder};

const TELNET_INIT: &str = r#"#!/bin/sh /etc/rc.common
START=50
USE_PROCD=1
has_root_pwd() {
	local f
	f=$(cat "$1" 2>/dev/null)
	f="${f#*root:}"
	f="${f%%:*}"
	[ -n "${f#[\!x]}" ]
}
start_service() {
	if ! has_root_pwd /etc/passwd && ! has_root_pwd /etc/shadow; then
		procd_open_instance
		procd_set_param command /usr/sbin/telnetd -F -l /bin/login.sh
		procd_close_instance
	fi
}
"#;

const LOGIN_SH: &str = r#"#!/bin/sh
if grep -qsE '^root:[!x]?:' /etc/shadow && grep -qsE '^root:[!x]?:' /etc/passwd; then
	exec /bin/ash --login
fi
echo "Login failed."
exit 0
"#;

fn openwrt_like(root: &std::path::Path, shadow_root: &str) {
    write(root, "etc/passwd", "root:x:0:0:root:/root:/bin/ash\n");
    write(
        root,
        "etc/inittab",
        "::sysinit:/etc/init.d/rcS S boot\nttyS0::askfirst:/bin/login.sh\n",
    );
    write(
        root,
        "etc/shadow",
        format!("root:{shadow_root}:0:0:99999:7:::\ndaemon:*:0:0:99999:7:::\n"),
    );
    write(root, "etc/init.d/telnet", TELNET_INIT);
    write(root, "bin/login.sh", LOGIN_SH);
    std::fs::create_dir_all(root.join("etc/rc.d")).unwrap();
    std::os::unix::fs::symlink("../init.d/telnet", root.join("etc/rc.d/S50telnet")).unwrap();
}

#[test]
fn x_in_shadow_is_no_password_when_the_scripts_say_so() {
    let dir = tempfile::tempdir().unwrap();
    openwrt_like(dir.path(), "x");
    let obs = run_folder(dir.path());
    let f511 = fails(&obs, "5.1-1");
    assert!(
        f511.iter().any(|f| f.severity == Severity::Critical
            && mentions(f, "/bin/login.sh")
            && mentions(f, "/etc/init.d/telnet")
            && mentions(f, "holds `x`")),
        "root:x read as no password by the image's scripts: {:?}",
        f511.iter().map(|f| &f.title).collect::<Vec<_>>()
    );
    let telnet = fails(&obs, "5.6-1");
    assert!(
        telnet.iter().any(|f| mentions(f, "telnetd")
            && mentions(f, "root has no password")
            && f.severity == Severity::Critical),
        "telnet at boot handing out a root shell: {:?}",
        telnet.iter().map(|f| &f.title).collect::<Vec<_>>()
    );
    assert!(
        fails(&obs, "5.6-4")
            .iter()
            .any(|f| f.severity == Severity::High
                && mentions(f, "root shell without password on ttyS0")),
        "the serial login wrapper lets root in without a password"
    );
}

#[test]
fn a_real_hash_keeps_telnet_off_and_x_without_such_scripts_is_locked() {
    let dir = tempfile::tempdir().unwrap();
    let hash = pwhash::sha512_crypt::hash("a-long-unique-Pa55phrase-91").unwrap();
    openwrt_like(dir.path(), &hash);
    let obs = run_folder(dir.path());
    assert!(
        !fails(&obs, "5.6-1").iter().any(|f| mentions(f, "telnetd")),
        "telnet runs only while root has no password"
    );
    assert!(!fails(&obs, "5.1-1").iter().any(|f| mentions(f, "login.sh")));
    assert!(
        fails(&obs, "5.6-4")
            .iter()
            .all(|f| f.severity == Severity::Medium && mentions(f, "a login prompt on ttyS0")),
        "with a password the wrapper is a login prompt"
    );

    let plain = tempfile::tempdir().unwrap();
    write(
        plain.path(),
        "etc/passwd",
        "root:x:0:0:root:/root:/bin/sh\n",
    );
    write(plain.path(), "etc/shadow", "root:x:0:0:99999:7:::\n");
    write(plain.path(), "bin/login.sh", "#!/bin/sh\nexec /bin/login\n");
    let obs = run_folder(plain.path());
    assert!(
        fails(&obs, "5.1-1").is_empty(),
        "with no script reading `x` as empty it is a locked field"
    );
}

#[test]
fn corpus_openwrt_with_root_x() {
    let dir = tempfile::tempdir().unwrap();
    let Some(root) = corpus_rootfs(
        "openwrt-CC-r45001-freifunk-tl-wr841n-v9-squashfs-factory.bin",
        dir.path(),
    ) else {
        return;
    };
    // The real image ships `root::`; a build with `root:x:` behaves the same on the device.
    let shadow = root.join("etc/shadow");
    let text = std::fs::read_to_string(&shadow).unwrap();
    assert!(
        text.starts_with("root::"),
        "the corpus image's shadow changed"
    );
    std::fs::write(&shadow, text.replacen("root::", "root:x:", 1)).unwrap();
    let obs = run_folder(&root);
    assert!(
        fails(&obs, "5.1-1")
            .iter()
            .any(|f| mentions(f, "holds `x`") && mentions(f, "/bin/login.sh")),
        "the image's login.sh and has_root_pwd read `x` as no password"
    );
    assert!(fails(&obs, "5.6-1")
        .iter()
        .any(|f| mentions(f, "telnetd") && mentions(f, "root has no password")));
}
