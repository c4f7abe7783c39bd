//! Classes of firmware the inspection missed on images it had never seen (issue 11). Each
//! module holds one class; each test failed before its fix. Fixtures name the real image whose
//! files they mirror; tests on ../shared/corpus images are skipped (with a note) without it.

mod bin_defaults;
mod bootgraph;
mod components_id;
mod console_option;
mod elf_kind;
mod fwtool_metadata;
mod install_scripts;
mod nopass;
mod update_paths;

use std::path::{Path, PathBuf};

use iotassure_core::finding::{Finding, Observations, Outcome};
use iotassure_core::progress::NoProgress;
use iotassure_inspect::{inspect, Options};

/// Inspects a folder as an extracted root filesystem.
pub fn run_folder(dir: &Path) -> Observations {
    let up = iotassure_unpack::unpack(dir, &dir.join("unused"), &Default::default(), &NoProgress)
        .expect("folder");
    inspect(&up.tree, &Options::default(), &NoProgress)
}

/// FAILs on `prov`.
pub fn fails<'a>(obs: &'a Observations, prov: &str) -> Vec<&'a Finding> {
    obs.findings
        .iter()
        .filter(|f| f.outcome == Outcome::Fail && f.provisions.iter().any(|p| p == prov))
        .collect()
}

/// Whether a finding's title, detail or evidence mentions `needle` (case-insensitive).
pub fn mentions(f: &Finding, needle: &str) -> bool {
    let n = needle.to_ascii_lowercase();
    f.title.to_ascii_lowercase().contains(&n)
        || f.detail
            .as_deref()
            .unwrap_or("")
            .to_ascii_lowercase()
            .contains(&n)
        || f.evidence.iter().any(|e| {
            e.excerpt.to_ascii_lowercase().contains(&n)
                || e.location.cite().to_ascii_lowercase().contains(&n)
        })
}

/// Unpacks a corpus image into `dir` and returns the extracted root filesystem (the folder
/// holding `etc/`), or `None` (with a note) without ../shared/corpus.
pub fn corpus_rootfs(name: &str, dir: &Path) -> Option<PathBuf> {
    let img = iotassure_testkit::corpus_image(name)?;
    let out = dir.join("x");
    iotassure_unpack::unpack(&img, &out, &Default::default(), &NoProgress).expect("unpack");
    fn find(d: &Path, depth: u32) -> Option<PathBuf> {
        if d.join("etc").is_dir() && d.join("bin").exists() {
            return Some(d.to_path_buf());
        }
        if depth == 0 {
            return None;
        }
        let mut subs: Vec<PathBuf> = std::fs::read_dir(d)
            .ok()?
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.path())
            .collect();
        subs.sort();
        subs.iter().find_map(|s| find(s, depth - 1))
    }
    Some(find(&out, 4).expect("a root filesystem in the unpacked image"))
}

/// Unpacks and inspects a corpus image, or `None` (with a note) without ../shared/corpus.
pub fn inspect_corpus(name: &str) -> Option<(Observations, tempfile::TempDir)> {
    let img = iotassure_testkit::corpus_image(name)?;
    let dir = tempfile::tempdir().unwrap();
    let up = iotassure_unpack::unpack(
        &img,
        &dir.path().join("x"),
        &Default::default(),
        &NoProgress,
    )
    .expect("unpack");
    let opts = Options {
        image: Some(img),
        ..Options::default()
    };
    Some((inspect(&up.tree, &opts, &NoProgress), dir))
}
