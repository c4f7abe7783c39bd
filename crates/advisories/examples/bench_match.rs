//! Matches the components of a CycloneDX SBOM against an advisory database and times it (the
//! benchmark's second half; `bench/advisories.sh` runs it).
//!
//! `cargo run --release -p iotassure-advisories --example bench_match -- DB SBOM.json`

use std::time::Instant;

use iotassure_advisories::{Db, Matcher, Store};
use iotassure_core::finding::Component;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let db_path = args.next().ok_or("usage: bench_match DB SBOM.json")?;
    let sbom = args.next().ok_or("usage: bench_match DB SBOM.json")?;
    let t = Instant::now();
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&sbom)?)?;
    let comps: Vec<Component> = json["components"]
        .as_array()
        .ok_or("no components")?
        .iter()
        .map(|c| Component {
            name: c["name"].as_str().unwrap_or("").to_string(),
            version: c["version"].as_str().unwrap_or("").to_string(),
            purl: c["purl"].as_str().map(str::to_string),
            cpe: c["cpe"].as_str().map(str::to_string),
            method: "sbom".into(),
            evidence: Vec::new(),
            files: Vec::new(),
        })
        .collect();
    let store = Store::open_existing(std::path::Path::new(&db_path))?;
    let db = Db::builtin();
    let opened = t.elapsed();
    let m = Instant::now();
    let r = Matcher {
        store: &store,
        db: &db,
        kernel_config: None,
    }
    .match_all(&comps)?;
    let matched = m.elapsed();
    let s = Instant::now();
    let snap = store.snapshot()?;
    let snapped = s.elapsed();
    println!(
        "{} components against {} records: {} hits, {} set aside; match {:.3} s, snapshot digest {:.3} s, open {:.3} s, total {:.3} s",
        comps.len(),
        snap.records(),
        r.hits.len(),
        r.set_aside.len(),
        matched.as_secs_f64(),
        snapped.as_secs_f64(),
        opened.as_secs_f64(),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
