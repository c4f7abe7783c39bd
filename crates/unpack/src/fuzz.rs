//! Entry points for fuzzing (`fuzz/`, cargo-fuzz) and for the mutation smoke test. Not part of
//! the stable API.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use iotassure_core::progress::NoProgress;

use crate::formats::{by_id, Ctx, REGISTRY};
use crate::limits::Limits;
use crate::sink::Sink;

/// Small caps: a fuzz input must not fill the disk or take long.
pub fn limits() -> Limits {
    Limits {
        max_total_bytes: 64 << 20,
        max_file_bytes: 16 << 20,
        max_files: 2000,
        max_depth: 4,
        max_ratio: 200,
        ratio_floor: 1 << 20,
        max_time: Duration::from_secs(10),
        max_decoder_memory: 64 << 20,
    }
}

fn scratch() -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let p = std::env::temp_dir().join(format!(
        "iotassure-fuzz-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).expect("scratch folder");
    p
}

/// Runs one format's parser on `data`: identify where its magic first occurs (or at 0), then
/// extract.
pub fn format(id: &str, data: &[u8]) {
    let f = by_id(id).unwrap_or_else(|| panic!("no format {id}"));
    let mut starts = vec![0usize];
    for m in f.magics {
        if let Some(p) = memchr::memmem::find(data, m.bytes) {
            if let Some(s) = p.checked_sub(m.at) {
                starts.push(s);
            }
        }
    }
    starts.dedup();
    let Some(chunk) = starts.into_iter().find_map(|s| (f.identify)(data, s)) else {
        return;
    };
    if let Some(extract) = f.extract {
        let dir = scratch();
        {
            let sink = Sink::new(&dir, limits()).expect("sink");
            let ctx = Ctx::new(&sink, "x".into(), "fuzz".into(), data.len() as u64);
            let _ = extract(&ctx, data, &chunk);
            let _ = sink.create_links();
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// The whole engine on `data` (scan, identify, extract, recurse).
pub fn engine(data: &[u8]) {
    let dir = scratch();
    let input = dir.join("input.bin");
    let out = dir.join("out");
    if std::fs::write(&input, data).is_ok() {
        let _ = crate::unpack(
            &input,
            &out,
            &crate::Options { limits: limits() },
            &NoProgress,
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every format id, for harnesses that loop over them.
pub fn format_ids() -> Vec<&'static str> {
    REGISTRY.iter().map(|f| f.id).collect()
}
