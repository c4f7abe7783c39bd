//! Traffic-capture input against real traffic: a "device" namespace runs real clients (curl over
//! HTTPS and HTTP, mosquitto_pub, sntp, a TLS 1.0 client, a retry loop) against real servers
//! (openssl s_server, lighttpd, mosquitto, dnsmasq) while tcpdump writes the capture; the capture
//! is then judged against an IXIT. Hostile captures (random and mutated bytes, truncations, huge
//! record lengths) must give an error or a result, never a panic, within bounds.

use std::net::IpAddr;
use std::path::Path;

use iotassure_core::finding::{Finding, Outcome};
use iotassure_core::ixit::Ixit;
use iotassure_core::progress::NoProgress;
use iotassure_device::capture::{self, CaptureOptions, CaptureState};
use iotassure_device::{probe, Options, Stage};
use iotassure_testkit::device::{self as fx, Netns, Tcpdump, TempDir, Tls};

const IXIT: &str = "connections:
  - { host: update.example.com, port: 443, protocol: https, purpose: update }
  - { host: telemetry.example.com, protocol: https, purpose: telemetry, data: [uptime] }
  - { host: time.example.com, port: 123, protocol: ntp, purpose: time }
  - { host: legacy.example.com, port: 4433, protocol: https, purpose: cloud }
";

fn summary(f: &[Finding]) -> String {
    f.iter()
        .map(|f| {
            format!(
                "  {:?} {} {:?} {}\n      {}",
                f.outcome,
                f.check,
                f.provisions,
                f.title,
                f.detail
                    .clone()
                    .unwrap_or_default()
                    .replace('\n', "\n      ")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Records the device's traffic while `script` runs in its namespace.
fn capture_of(ns: &Netns, dir: &TempDir, script: &str) -> (std::path::PathBuf, String) {
    let pcap = dir.path().join("device.pcap");
    let cap = Tcpdump::start(Some(&ns.name), &ns.device_if, &pcap);
    let out = ns.sh(script);
    let path = cap.stop();
    assert!(
        path.is_file(),
        "tcpdump wrote nothing; clients said: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = format!(
        "{}{} (tcpdump: {})",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(path.with_extension("tcpdump.log")).unwrap_or_default()
    );
    (path, said)
}

fn judge(path: &Path, device: IpAddr, ixit: Option<&str>) -> Vec<Finding> {
    judge_in(path, device, ixit, CaptureState::Normal)
}

fn judge_in(path: &Path, device: IpAddr, ixit: Option<&str>, state: CaptureState) -> Vec<Finding> {
    let mut o = Options::new(device, device.to_string());
    o.stage = Stage::None;
    let mut c = CaptureOptions::new(path, device);
    c.state = state;
    o.capture = Some(c);
    if let Some(y) = ixit {
        let ix: Ixit = serde_yaml_ng::from_str(y).expect("IXIT");
        o.declared.add_ixit(&ix, "statement.yaml");
    }
    probe(&o, &NoProgress)
        .expect("judged")
        .observations
        .findings
}

#[test]
fn device_traffic_is_judged_against_the_declared_connections() {
    let ns = Netns::new(22);
    let host = ns.host();
    let h = IpAddr::V4(ns.host_ip);
    let _dns = fx::dnsmasq(
        &host,
        &[
            ("update.example.com", h),
            ("telemetry.example.com", h),
            ("mqtt.example.com", h),
            ("time.example.com", h),
            ("legacy.example.com", h),
        ],
    );
    let _tls = fx::s_server(&host, 443, Tls::Modern);
    let _old = fx::s_server(&host, 4433, Tls::Tls10Rsa1024Sha1);
    let _web = fx::lighttpd(&host, 80, false);
    let _mq = fx::mosquitto(&host, 1883, true);
    iotassure_testkit::require_tool("curl", "curl");
    iotassure_testkit::require_tool("sntp", "sntp");
    ns.set_resolver(ns.host_ip);
    let dir = TempDir::new("capture");
    let script = format!(
        "curl -sk -o /dev/null -m 5 https://update.example.com/fw.bin
         curl -s -o /dev/null -m 5 'http://telemetry.example.com/report?uptime=42'
         mosquitto_pub -h mqtt.example.com -u dev -P s3cret -t home/temp -m 21.5
         sntp -t 1 time.example.com >/dev/null 2>&1; echo sntp=$? $(date +%T.%N)
         curl -Ssk -o /dev/null -m 5 --tlsv1.0 --tls-max 1.0 --ciphers 'DEFAULT:@SECLEVEL=0' https://legacy.example.com:4433/
         i=0; while [ $i -lt 25 ]; do curl -s -o /dev/null -m 1 http://{}:9/; i=$((i+1)); done
         echo done $(date +%T.%N)",
        ns.host_ip
    );
    let (path, said) = capture_of(&ns, &dir, &script);
    let device = IpAddr::V4(ns.device_ip);

    // What the capture says, conversation by conversation.
    let c = capture::load(&CaptureOptions::new(&path, device)).expect("capture reads");
    assert_eq!(c.read.format, "pcap");
    let conv = |name: &str, port: u16| {
        c.conversations
            .iter()
            .find(|x| x.outbound && x.port == port && x.names.iter().any(|n| n == name))
            .unwrap_or_else(|| {
                panic!(
                    "{name}:{port} not among {:?}; the clients said: {said}",
                    c.conversations
                        .iter()
                        .map(|c| format!("{} {}", c.label(), c.protocol))
                        .collect::<Vec<_>>()
                )
            })
    };
    let up = conv("update.example.com", 443);
    let t = up.tls.as_ref().expect("TLS");
    assert_eq!(t.sni.as_deref(), Some("update.example.com"));
    assert!(t.completed, "{t:?}");
    assert!(
        t.offered.iter().any(|v| v == "TLS 1.3") || t.version.is_some(),
        "{t:?}"
    );
    let tel = conv("telemetry.example.com", 80);
    assert_eq!(tel.protocol, "http");
    assert!(tel.cleartext.as_ref().unwrap().lines[0].starts_with("GET /report?uptime=42"));
    let mq = conv("mqtt.example.com", 1883);
    assert_eq!(
        mq.cleartext.as_ref().unwrap().credentials.as_deref(),
        Some("dev:s3cret")
    );
    let ntp = conv("time.example.com", 123);
    assert_eq!(ntp.protocol, "ntp");
    assert!(ntp.note.contains("client request"), "{}", ntp.note);
    let old = conv("legacy.example.com", 4433);
    assert_eq!(
        old.tls.as_ref().unwrap().max_offered,
        0x0301,
        "{:?}",
        old.tls
    );
    assert!(c
        .dns
        .iter()
        .any(|q| q.name == "update.example.com" && q.answers == [h.to_string()]));
    let retries = c
        .conversations
        .iter()
        .filter(|x| x.outbound && x.port == 9 && x.failed_attempt)
        .count();
    assert!(retries >= 20, "{retries} failed attempts to port 9");

    // The judgement against the IXIT.
    let f = judge(&path, device, Some(IXIT));
    let s = summary(&f);
    let has = |check: &str, outcome: Outcome, prov: &str, text: &str| {
        f.iter().any(|x| {
            x.check == check
                && x.outcome == outcome
                && x.provisions.iter().any(|p| p == prov)
                && (x.title.contains(text) || x.detail.as_deref().unwrap_or("").contains(text))
        })
    };
    // Telemetry declared over HTTPS went out as cleartext HTTP: the documented crypto is not used.
    assert!(
        has(
            "5.5-1-cap-cleartext",
            Outcome::Fail,
            "5.5-1",
            "telemetry.example.com"
        ),
        "{s}"
    );
    // MQTT credentials in the clear (5.8-2) to a destination nobody declared (6-5).
    assert!(
        has("5.5-1-cap-cleartext", Outcome::Fail, "5.8-2", "dev:s3cret"),
        "{s}"
    );
    assert!(
        has(
            "6-5-cap-destinations",
            Outcome::Fail,
            "6-5",
            "mqtt.example.com"
        ),
        "{s}"
    );
    // The cloud connection offers only TLS 1.0.
    assert!(
        has(
            "5.5-1-cap-tls-client",
            Outcome::Fail,
            "5.5-1",
            "offers at most TLS 1.0"
        ),
        "{s}"
    );
    // 25 attempts in a burst at a closed port: a reconnection flood.
    assert!(
        has("5.9-3-cap-reconnect", Outcome::Fail, "5.9-3", "floods"),
        "{s}"
    );
    // The update channel uses TLS and completes; NTP to the declared time server is no finding.
    assert!(
        has(
            "5.3-2-cap-update",
            Outcome::Info,
            "5.3-2",
            "update.example.com"
        ),
        "{s}"
    );
    assert!(
        !f.iter()
            .any(|x| x.outcome == Outcome::Fail && x.title.contains("time.example.com")),
        "{s}"
    );
    // Nothing passes 5.5-1 on traffic alone: the device's services were not probed.
    assert!(
        !f.iter()
            .any(|x| x.outcome == Outcome::Pass && x.provisions == ["5.5-1"]),
        "{s}"
    );
    // The summary lists the DNS queries.
    assert!(
        has(
            "5.5-1-cap-traffic",
            Outcome::Info,
            "6-5",
            "A update.example.com"
        ),
        "{s}"
    );

    // Declared as a plain-HTTP update server, the same request is an update in the clear:
    // 5.5-1 fails and 5.3-2 is left to the interception test and the firmware's signature checks.
    let plain_update =
        "connections:\n  - { host: telemetry.example.com, protocol: http, purpose: update }\n";
    let u = judge(&path, device, Some(plain_update));
    let su = summary(&u);
    assert!(
        u.iter().any(|x| x.check == "5.5-1-cap-cleartext"
            && x.outcome == Outcome::Fail
            && x.title.contains("telemetry.example.com")),
        "{su}"
    );
    assert!(
        u.iter().any(|x| x.check == "5.3-2-cap-update"
            && x.outcome == Outcome::Inconclusive
            && x.title.contains("is cleartext")),
        "{su}"
    );

    // Without an IXIT, nothing is "undeclared", but cleartext credentials still fail.
    let bare = judge(&path, device, None);
    assert!(
        !bare
            .iter()
            .any(|x| x.check == "6-5-cap-destinations" && x.outcome == Outcome::Fail),
        "{}",
        summary(&bare)
    );
    assert!(
        bare.iter()
            .any(|x| x.outcome == Outcome::Fail && x.provisions.iter().any(|p| p == "5.8-2")),
        "{}",
        summary(&bare)
    );

    // Taken after a failed integrity check, the same traffic fails 5.7-2: the device connects
    // to an undeclared broker instead of only alerting.
    let fb = judge_in(&path, device, Some(IXIT), CaptureState::FailedBoot);
    assert!(
        fb.iter().any(|x| x.outcome == Outcome::Fail
            && x.provisions == ["5.7-2"]
            && x.title.contains("mqtt.example.com")),
        "{}",
        summary(&fb)
    );
    assert!(
        !fb.iter()
            .any(|x| x.provisions.iter().any(|p| p == "6-5") && x.outcome == Outcome::Fail),
        "{}",
        summary(&fb)
    );

    // Without the update connection declared, the update-looking destination fails the update
    // provisions too (5.3-6-2a, 5.3-10-1c), not only 6-5.
    let no_update: String = IXIT
        .lines()
        .filter(|l| !l.contains("update.example.com"))
        .collect::<Vec<_>>()
        .join("\n");
    let nu = judge(&path, device, Some(&no_update));
    for p in ["5.3-6", "5.3-10", "6-5"] {
        assert!(
            nu.iter().any(|x| x.outcome == Outcome::Fail
                && x.provisions.iter().any(|q| q == p)
                && x.title.contains("update.example.com")),
            "{p}: {}",
            summary(&nu)
        );
    }
    // An undeclared destination that is not update traffic stays on 6-5 alone.
    assert!(
        nu.iter().any(|x| x.outcome == Outcome::Fail
            && x.provisions == ["6-5"]
            && x.title.contains("mqtt.example.com")),
        "{}",
        summary(&nu)
    );

    // The same capture as pcapng (written by pcap-file's writer) reads the same.
    let ng = dir.path().join("device.pcapng");
    to_pcapng(&path, &ng);
    let c2 = capture::load(&CaptureOptions::new(&ng, device)).expect("pcapng reads");
    assert_eq!(c2.read.format, "pcapng");
    assert_eq!(c2.read.frames, c.read.frames);
    assert_eq!(c2.conversations.len(), c.conversations.len());
    assert!(
        (c2.start - c.start).abs() < 1e-3,
        "{} vs {}",
        c2.start,
        c.start
    );
}

#[test]
fn reconnection_with_back_off_passes_5_9_3() {
    let ns = Netns::new(23);
    iotassure_testkit::require_tool("curl", "curl");
    let dir = TempDir::new("capture-backoff");
    // A client that doubles its wait after each failure (0.2, 0.4, 0.8, 1.6, 3.2 s).
    let script = format!(
        "for d in 0.2 0.4 0.8 1.6 3.2 0; do curl -s -o /dev/null -m 1 http://{}:9/; sleep $d; done; true",
        ns.host_ip
    );
    let (path, _) = capture_of(&ns, &dir, &script);
    let f = judge(&path, IpAddr::V4(ns.device_ip), None);
    let s = summary(&f);
    let pass = f
        .iter()
        .find(|x| x.outcome == Outcome::Pass && x.provisions == ["5.9-3"])
        .unwrap_or_else(|| panic!("5.9-3 passes:\n{s}"));
    assert!(
        pass.detail.as_deref().unwrap_or("").contains("back off"),
        "{s}"
    );
}

#[test]
fn a_quiet_device_after_a_failed_boot_passes_5_7_2() {
    // Only a DNS query and its answer (the device may resolve its alerting host): no connection.
    let dir = TempDir::new("capture-quiet");
    let mut v = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    v.extend_from_slice(&65535u32.to_le_bytes());
    v.extend_from_slice(&1u32.to_le_bytes());
    let mut q = vec![0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    q.extend_from_slice(b"\x05alert\x07example\x03com\x00\x00\x01\x00\x01");
    for (t, (src, dst, sp, dp)) in [
        ([10, 250, 0, 2], [10, 250, 0, 1], 40000u16, 53u16),
        ([10, 250, 0, 1], [10, 250, 0, 2], 53, 40000),
    ]
    .into_iter()
    .enumerate()
    {
        let b = etherparse::PacketBuilder::ethernet2([2; 6], [4; 6])
            .ipv4(src, dst, 64)
            .udp(sp, dp);
        let mut frame = Vec::new();
        b.write(&mut frame, &q).unwrap();
        v.extend_from_slice(&(1_700_000_000u32 + t as u32).to_le_bytes());
        v.extend_from_slice(&0u32.to_le_bytes());
        v.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        v.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        v.extend_from_slice(&frame);
    }
    let p = dir.write("quiet.pcap", &v);
    let f = judge_in(
        &p,
        "10.250.0.2".parse().unwrap(),
        Some(IXIT),
        CaptureState::FailedBoot,
    );
    assert!(
        f.iter()
            .any(|x| x.outcome == Outcome::Pass && x.provisions == ["5.7-2"]),
        "{}",
        summary(&f)
    );
}

/// Rewrites a classic pcap as pcapng (one section, one interface, enhanced packet blocks).
fn to_pcapng(from: &Path, to: &Path) {
    use pcap_file::pcap::PcapReader;
    use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
    use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionBlock;
    use pcap_file::pcapng::PcapNgWriter;
    let mut r = PcapReader::new(std::fs::File::open(from).unwrap()).unwrap();
    let link = r.header().datalink;
    let mut w = PcapNgWriter::new(std::fs::File::create(to).unwrap()).unwrap();
    w.write_pcapng_block(InterfaceDescriptionBlock::new(link, 262_144))
        .unwrap();
    while let Some(p) = r.next_packet() {
        let p = p.unwrap();
        // pcapng's default unit is the microsecond; pcap-file writes the raw count.
        let ts = std::time::Duration::from_nanos(p.timestamp.as_micros() as u64);
        w.write_pcapng_block(EnhancedPacketBlock {
            interface_id: 0,
            timestamp: ts,
            original_len: p.orig_len,
            data: p.data,
            options: vec![],
        })
        .unwrap();
    }
}

/// A minimal valid pcap with one TCP SYN, as the seed for mutation.
fn seed_pcap() -> Vec<u8> {
    let mut v = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    v.extend_from_slice(&65535u32.to_le_bytes());
    v.extend_from_slice(&1u32.to_le_bytes()); // Ethernet
    let mut frame = vec![0u8; 12];
    frame.extend_from_slice(&[0x08, 0x00]);
    frame.extend_from_slice(&[
        0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0, 10, 250, 0, 2, 10, 250, 0, 1,
    ]);
    frame.extend_from_slice(&[
        0x9c, 0x40, 0x01, 0xbb, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0,
    ]);
    for _ in 0..3 {
        v.extend_from_slice(&1_700_000_000u32.to_le_bytes());
        v.extend_from_slice(&0u32.to_le_bytes());
        v.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        v.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        v.extend_from_slice(&frame);
    }
    v
}

/// xorshift: reproducible noise without a dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn hostile_captures_error_or_read_never_panic() {
    let dir = TempDir::new("capture-fuzz");
    let device: IpAddr = "10.250.0.2".parse().unwrap();
    let seed = seed_pcap();
    let p = dir.path().join("seed.pcap");
    std::fs::write(&p, &seed).unwrap();
    let c = capture::load(&CaptureOptions::new(&p, device)).expect("seed reads");
    assert_eq!(c.read.frames, 3);
    assert_eq!(c.conversations.len(), 1);
    assert_eq!(c.conversations[0].syns, 3);

    // Bounds: the frame limit stops the read and says so.
    let mut lim = CaptureOptions::new(&p, device);
    lim.max_frames = 2;
    assert_eq!(
        capture::load(&lim).unwrap().read.truncated_at_frame,
        Some(2)
    );

    // A truncated file names the offset of the broken record.
    std::fs::write(&p, &seed[..seed.len() - 5]).unwrap();
    let e = capture::load(&CaptureOptions::new(&p, device))
        .unwrap_err()
        .to_string();
    assert!(e.contains("@0x") && e.contains("truncated"), "{e}");
    // A record claiming 4 GiB is refused, not allocated.
    let mut huge = seed.clone();
    huge[24 + 8..24 + 12].copy_from_slice(&u32::MAX.to_le_bytes());
    std::fs::write(&p, &huge).unwrap();
    let e = capture::load(&CaptureOptions::new(&p, device))
        .unwrap_err()
        .to_string();
    assert!(e.contains("limit"), "{e}");
    // Not a capture at all.
    std::fs::write(&p, b"GIF89a....").unwrap();
    assert!(capture::load(&CaptureOptions::new(&p, device))
        .unwrap_err()
        .to_string()
        .contains("not a pcap"));

    let mut rng = Rng(0x1f2e_3d4c_5b6a_7988);
    let ng_magic = [0x0a, 0x0d, 0x0d, 0x0a];
    for i in 0..3000 {
        let mut b = if i % 3 == 0 {
            // Random bytes behind a real magic (pcap or pcapng).
            let mut v: Vec<u8> = if i % 2 == 0 {
                seed[..24].to_vec()
            } else {
                ng_magic.to_vec()
            };
            let n = (rng.next() % 600) as usize;
            v.extend((0..n).map(|_| rng.next() as u8));
            v
        } else {
            seed.clone()
        };
        // Mutations: flips, overwritten length fields, cuts.
        for _ in 0..(1 + rng.next() % 8) {
            if b.is_empty() {
                break;
            }
            let k = (rng.next() as usize) % b.len();
            match rng.next() % 4 {
                0 => b[k] ^= 1 << (rng.next() % 8),
                1 => b[k] = rng.next() as u8,
                2 => {
                    let v = (rng.next() as u32).to_le_bytes();
                    for (j, x) in v.iter().enumerate() {
                        if k + j < b.len() {
                            b[k + j] = *x;
                        }
                    }
                }
                _ => b.truncate(k.max(1)),
            }
        }
        std::fs::write(&p, &b).unwrap();
        let _ = capture::load(&CaptureOptions::new(&p, device));
    }
}
