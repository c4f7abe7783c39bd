//! The outage test (`--outage-test --uplink IFACE`, opt-in): run on the device's gateway (a lab
//! namespace or router), it cuts the device's uplink for a bounded time, checks that the
//! declared basic functions (IXIT `basic_functions`) and the device's LAN services keep
//! answering (5.9-1, 5.9-2, 5.3-15), restores the link and checks that everything answers again
//! (5.9-2: clean recovery). With tcpdump present it captures the device's traffic meanwhile, so
//! the reconnection pattern is judged too (5.9-3).
//!
//! The cut is an nftables table of our own that drops forwarding through IFACE; the interface
//! itself is never touched. The set element that names IFACE carries a timeout (the outage plus
//! a margin), so the kernel lifts the cut by itself even if this process is killed; a guard
//! deletes the table on every exit path as well. Nothing is ever guessed: no interface, no cut.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use iotassure_core::finding::{Finding, Location, Outcome, Severity, Source, TranscriptLine};
use serde::Serialize;

use crate::checks::{ids, Out, Tallied};
use crate::ctx::Ctx;
use crate::options::OutageOptions;
use crate::services::{coap, mdns, mqtt, snmp, upnp, Proto, Service};

/// Longest outage allowed.
pub const MAX_OUTAGE: Duration = Duration::from_secs(600);
/// Longest recovery wait allowed.
pub const MAX_RECOVERY: Duration = Duration::from_secs(300);
/// The kernel lifts the cut this long after the planned end, whatever happens to us.
const MARGIN: Duration = Duration::from_secs(15);

#[derive(Debug, Clone, Serialize)]
pub struct TargetRecord {
    pub label: String,
    pub port: u16,
    pub udp: bool,
    /// The IXIT basic function this target stands for, if any.
    pub basic_function: Option<String>,
    pub before: bool,
    pub during_ok: u32,
    pub during_checks: u32,
    /// Seconds after the link returned until it answered again (None: it did not).
    pub recovered_after_s: Option<f64>,
    /// The first failure seen, if any.
    pub failure: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OutageReport {
    pub uplink: String,
    pub outage_s: f64,
    pub table: String,
    pub targets: Vec<TargetRecord>,
    /// Basic functions that name no port: not testable over the network.
    pub untestable: Vec<String>,
    /// The capture taken during the test.
    pub capture: Option<PathBuf>,
    pub notes: Vec<String>,
}

fn nft_path() -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/sbin"])
        .map(|d| Path::new(d).join("nft"))
        .find(|p| p.is_file());
    found
}

fn valid_ifname(s: &str) -> bool {
    !s.is_empty()
        && s.len() < 16
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.@".contains(&b))
}

/// Checks before anything is sent: an interface that exists, nft, the bounds.
pub fn preflight(o: &OutageOptions) -> Result<(), String> {
    if !valid_ifname(&o.uplink) {
        return Err(format!("`{}` is not an interface name", o.uplink));
    }
    if !Path::new("/sys/class/net").join(&o.uplink).exists() {
        return Err(format!(
            "no interface `{}` here: run iotassure on the device's gateway (the lab namespace that routes the device) and name its uplink",
            o.uplink
        ));
    }
    if nft_path().is_none() {
        return Err("`nft` is not installed (apt-get install nftables): the uplink is cut with an nftables rule".into());
    }
    if o.duration.is_zero() || o.duration > MAX_OUTAGE {
        return Err(format!(
            "--outage must be between 1 and {} s",
            MAX_OUTAGE.as_secs()
        ));
    }
    if o.recovery > MAX_RECOVERY {
        return Err(format!(
            "the recovery wait is at most {} s",
            MAX_RECOVERY.as_secs()
        ));
    }
    Ok(())
}

/// The cut: our own nftables table; deleted on drop, and self-expiring in the kernel.
struct Cut {
    nft: PathBuf,
    table: String,
    active: bool,
}

impl Cut {
    fn apply(uplink: &str, hold: Duration) -> Result<Cut, String> {
        let nft = nft_path().ok_or("nft is not installed")?;
        let table = format!("iotassure_outage_{}", std::process::id());
        let rules = format!(
            "table inet {table} {{\n  set cut {{ type ifname; flags timeout; elements = {{ \"{uplink}\" timeout {}s }} }}\n  chain forward {{ type filter hook forward priority -10; policy accept; iifname @cut drop; oifname @cut drop; }}\n}}\n",
            hold.as_secs().max(1)
        );
        let mut child = Command::new(&nft)
            .args(["-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("running nft: {e}"))?;
        child
            .stdin
            .take()
            .ok_or("nft stdin")?
            .write_all(rules.as_bytes())
            .map_err(|e| format!("writing the nft rules: {e}"))?;
        let out = child.wait_with_output().map_err(|e| format!("nft: {e}"))?;
        let cut = Cut {
            nft,
            table,
            active: true,
        };
        if !out.status.success() {
            // Nothing may stay behind if half of it applied.
            drop(cut);
            return Err(format!(
                "nft refused the rule: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(cut)
    }

    fn lift(&mut self) -> Result<(), String> {
        if !self.active {
            return Ok(());
        }
        let out = Command::new(&self.nft)
            .args(["delete", "table", "inet", &self.table])
            .output()
            .map_err(|e| format!("nft: {e}"))?;
        self.active = false;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "deleting table {}: {}",
                self.table,
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    }
}

impl Drop for Cut {
    fn drop(&mut self) {
        let _ = self.lift();
    }
}

/// tcpdump writing the device's traffic; stopped (SIGTERM, then kill) on drop.
struct Capture {
    child: Child,
}

impl Capture {
    fn start(device: &str, path: &Path) -> Option<Capture> {
        let search = std::env::var("PATH").unwrap_or_default();
        let tcpdump = search
            .split(':')
            .chain(["/usr/sbin", "/sbin", "/usr/bin"])
            .map(|d| Path::new(d).join("tcpdump"))
            .find(|p| p.is_file())?;
        let child = Command::new(tcpdump)
            .args(["-i", "any", "--immediate-mode", "-U", "-n", "-s", "0", "-w"])
            .arg(path)
            .args(["host", device])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        // tcpdump needs a moment to open the socket before traffic counts.
        std::thread::sleep(Duration::from_millis(700));
        Some(Capture { child })
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let end = Instant::now() + Duration::from_secs(3);
        while Instant::now() < end {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) struct Target {
    pub(crate) port: u16,
    pub(crate) udp: bool,
    pub(crate) proto: Proto,
    pub(crate) tls: bool,
    pub(crate) label: String,
    pub(crate) basic: Option<String>,
}

/// One bounded liveness exchange: Ok(what answered) or Err(why not).
pub(crate) fn alive(ctx: &Ctx<'_>, t: &Target) -> Result<String, String> {
    let addr = SocketAddr::new(ctx.opts.ip, t.port);
    let timeout = ctx.opts.io_timeout.min(Duration::from_secs(3));
    ctx.pacer.acquire();
    if t.udp {
        let payload = match t.proto {
            Proto::Ssdp => upnp::msearch(&ctx.opts.ip.to_string()),
            Proto::Mdns => mdns::services_query(7),
            Proto::Snmp => snmp::get_request(1, "public", 0x6f757461),
            Proto::Coap => coap::get_well_known_core(0x6f75),
            _ => return Err("no liveness probe for this UDP service".into()),
        };
        let bind: SocketAddr = if addr.is_ipv4() {
            "0.0.0.0:0".parse().expect("literal")
        } else {
            "[::]:0".parse().expect("literal")
        };
        let s = UdpSocket::bind(bind).map_err(|e| e.to_string())?;
        s.connect(addr).map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(timeout))
            .map_err(|e| e.to_string())?;
        s.send(&payload).map_err(|e| e.to_string())?;
        let mut buf = [0u8; 2048];
        return match s.recv(&mut buf) {
            Ok(n) => Ok(format!("{n}-byte reply")),
            Err(e) => Err(format!("no reply ({e})")),
        };
    }
    let mut c = TcpStream::connect_timeout(&addr, timeout).map_err(|e| format!("connect: {e}"))?;
    c.set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    c.set_write_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let request: Option<Vec<u8>> = match t.proto {
        Proto::Http if !t.tls => Some(
            format!(
                "GET / HTTP/1.1\r\nHost: {}\r\nUser-Agent: iotassure-outage\r\nConnection: close\r\n\r\n",
                ctx.opts.host
            )
            .into_bytes(),
        ),
        Proto::Mqtt => Some(mqtt::connect("iotassure-outage", None)),
        _ => None,
    };
    let speaks_first = matches!(
        t.proto,
        Proto::Ssh | Proto::Ftp | Proto::Telnet | Proto::Smtp
    );
    if let Some(r) = &request {
        c.write_all(r).map_err(|e| format!("send: {e}"))?;
    } else if !speaks_first {
        return Ok("TCP connection accepted".into());
    }
    let mut buf = [0u8; 512];
    match c.read(&mut buf) {
        Ok(0) => Err("closed without a reply".into()),
        Ok(n) => Ok(crate::text::line(&buf[..n], 60)),
        Err(e) => Err(format!("no reply ({e})")),
    }
}

pub(crate) fn targets(ctx: &Ctx<'_>, services: &[Service]) -> (Vec<Target>, Vec<String>) {
    let mut v: Vec<Target> = Vec::new();
    let mut untestable = Vec::new();
    for b in &ctx.opts.declared.basic_functions {
        let Some(port) = b.port else {
            untestable.push(b.description.clone());
            continue;
        };
        let udp = b.transport == iotassure_core::ixit::Transport::Udp;
        let (proto, tls) = services
            .iter()
            .find(|s| s.port == port && s.udp == udp)
            .map(|s| (s.proto, s.tls))
            .unwrap_or((Proto::Unknown, false));
        v.push(Target {
            port,
            udp,
            proto,
            tls,
            label: format!(
                "{port}/{} ({})",
                if udp { "udp" } else { "tcp" },
                b.description
            ),
            basic: Some(b.description.clone()),
        });
    }
    for s in services {
        if v.iter().any(|t| t.port == s.port && t.udp == s.udp) {
            continue;
        }
        v.push(Target {
            port: s.port,
            udp: s.udp,
            proto: s.proto,
            tls: s.tls,
            label: s.label(),
            basic: None,
        });
    }
    v.truncate(64);
    (v, untestable)
}

fn location(ctx: &Ctx<'_>, r: &TargetRecord, o: &OutageOptions, lines: &[String]) -> Location {
    let mut t = vec![TranscriptLine {
        dir: "note".into(),
        data: format!(
            "uplink {} cut for {} s (nftables forward drop); {} of {} checks answered during the outage",
            o.uplink,
            o.duration.as_secs(),
            r.during_ok,
            r.during_checks
        ),
    }];
    t.extend(lines.iter().take(12).map(|l| TranscriptLine {
        dir: "note".into(),
        data: l.clone(),
    }));
    Location::Network {
        host: ctx.opts.ip.to_string(),
        port: r.port,
        protocol: if r.udp { "udp".into() } else { "tcp".into() },
        transcript: t,
    }
}

/// Runs the test; the link is restored before this returns, on every path.
pub fn run(
    ctx: &Ctx<'_>,
    o: &OutageOptions,
    services: &[Service],
    out: &mut Out,
) -> Result<OutageReport, String> {
    preflight(o)?;
    let (targets, untestable) = targets(ctx, services);
    let mut notes = Vec::new();
    let mut records: Vec<TargetRecord> = Vec::new();
    let mut logs: Vec<Vec<String>> = Vec::new();
    let t0 = Instant::now();
    let stamp = |t: Instant| format!("t+{:.1}s", t.duration_since(t0).as_secs_f64());
    let capture = o.capture.as_ref().and_then(|p| {
        let c = Capture::start(&ctx.opts.ip.to_string(), p);
        if c.is_none() {
            notes.push("tcpdump is not installed: no capture, so the reconnection pattern (5.9-3) is not judged; give --pcap with a capture of your own".into());
        }
        c
    });
    for t in &targets {
        let r = alive(ctx, t);
        logs.push(vec![format!(
            "{} before the cut: {}",
            stamp(Instant::now()),
            match &r {
                Ok(s) => format!("answered: {s}"),
                Err(e) => format!("no answer: {e}"),
            }
        )]);
        records.push(TargetRecord {
            label: t.label.clone(),
            port: t.port,
            udp: t.udp,
            basic_function: t.basic.clone(),
            before: r.is_ok(),
            during_ok: 0,
            during_checks: 0,
            recovered_after_s: None,
            failure: None,
        });
    }
    ctx.log.note(
        ids::OUTAGE,
        &ctx.opts.ip.to_string(),
        0,
        "nft",
        format!(
            "cutting forwarding through {} for {} s",
            o.uplink,
            o.duration.as_secs()
        ),
    );
    let mut cut = Cut::apply(&o.uplink, o.duration + MARGIN)?;
    let table = cut.table.clone();
    let cut_at = Instant::now();
    let step = (o.duration / 6).clamp(Duration::from_millis(500), Duration::from_secs(10));
    let mut rounds = 0;
    while cut_at.elapsed() < o.duration && rounds < 1000 {
        rounds += 1;
        for (i, t) in targets.iter().enumerate() {
            if !records[i].before {
                continue;
            }
            let r = alive(ctx, t);
            records[i].during_checks += 1;
            match &r {
                Ok(_) => records[i].during_ok += 1,
                Err(e) => {
                    records[i].failure.get_or_insert_with(|| {
                        format!("{} during the outage: {e}", stamp(Instant::now()))
                    });
                }
            }
            logs[i].push(format!(
                "{} outage: {}",
                stamp(Instant::now()),
                match &r {
                    Ok(s) => format!("answered: {s}"),
                    Err(e) => format!("no answer: {e}"),
                }
            ));
        }
        let left = o.duration.saturating_sub(cut_at.elapsed());
        std::thread::sleep(step.min(left));
    }
    cut.lift()?;
    drop(cut);
    let restored = Instant::now();
    ctx.log.note(
        ids::OUTAGE,
        &ctx.opts.ip.to_string(),
        0,
        "nft",
        format!(
            "forwarding through {} restored after {:.1} s",
            o.uplink,
            restored.duration_since(cut_at).as_secs_f64()
        ),
    );
    // Recovery: everything that answered before must answer again.
    let mut pending: Vec<usize> = (0..targets.len()).filter(|&i| records[i].before).collect();
    let mut rounds = 0;
    while !pending.is_empty() && restored.elapsed() <= o.recovery && rounds < 1000 {
        rounds += 1;
        pending.retain(|&i| match alive(ctx, &targets[i]) {
            Ok(s) => {
                records[i].recovered_after_s = Some(restored.elapsed().as_secs_f64());
                logs[i].push(format!(
                    "{} after the link returned: answered: {s}",
                    stamp(Instant::now())
                ));
                false
            }
            Err(e) => {
                logs[i].push(format!(
                    "{} after the link returned: no answer: {e}",
                    stamp(Instant::now())
                ));
                true
            }
        });
        if !pending.is_empty() {
            std::thread::sleep(Duration::from_secs(1));
        }
    }
    // Let the device's reconnection show in the capture.
    let wait = o.recovery.saturating_sub(restored.elapsed());
    if capture.is_some() && !wait.is_zero() {
        std::thread::sleep(wait);
    }
    drop(capture);
    let report = OutageReport {
        uplink: o.uplink.clone(),
        outage_s: restored.duration_since(cut_at).as_secs_f64(),
        table,
        targets: records.clone(),
        untestable: untestable.clone(),
        capture: o.capture.clone().filter(|p| p.is_file()),
        notes,
    };
    judge(ctx, o, &report, &logs, out);
    Ok(report)
}

fn judge(ctx: &Ctx<'_>, o: &OutageOptions, r: &OutageReport, logs: &[Vec<String>], out: &mut Out) {
    let basics_declared = !ctx.opts.declared.basic_functions.is_empty();
    for (i, t) in r.targets.iter().enumerate() {
        let label = format!("{}:{}", ctx.opts.ip, t.label);
        let loc = location(ctx, t, o, &logs[i]);
        let what = match &t.basic_function {
            Some(b) => format!("the basic function \"{b}\" ({})", t.label),
            None => t.label.clone(),
        };
        let provs: &[&str] = if t.basic_function.is_some() {
            &["5.9-1", "5.9-2", "5.3-15"]
        } else {
            &["5.9-1", "5.9-2"]
        };
        if !t.before {
            let why = format!(
                "{what} did not answer before the cut, so the outage could not be judged on it"
            );
            for p in provs {
                out.tally(p, ids::OUTAGE, &label, Tallied::Undecided(why.clone()));
            }
            continue;
        }
        if t.during_ok < t.during_checks {
            let f = Finding::new(ids::OUTAGE, provs, Outcome::Fail, Severity::Medium, Source::Device, format!("{what} stopped answering while the uplink was cut"))
                .detail(format!("{label}: {} of {} checks answered during the {:.0} s outage; {}. A device should stay locally functional without network access (EN 303 645 5.9-1, 5.9-2{}).", t.during_ok, t.during_checks, r.outage_s, t.failure.clone().unwrap_or_default(), if t.basic_function.is_some() { "; 5.3-15: basic function once isolated" } else { "" }))
                .evidence(loc.clone(), t.failure.clone().unwrap_or_default());
            out.fail(f, &label);
        } else if t.during_checks > 0 {
            let why = format!(
                "{what} answered all {} checks during the {:.0} s outage",
                t.during_checks, r.outage_s
            );
            for p in provs {
                out.tally(
                    p,
                    ids::OUTAGE,
                    &label,
                    Tallied::Pass(why.clone(), Some(loc.clone())),
                );
            }
        }
        match t.recovered_after_s {
            Some(s) => out.tally(
                "5.9-2",
                ids::RECOVERY,
                &label,
                Tallied::Pass(
                    format!("{what} answered {s:.1} s after the link returned"),
                    Some(loc.clone()),
                ),
            ),
            None => {
                let f = Finding::new(ids::RECOVERY, &["5.9-2"], Outcome::Fail, Severity::Medium, Source::Device, format!("{what} did not recover within {} s of the link returning", o.recovery.as_secs()))
                    .detail(format!("{label}: it answered before the outage and not in the {} s after it (EN 303 645 5.9-2: recover cleanly).", o.recovery.as_secs()))
                    .evidence(loc, "no answer after the link returned");
                out.fail(f, &label);
            }
        }
    }
    if !basics_declared {
        for p in ["5.9-1", "5.3-15"] {
            out.tally(p, ids::OUTAGE, "basic functions", Tallied::Undecided("the statement declares no basic functions (ixit.basic_functions): the LAN services stood in, but what must keep working is the maker's to say".into()));
        }
    }
    if !r.untestable.is_empty() {
        out.tally(
            "5.9-1",
            ids::OUTAGE,
            "basic functions",
            Tallied::Undecided(format!(
                "declared basic functions without a port cannot be checked over the network: {}",
                r.untestable.join("; ")
            )),
        );
    }
    if r.targets.is_empty() {
        out.tally(
            "5.9-2",
            ids::OUTAGE,
            "services",
            Tallied::Undecided("nothing on the device answered: no local function to check".into()),
        );
    }
    out.findings.push(
        Finding::new(
            ids::OUTAGE,
            &["5.9-1", "5.9-2", "5.3-15"],
            Outcome::Info,
            Severity::Info,
            Source::Device,
            format!(
                "Outage test: uplink {} cut for {:.0} s",
                r.uplink, r.outage_s
            ),
        )
        .detail(
            r.targets
                .iter()
                .map(|t| {
                    format!(
                        "{}: before {}, during {}/{}, after {}",
                        t.label,
                        if t.before { "up" } else { "down" },
                        t.during_ok,
                        t.during_checks,
                        t.recovered_after_s
                            .map(|s| format!("up after {s:.1} s"))
                            .unwrap_or_else(|| "not recovered".into())
                    )
                })
                .chain(r.notes.iter().cloned())
                .collect::<Vec<_>>()
                .join("\n"),
        ),
    );
}
