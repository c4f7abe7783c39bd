//! Not a test: the daemons `bench/device.sh` measures against, the same fixtures the tests use,
//! in a network namespace (slot 20: the device is 10.250.0.82). Run with `--ignored`; it prints
//! `READY <address>` and keeps them up until the file named by IOTASSURE_BENCH_STOP exists (or
//! 30 minutes pass), then stops everything and removes the namespace.

use std::time::{Duration, Instant};

use iotassure_testkit::device::{self as fx, Netns, Telnet, Tls};

#[test]
#[ignore = "bench fixture: run by bench/device.sh"]
fn bench_fixture() {
    let stop = std::env::var("IOTASSURE_BENCH_STOP")
        .unwrap_or_else(|_| "/tmp/iotassure-bench-stop".into());
    let _ = std::fs::remove_file(&stop);
    let ns = Netns::new(20);
    let dev = ns.device();
    let _daemons = [
        fx::telnetd(&dev, 23, Telnet::Weak),
        fx::dropbear(&dev, 22, true),
        fx::lighttpd(&dev, 80, true),
        fx::mosquitto(&dev, 1883, true),
        fx::s_server(&dev, 4431, Tls::Tls10Rsa1024Sha1),
        fx::s_server(&dev, 4432, Tls::NullAnon),
        fx::s_server(&dev, 443, Tls::Modern),
        fx::miniupnpd(&ns, 20),
    ];
    println!("READY {}", dev.ip);
    let start = Instant::now();
    while !std::path::Path::new(&stop).exists() && start.elapsed() < Duration::from_secs(1800) {
        std::thread::sleep(Duration::from_millis(200));
    }
    println!("STOPPING");
}
