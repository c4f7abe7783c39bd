//! Boot, round two: a console shell decided by a configuration default. OpenWrt 18.06
//! (openwrt-18.06.2-kirkwood-nas of the wider corpus) has `::askconsole:/usr/libexec/login.sh`;
//! login.sh runs `/bin/ash --login` unless `uci get system.@system[0].ttylogin` is 1, and
//! bin/config_generate writes `ttylogin='0'` on first boot. The fixture mirrors those three
//! files with a root password set, so that only the wrapper's own rule can open the console.

use iotassure_core::finding::Severity;
use iotassure_testkit::inspect::write;

use super::{fails, mentions, run_folder};

const LOGIN_SH: &str = "#!/bin/sh\n\n[ \"$(uci -q get system.@system[0].ttylogin)\" == 1 ] || exec /bin/ash --login\n\nexec /bin/login\n";

fn openwrt_1806(r: &std::path::Path, ttylogin: &str) {
    write(r, "etc/passwd", "root:x:0:0:root:/root:/bin/ash\n");
    write(
        r,
        "etc/shadow",
        "root:$1$Xy7pQ2aZ$H1dO0Vx2nQp0Z6w0xvbq41:17000:0:99999:7:::\n",
    );
    write(r, "etc/inittab", "::sysinit:/etc/init.d/rcS S boot\n::shutdown:/etc/init.d/rcS K shutdown\n::askconsole:/usr/libexec/login.sh\n");
    write(r, "usr/libexec/login.sh", LOGIN_SH);
    write(r, "bin/login", "");
    write(r, "bin/ash", "");
    write(r, "bin/config_generate", format!("#!/bin/sh\ngenerate_static_system() {{\n\tuci -q batch <<-EOF\n\t\tdelete system.@system[0]\n\t\tadd system system\n\t\tset system.@system[-1].hostname='OpenWrt'\n\t\tset system.@system[-1].ttylogin='{ttylogin}'\n\t\tset system.@system[-1].log_size='64'\n\tEOF\n}}\n"));
}

#[test]
fn askconsole_wrapper_shell_by_uci_default() {
    let dir = tempfile::tempdir().unwrap();
    openwrt_1806(dir.path(), "0");
    let obs = run_folder(dir.path());
    let f = fails(&obs, "5.6-4");
    let shell = f
        .iter()
        .find(|f| f.title.contains("root shell without login") && mentions(f, "ttylogin"))
        .unwrap_or_else(|| panic!("{:?}", f.iter().map(|f| &f.title).collect::<Vec<_>>()));
    assert_eq!(shell.severity, Severity::High);
    assert!(mentions(shell, "askconsole") && mentions(shell, "config_generate"));

    // Factory default 1: the console asks for root's password (a login prompt, not a shell).
    let on = tempfile::tempdir().unwrap();
    openwrt_1806(on.path(), "1");
    let obs = run_folder(on.path());
    let f = fails(&obs, "5.6-4");
    assert!(
        !f.iter().any(|f| f.title.contains("shell")),
        "{:?}",
        f.iter().map(|f| &f.title).collect::<Vec<_>>()
    );
    assert!(f.iter().any(|f| f.title.contains("login prompt")));
}
