//! The power test (`--power-switch`) against a stand-in switch: a small HTTP server in this test
//! that speaks Tasmota's (`/cm?cmnd=Power%20Off`) or Shelly Gen1's (`/relay/0?turn=off`)
//! documented local API and really stops and restarts the "device" — a dropbear daemon on a
//! loopback address of its own. The probe's code path is the one a real switch would see; what
//! these tests prove is the logic (cut, silence, recovery time, same host key), not a device.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use iotassure_core::finding::{Outcome, Source};
use iotassure_core::progress::NoProgress;
use iotassure_device::power::{PowerOptions, PowerSwitch};
use iotassure_device::{probe, Options, Ports, ProbeOutcome};
use iotassure_testkit::device::{self as fx, Daemon, Host, TempDir};

#[derive(Clone, Copy, PartialEq)]
enum Device {
    /// Comes back after a 1 s "boot" with the host key it had.
    Keeps,
    /// Comes back with a freshly generated host key (settings lost).
    ForgetsKey,
    /// Never comes back.
    Dead,
    /// The relay is not wired to it: "off" leaves it running.
    NotFed,
}

struct StandIn {
    addr: SocketAddr,
    commands: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    _device: Arc<Mutex<Option<Daemon>>>,
    _dir: TempDir,
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

const BOOT: Duration = Duration::from_millis(1000);

fn stand_in(shelly: bool, device: Device) -> (StandIn, Host, u16) {
    fx::require_root();
    let dir = TempDir::new("power");
    let key: PathBuf = dir.path().join("host_key");
    fx::dropbear_key(&key);
    let host = fx::loopback();
    let port = 2222;
    let dev = Arc::new(Mutex::new(Some(fx::dropbear_keyed(
        &host,
        port,
        true,
        Some(&key),
    ))));
    let on = Arc::new(AtomicBool::new(true));
    let commands = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let listener = TcpListener::bind((fx::loopback().ip, 0)).expect("bind the stand-in switch");
    listener.set_nonblocking(true).expect("nonblocking");
    let addr = listener.local_addr().expect("addr");
    let (dev2, cmds2, stop2, host2) = (dev.clone(), commands.clone(), stop.clone(), host.clone());
    std::thread::spawn(move || {
        // Bounded: the thread ends with the test (stop) or after 5 minutes at most.
        let end = std::time::Instant::now() + Duration::from_secs(300);
        while !stop2.load(Ordering::Relaxed) && std::time::Instant::now() < end {
            let Ok((mut c, _)) = listener.accept() else {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            };
            c.set_nonblocking(false).expect("blocking");
            c.set_read_timeout(Some(Duration::from_secs(2)))
                .expect("timeout");
            let mut buf = vec![0u8; 4096];
            let mut n = 0;
            while n < buf.len() && !buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
                match c.read(&mut buf[n..]) {
                    Ok(0) | Err(_) => break,
                    Ok(k) => n += k,
                }
            }
            let req = String::from_utf8_lossy(&buf[..n]).to_string();
            let path = req.split_whitespace().nth(1).unwrap_or("").to_string();
            cmds2.lock().unwrap().push(path.clone());
            let want = match (shelly, path.as_str()) {
                (false, "/cm?cmnd=Power%20Off") | (true, "/relay/0?turn=off") => Some(false),
                (false, "/cm?cmnd=Power%20On") | (true, "/relay/0?turn=on") => Some(true),
                (false, "/cm?cmnd=Power") | (true, "/relay/0") => None,
                _ => {
                    let _ = c.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
                    continue;
                }
            };
            if let Some(w) = want {
                let was = on.swap(w, Ordering::Relaxed);
                if device != Device::NotFed {
                    if !w {
                        // Power off: the device dies at once.
                        drop(dev2.lock().unwrap().take());
                    } else if !was && device != Device::Dead {
                        let (dev3, host3) = (dev2.clone(), host2.clone());
                        let key = key.clone();
                        std::thread::spawn(move || {
                            std::thread::sleep(BOOT);
                            let d = if device == Device::ForgetsKey {
                                fx::dropbear(&host3, port, true)
                            } else {
                                fx::dropbear_keyed(&host3, port, true, Some(&key))
                            };
                            *dev3.lock().unwrap() = Some(d);
                        });
                    }
                }
            }
            let state = on.load(Ordering::Relaxed);
            let body = if shelly {
                format!("{{\"ison\":{state},\"has_timer\":false,\"source\":\"http\"}}")
            } else {
                format!("{{\"POWER\":\"{}\"}}", if state { "ON" } else { "OFF" })
            };
            let _ = c.write_all(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            );
        }
    });
    (
        StandIn {
            addr,
            commands,
            stop,
            _device: dev,
            _dir: dir,
        },
        host,
        port,
    )
}

fn run(s: &StandIn, host: &Host, port: u16, url: String) -> ProbeOutcome {
    let mut o = Options::new(host.ip, host.ip.to_string());
    o.ports = Ports::List(vec![port]);
    o.udp = false;
    // Default-credential logins are not what this test is about, and take seconds.
    o.credentials.clear();
    o.power = Some(PowerOptions {
        switch: PowerSwitch::parse(&url, None).expect("switch URL"),
        off: Duration::from_secs(2),
        recovery: Duration::from_secs(8),
    });
    let _ = s;
    probe(&o, &NoProgress).expect("probe runs")
}

fn power_findings(o: &ProbeOutcome, outcome: Outcome, prov: &str) -> Vec<String> {
    o.observations
        .findings
        .iter()
        .filter(|f| {
            f.source == Source::Device
                && f.outcome == outcome
                && f.provisions.iter().any(|p| p == prov)
                && (f.check == "5.9-2-dev-power"
                    || f.detail.as_deref().unwrap_or("").contains("power"))
        })
        .map(|f| format!("{} {}", f.title, f.detail.clone().unwrap_or_default()))
        .collect()
}

fn all(o: &ProbeOutcome) -> String {
    o.observations
        .findings
        .iter()
        .map(|f| format!("{:?} {} {:?} {}", f.outcome, f.check, f.provisions, f.title))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn tasmota_power_cycle_device_recovers_with_its_host_key() {
    let (s, host, port) = stand_in(false, Device::Keeps);
    let o = run(&s, &host, port, format!("tasmota://{}", s.addr));
    let cmds = s.commands.lock().unwrap().clone();
    assert!(
        cmds.iter().any(|c| c == "/cm?cmnd=Power%20Off")
            && cmds.iter().any(|c| c == "/cm?cmnd=Power%20On"),
        "{cmds:?}"
    );
    let r = o.power.as_ref().expect("power report");
    let t = &r.targets[0];
    assert!(t.before && !t.answered_while_off, "{t:?}");
    let after = t.recovered_after_s.expect("recovered");
    eprintln!(
        "power off {:.2} s; dropbear answered {after:.2} s after power returned",
        r.off_s
    );
    // The stand-in boots for 1 s (plus dropbear's start): a time below that was not measured.
    assert!(after >= BOOT.as_secs_f64() && after < 8.0, "{after}");
    assert!(r.off_s >= 2.0, "{}", r.off_s);
    let id = t.identity_before.clone().expect("host key");
    assert!(id.starts_with("host key SHA256:"), "{id}");
    assert_eq!(t.identity_after.as_ref(), Some(&id));
    let pass = power_findings(&o, Outcome::Pass, "5.9-2");
    assert!(
        pass.iter()
            .any(|p| p.contains("answered again") && p.contains("the same host key")),
        "{}",
        all(&o)
    );
    assert!(
        power_findings(&o, Outcome::Fail, "5.9-2").is_empty(),
        "{}",
        all(&o)
    );
}

#[test]
fn shelly_power_cycle_new_host_key_fails() {
    let (s, host, port) = stand_in(true, Device::ForgetsKey);
    let o = run(&s, &host, port, format!("shelly://{}", s.addr));
    let cmds = s.commands.lock().unwrap().clone();
    assert!(cmds.iter().any(|c| c == "/relay/0?turn=off"), "{cmds:?}");
    let t = &o.power.as_ref().expect("report").targets[0];
    assert!(t.recovered_after_s.is_some());
    assert_ne!(t.identity_before, t.identity_after);
    let fails = power_findings(&o, Outcome::Fail, "5.9-2");
    assert!(
        fails.iter().any(|f| f.contains("other settings")),
        "{}",
        all(&o)
    );
}

#[test]
fn device_that_never_returns_fails_5_9_1_and_5_9_2() {
    let (s, host, port) = stand_in(false, Device::Dead);
    let o = run(&s, &host, port, format!("tasmota://{}", s.addr));
    let t = &o.power.as_ref().expect("report").targets[0];
    assert_eq!(t.recovered_after_s, None);
    for p in ["5.9-1", "5.9-2"] {
        assert!(
            power_findings(&o, Outcome::Fail, p)
                .iter()
                .any(|f| f.contains("did not come back")),
            "{p}: {}",
            all(&o)
        );
    }
    // The relay was turned on again at the end: the last command is "on".
    let cmds = s.commands.lock().unwrap().clone();
    assert_eq!(cmds.last().map(String::as_str), Some("/cm?cmnd=Power%20On"));
}

#[test]
fn switch_not_feeding_the_device_decides_nothing() {
    let (s, host, port) = stand_in(false, Device::NotFed);
    let o = run(&s, &host, port, format!("tasmota://{}", s.addr));
    let t = &o.power.as_ref().expect("report").targets[0];
    assert!(t.answered_while_off);
    assert!(
        power_findings(&o, Outcome::Pass, "5.9-2").is_empty(),
        "{}",
        all(&o)
    );
    assert!(
        power_findings(&o, Outcome::Fail, "5.9-2").is_empty(),
        "{}",
        all(&o)
    );
    assert!(
        power_findings(&o, Outcome::Inconclusive, "5.9-2")
            .iter()
            .any(|f| f.contains("does not feed")),
        "{}",
        all(&o)
    );
}

#[test]
fn unreachable_or_off_switch_is_refused_before_probing() {
    let (s, host, port) = stand_in(false, Device::Keeps);
    // A Shelly client against a Tasmota switch: the preflight status request gets a 404.
    let mut o = Options::new(host.ip, host.ip.to_string());
    o.ports = Ports::List(vec![port]);
    o.power = Some(PowerOptions {
        switch: PowerSwitch::parse(&format!("shelly://{}", s.addr), None).unwrap(),
        off: Duration::from_secs(1),
        recovery: Duration::from_secs(1),
    });
    let e = probe(&o, &NoProgress).unwrap_err().to_string();
    assert!(e.contains("power test") && e.contains("404"), "{e}");
    assert!(!s
        .commands
        .lock()
        .unwrap()
        .iter()
        .any(|c| c.contains("turn=")));
}
