//! `iotassure probe`: live-device evidence alone, judged into verdicts and reports.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Result};
use clap::Args as ClapArgs;
use iotassure_assess::rollup::ProfileOutcome;
use iotassure_assess::Evidence;
use iotassure_core::catalog::catalog;
use iotassure_core::finding::Outcome;
use iotassure_core::progress::Progress;

use super::live::{self, Live, ProbeOpts};
use crate::output::Staged;
use crate::progress::Stderr;

#[derive(ClapArgs, Debug)]
#[command(
    after_help = "What is sent: a TCP connect scan (all ports by default), unicast UDP probes of SSDP/mDNS/TFTP/SNMP/CoAP, service identification (banners, HTTP GET /, TLS and MQTT hellos, RTSP OPTIONS), raw TLS ClientHellos, default-credential logins (bounded, paced), GETs of a table of IoT web endpoints and /.well-known/security.txt, anonymous MQTT subscribe, SNMP `private`, and a read-only UPnP action. --bruteforce-test and --fuzz add their probes. --dry-run prints every probe with its payload and sends nothing. Only TARGET is ever contacted.

Writes OUT/report.{json,md,html} (device verdicts), OUT/probe.json (services, TLS, UDP) and OUT/probe-log.jsonl (every byte sent and received).

Exit status: 0 = the profile passes; 1 = it fails or is incomplete; 2 = error.

With --ics, the statement's IXIT decides what is undeclared (ports, services, authentication) and its test accounts log in (5.5-4). --pcap judges a capture of the device's own traffic (--only none: the capture alone, nothing sent). --intercept merges the results of `iotassure intercept`. --outage-test (on the device's gateway) cuts --uplink for --outage seconds and checks local function and recovery. --power-switch (a Tasmota or Shelly Gen1 switch feeding the device) cuts its power for --power-off seconds and checks that its services come back, with the same SSH host key or banner, within --power-recovery seconds.

Examples:
  iotassure probe 192.168.1.20 --out probe/
  iotassure probe cam.local --ports 22,80,443,554 --creds ../shared/corpus/credentials --out probe/
  iotassure probe 10.0.0.5 --bruteforce-test --login admin:s3cret --fuzz --out probe/
  iotassure probe 10.0.0.5 --ics statement.yaml --pcap device.pcapng --out probe/
  iotassure probe 10.0.0.5 --only none --pcap device.pcap --ics statement.yaml --out traffic/
  ip netns exec gw iotassure probe 10.0.0.5 --ics statement.yaml --outage-test --uplink wan0 --outage 60 --out outage/
  iotassure probe 10.0.0.5 --power-switch tasmota://10.0.0.9 --power-off 30 --out power/
  iotassure probe 10.0.0.5 --dry-run"
)]
pub struct Args {
    /// The device to probe: an IP address or host name (one host).
    pub target: String,
    /// Output folder (absent or empty, or an earlier iotassure output with --force). Not needed
    /// with --dry-run.
    #[arg(long, short, required_unless_present = "dry_run")]
    pub out: Option<PathBuf>,
    /// Extra credential lists (`user:pass` per line, or one password per line), or a folder of
    /// `.txt` lists. The built-in list of IoT defaults comes first. Repeatable.
    #[arg(long, value_name = "FILE")]
    pub creds: Vec<PathBuf>,
    /// The maker's conformance statement: its `ixit` (interfaces with their authentication,
    /// connections, basic functions, test accounts) is what the probes compare with.
    #[arg(long, value_name = "FILE")]
    pub ics: Option<PathBuf>,
    /// Profile that decides the exit status.
    #[arg(long, default_value = "en303645-m")]
    pub profile: String,
    /// Replace a non-empty --out folder, but only one iotassure wrote (it holds the
    /// .iotassure-output marker with a known format version). Never replaced, even with
    /// --force: /, the home folder (or a folder holding it), the current folder or an ancestor
    /// of it, a mount point, a symlink, anything that is not a folder, a folder holding an input.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub probe: ProbeOpts,
    #[command(flatten)]
    pub advisories: super::advisories::AdvisoryArgs,
}

pub fn run(args: Args, progress: &Stderr) -> Result<u8> {
    let started = Instant::now();
    if catalog().profile(&args.profile).is_none() {
        bail!(
            "unknown profile `{}`; see `iotassure catalog profiles`",
            args.profile
        );
    }
    let st = args.ics.as_deref().map(super::ics::load).transpose()?;
    let ixit = st.as_ref().map(|s| (&s.statement.ixit, s.file.as_str()));
    let opts = args.probe.options_with(&args.target, &args.creds, ixit)?;
    if args.probe.dry_run {
        live::print_plan(&opts);
        return Ok(crate::EXIT_PASS);
    }
    let out = args
        .out
        .as_ref()
        .expect("clap requires --out without --dry-run");
    let advisories = args.advisories.load(progress)?;
    // The local inputs: a folder holding one is never replaced.
    let p = &args.probe;
    let inputs: Vec<&std::path::Path> = [
        args.ics.as_deref(),
        p.pcap.as_deref(),
        p.intercept_results.as_deref(),
        p.other_unit.as_deref(),
    ]
    .into_iter()
    .flatten()
    .chain(args.creds.iter().map(PathBuf::as_path))
    .chain(args.advisories.paths.iter().map(PathBuf::as_path))
    .collect();
    let staged = Staged::new(out, args.force, "probe", &inputs)?;
    let outcome = iotassure_device::probe(&opts, progress)?;
    let mut live = Live {
        device: Some(args.target.clone()),
        outage_capture: opts.outage.as_ref().and_then(|o| o.capture.clone()),
        ..Default::default()
    };
    let services: Vec<String> = outcome
        .services
        .iter()
        .map(|s| format!("{} {}", s.label(), s.banner.clone().unwrap_or_default()))
        .collect();
    let scan_line = format!(
        "{} port(s) scanned in {:.2} s: {} open",
        outcome.scan.ports_total,
        outcome.scan.elapsed.as_secs_f64(),
        outcome.scan.open.len()
    );
    live::absorb(&mut live, outcome);
    let dev = iotassure_core::finding::Source::Device;
    super::advisories::judge(&advisories, &mut live.observations, dev);
    live::write_artifacts(&live, &staged.dir)?;
    let fails: Vec<String> = live
        .observations
        .findings
        .iter()
        .filter(|f| f.outcome == Outcome::Fail)
        .map(|f| format!("  FAIL {:<24} {}", f.check, f.title))
        .collect();
    progress.stage("judging");
    let report = iotassure_assess::assemble(
        Evidence {
            observations: live.observations,
            statement: None,
            firmware: None,
            device: live.device.clone(),
            documents: live.documents.clone(),
        },
        &args.profile,
        env!("CARGO_PKG_VERSION"),
    );
    let dir = &staged.dir;
    std::fs::write(
        dir.join("report.json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    std::fs::write(dir.join("report.md"), iotassure_report::markdown(&report))?;
    std::fs::write(dir.join("report.html"), iotassure_report::html(&report))?;
    let out = staged.commit()?;
    let sel = report.selected().expect("profile exists");
    println!("{}: {scan_line}", args.target);
    for s in &services {
        println!("  {s}");
    }
    for f in &fails {
        println!("{f}");
    }
    println!(
        "{} ({:.1} s)",
        super::assess::summary_line(&report),
        started.elapsed().as_secs_f64()
    );
    println!(
        "reports: {}/report.{{json,md,html}}, probe log: {}/probe-log.jsonl",
        out.display(),
        out.display()
    );
    Ok(match sel.outcome {
        ProfileOutcome::Pass => crate::EXIT_PASS,
        _ => crate::EXIT_NOT_PASSED,
    })
}
