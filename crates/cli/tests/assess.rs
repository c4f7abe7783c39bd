//! End-to-end: `iotassure assess` on the shared corpus and on images these tests build.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use iotassure_testkit::{corpus_credentials, corpus_image, require_tool, run};
use serde_json::Value;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_iotassure"))
}

fn assess(image: &Path, extra: &[&str]) -> (Output, Option<Value>, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("report");
    let mut cmd = bin();
    cmd.arg("-q")
        .arg("assess")
        .arg(image)
        .arg("--out")
        .arg(&out)
        .args(extra);
    for c in corpus_credentials() {
        cmd.arg("--creds").arg(c);
    }
    let o = cmd.output().unwrap();
    let report = fs::read_to_string(out.join("report.json"))
        .ok()
        .map(|t| serde_json::from_str(&t).unwrap());
    (o, report, tmp)
}

fn verdict<'a>(r: &'a Value, id: &str) -> &'a Value {
    r["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == id)
        .unwrap_or_else(|| panic!("no verdict {id}"))
}

/// The findings a verdict cites.
fn cited<'a>(r: &'a Value, id: &str) -> Vec<&'a Value> {
    verdict(r, id)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| &r["findings"][i.as_u64().unwrap() as usize])
        .collect()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

#[test]
fn openwrt_factory_image_fails_5_1_1_at_roots_shadow_line() {
    let Some(img) = corpus_image("openwrt-CC-r45001-freifunk-tl-wr841n-v9-squashfs-factory.bin")
    else {
        return;
    };
    let (o, r, _t) = assess(&img, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let r = r.unwrap();
    assert_eq!(verdict(&r, "5.1-1")["verdict"], "FAIL");
    assert_eq!(verdict(&r, "5.1-1")["basis"], "verified");
    let f = cited(&r, "5.1-1")
        .into_iter()
        .find(|f| f["outcome"] == "fail")
        .expect("a failing finding");
    let loc = &f["evidence"][0]["location"];
    assert_eq!(loc["path"], "/etc/shadow");
    assert_eq!(loc["line"], 1);
    assert_eq!(
        loc["provenance"],
        "image @0x117790 squashfs-4.0-xz → /etc/shadow"
    );
    assert!(f["evidence"][0]["excerpt"]
        .as_str()
        .unwrap()
        .starts_with("root::"));
    assert!(r["subject"]["firmware"]["files"].as_u64().unwrap() >= 759);
}

#[test]
fn tplink_rootfs_fails_5_1_1_naming_the_cracked_password_and_passwd_bak() {
    let Some(img) = corpus_image("tplink-tl-wr841n-v14-2023-rootfs.squashfs") else {
        return;
    };
    let (o, r, _t) = assess(&img, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let r = r.unwrap();
    assert_eq!(verdict(&r, "5.1-1")["verdict"], "FAIL");
    let f = cited(&r, "5.1-1")
        .into_iter()
        .find(|f| f["title"].as_str().unwrap().contains("\"1234\""))
        .expect("finding naming the cracked password 1234");
    assert_eq!(f["evidence"][0]["location"]["path"], "/etc/passwd.bak");
    assert_eq!(f["evidence"][0]["location"]["line"], 1);
}

#[test]
fn ddwrt_image_fails_5_4_3_on_key_pem() {
    let Some(img) = corpus_image("ddwrt-tl-wr841nd-v9-factory-to-ddwrt.bin") else {
        return;
    };
    let (o, r, _t) = assess(&img, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let r = r.unwrap();
    assert_eq!(verdict(&r, "5.4-3")["verdict"], "FAIL");
    let paths: Vec<&str> = cited(&r, "5.4-3")
        .iter()
        .filter(|f| f["outcome"] == "fail")
        .map(|f| f["evidence"][0]["location"]["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"/etc/key.pem"), "{paths:?}");
    // Providing documents is the only way 5.2-1 gets decided: here it stays INCONCLUSIVE, and says why.
    let v = verdict(&r, "5.2-1");
    assert_eq!(v["verdict"], "INCONCLUSIVE");
    assert!(
        v["reason"]
            .as_str()
            .unwrap()
            .contains("published documents"),
        "{}",
        v["reason"]
    );
}

// ---- images built by the tests -------------------------------------------------------------

struct Rootfs {
    dir: tempfile::TempDir,
}

impl Rootfs {
    fn new() -> Rootfs {
        let dir = tempfile::tempdir().unwrap();
        for d in [
            "bin",
            "sbin",
            "etc/init.d",
            "etc/rc.d",
            "usr/sbin",
            "lib",
            "www",
        ] {
            fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        fs::write(dir.path().join("bin/busybox"), b"\x7fELF not really").unwrap();
        Rootfs { dir }
    }

    fn file(&self, path: &str, text: &str) -> &Self {
        let p = self.dir.path().join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
        self
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A squashfs 4.0 (xz) of this root, behind a vendor header of `header` bytes.
    fn squashfs(&self, out: &Path, header: usize) -> PathBuf {
        self.squashfs_with(out, header, "xz")
    }

    fn squashfs_with(&self, out: &Path, header: usize, comp: &str) -> PathBuf {
        require_tool("mksquashfs", "squashfs-tools");
        let sq = out.join(format!("rootfs-{comp}.sqfs"));
        run(Command::new("mksquashfs").arg(self.path()).arg(&sq).args([
            "-comp",
            comp,
            "-all-root",
            "-noappend",
            "-quiet",
        ]));
        let img = out.join(format!("image-{comp}-{header}.bin"));
        let mut bytes = vec![0x5au8; header];
        bytes.extend(fs::read(&sq).unwrap());
        fs::write(&img, bytes).unwrap();
        img
    }

    /// A tar of this root, compressed with `flag` (`-z`, `-j`, `-J` or none).
    fn tar(&self, out: &Path, flag: Option<&str>, name: &str) -> PathBuf {
        require_tool("tar", "tar");
        let img = out.join(name);
        let mut cmd = Command::new("tar");
        cmd.arg("-c")
            .args(flag)
            .arg("-f")
            .arg(&img)
            .arg("-C")
            .arg(self.path())
            .arg(".");
        run(&mut cmd);
        img
    }
}

/// A strong, random password hashed with sha512-crypt, as a careful maker would provision.
/// `--sbom FILE` on every Linux image of the corpus: a CycloneDX 1.6 document whose components
/// carry purls and include the ground truth's key components.
#[test]
fn sbom_for_every_linux_corpus_image() {
    let images = [
        (
            "ddwrt-tl-wr841nd-v9-factory-to-ddwrt.bin",
            &["busybox", "dropbear", "dnsmasq"][..],
        ),
        (
            "DIR-300A1_FW105b09.bin",
            &["busybox", "openssl", "hostapd"][..],
        ),
        (
            "emux_DV-ARM_rootfs-arm.tar.bz2",
            &["busybox", "openssl", "dropbear"][..],
        ),
        (
            "openwrt-CC-r45001-freifunk-tl-wr841n-v9-squashfs-factory.bin",
            &["busybox", "dropbear", "dnsmasq"][..],
        ),
        (
            "tplink-tl-wr841n-v14-2023-rootfs.squashfs",
            &["busybox", "dropbear", "openssl"][..],
        ),
        ("tplink-tl-wr841n-v14-2023-kernel.bin", &["linux"][..]),
    ];
    for (name, want) in images {
        let Some(img) = corpus_image(name) else {
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        let sbom = dir.path().join("sbom.json");
        let (o, _r, _t) = assess(&img, &["--sbom", sbom.to_str().unwrap()]);
        assert!(o.status.code() != Some(2), "{name}: {}", stderr(&o));
        let doc: Value = serde_json::from_str(&fs::read_to_string(&sbom).unwrap()).unwrap();
        assert_eq!(doc["bomFormat"], "CycloneDX", "{name}");
        assert_eq!(doc["specVersion"], "1.6", "{name}");
        let comps = doc["components"].as_array().unwrap();
        for w in want {
            let c = comps
                .iter()
                .find(|c| c["name"] == *w)
                .unwrap_or_else(|| panic!("{name}: no {w} in the SBOM"));
            assert!(
                c["version"].as_str().is_some_and(|v| !v.is_empty()),
                "{name}: {w} without a version"
            );
            assert!(
                c["purl"].as_str().is_some_and(|p| p.starts_with("pkg:")),
                "{name}: {w} without a purl"
            );
        }
    }
}

fn strong_hash() -> String {
    let o =
        run(Command::new("openssl").args(["passwd", "-6", "x9$Kq!vB7#mT2wZ@pL4r-unique-per-unit"]));
    String::from_utf8(o.stdout).unwrap().trim().to_string()
}

fn clean_root() -> Rootfs {
    let r = Rootfs::new();
    r.file(
        "etc/passwd",
        "root:x:0:0:root:/root:/bin/ash\nnobody:*:65534:65534:nobody:/var:/bin/false\n",
    )
    .file(
        "etc/shadow",
        &format!(
            "root:{}:19000:0:99999:7:::\nnobody:*:0:0:99999:7:::\n",
            strong_hash()
        ),
    )
    .file(
        "etc/inittab",
        "::sysinit:/etc/init.d/rcS\n::shutdown:/bin/umount -a -r\n",
    )
    .file(
        "etc/init.d/rcS",
        "#!/bin/sh\nfor s in /etc/rc.d/S*; do $s start; done\n",
    )
    .file(
        "etc/init.d/dropbear",
        "#!/bin/sh\n/usr/sbin/dropbear -s -p 22\n",
    );
    r
}

#[test]
fn a_clean_image_behind_a_vendor_header_is_not_failed_on_5_1_1_or_5_6_1() {
    let root = clean_root();
    let work = tempfile::tempdir().unwrap();
    let img = root.squashfs(work.path(), 512);
    let (o, r, _t) = assess(&img, &[]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "incomplete, not an error: {}",
        stderr(&o)
    );
    let r = r.unwrap();
    for id in ["5.1-1", "5.6-1", "5.6-4", "5.4-3"] {
        assert_ne!(
            verdict(&r, id)["verdict"],
            "FAIL",
            "{id}: {}",
            verdict(&r, id)["reason"]
        );
    }
    // The hash resisted the list, and the verdict says why it still cannot PASS.
    let v = verdict(&r, "5.1-1");
    assert_eq!(v["verdict"], "INCONCLUSIVE");
    assert!(
        v["reason"].as_str().unwrap().contains("resisted"),
        "{}",
        v["reason"]
    );
    // Found by magic after the 512-byte header.
    let layout = r["subject"]["firmware"]["layout"].as_array().unwrap();
    assert!(layout
        .iter()
        .any(|l| l["offset"] == 512 && l["format"] == "squashfs-4.0"));
}

#[test]
fn the_same_rootfs_with_defaults_and_telnet_fails() {
    let root = Rootfs::new();
    let md5_admin = String::from_utf8(
        run(Command::new("openssl").args(["passwd", "-1", "-salt", "abcdefgh", "admin"])).stdout,
    )
    .unwrap();
    root.file("etc/passwd", "root:x:0:0:root:/root:/bin/ash\n")
        .file(
            "etc/shadow",
            &format!("root:{}:19000:0:99999:7:::\n", md5_admin.trim()),
        )
        .file(
            "etc/inittab",
            "::sysinit:/etc/init.d/rcS\nttyS0::respawn:/bin/sh\n",
        )
        .file("etc/init.d/rcS", "#!/bin/sh\n/etc/init.d/S40telnet start\n")
        .file("etc/init.d/S40telnet", "#!/bin/sh\ntelnetd -l /bin/sh\n");
    let work = tempfile::tempdir().unwrap();
    let img = root.squashfs(work.path(), 0);
    let (o, r, _t) = assess(&img, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let r = r.unwrap();
    for id in ["5.1-1", "5.6-1", "5.6-4"] {
        assert_eq!(verdict(&r, id)["verdict"], "FAIL", "{id}");
    }
    assert!(cited(&r, "5.1-1")
        .iter()
        .any(|f| f["title"].as_str().unwrap().contains("\"admin\"")));
    let telnet = cited(&r, "5.6-1")
        .into_iter()
        .find(|f| f["outcome"] == "fail" && f["title"].as_str().unwrap().contains("telnet"))
        .expect("a failing telnet finding");
    assert_eq!(
        telnet["evidence"][0]["location"]["path"],
        "/etc/init.d/S40telnet"
    );
    assert_eq!(
        telnet["severity"], "critical",
        "telnetd -l /bin/sh hands out a shell"
    );
}

#[test]
fn tar_rootfs_plain_gzip_bzip2_xz_gzip_squashfs_and_folders_are_accepted() {
    let root = Rootfs::new();
    root.file("etc/passwd", "root::0:0:root:/root:/bin/sh\n")
        .file("etc/inittab", "::sysinit:/bin/true\n");
    let work = tempfile::tempdir().unwrap();
    let images = [
        root.tar(work.path(), None, "rootfs.tar"),
        root.tar(work.path(), Some("-z"), "rootfs.tar.gz"),
        root.tar(work.path(), Some("-j"), "rootfs.tar.bz2"),
        root.tar(work.path(), Some("-J"), "rootfs.tar.xz"),
        root.squashfs_with(work.path(), 0, "gzip"),
        root.squashfs_with(work.path(), 4096, "gzip"),
        root.path().to_path_buf(),
    ];
    for img in images {
        let (o, r, _t) = assess(&img, &[]);
        assert_eq!(
            o.status.code(),
            Some(1),
            "{}: {}",
            img.display(),
            stderr(&o)
        );
        let r = r.unwrap();
        assert_eq!(verdict(&r, "5.1-1")["verdict"], "FAIL", "{}", img.display());
        let f = cited(&r, "5.1-1")
            .into_iter()
            .find(|f| f["outcome"] == "fail")
            .unwrap();
        assert_eq!(f["evidence"][0]["location"]["path"], "/etc/passwd");
    }
}

// ---- bad input ------------------------------------------------------------------------------

fn assert_clean_error(o: &Output, out: &Path, expect: &[&str]) {
    assert_eq!(
        o.status.code(),
        Some(2),
        "exit 2 on bad input; stderr: {}",
        stderr(o)
    );
    let e = stderr(o);
    for x in expect {
        assert!(e.contains(x), "stderr should mention {x:?}: {e}");
    }
    assert!(!e.contains("panicked"), "{e}");
    assert!(!out.exists(), "no half-written report");
}

#[test]
fn empty_random_and_truncated_files_are_clear_errors() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("report");
    let empty = work.path().join("empty.bin");
    fs::write(&empty, b"").unwrap();
    let o = bin()
        .args(["-q", "assess"])
        .arg(&empty)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_clean_error(&o, &out, &["empty.bin", "empty"]);

    // Deterministic pseudo-random bytes (xorshift), 256 KiB.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let random: Vec<u8> = (0..256 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    let rnd = work.path().join("random.bin");
    fs::write(&rnd, &random).unwrap();
    let o = bin()
        .args(["-q", "assess"])
        .arg(&rnd)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_clean_error(
        &o,
        &out,
        &["random.bin", "no known firmware format", "offset 0"],
    );

    let img = clean_root().squashfs(work.path(), 0);
    let full = fs::read(&img).unwrap();
    // Cut inside the filesystem itself (mksquashfs pads the file to 4 KiB).
    let bytes_used = u64::from_le_bytes(full[40..48].try_into().unwrap()) as usize;
    let cut = work.path().join("truncated.sqfs");
    fs::write(&cut, &full[..bytes_used / 2]).unwrap();
    let o = bin()
        .args(["-q", "assess"])
        .arg(&cut)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    // Damage is not bad input: the image is assessed, the report PARTIAL with the problem at
    // its offset, and what needs the files INCONCLUSIVE (exit 1).
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let r: Value =
        serde_json::from_str(&fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let fw = &r["subject"]["firmware"];
    assert_eq!(fw["partial"], true);
    assert!(
        fw["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["offset"] == 0 && p["message"].as_str().unwrap().contains("truncated")),
        "{fw:#}"
    );
}

#[test]
fn output_folder_is_atomic_and_never_clobbered() {
    let root = clean_root();
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("report");
    fs::create_dir(&out).unwrap();
    fs::write(out.join("precious.txt"), b"keep me").unwrap();
    let o = bin()
        .args(["-q", "assess"])
        .arg(root.path())
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--force"));
    assert_eq!(fs::read(out.join("precious.txt")).unwrap(), b"keep me");
    let o = bin()
        .args(["-q", "assess"])
        .arg(root.path())
        .arg("--out")
        .arg(&out)
        .arg("--force")
        .output()
        .unwrap();
    // --force replaces only what iotassure wrote: the user's folder stays (tests/outputs.rs).
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(fs::read(out.join("precious.txt")).unwrap(), b"keep me");
    fs::remove_dir_all(&out).unwrap();
    let o = bin()
        .args(["-q", "assess"])
        .arg(root.path())
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    fs::write(out.join("old.txt"), b"from the first run").unwrap();
    let o = bin()
        .args(["-q", "assess"])
        .arg(root.path())
        .arg("--out")
        .arg(&out)
        .arg("--force")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(!out.join("old.txt").exists());
    for f in ["report.json", "report.md", "report.html", "sbom.cdx.json"] {
        assert!(out.join(f).is_file(), "{f}");
    }
    // No staging folders left behind.
    let leftovers: Vec<_> = fs::read_dir(work.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn html_report_is_self_contained() {
    let (o, _r, t) = assess(clean_root().path(), &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let html = fs::read_to_string(t.path().join("report/report.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("Table B.1"));
    for external in ["<script", "<link", "src=\"http", "@import", "url(http"] {
        assert!(!html.contains(external), "external asset: {external}");
    }
    let md = fs::read_to_string(t.path().join("report/report.md")).unwrap();
    assert!(md.contains("## Table B.1") && md.contains("| 5.1-1 "));
}

#[test]
fn the_bundled_example_assesses_with_its_statement() {
    let ex = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/demo-router");
    let ics = ex.join("demo-router.ics.yaml");
    let (o, r, _t) = assess(
        &ex.join("demo-router.img"),
        &["--ics", ics.to_str().unwrap(), "--profile", "uk-psti"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let r = r.unwrap();
    assert_eq!(r["selected_profile"], "uk-psti");
    // Evidence beats the maker's claim of unique passwords; 5.3-13 rests on the statement only.
    assert_eq!(verdict(&r, "5.1-1")["verdict"], "FAIL");
    assert_eq!(verdict(&r, "5.3-13")["verdict"], "PASS");
    assert_eq!(verdict(&r, "5.3-13")["basis"], "declared");
    assert_eq!(r["subject"]["product"]["model"], "DR-100 Demo Router");
}
