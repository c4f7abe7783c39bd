//! Class 5: default credentials inside binaries. The real image is the corpus DD-WRT r33607:
//! `/usr/sbin/sputnik` holds `http_passwd\0admin` and `/usr/sbin/httpd` holds
//! `http_username\0bJz7PcC1rCRJQ` (DES of "admin"), each a compiled-in default beside its
//! setting name. The fixture is a vendor shared library compiled here with a default table
//! (as such libraries are built), next to strings that only look alike (key lists, CGI
//! variables, paths) and must not count.

use iotassure_core::finding::{Finding, Observations, Outcome};
use iotassure_testkit::inspect::{compile_c, write};

use super::{inspect_corpus, mentions, run_folder};

fn from_binaries(obs: &Observations) -> Vec<&Finding> {
    obs.findings
        .iter()
        .filter(|f| f.title.contains("adjacent strings, heuristic"))
        .collect()
}

#[test]
fn ddwrt_defaults_in_binaries() {
    let Some((obs, _d)) = inspect_corpus("ddwrt-tl-wr841nd-v9-factory-to-ddwrt.bin") else {
        return;
    };
    let found = from_binaries(&obs);
    for f in &found {
        eprintln!("{:?} {}", f.outcome, f.title);
    }
    assert!(found.iter().all(|f| f.heuristic));
    assert!(found.iter().any(|f| f.outcome == Outcome::Fail
        && mentions(f, "/usr/sbin/sputnik")
        && mentions(f, "http_passwd\\0admin")));
    assert!(found.iter().any(|f| f.outcome == Outcome::Fail
        && mentions(f, "/usr/sbin/httpd")
        && mentions(f, "\"admin\"")));
}

#[test]
fn nothing_on_the_other_corpus_images() {
    for name in [
        "openwrt-CC-r45001-freifunk-tl-wr841n-v9-squashfs-factory.bin",
        "tplink-tl-wr841n-v14-2023-rootfs.squashfs",
        "DIR-300A1_FW105b09.bin",
        "emux_DV-ARM_rootfs-arm.tar.bz2",
    ] {
        let Some((obs, _d)) = inspect_corpus(name) else {
            return;
        };
        // None of them has a compiled-in default table: nothing, not even undecided.
        let found: Vec<&String> = from_binaries(&obs).into_iter().map(|f| &f.title).collect();
        assert!(found.is_empty(), "{name}: {found:?}");
    }
}

#[test]
fn vendor_library_default_table() {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    let src = r.join("cfg.c");
    std::fs::write(
        &src,
        "const char *const cfg_defaults[][2] = {\n  {\"lan_ipaddr\", \"192.168.1.1\"},\n  {\"http_username\", \"admin\"},\n  {\"http_passwd\", \"Vend0r-Default\"},\n  {\"ddns_passwd\", \"ddns2024pass\"},\n};\nconst char *const names[] = {\"username\", \"password\", \"REMOTE_USER\", \"REMOTE_PASSWD\", \"ppp_passwd\", \"/tmp/ppp/options\"};\nint main(void) { return 0; }\n",
    )
    .unwrap();
    let lib = r.join("lib/libvendorcfg.so");
    std::fs::create_dir_all(lib.parent().unwrap()).unwrap();
    let gcc = iotassure_testkit::require_tool("gcc", "gcc");
    let st = std::process::Command::new(gcc)
        .args(["-shared", "-fPIC", "-O2", "-o"])
        .arg(&lib)
        .arg(&src)
        .status()
        .unwrap();
    assert!(st.success());
    std::fs::remove_file(&src).unwrap();
    // A clean binary beside it: nothing to find.
    compile_c(&r.join("usr/sbin/app"), &[]);
    write(r, "etc/passwd", "root:*:0:0:root:/root:/bin/false\n");
    let obs = run_folder(r);
    let found = from_binaries(&obs);
    let titles: Vec<&String> = found.iter().map(|f| &f.title).collect();
    assert!(
        found.iter().any(|f| f.outcome == Outcome::Fail
            && f.heuristic
            && mentions(f, "Vend0r-Default")
            && mentions(f, "http_username=admin")),
        "{titles:?}"
    );
    // A client secret for an optional service is undecided, not a FAIL.
    assert!(found
        .iter()
        .any(|f| f.outcome == Outcome::Inconclusive && mentions(f, "ddns_passwd")));
    assert_eq!(found.len(), 2, "only the two password defaults: {titles:?}");
}
