//! `iotassure emulate IMAGE --out DIR` (and the `--emulate` options of `assess`): the image's
//! boot services under QEMU user mode in a sealed sandbox, probed over its loopback.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args as ClapArgs;
use iotassure_core::finding::Observations;
use iotassure_core::tree::Tree;

use super::LimitArgs;
use crate::output::Staged;
use crate::progress::Stderr;

/// The sandbox's bounds, shared by `emulate` and `assess --emulate`.
#[derive(ClapArgs, Debug, Clone)]
pub struct EmulateArgs {
    /// Wall-clock cap for the whole emulation (services and probes), in seconds.
    #[arg(long = "emulate-time", default_value_t = 60, value_name = "SECS")]
    pub wall: u64,
    /// How long to wait for the services' ports to open, in seconds.
    #[arg(long = "emulate-settle", default_value_t = 20, value_name = "SECS")]
    pub settle: u64,
    /// Data-segment limit per emulated process, in MiB.
    #[arg(long = "emulate-memory", default_value_t = 256, value_name = "MIB")]
    pub memory_mib: u64,
    /// Most processes in the sandbox at once.
    #[arg(long = "emulate-nproc", default_value_t = 96, value_name = "N")]
    pub nproc: u64,
}

impl EmulateArgs {
    pub fn options(&self, creds: &[PathBuf]) -> Result<iotassure_emulate::Options> {
        let mut o = iotassure_emulate::Options::default();
        o.limits.wall = Duration::from_secs(self.wall.clamp(5, 3600));
        o.limits.memory = self.memory_mib.clamp(16, 4096) << 20;
        o.limits.nproc = self.nproc.clamp(8, 4096);
        o.limits.cpu_secs = self.wall.clamp(5, 3600);
        o.settle = Duration::from_secs(self.settle.min(self.wall));
        for c in creds {
            let list = iotassure_device::creds::read_file(c)
                .with_context(|| format!("reading credential list {}", c.display()))?;
            o.credentials.extend(list);
        }
        Ok(o)
    }
}

#[derive(ClapArgs, Debug)]
#[command(
    after_help = "Runs firmware code, so it is opt-in and sealed: an unprivileged user, fresh user/mount/network/pid namespaces with only a loopback interface (no route out), a private binfmt_misc for QEMU (the host's is never touched), rlimits on memory, processes and CPU, a wall-clock cap; every process is killed and the copy of the root filesystem removed at the end. Needs root (to set up the namespaces), Linux >= 6.7, qemu-user-static and util-linux.\n\nWrites OUT/emulation.json (what was started, how, what came up and why not, timings) and OUT/findings.json (the probes' findings, source `emulation`). `iotassure assess IMAGE --emulate` merges them into the full report.\n\nExamples:\n  iotassure emulate firmware.bin --out emu/\n  iotassure emulate firmware.bin --creds extra.txt --emulate-time 120 --out emu/"
)]
pub struct Args {
    pub image: PathBuf,
    #[arg(long, short)]
    pub out: PathBuf,
    #[arg(long)]
    pub force: bool,
    /// Extra credential lists for the default-credential probe.
    #[arg(long)]
    pub creds: Vec<PathBuf>,
    /// Start the services but send no probe.
    #[arg(long)]
    pub no_probe: bool,
    #[command(flatten)]
    pub emulate: EmulateArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Runs the emulation in `work` and returns it (its observations carry source `emulation`).
pub fn emulate(
    tree: &Tree,
    fw: &Observations,
    work: &Path,
    opts: &iotassure_emulate::Options,
    progress: &Stderr,
) -> iotassure_emulate::Emulation {
    let em = iotassure_emulate::run(tree, fw, work, opts, progress);
    for s in &em.services {
        progress.line(&crate::output::console_safe(&format!(
            "emulation: {} {}",
            s.program,
            if s.up {
                format!(
                    "up on {}/{}",
                    s.port.unwrap_or(0),
                    if s.udp { "udp" } else { "tcp" }
                )
            } else {
                format!("not up: {}", s.why.clone().unwrap_or_default())
            }
        )));
    }
    if let Some(u) = &em.update_check {
        progress.line(&crate::output::console_safe(&format!(
            "emulation: update check ({}) on a modified image: {}",
            u.method, u.outcome
        )));
    }
    em
}

pub fn write(em: &iotassure_emulate::Emulation, dir: &Path) -> Result<()> {
    std::fs::write(
        dir.join("emulation.json"),
        serde_json::to_string_pretty(em)?,
    )?;
    if let Some(p) = &em.probe {
        let mut log = String::new();
        for l in &p.log {
            log.push_str(&serde_json::to_string(l)?);
            log.push('\n');
        }
        std::fs::write(dir.join("emulation-probe-log.jsonl"), log)?;
    }
    Ok(())
}

pub fn run(args: Args, progress: &Stderr) -> Result<u8> {
    if !args.image.is_file() {
        bail!("{}: no such file", args.image.display());
    }
    let opts = args.emulate.options(&args.creds)?;
    let staged = Staged::new(&args.out, args.force, "emulate", &[args.image.as_path()])?;
    let scratch = tempfile::Builder::new()
        .prefix(".iotassure-extract-")
        .tempdir_in(&staged.dir)?;
    let uopts = iotassure_unpack::Options {
        limits: args.limits.limits(),
    };
    let unpacked = iotassure_unpack::unpack(&args.image, scratch.path(), &uopts, progress)?;
    let fw = iotassure_inspect::inspect(
        &unpacked.tree,
        &iotassure_inspect::Options::default(),
        progress,
    );
    let mut opts = opts;
    opts.probe = !args.no_probe;
    opts.update_image = Some(args.image.clone());
    let em = emulate(&unpacked.tree, &fw, scratch.path(), &opts, progress);
    write(&em, &staged.dir)?;
    std::fs::write(
        staged.dir.join("findings.json"),
        serde_json::to_string_pretty(&em.observations.findings)?,
    )?;
    drop(scratch);
    staged.commit()?;
    println!(
        "{}: {} of {} service(s) up ({}), {} finding(s), {:.1} s{}",
        crate::output::console_safe(&args.image.display().to_string()),
        em.up().len(),
        em.services.len(),
        em.arch.map(|a| a.name()).unwrap_or("no CPU found"),
        em.observations.findings.len(),
        em.total_seconds,
        em.error
            .as_deref()
            .map(|e| format!(" — {e}"))
            .unwrap_or_default()
    );
    for f in &em.observations.findings {
        println!(
            "  {:<13} {}",
            format!("{:?}", f.outcome).to_uppercase(),
            crate::output::console_safe(&f.title)
        );
    }
    Ok(if em.up().is_empty() { 1 } else { 0 })
}
