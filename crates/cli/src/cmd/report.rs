//! `iotassure report`: render a saved report.json again, or print the report's JSON Schema.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Subcommand, ValueEnum};
use iotassure_assess::Report;

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Render a report.json in another format (to standard output or --out).
    #[command(
        after_help = "Formats other tools read (docs/formats.md): sarif (SARIF 2.1.0, GitHub code scanning), oscal (OSCAL 1.1 assessment-results), oscal-plan (the OSCAL assessment-plan it imports), cyclonedx (CycloneDX 1.6 with the EN 303 645 declarations), sbom (CycloneDX 1.6 SBOM), spdx (SPDX 2.3 SBOM).\n\n--out FILE is written atomically; an existing regular file is replaced only with --force, and a symlink, a folder or the report itself never is."
    )]
    Render {
        report: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Md)]
        format: Format,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        out: Option<PathBuf>,
        /// Replace an existing --out regular file (never a symlink, a folder or an input).
        #[arg(long)]
        force: bool,
        /// Sign the CycloneDX declarations (--format cyclonedx) with this Ed25519 private key
        /// (PKCS#8 PEM, as `openssl genpkey -algorithm ed25519` writes): a JSF signature over
        /// the RFC 8785 canonical form of the document.
        #[arg(long, value_name = "KEY")]
        sign_key: Option<PathBuf>,
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
    /// SARIF 2.1.0: one result per FAIL or INCONCLUSIVE finding (GitHub code scanning).
    Sarif,
    /// OSCAL 1.1 assessment-results: a finding per provision, an observation per evidence.
    Oscal,
    /// OSCAL 1.1 assessment-plan: what was assessed, against the maker's statement (IXIT).
    OscalPlan,
    /// CycloneDX 1.6 with declarations: EN 303 645 claims, evidence and an attestation.
    Cyclonedx,
    /// CycloneDX 1.6 SBOM of the components found.
    Sbom,
    /// SPDX 2.3 SBOM (JSON) of the components found.
    Spdx,
    /// report.pdf: the HTML report printed by headless Chromium (needs --out).
    Pdf,
}

impl Format {
    /// The file name `assess` gives this format in its output folder.
    pub fn file_name(self) -> &'static str {
        match self {
            Format::Md => "report.md",
            Format::Html => "report.html",
            Format::B1 => "table-b1.md",
            Format::Json => "report.json",
            Format::Sarif => "report.sarif",
            Format::Oscal => "oscal-assessment-results.json",
            Format::OscalPlan => "oscal-assessment-plan.json",
            Format::Cyclonedx => "declarations.cdx.json",
            Format::Sbom => "sbom.cdx.json",
            Format::Spdx => "sbom.spdx.json",
            Format::Pdf => "report.pdf",
        }
    }
}

/// A report.json larger than this is refused before it is read: real ones are a few MiB (the
/// OpenWrt corpus image gives 0.2 MiB), and a file given to `render` may be anything.
pub const MAX_REPORT_BYTES: u64 = 256 << 20;

pub fn load(path: &PathBuf) -> Result<Report> {
    use std::io::Read;
    let file = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let too_big = || {
        anyhow::anyhow!(
            "{}: larger than {} MiB, more than any report.json iotassure writes; not read",
            path.display(),
            MAX_REPORT_BYTES >> 20
        )
    };
    // A regular file says its size; a pipe or device is read up to the bound.
    if file
        .metadata()
        .is_ok_and(|m| m.is_file() && m.len() > MAX_REPORT_BYTES)
    {
        return Err(too_big());
    }
    let mut text = String::new();
    file.take(MAX_REPORT_BYTES + 1)
        .read_to_string(&mut text)
        .with_context(|| format!("reading {}", path.display()))?;
    if text.len() as u64 > MAX_REPORT_BYTES {
        return Err(too_big());
    }
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

/// Any format as bytes (the PDF is the one that is not text).
pub fn render_bytes(r: &Report, format: Format) -> Result<Vec<u8>> {
    match format {
        Format::Pdf => crate::pdf::from_html(&iotassure_report::html(r)),
        f => render(r, f).map(String::into_bytes),
    }
}

pub fn render(r: &Report, format: Format) -> Result<String> {
    Ok(match format {
        Format::Pdf => anyhow::bail!("the PDF is binary: render it with render_bytes"),
        Format::Md => iotassure_report::markdown(r),
        Format::Html => iotassure_report::html(r),
        Format::B1 => iotassure_report::table_b1(r),
        Format::Json => serde_json::to_string_pretty(r)?,
        Format::Sarif => pretty(&iotassure_report::sarif(r))?,
        Format::Oscal => pretty(&iotassure_report::oscal_results(r))?,
        Format::OscalPlan => pretty(&iotassure_report::oscal_plan(r))?,
        Format::Cyclonedx => pretty(&declarations(r, None))?,
        Format::Sbom => pretty(&iotassure_report::cyclonedx(r))?,
        Format::Spdx => pretty(&iotassure_report::spdx(r))?,
    })
}

/// The CycloneDX declarations, signed (JSF, Ed25519) when a key is given.
pub fn declarations(
    r: &Report,
    key: Option<&iotassure_attest::keys::SigningKey>,
) -> serde_json::Value {
    let mut doc = iotassure_report::declarations(r);
    if let Some(k) = key {
        iotassure_report::jsf::sign_ed25519(
            &mut doc,
            k.public_key().as_bytes(),
            &k.key_id(),
            |m| k.sign(m),
        );
    }
    doc
}

/// Reads a --sign-key file.
pub fn signing_key(path: &std::path::Path) -> Result<iotassure_attest::keys::SigningKey> {
    Ok(iotassure_attest::keys::SigningKey::read(path)?)
}

fn pretty(v: &serde_json::Value) -> Result<String> {
    let mut s = serde_json::to_string_pretty(v)?;
    s.push('\n');
    Ok(s)
}

pub fn run(cmd: Command) -> Result<u8> {
    match cmd {
        Command::Render {
            report,
            format,
            out,
            force,
            sign_key,
        } => {
            let key = match &sign_key {
                Some(_) if !matches!(format, Format::Cyclonedx) => anyhow::bail!(
                    "--sign-key signs the CycloneDX declarations only; add --format cyclonedx"
                ),
                Some(p) => Some(signing_key(p)?),
                None => None,
            };
            if matches!(format, Format::Pdf) && out.is_none() {
                anyhow::bail!("--format pdf writes a file: give --out report.pdf");
            }
            // Checked before the work, so a refused --out fails at once.
            if let Some(p) = &out {
                crate::output::check_file(p, force, "--out", &[report.as_path()])?;
            }
            let r = load(&report)?;
            let text = match &key {
                Some(k) => pretty(&declarations(&r, Some(k)))?.into_bytes(),
                None => render_bytes(&r, format)?,
            };
            match out {
                Some(p) => {
                    crate::output::write_file(&p, &text, force, "--out", &[report.as_path()])?
                }
                None => print!("{}", String::from_utf8_lossy(&text)),
            }
        }
        Command::Schema => {
            let schema = iotassure_assess::schema::report_schema();
            println!("{}", serde_json::to_string_pretty(&schema)?);
        }
    }
    Ok(crate::EXIT_PASS)
}
