//! The project's own fixtures: a clean rootfs (strong unique password hash, no telnet, signed
//! package updates, hardened ELF files built on the host) gets no FAIL on the provisions the
//! firmware checks judge; a vulnerable twin gets them; microcontroller images (Intel HEX made
//! by the testkit writer, ESP32 app images) are judged from tree blobs.

use std::path::Path;

use iotassure_core::finding::{Observations, Outcome};
use iotassure_core::progress::NoProgress;
use iotassure_core::tree::{Blob, BlobKind, Tree};
use iotassure_inspect::{inspect, Options};
use iotassure_testkit::inspect::{compile_c, intel_hex, parse_intel_hex, write, HARDENED_CFLAGS};

fn run_folder(dir: &Path) -> Observations {
    let up = iotassure_unpack::unpack(dir, &dir.join("unused"), &Default::default(), &NoProgress)
        .expect("folder");
    inspect(&up.tree, &Options::default(), &NoProgress)
}

fn fails_on(obs: &Observations, prov: &str) -> Vec<String> {
    obs.findings
        .iter()
        .filter(|f| f.outcome == Outcome::Fail && f.provisions.iter().any(|p| p == prov))
        .map(|f| f.title.clone())
        .collect()
}

fn random_password() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    format!("{:016x}-{:x}", h.finish(), std::process::id())
}

fn base_rootfs(root: &Path) {
    write(root, "etc/passwd", "root:x:0:0:root:/root:/bin/ash\ndaemon:*:1:1:daemon:/var:/bin/false\nnobody:*:65534:65534:nobody:/var:/bin/false\n");
    write(root, "etc/group", "root:x:0:\n");
    write(
        root,
        "etc/inittab",
        "::sysinit:/etc/init.d/rcS S boot\n::shutdown:/etc/init.d/rcS K shutdown\n",
    );
    write(
        root,
        "etc/init.d/rcS",
        "#!/bin/sh\nmount -a\n/usr/sbin/dropbear -p 22 &\n",
    );
    write(root, "etc/opkg.conf", "dest root /\nlists_dir ext /var/opkg-lists\noption overlay_root /overlay\noption check_signature 1\n");
    write(
        root,
        "etc/opkg/distfeeds.conf",
        "src/gz base https://downloads.example.org/packages/base\n",
    );
    write(root, "etc/opkg/keys/b5043e70f9a75cde", "untrusted comment: public key b5043e70f9a75cde\nRWS1BD5w+adc3j2Hqg9+b66CvLR7NlHbsj7wjNVj0XGt/othDgIAOJS+\n");
    write(root, "etc/dropbear/dropbear_rsa_host_key", "");
}

fn hardened_elves(root: &Path) {
    compile_c(&root.join("bin/opkg"), HARDENED_CFLAGS);
    compile_c(&root.join("usr/sbin/dropbear"), HARDENED_CFLAGS);
    compile_c(&root.join("usr/bin/app"), HARDENED_CFLAGS);
}

#[test]
fn clean_fixture_has_no_fail() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    base_rootfs(root);
    let hash = pwhash::sha512_crypt::hash(random_password()).unwrap();
    write(
        root,
        "etc/shadow",
        format!(
            "root:{hash}:19000:0:99999:7:::\ndaemon:*:0:0:99999:7:::\nnobody:*:0:0:99999:7:::\n"
        ),
    );
    hardened_elves(root);
    let obs = run_folder(root);
    for prov in [
        "5.1-1", "5.1-2", "5.4-1", "5.4-3", "5.4-4", "5.6-1", "5.6-4", "5.6-7", "5.7-1", "5.3-9",
        "5.3-10", "5.6-9",
    ] {
        assert!(
            fails_on(&obs, prov).is_empty(),
            "clean fixture FAILs {prov}: {:?}",
            fails_on(&obs, prov)
        );
    }
    // Positive evidence where the fixture has the measure in place.
    let passes = |p: &str| {
        obs.findings
            .iter()
            .any(|f| f.outcome == Outcome::Pass && f.provisions.iter().any(|x| x == p))
    };
    assert!(passes("5.6-9"), "all ELF files are hardened");
    assert!(
        passes("5.3-10"),
        "opkg verifies signatures with a usign key"
    );
    // The strong hash resisted the list: a fixed hash in the image is undecided, not a pass.
    assert!(obs
        .findings
        .iter()
        .any(|f| f.outcome == Outcome::Inconclusive && f.provisions.iter().any(|p| p == "5.1-1")));
    assert!(!passes("5.1-1"));
}

#[test]
fn vulnerable_twin_fails() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    base_rootfs(root);
    write(
        root,
        "etc/shadow",
        "root:$1$$iC.dUsGpxNNJGeOm1dFio/:19000:0:99999:7:::\n",
    );
    write(
        root,
        "etc/passwd",
        "root:x:0:0:root:/root:/bin/ash\nbackdoor::0:0::/:/bin/sh\n",
    );
    write(
        root,
        "etc/inittab",
        "::sysinit:/etc/init.d/rcS\nttyS0::respawn:/bin/sh\n",
    );
    write(root, "etc/init.d/rcS", "#!/bin/sh\ntelnetd -l /bin/sh &\nmy_pass=`cat /etc/sign`\n/usr/sbin/utelnetd -u admin:$my_pass &\n/usr/bin/app &\n");
    write(root, "etc/sign", "s3cr3t_value\n");
    write(
        root,
        "etc/opkg.conf",
        "src/gz base http://downloads.example.org/packages/base\n",
    );
    write(
        root,
        "etc/dropbear/dropbear_rsa_host_key",
        [&7u32.to_be_bytes()[..], b"ssh-rsa\0\0\0\x03\x01\0\x01"].concat(),
    );
    write(
        root,
        "etc/config/upnpd",
        "config upnpd config\n\toption secure_mode '0'\n",
    );
    compile_c(
        &root.join("usr/bin/app"),
        &["-O0", "-fno-stack-protector", "-no-pie", "-Wl,-z,norelro"],
    );
    let obs = run_folder(root);
    let expect: &[(&str, &str)] = &[
        ("5.1-1", "1234"),
        ("5.1-1", "empty password"),
        ("5.1-1", "s3cr3t_value"),
        ("5.4-3", "dropbear ssh-rsa host key"),
        ("5.6-1", "telnet"),
        ("5.6-4", "shell without login"),
        ("5.6-1", "UPnP"),
        ("5.3-10", "without signature verification"),
        ("5.6-9", "canaries"),
        ("5.1-3", "empty salt"),
    ];
    for (prov, needle) in expect {
        assert!(
            fails_on(&obs, prov).iter().any(|t| t.contains(needle)),
            "expected FAIL on {prov} mentioning {needle:?}: {:?}",
            fails_on(&obs, prov)
        );
    }
}

fn blob_tree(dir: &Path, data: &[u8], base: Option<u64>) -> Tree {
    std::fs::write(dir.join("fw.bin"), data).unwrap();
    Tree {
        root: dir.to_path_buf(),
        entries: vec![],
        rootfs: vec![],
        blobs: vec![Blob {
            path: "fw.bin".into(),
            kind: BlobKind::McuFirmware,
            provenance: "image @0x0 ihex".into(),
            base_address: base,
        }],
    }
}

#[test]
fn mcu_password_from_intel_hex() {
    let mut flash = [0x0Cu8, 0x94, 0x47, 0x00].repeat(64);
    flash.extend(b"Enter password: \0wrong password\0h4rdc0ded99\0Welcome\0");
    let (base, flat) = parse_intel_hex(&intel_hex(&flash, 0x0000));
    let dir = tempfile::tempdir().unwrap();
    let tree = blob_tree(dir.path(), &flat, Some(base as u64));
    let obs = inspect(&tree, &Options::default(), &NoProgress);
    let f = obs
        .findings
        .iter()
        .find(|f| f.title.contains("h4rdc0ded99"))
        .expect("password found");
    assert!(f.heuristic && f.outcome == Outcome::Fail && f.provisions.iter().any(|p| p == "5.4-3"));
    assert!(
        f.title.contains("0x120"),
        "flash address in the title: {}",
        f.title
    );
    assert!(
        !fails_on(&obs, "5.7-1").is_empty(),
        "an MCU image without a signature structure"
    );
}

/// The real DVID image, flattened by the testkit reader (no unpack support needed).
#[test]
fn dvid_password_from_corpus_hex() {
    let Some(img) =
        iotassure_testkit::corpus_image("DVID_hardcodedPassword.ino.arduino_standard.hex")
    else {
        return;
    };
    let (base, flat) = parse_intel_hex(&std::fs::read_to_string(img).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let obs = inspect(
        &blob_tree(dir.path(), &flat, Some(base as u64)),
        &Options::default(),
        &NoProgress,
    );
    let titles = fails_on(&obs, "5.1-1");
    assert!(
        titles
            .iter()
            .any(|t| t.contains("sup3rp4ssw0rd") && t.contains("0x3F72")),
        "{titles:?}"
    );
}

/// The real ESP32-S2 image as an McuFirmware blob: no Secure Boot v2 block, no credentials,
/// and the ESP-IDF version from the app descriptor.
#[test]
fn esp32_image_as_blob() {
    let Some(img) = iotassure_testkit::corpus_image("esptool_esp_idf_blink_esp32s2.bin") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let obs = inspect(
        &blob_tree(dir.path(), &std::fs::read(img).unwrap(), None),
        &Options::default(),
        &NoProgress,
    );
    assert!(
        fails_on(&obs, "5.7-1")
            .iter()
            .any(|t| t.contains("checksum")),
        "{:?}",
        obs.findings
    );
    assert!(obs.findings.iter().any(|f| f
        .evidence
        .iter()
        .any(|e| e.excerpt.contains("Secure Boot v2"))));
    assert!(
        fails_on(&obs, "5.1-1").is_empty() && fails_on(&obs, "5.4-3").is_empty(),
        "{:?}",
        fails_on(&obs, "5.1-1")
    );
    assert!(
        obs.components
            .iter()
            .any(|c| c.name == "esp-idf" && c.version.starts_with("5.0-beta1")),
        "{:?}",
        obs.components
    );
}
