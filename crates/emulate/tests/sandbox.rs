//! The sandbox holds hostile firmware: a program that tries to reach a service on the host's
//! loopback, write to a world-writable host folder (by absolute path and through
//! /proc/1/root), and fork-bombs, achieves none of it; the run ends, and every process of
//! the sandbox is gone afterwards. The "firmware" is a busybox shell script in a root of its
//! own (the host's static busybox: x86-64, so it runs without QEMU, through the same sandbox).

use std::io::Read;
use std::net::TcpListener;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::time::{Duration, Instant};

use iotassure_emulate::firstboot::Seed;
use iotassure_emulate::sandbox::{Job, Limits, Sandbox};
use iotassure_emulate::Arch;
use iotassure_testkit::device::{require_root, TempDir};
use iotassure_testkit::require_tool;

/// Processes on the host running as `uid` (real uid).
fn processes_of(uid: u32) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(st) = std::fs::read_to_string(e.path().join("status")) else {
            continue;
        };
        let real = st
            .lines()
            .find(|l| l.starts_with("Uid:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|u| u.parse::<u32>().ok());
        if real == Some(uid) {
            n += 1;
        }
    }
    n
}

fn job(name: &str, script: &str) -> Job {
    Job {
        name: name.into(),
        prep: Vec::new(),
        argv: vec!["/bin/sh".into(), "-c".into(), script.into()],
    }
}

fn wait_exit(sb: &Sandbox, i: usize, limit: Duration) -> Option<i32> {
    let t = Instant::now();
    while t.elapsed() < limit {
        if let Some(c) = sb.job(i).exit {
            return Some(c);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

#[test]
fn hostile_firmware_achieves_nothing_and_the_run_ends() {
    require_root();
    let busybox = require_tool("busybox", "busybox-static");
    for (t, p) in [
        ("dash", "dash"),
        ("unshare", "util-linux"),
        ("setpriv", "util-linux"),
        ("pivot_root", "util-linux"),
        ("ip", "iproute2"),
    ] {
        require_tool(t, p);
    }
    let tmp = TempDir::new("emulate-sandbox");
    let root = tmp.path().join("root");
    for d in ["bin", "tmp", "dev", "proc", "sys"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::copy(&busybox, root.join("bin/busybox")).unwrap();
    std::fs::set_permissions(
        root.join("bin/busybox"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    symlink("busybox", root.join("bin/sh")).unwrap();
    // A world-writable host folder: only the sandbox, not file permissions, keeps it clean.
    let outside = tmp.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::set_permissions(&outside, std::fs::Permissions::from_mode(0o777)).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let limits = Limits {
        nproc: 24,
        // A user of its own: an emulation running beside the test cannot blur the counts.
        outer_uid: 0x7e00_0100,
        wall: Duration::from_secs(30),
        ..Limits::default()
    };
    let uid = limits.outer_uid;
    assert_eq!(processes_of(uid), 0, "uid {uid} is in use on this host");

    let o = outside.display();
    // The jobs run side by side, so the escape makes the folder itself rather than trusting the
    // `mkdirs` job to have run first (under load it had not, and WROTE-ABS went missing).
    let net = format!(
        "if busybox nc -w 2 127.0.0.1 {port} </dev/null; then echo NET-HOST-REACHED; else echo NET-HOST-BLOCKED; fi; \
         echo ROUTES:$(busybox ip route 2>/dev/null | busybox wc -l); \
         busybox mkdir -p {o}; echo pwned > {o}/abs 2>/dev/null && echo WROTE-ABS; \
         echo pwned > /proc/1/root{o}/via-proc1 2>/dev/null && echo WROTE-PROC1; \
         busybox ls -a /proc/1/root/ | busybox tr '\\n' ' '; echo; \
         echo x > /written && echo WROTE-ROOT; \
         busybox dd if=/dev/zero of=/big bs=1048576 count=100 2>/dev/null; echo BIG:$(busybox wc -c < /big); echo DONE"
    );
    // The bomb runs in the background of a shell that then reports whether it can still fork.
    let bomb = "busybox sleep 3; b() { b | b & }; b; busybox sleep 2; echo FORKS:$(busybox ps 2>/dev/null | busybox wc -l)";
    let jobs = vec![
        Job {
            name: "mkdirs".into(),
            prep: Vec::new(),
            argv: vec![
                "/bin/busybox".into(),
                "mkdir".into(),
                "-p".into(),
                outside.display().to_string(),
            ],
        },
        job("escape", &net),
        job("bomb", bomb),
        job("sleeper", "busybox sleep 1000"),
    ];
    let seeds = [Seed {
        path: "/tmp/seeded".into(),
        data: b"from the image\n".to_vec(),
        why: "test".into(),
    }];
    let started = Instant::now();
    let mut sb = Sandbox::start(
        &root,
        &tmp.path().join("state"),
        Arch::X86_64,
        jobs,
        &seeds,
        limits,
    )
    .expect("sandbox");
    assert!(
        wait_exit(&sb, 1, Duration::from_secs(15)).is_some(),
        "the escape job did not end: {:?}",
        sb.job(1)
    );
    let esc = sb.job(1).output;
    assert!(esc.contains("DONE"), "{esc}");
    assert!(
        esc.contains("NET-HOST-BLOCKED") && !esc.contains("NET-HOST-REACHED"),
        "{esc}"
    );
    assert!(
        esc.contains("ROUTES:0"),
        "a route out of the namespace: {esc}"
    );
    // Nothing reached the host's listener.
    assert!(
        listener.accept().is_err(),
        "the sandbox connected to the host's loopback"
    );
    // The writes went into the sandbox (the copy is the namespace's root, and the path is on
    // its own /tmp), never to the host.
    assert!(!outside.join("abs").exists() && !outside.join("via-proc1").exists());
    assert!(esc.contains("WROTE-ABS"), "{esc}");
    // /proc/1/root is the copy: it holds our marker folder, not the host's /usr.
    assert!(esc.contains(".iotassure") && !esc.contains("usr "), "{esc}");
    // Writes to the root land in the capped tmpfs above the copy: the copy on disk is
    // untouched, and filling the disk stops at the cap (32 MiB).
    assert!(esc.contains("WROTE-ROOT"), "{esc}");
    assert!(!root.join("written").exists() && !root.join("big").exists());
    let big: u64 = esc
        .split("BIG:")
        .nth(1)
        .and_then(|r| r.lines().next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(u64::MAX);
    assert!(big <= 32 << 20, "{esc}");
    // The seed was written before anything ran, inside the sandbox's own /tmp.
    assert!(
        !Path::new("/tmp/seeded").exists()
            || std::fs::read("/tmp/seeded").unwrap() != b"from the image\n"
    );

    // The fork bomb hits the process cap: the host never sees more than the cap.
    let mut peak = 0;
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(6) {
        peak = peak.max(processes_of(uid));
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(peak > 3, "the bomb did not run (peak {peak} processes)");
    assert!(
        peak <= 24 + 2,
        "{peak} sandbox processes on the host, over the cap of 24"
    );

    sb.stop();
    let t = Instant::now();
    while processes_of(uid) > 0 && t.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(processes_of(uid), 0, "sandbox processes outlived the run");
    let mut log = String::new();
    std::fs::File::open(tmp.path().join("state/supervisor.log"))
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    assert!(!log.contains("sandbox set-up"), "{log}");
    assert!(started.elapsed() < Duration::from_secs(30));
}
