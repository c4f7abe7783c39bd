//! Static inspection: the extracted tree → findings, each tied to EN 303 645 provisions with
//! evidence (path with provenance chain, line or offset, excerpt).
//!
//! Every regular file is read once, in parallel, into [`Ctx`] (bounded per file and in total);
//! ELF files are parsed once ([`elf::ElfInfo`]). Checks registered in [`checks::CHECKS`] then
//! work from memory. Each check records that it ran (and over how many items), so the verdict
//! engine can tell "looked and found nothing" from "could not look".

pub mod checks;
pub mod crack;
pub mod elf;
pub mod facts;
pub mod mcu_sdk;
pub mod nopass;
pub mod nvram;
pub mod text;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use iotassure_core::finding::{Component, FileDigest, Location, Observations, Source};
use iotassure_core::progress::Progress;
use iotassure_core::tree::{Blob, BlobKind, Entry, EntryKind, RootfsView, Tree};
use rayon::prelude::*;

pub use crack::Wordlist;

#[derive(Debug, Clone)]
pub struct Options {
    /// Candidate passwords for cracking (built-in list plus `--creds` files).
    pub wordlist: Wordlist,
    /// Wall time for cracking all hashes of an image.
    pub crack_budget: Duration,
    /// The input image as given (for container headers: signatures, checksums). `None` when
    /// only a tree is available.
    pub image: Option<PathBuf>,
    /// Bytes read from one file at most; larger files are examined up to this size.
    pub max_file: u64,
    /// Bytes read from all files together at most; beyond this, files are skipped (and the
    /// checks say so through their examined counts).
    pub max_total: u64,
    /// Heap in use (as the binary's counting allocator reports it) past which files are no
    /// longer read and the remaining checks do not run; see [`inspect_within`].
    pub max_memory: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            wordlist: Wordlist::builtin(),
            crack_budget: Duration::from_secs(20),
            image: None,
            max_file: 32 << 20,
            max_total: 1 << 30,
            max_memory: 2 << 30,
        }
    }
}

/// One regular file of a root filesystem, read once.
pub struct FileRec<'a> {
    /// Path inside the root filesystem (leading `/`).
    pub path: String,
    pub entry: &'a Entry,
    pub data: Vec<u8>,
    /// True when the file is larger than [`Options::max_file`] (or the total budget ran out)
    /// and `data` holds only a prefix (or nothing).
    pub truncated: bool,
    /// Parsed ELF facts, when the file is an ELF object.
    pub elf: Option<elf::ElfInfo>,
}

impl FileRec<'_> {
    pub fn base(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or("")
    }
    pub fn is_text(&self) -> bool {
        text::is_text(&self.data)
    }
}

/// A root filesystem with its files in memory.
pub struct Root<'a> {
    pub view: RootfsView<'a>,
    /// Regular files, sorted by path.
    pub files: Vec<FileRec<'a>>,
    index: HashMap<String, usize>,
}

impl<'a> Root<'a> {
    /// The file at `path`, following symlinks inside the image.
    pub fn file(&self, path: &str) -> Option<&FileRec<'a>> {
        let (canonical, e) = self.view.resolve(path)?;
        if e.kind != EntryKind::File {
            return None;
        }
        self.index.get(&canonical).map(|&i| &self.files[i])
    }

    /// The file's text (lossy), when it exists and looks like text.
    pub fn text(&self, path: &str) -> Option<(&FileRec<'a>, String)> {
        let f = self.file(path)?;
        f.is_text()
            .then(|| (f, String::from_utf8_lossy(&f.data).into_owned()))
    }

    pub fn exists(&self, path: &str) -> bool {
        self.view.resolve(path).is_some()
    }

    pub fn location(
        &self,
        path: &str,
        line: Option<u32>,
        offset: Option<u64>,
    ) -> iotassure_core::finding::Location {
        self.view.location(path, line, offset)
    }
}

/// A blob (kernel, MCU firmware, raw stream) in memory.
pub struct BlobRec<'a> {
    pub blob: &'a Blob,
    pub data: Vec<u8>,
    /// A Linux kernel: declared so by the unpacker, or it carries a `Linux version` banner.
    pub is_kernel: bool,
}

/// What a check sees.
pub struct Ctx<'a> {
    pub tree: &'a Tree,
    pub roots: Vec<Root<'a>>,
    pub blobs: Vec<BlobRec<'a>>,
    /// The input image's bytes (up to `max_file`), when known.
    pub image: Option<(String, Vec<u8>)>,
    pub opts: &'a Options,
    /// All cracking shares one budget, from the start of inspection.
    pub crack_deadline: Instant,
    cracked: Mutex<HashMap<String, crack::CrackResult>>,
    /// Where cracking reports how far it got; set by [`inspect_within`].
    progress: Option<&'a dyn Progress>,
    /// Files and blobs left unread because memory ran short (count, bytes).
    skipped: (u64, u64),
}

/// The part of `--max-memory` kept free for the checks themselves when files are loaded: the
/// file data is most of what inspection holds, and a check that cannot allocate has no way to
/// stop cleanly.
fn load_ceiling(max_memory: u64) -> u64 {
    max_memory - max_memory / 4
}

/// Decides, before any file is read, which reads fit in memory: the heap in use now plus every
/// admitted read stays under [`load_ceiling`]. Deciding up front (not per parallel reader) keeps
/// the outcome the same on every run, and smallest first keeps the many small configuration
/// files the checks live on ahead of a few large blobs.
struct MemoryPlan {
    left: u64,
    skipped: (u64, u64),
}

impl MemoryPlan {
    fn new(max_memory: u64) -> MemoryPlan {
        let live = iotassure_core::memory::live() as u64;
        MemoryPlan {
            left: load_ceiling(max_memory).saturating_sub(live),
            skipped: (0, 0),
        }
    }

    /// Keeps the `takes` that fit (others become 0), smallest first.
    fn admit(&mut self, takes: &mut [u64]) {
        let mut order: Vec<usize> = (0..takes.len()).collect();
        order.sort_by_key(|&i| takes[i]);
        for i in order {
            if takes[i] <= self.left {
                self.left -= takes[i];
            } else {
                self.skipped.0 += 1;
                self.skipped.1 += takes[i];
                takes[i] = 0;
            }
        }
    }
}

impl<'a> Ctx<'a> {
    /// Reads every file and blob once (in parallel) and parses ELF files.
    pub fn load(tree: &'a Tree, opts: &'a Options) -> Ctx<'a> {
        let mut memory = MemoryPlan::new(opts.max_memory);
        let mut budget = opts.max_total;
        let roots = tree
            .rootfs_views()
            .into_iter()
            .map(|view| {
                let listed = view.files();
                let mut takes: Vec<u64> = listed
                    .iter()
                    .map(|(_, entry)| {
                        let take = entry.size.min(opts.max_file).min(budget);
                        budget -= take;
                        take
                    })
                    .collect();
                memory.admit(&mut takes);
                let files: Vec<FileRec<'a>> = listed
                    .into_iter()
                    .zip(takes)
                    .collect::<Vec<_>>()
                    .into_par_iter()
                    .map(|((path, entry), take)| {
                        let data = if take > 0 {
                            view.read_entry(entry, take).unwrap_or_default()
                        } else {
                            Vec::new()
                        };
                        let truncated = (data.len() as u64) < entry.size;
                        let elf = elf::ElfInfo::parse_named(&data, &path);
                        FileRec {
                            path,
                            entry,
                            data,
                            truncated,
                            elf,
                        }
                    })
                    .collect();
                let index = files
                    .iter()
                    .enumerate()
                    .map(|(i, f)| (f.path.clone(), i))
                    .collect();
                Root { view, files, index }
            })
            .collect();
        let mut takes: Vec<u64> = tree
            .blobs
            .iter()
            .map(|blob| {
                let size = std::fs::metadata(tree.root.join(&blob.path)).map_or(0, |m| m.len());
                size.min(opts.max_file.max(64 << 20))
            })
            .collect();
        memory.admit(&mut takes);
        let blobs = tree
            .blobs
            .par_iter()
            .zip(takes)
            .map(|(blob, take)| {
                let data = if take > 0 {
                    tree.read_blob(blob, take).unwrap_or_default()
                } else {
                    Vec::new()
                };
                let is_kernel = blob.kind == BlobKind::Kernel
                    || (blob.kind == BlobKind::Raw
                        && memchr::memmem::find(&data, b"Linux version ").is_some());
                BlobRec {
                    blob,
                    data,
                    is_kernel,
                }
            })
            .collect();
        let image = opts.image.as_ref().and_then(|p| {
            iotassure_core::tree::read_limited(p, opts.max_file)
                .ok()
                .map(|d| (p.display().to_string(), d))
        });
        Ctx {
            tree,
            roots,
            blobs,
            image,
            opts,
            crack_deadline: Instant::now() + opts.crack_budget,
            cracked: Mutex::new(HashMap::new()),
            progress: None,
            skipped: memory.skipped,
        }
    }

    /// Cracks `hash` against the word list plus mutations of `hints` (user names), once per
    /// hash, within the shared budget.
    pub fn crack(&self, hash: &str, hints: &[&str]) -> crack::CrackResult {
        if let Some(r) = self.cracked.lock().expect("lock").get(hash) {
            return r.clone();
        }
        let cands = self.opts.wordlist.with_mutations(hints);
        let remaining = self
            .crack_deadline
            .saturating_duration_since(Instant::now());
        let r = match self.progress {
            Some(p) => {
                p.note(&format!("cracking a {} hash", crack::identify(hash).name()));
                let total = cands.len() as u64;
                crack::crack_with(hash, &cands, remaining, &|tried| {
                    p.count(tried as u64, Some(total))
                })
            }
            None => crack::crack(hash, &cands, remaining),
        };
        self.cracked
            .lock()
            .expect("lock")
            .insert(hash.to_string(), r.clone());
        r
    }
}

/// What inspection saw, and the limits that cut it short.
pub struct Inspection {
    pub observations: Observations,
    /// One line per limit reached (`--max-memory`), for the report's list of limits: files the
    /// checks never saw, checks that never ran. Empty when inspection was complete.
    pub limits_hit: Vec<String>,
}

/// [`inspect_within`] for callers that do not bound memory (the crates' tests, examples): the
/// library sees no heap count without the binary's allocator, so no limit is ever reached.
pub fn inspect(tree: &Tree, opts: &Options, progress: &dyn Progress) -> Observations {
    inspect_within(tree, opts, progress).observations
}

/// Loads the tree and runs every check, within `opts.max_memory`: files that would pass the
/// loading ceiling are not read (the checks count them as unexamined), and once the heap passes
/// the cap no further check runs; each such check is recorded as skipped with the reason, so
/// its provisions are INCONCLUSIVE rather than passed on less evidence than they claim.
pub fn inspect_within(tree: &Tree, opts: &Options, progress: &dyn Progress) -> Inspection {
    progress.stage("inspecting");
    let mut ctx = Ctx::load(tree, opts);
    ctx.progress = Some(progress);
    let mut limits_hit = Vec::new();
    let (files, bytes) = ctx.skipped;
    if files > 0 {
        limits_hit.push(format!(
            "memory: {files} file(s) ({} MiB) not read for inspection, to stay under {} MiB (--max-memory)",
            bytes.div_ceil(1 << 20),
            opts.max_memory >> 20
        ));
    }
    let mut obs = Observations::default();
    let total = checks::CHECKS.len() as u64;
    let mut stopped_at = None;
    for (i, check) in checks::CHECKS.iter().enumerate() {
        let live = iotassure_core::memory::live() as u64;
        if stopped_at.is_none() && live > opts.max_memory {
            stopped_at = Some((check.id, live));
        }
        if let Some((first, live)) = stopped_at {
            let reason = format!(
                "not run: memory in use passed {} MiB ({} MiB; --max-memory) before check {first}",
                opts.max_memory >> 20,
                live >> 20
            );
            obs.skipped(check.id, Source::Firmware, check.provisions, reason);
            continue;
        }
        progress.note(check.id);
        progress.count(i as u64, Some(total));
        (check.run)(&ctx, &mut obs);
    }
    progress.count(total, Some(total));
    if let Some((first, live)) = stopped_at {
        limits_hit.push(format!(
            "memory: in use passed {} MiB ({} MiB; --max-memory); checks from {first} on did not run",
            opts.max_memory >> 20,
            live >> 20
        ));
    }
    digest_component_files(&ctx, &mut obs.components);
    facts::infer(&ctx, &mut obs);
    Inspection {
        observations: obs,
        limits_hit,
    }
}

/// Gives each component the SHA-256 of the ELF objects its evidence points at (`/bin/busybox`
/// for BusyBox's banner, `/usr/sbin/sputnik` for a zlib linked into it), never the package
/// database or script that names it.
/// A file only partly read into memory is hashed from disk.
fn digest_component_files(ctx: &Ctx<'_>, comps: &mut [Component]) {
    for c in comps {
        for e in &c.evidence {
            let Location::File {
                path, provenance, ..
            } = &e.location
            else {
                continue;
            };
            let held: Vec<(&Root<'_>, &FileRec<'_>)> = ctx
                .roots
                .iter()
                .filter_map(|r| r.file(path).map(|f| (r, f)))
                .collect();
            // Several root filesystems may hold the path; the one the evidence cites wins.
            let Some(&(_, f)) = held
                .iter()
                .find(|(r, _)| r.view.provenance(path) == *provenance)
                .or(held.first())
            else {
                continue;
            };
            if c.files.iter().any(|d| d.path == f.path) {
                continue;
            }
            if let Some(sha256) = elf_digest(ctx, f) {
                c.files.push(FileDigest {
                    path: f.path.clone(),
                    sha256,
                });
            }
        }
    }
}

/// The SHA-256 of `f` when it is an ELF object.
fn elf_digest(ctx: &Ctx<'_>, f: &FileRec<'_>) -> Option<String> {
    use sha2::{Digest, Sha256};
    if !f.truncated {
        return f
            .elf
            .is_some()
            .then(|| hex::encode(Sha256::digest(&f.data)));
    }
    let mut file = iotassure_core::tree::open_nofollow(&ctx.tree.disk_path(f.entry)).ok()?;
    let mut h = Sha256::new();
    let mut head = [0u8; 4];
    std::io::Read::read_exact(&mut file, &mut head).ok()?;
    if &head != b"\x7fELF" {
        return None;
    }
    h.update(head);
    std::io::copy(&mut file, &mut h).ok()?;
    Some(hex::encode(h.finalize()))
}
