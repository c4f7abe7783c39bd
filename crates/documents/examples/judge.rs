//! Prints what the document checks make of files or URLs, without the rest of the pipeline:
//! `cargo run -p iotassure-documents --example judge -- examples/documents/good/*`.

use iotassure_core::NoProgress;
use iotassure_documents::{assess_with, DocOptions, DocSource, Trust};

fn main() {
    let sources: Vec<DocSource> = std::env::args()
        .skip(1)
        .map(|a| DocSource::parse(&a))
        .collect();
    if sources.is_empty() {
        eprintln!("usage: judge FILE|URL...");
        std::process::exit(2);
    }
    let a = match assess_with(
        &sources,
        &DocOptions::default(),
        &Trust::default(),
        &NoProgress,
    ) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    for f in &a.observations.findings {
        println!(
            "[{:?}/{}] {} {:?}{}: {}",
            f.outcome,
            f.severity.as_str(),
            f.check,
            f.provisions,
            if f.heuristic { " (heuristic)" } else { "" },
            f.title
        );
        for e in &f.evidence {
            println!("    {} | {}", e.location.cite(), e.excerpt);
        }
    }
    for r in &a.fetched {
        println!(
            "fetched {} -> {:?} {} bytes ({}; {})",
            r.url, r.status, r.bytes, r.note, r.reason
        );
    }
}
