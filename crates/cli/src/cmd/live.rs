//! Live evidence for `assess`: the device (`--device`) and the published documents (`--doc`).
//! The probe options here are shared with `iotassure probe`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use iotassure_core::finding::Observations;
use iotassure_core::ixit::Ixit;
use iotassure_core::progress::Progress;
use iotassure_device::capture::CaptureOptions;
use iotassure_device::{Credential, LogEntry, Options, OutageOptions, Ports, ProbeOutcome};
use iotassure_documents::{DocOptions, DocSource};

/// How the live device is probed (shared by `probe` and `assess --device`).
#[derive(Args, Debug, Clone)]
pub struct ProbeOpts {
    /// TCP ports to scan: `all` (1-65535) or a list such as `22,80,443,8000-8100`.
    #[arg(long, default_value = "all", value_name = "LIST|all")]
    pub ports: String,
    /// A valid login (USER:PASS) the brute-force test tries after its wrong passwords, to tell a
    /// lockout from a refusal. Repeatable.
    #[arg(long = "login", value_name = "USER:PASS")]
    pub login: Vec<String>,
    /// Opt-in: send a bounded series of wrong passwords to each login service (5.1-5). It may
    /// lock accounts on the device.
    #[arg(long = "bruteforce-test")]
    pub bruteforce_test: bool,
    /// Wrong passwords per service in the brute-force test.
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub bruteforce_attempts: u32,
    /// Opt-in: send bounded malformed inputs to HTTP, MQTT and telnet (5.13-1). A fragile
    /// service may crash.
    #[arg(long)]
    pub fuzz: bool,
    /// Most default-credential attempts per service.
    #[arg(long, default_value_t = 60, value_name = "N")]
    pub max_attempts: usize,
    /// Global cap on new connections and datagrams per second.
    #[arg(long, default_value_t = 150_000, value_name = "N")]
    pub rate: u32,
    /// Cap on login attempts per second, per service (default-credential probe).
    #[arg(long, default_value_t = 10.0, value_name = "N")]
    pub auth_rate: f64,
    /// TCP connects in flight during the scan.
    #[arg(long, default_value_t = 1024, value_name = "N")]
    pub concurrency: usize,
    /// Connect timeout during the scan, in milliseconds.
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    pub connect_timeout: u64,
    /// Reply timeout of every exchange, in milliseconds.
    #[arg(long, default_value_t = 2500, value_name = "MS")]
    pub io_timeout: u64,
    /// Wall-clock budget for all probes, in seconds.
    #[arg(long, default_value_t = 900, value_name = "SECS")]
    pub probe_time: u64,
    /// Do not probe the IoT UDP ports (SSDP, mDNS, TFTP, SNMP, CoAP).
    #[arg(long)]
    pub no_udp: bool,
    /// The interfaces the maker declares, e.g. `22,443,1900/udp`, when there is no statement
    /// with an IXIT (`--ics`, whose `ixit.interfaces` also say the service and how it
    /// authenticates). An open port not on the list fails 5.6-1; with every open port on it,
    /// 5.6-1 passes.
    #[arg(long, value_name = "PORT[/udp],…")]
    pub expect: Option<String>,
    /// A traffic capture of the device (pcap or pcapng, e.g. `tcpdump -i IFACE -w FILE host
    /// DEVICE`): the connections it makes are judged (destinations against the IXIT's
    /// `connections`, cleartext, TLS it offers and negotiates, update channel, reconnection).
    #[arg(long, value_name = "FILE")]
    pub pcap: Option<PathBuf>,
    /// The device's address in the capture (default: the probed target).
    #[arg(long, value_name = "IP")]
    pub pcap_device: Option<String>,
    /// What the device was doing during the capture: `normal`, or `failed-boot` (it had just
    /// refused a modified image: every connection it starts is judged under 5.7-2).
    #[arg(long, default_value = "normal", value_name = "STATE")]
    pub pcap_state: String,
    /// Results of `iotassure intercept` (its intercept.json) to judge with the rest: whether the
    /// device, as a TLS client, accepted untrusted certificates.
    #[arg(long = "intercept", value_name = "FILE")]
    pub intercept_results: Option<PathBuf>,
    /// The report.json of another unit of the same model (from `probe` or `assess --device`):
    /// an SSH host key or TLS certificate key present on both units is a key shared by every
    /// unit (5.4-3 FAIL); different keys are recorded as per-device.
    #[arg(long, value_name = "REPORT")]
    pub other_unit: Option<PathBuf>,
    /// Opt-in, on the device's gateway only: cut the uplink (an nftables rule dropping
    /// forwarding through --uplink, self-expiring) for --outage seconds; check that the declared
    /// basic functions and the LAN services keep answering and recover (5.9-1, 5.9-2, 5.3-15);
    /// with tcpdump present, capture the traffic meanwhile (5.9-3).
    #[arg(long, requires = "uplink")]
    pub outage_test: bool,
    /// The gateway's interface towards the internet (required with --outage-test; never guessed).
    #[arg(long, value_name = "IFACE")]
    pub uplink: Option<String>,
    /// Length of the outage, in seconds (1-600).
    #[arg(long = "outage", default_value_t = 30, value_name = "SECS")]
    pub outage_secs: u64,
    /// How long to wait for recovery after the link returns, in seconds (≤ 300).
    #[arg(long = "recovery", default_value_t = 30, value_name = "SECS")]
    pub recovery_secs: u64,
    /// Opt-in: a networked power switch feeding the device (`tasmota://HOST[:PORT]`,
    /// `shelly://HOST[:PORT]`, or `http://...` with --power-switch-kind). After every other
    /// probe its relay is turned off for --power-off seconds and on again; the services must
    /// answer again within --power-recovery seconds with the same SSH host key or banner
    /// (5.9-1, 5.9-2, 5.3-15).
    #[arg(long, value_name = "URL")]
    pub power_switch: Option<String>,
    /// The switch's protocol when the URL's scheme is http: tasmota or shelly.
    #[arg(long, value_name = "KIND", requires = "power_switch")]
    pub power_switch_kind: Option<String>,
    /// How long the power stays off, in seconds (1-600).
    #[arg(long = "power-off", default_value_t = 10, value_name = "SECS")]
    pub power_off_secs: u64,
    /// How long to wait for the services after power returns, in seconds (1-600).
    #[arg(long = "power-recovery", default_value_t = 120, value_name = "SECS")]
    pub power_recovery_secs: u64,
    /// Stop early: `none` (send nothing: judge only --pcap/--intercept), `scan` (ports only),
    /// `identify` (and what answers), `tls` (and the TLS probe), or `all`.
    #[arg(long, default_value = "all", value_name = "STAGE")]
    pub only: String,
    /// List every probe that would be sent (with the exact payloads) and exit; nothing is sent.
    #[arg(long)]
    pub dry_run: bool,
}

impl Default for ProbeOpts {
    fn default() -> Self {
        ProbeOpts {
            ports: "all".into(),
            login: Vec::new(),
            bruteforce_test: false,
            bruteforce_attempts: 10,
            fuzz: false,
            max_attempts: 60,
            rate: 150_000,
            auth_rate: 10.0,
            concurrency: 1024,
            connect_timeout: 1000,
            io_timeout: 2500,
            probe_time: 900,
            no_udp: false,
            only: "all".into(),
            expect: None,
            pcap: None,
            pcap_device: None,
            pcap_state: "normal".into(),
            intercept_results: None,
            other_unit: None,
            outage_test: false,
            uplink: None,
            outage_secs: 30,
            recovery_secs: 30,
            power_switch: None,
            power_switch_kind: None,
            power_off_secs: 10,
            power_recovery_secs: 120,
            dry_run: false,
        }
    }
}

impl ProbeOpts {
    /// The probe options for `target`, with the credential lists `creds` added and the
    /// statement's IXIT (`ixit`: the IXIT and the file it comes from), if any.
    pub fn options_with(
        &self,
        target: &str,
        creds: &[PathBuf],
        ixit: Option<(&Ixit, &str)>,
    ) -> Result<Options> {
        let mut o = self.options(target, creds)?;
        if let Some((ixit, file)) = ixit {
            o.declared.add_ixit(ixit, file);
        }
        if let Some(p) = &self.pcap {
            let device = match &self.pcap_device {
                Some(d) => d
                    .trim()
                    .parse()
                    .map_err(|_| anyhow::anyhow!("--pcap-device {d}: not an IP address"))?,
                None => o.ip,
            };
            if !p.is_file() {
                bail!("--pcap {}: no such file", p.display());
            }
            let mut c = CaptureOptions::new(p, device);
            c.state = match self.pcap_state.as_str() {
                "normal" => iotassure_device::capture::CaptureState::Normal,
                "failed-boot" => iotassure_device::capture::CaptureState::FailedBoot,
                o => bail!("--pcap-state {o}: expected normal or failed-boot"),
            };
            o.capture = Some(c);
        }
        if let Some(f) = &self.intercept_results {
            let text =
                std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
            let v: InterceptFile = serde_json::from_str(&text).with_context(|| {
                format!(
                    "{} is not an intercept.json written by `iotassure intercept`",
                    f.display()
                )
            })?;
            o.intercept = Some((v.listen, v.records));
        }
        if let Some(r) = &self.other_unit {
            o.other_unit = Some(
                iotassure_device::checks::identity::OtherUnit::from_report(r)
                    .map_err(anyhow::Error::msg)?,
            );
        }
        if self.outage_test {
            let uplink = self
                .uplink
                .clone()
                .ok_or_else(|| anyhow::anyhow!("--outage-test needs --uplink IFACE"))?;
            o.outage = Some(OutageOptions {
                uplink,
                duration: Duration::from_secs(self.outage_secs),
                recovery: Duration::from_secs(self.recovery_secs),
                capture: Some(
                    std::env::temp_dir()
                        .join(format!("iotassure-outage-{}.pcap", std::process::id())),
                ),
            });
            iotassure_device::outage::preflight(o.outage.as_ref().expect("set"))
                .map_err(|e| anyhow::anyhow!("--outage-test: {e}"))?;
        }
        if let Some(url) = &self.power_switch {
            let switch =
                iotassure_device::power::PowerSwitch::parse(url, self.power_switch_kind.as_deref())
                    .map_err(|e| anyhow::anyhow!("--power-switch: {e}"))?;
            o.power = Some(iotassure_device::power::PowerOptions {
                switch,
                off: Duration::from_secs(self.power_off_secs),
                recovery: Duration::from_secs(self.power_recovery_secs),
            });
        }
        Ok(o)
    }

    /// The probe options for `target`, with the credential lists `creds` added.
    pub fn options(&self, target: &str, creds: &[PathBuf]) -> Result<Options> {
        let ip = iotassure_device::resolve(target).map_err(anyhow::Error::msg)?;
        let mut o = Options::new(ip, target.trim_start_matches('[').trim_end_matches(']'));
        o.ports = Ports::parse(&self.ports).map_err(|e| anyhow::anyhow!("--ports: {e}"))?;
        for c in creds {
            if c.is_dir() {
                let mut files: Vec<PathBuf> = std::fs::read_dir(c)
                    .with_context(|| format!("reading {}", c.display()))?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "txt"))
                    .collect();
                files.sort();
                for f in files {
                    o.add_credential_file(&f)
                        .with_context(|| format!("reading credential list {}", f.display()))?;
                }
            } else {
                o.add_credential_file(c)
                    .with_context(|| format!("reading credential list {}", c.display()))?;
            }
        }
        for l in &self.login {
            let c = Credential::parse(l, "--login")
                .with_context(|| format!("--login {l}: expected USER:PASS"))?;
            o.known_logins.push(c);
        }
        if self.rate == 0 || self.auth_rate <= 0.0 || self.concurrency == 0 {
            bail!("--rate, --auth-rate and --concurrency must be above zero");
        }
        o.udp = !self.no_udp;
        if let Some(e) = &self.expect {
            o.declared.add_expected(
                &iotassure_device::options::parse_expected(e)
                    .map_err(|e| anyhow::anyhow!("--expect: {e}"))?,
            );
        }
        o.stage = iotassure_device::Stage::parse(&self.only)
            .map_err(|e| anyhow::anyhow!("--only: {e}"))?;
        o.bruteforce = self.bruteforce_test;
        o.bruteforce_attempts = self.bruteforce_attempts;
        o.fuzz = self.fuzz;
        o.max_attempts = self.max_attempts;
        o.rate = self.rate;
        o.auth_rate = self.auth_rate;
        o.concurrency = self.concurrency;
        o.connect_timeout = Duration::from_millis(self.connect_timeout.max(1));
        o.io_timeout = Duration::from_millis(self.io_timeout.max(1));
        o.max_time = Duration::from_secs(self.probe_time.max(1));
        Ok(o)
    }
}

#[derive(Args, Debug, Clone, Default)]
pub struct LiveArgs {
    /// Probe this live device (an IP address or host name; one host only) and merge its
    /// evidence with the firmware's. See `iotassure probe --help` for what is sent.
    #[arg(long, value_name = "TARGET")]
    pub device: Option<String>,
    /// The maker's published documents to judge (security.txt, disclosure policy, support
    /// period, privacy notice): files, or http(s) URLs. Nothing else is fetched.
    #[arg(long = "doc", value_name = "URL|FILE", num_args = 1..)]
    pub docs: Vec<String>,
    #[command(flatten)]
    pub probe: ProbeOpts,
}

impl LiveArgs {
    /// Checks the local inputs (document files, the capture, intercept results) before any long
    /// work starts, so a typo fails at once instead of after unpacking.
    pub fn check_inputs(&self) -> Result<()> {
        for d in &self.docs {
            if d.starts_with("http://") || d.starts_with("https://") {
                continue;
            }
            std::fs::File::open(d).with_context(|| format!("--doc {d}"))?;
        }
        if let Some(p) = &self.probe.pcap {
            std::fs::File::open(p).with_context(|| format!("--pcap {}", p.display()))?;
        }
        if let Some(p) = &self.probe.intercept_results {
            std::fs::File::open(p).with_context(|| format!("--intercept {}", p.display()))?;
        }
        Ok(())
    }
}

/// `intercept.json` as `iotassure intercept` writes it (the parts read back).
#[derive(serde::Deserialize)]
struct InterceptFile {
    listen: String,
    records: Vec<iotassure_device::intercept::Record>,
}

/// What live evidence gathering produced.
#[derive(Debug, Default)]
pub struct Live {
    pub observations: Observations,
    /// The device target probed, if any.
    pub device: Option<String>,
    /// Documents assessed (files or URLs as given, and documents the device served).
    pub documents: Vec<String>,
    /// Every byte the probe sent and received.
    pub log: Vec<LogEntry>,
    /// The probe's own summary (services, TLS, UDP), for probe.json.
    pub probe: Option<serde_json::Value>,
    /// The capture taken during the outage test (a temporary file, moved into the output).
    pub outage_capture: Option<PathBuf>,
}

/// Runs the device probe (and capture, intercept results, outage test) and the document
/// checks. `ixit` is the statement's IXIT and its file, compared with what the probes see.
pub fn gather(
    args: &LiveArgs,
    creds: &[PathBuf],
    ixit: Option<(&Ixit, &str)>,
    progress: &dyn Progress,
) -> Result<Live> {
    let mut live = Live::default();
    let passive_target = args.device.is_none()
        && (args.probe.pcap.is_some() || args.probe.intercept_results.is_some());
    if passive_target && args.probe.pcap.is_some() && args.probe.pcap_device.is_none() {
        bail!(
            "--pcap without --device needs --pcap-device IP (the device's address in the capture)"
        );
    }
    let target = args.device.clone().or_else(|| {
        passive_target.then(|| {
            args.probe
                .pcap_device
                .clone()
                .unwrap_or_else(|| "0.0.0.0".into())
        })
    });
    if let Some(t) = &target {
        let mut opts = args.probe.options_with(t, creds, ixit)?;
        if args.device.is_none() {
            // No device to probe: judge the capture and intercept results alone.
            opts.stage = iotassure_device::Stage::None;
        }
        let outcome =
            iotassure_device::probe(&opts, progress).with_context(|| format!("probing {t}"))?;
        live.device = Some(t.clone());
        live.outage_capture = opts.outage.as_ref().and_then(|o| o.capture.clone());
        absorb(&mut live, outcome);
    }
    if !args.docs.is_empty() {
        progress.stage("reading documents");
        let sources: Vec<DocSource> = args.docs.iter().map(|d| DocSource::parse(d)).collect();
        let obs = iotassure_documents::assess(&sources, &DocOptions::default(), progress)?;
        live.observations.extend(obs);
        live.documents.extend(args.docs.iter().cloned());
    }
    Ok(live)
}

/// Moves a probe outcome into `live`: its observations, the device's own documents (judged by
/// the document checks), the log and the summary.
pub fn absorb(live: &mut Live, outcome: ProbeOutcome) {
    live.observations.extend(outcome.observations);
    if !outcome.documents.is_empty() {
        live.observations
            .extend(iotassure_documents::assess_texts(&outcome.documents));
        live.documents
            .extend(outcome.documents.iter().map(|(n, _)| n.clone()));
    }
    live.probe = Some(serde_json::json!({
        "target": live.device.clone(),
        "elapsed_s": outcome.elapsed.as_secs_f64(),
        "scan": {
            "ports_scanned": outcome.scan.ports_total,
            "open": outcome.scan.open,
            "closed": outcome.scan.closed,
            "filtered": outcome.scan.filtered,
            "self_connections_dropped": outcome.scan.self_connects,
            "not_scanned": outcome.scan.not_scanned.len(),
            "elapsed_s": outcome.scan.elapsed.as_secs_f64(),
        },
        "udp": outcome.udp,
        "services": outcome.services,
        "tls": outcome.tls,
        "capture": outcome.capture,
        "outage": outcome.outage,
        "power": outcome.power,
    }));
    live.log = outcome.log;
}

/// Writes `probe-log.jsonl` (every byte sent and received) and `probe.json` into `dir`.
pub fn write_artifacts(live: &Live, dir: &Path) -> Result<()> {
    if live.device.is_none() {
        return Ok(());
    }
    let mut f = std::io::BufWriter::new(std::fs::File::create(dir.join("probe-log.jsonl"))?);
    for e in &live.log {
        serde_json::to_writer(&mut f, e)?;
        f.write_all(b"\n")?;
    }
    f.flush()?;
    if let Some(p) = &live.probe {
        std::fs::write(dir.join("probe.json"), serde_json::to_string_pretty(p)?)?;
    }
    if let Some(c) = live.outage_capture.as_ref().filter(|c| c.is_file()) {
        std::fs::copy(c, dir.join("outage.pcap"))
            .with_context(|| format!("copying {} into the output", c.display()))?;
        let _ = std::fs::remove_file(c);
    }
    Ok(())
}

/// `--dry-run`: prints what would be sent, sends nothing. `ics` is the statement whose IXIT
/// the probes would compare with.
pub fn dry_run(args: &LiveArgs, creds: &[PathBuf], ics: Option<&Path>) -> Result<u8> {
    let st = ics.map(super::ics::load).transpose()?;
    let ixit = st.as_ref().map(|s| (&s.statement.ixit, s.file.as_str()));
    if let Some(t) = &args.device {
        print_plan(&args.probe.options_with(t, creds, ixit)?);
    } else if let Some(d) = &args.probe.pcap_device {
        let mut o = args.probe.options_with(d, creds, ixit)?;
        o.stage = iotassure_device::Stage::None;
        print_plan(&o);
    }
    for d in &args.docs {
        match DocSource::parse(d) {
            DocSource::File(p) => println!("documents  read {}", p.display()),
            DocSource::Url(u) => {
                println!("documents  GET {u} (only this URL; redirects within it)")
            }
        }
    }
    if args.device.is_none() && args.docs.is_empty() && args.probe.pcap_device.is_none() {
        println!("nothing live to do: give --device TARGET, --pcap FILE --pcap-device IP and/or --doc URL|FILE");
    }
    Ok(crate::EXIT_PASS)
}

pub fn print_plan(o: &Options) {
    let plan = iotassure_device::plan(o);
    println!(
        "# iotassure dry run: {} probe(s) for {} ({}); nothing was sent",
        plan.len(),
        o.host,
        o.ip
    );
    for (i, p) in plan.iter().enumerate() {
        println!(
            "{:>3}. [{}] ({}) to {}, {}:\n     {}",
            i + 1,
            p.probe,
            p.provisions.join(","),
            p.target,
            p.when,
            p.sends
        );
    }
}
