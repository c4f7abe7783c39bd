//! Runs the inspection over an already extracted tree (the `manifest.json` that
//! `iotassure unpack` or `assess --keep-extracted` writes) and reports the time it took.
//! Used by bench/inspect.sh: `inspect_tree MANIFEST [IMAGE] [--creds FILE]... [--json OUT]`.

use std::path::PathBuf;
use std::time::Instant;

use iotassure_core::finding::Outcome;
use iotassure_core::progress::NoProgress;
use iotassure_core::tree::Tree;

fn main() {
    let mut args = std::env::args().skip(1);
    let manifest = PathBuf::from(
        args.next()
            .expect("usage: inspect_tree MANIFEST [IMAGE] [--creds FILE]... [--json OUT]"),
    );
    let mut opts = iotassure_inspect::Options::default();
    let mut json = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--creds" => opts
                .wordlist
                .add_file(&PathBuf::from(args.next().expect("file")))
                .expect("creds"),
            "--json" => json = args.next().map(PathBuf::from),
            img => opts.image = Some(PathBuf::from(img)),
        }
    }
    let mut tree: Tree = serde_json::from_slice(&std::fs::read(&manifest).expect("manifest"))
        .expect("manifest json");
    tree.root = manifest.parent().expect("dir").to_path_buf();
    let t = Instant::now();
    let obs = iotassure_inspect::inspect(&tree, &opts, &NoProgress);
    let secs = t.elapsed().as_secs_f64();
    let fails = obs
        .findings
        .iter()
        .filter(|f| f.outcome == Outcome::Fail)
        .count();
    println!(
        "inspect {} s: {} findings ({} FAIL), {} components, {} files",
        secs,
        obs.findings.len(),
        fails,
        obs.components.len(),
        tree.file_count()
    );
    if let Some(j) = json {
        std::fs::write(j, serde_json::to_vec_pretty(&obs).expect("json")).expect("write");
    }
}
