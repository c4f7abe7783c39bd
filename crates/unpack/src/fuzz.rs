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
        max_memory: 256 << 20,
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

/// How far one run got: a harness that never reaches its parser tests nothing, and the smoke
/// test (`every_fuzz_target_reaches_its_parser` in `tests/fuzz_smoke.rs`) checks every
/// target's seed against this.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reached {
    /// The format's header check accepted the input.
    pub identified: bool,
    /// The extractor ran (formats that have one).
    pub extracted: bool,
    /// Entries (files, folders, links, blobs) the run recorded: the parser walked the content.
    pub entries: usize,
    /// Problems the parser recorded along the way.
    pub problems: usize,
}

/// Runs one format's parser on `data`: identify where its magic first occurs (or at 0), then
/// extract, as the engine does (with the data in a file, for readers that want a handle).
pub fn format(id: &str, data: &[u8]) -> Reached {
    let f = by_id(id).unwrap_or_else(|| panic!("no format {id}"));
    let mut starts = vec![0usize];
    for m in f.magics {
        if let Some(p) = memchr::memmem::find(data, m.bytes) {
            if let Some(s) = p.checked_sub(m.at) {
                starts.push(s);
            }
        }
    }
    // A format without a magic is found only through another's hint, at a sector boundary.
    if f.magics.is_empty() {
        starts.extend((1..=0x40).map(|i| i * 0x1000).filter(|&s| s < data.len()));
    }
    starts.dedup();
    let mut reached = Reached::default();
    let Some(chunk) = starts.into_iter().find_map(|s| (f.identify)(data, s)) else {
        return reached;
    };
    reached.identified = true;
    if let Some(extract) = f.extract {
        let dir = scratch();
        let input = dir.join("input.bin");
        let out = dir.join("out");
        if std::fs::write(&input, data).is_ok() && std::fs::create_dir(&out).is_ok() {
            let sink = Sink::new(&out, limits()).expect("sink");
            let mut ctx = Ctx::new(&sink, "x".into(), "fuzz".into(), data.len() as u64);
            // The ext reader reads through a file handle: without one it returned at once.
            ctx.source = Some(input);
            let r = extract(&ctx, data, &chunk);
            let _ = sink.create_links();
            reached.extracted = true;
            reached.problems =
                ctx.problems.lock().map(|p| p.len()).unwrap_or(0) + usize::from(r.is_err());
            if let Ok(ex) = &r {
                reached.entries += ex.blobs.len();
            }
            drop(ctx);
            let (entries, _) = sink.into_parts();
            // The chunk folder itself is not the parser's work.
            reached.entries += entries.iter().filter(|e| e.path != "x").count();
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    reached
}

/// The whole engine on `data` (scan, identify, extract, recurse).
pub fn engine(data: &[u8]) -> Reached {
    let dir = scratch();
    let input = dir.join("input.bin");
    let out = dir.join("out");
    let mut reached = Reached::default();
    if std::fs::write(&input, data).is_ok() {
        let r = crate::unpack(
            &input,
            &out,
            &crate::Options { limits: limits() },
            &NoProgress,
        )
        .or_else(crate::UnpackError::into_damaged);
        if let Ok(u) = r {
            reached.identified = true;
            reached.extracted = true;
            reached.entries = u.tree.entries.len();
            reached.problems = u.summary.problems.len();
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    reached
}

/// Every format id, for harnesses that loop over them.
pub fn format_ids() -> Vec<&'static str> {
    REGISTRY.iter().map(|f| f.id).collect()
}
