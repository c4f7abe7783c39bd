//! The NVRAM stand-in loads under each firmware's own dynamic linker and C library, under
//! QEMU, in the sandbox, and answers `nvram_get` from the store seeded before start:
//! - MIPS big-endian, musl (DD-WRT): the image's own `nvram` tool (which links DD-WRT's
//!   libnvram, itself built for /dev/nvram) prints the default of `etc/defaults.bin`, a value
//!   set by one process is read by the next, a key with no value is logged as missing, and
//!   `nvram show` lists every key (nvram_getall);
//! - MIPS little-endian, uClibc 0.9.33 (TP-Link TL-WR841N v14), ARM, uClibc 0.9.33 (DV-ARM)
//!   and MIPS big-endian, an older uClibc (DIR-300): images with no NVRAM; the library's
//!   load-time self-check (`IOTASSURE_SHIM_GET`) prints a seeded key from inside a firmware
//!   program, through the same lookup.

use std::path::Path;
use std::time::{Duration, Instant};

use iotassure_core::progress::NoProgress;
use iotassure_core::tree::{RootfsView, Tree};
use iotassure_emulate::rootcopy::{materialise, CopyLimits};
use iotassure_emulate::sandbox::{Job, Limits, Sandbox};
use iotassure_emulate::standin::{self, StandInReport};
use iotassure_emulate::Arch;
use iotassure_testkit::device::{require_root, TempDir};
use iotassure_testkit::{corpus_image, require_tool};

fn root_of(tree: &Tree) -> RootfsView<'_> {
    tree.rootfs_views()
        .into_iter()
        .max_by_key(|v| v.files().len())
        .expect("a root filesystem")
}

fn sh(name: &str, script: &str) -> Job {
    Job {
        name: name.into(),
        prep: Vec::new(),
        argv: vec!["/bin/sh".into(), "-c".into(), script.into()],
    }
}

/// Runs `jobs` on `image` with the stand-in (plus `extra` keys in its store); returns each
/// job's output and what the library logged.
fn run(
    image: &str,
    want: Arch,
    extra: &[(&str, &str)],
    jobs: Vec<Job>,
    check: impl FnOnce(&RootfsView<'_>, &[String], &StandInReport),
) {
    let image = corpus_image(image).expect("corpus present");
    let tmp = TempDir::new("emulate-standin");
    let u = iotassure_unpack::unpack(
        &image,
        &tmp.path().join("x"),
        &iotassure_unpack::Options::default(),
        &NoProgress,
    )
    .expect("unpack");
    let view = root_of(&u.tree);
    let root = tmp.path().join("root");
    let copied = materialise(&view, &root, CopyLimits::default()).expect("copy");
    assert_eq!(copied.arch, Some(want), "{}", image.display());
    if standin::library(want).is_none() {
        assert!(
            std::env::var("CI").is_err(),
            "the stand-in was not built for {} (clang/lld missing at build time)",
            want.name()
        );
        eprintln!(
            "skipping: the stand-in was not built for {} (install clang and lld)",
            want.name()
        );
        return;
    }
    let state = tmp.path().join("state");
    let mut report = StandInReport::default();
    let si = standin::prepare(&view, want, &state, &mut report);
    assert!(si.library.is_some() && si.nvram, "{report:?}");
    for (k, v) in extra {
        let f = state
            .join(standin::NVRAM_DIR)
            .join(standin::key_file(k).unwrap());
        std::fs::write(f, v).unwrap();
    }
    let limits = Limits {
        outer_uid: 0x7e00_0200,
        wall: Duration::from_secs(40),
        ..Limits::default()
    };
    let n = jobs.len();
    let mut sb = Sandbox::start_with(&root, &state, want, jobs, &[], limits, si).expect("sandbox");
    let t = Instant::now();
    while (0..n).any(|i| sb.job(i).exit.is_none()) && t.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let outputs: Vec<String> = (0..n).map(|i| sb.job(i).output).collect();
    for (i, out) in outputs.iter().enumerate() {
        assert_eq!(sb.job(i).exit, Some(0), "job {i}: {out}");
    }
    standin::collect(&state, &mut report);
    sb.stop();
    check(&view, &outputs, &report);
    assert!(!Path::new(&root).join(".iotassure_shim.so").is_dir());
}

fn prerequisites() -> bool {
    if corpus_image("ddwrt-tl-wr841nd-v9-factory-to-ddwrt.bin").is_none() {
        return false;
    }
    require_root();
    for q in ["qemu-mips-static", "qemu-mipsel-static", "qemu-arm-static"] {
        require_tool(q, "qemu-user-static");
    }
    require_tool("busybox", "busybox-static");
    require_tool("dash", "dash");
    true
}

#[test]
fn mips_be_musl_the_images_own_nvram_tool_reads_the_seeded_defaults() {
    if !prerequisites() {
        return;
    }
    run(
        "ddwrt-tl-wr841nd-v9-factory-to-ddwrt.bin",
        Arch::MipsBe,
        &[],
        vec![
            sh("get", "/usr/sbin/nvram get http_username; /usr/sbin/nvram get router_name"),
            // One process sets, the next one reads; then an absent key.
            sh(
                "set",
                "/usr/sbin/nvram set iotassure_probe=written-by-one; /usr/sbin/nvram get iotassure_probe; /usr/sbin/nvram get iotassure_absent_key; echo END",
            ),
            // Every key, as the driver lists them (nvram_getall over the store's folder).
            sh(
                "show",
                "/usr/sbin/nvram show > /tmp/all; /bin/busybox grep -c = /tmp/all; /bin/busybox grep '^router_name=' /tmp/all",
            ),
        ],
        |view, out, report| {
            let (defaults, sources) = standin::defaults(view);
            assert!(sources.iter().any(|s| s.starts_with("/etc/defaults.bin")), "{sources:?}");
            let want = |k: &str| {
                defaults
                    .iter()
                    .find(|(key, _)| key == k)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_else(|| panic!("{k} not among the image's defaults"))
            };
            let lines: Vec<&str> = out[0].lines().collect();
            assert_eq!(
                lines,
                vec![want("http_username").as_str(), want("router_name").as_str()],
                "{}",
                out[0]
            );
            assert!(out[1].starts_with("written-by-one\n"), "{}", out[1]);
            assert!(out[1].contains("END"), "{}", out[1]);
            assert_eq!(report.nvram_defaults, defaults.len());
            // The tool also prints its "size: N bytes" line (stderr, in the same log).
            let listed: usize = out[2]
                .lines()
                .find_map(|l| l.trim().parse().ok())
                .unwrap_or(0);
            // The store holds the defaults plus what the other jobs set meanwhile.
            assert!(listed >= defaults.len(), "{listed} of {}: {}", defaults.len(), out[2]);
            let line = format!("router_name={}", want("router_name"));
            assert!(out[2].lines().any(|l| l == line), "{}", out[2]);
            let nv = report
                .programs
                .iter()
                .find(|p| p.program == "nvram")
                .expect("the nvram tool's record");
            assert!(
                nv.nvram_missing.iter().any(|k| k == "iotassure_absent_key"),
                "{nv:?}"
            );
            assert!(!nv.nvram_missing.iter().any(|k| k == "http_username"));
        },
    );
}

/// `program` is any dynamically linked program of the image; its own work does not matter.
fn selfcheck(image: &str, arch: Arch, program: &str) {
    run(
        image,
        arch,
        &[("iotassure.check", "value from the store")],
        vec![sh(
            "check",
            &format!("IOTASSURE_SHIM_GET=iotassure.check {program}; IOTASSURE_SHIM_GET=no_such_key {program}; exit 0"),
        )],
        |_, out, report| {
            assert!(
                out[0].contains("iotassure-shim: iotassure.check=value from the store"),
                "{}",
                out[0]
            );
            assert!(out[0].contains("iotassure-shim: no_such_key unset"), "{}", out[0]);
            assert!(report
                .programs
                .iter()
                .any(|p| p.nvram_missing.iter().any(|k| k == "no_such_key")));
        },
    );
}

#[test]
fn mips_le_uclibc_loads_and_answers() {
    if !prerequisites() {
        return;
    }
    selfcheck(
        "tplink-tl-wr841n-v14-2023-rootfs.squashfs",
        Arch::MipsLe,
        "/bin/busybox echo loaded",
    );
}

#[test]
fn arm_uclibc_loads_and_answers() {
    if !prerequisites() {
        return;
    }
    selfcheck(
        "emux_DV-ARM_rootfs-arm.tar.bz2",
        Arch::Arm,
        "/bin/busybox echo loaded",
    );
}

#[test]
fn mips_be_old_uclibc_loads_and_answers() {
    if !prerequisites() {
        return;
    }
    // DIR-300's busybox is static (no preload); its dyndns client, linked to its old uClibc,
    // complains about its missing arguments and exits.
    selfcheck("DIR-300A1_FW105b09.bin", Arch::MipsBe, "/usr/sbin/dyndns");
}
