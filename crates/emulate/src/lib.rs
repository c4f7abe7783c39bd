//! `iotassure emulate`: the firmware's own network services, started under QEMU user mode in a
//! sealed sandbox (see [`sandbox`]), then probed by the device checks over the sandbox's
//! loopback. Findings carry [`Source::Emulation`]: live evidence, but from an emulated device.
//!
//! The run: pick the root filesystem and its CPU (ELF headers) → a private copy under the
//! output folder → the boot services the inspection found, with their command lines from the
//! image ([`launch`]) → the sandbox starts them and waits a bounded time for their ports →
//! the device probes → every process killed, the namespaces and the copy removed.

pub mod arch;
pub mod creds;
pub mod firstboot;
pub mod launch;
pub mod rootcopy;
pub mod sandbox;
pub mod standin;
pub mod update_probe;

use std::path::Path;
use std::time::{Duration, Instant};

use iotassure_core::finding::{Finding, Observations, Outcome, Severity, Source};
use iotassure_core::progress::Progress;
use iotassure_core::tree::{RootfsView, Tree};
use iotassure_device::{Credential, ProbeOutcome};
use serde::Serialize;

pub use arch::Arch;
pub use sandbox::{Job, Limits, Sandbox};

pub const CHECK: &str = "5.6-1-emu-services";

#[derive(Debug, Clone)]
pub struct Options {
    pub limits: Limits,
    /// How long to wait for the services' ports to open.
    pub settle: Duration,
    /// Run the device probes on what came up.
    pub probe: bool,
    /// Extra credentials for the default-credential probe (tried after the built-in list).
    pub credentials: Vec<Credential>,
    /// The image file itself: when given, its own update check is also put to a modified copy
    /// of it ([`update_probe`], 5.7-1).
    pub update_image: Option<std::path::PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            limits: Limits::default(),
            settle: Duration::from_secs(20),
            probe: true,
            credentials: Vec::new(),
            update_image: None,
        }
    }
}

/// What became of one service.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceResult {
    pub program: String,
    pub argv: Vec<String>,
    pub how: String,
    pub port: Option<u16>,
    pub udp: bool,
    pub up: bool,
    /// Seconds from the sandbox's start until its port opened.
    pub up_after: Option<f64>,
    /// Why it did not come up (exit status, last output, a likely cause).
    pub why: Option<String>,
    /// What the stand-in answered for it in place of the device (missing NVRAM keys, ...).
    pub stand_in: Option<standin::ProgramEvents>,
}

#[derive(Debug, Serialize)]
pub struct Emulation {
    pub arch: Option<Arch>,
    /// The root filesystem run (its provenance).
    pub rootfs: String,
    pub services: Vec<ServiceResult>,
    /// Boot services not started, and why.
    pub skipped: Vec<String>,
    /// First-boot files written from the image's NVRAM defaults (path: why).
    pub seeded: Vec<String>,
    /// The NVRAM and hardware stand-in preloaded into the firmware's programs.
    pub stand_in: standin::StandInReport,
    /// Ports open in the sandbox after settling.
    pub tcp_open: Vec<u16>,
    pub udp_bound: Vec<u16>,
    pub limits: Limits,
    pub copy_seconds: f64,
    pub settle_seconds: f64,
    pub probe_seconds: f64,
    pub total_seconds: f64,
    pub copy_removed: bool,
    /// Why nothing could run, when nothing could.
    pub error: Option<String>,
    /// The update check put to a modified image, when it was asked for.
    pub update_check: Option<update_probe::UpdateCheck>,
    #[serde(skip)]
    pub probe: Option<ProbeOutcome>,
    #[serde(skip)]
    pub observations: Observations,
}

impl Emulation {
    pub fn up(&self) -> Vec<&ServiceResult> {
        self.services.iter().filter(|s| s.up).collect()
    }
}

/// The root filesystem to run: the one with the most ELF programs under the usual dirs.
fn pick_root<'a>(tree: &'a Tree) -> Option<RootfsView<'a>> {
    tree.rootfs_views().into_iter().max_by_key(|v| {
        v.files()
            .iter()
            .filter(|(p, _)| {
                ["/bin/", "/sbin/", "/usr/bin/", "/usr/sbin/"]
                    .iter()
                    .any(|d| p.starts_with(d))
            })
            .count()
    })
}

/// A likely cause, from a service's last output.
fn cause(output: &str) -> Option<&'static str> {
    let o = output.to_ascii_lowercase();
    if o.contains("nvram") {
        Some("missing NVRAM (the device's configuration store; see stand_in for the keys it read)")
    } else if o.contains("/dev/") && (o.contains("no such") || o.contains("can't open")) {
        Some("a missing device node")
    } else if o.contains("exec format error") {
        Some("the emulator could not run the program")
    } else if o.contains("address already in use") {
        Some("another service holds the port")
    } else if o.contains("unsupported syscall") || o.contains("illegal instruction") {
        Some("an instruction or system call QEMU user mode does not emulate")
    } else {
        None
    }
}

/// Runs the boot services of the image in `tree` and probes them. `fw` is the firmware
/// inspection's observations (its service list says what starts at boot). The copy and the
/// sandbox's state live in a fresh folder under `work`, removed at the end.
pub fn run(
    tree: &Tree,
    fw: &Observations,
    work: &Path,
    opts: &Options,
    progress: &dyn Progress,
) -> Emulation {
    let started = Instant::now();
    let mut e = Emulation {
        arch: None,
        rootfs: String::new(),
        services: Vec::new(),
        skipped: Vec::new(),
        seeded: Vec::new(),
        stand_in: standin::StandInReport::default(),
        tcp_open: Vec::new(),
        udp_bound: Vec::new(),
        limits: opts.limits,
        copy_seconds: 0.0,
        settle_seconds: 0.0,
        probe_seconds: 0.0,
        total_seconds: 0.0,
        copy_removed: false,
        error: None,
        update_check: None,
        probe: None,
        observations: Observations::default(),
    };
    let dir = work.join(format!(
        ".iotassure-emulate-{}-{}",
        std::process::id(),
        started.elapsed().as_nanos()
            ^ (std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0))
    ));
    let result = run_in(tree, fw, &dir, opts, progress, &mut e, started);
    if let Err(msg) = result {
        e.error = Some(msg);
    }
    e.copy_removed = std::fs::remove_dir_all(&dir).is_ok() || !dir.exists();
    e.total_seconds = started.elapsed().as_secs_f64();
    findings(&mut e);
    if let (Some(img), Some(view)) = (&opts.update_image, pick_root(tree)) {
        let (u, obs) = update_probe::run(img, &view, work, opts.limits, progress);
        e.update_check = Some(u);
        e.observations.extend(obs);
    }
    e
}

fn run_in(
    tree: &Tree,
    fw: &Observations,
    dir: &Path,
    opts: &Options,
    progress: &dyn Progress,
    e: &mut Emulation,
    started: Instant,
) -> Result<(), String> {
    let view = pick_root(tree).ok_or("no root filesystem in the image: nothing to run")?;
    e.rootfs = view.rootfs.provenance.clone();
    std::fs::create_dir(dir).map_err(|x| format!("creating {}: {x}", dir.display()))?;
    let root = dir.join("root");
    progress.stage("emulation: copying the root filesystem");
    let copied = rootcopy::materialise(&view, &root, rootcopy::CopyLimits::default())
        .map_err(|x| format!("copying the root filesystem to {}: {x}", root.display()))?;
    e.copy_seconds = started.elapsed().as_secs_f64();
    let arch = copied
        .arch
        .ok_or("no ELF program for a supported CPU (MIPS, ARM, AArch64, x86, x86-64) in the root filesystem")?;
    e.arch = Some(arch);

    let services = launch::boot_services(fw);
    let (launches, skipped) = launch::plan(&view, &services);
    e.skipped = skipped;
    if launches.is_empty() {
        return Err(format!(
            "no network service the boot graph starts could be planned ({} boot services listed)",
            services.len()
        ));
    }
    progress.stage(&format!(
        "emulation: starting {} service(s) under {} in the sandbox",
        launches.len(),
        if arch.is_native() {
            "no emulator (native CPU)"
        } else {
            arch.qemu()
        }
    ));
    let jobs: Vec<Job> = launches.iter().filter_map(|l| l.job.clone()).collect();
    // Job index of each launch; services the boot starts take the boot job's state.
    let boot_job = launches
        .iter()
        .filter(|l| l.job.is_some())
        .position(|l| l.program == "boot");
    let mut next = 0;
    let job_of: Vec<Option<usize>> = launches
        .iter()
        .map(|l| {
            if l.job.is_some() {
                next += 1;
                Some(next - 1)
            } else {
                boot_job
            }
        })
        .collect();
    let seeds = firstboot::seeds(&view);
    e.seeded = seeds
        .iter()
        .map(|s| format!("{}: {}", s.path, s.why))
        .collect();
    let state = dir.join("state");
    let stand_in = standin::prepare(&view, arch, &state, &mut e.stand_in);
    if let Some(note) = &e.stand_in.note {
        e.skipped.push(note.clone());
    }
    let mut sb = Sandbox::start_with(&root, &state, arch, jobs, &seeds, opts.limits, stand_in)
        .map_err(|x| x.to_string())?;
    let settle_start = Instant::now();
    let mut up_at: Vec<Option<f64>> = vec![None; launches.len()];
    loop {
        let (tcp, udp) = sb.listening();
        for (i, l) in launches.iter().enumerate() {
            let open = l.port.is_some_and(|p| {
                if l.udp {
                    udp.contains(&p)
                } else {
                    tcp.contains(&p)
                }
            });
            if open && up_at[i].is_none() {
                up_at[i] = Some(sb.started.elapsed().as_secs_f64());
            }
        }
        let decided = launches.iter().enumerate().all(|(i, _)| {
            up_at[i].is_some() || job_of[i].is_some_and(|j| sb.job(j).exit.is_some_and(|c| c != 0))
        });
        if decided
            || settle_start.elapsed() >= opts.settle
            || sb.remaining() < Duration::from_secs(5)
        {
            e.tcp_open = tcp;
            e.udp_bound = udp;
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    e.settle_seconds = settle_start.elapsed().as_secs_f64();
    for (i, l) in launches.iter().enumerate() {
        if l.port.is_none() {
            continue;
        }
        let st = match job_of[i] {
            Some(j) => sb.job(j),
            None => sandbox::JobState {
                name: l.program.clone(),
                exit: None,
                output: String::new(),
            },
        };
        let up = up_at[i].is_some();
        let why = (!up).then(|| {
            let last: Vec<&str> = st
                .output
                .lines()
                .rev()
                .take(6)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            let last = last.join(" | ");
            let state = match st.exit {
                Some(c) => format!("exited with status {c}"),
                None => format!(
                    "still running, but port {}/{} did not open within {:.0} s",
                    l.port.unwrap_or(0),
                    if l.udp { "udp" } else { "tcp" },
                    e.settle_seconds
                ),
            };
            let mut w = state;
            if let Some(c) = cause(&st.output) {
                w.push_str(&format!("; likely cause: {c}"));
            }
            if !last.is_empty() {
                w.push_str(&format!("; last output: {last}"));
            }
            w
        });
        e.services.push(ServiceResult {
            program: l.program.clone(),
            argv: l.job.as_ref().map(|j| j.argv.clone()).unwrap_or_default(),
            how: l.how.clone(),
            port: l.port,
            udp: l.udp,
            up,
            up_after: up_at[i],
            why,
            stand_in: None,
        });
    }
    if opts.probe && !e.tcp_open.is_empty() {
        let probe_start = Instant::now();
        progress.stage(&format!(
            "emulation: probing {} open port(s) over the sandbox's loopback",
            e.tcp_open.len()
        ));
        let mut po =
            iotassure_device::Options::new(std::net::IpAddr::from([127, 0, 0, 1]), "127.0.0.1");
        po.ports = iotassure_device::Ports::List(e.tcp_open.clone());
        po.udp = e
            .udp_bound
            .iter()
            .any(|p| [69, 161, 1900, 5353, 5683].contains(p));
        // The image's own credentials first, then the caller's lists, then the built-in list.
        let mut first = creds::from_firmware(fw);
        first.extend(opts.credentials.iter().cloned());
        iotassure_device_merge_creds(&mut po, first);
        // Emulated services answer slower than the real device.
        po.io_timeout = Duration::from_secs(4);
        po.banner_wait = Duration::from_millis(1500);
        po.max_attempts = 40;
        po.auth_rate = 20.0;
        po.max_time = sb
            .remaining()
            .saturating_sub(Duration::from_secs(2))
            .max(Duration::from_secs(5));
        let outcome = sb.in_netns(|| iotassure_device::probe(&po, progress));
        match outcome {
            Ok(Ok(mut p)) => {
                relabel(&mut p.observations);
                e.observations.extend(std::mem::take(&mut p.observations));
                e.probe = Some(p);
            }
            Ok(Err(x)) => e.skipped.push(format!("probes: {x}")),
            Err(x) => e.skipped.push(format!("probes: {x}")),
        }
        e.probe_seconds = probe_start.elapsed().as_secs_f64();
    }
    // After the probes: what the services read while answering them counts too.
    standin::collect(&state, &mut e.stand_in);
    for s in &mut e.services {
        s.stand_in = e
            .stand_in
            .programs
            .iter()
            .find(|p| p.program == s.program)
            .cloned();
    }
    sb.stop();
    Ok(())
}

fn iotassure_device_merge_creds(po: &mut iotassure_device::Options, first: Vec<Credential>) {
    let rest = std::mem::take(&mut po.credentials);
    for c in first.into_iter().chain(rest) {
        if !po
            .credentials
            .iter()
            .any(|x| x.user == c.user && x.pass == c.pass)
        {
            po.credentials.push(c);
        }
    }
}

/// Device findings become emulation findings: the same probes, but not the real device.
pub fn relabel(obs: &mut Observations) {
    for f in &mut obs.findings {
        if f.source == Source::Device {
            f.source = Source::Emulation;
            f.title = format!("{} (emulated device)", f.title);
        }
    }
    for c in &mut obs.checks {
        if c.source == Source::Device {
            c.source = Source::Emulation;
        }
    }
}

/// One finding per service: up (INFO) or not (INCONCLUSIVE, with why).
fn findings(e: &mut Emulation) {
    let mut obs = Observations::default();
    for s in &e.services {
        let proto = if s.udp { "udp" } else { "tcp" };
        let f = if s.up {
            Finding::new(
                CHECK,
                &["5.6-1"],
                Outcome::Info,
                Severity::Info,
                Source::Emulation,
                format!(
                    "{} came up under emulation on {}/{proto} ({:.1} s)",
                    s.program,
                    s.port.unwrap_or(0),
                    s.up_after.unwrap_or(0.0)
                ),
            )
            .detail(format!("started as `{}`; {}", s.argv.join(" "), s.how))
        } else {
            Finding::new(
                CHECK,
                &["5.6-1"],
                Outcome::Inconclusive,
                Severity::Info,
                Source::Emulation,
                format!("{} did not come up under emulation", s.program),
            )
            .detail(format!(
                "started as `{}`; {}. {}",
                s.argv.join(" "),
                s.how,
                s.why.clone().unwrap_or_default()
            ))
        };
        obs.findings.push(f);
    }
    if let Some(err) = &e.error {
        obs.findings.push(
            Finding::new(
                CHECK,
                &["5.6-1"],
                Outcome::Inconclusive,
                Severity::Info,
                Source::Emulation,
                "The image's services could not be emulated",
            )
            .detail(err.clone()),
        );
        obs.skipped(CHECK, Source::Emulation, &["5.6-1"], err);
    } else {
        obs.ran(
            CHECK,
            Source::Emulation,
            &["5.6-1"],
            e.services.len() as u64,
        );
    }
    obs.extend(std::mem::take(&mut e.observations));
    e.observations = obs;
}
