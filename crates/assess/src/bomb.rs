//! Material hidden behind a decompression bomb: a blob of the image that the unpacker skipped
//! because it expands past a per-blob cap (`--max-file-size`, `--max-ratio`), placed ahead of
//! the root filesystem. What it holds was not inspected, and a stream that expands that much
//! has no business in front of a device's root filesystem: that placement is itself evidence
//! about the image, so it is reported, not only listed among the unpack problems.

use iotassure_core::finding::{Finding, Location, Observations, Outcome, Severity, Source};
use iotassure_core::layout::UnpackSummary;

pub const CHECK: &str = "fw-bomb-hidden-material";
/// Provisions whose firmware evidence (credentials, keys) the hidden material could hold.
const PROVISIONS: &[&str] = &["5.1-1", "5.4-1"];

/// The caps that skip one blob rather than stop the whole unpack.
fn skipped_by_cap(message: &str) -> Option<&'static str> {
    if message.contains("(--max-file-size)") {
        Some("--max-file-size")
    } else if message.contains("(--max-ratio)") {
        Some("--max-ratio")
    } else {
        None
    }
}

pub fn observe(fw: &UnpackSummary, obs: &mut Observations) {
    // The first filesystem extracted from the image itself, if any: "early" is before it.
    let first_fs = fw
        .layout
        .iter()
        .filter(|l| l.depth == 0 && l.extracted_to.is_some() && l.facts.contains_key("files"))
        .map(|l| l.offset)
        .min();
    let mut examined = 0;
    for p in &fw.problems {
        let Some(cap) = skipped_by_cap(&p.message) else {
            continue;
        };
        examined += 1;
        if p.parent != "image" {
            continue;
        }
        let early = match first_fs {
            Some(fs) => p.offset < fs,
            None => p.offset < fw.size / 2,
        };
        if !early {
            continue;
        }
        let before = match first_fs {
            Some(fs) => format!("before the filesystem at 0x{fs:x}"),
            None => "in the first half of the image".into(),
        };
        obs.findings.push(
            Finding::new(
                CHECK,
                PROVISIONS,
                Outcome::Info,
                Severity::Medium,
                Source::Firmware,
                format!(
                    "material hidden behind a decompression bomb: a {} blob at 0x{:x} expands past {cap} and was skipped",
                    p.format, p.offset
                ),
            )
            .detail(format!(
                "The blob at 0x{:x} ({}), {before}, decompresses to more than the cap allows, so it was not extracted and what it holds was not inspected (credentials or keys in it are not seen by this assessment). A stream that expands this much, placed ahead of the device's files, is how an image would hide material from analysis; examine it with a larger {cap} on a machine that can afford it. The rest of the image was extracted and assessed.",
                p.offset, p.format
            ))
            .evidence(
                Location::Image {
                    offset: p.offset,
                    length: None,
                    provenance: format!("{} @0x{:x} {}", p.parent, p.offset, p.format),
                },
                p.message.clone(),
            ),
        );
    }
    obs.ran(CHECK, Source::Firmware, PROVISIONS, examined);
}
