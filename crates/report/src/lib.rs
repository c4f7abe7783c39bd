//! Renderings of the canonical report ([`iotassure_assess::Report`]). JSON is the report itself;
//! everything here is derived from it, so `iotassure report render` can redo any of them later.

mod chart;
mod cyclonedx;
mod declarations;
mod diff;
mod front;
mod html;
pub mod jsf;
mod markdown;
mod oscal;
mod sarif;
mod sbom;
mod spdx;

pub use cyclonedx::cyclonedx;
pub use declarations::declarations;
pub use diff::{diff, html as diff_html, markdown as diff_markdown, Diff};
pub use html::html;
pub use markdown::{markdown, table_b1};
pub use oscal::{oscal_plan, oscal_results};
pub use sarif::{sarif, FINGERPRINT_KEY};
pub use spdx::spdx;

use iotassure_assess::model::{Basis, Verdict};

pub(crate) fn basis_str(b: Basis) -> &'static str {
    match b {
        Basis::Verified => "verified",
        Basis::Declared => "declared",
        Basis::None => "-",
    }
}

pub(crate) fn verdict_class(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "pass",
        Verdict::Fail => "fail",
        Verdict::Inconclusive => "inconclusive",
        Verdict::NotApplicable => "na",
    }
}

/// A path or name as a URI reference: what a URI may not hold as is (spaces, `%`, `#`, `?`,
/// non-ASCII) percent-encoded.
pub(crate) fn uri_escape(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~/:@!$&'()*+,;=".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `s` with the host path of the image cut to its file name. Provenance chains name the input
/// as given (`image (/home/lab/case-17/fw.bin)`); the formats that leave the lab carry the
/// image's name only, as their artifact does.
pub(crate) fn public_text(r: &iotassure_assess::Report, s: &str) -> String {
    let Some(fw) = &r.subject.firmware else {
        return s.to_string();
    };
    let p = std::path::Path::new(&fw.input);
    match p.file_name() {
        Some(name) if p.is_absolute() && !fw.input.is_empty() => {
            s.replace(&fw.input, &name.to_string_lossy())
        }
        _ => s.to_string(),
    }
}
