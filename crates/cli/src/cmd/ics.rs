//! `iotassure ics`: the implementation conformance statement (EN 303 645 Annex B, table B.1).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Subcommand, ValueEnum};
use iotassure_assess::statement::{self, Level, LoadedStatement, Product, TableFormat};
use iotassure_assess::Report;
use iotassure_core::catalog::catalog;

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Write a statement template listing every fact and provision, with comments.
    Init {
        /// Pre-fill the profile facts an assessment inferred (its report.json).
        #[arg(long, value_name = "REPORT")]
        from: Option<PathBuf>,
        /// Write here instead of standard output (an existing file only with --force).
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// Replace an existing --out file, if it is a regular file (never a symlink, a folder
        /// or the --from report).
        #[arg(long)]
        force: bool,
    },
    /// Validate a statement: N/A only where a condition does not hold, a detail for every N and
    /// N/A, a justification for every recommendation not met (4-1), no unknown ids or fields.
    /// Exit 0 when valid, 1 when not.
    Check { file: PathBuf },
    /// Render table B.1 from a statement.
    Export {
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Md)]
        format: Format,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum Format {
    Md,
    Csv,
}

/// Loads and parses a statement, with parse errors located.
pub fn load(path: &Path) -> Result<LoadedStatement> {
    let name = path.display().to_string();
    LoadedStatement::load(path).map_err(|d| anyhow::anyhow!("{}", d.render(&name)))
}

pub fn run(cmd: Command) -> Result<u8> {
    let cat = catalog();
    match cmd {
        Command::Init { from, out, force } => {
            let mut inferred = BTreeMap::new();
            let mut product = Product::default();
            if let Some(r) = &from {
                let text = std::fs::read_to_string(r)
                    .with_context(|| format!("reading {}", r.display()))?;
                let report: Report = serde_json::from_str(&text)
                    .with_context(|| format!("{} is not an iotassure report.json", r.display()))?;
                for f in &report.facts {
                    inferred.insert(f.key, (f.value, f.reason.clone()));
                }
                product = report.subject.product.clone();
                if product.firmware_version.is_empty() {
                    if let Some(fw) = &report.subject.firmware {
                        product.firmware_version = Path::new(&fw.input)
                            .file_name()
                            .map(|n| n.to_string_lossy().to_string())
                            .unwrap_or_default();
                    }
                }
            }
            let text = statement::template(cat, &product, &inferred);
            match out {
                Some(p) => {
                    let inputs: Vec<&Path> = from.as_deref().into_iter().collect();
                    crate::output::write_file(&p, text.as_bytes(), force, "--out", &inputs)?
                }
                None => print!("{text}"),
            }
            Ok(crate::EXIT_PASS)
        }
        Command::Check { file } => {
            // Unreadable is an error (2); a statement that does not parse is invalid (1).
            std::fs::File::open(&file).with_context(|| format!("reading {}", file.display()))?;
            let name = file.display().to_string();
            let st = match LoadedStatement::load(&file) {
                Ok(st) => st,
                Err(d) => {
                    eprintln!("{}", d.render(&name));
                    println!("{name}: 1 error, 0 warnings");
                    return Ok(crate::EXIT_NOT_PASSED);
                }
            };
            let diags = st.check(cat);
            for d in &diags {
                eprintln!("{}", d.render(&name));
            }
            let errors = diags.iter().filter(|d| d.level == Level::Error).count();
            let warnings = diags.len() - errors;
            if errors == 0 {
                println!(
                    "{name}: valid ({} provisions stated, {warnings} warnings)",
                    st.statement.provisions.len()
                );
                Ok(crate::EXIT_PASS)
            } else {
                println!("{name}: {errors} errors, {warnings} warnings");
                Ok(crate::EXIT_NOT_PASSED)
            }
        }
        Command::Export { file, format } => {
            let st = load(&file)?;
            let f = match format {
                Format::Md => TableFormat::Markdown,
                Format::Csv => TableFormat::Csv,
            };
            print!("{}", statement::render_table(cat, &st.statement, f));
            Ok(crate::EXIT_PASS)
        }
    }
}
