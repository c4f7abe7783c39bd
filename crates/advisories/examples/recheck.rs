//! Re-checks the components of an existing report against the advisory database (what the
//! trust center does when new advisories appear), and times the pass.
//!
//! `cargo run --release -p iotassure-advisories --example recheck -- report.json [OSV_PATH…]`

use std::time::Instant;

use iotassure_advisories::{assess, Db};
use iotassure_core::finding::{Component, Outcome};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let report = args
        .next()
        .ok_or("usage: recheck report.json [OSV_PATH…]")?;
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&report)?)?;
    let components: Vec<Component> = serde_json::from_value(json["components"].clone())?;
    let t = Instant::now();
    let mut db = Db::builtin();
    let loaded = t.elapsed();
    for p in args {
        let n = db.load_osv(&p)?;
        println!("{p}: {n} advisories");
    }
    let t = Instant::now();
    let runs = 100;
    let mut obs = assess(&db, &components);
    for _ in 1..runs {
        obs = assess(&db, &components);
    }
    let per_pass = t.elapsed() / runs;
    for f in obs.findings.iter().filter(|f| f.outcome != Outcome::Info) {
        println!("{:?} {:<18} {}", f.outcome, f.check, f.title);
    }
    println!(
        "{} components, {} advisories: database copy {:.2} ms, pass {:.3} ms (mean of {runs})",
        components.len(),
        db.advisories().count(),
        loaded.as_secs_f64() * 1e3,
        per_pass.as_secs_f64() * 1e3
    );
    Ok(())
}
