//! What a probe run may do: the target, the ports, the credential lists, the opt-in tests and
//! every bound (rate, attempts, time). The defaults are safe for a device on a home network.

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use crate::creds::Credential;

/// Which TCP ports the discovery scan connects to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ports {
    /// 1–65535.
    All,
    List(Vec<u16>),
}

impl Ports {
    /// Parses `all`, or a comma list of ports and ranges: `22,80,8000-8100`.
    pub fn parse(s: &str) -> Result<Ports, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("all") || s == "-" || s == "1-65535" {
            return Ok(Ports::All);
        }
        let mut v = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (a, b) = match part.split_once('-') {
                Some((a, b)) => (a.trim(), b.trim()),
                None => (part, part),
            };
            let a: u16 = a
                .parse()
                .map_err(|_| format!("`{part}` is not a port or range"))?;
            let b: u16 = b
                .parse()
                .map_err(|_| format!("`{part}` is not a port or range"))?;
            if a == 0 || b < a {
                return Err(format!("`{part}`: ports run from 1 to 65535, low to high"));
            }
            v.extend(a..=b);
        }
        if v.is_empty() {
            return Err("no ports given".into());
        }
        v.sort_unstable();
        v.dedup();
        Ok(Ports::List(v))
    }

    pub fn list(&self) -> Vec<u16> {
        match self {
            Ports::All => (1..=65535).collect(),
            Ports::List(v) => v.clone(),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Ports::All => "1-65535".into(),
            Ports::List(v) => compress_ranges(v),
        }
    }
}

/// Parses `--expect`: `22,80/tcp,1900/udp` (TCP when no protocol is given).
pub fn parse_expected(s: &str) -> Result<Vec<(u16, bool)>, String> {
    let mut v = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (port, udp) = match part.split_once('/') {
            Some((p, "tcp")) => (p, false),
            Some((p, "udp")) => (p, true),
            Some((_, other)) => {
                return Err(format!("`{part}`: protocol `{other}` is not tcp or udp"))
            }
            None => (part, false),
        };
        let port: u16 = port
            .parse()
            .map_err(|_| format!("`{part}` is not PORT[/tcp|/udp]"))?;
        v.push((port, udp));
    }
    Ok(v)
}

/// `[1,2,3,7]` → `1-3,7`.
pub fn compress_ranges(v: &[u16]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < v.len() {
        let mut j = i;
        while j + 1 < v.len() && v[j + 1] == v[j] + 1 {
            j += 1;
        }
        out.push(if i == j {
            v[i].to_string()
        } else {
            format!("{}-{}", v[i], v[j])
        });
        i = j + 1;
    }
    out.join(",")
}

/// How far a run goes (`--only`): the scan alone, up to service identification, up to the TLS
/// probe, or every check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Scan,
    Identify,
    Tls,
    All,
}

impl Stage {
    pub fn parse(s: &str) -> Result<Stage, String> {
        match s {
            "scan" => Ok(Stage::Scan),
            "identify" => Ok(Stage::Identify),
            "tls" => Ok(Stage::Tls),
            "all" => Ok(Stage::All),
            other => Err(format!("`{other}`: expected scan, identify, tls or all")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Scan => "scan",
            Stage::Identify => "identify",
            Stage::Tls => "tls",
            Stage::All => "all",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    /// The one host probed (address as resolved, and the name as given for Host/SNI).
    pub ip: IpAddr,
    pub host: String,
    pub ports: Ports,
    /// Probe the IoT UDP ports (SSDP, mDNS, TFTP, SNMP, CoAP) by unicast to the target.
    pub udp: bool,
    /// Credentials tried by the default-credential probe, in order (built-in list first).
    pub credentials: Vec<Credential>,
    /// Most login attempts per service in the default-credential probe.
    pub max_attempts: usize,
    /// Known-good logins (`--login`): the brute-force test tries one after its wrong passwords.
    pub known_logins: Vec<Credential>,
    /// Opt-in: a bounded series of wrong passwords per login service (5.1-5).
    pub bruteforce: bool,
    /// Wrong passwords per service in the brute-force test.
    pub bruteforce_attempts: u32,
    /// Opt-in: bounded malformed inputs (5.13-1).
    pub fuzz: bool,
    /// Global cap on new connections and datagrams per second.
    pub rate: u32,
    /// Cap on login attempts per second, per service.
    pub auth_rate: f64,
    /// Connections in flight during the port scan.
    pub concurrency: usize,
    /// Time allowed for a TCP connect during the scan.
    pub connect_timeout: Duration,
    /// Time allowed for a reply in a service exchange.
    pub io_timeout: Duration,
    /// How long to wait for a service to speak first (SSH, FTP, telnet banners).
    pub banner_wait: Duration,
    /// How far the run goes.
    pub stage: Stage,
    /// The interfaces the maker declares (`--expect`, the IXIT's list): (port, UDP?). With it,
    /// an open port not declared is a 5.6-1 violation and a device with only declared ports
    /// passes 5.6-1.
    pub expected: Option<Vec<(u16, bool)>>,
    /// Wall-clock budget for the whole run; probes still pending when it runs out are recorded as
    /// skipped with that reason.
    pub max_time: Duration,
}

impl Options {
    pub fn new(ip: IpAddr, host: impl Into<String>) -> Options {
        Options {
            ip,
            host: host.into(),
            ports: Ports::All,
            udp: true,
            credentials: crate::creds::builtin(),
            max_attempts: 60,
            known_logins: Vec::new(),
            bruteforce: false,
            bruteforce_attempts: 8,
            fuzz: false,
            rate: 150_000,
            auth_rate: 10.0,
            concurrency: 1024,
            connect_timeout: Duration::from_millis(1000),
            io_timeout: Duration::from_millis(2500),
            banner_wait: Duration::from_millis(600),
            max_time: Duration::from_secs(900),
            stage: Stage::All,
            expected: None,
        }
    }

    /// Adds credential lists (`user:pass` per line, or a bare password per line; `#` comments).
    pub fn add_credential_file(&mut self, path: &Path) -> std::io::Result<usize> {
        let list = crate::creds::read_file(path)?;
        let n = list.len();
        crate::creds::merge(&mut self.credentials, list);
        Ok(n)
    }
}
