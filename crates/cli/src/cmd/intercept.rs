//! `iotassure intercept`: the device as a TLS client. A TLS server the lab steers the device's
//! connections to presents certificates the device must refuse, and records whether it did.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args as ClapArgs;
use iotassure_assess::Evidence;
use iotassure_core::finding::{Observations, Source};
use iotassure_core::progress::Progress;
use iotassure_device::intercept::{self, InterceptOptions, Variant};

use crate::output::Staged;
use crate::progress::Stderr;

#[derive(ClapArgs, Debug)]
#[command(
    after_help = "Steering the device to it (the lab's job; nothing here touches the network):
  DNS override: make the lab resolver answer the device's server name with this host's address
    (dnsmasq: --address=/update.example.com/10.0.0.1), and listen on the port the device uses.
  DNAT on the lab gateway: nft add rule ip nat prerouting ip saddr DEVICE tcp dport 443 dnat to 10.0.0.1:8443
    (or iptables -t nat -A PREROUTING -s DEVICE -p tcp --dport 443 -j DNAT --to 10.0.0.1:8443).
Then make the device connect (reboot it, trigger an update check, use its app) while this runs.

Each connection gets the next variant in turn: self-signed (right name), wrong-host (signed by the throwaway CA),
expired (right name, signed by the CA); add `valid` as a control when the device trusts the CA. The CA is written
to --ca DIR (ca.pem, ca.key) before listening and reused when present: install ca.pem in a test device's trust
store to make wrong-host and expired test exactly the host-name and validity checks.

Writes OUT/intercept.json (every connection), OUT/report.{json,md,html}. Merge into an assessment with
`iotassure assess … --intercept OUT/intercept.json` or `iotassure probe … --intercept OUT/intercept.json`.

Exit status: 0 = every connection refused the untrusted certificates; 1 = one was accepted, or nothing decided; 2 = error.

Examples:
  iotassure intercept --listen 10.0.0.1:8443 --out mitm/ --duration 300
  iotassure intercept --listen 0.0.0.0:443 --ics statement.yaml --variants self-signed,wrong-host,expired,valid --ca lab-ca/ --out mitm/"
)]
pub struct Args {
    /// Address and port to serve TLS on (where the lab steers the device).
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: SocketAddr,
    /// Output folder (absent or empty, or an earlier iotassure output with --force).
    #[arg(long, short)]
    pub out: PathBuf,
    /// How long to accept connections, in seconds (≤ 3600).
    #[arg(long, default_value_t = 120, value_name = "SECS")]
    pub duration: u64,
    /// Most connections to accept (≤ 1000).
    #[arg(long, default_value_t = 60, value_name = "N")]
    pub max_connections: usize,
    /// Certificate variants presented in turn.
    #[arg(
        long,
        default_value = "self-signed,wrong-host,expired",
        value_name = "LIST"
    )]
    pub variants: String,
    /// Folder of the throwaway CA (ca.pem, ca.key): created if absent, reused if present.
    /// Default: OUT/ca (kept with the results, and carried over when --force replaces OUT).
    #[arg(long, value_name = "DIR")]
    pub ca: Option<PathBuf>,
    /// The name certificates carry when the device sends no SNI.
    #[arg(long, default_value = "device-server.invalid", value_name = "HOST")]
    pub name: String,
    /// Time allowed for a handshake and the first application data, in milliseconds.
    #[arg(long, default_value_t = 5000, value_name = "MS")]
    pub io_timeout: u64,
    /// The maker's statement: its IXIT connections name each connection's purpose (update
    /// connections accepting an untrusted server also fail 5.3-2).
    #[arg(long, value_name = "FILE")]
    pub ics: Option<PathBuf>,
    /// Replace a non-empty --out folder, but only one iotassure wrote (it holds the
    /// .iotassure-output marker with a known format version). Never replaced, even with
    /// --force: /, the home folder (or a folder holding it), the current folder or an ancestor
    /// of it, a mount point, a symlink, anything that is not a folder, a folder holding an input (--ics, --ca).
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: Args, progress: &Stderr) -> Result<u8> {
    let variants = args
        .variants
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(Variant::parse)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("--variants: {e}"))?;
    if args.duration == 0 || args.duration > intercept::MAX_DURATION.as_secs() {
        bail!(
            "--duration must be 1 to {} s",
            intercept::MAX_DURATION.as_secs()
        );
    }
    let st = args.ics.as_deref().map(super::ics::load).transpose()?;
    let inputs: Vec<&std::path::Path> = [args.ics.as_deref(), args.ca.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    let staged = Staged::new(&args.out, args.force, "intercept", &inputs)?;
    let ca_dir = match &args.ca {
        Some(ca) => ca.clone(),
        None => {
            let ca = staged.dir.join("ca");
            carry_over_ca(&args.out.join("ca"), &ca)?;
            ca
        }
    };
    let o = InterceptOptions {
        listen: args.listen,
        duration: Duration::from_secs(args.duration),
        max_connections: args.max_connections,
        variants,
        default_name: args.name.clone(),
        ca_dir,
        io_timeout: Duration::from_millis(args.io_timeout.max(100)),
        connections: st
            .as_ref()
            .map(|s| s.statement.ixit.connections.clone())
            .unwrap_or_default(),
        source: st.as_ref().map(|s| s.file.clone()).unwrap_or_default(),
    };
    let (records, _ca_pem) = intercept::run(&o, progress).map_err(anyhow::Error::msg)?;
    let listen = args.listen.to_string();
    let mut out = iotassure_device::checks::Out::default();
    intercept::findings(&listen, &records, &mut out, false);
    let mut obs = Observations::default();
    obs.ran(
        intercept::CHECK,
        Source::Device,
        &["5.5-1", "5.3-2", "5.8-1"],
        records.len() as u64,
    );
    obs.findings.extend(out.findings);
    let accepted = records
        .iter()
        .filter(|r| r.accepted() && r.variant != Variant::Valid)
        .count();
    let refused = records
        .iter()
        .filter(|r| r.variant != Variant::Valid && r.refused())
        .count();
    std::fs::write(
        staged.dir.join("intercept.json"),
        serde_json::to_string_pretty(&serde_json::json!({
            "listen": listen,
            "variants": o.variants,
            "ca": o.ca_dir,
            "records": records,
            "observations": obs,
        }))?,
    )
    .context("writing intercept.json")?;
    progress.stage("judging");
    let report = iotassure_assess::assemble(
        Evidence {
            observations: obs,
            statement: st.as_ref(),
            firmware: None,
            device: Some(listen.clone()),
            documents: Vec::new(),
        },
        "en303645-m",
        env!("CARGO_PKG_VERSION"),
    );
    let dir = &staged.dir;
    std::fs::write(
        dir.join("report.json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    std::fs::write(dir.join("report.md"), iotassure_report::markdown(&report))?;
    std::fs::write(dir.join("report.html"), iotassure_report::html(&report))?;
    let outdir = staged.commit()?;
    println!(
        "{listen}: {} connection(s): {accepted} accepted an untrusted certificate, {refused} refused, {} other",
        records.len(),
        records.len() - accepted - refused - records.iter().filter(|r| r.variant == Variant::Valid).count()
    );
    for r in &records {
        println!(
            "  #{:<3} {:<22} {:<11} {:<12} {}{}",
            r.n,
            r.peer,
            r.variant.name(),
            r.outcome,
            r.sni
                .as_deref()
                .map(|s| format!("SNI={s} "))
                .unwrap_or_default(),
            r.detail
        );
    }
    println!(
        "results: {}/intercept.json, reports: {}/report.{{json,md,html}}",
        outdir.display(),
        outdir.display()
    );
    let failed = report
        .verdicts
        .iter()
        .any(|v| v.id == "5.5-1" && v.verdict == iotassure_assess::Verdict::Fail);
    Ok(if failed || refused == 0 {
        crate::EXIT_NOT_PASSED
    } else {
        crate::EXIT_PASS
    })
}

/// The default CA lives in OUT/ca and is "reused when present": when --force replaces an earlier
/// output, its CA (which a lab may have installed in a device's trust store) moves into the new
/// one instead of being thrown away with it. Only regular files are copied, never through a
/// symlink.
fn carry_over_ca(old: &std::path::Path, new: &std::path::Path) -> Result<()> {
    let files = ["ca.pem", "ca.key"];
    let present = files.iter().all(|f| {
        std::fs::symlink_metadata(old.join(f)).is_ok_and(|m| m.file_type().is_file())
            && std::fs::symlink_metadata(old).is_ok_and(|m| m.is_dir())
    });
    if !present {
        return Ok(());
    }
    std::fs::create_dir_all(new).with_context(|| format!("creating {}", new.display()))?;
    for f in files {
        std::fs::copy(old.join(f), new.join(f))
            .with_context(|| format!("keeping the CA {}", old.join(f).display()))?;
    }
    Ok(())
}
