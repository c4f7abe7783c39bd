//! Lab power control (`--power-switch URL`, opt-in): a networked power switch cuts the device's
//! power for a bounded time and restores it; the device's services must answer again within a
//! bounded wait and come back as they were (TS 103 701 5.9-1-2b, 5.9-2-2b, 5.3-15-2b).
//!
//! Two switch families are spoken, through their documented local HTTP APIs:
//! - Tasmota: `GET /cm?cmnd=Power%20Off|On`, `GET /cm?cmnd=Power` → `{"POWER":"OFF"}`;
//! - Shelly Gen1: `GET /relay/0?turn=off|on`, `GET /relay/0` → `{"ison":false,...}`.
//!
//! The switch's own answer is checked after every command (a switch that says ON after "off" is
//! an error, not a cut), and the services must fall silent during the cut: a device that keeps
//! answering is not fed by that switch, so nothing is judged. Power is restored on every exit
//! path (a guard turns the relay on again).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use iotassure_core::finding::{Finding, Location, Outcome, Severity, Source, TranscriptLine};
use serde::Serialize;

use crate::checks::{Out, Tallied};
use crate::ctx::Ctx;
use crate::outage::{alive, targets, Target};
use crate::services::{Proto, Service};

/// The check id of the power test.
pub const CHECK: &str = "5.9-2-dev-power";
/// Longest power cut allowed.
pub const MAX_OFF: Duration = Duration::from_secs(600);
/// Longest wait for the device to come back.
pub const MAX_RECOVERY: Duration = Duration::from_secs(600);
/// Largest answer read from a switch: their JSON status fits in a few hundred bytes.
const MAX_ANSWER: usize = 16 * 1024;
/// Time allowed for one switch request (connect, send, answer).
const SWITCH_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SwitchKind {
    Tasmota,
    Shelly,
}

impl SwitchKind {
    pub fn parse(s: &str) -> Result<SwitchKind, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "tasmota" => Ok(SwitchKind::Tasmota),
            "shelly" | "shelly1" | "shelly-gen1" => Ok(SwitchKind::Shelly),
            o => Err(format!(
                "power switch kind `{o}`: expected tasmota or shelly"
            )),
        }
    }

    fn path(self, cmd: Option<bool>) -> &'static str {
        match (self, cmd) {
            (SwitchKind::Tasmota, Some(true)) => "/cm?cmnd=Power%20On",
            (SwitchKind::Tasmota, Some(false)) => "/cm?cmnd=Power%20Off",
            (SwitchKind::Tasmota, None) => "/cm?cmnd=Power",
            (SwitchKind::Shelly, Some(true)) => "/relay/0?turn=on",
            (SwitchKind::Shelly, Some(false)) => "/relay/0?turn=off",
            (SwitchKind::Shelly, None) => "/relay/0",
        }
    }

    /// The relay state in the switch's JSON answer.
    fn state(self, v: &serde_json::Value) -> Option<bool> {
        match self {
            SwitchKind::Tasmota => {
                // A one-relay Tasmota answers POWER; multi-relay firmware answers POWER1.
                let s = v.get("POWER").or_else(|| v.get("POWER1"))?.as_str()?;
                match s.to_ascii_uppercase().as_str() {
                    "ON" => Some(true),
                    "OFF" => Some(false),
                    _ => None,
                }
            }
            SwitchKind::Shelly => v.get("ison")?.as_bool(),
        }
    }
}

/// A networked power switch: its kind and where its HTTP API listens.
#[derive(Debug, Clone, Serialize)]
pub struct PowerSwitch {
    pub kind: SwitchKind,
    /// The URL as given, for reports.
    pub url: String,
    #[serde(skip)]
    addr: SocketAddr,
    #[serde(skip)]
    host: String,
}

impl PowerSwitch {
    /// `tasmota://HOST[:PORT]`, `shelly://HOST[:PORT]`, or `http://HOST[:PORT]` with `kind`.
    pub fn parse(url: &str, kind: Option<&str>) -> Result<PowerSwitch, String> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| format!("power switch `{url}`: expected SCHEME://HOST[:PORT]"))?;
        let by_scheme = match scheme.to_ascii_lowercase().as_str() {
            "http" => None,
            "https" => {
                return Err(format!(
                    "power switch `{url}`: Tasmota and Shelly Gen1 serve their local API over plain HTTP only"
                ))
            }
            s => Some(SwitchKind::parse(s)?),
        };
        let kind = match (by_scheme, kind) {
            (Some(a), Some(k)) if SwitchKind::parse(k)? != a => {
                return Err(format!(
                    "power switch `{url}`: the scheme says {a:?}, --power-switch-kind says {k}"
                ))
            }
            (Some(a), _) => a,
            (None, Some(k)) => SwitchKind::parse(k)?,
            (None, None) => {
                return Err(format!(
                    "power switch `{url}`: say which protocol it speaks (tasmota:// or shelly://, or --power-switch-kind)"
                ))
            }
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        if authority.is_empty() || authority.contains('@') {
            return Err(format!(
                "power switch `{url}`: give HOST[:PORT] (no user information)"
            ));
        }
        let with_port = if authority.rsplit_once(':').is_some_and(|(_, p)| {
            !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && !authority.ends_with(']')
        }) {
            authority.to_string()
        } else {
            format!("{authority}:80")
        };
        let addr = with_port
            .to_socket_addrs()
            .map_err(|e| format!("power switch `{url}`: {e}"))?
            .next()
            .ok_or_else(|| format!("power switch `{url}`: no address"))?;
        Ok(PowerSwitch {
            kind,
            url: url.to_string(),
            addr,
            host: authority.to_string(),
        })
    }

    /// One bounded GET; the relay state the switch reports.
    fn get(&self, path: &str) -> Result<bool, String> {
        let mut c = TcpStream::connect_timeout(&self.addr, SWITCH_TIMEOUT)
            .map_err(|e| format!("power switch {}: connect: {e}", self.url))?;
        c.set_read_timeout(Some(SWITCH_TIMEOUT))
            .and_then(|_| c.set_write_timeout(Some(SWITCH_TIMEOUT)))
            .map_err(|e| e.to_string())?;
        let req = format!(
            "GET {path} HTTP/1.0\r\nHost: {}\r\nUser-Agent: iotassure-power\r\nConnection: close\r\n\r\n",
            self.host
        );
        c.write_all(req.as_bytes())
            .map_err(|e| format!("power switch {}: send: {e}", self.url))?;
        let mut buf = Vec::new();
        c.take(MAX_ANSWER as u64 + 1)
            .read_to_end(&mut buf)
            .map_err(|e| format!("power switch {}: {path}: read: {e}", self.url))?;
        parse_answer(self.kind, &buf).map_err(|e| format!("power switch {}: {path}: {e}", self.url))
    }

    /// The request path that turns the relay on or off.
    pub fn kind_path(&self, on: bool) -> &'static str {
        self.kind.path(Some(on))
    }

    /// The relay's state.
    pub fn state(&self) -> Result<bool, String> {
        self.get(self.kind.path(None))
    }

    /// Turns the relay on or off; an answer naming the other state is an error.
    pub fn set(&self, on: bool) -> Result<(), String> {
        let path = self.kind.path(Some(on));
        let got = self.get(path)?;
        if got != on {
            return Err(format!(
                "power switch {}: {path} answered that the relay is {}",
                self.url,
                if got { "on" } else { "off" }
            ));
        }
        Ok(())
    }
}

/// The relay state in an HTTP answer from a switch, or why it has none.
pub fn parse_answer(kind: SwitchKind, raw: &[u8]) -> Result<bool, String> {
    if raw.len() > MAX_ANSWER {
        return Err(format!("answer longer than {MAX_ANSWER} bytes"));
    }
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no HTTP header end in the answer")?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let status = head.lines().next().unwrap_or("");
    let code = status.split_whitespace().nth(1).unwrap_or("");
    if !status.starts_with("HTTP/") || code != "200" {
        return Err(format!(
            "HTTP status `{}` (a password-protected switch answers 401)",
            crate::text::line(status.as_bytes(), 60)
        ));
    }
    let body = &raw[split + 4..];
    let v: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| format!("not JSON ({e}): `{}`", crate::text::line(body, 60)))?;
    kind.state(&v)
        .ok_or_else(|| format!("no relay state in `{}`", crate::text::line(body, 60)))
}

/// The power test (`--power-switch`).
#[derive(Debug, Clone)]
pub struct PowerOptions {
    pub switch: PowerSwitch,
    /// How long the power stays off.
    pub off: Duration,
    /// How long to wait for the services after power returns.
    pub recovery: Duration,
}

/// Checks before anything is sent to the device: the bounds, and a switch that answers.
pub fn preflight(o: &PowerOptions) -> Result<(), String> {
    if o.off.is_zero() || o.off > MAX_OFF {
        return Err(format!(
            "--power-off must be between 1 and {} s",
            MAX_OFF.as_secs()
        ));
    }
    if o.recovery.is_zero() || o.recovery > MAX_RECOVERY {
        return Err(format!(
            "--power-recovery must be between 1 and {} s",
            MAX_RECOVERY.as_secs()
        ));
    }
    let on = o.switch.state()?;
    if !on {
        return Err(format!(
            "power switch {}: the relay is already off, so the device cannot be observed before a cut",
            o.switch.url
        ));
    }
    Ok(())
}

#[derive(Debug, Clone, Serialize)]
pub struct PowerTarget {
    pub label: String,
    pub port: u16,
    pub basic_function: Option<String>,
    pub before: bool,
    /// Whether it still answered while the power was off (then the switch does not feed it).
    pub answered_while_off: bool,
    /// Seconds after power returned until it answered again (None: it did not).
    pub recovered_after_s: Option<f64>,
    /// What identifies its state: the SSH host key fingerprint, or the banner it speaks first.
    pub identity_before: Option<String>,
    pub identity_after: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PowerReport {
    pub switch: PowerSwitch,
    pub off_s: f64,
    pub targets: Vec<PowerTarget>,
}

/// Turns the relay back on however the test ends.
struct Restore<'a> {
    switch: &'a PowerSwitch,
    off: bool,
}

impl Restore<'_> {
    fn on(&mut self) -> Result<(), String> {
        if !self.off {
            return Ok(());
        }
        // A switch that misses one request must not leave the device dark: three tries.
        let mut last = String::new();
        for _ in 0..3 {
            match self.switch.set(true) {
                Ok(()) => {
                    self.off = false;
                    return Ok(());
                }
                Err(e) => last = e,
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        Err(last)
    }
}

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        let _ = self.on();
    }
}

/// What stays the same across a power cycle when settings survive: the SSH host key, or the
/// banner of a service that speaks first (SSH, FTP, telnet, SMTP).
fn identity(ctx: &Ctx<'_>, t: &Target, reply: &str) -> Option<String> {
    match t.proto {
        Proto::Ssh => crate::checks::identity::ssh_host_key(ctx, CHECK, t.port)
            .map(|k| format!("host key {}", crate::text::fingerprint(&k))),
        Proto::Ftp | Proto::Telnet | Proto::Smtp => Some(format!("banner `{reply}`")),
        _ => None,
    }
}

/// Cuts the power, restores it, and judges the recovery. The relay is on again when this
/// returns, on every path where the switch still answers.
pub fn run(
    ctx: &Ctx<'_>,
    o: &PowerOptions,
    services: &[Service],
    out: &mut Out,
) -> Result<PowerReport, String> {
    let (targets, _) = targets(ctx, services);
    let t0 = Instant::now();
    let stamp = move || format!("t+{:.1}s", t0.elapsed().as_secs_f64());
    let mut recs = Vec::new();
    let mut logs: Vec<Vec<String>> = Vec::new();
    for t in &targets {
        let r = alive(ctx, t);
        let ident = r.as_ref().ok().and_then(|s| identity(ctx, t, s));
        logs.push(vec![format!(
            "{} before the cut: {}{}",
            stamp(),
            answer(&r),
            ident
                .as_ref()
                .map(|i| format!(" ({i})"))
                .unwrap_or_default()
        )]);
        recs.push(PowerTarget {
            label: t.label.clone(),
            port: t.port,
            basic_function: t.basic.clone(),
            before: r.is_ok(),
            answered_while_off: false,
            recovered_after_s: None,
            identity_before: ident,
            identity_after: None,
        });
    }
    let mut restore = Restore {
        switch: &o.switch,
        off: true,
    };
    o.switch.set(false)?;
    let cut_at = Instant::now();
    logs.iter_mut().for_each(|l| {
        l.push(format!(
            "{} {} relay off ({})",
            stamp(),
            o.switch.url,
            o.switch.kind.path(Some(false))
        ))
    });
    // Give the device's sockets a moment to go; then every service must be silent.
    std::thread::sleep(o.off.min(Duration::from_secs(1)));
    for (i, t) in targets.iter().enumerate() {
        if !recs[i].before {
            continue;
        }
        let r = alive(ctx, t);
        recs[i].answered_while_off = r.is_ok();
        logs[i].push(format!("{} power off: {}", stamp(), answer(&r)));
    }
    std::thread::sleep(o.off.saturating_sub(cut_at.elapsed()));
    restore.on()?;
    let on_at = Instant::now();
    let off_s = on_at.duration_since(cut_at).as_secs_f64();
    logs.iter_mut().for_each(|l| {
        l.push(format!(
            "{} relay on after {off_s:.1} s ({})",
            stamp(),
            o.switch.kind.path(Some(true))
        ))
    });
    let mut pending: Vec<usize> = (0..targets.len())
        .filter(|&i| recs[i].before && !recs[i].answered_while_off)
        .collect();
    let mut rounds = 0;
    while !pending.is_empty() && on_at.elapsed() <= o.recovery && rounds < 2000 {
        rounds += 1;
        pending.retain(|&i| {
            let t = &targets[i];
            match alive(ctx, t) {
                Ok(s) => {
                    recs[i].recovered_after_s = Some(on_at.elapsed().as_secs_f64());
                    recs[i].identity_after = identity(ctx, t, &s);
                    logs[i].push(format!(
                        "{} after power returned: answered: {s}{}",
                        stamp(),
                        recs[i]
                            .identity_after
                            .as_ref()
                            .map(|x| format!(" ({x})"))
                            .unwrap_or_default()
                    ));
                    false
                }
                Err(_) => true,
            }
        });
        if !pending.is_empty() {
            std::thread::sleep(Duration::from_millis(250));
        }
    }
    for &i in &pending {
        logs[i].push(format!(
            "{} no answer within {} s of power returning",
            stamp(),
            o.recovery.as_secs()
        ));
    }
    let report = PowerReport {
        switch: o.switch.clone(),
        off_s,
        targets: recs,
    };
    judge(ctx, o, &report, &logs, out);
    Ok(report)
}

fn answer(r: &Result<String, String>) -> String {
    match r {
        Ok(s) => format!("answered: {s}"),
        Err(e) => format!("no answer: {e}"),
    }
}

fn location(ctx: &Ctx<'_>, t: &PowerTarget, lines: &[String]) -> Location {
    Location::Network {
        host: ctx.opts.ip.to_string(),
        port: t.port,
        protocol: "tcp".into(),
        transcript: lines
            .iter()
            .take(16)
            .map(|l| TranscriptLine {
                dir: "note".into(),
                data: l.clone(),
            })
            .collect(),
    }
}

fn judge(ctx: &Ctx<'_>, o: &PowerOptions, r: &PowerReport, logs: &[Vec<String>], out: &mut Out) {
    let how = format!(
        "power cut for {:.0} s by the switch at {} ({:?} protocol)",
        r.off_s, o.switch.url, o.switch.kind
    );
    for (i, t) in r.targets.iter().enumerate() {
        let label = format!("{}:{}", ctx.opts.ip, t.label);
        let what = match &t.basic_function {
            Some(b) => format!("the basic function \"{b}\" ({})", t.label),
            None => t.label.clone(),
        };
        let provs: &[&str] = if t.basic_function.is_some() {
            &["5.9-1", "5.9-2", "5.3-15"]
        } else {
            &["5.9-1", "5.9-2"]
        };
        let undecided = |out: &mut Out, why: String| {
            for p in provs {
                out.tally(p, CHECK, &label, Tallied::Undecided(why.clone()));
            }
        };
        if !t.before {
            undecided(
                out,
                format!("{what} did not answer before the power cut: nothing to recover"),
            );
            continue;
        }
        let loc = location(ctx, t, &logs[i]);
        if t.answered_while_off {
            undecided(out, format!("{what} kept answering with the {how}: that switch does not feed this device, so its recovery was not tested"));
            continue;
        }
        let Some(s) = t.recovered_after_s else {
            let f = Finding::new(
                CHECK,
                provs,
                Outcome::Fail,
                Severity::Medium,
                Source::Device,
                format!(
                    "{what} did not come back within {} s of power returning",
                    o.recovery.as_secs()
                ),
            )
            .detail(format!("{label}: it answered before the {how} and not in the {} s after power returned. A device should recover cleanly from a loss of power (EN 303 645 5.9-2; TS 103 701 5.9-1-2b, 5.9-2-2b{}).", o.recovery.as_secs(), if t.basic_function.is_some() { ", 5.3-15-2b" } else { "" }))
            .evidence(loc, "no answer after power returned");
            out.fail(f, &label);
            continue;
        };
        match (&t.identity_before, &t.identity_after) {
            (Some(a), Some(b)) if a != b => {
                let f = Finding::new(
                    CHECK,
                    &["5.9-2"],
                    Outcome::Fail,
                    Severity::Medium,
                    Source::Device,
                    format!("{what} came back after the power cut with other settings"),
                )
                .detail(format!("{label}: before the {how}: {a}; {s:.1} s after power returned: {b}. Settings did not survive the loss of power (EN 303 645 5.9-2: recover cleanly, in the expected state)."))
                .evidence(loc, b.clone());
                out.fail(f, &label);
            }
            (a, b) => {
                let kept = match (a, b) {
                    (Some(a), Some(_)) => format!("; the same {a} as before"),
                    (Some(_), None) => "; its identity could not be read again".into(),
                    _ => "; no state to compare (the service shows no key or banner)".into(),
                };
                let why =
                    format!("{what} answered again {s:.1} s after power returned ({how}){kept}");
                for p in provs {
                    out.tally(
                        p,
                        CHECK,
                        &label,
                        Tallied::Pass(why.clone(), Some(loc.clone())),
                    );
                }
            }
        }
    }
    if r.targets.is_empty() {
        out.tally(
            "5.9-2",
            CHECK,
            "services",
            Tallied::Undecided(
                "nothing on the device answered: no function to check after a power cut".into(),
            ),
        );
    }
    out.findings.push(
        Finding::new(
            CHECK,
            &["5.9-1", "5.9-2", "5.3-15"],
            Outcome::Info,
            Severity::Info,
            Source::Device,
            format!("Power test: {how}"),
        )
        .detail(
            r.targets
                .iter()
                .map(|t| {
                    format!(
                        "{}: before {}, while off {}, after {}",
                        t.label,
                        if t.before { "up" } else { "down" },
                        if t.answered_while_off { "STILL UP" } else { "silent" },
                        t.recovered_after_s
                            .map(|s| format!("up after {s:.1} s"))
                            .unwrap_or_else(|| "not recovered".into())
                    )
                })
                .chain(std::iter::once(
                    "The switch's own answers confirmed each state change; the verdicts rest on the device's services falling silent and answering again.".into(),
                ))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switch_urls() {
        let s = PowerSwitch::parse("tasmota://127.0.0.1:8081", None).unwrap();
        assert_eq!(s.kind, SwitchKind::Tasmota);
        assert_eq!(s.addr.port(), 8081);
        let s = PowerSwitch::parse("http://127.0.0.1/", Some("shelly")).unwrap();
        assert_eq!((s.kind, s.addr.port()), (SwitchKind::Shelly, 80));
        assert!(PowerSwitch::parse("http://127.0.0.1", None).is_err());
        assert!(PowerSwitch::parse("https://127.0.0.1", Some("tasmota")).is_err());
        assert!(PowerSwitch::parse("shelly://127.0.0.1", Some("tasmota")).is_err());
        assert!(PowerSwitch::parse("tasmota://u:p@127.0.0.1", None).is_err());
        assert!(PowerSwitch::parse("zigbee://127.0.0.1", None).is_err());
    }

    #[test]
    fn switch_answers() {
        let ok = |b: &str| format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{b}");
        let t = SwitchKind::Tasmota;
        assert_eq!(
            parse_answer(t, ok(r#"{"POWER":"OFF"}"#).as_bytes()),
            Ok(false)
        );
        assert_eq!(
            parse_answer(t, ok(r#"{"POWER1":"ON"}"#).as_bytes()),
            Ok(true)
        );
        assert!(parse_answer(t, ok(r#"{"ison":true}"#).as_bytes()).is_err());
        let s = SwitchKind::Shelly;
        assert_eq!(
            parse_answer(s, ok(r#"{"ison":false,"has_timer":false}"#).as_bytes()),
            Ok(false)
        );
        assert!(parse_answer(s, ok("ison").as_bytes()).is_err());
        let e = parse_answer(s, b"HTTP/1.1 401 Unauthorized\r\n\r\n").unwrap_err();
        assert!(e.contains("401"), "{e}");
        assert!(parse_answer(s, b"garbage").is_err());
        let big = ok(&format!(
            "{{\"ison\":true,\"x\":\"{}\"}}",
            "a".repeat(MAX_ANSWER)
        ));
        assert!(parse_answer(s, big.as_bytes())
            .unwrap_err()
            .contains("longer"));
    }
}
