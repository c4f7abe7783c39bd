//! The recursive scanner: finds chunks in a blob by magic, validates and extracts them in offset
//! order, reports (and at the top level carves) the gaps with their entropy, and descends into
//! every blob an extraction produced and every file of an extracted filesystem that holds a
//! known format, up to the depth limit.
//!
//! Work that does not decide where the next chunk starts runs in parallel on rayon: the scan of
//! a decompressed blob, the nested files of a filesystem, and chunks whose extent a header
//! stated. Filesystem extractors decompress their files in parallel as well.
//!
//! Nesting is walked without recursion: what an extraction produced (blobs, a filesystem's
//! files) is queued as `Work` and scanned by `Engine::scan`'s loop, a level at a time, so
//! the stack holds one level however deep the input nests (1,100 gzip layers once overflowed it).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use aho_corasick::AhoCorasick;
use iotassure_core::layout::{Confidence, LayoutEntry, UnpackProblem};
use iotassure_core::progress::Progress;
use iotassure_core::tree::{Blob, BlobKind};
use rayon::prelude::*;

use crate::ancestry::{copy_of, with, Ancestor, Ancestors};
use crate::entropy;
use crate::formats::{self, Anchor, Chunk, Ctx, ExtractError, Format, Kind, REGISTRY};
use crate::sink::Sink;

/// Regions smaller than this between chunks are not reported.
const MIN_GAP: usize = 16;
/// Time the magic-less formats (each try decodes a little) may cost in one blob: a blob made of
/// LZMA-looking headers must not take hours.
const MAX_WEAK_TIME: std::time::Duration = std::time::Duration::from_secs(10);

pub struct Engine<'a> {
    pub sink: &'a Sink,
    progress: &'a dyn Progress,
    matcher: AhoCorasick,
    /// Pattern index → (format, magic offset within chunk).
    patterns: Vec<(&'static Format, usize)>,
    /// The same without the weak magics, for files inside filesystems (where weak formats are
    /// only tried at offset 0): far fewer false hits in ELF binaries.
    strong_matcher: AhoCorasick,
    strong_patterns: Vec<(&'static Format, usize)>,
    /// Registry position of each format id: lower wins at equal offsets.
    priority: HashMap<&'static str, usize>,
    pub state: Mutex<State>,
    /// What extractions produced and is still to be scanned (the explicit work stack).
    work: Mutex<Vec<Work>>,
}

/// A nested piece still to be scanned.
enum Work {
    /// A blob an extraction wrote (a decompressed stream, a partition).
    Blob {
        blob: formats::OutBlob,
        provenance: String,
        dir: String,
        depth: u32,
        nested: bool,
        ancestors: Ancestors,
    },
    /// The regular files a filesystem extraction wrote.
    Files {
        files: Vec<String>,
        provenance: String,
        dir: String,
        depth: u32,
        ancestors: Ancestors,
    },
}

/// A filesystem folder, as candidates for the device root.
#[derive(Debug, Clone)]
pub struct FsDir {
    pub dir: String,
    pub provenance: String,
    /// Extracted from a file found inside another filesystem (a package, an update image):
    /// never the device root.
    pub nested: bool,
}

#[derive(Default)]
pub struct State {
    pub layout: Vec<LayoutEntry>,
    pub problems: Vec<UnpackProblem>,
    pub blobs: Vec<Blob>,
    pub fs_dirs: Vec<FsDir>,
    /// Headers and unknown regions written out as files (not extraction proper).
    pub carved: u64,
    /// A chunk's provenance → (its parent, its offset): orders the layout as a tree.
    pub chunks: HashMap<String, (String, u64)>,
}

impl State {
    /// Sorts the layout depth-first: every chunk is followed by what was found inside it (its
    /// decompressed blob, then the files of its filesystem).
    pub fn sort_layout(&mut self) {
        let chunks = &self.chunks;
        self.layout.sort_by_cached_key(|l| {
            let mut k = chunk_key(chunks, &l.parent);
            k.push((l.offset, String::new()));
            k
        });
    }
}

/// Where a chunk (or a file of a filesystem) sits in the image, as a sort key: the offsets (and
/// paths) along its provenance chain, outermost first. Built with a loop, innermost first, so a
/// chain of any length costs no stack; past 64 links the outer ones are left out.
fn chunk_key(chunks: &HashMap<String, (String, u64)>, provenance: &str) -> Vec<(u64, String)> {
    let mut k = Vec::new();
    let mut at = provenance;
    for _ in 0..=64 {
        if at == "image" {
            break;
        }
        if let Some((parent, off)) = chunks.get(at) {
            k.push((*off, String::new()));
            at = parent;
            continue;
        }
        match at.rsplit_once(" → /") {
            Some((fs, path)) => {
                k.push((u64::MAX, path.to_string()));
                at = fs;
            }
            None => {
                // A region carved from the image itself (`image @0x200 unknown`): its offset.
                let off = at
                    .strip_prefix("image @0x")
                    .and_then(|r| r.split(' ').next())
                    .and_then(|h| u64::from_str_radix(h, 16).ok());
                k.push(match off {
                    Some(o) => (o, String::new()),
                    None => (u64::MAX, at.to_string()),
                });
                break;
            }
        }
    }
    k.reverse();
    k
}

/// Where a blob being scanned sits.
#[derive(Debug, Clone)]
pub struct Scope {
    /// Provenance of the blob (`image`, `image @0x200 lzma`).
    pub parent: String,
    /// Output folder for its chunks, relative to the output root.
    pub dir: String,
    pub depth: u32,
    /// A regular file from inside an extracted filesystem: weak formats only at offset 0, no
    /// gap report, nothing said when nothing is found.
    pub in_file: bool,
    /// The file the data was mapped from.
    pub source: Option<std::path::PathBuf>,
    /// Below a file found inside a filesystem (a package, an update image): what is extracted
    /// here is never the device root.
    pub nested: bool,
    pub ancestors: Ancestors,
}

impl Scope {
    /// The input image, whose size and SHA-256 the caller has computed.
    pub fn image(input: &std::path::Path, len: u64, sha256: [u8; 32]) -> Scope {
        Scope {
            parent: "image".into(),
            dir: String::new(),
            depth: 0,
            in_file: false,
            source: Some(input.to_path_buf()),
            nested: false,
            ancestors: Arc::new(vec![Ancestor {
                len,
                sha256,
                what: "the input image".into(),
            }]),
        }
    }

    fn provenance(&self, offset: usize, label: &str) -> String {
        if self.parent == "image" && self.depth == 0 {
            format!("image @0x{offset:x} {label}")
        } else {
            format!("{} → @0x{offset:x} {label}", self.parent)
        }
    }
}

struct Candidate {
    start: usize,
    format: &'static Format,
    /// Extent stated by a header hint.
    size: Option<usize>,
    /// The header that placed this candidate (its offset), for hints.
    hinted_by: Option<usize>,
}

impl<'a> Engine<'a> {
    pub fn new(sink: &'a Sink, progress: &'a dyn Progress) -> Engine<'a> {
        let mut pats: Vec<&[u8]> = Vec::new();
        let mut patterns = Vec::new();
        for f in REGISTRY {
            if f.anchor == Anchor::Start {
                continue; // tried at offset 0 only, without the automaton
            }
            for m in f.magics {
                pats.push(m.bytes);
                patterns.push((*f, m.at));
            }
        }
        let build = |p: &[&[u8]]| {
            aho_corasick::AhoCorasickBuilder::new()
                .kind(Some(aho_corasick::AhoCorasickKind::DFA))
                .build(p)
                .expect("registry magics build an automaton")
        };
        let matcher = build(&pats);
        let strong: Vec<usize> = (0..patterns.len())
            .filter(|&i| patterns[i].0.anchor == Anchor::Anywhere)
            .collect();
        let strong_pats: Vec<&[u8]> = strong.iter().map(|&i| pats[i]).collect();
        let strong_patterns = strong.iter().map(|&i| patterns[i]).collect();
        let strong_matcher = build(&strong_pats);
        let priority = REGISTRY
            .iter()
            .enumerate()
            .map(|(i, f)| (f.id, i))
            .collect();
        Engine {
            sink,
            progress,
            matcher,
            patterns,
            strong_matcher,
            strong_patterns,
            priority,
            state: Mutex::new(State::default()),
            work: Mutex::new(Vec::new()),
        }
    }

    /// Scans `data` (the blob described by `scope`), extracts its chunks and then everything
    /// nested in them, level by level; returns when all of it is done.
    pub fn scan(&self, data: &[u8], scope: &Scope) {
        self.scan_blob(data, scope);
        loop {
            let batch = std::mem::take(&mut *self.work.lock().expect("lock"));
            if batch.is_empty() {
                break;
            }
            batch.into_par_iter().for_each(|w| match w {
                Work::Blob {
                    blob,
                    provenance,
                    dir,
                    depth,
                    nested,
                    ancestors,
                } => self.descend(&blob, &provenance, &dir, depth, nested, &ancestors),
                Work::Files {
                    files,
                    provenance,
                    dir,
                    depth,
                    ancestors,
                } => self.nested_files(&files, &provenance, &dir, depth, &ancestors),
            });
        }
        // Discovery order depends on the level-by-level walk and on threads: put blobs and
        // filesystems in the order of the image, as the layout is.
        let mut state = self.state.lock().expect("lock");
        let State {
            blobs,
            fs_dirs,
            chunks,
            ..
        } = &mut *state;
        blobs.sort_by_cached_key(|b| chunk_key(chunks, &b.provenance));
        fs_dirs.sort_by_cached_key(|f| chunk_key(chunks, &f.provenance));
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

    fn push_layout(&self, entry: LayoutEntry) {
        self.state.lock().expect("lock").layout.push(entry);
    }

    /// Candidate chunk starts in `data`, sorted by offset then registry priority.
    fn candidates(&self, data: &[u8], in_file: bool) -> Vec<Candidate> {
        let mut c: Vec<(usize, usize, &'static Format)> = Vec::new();
        for f in REGISTRY.iter().filter(|f| f.anchor == Anchor::Start) {
            // A format known by structure alone (a vector table) names a whole image; a file
            // inside a filesystem that looks like one is the system's data (co-processor
            // firmware), not the device's program.
            if in_file && f.magics.iter().all(|m| m.bytes.is_empty()) {
                continue;
            }
            if f.magics.iter().any(|m| {
                data.get(m.at..m.at + m.bytes.len())
                    .is_some_and(|b| b == m.bytes)
            }) {
                c.push((0, self.priority[f.id], f));
            }
        }
        let (matcher, patterns) = if in_file {
            (&self.strong_matcher, &self.strong_patterns)
        } else {
            (&self.matcher, &self.patterns)
        };
        if in_file {
            // Weak formats: offset 0 only.
            for f in REGISTRY.iter().filter(|f| f.anchor == Anchor::Weak) {
                if f.magics.iter().any(|m| {
                    data.get(m.at..m.at + m.bytes.len())
                        .is_some_and(|b| b == m.bytes)
                }) {
                    c.push((0, self.priority[f.id], f));
                }
            }
        }
        for m in matcher.find_overlapping_iter(data) {
            let (fmt, at) = patterns[m.pattern().as_usize()];
            let Some(start) = m.start().checked_sub(at) else {
                continue;
            };
            if in_file && fmt.anchor == Anchor::Weak && start != 0 {
                continue;
            }
            c.push((start, self.priority[fmt.id], fmt));
        }
        c.sort_by_key(|&(s, p, _)| (s, p));
        c.dedup_by_key(|&mut (s, _, f)| (s, f.id));
        c.into_iter()
            .map(|(start, _, format)| Candidate {
                start,
                format,
                size: None,
                hinted_by: None,
            })
            .collect()
    }

    /// Scans `data` (the blob described by `scope`) and extracts its chunks; blocks until every
    /// chunk it started has finished. What the chunks produced is queued, not scanned here.
    fn scan_blob(&self, data: &[u8], scope: &Scope) {
        let mut pending = self.candidates(data, scope.in_file);
        if scope.in_file && pending.is_empty() {
            return;
        }
        pending.reverse(); // pop() yields the lowest offset
        let found: Mutex<Vec<(usize, usize)>> = Mutex::new(Vec::new());
        rayon::scope(|s| {
            let mut cursor = 0usize;
            let mut weak_time = std::time::Duration::ZERO;
            let mut weak_stopped = false;
            while let Some(cand) = pending.pop() {
                if cand.start < cursor {
                    // A header placed a chunk inside another one. Only a chunk that is really
                    // there makes this an overlap (OpenWrt's headers keep a nominal rootfs
                    // offset inside the kernel).
                    if let Some(h) = cand
                        .hinted_by
                        .filter(|_| (cand.format.identify)(data, cand.start).is_some())
                    {
                        self.problem(
                            &scope.parent,
                            cand.start,
                            cand.format.id,
                            format!(
                                "the header at 0x{h:x} places {} at 0x{:x}, inside the chunk before it (overlapping regions): not extracted twice",
                                cand.format.id, cand.start
                            ),
                        );
                    }
                    continue;
                }
                let fmt = cand.format;
                if let Err(e) = self.sink.check() {
                    self.problem(&scope.parent, cand.start, fmt.id, e.to_string());
                    break;
                }
                if fmt.anchor == Anchor::Weak && weak_time > MAX_WEAK_TIME {
                    continue;
                }
                let t0 = std::time::Instant::now();
                let found_chunk = (fmt.identify)(data, cand.start);
                if fmt.anchor == Anchor::Weak {
                    weak_time += t0.elapsed();
                    if weak_time > MAX_WEAK_TIME && !weak_stopped {
                        weak_stopped = true;
                        self.problem(
                            &scope.parent,
                            cand.start,
                            fmt.id,
                            format!(
                                "trying LZMA/zlib-like candidates took over {} s: the rest of this blob is not searched for magic-less formats",
                                MAX_WEAK_TIME.as_secs()
                            ),
                        );
                    }
                }
                let Some(mut chunk) = found_chunk else {
                    continue;
                };
                if chunk.offset < cursor {
                    continue;
                }
                let start = chunk.offset;
                // A carved image at the start of a file is that file (a .gif is a GIF).
                if fmt.kind == Kind::Carve && scope.in_file && start == 0 {
                    cursor = data.len();
                    continue;
                }
                if chunk.size.is_none() {
                    chunk.size = cand.size.filter(|&n| n > 0 && start + n <= data.len());
                }
                for hint in &chunk.hints {
                    if let Some(f) = formats::by_id(hint.format) {
                        if hint.offset > start && hint.offset < data.len() {
                            insert_sorted(
                                &mut pending,
                                Candidate {
                                    start: hint.offset,
                                    format: f,
                                    size: hint.size,
                                    hinted_by: Some(start),
                                },
                            );
                        }
                    }
                }
                let provenance = scope.provenance(start, &chunk.label);
                self.state
                    .lock()
                    .expect("lock")
                    .chunks
                    .insert(provenance.clone(), (scope.parent.clone(), start as u64));
                let label_dir = join(&scope.dir, &format!("0x{start:x}-{}", chunk.label));
                let mut entry = LayoutEntry {
                    parent: scope.parent.clone(),
                    offset: start as u64,
                    size: chunk.size.unwrap_or(0) as u64,
                    format: chunk.format.to_string(),
                    description: chunk.description.clone(),
                    confidence: chunk.confidence,
                    depth: scope.depth,
                    extracted_to: None,
                    entropy: None,
                    facts: chunk.facts.clone(),
                };
                let Some(extract) = fmt.extract else {
                    // A header: record it, keep its bytes (vendor strings, digests, versions are
                    // evidence), and scan on after it.
                    cursor = start + chunk.size.unwrap_or(0);
                    found.lock().expect("lock").push((start, cursor));
                    if !scope.in_file && !matches!(fmt.id, "linux-kernel" | "openwrt-deadc0de") {
                        let name = join(&scope.dir, &format!("0x{start:x}-{}.bin", chunk.label));
                        if let Some(bytes) = data.get(start..cursor) {
                            if let Some(p) =
                                self.carve(&name, bytes, &scope.parent, start, &provenance)
                            {
                                entry.extracted_to = Some(p);
                            }
                        }
                    }
                    self.push_layout(entry);
                    continue;
                };
                if scope.depth >= self.sink.limits.max_depth {
                    entry
                        .description
                        .push_str(" [not extracted: depth limit (--depth)]");
                    self.problem(
                        &scope.parent,
                        start,
                        fmt.id,
                        format!(
                            "not extracted: depth limit of {} reached (--depth)",
                            self.sink.limits.max_depth
                        ),
                    );
                    cursor = start + chunk.size.unwrap_or(1);
                    found.lock().expect("lock").push((start, cursor));
                    self.push_layout(entry);
                    continue;
                }
                self.progress
                    .note(&format!("{provenance}: {}", short(&chunk.description)));
                // A header stated this chunk's extent (or its own header is checksummed): the
                // next chunk's start does not depend on extracting it, so it runs beside the scan.
                let known_extent = chunk.size.is_some()
                    && (cand.size.is_some() || chunk.confidence == Confidence::High)
                    && fmt.kind != Kind::Filesystem;
                let found = &found;
                if known_extent {
                    let end = start + chunk.size.unwrap_or(1);
                    cursor = end;
                    let scope = scope.clone();
                    s.spawn(move |_| {
                        if let Some(e) =
                            self.run_chunk(data, chunk, fmt, extract, entry, &scope, label_dir)
                        {
                            found.lock().expect("lock").push((start, e));
                        }
                    });
                    // The region counts as found even if extraction fails: the header said so.
                    found.lock().expect("lock").push((start, end));
                } else if let Some(end) =
                    self.run_chunk(data, chunk, fmt, extract, entry, scope, label_dir)
                {
                    cursor = end;
                    found.lock().expect("lock").push((start, end));
                }
            }
        });
        if !scope.in_file {
            self.report_gaps(data, scope, &found.into_inner().expect("lock"));
        }
    }

    /// Extracts one chunk and records it; descends into what it produced. Returns the chunk's
    /// end, or `None` when extraction failed (the bytes may hold other chunks).
    #[allow(clippy::too_many_arguments)]
    fn run_chunk(
        &self,
        data: &[u8],
        chunk: Chunk,
        fmt: &'static Format,
        extract: formats::Extract,
        mut entry: LayoutEntry,
        scope: &Scope,
        label_dir: String,
    ) -> Option<usize> {
        let start = chunk.offset;
        let provenance = scope.provenance(start, &chunk.label);
        // A chunk whose extent is known sees only its own bytes.
        let view = match chunk.size {
            Some(n) if start + n <= data.len() => &data[..start + n],
            _ => data,
        };
        let input_size = chunk.size.unwrap_or(view.len() - start) as u64;
        let mut ancestors = scope.ancestors.clone();
        if fmt.kind == Kind::Filesystem {
            // A filesystem that is the whole blob is that blob, already among the ancestors
            // (or a file of a filesystem, added here).
            let whole = chunk.size == Some(data.len());
            if let Some(bytes) = chunk.size.and_then(|n| data.get(start..start + n)) {
                if let Some(a) = copy_of(&ancestors, bytes).filter(|_| !whole) {
                    let m = format!(
                        "this {} is a copy of {}, which it is inside (an image that contains itself): not extracted again",
                        chunk.label, a.what
                    );
                    entry.description.push_str(&format!(" [{m}]"));
                    entry.confidence = Confidence::Low;
                    self.push_layout(entry);
                    self.problem(&scope.parent, start, chunk.format, m);
                    return Some(start + bytes.len().max(1));
                }
                if !whole || !ancestors.iter().any(|a| a.len == bytes.len() as u64) {
                    ancestors = with(&ancestors, bytes, &provenance);
                }
            }
        }
        let mut ctx = Ctx::new(self.sink, label_dir.clone(), provenance.clone(), input_size);
        ctx.source = scope.source.clone();
        let result = extract(&ctx, view, &chunk);
        for p in ctx.problems.lock().expect("lock").drain(..) {
            self.problem(&provenance, 0, chunk.format, p);
        }
        match result {
            Ok(ex) => {
                let end = start + ex.consumed.max(chunk.size.unwrap_or(0)).max(1);
                // The layout shows what the format itself occupied; the scan skips the whole
                // extent a header gave it.
                entry.size = if ex.consumed > 0 {
                    ex.consumed
                } else {
                    end - start
                } as u64;
                entry.extracted_to = Some(label_dir.clone());
                if !ex.note.is_empty() {
                    entry.description.push_str(&format!(" [{}]", ex.note));
                }
                entry.facts.extend(ex.facts.clone());
                if fmt.kind == Kind::Filesystem {
                    self.state.lock().expect("lock").fs_dirs.push(FsDir {
                        dir: label_dir.clone(),
                        provenance: provenance.clone(),
                        nested: scope.nested,
                    });
                }
                self.push_layout(entry);
                let files = std::mem::take(&mut *ctx.files.lock().expect("lock"));
                let depth = scope.depth + 1;
                let mut work = self.work.lock().expect("lock");
                work.extend(ex.blobs.iter().map(|b| Work::Blob {
                    blob: b.clone(),
                    provenance: provenance.clone(),
                    dir: label_dir.clone(),
                    depth,
                    nested: scope.nested,
                    ancestors: ancestors.clone(),
                }));
                if fmt.kind == Kind::Filesystem && !files.is_empty() {
                    work.push(Work::Files {
                        files,
                        provenance,
                        dir: label_dir,
                        depth,
                        ancestors,
                    });
                }
                Some(end)
            }
            Err(ExtractError::Limit(m)) => {
                entry.description.push_str(&format!(" [stopped: {m}]"));
                entry.confidence = Confidence::Low;
                self.push_layout(entry);
                self.problem(&scope.parent, start, chunk.format, m);
                None
            }
            Err(ExtractError::Bad(m)) => {
                entry.confidence = Confidence::Low;
                entry
                    .description
                    .push_str(&format!(" [extraction failed: {m}]"));
                self.push_layout(entry);
                self.problem(&scope.parent, start, chunk.format, m);
                None
            }
        }
    }

    /// Maps the blob and scans it.
    fn descend(
        &self,
        blob: &formats::OutBlob,
        provenance: &str,
        dir: &str,
        depth: u32,
        nested: bool,
        ancestors: &Ancestors,
    ) {
        let full = self.sink.root().join(&blob.path);
        let Some(map) = self.map(&full, provenance) else {
            return;
        };
        if let Some(a) = copy_of(ancestors, &map) {
            self.problem(
                provenance,
                0,
                "blob",
                format!(
                    "{} is a copy of {}, which it is inside (an image that contains itself): not scanned again",
                    blob.path, a.what
                ),
            );
            return;
        }
        let ancestors = with(ancestors, &map, provenance);
        let kind = if blob.kind == BlobKind::Raw && crate::formats::linux::is_kernel(&map) {
            BlobKind::Kernel
        } else {
            blob.kind
        };
        self.state.lock().expect("lock").blobs.push(Blob {
            path: blob.path.clone(),
            kind,
            provenance: provenance.to_string(),
            base_address: blob.base_address,
        });
        self.scan_blob(
            &map,
            &Scope {
                parent: provenance.to_string(),
                dir: dir.to_string(),
                depth,
                in_file: false,
                source: Some(full),
                nested,
                ancestors,
            },
        );
    }

    fn map(&self, full: &std::path::Path, provenance: &str) -> Option<memmap2::Mmap> {
        let file = match iotassure_core::tree::open_nofollow(full) {
            Ok(f) => f,
            Err(e) => {
                self.problem(
                    provenance,
                    0,
                    "blob",
                    format!("cannot reopen {}: {e}", full.display()),
                );
                return None;
            }
        };
        if file.metadata().map(|m| m.len()).unwrap_or(0) == 0 {
            return None;
        }
        // SAFETY: the file was written by this process into the output folder and is not
        // written again while mapped; the map is read-only. (Another process truncating it would
        // raise SIGBUS, as with any mmap; the output folder is ours.)
        match unsafe { memmap2::Mmap::map(&file) } {
            Ok(m) => Some(m),
            Err(e) => {
                self.problem(
                    provenance,
                    0,
                    "blob",
                    format!("cannot map {}: {e}", full.display()),
                );
                None
            }
        }
    }

    /// Scans the regular files a filesystem extraction wrote. What they hold goes beside the
    /// filesystem (`<chunk>.nested/<path>/…`), never into it, so the device root stays as the
    /// device has it.
    fn nested_files(
        &self,
        files: &[String],
        fs_provenance: &str,
        fs_dir: &str,
        depth: u32,
        ancestors: &Ancestors,
    ) {
        if depth >= self.sink.limits.max_depth {
            return;
        }
        let prefix = format!("{fs_dir}/");
        files.par_iter().for_each(|path| {
            if self.sink.check().is_err() {
                return;
            }
            let rel = path.strip_prefix(&prefix).unwrap_or(path);
            let full = self.sink.root().join(path);
            let Ok(meta) = std::fs::symlink_metadata(&full) else {
                return;
            };
            if !meta.is_file() || meta.len() < 16 {
                return;
            }
            // Small files are read (one system call); large ones mapped.
            let small;
            let map;
            let data: &[u8] = if meta.len() <= 256 * 1024 {
                match iotassure_core::tree::read_limited(&full, 256 * 1024) {
                    Ok(v) => {
                        small = v;
                        &small
                    }
                    Err(_) => return,
                }
            } else {
                match self.map(&full, fs_provenance) {
                    Some(m) => {
                        map = m;
                        &map
                    }
                    None => return,
                }
            };
            let parent = format!("{fs_provenance} → /{rel}");
            if let Some(a) = copy_of(ancestors, data) {
                self.problem(
                    &parent,
                    0,
                    "file",
                    format!(
                        "/{rel} is a copy of {}, which it is inside (an image that contains itself): not scanned",
                        a.what
                    ),
                );
                return;
            }
            self.scan_blob(
                data,
                &Scope {
                    parent,
                    dir: format!("{fs_dir}.nested/{rel}"),
                    depth,
                    in_file: true,
                    source: Some(full.clone()),
                    nested: true,
                    ancestors: ancestors.clone(),
                },
            );
        });
    }

    fn report_gaps(&self, data: &[u8], scope: &Scope, found: &[(usize, usize)]) {
        let mut spans: Vec<(usize, usize)> = found.to_vec();
        spans.sort();
        let mut raw_gaps = Vec::new();
        let mut pos = 0usize;
        for (s, e) in spans {
            if s > pos {
                raw_gaps.push((pos, s));
            }
            pos = pos.max(e);
        }
        if pos < data.len() {
            raw_gaps.push((pos, data.len()));
        }
        // Erased flash (0xFF) or zero runs at either end of a gap are padding of their own.
        let mut gaps = Vec::new();
        for (mut s, e) in raw_gaps {
            let lead = padding_run(&data[s..e]);
            if lead >= MIN_GAP && lead < e - s {
                gaps.push((s, s + lead));
                s += lead;
            }
            let tail: Vec<u8> = data[s..e].iter().rev().take(1 << 20).copied().collect();
            let trail = padding_run(&tail);
            if trail >= MIN_GAP && trail < e - s {
                gaps.push((s, e - trail));
                gaps.push((e - trail, e));
            } else {
                gaps.push((s, e));
            }
        }
        // A blob with no chunk at all is reported by its caller (it is just data).
        if found.is_empty() && scope.depth > 0 {
            return;
        }
        for (s, e) in gaps {
            if e - s < MIN_GAP {
                continue;
            }
            let region = &data[s..e.min(data.len())];
            let mut entry = LayoutEntry {
                parent: scope.parent.clone(),
                offset: s as u64,
                size: (e - s) as u64,
                format: String::new(),
                description: String::new(),
                confidence: Confidence::Low,
                depth: scope.depth,
                extracted_to: None,
                entropy: None,
                facts: BTreeMap::new(),
            };
            match entropy::padding_byte(region) {
                Some(b) => {
                    entry.format = "padding".into();
                    entry.description = format!("padding (0x{b:02X} × {})", e - s);
                    // In the input image every region ends up in a file, padding included (an
                    // erased partition is part of the flash map); inside blobs it is noise.
                    if scope.depth == 0 {
                        let name = join(&scope.dir, &format!("0x{s:x}-padding.bin"));
                        let prov = format!("{} @0x{s:x} padding", scope.parent);
                        entry.extracted_to = self.carve(&name, region, &scope.parent, s, &prov);
                    }
                }
                None => {
                    let h = entropy::shannon(region);
                    let what = if h > 7.9 {
                        "high entropy: possibly encrypted or compressed with an unknown format"
                    } else if h > 6.5 {
                        "mixed data"
                    } else {
                        "low entropy: code or structured data"
                    };
                    entry.format = "unknown".into();
                    entry.description = format!("unknown data, entropy {h:.3} bits/byte ({what})");
                    entry.entropy = Some(h);
                    entry
                        .facts
                        .insert("possibly_encrypted".into(), (h > 7.9).into());
                    let name = join(&scope.dir, &format!("0x{s:x}-unknown.bin"));
                    let prov = format!("{} @0x{s:x} unknown", scope.parent);
                    if let Some(path) = self.carve(&name, region, &scope.parent, s, &prov) {
                        entry.extracted_to = Some(path.clone());
                        // Only the input's own unknown regions are blobs for the checks: a
                        // region of a decompressed blob is already inside that blob.
                        if scope.depth == 0 {
                            self.state.lock().expect("lock").blobs.push(Blob {
                                path,
                                kind: BlobKind::Raw,
                                provenance: prov,
                                base_address: None,
                            });
                        }
                    }
                }
            }
            self.push_layout(entry);
        }
    }

    /// Writes an unknown region to a file of its own, so it can be examined (strings, keys).
    fn carve(
        &self,
        name: &str,
        region: &[u8],
        parent: &str,
        offset: usize,
        prov: &str,
    ) -> Option<String> {
        use std::io::Write;
        let mut f = match self.sink.file(name, Default::default(), prov, None) {
            Ok(f) => f,
            Err(e) => {
                self.problem(parent, offset, "unknown", format!("not carved: {e}"));
                return None;
            }
        };
        if let Err(e) = f.write_all(region) {
            self.problem(parent, offset, "unknown", format!("not carved: {e}"));
        }
        f.finish();
        self.state.lock().expect("lock").carved += 1;
        Some(name.to_string())
    }
}

/// Length of the run of 0x00 or 0xFF bytes that starts `d`.
fn padding_run(d: &[u8]) -> usize {
    match d.first() {
        Some(&b) if b == 0 || b == 0xff => d.iter().take_while(|&&x| x == b).count(),
        _ => 0,
    }
}

fn insert_sorted(pending: &mut Vec<Candidate>, item: Candidate) {
    // `pending` is sorted descending (pop takes the lowest offset); a hint is tried before the
    // magic candidates at the same offset, since it carries the extent its header stated.
    let pos = pending.partition_point(|c| c.start >= item.start);
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
