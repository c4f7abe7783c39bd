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
pub mod nopass;
pub mod nvram;
pub mod text;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use iotassure_core::finding::Observations;
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
}

impl Default for Options {
    fn default() -> Self {
        Options {
            wordlist: Wordlist::builtin(),
            crack_budget: Duration::from_secs(20),
            image: None,
            max_file: 32 << 20,
            max_total: 1 << 30,
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
}

impl<'a> Ctx<'a> {
    /// Reads every file and blob once (in parallel) and parses ELF files.
    pub fn load(tree: &'a Tree, opts: &'a Options) -> Ctx<'a> {
        let mut budget = opts.max_total;
        let roots = tree
            .rootfs_views()
            .into_iter()
            .map(|view| {
                let listed = view.files();
                let mut plan = Vec::with_capacity(listed.len());
                for (path, entry) in listed {
                    let want = entry.size.min(opts.max_file);
                    let take = want.min(budget);
                    budget -= take;
                    plan.push((path, entry, take));
                }
                let files: Vec<FileRec<'a>> = plan
                    .into_par_iter()
                    .map(|(path, entry, take)| {
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
        let blobs = tree
            .blobs
            .par_iter()
            .map(|blob| {
                let data = tree
                    .read_blob(blob, opts.max_file.max(64 << 20))
                    .unwrap_or_default();
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
        let r = crack::crack(hash, &cands, remaining);
        self.cracked
            .lock()
            .expect("lock")
            .insert(hash.to_string(), r.clone());
        r
    }
}

pub fn inspect(tree: &Tree, opts: &Options, progress: &dyn Progress) -> Observations {
    progress.stage("inspecting");
    let ctx = Ctx::load(tree, opts);
    inspect_ctx(&ctx, progress)
}

/// Runs every check over an already loaded context.
pub fn inspect_ctx(ctx: &Ctx<'_>, progress: &dyn Progress) -> Observations {
    let mut obs = Observations::default();
    let total = checks::CHECKS.len() as u64;
    for (i, check) in checks::CHECKS.iter().enumerate() {
        progress.note(check.id);
        progress.count(i as u64, Some(total));
        (check.run)(ctx, &mut obs);
    }
    progress.count(total, Some(total));
    facts::infer(ctx, &mut obs);
    obs
}
