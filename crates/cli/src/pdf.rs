//! report.pdf: the HTML report printed by headless Chromium.
//!
//! Why Chromium: report.html is already laid out for paper (a front page, page breaks before
//! the big sections, table headers repeated on each page, badges in colour), so printing it
//! gives the same content a lab reviewed on screen, with no second layout to keep in step. A
//! Rust PDF library or typst would mean writing the report a second time. Chromium is an
//! optional tool: where none is found, the error says so and how to point at one
//! (`IOTASSURE_CHROMIUM`). The page holds no script and no external asset, and its
//! Content-Security-Policy forbids both, so nothing in it can run or reach out; the browser reads
//! only the one file it is given.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// A browser that prints: `IOTASSURE_CHROMIUM`, else the usual names on PATH.
pub fn browser() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("IOTASSURE_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser", "google-chrome", "chrome"] {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

const TIMEOUT: Duration = Duration::from_secs(120);

/// Prints `html` to PDF bytes.
pub fn from_html(html: &str) -> Result<Vec<u8>> {
    let Some(chromium) = browser() else {
        bail!("a PDF needs headless Chromium, and none was found (looked for chromium, chromium-browser, google-chrome on PATH); install it (Debian: apt-get install chromium) or set IOTASSURE_CHROMIUM=/path/to/chrome. report.html holds the same content.");
    };
    let tmp = tempfile::tempdir().context("a temporary folder for the PDF")?;
    let page = tmp.path().join("report.html");
    std::fs::write(&page, html).with_context(|| format!("writing {}", page.display()))?;
    let pdf = tmp.path().join("report.pdf");
    let profile = tmp.path().join("profile");
    let mut child = Command::new(&chromium)
        .arg("--headless")
        .arg("--disable-gpu")
        // Chromium's sandbox cannot start as root (CI, containers); the page is our own,
        // script-free, and read from a private temporary folder.
        .arg("--no-sandbox")
        .arg("--no-pdf-header-footer")
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", chromium.display()))?;
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break s;
        }
        if started.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "{} did not print the PDF within {} s",
                chromium.display(),
                TIMEOUT.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let bytes = std::fs::read(&pdf).unwrap_or_default();
    if !status.success() || !bytes.starts_with(b"%PDF-") {
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            use std::io::Read;
            let _ = (&mut e).take(4096).read_to_string(&mut err);
        }
        bail!(
            "{} did not print a PDF ({status}): {}",
            chromium.display(),
            err.lines().last().unwrap_or("no message")
        );
    }
    Ok(bytes)
}
