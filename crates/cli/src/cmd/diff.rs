//! `iotassure diff OLD NEW`: what changed for security between two releases, and whether NEW
//! regresses (exit 1), for a release gate.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args as ClapArgs, ValueEnum};

#[derive(ClapArgs, Debug)]
#[command(
    after_help = "OLD and NEW are firmware images (each is assessed with the default options) or report.json files from `iotassure assess`.\n\nShows: verdicts changed per provision; findings added and removed (matched by check, place and title); components upgraded, downgraded, added and removed; the image's top-level layout changes.\n\nExit status: 0 = NEW does not regress; 1 = it does (a provision got worse: PASS/N/A → INCONCLUSIVE/JUSTIFIED/FAIL, or INCONCLUSIVE → FAIL; or a FAIL finding is new); 2 = error.\n\nExamples:\n  iotassure diff old/report.json new/report.json\n  iotassure diff fw-1.0.bin fw-1.1.bin --out diff/          # diff.md, diff.json, diff.html\n  iotassure diff fw-1.0.bin fw-1.1.bin --format json | jq .regressions"
)]
pub struct Args {
    pub old: PathBuf,
    pub new: PathBuf,
    /// What to print on standard output (without --out).
    #[arg(long, value_enum, default_value_t = Format::Md)]
    pub format: Format,
    /// Write diff.md, diff.json and diff.html into this folder instead (an earlier iotassure
    /// output folder is replaced only with --force).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    #[arg(long)]
    pub force: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum Format {
    Md,
    Json,
    Html,
}

/// A report.json as it is, or an image assessed by this same binary into a temporary folder.
fn report_of(p: &Path, tmp: &Path, name: &str) -> Result<iotassure_assess::Report> {
    if !p.exists() {
        bail!("{}: no such file or folder", p.display());
    }
    let is_report =
        p.extension().is_some_and(|e| e == "json") && super::report::load(&p.to_path_buf()).is_ok();
    if is_report {
        return super::report::load(&p.to_path_buf());
    }
    let out = tmp.join(name);
    let exe = std::env::current_exe().context("finding this program")?;
    let o = std::process::Command::new(exe)
        .args(["-q", "assess"])
        .arg(p)
        .arg("--out")
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .output()
        .with_context(|| format!("assessing {}", p.display()))?;
    if o.status.code() == Some(2) || !out.join("report.json").exists() {
        bail!(
            "assessing {}: {}",
            p.display(),
            String::from_utf8_lossy(&o.stderr).trim()
        );
    }
    super::report::load(&out.join("report.json"))
}

pub fn run(args: Args) -> Result<u8> {
    let staged = match &args.out {
        Some(o) => Some(crate::output::Staged::new(
            o,
            args.force,
            "diff",
            &[args.old.as_path(), args.new.as_path()],
        )?),
        None => None,
    };
    let tmp = tempfile::tempdir().context("a temporary folder")?;
    let old = report_of(&args.old, tmp.path(), "old")?;
    let new = report_of(&args.new, tmp.path(), "new")?;
    let d = iotassure_report::diff(&old, &new);
    let json = serde_json::to_string_pretty(&d)? + "\n";
    match staged {
        Some(s) => {
            std::fs::write(s.dir.join("diff.md"), iotassure_report::diff_markdown(&d))?;
            std::fs::write(s.dir.join("diff.json"), &json)?;
            std::fs::write(s.dir.join("diff.html"), iotassure_report::diff_html(&d))?;
            let out = s.commit()?;
            println!(
                "{} regression(s); {} verdict(s), {} component(s) changed; diff: {}/diff.{{md,json,html}}",
                d.regressions.len(),
                d.verdicts.len(),
                d.components.len(),
                out.display()
            );
        }
        None => {
            let text = match args.format {
                Format::Md => iotassure_report::diff_markdown(&d),
                Format::Json => json,
                Format::Html => iotassure_report::diff_html(&d),
            };
            print!("{}", crate::output::console_safe_keep_newlines(&text));
        }
    }
    Ok(if d.regressions.is_empty() {
        crate::EXIT_PASS
    } else {
        crate::EXIT_NOT_PASSED
    })
}
