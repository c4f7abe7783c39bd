//! ext2, ext3 and ext4 (read-only), with the `ext4-view` crate: superblock magic 0xEF53 at
//! 1024 + 56. The reader is given a file handle on the image (not a copy in memory) and walks
//! the tree from `/`; the journal is read, never replayed onto the image.
//!
//! `ext4-view` requires the directory-entry file-type feature, which `genext2fs` (older
//! Buildroot and OpenWrt images) does not set; such classic ext2 images are read by the small
//! block-map reader in `classic` below.

use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::rc::Rc;

use ext4_view::{Ext4, Ext4Read, PathBuf as ExtPath};
use iotassure_core::layout::Confidence;
use iotassure_core::tree::EntryKind;

use super::bytes::{u16_le, u32_le};
use super::ext_inodes;
use super::{is_limit_message, Anchor, Chunk, Ctx, ExtractError, Extracted, Format, Kind, Magic};
use crate::sink::{sanitize, Meta};

pub static FORMAT: Format = Format {
    id: "ext",
    kind: Kind::Filesystem,
    // A two-byte magic: inside the files of a filesystem, only an image at offset 0.
    anchor: Anchor::Weak,
    magics: &[Magic {
        bytes: b"\x53\xef",
        at: 0x438,
    }],
    identify,
    extract: Some(extract),
};

const MAX_DEPTH: usize = 64;

struct Sb {
    size: u64,
    version: &'static str,
    label: String,
}

fn parse(d: &[u8], s: usize) -> Option<Sb> {
    let sb = d.get(s + 1024..s + 2048)?;
    let blocks = u32_le(sb, 4)? as u64;
    let log = u32_le(sb, 24)?;
    let state = u16_le(sb, 58)?;
    let rev = u32_le(sb, 76)?;
    if log > 6 || blocks == 0 || !(1..=3).contains(&state) || rev > 1 {
        return None;
    }
    let compat = u32_le(sb, 92)?;
    let incompat = u32_le(sb, 96)?;
    let version = if incompat & 0x40 != 0 || incompat & 0x80 != 0 {
        "ext4"
    } else if compat & 0x4 != 0 {
        "ext3"
    } else {
        "ext2"
    };
    Some(Sb {
        size: blocks << (10 + log),
        version,
        label: super::bytes::cstr(sb, 120, 16),
    })
}

fn identify(d: &[u8], s: usize) -> Option<Chunk> {
    let sb = parse(d, s)?;
    let available = (d.len() - s) as u64;
    Some(
        Chunk::new(FORMAT.id, sb.version, s)
            .size(sb.size.min(available) as usize)
            .describe(format!(
                "Linux {} file system, size: {} bytes, label: \"{}\"{}",
                sb.version,
                sb.size,
                sb.label,
                if sb.size > available {
                    " (TRUNCATED)"
                } else {
                    ""
                }
            ))
            .confidence(if sb.size > available {
                Confidence::Low
            } else {
                Confidence::High
            }),
    )
}

/// The image inside a file, read in place.
struct Window {
    file: File,
    base: u64,
    len: u64,
}

impl Ext4Read for Window {
    fn read(
        &mut self,
        start: u64,
        dst: &mut [u8],
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync + 'static>> {
        if start
            .checked_add(dst.len() as u64)
            .is_none_or(|e| e > self.len)
        {
            return Err(format!(
                "read of {} bytes at {start} beyond the {}-byte image",
                dst.len(),
                self.len
            )
            .into());
        }
        self.file.read_exact_at(dst, self.base + start)?;
        Ok(())
    }
}

fn extract(ctx: &Ctx<'_>, d: &[u8], chunk: &Chunk) -> Result<Extracted, ExtractError> {
    let sb = parse(d, chunk.offset)
        .ok_or_else(|| ExtractError::Bad("superblock no longer parses".into()))?;
    let source = ctx
        .source
        .as_ref()
        .ok_or_else(|| ExtractError::Bad("no file handle for the image".into()))?;
    let file =
        File::open(source).map_err(|e| ExtractError::Bad(format!("{}: {e}", source.display())))?;
    let len = sb.size.min((d.len() - chunk.offset) as u64);
    let fs = match Ext4::load(Box::new(Window {
        file,
        base: chunk.offset as u64,
        len,
    })) {
        Ok(fs) => fs,
        Err(e) if e.to_string().contains("FILE_TYPE_IN_DIR_ENTRY") => {
            let img = &d[chunk.offset..chunk.offset + len as usize];
            return classic::extract(ctx, img).map(|files| Extracted::files(len as usize, files));
        }
        Err(e) => return Err(ExtractError::Bad(format!("ext superblock/groups: {e}"))),
    };
    ctx.root_dir()?;
    let mut files = 0u64;
    let raw = ext_inodes::Raw::new(&d[chunk.offset..chunk.offset + len as usize]);
    // Directories by inode number (exact), where the raw tables can tell it.
    let mut seen: HashMap<u32, String> = HashMap::new();
    let root_chain: Rc<Vec<(u64, String)>> = Rc::new(Vec::new());
    let mut stack = vec![(
        ExtPath::new("/"),
        String::new(),
        0usize,
        root_chain,
        Some(2u32),
    )];
    while let Some((dir, rel_dir, depth, chain, ino)) = stack.pop() {
        if depth > MAX_DEPTH {
            ctx.problem(format!("{rel_dir}/: nesting too deep"));
            continue;
        }
        let entries: Vec<_> = match fs.read_dir(&dir) {
            Ok(e) => e.collect(),
            Err(e) => {
                ctx.problem(format!("{rel_dir}/: {e}"));
                continue;
            }
        };
        let listing = ino.and_then(|n| raw.as_ref().and_then(|r| r.listing(n)));
        if let (Some(n), Some(_)) = (ino, &listing) {
            if let Some(first) = seen.get(&n) {
                ctx.problem(format!(
                    "{rel_dir}/: directory loop: the same directory as {first}/ (inode {n}, a hard link to a directory); not descended"
                ));
                continue;
            }
            seen.insert(n, rel_dir.clone());
        }
        // Where the raw tables cannot tell the inode (a journal not yet applied, inline
        // data), a directory is known by its listing's own metadata and names. Met again on
        // the path that leads to it, it is a hard link to an ancestor: a loop.
        let print = fingerprint(&entries);
        if let Some((_, at)) = chain
            .iter()
            .find(|(f, _)| *f == print)
            .filter(|_| listing.is_none())
        {
            ctx.problem(format!(
                "{rel_dir}/: directory loop: the same directory as {}/ (a hard link to an ancestor); not descended",
                if at.is_empty() { "" } else { at.as_str() }
            ));
            continue;
        }
        let chain = Rc::new({
            let mut c = (*chain).clone();
            c.push((print, rel_dir.clone()));
            c
        });
        for entry in entries {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    ctx.problem(format!("{rel_dir}/: {e}"));
                    break;
                }
            };
            let raw_name = entry.file_name().as_ref().to_vec();
            let name = String::from_utf8_lossy(&raw_name).to_string();
            if name == "." || name == ".." || (depth == 0 && name == "lost+found") {
                continue;
            }
            let full = format!("{rel_dir}/{name}");
            let rel = match sanitize(&full, true) {
                Ok(r) if !r.is_empty() && !name.contains('/') => r,
                _ => {
                    ctx.problem(format!("entry refused: {full:?}"));
                    continue;
                }
            };
            let md = match entry.metadata() {
                Ok(m) => m,
                Err(e) => {
                    ctx.problem(format!("{full}: {e}"));
                    continue;
                }
            };
            let meta = Meta {
                mode: md.mode() as u32 & 0o7777,
                uid: md.uid(),
                gid: md.gid(),
            };
            let ft = md.file_type();
            let path = entry.path();
            let r = if ft.is_dir() {
                let child = listing.as_ref().and_then(|l| l.get(&raw_name)).copied();
                stack.push((path, full.clone(), depth + 1, chain.clone(), child));
                ctx.dir(&rel, meta)
            } else if ft.is_symlink() {
                match fs.read_link(&path) {
                    Ok(t) => ctx.symlink(&rel, &String::from_utf8_lossy(t.as_ref()), meta),
                    Err(e) => {
                        ctx.problem(format!("{full}: {e}"));
                        Ok(())
                    }
                }
            } else if ft.is_regular_file() {
                files += 1;
                let mut out = match ctx.file(&rel, meta) {
                    Ok(o) => o,
                    Err(e) => {
                        ctx.entry_error(e)?;
                        continue;
                    }
                };
                let mut err = None;
                match fs.open(&path) {
                    Ok(mut f) => {
                        let mut buf = vec![0u8; 64 * 1024];
                        loop {
                            match f.read_bytes(&mut buf) {
                                Ok(0) => break,
                                Ok(n) => {
                                    if let Err(e) = std::io::Write::write_all(&mut out, &buf[..n]) {
                                        err = Some(e.to_string());
                                        break;
                                    }
                                }
                                Err(e) => {
                                    err = Some(e.to_string());
                                    break;
                                }
                            }
                        }
                    }
                    Err(e) => err = Some(e.to_string()),
                }
                out.finish();
                if let Some(e) = err {
                    if is_limit_message(&e) {
                        return Err(ExtractError::Limit(e));
                    }
                    ctx.problem(format!("{full}: {e}"));
                }
                Ok(())
            } else if ft.is_char_dev() {
                ctx.special(&rel, EntryKind::CharDevice, meta)
            } else if ft.is_block_dev() {
                ctx.special(&rel, EntryKind::BlockDevice, meta)
            } else if ft.is_fifo() {
                ctx.special(&rel, EntryKind::Fifo, meta)
            } else {
                ctx.special(&rel, EntryKind::Socket, meta)
            };
            if let Err(e) = r {
                ctx.entry_error(e)?;
            }
        }
    }
    Ok(Extracted::files(len as usize, files))
}

/// A directory's identity, from its listing: every name, and the inode metadata of `.` and
/// `..`. Reached again through a hard link, a directory lists the same `..` (its real parent);
/// a real subdirectory lists its own parent there, so a legitimate `x/x/x` chain would need
/// three identical levels (same names, same times) to be taken for a loop, and even then it is
/// a recorded problem naming the path, not a silent omission.
fn fingerprint(entries: &[Result<ext4_view::DirEntry, ext4_view::Ext4Error>]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for e in entries.iter().flatten() {
        let name = e.file_name();
        name.as_ref().hash(&mut h);
        if name.as_ref() == b"." || name.as_ref() == b".." {
            if let Ok(m) = e.metadata() {
                m.hash(&mut h);
            }
        }
    }
    h.finish()
}

/// Classic ext2 (no directory-entry file types, no extents): superblock, group descriptors,
/// inodes with 12 direct and 3 indirect block pointers.
mod classic {
    use super::super::bytes::{u16_le, u32_le};
    use super::super::{write_file, Ctx, ExtractError};
    use crate::sink::{sanitize, Meta};
    use iotassure_core::tree::EntryKind;

    struct Fs<'a> {
        d: &'a [u8],
        bs: usize,
        ipg: u32,
        inode_size: usize,
        gdt: usize,
        groups: u32,
    }

    impl Fs<'_> {
        fn inode(&self, n: u32) -> Option<&[u8]> {
            let g = (n.checked_sub(1)? / self.ipg) as usize;
            if g as u32 >= self.groups {
                return None;
            }
            let i = ((n - 1) % self.ipg) as usize;
            let table = u32_le(self.d, self.gdt + g * 32 + 8)? as usize;
            let at = table.checked_mul(self.bs)? + i * self.inode_size;
            self.d.get(at..at + 128)
        }

        fn block(&self, b: u32) -> Option<&[u8]> {
            let at = (b as usize).checked_mul(self.bs)?;
            self.d.get(at..at + self.bs)
        }

        /// The data blocks of an inode in order (0 = a hole), at most `max`.
        fn blocks(&self, ino: &[u8], max: usize) -> Vec<u32> {
            let mut out = Vec::new();
            let ptrs = self.bs / 4;
            fn walk(fs: &Fs<'_>, b: u32, level: u32, ptrs: usize, max: usize, out: &mut Vec<u32>) {
                if out.len() >= max {
                    return;
                }
                if level == 0 {
                    out.push(b);
                    return;
                }
                let Some(blk) = (b != 0).then(|| fs.block(b)).flatten() else {
                    let span = ptrs.pow(level);
                    out.extend(std::iter::repeat_n(0, span.min(max - out.len())));
                    return;
                };
                for i in 0..ptrs {
                    walk(
                        fs,
                        u32_le(blk, 4 * i).unwrap_or(0),
                        level - 1,
                        ptrs,
                        max,
                        out,
                    );
                    if out.len() >= max {
                        return;
                    }
                }
            }
            for i in 0..15 {
                let b = u32_le(ino, 40 + 4 * i).unwrap_or(0);
                let level = i.saturating_sub(11) as u32;
                walk(self, b, level, ptrs, max, &mut out);
            }
            out
        }

        fn data(&self, ino: &[u8], cap: usize) -> Result<Vec<u8>, String> {
            let size = (u32_le(ino, 4).unwrap_or(0) as usize).min(cap);
            if u32_le(ino, 32).unwrap_or(0) & 0x80000 != 0 {
                return Err("extent-mapped file in a classic ext2 image".into());
            }
            let mut out = Vec::with_capacity(size.min(64 << 20));
            for b in self.blocks(ino, size.div_ceil(self.bs)) {
                let want = self.bs.min(size - out.len());
                match b {
                    0 => out.extend(std::iter::repeat_n(0u8, want)),
                    b => out
                        .extend_from_slice(&self.block(b).ok_or("block beyond the image")?[..want]),
                }
            }
            Ok(out)
        }
    }

    pub fn extract(ctx: &Ctx<'_>, d: &[u8]) -> Result<u64, ExtractError> {
        let bad = |m: &str| ExtractError::Bad(m.to_string());
        let sb = d.get(1024..2048).ok_or_else(|| bad("superblock"))?;
        let bs = 1024usize << u32_le(sb, 24).unwrap_or(0).min(6);
        let rev = u32_le(sb, 76).unwrap_or(0);
        let inode_size = if rev >= 1 {
            u16_le(sb, 88).unwrap_or(128) as usize
        } else {
            128
        };
        let ipg = u32_le(sb, 40).unwrap_or(0);
        let inodes = u32_le(sb, 0).unwrap_or(0);
        if ipg == 0 || inode_size < 128 {
            return Err(bad("inodes per group or inode size is invalid"));
        }
        let first_data = u32_le(sb, 20).unwrap_or(0) as usize;
        let fs = Fs {
            d,
            bs,
            ipg,
            inode_size,
            gdt: (first_data + 1) * bs,
            groups: inodes.div_ceil(ipg),
        };
        let cap = ctx.sink.limits.max_file_bytes as usize;
        ctx.root_dir()?;
        let mut files = 0;
        let mut stack = vec![(2u32, String::new(), 0usize)];
        let mut seen = std::collections::HashSet::new();
        while let Some((dir, path, depth)) = stack.pop() {
            if depth > 64 {
                ctx.problem(format!("{path}/: nesting too deep"));
                continue;
            }
            if !seen.insert(dir) {
                ctx.problem(format!(
                    "{path}/: directory loop: inode {dir} is already extracted (a hard link to a directory); not descended"
                ));
                continue;
            }
            let Some(ino) = fs.inode(dir) else { continue };
            let listing = match fs.data(ino, 64 << 20) {
                Ok(l) => l,
                Err(e) => {
                    ctx.problem(format!("{path}/: {e}"));
                    continue;
                }
            };
            let mut p = 0;
            while p + 8 <= listing.len() {
                let child = u32_le(&listing, p).unwrap_or(0);
                let rec = u16_le(&listing, p + 4).unwrap_or(0) as usize;
                let nlen = u16_le(&listing, p + 6).unwrap_or(0) as usize & 0xff;
                if rec < 8 {
                    break;
                }
                let name = listing
                    .get(p + 8..p + 8 + nlen)
                    .map(|n| String::from_utf8_lossy(n).to_string());
                p += rec;
                let Some(name) = name else { break };
                if child == 0 || name == "." || name == ".." || (depth == 0 && name == "lost+found")
                {
                    continue;
                }
                let full = format!("{path}/{name}");
                let Ok(rel) = sanitize(&full, true) else {
                    continue;
                };
                let Some(ci) = fs.inode(child) else {
                    ctx.problem(format!("{full}: inode {child} beyond the image"));
                    continue;
                };
                let mode = u16_le(ci, 0).unwrap_or(0) as u32;
                let meta = Meta {
                    mode: mode & 0o7777,
                    uid: u16_le(ci, 2).unwrap_or(0) as u32
                        | (u16_le(ci, 120).unwrap_or(0) as u32) << 16,
                    gid: u16_le(ci, 24).unwrap_or(0) as u32
                        | (u16_le(ci, 122).unwrap_or(0) as u32) << 16,
                };
                let r = match mode & 0o170000 {
                    0o040000 => {
                        stack.push((child, full.clone(), depth + 1));
                        ctx.dir(&rel, meta)
                    }
                    0o100000 => {
                        files += 1;
                        match fs.data(ci, cap) {
                            Ok(bytes) => {
                                write_file(ctx, &rel, meta, &bytes)?;
                            }
                            Err(e) => ctx.problem(format!("{full}: {e}")),
                        }
                        Ok(())
                    }
                    0o120000 => {
                        let size = u32_le(ci, 4).unwrap_or(0) as usize;
                        let target = if size < 60 && u32_le(ci, 28).unwrap_or(0) == 0 {
                            ci[40..40 + size].to_vec()
                        } else {
                            fs.data(ci, 4096).unwrap_or_default()
                        };
                        ctx.symlink(&rel, &String::from_utf8_lossy(&target), meta)
                    }
                    0o020000 => ctx.special(&rel, EntryKind::CharDevice, meta),
                    0o060000 => ctx.special(&rel, EntryKind::BlockDevice, meta),
                    0o010000 => ctx.special(&rel, EntryKind::Fifo, meta),
                    _ => ctx.special(&rel, EntryKind::Socket, meta),
                };
                if let Err(e) = r {
                    ctx.entry_error(e)?;
                }
            }
        }
        Ok(files)
    }
}
