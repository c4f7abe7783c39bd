//! What a probe run may do: the target, the ports, the credential lists, the opt-in tests and
//! every bound (rate, attempts, time). The defaults are safe for a device on a home network.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use iotassure_core::ixit::{Authentication, BasicFunction, Connection, Ixit, TestAccount};

use crate::creds::Credential;

/// One interface the maker declares: from `--expect` (port and transport only) or from the
/// IXIT (with the service and how it authenticates).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeclaredInterface {
    pub port: u16,
    pub udp: bool,
    /// `https`, `ssh`, `mqtt` … (None: not said).
    pub service: Option<String>,
    /// None: not said (`--expect`).
    pub auth: Option<Authentication>,
    pub purpose: String,
}

/// The maker's declarations the probes compare with, and where they come from.
#[derive(Debug, Clone, Default)]
pub struct Declared {
    /// `--expect` and/or the statement file (`statement.yaml (ixit)`).
    pub source: String,
    /// None: no interface list was given (nothing is "undeclared").
    pub interfaces: Option<Vec<DeclaredInterface>>,
    /// None: no IXIT connections were given.
    pub connections: Option<Vec<Connection>>,
    pub basic_functions: Vec<BasicFunction>,
    pub test_accounts: Vec<TestAccount>,
}

impl Declared {
    /// Adds `--expect` entries.
    pub fn add_expected(&mut self, list: &[(u16, bool)]) {
        let v = self.interfaces.get_or_insert_with(Vec::new);
        for &(port, udp) in list {
            if !v.iter().any(|d| d.port == port && d.udp == udp) {
                v.push(DeclaredInterface {
                    port,
                    udp,
                    service: None,
                    auth: None,
                    purpose: String::new(),
                });
            }
        }
        self.note_source("--expect");
    }

    /// Adds a statement's IXIT (`source` names the file).
    pub fn add_ixit(&mut self, ixit: &Ixit, source: &str) {
        if !ixit.interfaces.is_empty() {
            let v = self.interfaces.get_or_insert_with(Vec::new);
            for i in &ixit.interfaces {
                let udp = i.transport == iotassure_core::ixit::Transport::Udp;
                v.retain(|d| !(d.port == i.port && d.udp == udp && d.service.is_none()));
                v.push(DeclaredInterface {
                    port: i.port,
                    udp,
                    service: Some(i.service.clone()),
                    auth: Some(i.authentication),
                    purpose: i.purpose.clone(),
                });
            }
        }
        if !ixit.connections.is_empty() {
            self.connections
                .get_or_insert_with(Vec::new)
                .extend(ixit.connections.iter().cloned());
        }
        self.basic_functions
            .extend(ixit.basic_functions.iter().cloned());
        self.test_accounts
            .extend(ixit.test_accounts.iter().cloned());
        if !ixit.is_empty() {
            self.note_source(&format!("{source} (ixit)"));
        }
    }

    fn note_source(&mut self, s: &str) {
        if self.source.is_empty() {
            self.source = s.to_string();
        } else if !self.source.contains(s) {
            self.source = format!("{} and {s}", self.source);
        }
    }

    pub fn interface(&self, port: u16, udp: bool) -> Option<&DeclaredInterface> {
        self.interfaces
            .as_ref()?
            .iter()
            .find(|d| d.port == port && d.udp == udp)
    }
}

/// The outage test (`--outage-test`): run on the device's gateway, cut its uplink.
#[derive(Debug, Clone)]
pub struct OutageOptions {
    /// The gateway's interface towards the internet (never guessed).
    pub uplink: String,
    pub duration: Duration,
    /// How long to wait for the device to recover after the link returns.
    pub recovery: Duration,
    /// Where to write the capture taken during the test (tcpdump), if any.
    pub capture: Option<PathBuf>,
}

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
    /// Send nothing: only the capture (and the IXIT) are judged.
    None,
    Scan,
    Identify,
    Tls,
    All,
}

impl Stage {
    pub fn parse(s: &str) -> Result<Stage, String> {
        match s {
            "none" => Ok(Stage::None),
            "scan" => Ok(Stage::Scan),
            "identify" => Ok(Stage::Identify),
            "tls" => Ok(Stage::Tls),
            "all" => Ok(Stage::All),
            other => Err(format!(
                "`{other}`: expected none, scan, identify, tls or all"
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::None => "none",
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
    /// What the maker declares (`--expect`, the statement's IXIT): interfaces, connections,
    /// basic functions, test accounts. With an interface list, an open port not declared is a
    /// 5.6-1 violation and a device with only declared ports passes 5.6-1.
    pub declared: Declared,
    /// A traffic capture to analyse (`--pcap`): the device's own connections.
    pub capture: Option<crate::capture::CaptureOptions>,
    /// The outage test, if asked for.
    pub outage: Option<OutageOptions>,
    /// The power test (`--power-switch`), if asked for.
    pub power: Option<crate::power::PowerOptions>,
    /// Results of an earlier `iotassure intercept` run to judge with the rest (listen address,
    /// records).
    pub intercept: Option<(String, Vec<crate::intercept::Record>)>,
    /// Key fingerprints of another unit of the same model (`--other-unit`): a key both present
    /// is shared by every unit.
    pub other_unit: Option<crate::checks::identity::OtherUnit>,
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
            declared: Declared::default(),
            capture: None,
            outage: None,
            power: None,
            intercept: None,
            other_unit: None,
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
