//! `iotassure report`: render a saved report.json again, or print the report's JSON Schema.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Subcommand, ValueEnum};
use iotassure_assess::Report;

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Render a report.json in another format (to standard output or --out).
    Render {
        report: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Md)]
        format: Format,
        #[arg(long, short)]
        out: Option<PathBuf>,
    },
    /// Print the JSON Schema of report.json (the canonical, versioned format).
    Schema,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum Format {
    /// Summary, table B.1, roll-ups and findings.
    Md,
    /// Self-contained HTML report.
    Html,
    /// Table B.1 with verdicts (Markdown).
    B1,
    /// The report itself, pretty-printed.
    Json,
}

pub fn load(path: &PathBuf) -> Result<Report> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let r: Report = serde_json::from_str(&text)
        .with_context(|| format!("{} is not an iotassure report.json", path.display()))?;
    if r.schema != iotassure_assess::REPORT_SCHEMA || !r.schema_version.starts_with("1.") {
        anyhow::bail!(
            "{}: schema {} {} is not supported by this version",
            path.display(),
            r.schema,
            r.schema_version
        );
    }
    Ok(r)
}

pub fn render(r: &Report, format: Format) -> Result<String> {
    Ok(match format {
        Format::Md => iotassure_report::markdown(r),
        Format::Html => iotassure_report::html(r),
        Format::B1 => iotassure_report::table_b1(r),
        Format::Json => serde_json::to_string_pretty(r)?,
    })
}

pub fn run(cmd: Command) -> Result<u8> {
    match cmd {
        Command::Render {
            report,
            format,
            out,
        } => {
            let r = load(&report)?;
            let text = render(&r, format)?;
            match out {
                Some(p) => {
                    std::fs::write(&p, text).with_context(|| format!("writing {}", p.display()))?
                }
                None => print!("{text}"),
            }
        }
        Command::Schema => {
            let schema = iotassure_assess::schema::report_schema();
            println!("{}", serde_json::to_string_pretty(&schema)?);
        }
    }
    Ok(crate::EXIT_PASS)
}
