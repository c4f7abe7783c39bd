//! `iotassure assess`: the main job. Evidence (firmware, device, documents) + the maker's
//! statement → a verdict per provision → report.json, report.md, report.html.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args as ClapArgs;
use iotassure_assess::rollup::ProfileOutcome;
use iotassure_assess::statement::Level;
use iotassure_assess::Evidence;
use iotassure_core::catalog::catalog;
use iotassure_core::progress::Progress;

use super::live::{self, LiveArgs};
use super::LimitArgs;
use crate::output::Staged;
use crate::progress::Stderr;

#[derive(ClapArgs, Debug)]
#[command(
    after_help = "Writes OUT/report.json (canonical), OUT/report.md, OUT/report.html, OUT/sbom.cdx.json (CycloneDX 1.6) and OUT/vex.cdx.json (the advisory matches as CycloneDX 1.6 vulnerabilities with analysis), and with --format: OUT/report.sarif (sarif), OUT/oscal-assessment-results.json + oscal-assessment-plan.json + oscal-catalog.json (oscal), OUT/declarations.cdx.json (cyclonedx), OUT/sbom.spdx.json (spdx), OUT/report.pdf (pdf: the HTML report printed by headless Chromium); see docs/formats.md. The folder appears complete or not at all.\n\nExit status: 0 = the profile passes (and, with --fail-on, no FAIL finding is that severe); 1 = the profile fails or is incomplete (some provisions INCONCLUSIVE), or a FAIL finding is at or above --fail-on; 2 = error.\n\nExamples:\n  iotassure assess firmware.bin --out report/\n  iotassure assess rootfs.squashfs --ics statement.yaml --profile uk-psti --out report/\n  iotassure assess firmware.bin --creds extra-passwords.txt --out report/ --keep-extracted\n  iotassure assess firmware.bin --format sarif --fail-on high --out report/   # a CI gate"
)]
pub struct Args {
    /// The firmware image (any supported format) or an extracted root folder.
    pub image: PathBuf,
    /// Output folder for the reports (absent or empty; an earlier iotassure output only with
    /// --force).
    #[arg(long, short)]
    pub out: PathBuf,
    /// The maker's conformance statement (YAML; see `iotassure ics init`).
    #[arg(long, value_name = "FILE")]
    pub ics: Option<PathBuf>,
    /// Profile that decides the exit status: en303645-m, en303645-mr, uk-psti, fi-label, uk-cop, tec, owasp.
    #[arg(long, default_value = "en303645-m")]
    pub profile: String,
    /// Extra password lists for cracking (`user:pass` or one password per line). Repeatable.
    #[arg(long, value_name = "FILE")]
    pub creds: Vec<PathBuf>,
    /// Seconds allowed for cracking password hashes.
    #[arg(long, default_value_t = 20, value_name = "SECS")]
    pub crack_time: u64,
    /// Also write a CycloneDX 1.6 SBOM of the components found (JSON) to this file (an output;
    /// an existing file is replaced only with --force). `--sbom` is the old name.
    #[arg(long = "sbom-out", alias = "sbom", value_name = "FILE")]
    pub sbom_out: Option<PathBuf>,
    /// Also write these formats for other tools (comma-separated or repeated): sarif, oscal,
    /// cyclonedx (declarations), spdx, or all.
    #[arg(long, value_enum, value_delimiter = ',', value_name = "FORMAT")]
    pub format: Vec<Extra>,
    /// Also exit 1 when any FAIL finding has this severity or a higher one (info, low, medium,
    /// high, critical): a CI gate on the findings as well as on the profile. INCONCLUSIVE
    /// findings do not trip it (the profile's exit status covers them).
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<FailOn>,
    /// Sign declarations.cdx.json (needs --format cyclonedx or all) with this Ed25519 private
    /// key (PKCS#8 PEM, as `openssl genpkey -algorithm ed25519` writes); a JSF signature.
    #[arg(long, value_name = "KEY")]
    pub sign_key: Option<PathBuf>,
    /// Keep the extracted tree in OUT/extracted (with OUT/extracted/manifest.json).
    #[arg(long)]
    pub keep_extracted: bool,
    /// Replace a non-empty --out folder, but only one iotassure wrote (it holds the
    /// .iotassure-output marker with a known format version), and replace an existing
    /// --sbom-out regular file. Never replaced, even with --force: /, the home folder (or a
    /// folder holding it), the current folder or an ancestor of it, a mount point, a symlink,
    /// anything that is not a folder (for --out) or a regular file (for --sbom-out), an input or
    /// a folder holding one.
    #[arg(long)]
    pub force: bool,
    /// The maker's track record at a trust center's disclosure desk, as evidence for 5.2-1 and
    /// 5.2-2: a file from `iotassure tc track-record MAKER --out FILE`, or the trust center's
    /// URL (http(s)://HOST:PORT), from which the record of the statement's manufacturer is
    /// fetched (that host only). `--trust-center` is another name for it.
    #[arg(long, alias = "trust-center", value_name = "FILE|URL")]
    pub track_record: Option<String>,
    /// The maker's SBOM (CycloneDX or SPDX JSON), held against the components the firmware
    /// shows: one it leaves out, or lists at another version, is a finding (5.2-3; the CRA asks
    /// for an accurate SBOM).
    #[arg(long, value_name = "FILE")]
    pub sbom_in: Option<PathBuf>,
    /// The lab's reference for the report, on its front page (default: IOTA-YYYYMMDD- and the
    /// first 8 hex digits of the image's SHA-256).
    #[arg(long, value_name = "ID")]
    pub report_id: Option<String>,
    /// The lab that ran the assessment, on the report's front page.
    #[arg(long, value_name = "NAME")]
    pub lab: Option<String>,
    /// Who the assessment is for, on the report's front page.
    #[arg(long, value_name = "NAME")]
    pub client: Option<String>,
    /// Also run the image's boot services under QEMU user mode in a sealed sandbox and probe
    /// them: findings with source `emulation`, verdicts marked "verified on an emulated
    /// device" (see `iotassure emulate`; needs root, Linux >= 6.7 and qemu-user-static).
    #[arg(long)]
    pub emulate: bool,
    #[command(flatten)]
    pub emulation: super::emulate::EmulateArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub live: LiveArgs,
    #[command(flatten)]
    pub advisories: super::advisories::AdvisoryArgs,
}

/// Outputs beyond the default report set.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Extra {
    /// report.sarif (SARIF 2.1.0).
    Sarif,
    /// oscal-assessment-results.json, oscal-assessment-plan.json and oscal-catalog.json (OSCAL 1.1).
    Oscal,
    /// declarations.cdx.json (CycloneDX 1.6 with the EN 303 645 declarations).
    Cyclonedx,
    /// sbom.spdx.json (SPDX 2.3).
    Spdx,
    /// report.pdf (the HTML report printed by headless Chromium; not part of `all`, since it
    /// needs the browser).
    Pdf,
    /// sarif, oscal, cyclonedx and spdx.
    All,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum FailOn {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl FailOn {
    fn severity(self) -> iotassure_core::finding::Severity {
        use iotassure_core::finding::Severity;
        match self {
            FailOn::Info => Severity::Info,
            FailOn::Low => Severity::Low,
            FailOn::Medium => Severity::Medium,
            FailOn::High => Severity::High,
            FailOn::Critical => Severity::Critical,
        }
    }
}

/// Writes the formats asked for with --format into the staged output folder.
fn write_extras(
    report: &iotassure_assess::Report,
    extras: &[Extra],
    key: Option<&iotassure_attest::SigningKey>,
    dir: &std::path::Path,
) -> Result<()> {
    use super::report::{render_bytes, Format};
    let want = |e: Extra| extras.contains(&e) || extras.contains(&Extra::All);
    let mut formats = Vec::new();
    if want(Extra::Sarif) {
        formats.push(Format::Sarif);
    }
    if want(Extra::Oscal) {
        formats.extend([Format::Oscal, Format::OscalPlan]);
        // The controls the OSCAL documents name, so that their references resolve in the folder.
        let cat = iotassure_core::catalog::oscal_catalog(catalog());
        std::fs::write(
            dir.join("oscal-catalog.json"),
            serde_json::to_string_pretty(&cat)?,
        )?;
    }
    if want(Extra::Cyclonedx) {
        formats.push(Format::Cyclonedx);
    }
    if want(Extra::Spdx) {
        formats.push(Format::Spdx);
    }
    if extras.contains(&Extra::Pdf) {
        formats.push(Format::Pdf);
    }
    for f in formats {
        let path = dir.join(f.file_name());
        let text = match (f, key) {
            (Format::Cyclonedx, Some(k)) => {
                let mut t =
                    serde_json::to_string_pretty(&super::report::declarations(report, Some(k)))?;
                t.push('\n');
                t.into_bytes()
            }
            _ => render_bytes(report, f)?,
        };
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

pub fn run(args: Args, progress: &Stderr) -> Result<u8> {
    let started = Instant::now();
    if args.live.probe.dry_run {
        return live::dry_run(&args.live, &args.creds, args.ics.as_deref());
    }
    let cat = catalog();
    if cat.profile(&args.profile).is_none() {
        bail!(
            "unknown profile `{}`; known: {}",
            args.profile,
            cat.profiles
                .iter()
                .map(|p| p.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let statement = match &args.ics {
        Some(p) => {
            let st = super::ics::load(p)?;
            let diags = st.check(cat);
            let errors: Vec<String> = diags
                .iter()
                .filter(|d| d.level == Level::Error)
                .map(|d| d.render(&st.file))
                .collect();
            for d in diags.iter().filter(|d| d.level == Level::Warning) {
                progress.line(&d.render(&st.file));
            }
            if !errors.is_empty() {
                bail!("the conformance statement has {} errors (fix them, or check with `iotassure ics check`):\n  {}", errors.len(), errors.join("\n  "));
            }
            Some(st)
        }
        None => None,
    };
    let sign_key = match &args.sign_key {
        Some(_)
            if !args
                .format
                .iter()
                .any(|f| matches!(f, Extra::Cyclonedx | Extra::All)) =>
        {
            bail!("--sign-key signs declarations.cdx.json only; add --format cyclonedx")
        }
        Some(p) => Some(super::report::signing_key(p)?),
        None => None,
    };
    let mut wordlist = iotassure_inspect::Wordlist::builtin();
    for c in &args.creds {
        wordlist
            .add_file(c)
            .with_context(|| format!("reading credential list {}", c.display()))?;
    }
    if !args.image.exists() {
        bail!("{}: no such file or folder", args.image.display());
    }
    args.live.check_inputs()?;
    let track_record = match &args.track_record {
        Some(src) => Some(super::track_record::load(
            src,
            statement
                .as_ref()
                .map(|s| s.statement.product.manufacturer.as_str()),
        )?),
        None => None,
    };
    let sbom_in = match &args.sbom_in {
        Some(p) => {
            let bytes = std::fs::read(p).with_context(|| format!("--sbom-in {}", p.display()))?;
            let origin = p.display().to_string();
            Some((
                iotassure_documents::sbom_in::parse(&bytes, &origin).map_err(anyhow::Error::msg)?,
                origin,
            ))
        }
        None => None,
    };
    let advisories = args.advisories.load(progress)?;

    // Every local input: a folder holding one is never replaced, nor is one overwritten.
    let lp = &args.live.probe;
    let inputs: Vec<&std::path::Path> = [
        Some(args.image.as_path()),
        args.ics.as_deref(),
        args.sbom_in.as_deref(),
        args.track_record
            .as_deref()
            .filter(|s| !s.contains("://"))
            .map(std::path::Path::new),
        lp.pcap.as_deref(),
        lp.intercept_results.as_deref(),
        lp.other_unit.as_deref(),
    ]
    .into_iter()
    .flatten()
    .chain(args.creds.iter().map(PathBuf::as_path))
    .chain(args.advisories.paths.iter().map(PathBuf::as_path))
    .chain(
        args.live
            .docs
            .iter()
            .filter(|d| !d.starts_with("http://") && !d.starts_with("https://"))
            .map(std::path::Path::new),
    )
    .collect();
    if let Some(p) = &args.sbom_out {
        crate::output::check_file(p, args.force, "--sbom-out", &inputs)?;
    }
    let staged = Staged::new(&args.out, args.force, "assess", &inputs)?;
    // The extracted tree goes beside the report while we work; it is kept only on request.
    let scratch = tempfile::Builder::new()
        .prefix(".iotassure-extract-")
        .tempdir_in(&staged.dir)?;
    let extract_dir = scratch.path().join("extracted");
    let opts = iotassure_unpack::Options {
        limits: args.limits.limits(),
    };
    // A damaged image (formats found, every extraction failed) is still assessed: the damage is
    // in the report, each problem at its offset, and the firmware evidence is marked partial.
    let unpacked = iotassure_unpack::unpack(&args.image, &extract_dir, &opts, progress)
        .or_else(iotassure_unpack::UnpackError::into_damaged)?;
    let s = &unpacked.summary;
    let inspectable = !unpacked.tree.rootfs.is_empty()
        || unpacked
            .tree
            .blobs
            .iter()
            .any(|b| b.kind != iotassure_core::tree::BlobKind::Raw);
    if !inspectable && s.partial {
        // Damage (or a limit) kept the root filesystem out: that is a finding about this image,
        // not the end of the assessment. What needs the files stays INCONCLUSIVE.
        progress.line(&format!(
            "{}: no root filesystem, kernel or microcontroller image could be extracted; the report is PARTIAL, with {} problem(s) at their offsets",
            args.image.display(),
            s.problems.len() + s.limits_hit.len()
        ));
    } else if !inspectable {
        // Something unpacked, but nothing the checks know how to read: still a report. Each
        // check says it examined nothing, so its provisions are INCONCLUSIVE with that reason.
        let found: Vec<String> = s
            .layout
            .iter()
            .filter(|l| l.depth == 0)
            .map(|l| format!("@0x{:x} {}", l.offset, l.description))
            .collect();
        progress.line(&format!(
            "{}: no root filesystem, kernel or firmware program could be extracted (found: {}); the report holds what the image itself shows",
            args.image.display(),
            found.join("; ")
        ));
    }
    progress.line(&format!(
        "unpacked {}: {} files, {} dirs, {} symlinks, {} root filesystem(s){}",
        args.image.display(),
        s.files,
        s.dirs,
        s.symlinks,
        unpacked.tree.rootfs.len(),
        if s.partial {
            format!(
                " — PARTIAL ({} problems)",
                s.problems.len() + s.limits_hit.len()
            )
        } else {
            String::new()
        }
    ));
    let inspect_opts = iotassure_inspect::Options {
        wordlist,
        crack_budget: std::time::Duration::from_secs(args.crack_time),
        image: args.image.is_file().then(|| args.image.clone()),
        max_memory: args.limits.max_memory_mib << 20,
        ..Default::default()
    };
    let inspected = iotassure_inspect::inspect_within(&unpacked.tree, &inspect_opts, progress);
    let mut observations = inspected.observations;
    let mut unpacked = unpacked;
    if !inspected.limits_hit.is_empty() {
        // What inspection could not hold is reported like what extraction could not: the
        // firmware evidence is PARTIAL, and the report lists the limit.
        unpacked.summary.partial = true;
        unpacked.summary.limits_hit.extend(inspected.limits_hit);
    }
    if args.emulate {
        let mut eo = args.emulation.options(&args.creds)?;
        // The image's own update check is put to a modified copy of it (5.7-1-2a).
        eo.update_image = args.image.is_file().then(|| args.image.clone());
        let em =
            super::emulate::emulate(&unpacked.tree, &observations, scratch.path(), &eo, progress);
        super::emulate::write(&em, &staged.dir)?;
        observations.extend(em.observations);
    }

    let gathered = live::gather(
        &args.live,
        &args.creds,
        statement
            .as_ref()
            .map(|s| (&s.statement.ixit, s.file.as_str())),
        progress,
    )?;
    live::write_artifacts(&gathered, &staged.dir)?;
    observations.extend(gathered.observations);
    let mut documents = gathered.documents;
    if let Some((record, origin)) = &track_record {
        let maker = statement
            .as_ref()
            .map(|s| s.statement.product.manufacturer.as_str())
            .filter(|m| !m.is_empty());
        observations.extend(iotassure_documents::track_record::judge(
            record, origin, maker,
        ));
        documents.push(origin.clone());
    }
    if let Some((listed, origin)) = &sbom_in {
        let judged = iotassure_documents::sbom_in::judge(listed, &observations.components, origin);
        observations.extend(judged);
        documents.push(origin.clone());
    }
    let fw = iotassure_core::finding::Source::Firmware;
    let vex_out = super::advisories::judge(&advisories, &mut observations, fw);

    progress.stage("judging");
    let report = iotassure_assess::assemble(
        Evidence {
            observations,
            statement: statement.as_ref(),
            firmware: Some(unpacked.summary.clone()),
            device: gathered.device,
            documents,
        },
        &args.profile,
        env!("CARGO_PKG_VERSION"),
    );
    let mut report = report;
    report.engagement = Some(engagement(&args, &report));

    progress.stage("writing reports");
    let dir = &staged.dir;
    std::fs::write(
        dir.join("report.json"),
        serde_json::to_string_pretty(&report)?,
    )?;
    std::fs::write(dir.join("report.md"), iotassure_report::markdown(&report))?;
    std::fs::write(dir.join("report.html"), iotassure_report::html(&report))?;
    std::fs::write(
        dir.join("sbom.cdx.json"),
        serde_json::to_string_pretty(&iotassure_report::cyclonedx(&report))?,
    )?;
    std::fs::write(
        dir.join("vex.cdx.json"),
        serde_json::to_string_pretty(&vex_out)?,
    )?;
    write_extras(&report, &args.format, sign_key.as_ref(), dir)?;
    if args.keep_extracted {
        std::fs::write(
            extract_dir.join("manifest.json"),
            serde_json::to_string_pretty(&unpacked.tree)?,
        )
        .ok();
        if extract_dir.exists() {
            std::fs::rename(&extract_dir, dir.join("extracted"))?;
        }
    }
    drop(scratch);
    let out = staged.commit()?;
    if let Some(p) = &args.sbom_out {
        let bytes = std::fs::read(out.join("sbom.cdx.json"))
            .with_context(|| format!("reading {}", out.join("sbom.cdx.json").display()))?;
        crate::output::write_file(p, &bytes, args.force, "--sbom-out", &inputs)?;
    }

    let sel = report.selected().expect("profile exists");
    println!(
        "{}: {} ({:.1} s)",
        crate::output::console_safe(&args.image.display().to_string()),
        summary_line(&report),
        started.elapsed().as_secs_f64()
    );
    for v in report
        .verdicts
        .iter()
        .filter(|v| v.verdict == iotassure_assess::Verdict::Fail && v.scheme == "en303645")
    {
        // One line per FAIL; the full reason is in the reports.
        // Reasons quote firmware file names: escape sequences in them must not reach the
        // terminal (title setting, screen clearing).
        let mut line: String = crate::output::console_safe(&v.reason)
            .chars()
            .take(150)
            .collect();
        if v.reason.chars().count() > 150 {
            line.push_str("… (full text in the report)");
        }
        println!("  {:<9} {:<7} {line}", v.label(), v.id);
    }
    println!("reports: {}/report.{{json,md,html}}", out.display());
    let mut exit = match sel.outcome {
        ProfileOutcome::Pass => crate::EXIT_PASS,
        _ => crate::EXIT_NOT_PASSED,
    };
    if let Some(t) = args.fail_on {
        let at = t.severity();
        let mut tripped: Vec<&iotassure_core::finding::Finding> = report
            .findings
            .iter()
            .filter(|f| f.outcome == iotassure_core::finding::Outcome::Fail && f.severity >= at)
            .collect();
        tripped.sort_by_key(|f| std::cmp::Reverse(f.severity));
        if !tripped.is_empty() {
            println!(
                "--fail-on {}: {} FAIL finding(s) at or above it (the most severe: {} {}, {})",
                at.as_str(),
                tripped.len(),
                tripped[0].severity.as_str(),
                tripped[0].check,
                crate::output::console_safe(&tripped[0].title)
            );
            exit = crate::EXIT_NOT_PASSED;
        }
    }
    Ok(exit)
}

/// The console's verdict: the selected profile's outcome with its own counts, then all 68
/// provisions, each under its own name (a profile of 3 provisions that passes is not shown
/// next to the 3 FAILs of the whole standard as if they were its own).
pub fn summary_line(r: &iotassure_assess::Report) -> String {
    let sel = r.selected().expect("profile exists");
    let p = &sel.counts;
    let justified = if p.justified > 0 {
        format!(", {} JUSTIFIED", p.justified)
    } else {
        String::new()
    };
    format!(
        "profile {} {} ({} provisions: {} PASS, {} FAIL{justified}, {} INCONCLUSIVE, {} N/A) — all {} EN 303 645 provisions: {}",
        sel.id,
        sel.outcome.as_str(),
        p.total(),
        p.pass,
        p.fail,
        p.inconclusive,
        p.not_applicable,
        r.en_counts().total(),
        r.en_counts().summary()
    )
}

/// The front page's facts: what the user named, and a report id derived from the date and the
/// image when none was given.
fn engagement(args: &Args, r: &iotassure_assess::Report) -> iotassure_assess::model::Engagement {
    let sha = r
        .subject
        .firmware
        .as_ref()
        .map(|f| f.sha256.chars().take(8).collect::<String>())
        .unwrap_or_default();
    let date: String = r
        .generated_at
        .chars()
        .take(10)
        .filter(|c| *c != '-')
        .collect();
    iotassure_assess::model::Engagement {
        report_id: args
            .report_id
            .clone()
            .unwrap_or_else(|| format!("IOTA-{date}-{sha}")),
        lab: args.lab.clone().unwrap_or_default(),
        client: args.client.clone().unwrap_or_default(),
    }
}
