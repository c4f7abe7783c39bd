//! The probe run and its findings. Each check looks at one service (or the scan) and yields FAIL
//! findings with their evidence; positive evidence and undecided cases go into a tally. At the end
//! the tally gives each provision one device-level PASS, but only when *every* service the
//! provision concerns showed the measure in place; otherwise an INCONCLUSIVE finding names the
//! services that could not be decided. A service that was not understood never lets a PASS
//! through.

pub mod bruteforce;
pub mod creds;
pub mod declared;
pub mod disclosure;
pub mod discovery;
pub mod fuzz;
pub mod identity;
pub mod login;
pub mod sectxt;
pub mod transport;
pub mod unauth;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use iotassure_core::facts::{FactKey, InferredFact};
use iotassure_core::finding::{
    Evidence, Finding, Location, Observations, Outcome, Severity, Source,
};
use iotassure_core::progress::Progress;
use serde::Serialize;

use crate::ctx::Ctx;
use crate::log::LogEntry;
use crate::options::{Options, Stage};
use crate::scan::{self, TcpScan};
use crate::services::{self, Proto, Service};
use crate::tls::TlsReport;

/// Check ids: stable, TS 103 701-like test units.
pub mod ids {
    pub const PORTS: &str = "5.6-1-dev-ports";
    pub const UDP: &str = "5.6-1-dev-udp";
    pub const RISKY: &str = "5.6-1-dev-risky-services";
    pub const BANNERS: &str = "5.6-2-dev-banners";
    pub const CLEARTEXT: &str = "5.5-7-dev-cleartext";
    pub const TLS: &str = "5.5-1-dev-tls";
    pub const SSH_ALGS: &str = "5.5-1-dev-ssh-algorithms";
    pub const DEFAULT_CREDS: &str = "5.1-1-dev-default-creds";
    pub const BRUTEFORCE: &str = "5.1-5-dev-bruteforce";
    pub const UNAUTH: &str = "5.5-4-dev-unauth";
    pub const UNAUTH_CONFIG: &str = "5.5-5-dev-unauth-config";
    pub const SECURITY_TXT: &str = "5.2-1-dev-security-txt";
    pub const FUZZ: &str = "5.13-1-dev-fuzz";
    /// Authentication mechanisms seen against the IXIT (TS 103 701 5.1-1-2a, 5.1-5-2a).
    pub const AUTH_DECLARED: &str = "5.1-1-dev-auth-declared";
    /// The IXIT's test accounts log in (5.5-4-2b).
    pub const AUTH_ACCESS: &str = "5.5-4-dev-auth-access";
    /// Traffic capture (`--pcap`): summary, destinations, TLS and cleartext the device starts,
    /// the update channel, reconnection, services answered.
    pub const CAP_TRAFFIC: &str = "5.5-1-cap-traffic";
    pub const CAP_DESTINATIONS: &str = "6-5-cap-destinations";
    pub const CAP_TLS: &str = "5.5-1-cap-tls-client";
    pub const CAP_CLEARTEXT: &str = "5.5-1-cap-cleartext";
    pub const CAP_UPDATE: &str = "5.3-2-cap-update";
    pub const CAP_RECONNECT: &str = "5.9-3-cap-reconnect";
    pub const CAP_SERVICES: &str = "5.6-1-cap-services";
    /// The outage test (`--outage-test`): local function without the uplink, recovery.
    pub const OUTAGE: &str = "5.9-1-dev-outage";
    pub const RECOVERY: &str = "5.9-2-dev-recovery";
    /// SSH host key and TLS certificate key fingerprints; the same key on another unit fails
    /// (`--other-unit`, TS 103 701 5.4-3-2a).
    pub const KEY_IDENTITY: &str = "5.4-3-dev-key-identity";
}

/// A per-service result for one provision that is not a violation.
#[derive(Debug, Clone)]
pub enum Tallied {
    /// Positive evidence of the measure on this service.
    Pass(String, Option<Location>),
    /// Could not decide for this service.
    Undecided(String),
    /// A violation (its FAIL finding is emitted separately).
    Fail,
}

/// Everything one check produced.
#[derive(Debug, Default)]
pub struct Out {
    pub findings: Vec<Finding>,
    pub tally: Vec<(&'static str, &'static str, String, Tallied)>,
    pub facts: Vec<InferredFact>,
    /// Documents fetched from the device (name, text): its security.txt.
    pub documents: Vec<(String, String)>,
    pub tls: Vec<TlsReport>,
    /// How this service authenticates, when a check learned it first-hand (SSH methods).
    pub auth: Option<declared::AuthSeen>,
    /// Lines for the IXIT comparison units' summaries (authentication, test accounts).
    pub units: Vec<(&'static str, String)>,
    /// Components named by what a check read (e.g. `$SYS/broker/version`).
    pub components: Vec<iotassure_core::finding::Component>,
}

impl Out {
    pub fn fail(&mut self, f: Finding, provisions_label: &str) {
        for p in f.provisions.clone() {
            if let Some(p) = static_provision(&p) {
                self.tally
                    .push((p, check_for(p), provisions_label.to_string(), Tallied::Fail));
            }
        }
        self.findings.push(f);
    }

    /// Records a result for `provision` on the service `label`; `check` names the check.
    pub fn tally(&mut self, provision: &'static str, check: &'static str, label: &str, t: Tallied) {
        self.tally.push((provision, check, label.to_string(), t));
    }

    pub fn extend(&mut self, o: Out) {
        self.findings.extend(o.findings);
        self.tally.extend(o.tally);
        self.facts.extend(o.facts);
        self.documents.extend(o.documents);
        self.tls.extend(o.tls);
        self.units.extend(o.units);
        self.components.extend(o.components);
    }
}

/// The provisions the tally aggregates, and the check each one's summary finding carries.
const TALLIED: &[(&str, &str)] = &[
    ("5.1-1", ids::DEFAULT_CREDS),
    ("5.1-5", ids::BRUTEFORCE),
    ("5.5-1", ids::TLS),
    ("5.8-1", ids::TLS),
    ("TEC-5-no-downgrade", ids::TLS),
    ("5.5-4", ids::UNAUTH),
    ("5.6-2", ids::BANNERS),
    ("5.13-1", ids::FUZZ),
    ("5.6-1", ids::PORTS),
    ("5.6-5", ids::PORTS),
    ("6-5", ids::CAP_DESTINATIONS),
    ("5.7-2", ids::CAP_DESTINATIONS),
    ("5.9-3", ids::CAP_RECONNECT),
    ("5.9-1", ids::OUTAGE),
    ("5.9-2", ids::OUTAGE),
    ("5.3-15", ids::OUTAGE),
];

fn static_provision(p: &str) -> Option<&'static str> {
    TALLIED.iter().find(|(x, _)| *x == p).map(|(x, _)| *x)
}

fn check_for(p: &str) -> &'static str {
    TALLIED
        .iter()
        .find(|(x, _)| *x == p)
        .map(|(_, c)| *c)
        .unwrap_or(ids::PORTS)
}

/// One finding per tallied provision that has no FAIL: PASS when every concerned service passed,
/// else INCONCLUSIVE naming what could not be decided.
fn summarise(tally: &[(&'static str, &'static str, String, Tallied)], host: &str) -> Vec<Finding> {
    let mut by: BTreeMap<&str, Vec<&(&'static str, &'static str, String, Tallied)>> =
        BTreeMap::new();
    for t in tally {
        by.entry(t.0).or_default().push(t);
    }
    let mut out = Vec::new();
    for (prov, items) in by {
        if items.iter().any(|t| matches!(t.3, Tallied::Fail)) {
            continue;
        }
        let check = items[0].1;
        let undecided: Vec<String> = items
            .iter()
            .filter_map(|t| match &t.3 {
                Tallied::Undecided(r) => Some(format!("{}: {r}", t.2)),
                _ => None,
            })
            .collect();
        let passes: Vec<&&(&str, &str, String, Tallied)> = items
            .iter()
            .filter(|t| matches!(t.3, Tallied::Pass(..)))
            .collect();
        if undecided.is_empty() && !passes.is_empty() {
            let services: std::collections::BTreeSet<&str> =
                passes.iter().map(|t| t.2.as_str()).collect();
            let mut f = Finding::new(
                check,
                &[prov],
                Outcome::Pass,
                Severity::Info,
                Source::Device,
                format!(
                    "{prov}: every service concerned on {host} shows the measure ({} service{})",
                    services.len(),
                    if services.len() == 1 { "" } else { "s" }
                ),
            );
            let mut detail = Vec::new();
            for t in &passes {
                if let Tallied::Pass(why, loc) = &t.3 {
                    detail.push(format!("{}: {why}", t.2));
                    if let Some(l) = loc {
                        f.evidence.push(Evidence {
                            location: l.clone(),
                            excerpt: why.clone(),
                        });
                    }
                }
            }
            out.push(f.detail(detail.join("\n")));
        } else if !undecided.is_empty() {
            let f = Finding::new(
                check,
                &[prov],
                Outcome::Inconclusive,
                Severity::Info,
                Source::Device,
                format!(
                    "{prov}: could not decide for {} service{}",
                    undecided.len(),
                    if undecided.len() == 1 { "" } else { "s" }
                ),
            )
            .detail(undecided.join("\n"));
            out.push(f);
        }
    }
    out
}

#[derive(Debug, Clone, Serialize)]
pub struct UdpSeen {
    pub port: u16,
    pub proto: Proto,
    /// `open` (answered), `closed` (port unreachable) or `open|filtered` (silent).
    pub state: String,
    pub summary: String,
}

/// What a probe run produced.
#[derive(Debug)]
pub struct ProbeOutcome {
    pub observations: Observations,
    /// Every byte sent and received, in order (write it out as `probe-log.jsonl`).
    pub log: Vec<LogEntry>,
    pub scan: TcpScan,
    pub udp: Vec<UdpSeen>,
    pub services: Vec<Service>,
    pub tls: Vec<TlsReport>,
    /// Documents the device serves that the document checks should judge: (URL, text).
    pub documents: Vec<(String, String)>,
    /// The traffic capture analysed (`--pcap`).
    pub capture: Option<crate::capture::Capture>,
    /// The outage test's record (`--outage-test`).
    pub outage: Option<crate::outage::OutageReport>,
    /// The power test's record (`--power-switch`).
    pub power: Option<crate::power::PowerReport>,
    pub elapsed: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("port scan of {target} failed: {source}")]
    Scan {
        target: String,
        source: std::io::Error,
    },
    #[error("reading the capture: {0}")]
    Capture(#[from] crate::capture::read::ReadError),
    #[error("outage test: {0}")]
    Outage(String),
    #[error("power test: {0}")]
    Power(String),
}

/// Runs every probe the options allow against the one target.
pub fn probe(opts: &Options, progress: &dyn Progress) -> Result<ProbeOutcome, ProbeError> {
    let started = Instant::now();
    // A capture given is read first: a bad file is an error before anything is sent.
    let capture = match &opts.capture {
        Some(c) => {
            progress.stage(&format!("reading the capture {}", c.path.display()));
            Some(crate::capture::load(c)?)
        }
        None => None,
    };
    if let Some(o) = &opts.outage {
        crate::outage::preflight(o).map_err(ProbeError::Outage)?;
    }
    if let Some(p) = &opts.power {
        crate::power::preflight(p).map_err(ProbeError::Power)?;
    }
    let ctx = Ctx::new(opts, progress);
    let host = opts.ip.to_string();
    let mut out = Out::default();
    let mut obs = Observations::default();
    if opts.stage == Stage::None {
        return Ok(passive(opts, &ctx, capture, started, obs, out));
    }

    // Discovery: UDP in the background while TCP is scanned.
    progress.stage(&format!(
        "probing {host}: TCP scan of {} port(s)",
        opts.ports.list().len()
    ));
    let ports = opts.ports.list();
    let (scan, udp_result) = std::thread::scope(|s| {
        let udp = s.spawn(|| {
            if opts.udp {
                Some(discovery::udp(&ctx))
            } else {
                None
            }
        });
        let counted = scan::ScanProgress {
            sink: progress,
            done: Default::default(),
            total: ports.len() as u64,
        };
        let params = scan::ScanParams {
            concurrency: opts.concurrency,
            timeout: opts.connect_timeout,
            pacer: &ctx.pacer,
            deadline: ctx.deadline,
            progress: Some(&counted),
        };
        let scan = scan::tcp_scan(opts.ip, &ports, &params);
        (scan, udp.join().unwrap_or(None))
    });
    let scan = scan.map_err(|source| ProbeError::Scan {
        target: host.clone(),
        source,
    })?;
    ctx.log.note(ids::PORTS, &host, 0, "tcp", format!(
        "TCP connect scan of ports {}: {} open ({}), {} closed, {} filtered, {} unreachable, {} self-connections dropped, {:.2} s",
        opts.ports.describe(), scan.open.len(), crate::options::compress_ranges(&scan.open), scan.closed, scan.filtered.len(), scan.unreachable, scan.self_connects, scan.elapsed.as_secs_f64()
    ));
    progress.note(&format!(
        "{} open TCP port(s): {}",
        scan.open.len(),
        crate::options::compress_ranges(&scan.open)
    ));

    // Identification, in parallel (bounded).
    progress.stage(&format!(
        "probing {host}: identifying {} service(s)",
        scan.open.len()
    ));
    let mut services: Vec<Service> = if opts.stage == Stage::Scan {
        Vec::new()
    } else {
        parallel(&scan.open, 32, |&p| services::identify(&ctx, p))
    };
    services.sort_by_key(|s| s.port);
    for s in &services {
        progress.note(&format!(
            "{} {}",
            s.label(),
            s.banner.clone().unwrap_or_default()
        ));
    }
    let (udp_seen, udp_services, udp_out) = udp_result.unwrap_or_default();
    out.extend(udp_out);
    discovery::findings(&ctx, &scan, &services, &udp_seen, &mut out);
    obs.ran(
        ids::PORTS,
        Source::Device,
        &["5.6-1", "5.6-5"],
        ports.len() as u64,
    );
    if opts.udp {
        obs.ran(
            ids::UDP,
            Source::Device,
            &["5.6-1", "5.6-5"],
            udp_seen.len() as u64,
        );
    } else {
        obs.skipped(
            ids::UDP,
            Source::Device,
            &["5.6-1", "5.6-5"],
            "UDP probes turned off (--no-udp)",
        );
    }

    // Per-service checks: one thread per service (bounded), the checks of a service in order, so
    // lockout and crash detection are not confused by our own parallel traffic.
    progress.stage(&format!(
        "probing {host}: checking {} service(s)",
        services.len()
    ));
    let all_services: Vec<Service> = services
        .iter()
        .cloned()
        .chain(udp_services.iter().cloned())
        .collect();
    let per: Vec<Out> = match opts.stage {
        Stage::All => parallel(&all_services, 16, |svc| per_service(&ctx, svc)),
        Stage::Tls => parallel(&all_services, 16, |svc| {
            let mut out = Out::default();
            if svc.tls {
                let label = format!("{}:{}", ctx.opts.ip, svc.label());
                transport::tls_checks(&ctx, svc, &label, &mut out);
            }
            out
        }),
        Stage::None | Stage::Scan | Stage::Identify => Vec::new(),
    };
    for o in per {
        out.extend(o);
    }
    if opts.stage == Stage::All {
        declared_units(&ctx, &scan, &udp_seen, &mut out);
    }
    let mut components = crate::components::from_services(&host, &all_services);
    for c in std::mem::take(&mut out.components) {
        if !components
            .iter()
            .any(|x| x.name == c.name && x.version == c.version)
        {
            components.push(c);
        }
    }
    obs.components.extend(components);
    let outage = match (&opts.outage, opts.stage) {
        (Some(o), Stage::All) => {
            progress.stage(&format!("probing {host}: outage test on {}", o.uplink));
            let r =
                crate::outage::run(&ctx, o, &all_services, &mut out).map_err(ProbeError::Outage)?;
            Some(r)
        }
        _ => None,
    };
    // After the outage test: a power cut restarts everything, so it goes last.
    let power = match (&opts.power, opts.stage) {
        (Some(p), Stage::All) => {
            progress.stage(&format!("probing {host}: power test via {}", p.switch.url));
            Some(crate::power::run(&ctx, p, &all_services, &mut out).map_err(ProbeError::Power)?)
        }
        _ => None,
    };
    // The capture taken during the outage test, if any, is judged with the one given.
    let mut capture = capture;
    if let Some(p) = outage.as_ref().and_then(|r| r.capture.clone()) {
        let co = crate::capture::CaptureOptions::new(p, opts.ip);
        match crate::capture::load(&co) {
            Ok(c) => {
                if capture.is_none() {
                    capture = Some(c);
                } else {
                    judge_capture(&ctx, &c, true, &mut out);
                }
            }
            Err(e) => out.findings.push(
                Finding::new(
                    ids::OUTAGE,
                    &["5.9-3"],
                    Outcome::Inconclusive,
                    Severity::Info,
                    Source::Device,
                    "The capture taken during the outage test could not be read",
                )
                .detail(e.to_string()),
            ),
        }
    }
    if let Some((listen, records)) = &opts.intercept {
        crate::intercept::findings(listen, records, &mut out, true);
        obs.ran(
            crate::intercept::CHECK,
            Source::Device,
            &["5.5-1", "5.3-2", "5.8-1"],
            records.len() as u64,
        );
    }
    if let Some(c) = &capture {
        judge_capture(&ctx, c, true, &mut out);
        record_capture_runs(&mut obs, c);
    } else {
        obs.skipped(
            ids::CAP_TRAFFIC,
            Source::Device,
            &["5.5-1", "6-5", "5.9-3"],
            "no traffic capture given (--pcap FILE)",
        );
    }
    record_ixit_runs(opts, &mut obs);
    if opts.outage.is_some() && outage.is_some() {
        obs.ran(
            ids::OUTAGE,
            Source::Device,
            &["5.9-1", "5.9-2", "5.3-15"],
            all_services.len() as u64,
        );
        obs.ran(
            ids::RECOVERY,
            Source::Device,
            &["5.9-2"],
            all_services.len() as u64,
        );
    } else {
        obs.skipped(
            ids::OUTAGE,
            Source::Device,
            &["5.9-1", "5.9-2", "5.3-15"],
            "opt-in: run on the device's gateway with --outage-test --uplink IFACE",
        );
    }
    if power.is_some() {
        obs.ran(
            crate::power::CHECK,
            Source::Device,
            &["5.9-1", "5.9-2", "5.3-15"],
            all_services.len() as u64,
        );
    } else {
        obs.skipped(
            crate::power::CHECK,
            Source::Device,
            &["5.9-1", "5.9-2", "5.3-15"],
            "opt-in: --power-switch URL (a Tasmota or Shelly switch feeding the device)",
        );
    }

    // Record what ran.
    let n_tcp = services.len() as u64;
    obs.ran(
        ids::BANNERS,
        Source::Device,
        &["5.6-2"],
        all_services.len() as u64,
    );
    obs.ran(
        ids::RISKY,
        Source::Device,
        &["5.6-1", "5.6-5"],
        all_services.len() as u64,
    );
    obs.ran(ids::CLEARTEXT, Source::Device, &["5.5-1", "5.5-7"], n_tcp);
    obs.ran(
        ids::TLS,
        Source::Device,
        &["5.5-1", "5.5-7", "5.8-1", "TEC-5-no-downgrade"],
        out.tls.len() as u64,
    );
    obs.ran(
        ids::SSH_ALGS,
        Source::Device,
        &["5.5-1", "TEC-5-no-downgrade"],
        services.iter().filter(|s| s.proto == Proto::Ssh).count() as u64,
    );
    let keyed = all_services
        .iter()
        .filter(|s| s.proto == Proto::Ssh || s.tls)
        .count() as u64;
    if opts.other_unit.is_some() {
        obs.ran(
            ids::KEY_IDENTITY,
            Source::Device,
            &["5.4-3", "5.4-1"],
            keyed,
        );
    } else {
        obs.skipped(
            ids::KEY_IDENTITY,
            Source::Device,
            &["5.4-3"],
            "key fingerprints recorded; telling a per-device key from a shared one needs a second unit (--other-unit REPORT)",
        );
    }
    obs.ran(
        ids::DEFAULT_CREDS,
        Source::Device,
        &["5.1-1"],
        all_services
            .iter()
            .filter(|s| s.asks_password() || s.proto == Proto::Snmp)
            .count() as u64,
    );
    obs.ran(
        ids::UNAUTH,
        Source::Device,
        &["5.5-4", "5.6-2"],
        all_services.len() as u64,
    );
    obs.ran(
        ids::UNAUTH_CONFIG,
        Source::Device,
        &["5.5-5"],
        all_services.len() as u64,
    );
    obs.ran(
        ids::SECURITY_TXT,
        Source::Device,
        &["5.2-1"],
        services.iter().filter(|s| s.proto == Proto::Http).count() as u64,
    );
    if opts.bruteforce {
        obs.ran(
            ids::BRUTEFORCE,
            Source::Device,
            &["5.1-5"],
            all_services
                .iter()
                .filter(|s| bruteforce::supported(s))
                .count() as u64,
        );
    } else {
        obs.skipped(
            ids::BRUTEFORCE,
            Source::Device,
            &["5.1-5"],
            "opt-in: run with --bruteforce-test (it sends wrong passwords and may lock accounts)",
        );
    }
    if opts.fuzz {
        obs.ran(
            ids::FUZZ,
            Source::Device,
            &["5.13-1"],
            all_services.iter().filter(|s| fuzz::supported(s)).count() as u64,
        );
    } else {
        obs.skipped(
            ids::FUZZ,
            Source::Device,
            &["5.13-1"],
            "opt-in: run with --fuzz (malformed inputs may crash a fragile service)",
        );
    }
    if ctx.deadline.expired() {
        obs.findings.push(
            Finding::new(
                ids::PORTS,
                &["5.6-1"],
                Outcome::Inconclusive,
                Severity::Info,
                Source::Device,
                "The probe run hit its time budget; some probes did not run",
            )
            .detail(format!(
                "--max-time {} s was spent; results cover what finished.",
                opts.max_time.as_secs()
            )),
        );
    }

    if opts.stage != Stage::All {
        // A partial run (--only): what did not run says so.
        let kept: &[&str] = match opts.stage {
            Stage::Scan => &[ids::PORTS, ids::UDP],
            Stage::Identify => &[ids::PORTS, ids::UDP, ids::BANNERS],
            _ => &[ids::PORTS, ids::UDP, ids::BANNERS, ids::TLS],
        };
        for c in obs
            .checks
            .iter_mut()
            .filter(|c| !kept.contains(&c.check.as_str()))
        {
            c.status = iotassure_core::finding::RunStatus::Skipped {
                reason: format!("not run: --only {}", opts.stage.as_str()),
            };
        }
    }
    let summary = summarise(&out.tally, &host);
    obs.findings.extend(out.findings);
    obs.findings.extend(summary);
    obs.facts.extend(dedup_facts(out.facts));
    Ok(ProbeOutcome {
        observations: obs,
        log: ctx.log.take(),
        scan,
        udp: udp_seen,
        services: all_services,
        tls: out.tls,
        documents: out.documents,
        capture,
        outage,
        power,
        elapsed: started.elapsed(),
    })
}

/// `--only none`: nothing is sent; the capture (and the IXIT it is compared with) is all.
fn passive(
    opts: &Options,
    ctx: &Ctx<'_>,
    capture: Option<crate::capture::Capture>,
    started: Instant,
    mut obs: Observations,
    mut out: Out,
) -> ProbeOutcome {
    if let Some(c) = &capture {
        judge_capture(ctx, c, false, &mut out);
        record_capture_runs(&mut obs, c);
    }
    if let Some((listen, records)) = &opts.intercept {
        crate::intercept::findings(listen, records, &mut out, true);
        obs.ran(
            crate::intercept::CHECK,
            Source::Device,
            &["5.5-1", "5.3-2", "5.8-1"],
            records.len() as u64,
        );
        if capture.is_none() {
            out.tally(
                "5.5-1",
                crate::intercept::CHECK,
                "the device's services",
                Tallied::Undecided("not probed in this run (--only none)".into()),
            );
        }
    }
    for (id, provs) in [
        (ids::PORTS, &["5.6-1", "5.6-5"][..]),
        (ids::BANNERS, &["5.6-2"]),
        (ids::TLS, &["5.5-1"]),
        (ids::DEFAULT_CREDS, &["5.1-1"]),
        (ids::UNAUTH, &["5.5-4"]),
    ] {
        obs.skipped(
            id,
            Source::Device,
            provs,
            "not run: --only none (nothing is sent)",
        );
    }
    let summary = summarise(&out.tally, &opts.ip.to_string());
    obs.findings.extend(out.findings);
    obs.findings.extend(summary);
    obs.facts.extend(dedup_facts(out.facts));
    ProbeOutcome {
        observations: obs,
        log: ctx.log.take(),
        scan: TcpScan::default(),
        udp: Vec::new(),
        services: Vec::new(),
        tls: Vec::new(),
        documents: Vec::new(),
        capture,
        outage: None,
        power: None,
        elapsed: started.elapsed(),
    }
}

fn judge_capture(ctx: &Ctx<'_>, c: &crate::capture::Capture, probed: bool, out: &mut Out) {
    let d = &ctx.opts.declared;
    let ifs: Option<Vec<iotassure_core::ixit::Interface>> = d.interfaces.as_ref().map(|v| {
        v.iter()
            .map(|i| iotassure_core::ixit::Interface {
                port: i.port,
                transport: if i.udp {
                    iotassure_core::ixit::Transport::Udp
                } else {
                    iotassure_core::ixit::Transport::Tcp
                },
                service: i.service.clone().unwrap_or_default(),
                purpose: i.purpose.clone(),
                authentication: i.auth.unwrap_or_default(),
            })
            .collect()
    });
    let decl = crate::capture::judge::Declared {
        connections: d.connections.as_deref(),
        interfaces: ifs.as_deref(),
        source: if d.source.is_empty() {
            "no IXIT"
        } else {
            &d.source
        },
        services_probed: probed,
    };
    crate::capture::judge::judge(c, &decl, out);
}

fn record_capture_runs(obs: &mut Observations, c: &crate::capture::Capture) {
    let n = c.conversations.len() as u64;
    let outbound = c.conversations.iter().filter(|c| c.outbound).count() as u64;
    obs.ran(
        ids::CAP_TRAFFIC,
        Source::Device,
        &["5.5-1", "6-5"],
        c.read.frames,
    );
    obs.ran(
        ids::CAP_DESTINATIONS,
        Source::Device,
        if c.state == crate::capture::CaptureState::FailedBoot {
            &["5.7-2"]
        } else {
            &["6-5"]
        },
        outbound,
    );
    obs.ran(
        ids::CAP_TLS,
        Source::Device,
        &["5.5-1", "5.8-1", "TEC-5-no-downgrade"],
        outbound,
    );
    obs.ran(
        ids::CAP_CLEARTEXT,
        Source::Device,
        &["5.5-1", "5.8-1", "5.8-2"],
        outbound,
    );
    obs.ran(
        ids::CAP_UPDATE,
        Source::Device,
        &["5.3-2", "5.3-10"],
        outbound,
    );
    obs.ran(ids::CAP_RECONNECT, Source::Device, &["5.9-3"], outbound);
    obs.ran(ids::CAP_SERVICES, Source::Device, &["5.6-1"], n - outbound);
}

fn record_ixit_runs(opts: &Options, obs: &mut Observations) {
    let d = &opts.declared;
    let ixit_auth = d
        .interfaces
        .as_ref()
        .is_some_and(|v| v.iter().any(|i| i.auth.is_some()));
    if ixit_auth {
        obs.ran(
            ids::AUTH_DECLARED,
            Source::Device,
            &["5.1-1", "5.1-5", "5.5-4"],
            d.interfaces.as_ref().map_or(0, |v| v.len() as u64),
        );
    } else {
        obs.skipped(
            ids::AUTH_DECLARED,
            Source::Device,
            &["5.1-1", "5.1-5"],
            "no IXIT interfaces with their authentication (assess --ics / probe --ics)",
        );
    }
    if d.test_accounts.is_empty() {
        obs.skipped(
            ids::AUTH_ACCESS,
            Source::Device,
            &["5.5-4"],
            "no IXIT test accounts (ixit.test_accounts)",
        );
    } else {
        obs.ran(
            ids::AUTH_ACCESS,
            Source::Device,
            &["5.5-4"],
            d.test_accounts.len() as u64,
        );
    }
}

/// The IXIT comparison units as findings of their own: declared interfaces not found open, and
/// each service's authentication and test-account results in one place.
fn declared_units(ctx: &Ctx<'_>, scan: &TcpScan, udp: &[UdpSeen], out: &mut Out) {
    let d = &ctx.opts.declared;
    let host = ctx.opts.ip.to_string();
    if let Some(list) = &d.interfaces {
        let scanned = ctx.opts.ports.list();
        let missing: Vec<String> = list
            .iter()
            .filter(|i| {
                if i.udp {
                    !udp.iter().any(|u| u.port == i.port && u.state == "open")
                } else {
                    scanned.contains(&i.port) && !scan.open.contains(&i.port)
                }
            })
            .map(|i| {
                format!(
                    "{}/{}{}",
                    i.port,
                    if i.udp { "udp" } else { "tcp" },
                    i.service
                        .as_ref()
                        .map(|s| format!(" {s}"))
                        .unwrap_or_default()
                )
            })
            .collect();
        if !missing.is_empty() {
            out.findings.push(
                Finding::new(ids::PORTS, &["5.6-1"], Outcome::Info, Severity::Info, Source::Device, format!("{} declared interface(s) not found open on {host}", missing.len()))
                    .detail(format!("Declared in {} but not seen: {} (UDP is probed only on the IoT ports; a service may be disabled in this state).", d.source, missing.join(", "))),
            );
        }
    }
    for (unit, title, provs) in [
        (
            ids::AUTH_DECLARED,
            "Authentication mechanisms seen against the IXIT (TS 103 701 5.1-1-2a, 5.1-5-2a)",
            &["5.1-1", "5.1-5"][..],
        ),
        (
            ids::AUTH_ACCESS,
            "Declared test accounts (TS 103 701 5.5-4-2b: access with authentication)",
            &["5.5-4"][..],
        ),
    ] {
        let mut lines: Vec<String> = out
            .units
            .iter()
            .filter(|(u, _)| *u == unit)
            .map(|(_, l)| l.clone())
            .collect();
        if lines.is_empty() {
            continue;
        }
        lines.sort();
        let fails = out
            .findings
            .iter()
            .filter(|f| f.check == unit && f.outcome == Outcome::Fail)
            .count();
        out.findings.push(
            Finding::new(
                unit,
                provs,
                Outcome::Info,
                Severity::Info,
                Source::Device,
                format!("{title}: {} service(s), {fails} mismatch(es)", lines.len()),
            )
            .detail(format!("Declared in {}.\n{}", d.source, lines.join("\n"))),
        );
    }
}

fn dedup_facts(mut f: Vec<InferredFact>) -> Vec<InferredFact> {
    let mut seen = std::collections::BTreeSet::new();
    f.retain(|x| seen.insert((x.key, x.value)));
    f
}

/// The checks for one service, in order.
fn per_service(ctx: &Ctx<'_>, svc: &Service) -> Out {
    let mut out = Out::default();
    let label = format!("{}:{}", ctx.opts.ip, svc.label());
    disclosure::run(ctx, svc, &label, &mut out);
    discovery::risky(ctx, svc, &label, &mut out);
    declared::interface(ctx, svc, &label, &mut out);
    let http = if svc.proto == Proto::Http {
        Some(unauth::http_paths(ctx, svc, &label, &mut out))
    } else {
        None
    };
    transport::run(ctx, svc, &label, http.as_ref(), &mut out);
    unauth::run(ctx, svc, &label, &mut out);
    if svc.proto == Proto::Http {
        sectxt::run(ctx, svc, &mut out);
    }
    if svc.proto == Proto::Ssh {
        identity::ssh(ctx, svc, &label, &mut out);
    }
    let accepted = creds::run(ctx, svc, &label, http.as_ref(), &mut out);
    if svc.asks_password() || http.as_ref().is_some_and(|h| !h.protected.is_empty()) {
        out.facts.push(InferredFact {
            key: FactKey::PasswordsUsed,
            value: true,
            reason: format!("{} asks for a password", svc.label()),
            evidence: Vec::new(),
        });
        out.facts.push(InferredFact {
            key: FactKey::UserAuthentication,
            value: true,
            reason: format!("{} has a login", svc.label()),
            evidence: Vec::new(),
        });
    }
    let seen = declared::observed(svc, http.as_ref(), &out, accepted.as_ref());
    if let Some(line) = declared::auth_mechanism(ctx, svc, &label, &seen, &mut out) {
        out.units.push((ids::AUTH_DECLARED, line));
    }
    if let Some(line) = declared::test_accounts(ctx, svc, &label, http.as_ref(), &mut out) {
        out.units.push((ids::AUTH_ACCESS, line));
    }
    if ctx.opts.bruteforce && bruteforce::supported(svc) {
        bruteforce::run(ctx, svc, &label, http.as_ref(), accepted.as_ref(), &mut out);
    }
    if ctx.opts.fuzz {
        if fuzz::supported(svc) {
            fuzz::run(ctx, svc, &label, http.as_ref(), &mut out);
        } else {
            fuzz::not_covered(svc, &label, &mut out);
        }
    }
    out
}

/// Maps `f` over `items` on at most `width` threads, keeping order.
pub fn parallel<T: Sync, R: Send>(items: &[T], width: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    if items.is_empty() {
        return Vec::new();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<std::sync::Mutex<Option<R>>> =
        items.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..width.min(items.len()).max(1) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let r = f(item);
                *results[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
            });
        }
    });
    results
        .into_iter()
        .filter_map(|m| m.into_inner().unwrap_or_else(|p| p.into_inner()))
        .collect()
}

/// A network location with just a note (for findings about a port as a whole).
pub fn port_location(ctx: &Ctx<'_>, svc: &Service, note: &str) -> Location {
    Location::Network {
        host: ctx.opts.ip.to_string(),
        port: svc.port,
        protocol: svc.name().to_string(),
        transcript: vec![iotassure_core::finding::TranscriptLine {
            dir: "note".into(),
            data: note.to_string(),
        }],
    }
}

/// The service's identification exchange, or a bare location.
pub fn svc_location(ctx: &Ctx<'_>, svc: &Service) -> Location {
    svc.evidence
        .clone()
        .unwrap_or_else(|| port_location(ctx, svc, "identified"))
}
