//! Class 3: boot graphs with more than one level. No image of this class is in
//! ../shared/corpus, so the fixtures are built here. The first mirrors the busybox layout the
//! issue describes (inittab → rcS → a second rc script kept in /bin, which loops over another
//! folder's `S??*` scripts, each gated by an nvram switch whose factory default is in
//! /etc/nvram.default); the second a busybox inittab that runs `run-parts` on a folder. They
//! also hold the two command-line misreadings: `start-stop-daemon -K` (a stop) and uhttpd's
//! `-p`/`-s ADDR:PORT` listeners.

use std::path::Path;

use iotassure_core::finding::{Observations, Outcome};
use iotassure_testkit::inspect::write;

use super::{fails, mentions, run_folder};

fn service_list(obs: &Observations) -> String {
    obs.findings
        .iter()
        .find(|f| f.outcome == Outcome::Info && f.title.starts_with("service list"))
        .and_then(|f| f.detail.clone())
        .unwrap_or_default()
}

fn nvram_defaults(root: &Path) {
    let mut t = String::new();
    for (k, v) in [
        ("lan_ipaddr", "192.168.0.1"),
        ("lan_netmask", "255.255.255.0"),
        ("telnetd_enable", "1"),
        ("ftpd_enable", "0"),
        ("wan_proto", "dhcp"),
        ("wl_ssid", "default"),
        ("time_zone", "UTC"),
        ("http_lanport", "80"),
        ("upnp_enable", "1"),
        ("log_level", "3"),
    ] {
        t.push_str(&format!("{k}={v}\n"));
    }
    write(root, "etc/nvram.default", t);
}

#[test]
fn second_rc_script_loops_over_another_folder() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    write(r, "etc/inittab", "::sysinit:/etc/init.d/rcS\n");
    write(
        r,
        "etc/init.d/rcS",
        "#!/bin/sh\nmount -a\n/bin/rc.apps start\n",
    );
    write(
        r,
        "bin/rc.apps",
        "#!/bin/sh\nAPPS_DIR=/opt/etc/init.d\nfor s in $APPS_DIR/S??*; do\n\t[ -x \"$s\" ] && \"$s\" start\ndone\n",
    );
    write(
        r,
        "opt/etc/init.d/S40telnet",
        "#!/bin/sh\nif [ \"$(nvram get telnetd_enable)\" = \"1\" ]; then\n\ttelnetd -p 23 &\nfi\n",
    );
    write(
        r,
        "opt/etc/init.d/S45ftp",
        "#!/bin/sh\n[ \"$(nvram get ftpd_enable)\" = \"1\" ] && bftpd -D &\n",
    );
    // A script that runs the loop again: the walk must stop.
    write(
        r,
        "opt/etc/init.d/S99again",
        "#!/bin/sh\n/bin/rc.apps restart\n",
    );
    nvram_defaults(r);
    let obs = run_folder(r);
    let telnet: Vec<_> = fails(&obs, "5.6-1")
        .into_iter()
        .filter(|f| mentions(f, "telnetd"))
        .collect();
    assert!(
        telnet
            .iter()
            .any(|f| mentions(f, "factory default telnetd_enable=1")
                && mentions(f, "for-loop over /opt/etc/init.d/S??*")
                && mentions(f, "/bin/rc.apps")),
        "telnetd is started at boot through two levels: {:?}",
        fails(&obs, "5.6-1")
            .iter()
            .map(|f| &f.title)
            .collect::<Vec<_>>()
    );
    assert!(
        !fails(&obs, "5.6-1").iter().any(|f| mentions(f, "bftpd")),
        "ftp is off by its factory default"
    );
    assert!(
        service_list(&obs).contains("off by the factory default ftpd_enable=0"),
        "{}",
        service_list(&obs)
    );
}

#[test]
fn run_parts_stop_commands_and_uhttpd_listeners() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    write(r, "etc/inittab", "::sysinit:/bin/run-parts /etc/boot.d\n");
    write(
        r,
        "etc/boot.d/20-web",
        "#!/bin/sh\nuhttpd -f -h /www -p 0.0.0.0:8080 -s 0.0.0.0:8443 &\n",
    );
    write(r, "etc/boot.d/30-rlogin", "#!/bin/sh\nrlogind &\n");
    // run-parts skips names with a dot.
    write(r, "etc/boot.d/40-ftp.disabled", "#!/bin/sh\nvsftpd &\n");
    write(
        r,
        "etc/rc.local",
        "#!/bin/sh\nstart-stop-daemon -K -x /usr/sbin/utelnetd\nexit 0\n",
    );
    let obs = run_folder(r);
    let f561 = fails(&obs, "5.6-1");
    assert!(
        f561.iter()
            .any(|f| mentions(f, "rlogind") && mentions(f, "run-parts /etc/boot.d")),
        "rlogind runs from the run-parts folder: {:?}",
        f561.iter().map(|f| &f.title).collect::<Vec<_>>()
    );
    assert!(
        !f561
            .iter()
            .any(|f| mentions(f, "utelnetd") || mentions(f, "vsftpd")),
        "a stop command and a skipped file start nothing: {:?}",
        f561.iter().map(|f| &f.title).collect::<Vec<_>>()
    );
    let list = service_list(&obs);
    assert!(
        list.lines()
            .any(|l| l.starts_with("uhttpd") && l.contains("ports: 8080/tcp 8443/tcp (TLS)")),
        "{list}"
    );
}
