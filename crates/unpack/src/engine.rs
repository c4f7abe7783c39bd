//! The recursive scanner: finds chunks in a blob by magic, validates and extracts them in offset
//! order, reports the gaps with their entropy, and descends into every blob an extraction
//! produced, up to the depth limit.

use std::fs::File;
use std::sync::Mutex;

use aho_corasick::AhoCorasick;
use iotassure_core::layout::{Confidence, LayoutEntry, UnpackProblem};
use iotassure_core::progress::Progress;
use iotassure_core::tree::{Blob, BlobKind};

use crate::entropy;
use crate::formats::{self, Chunk, Ctx, ExtractError, Format, Kind, REGISTRY};
use crate::sink::{ChunkBudget, Sink};

/// Regions smaller than this between chunks are not reported.
const MIN_GAP: usize = 16;

pub struct Engine<'a> {
    pub sink: &'a Sink,
    progress: &'a dyn Progress,
    matcher: AhoCorasick,
    /// Pattern index → (format, magic offset within chunk).
    patterns: Vec<(&'static Format, usize)>,
    pub state: Mutex<State>,
}

#[derive(Default)]
pub struct State {
    pub layout: Vec<LayoutEntry>,
    pub problems: Vec<UnpackProblem>,
    pub blobs: Vec<Blob>,
    pub fs_dirs: Vec<(String, String)>,
}

impl<'a> Engine<'a> {
    pub fn new(sink: &'a Sink, progress: &'a dyn Progress) -> Engine<'a> {
        let mut pats: Vec<&[u8]> = Vec::new();
        let mut patterns = Vec::new();
        for f in REGISTRY {
            for m in f.magics {
                pats.push(m.bytes);
                patterns.push((*f, m.at));
            }
        }
        let matcher = AhoCorasick::new(&pats).expect("registry magics build an automaton");
        Engine {
            sink,
            progress,
            matcher,
            patterns,
            state: Mutex::new(State::default()),
        }
    }

    fn problem(&self, parent: &str, offset: usize, format: &str, message: String) {
        self.progress
            .note(&format!("{parent} @0x{offset:x} {format}: {message}"));
        self.state
            .lock()
            .expect("lock")
            .problems
            .push(UnpackProblem {
                parent: parent.to_string(),
                offset: offset as u64,
                format: format.to_string(),
                message,
            });
    }

    /// Candidate chunk starts in `data`, sorted by offset then registry priority.
    fn candidates(&self, data: &[u8]) -> Vec<(usize, &'static Format)> {
        let mut c: Vec<(usize, usize, &'static Format)> = self
            .matcher
            .find_overlapping_iter(data)
            .filter_map(|m| {
                let (fmt, at) = self.patterns[m.pattern().as_usize()];
                let start = m.start().checked_sub(at)?;
                let prio = REGISTRY
                    .iter()
                    .position(|f| f.id == fmt.id)
                    .unwrap_or(usize::MAX);
                Some((start, prio, fmt))
            })
            .collect();
        c.sort_by_key(|&(s, p, _)| (s, p));
        c.dedup_by_key(|&mut (s, _, f)| (s, f.id));
        c.into_iter().map(|(s, _, f)| (s, f)).collect()
    }

    /// Scans `data` (the blob at `parent`, extracted under folder `dir`) and extracts its chunks.
    /// Returns false when a global limit stopped the work.
    pub fn scan(&self, data: &[u8], parent: &str, dir: &str, depth: u32) -> bool {
        let mut pending = self.candidates(data);
        pending.reverse(); // pop() yields the lowest offset
        let mut cursor = 0usize;
        let mut found = Vec::new();
        while let Some((start, fmt)) = pending.pop() {
            if start < cursor {
                continue;
            }
            if let Err(e) = self.sink.check() {
                self.problem(parent, start, fmt.id, e.to_string());
                return false;
            }
            let Some(chunk) = (fmt.identify)(data, start) else {
                continue;
            };
            let label_dir = join(dir, &format!("0x{start:x}-{}", chunk.label));
            let provenance = if parent == "image" && depth == 0 {
                format!("image @0x{start:x} {}", chunk.label)
            } else {
                format!("{parent} → @0x{start:x} {}", chunk.label)
            };
            let mut entry = LayoutEntry {
                parent: parent.to_string(),
                offset: start as u64,
                size: chunk.size.unwrap_or(0) as u64,
                format: fmt.id.to_string(),
                description: chunk.description.clone(),
                confidence: chunk.confidence,
                depth,
                extracted_to: None,
                entropy: None,
            };
            for hint in &chunk.hints {
                if let Some(f) = formats::by_id(hint.format) {
                    if hint.offset > start {
                        insert_sorted(&mut pending, (hint.offset, f));
                    }
                }
            }
            let Some(extract) = fmt.extract else {
                // A header: record it and scan on after it.
                cursor = start + chunk.size.unwrap_or(0);
                found.push((start, cursor));
                self.state.lock().expect("lock").layout.push(entry);
                continue;
            };
            if depth >= self.sink.limits.max_depth {
                entry
                    .description
                    .push_str(" [not extracted: depth limit (--depth)]");
                self.problem(
                    parent,
                    start,
                    fmt.id,
                    format!(
                        "not extracted: depth limit of {} reached (--depth)",
                        self.sink.limits.max_depth
                    ),
                );
                self.state.lock().expect("lock").layout.push(entry);
                cursor = start + chunk.size.unwrap_or(1);
                continue;
            }
            self.progress
                .note(&format!("{provenance}: {}", short(&chunk.description)));
            match self.extract_one(extract, data, &chunk, &label_dir, &provenance) {
                Ok(formats::Extracted {
                    consumed,
                    blob,
                    note,
                }) => {
                    let end = start + consumed.max(chunk.size.unwrap_or(0)).max(1);
                    entry.size = (end - start) as u64;
                    entry.extracted_to = Some(label_dir.clone());
                    if !note.is_empty() {
                        entry.description.push_str(&format!(" [{note}]"));
                    }
                    if matches!(fmt.kind, Kind::Filesystem) {
                        self.state
                            .lock()
                            .expect("lock")
                            .fs_dirs
                            .push((label_dir.clone(), provenance.clone()));
                    }
                    self.state.lock().expect("lock").layout.push(entry);
                    cursor = end;
                    found.push((start, end));
                    if let Some((path, kind)) = blob {
                        if !self.descend(&path, kind, &provenance, &label_dir, depth + 1) {
                            return false;
                        }
                    }
                }
                Err(ExtractError::Limit(m)) => {
                    self.problem(parent, start, fmt.id, m);
                    return false;
                }
                Err(ExtractError::Bad(m)) => {
                    entry.confidence = Confidence::Low;
                    entry
                        .description
                        .push_str(&format!(" [extraction failed: {m}]"));
                    self.state.lock().expect("lock").layout.push(entry);
                    self.problem(parent, start, fmt.id, m);
                }
            }
        }
        self.report_gaps(data, parent, depth, &found);
        true
    }

    fn extract_one(
        &self,
        extract: formats::Extract,
        data: &[u8],
        chunk: &Chunk,
        dir: &str,
        provenance: &str,
    ) -> Result<formats::Extracted, ExtractError> {
        let input_size = chunk.size.unwrap_or(data.len() - chunk.offset) as u64;
        let mut ctx = Ctx {
            sink: self.sink,
            dir: dir.to_string(),
            provenance: provenance.to_string(),
            budget: ChunkBudget::new(input_size, provenance),
            problems: Vec::new(),
        };
        let r = extract(&mut ctx, data, chunk);
        for p in ctx.problems.drain(..) {
            self.problem(provenance, chunk.offset, chunk.format, p);
        }
        r
    }

    /// Maps the blob at `path` (relative to the output root) and scans it.
    fn descend(&self, path: &str, kind: BlobKind, provenance: &str, dir: &str, depth: u32) -> bool {
        let full = self.sink.root().join(path);
        let file = match File::open(&full) {
            Ok(f) => f,
            Err(e) => {
                self.problem(provenance, 0, "blob", format!("cannot reopen {path}: {e}"));
                return true;
            }
        };
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        if len == 0 {
            return true;
        }
        // SAFETY: the file was written by this process into the output folder and is not written
        // again while mapped; the map is read-only. (Another process truncating it would raise
        // SIGBUS, as with any mmap; the output folder is ours.)
        let map = match unsafe { memmap2::Mmap::map(&file) } {
            Ok(m) => m,
            Err(e) => {
                self.problem(provenance, 0, "blob", format!("cannot map {path}: {e}"));
                return true;
            }
        };
        let kind =
            if kind == BlobKind::Raw && memchr::memmem::find(&map, b"Linux version ").is_some() {
                BlobKind::Kernel
            } else {
                kind
            };
        self.state.lock().expect("lock").blobs.push(Blob {
            path: path.to_string(),
            kind,
            provenance: provenance.to_string(),
            base_address: None,
        });
        self.scan(&map, provenance, dir, depth)
    }

    fn report_gaps(&self, data: &[u8], parent: &str, depth: u32, found: &[(usize, usize)]) {
        let mut spans: Vec<(usize, usize)> = found.to_vec();
        spans.sort();
        let mut gaps = Vec::new();
        let mut pos = 0usize;
        for (s, e) in spans {
            if s > pos {
                gaps.push((pos, s));
            }
            pos = pos.max(e);
        }
        if pos < data.len() {
            gaps.push((pos, data.len()));
        }
        // A blob with no chunk at all is reported by its caller (it is just data).
        if found.is_empty() && depth > 0 {
            return;
        }
        let mut st = self.state.lock().expect("lock");
        for (s, e) in gaps {
            if e - s < MIN_GAP {
                continue;
            }
            let region = &data[s..e.min(data.len())];
            let (format, description, ent) = match entropy::padding_byte(region) {
                Some(b) => (
                    "padding".to_string(),
                    format!("padding (0x{b:02X} × {})", e - s),
                    None,
                ),
                None => {
                    let h = entropy::shannon(region);
                    let what = if h > 7.9 {
                        "high entropy: possibly encrypted or compressed with an unknown format"
                    } else if h > 6.5 {
                        "mixed data"
                    } else {
                        "low entropy: code or structured data"
                    };
                    (
                        "unknown".to_string(),
                        format!("unknown data, entropy {h:.3} bits/byte ({what})"),
                        Some(h),
                    )
                }
            };
            st.layout.push(LayoutEntry {
                parent: parent.to_string(),
                offset: s as u64,
                size: (e - s) as u64,
                format,
                description,
                confidence: Confidence::Low,
                depth,
                extracted_to: None,
                entropy: ent,
            });
        }
    }
}

fn insert_sorted(pending: &mut Vec<(usize, &'static Format)>, item: (usize, &'static Format)) {
    // `pending` is sorted descending (pop takes the lowest offset).
    let pos = pending.partition_point(|&(s, _)| s > item.0);
    pending.insert(pos, item);
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_string()
    } else {
        format!("{dir}/{name}")
    }
}

fn short(s: &str) -> String {
    if s.chars().count() > 90 {
        format!("{}…", s.chars().take(90).collect::<String>())
    } else {
        s.to_string()
    }
}
