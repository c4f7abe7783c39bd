//! Fixtures generated in Rust, for formats no Debian tool writes: vendor headers, SquashFS 2.x
//! and 3.x, the OpenWrt LZMA SquashFS 4 variant, ESP app images, LZMA with lc + lp > 4.
#![allow(dead_code)]

use std::io::Write;
use std::path::Path;

use iotassure_core::tree::{EntryKind, Tree};
use iotassure_core::NoProgress;
use iotassure_unpack::{unpack, Options, Unpacked};

pub use iotassure_testkit::unpack::noise;

pub fn run(input: &Path, out: &Path) -> Unpacked {
    unpack(input, out, &Options::default(), &NoProgress)
        .unwrap_or_else(|e| panic!("{}: {e}", input.display()))
}

pub fn run_bytes(dir: &Path, name: &str, bytes: &[u8]) -> Unpacked {
    let input = dir.join(name);
    std::fs::write(&input, bytes).unwrap();
    run(&input, &dir.join(format!("{name}.out")))
}

/// Regular files of the tree under `prefix` (relative paths inside it → contents on disk).
pub fn files_in(tree: &Tree, prefix: &str) -> std::collections::BTreeMap<String, Vec<u8>> {
    let p = format!("{prefix}/");
    tree.entries
        .iter()
        .filter(|e| e.kind == EntryKind::File)
        .filter_map(|e| {
            let rel = e.path.strip_prefix(&p)?;
            Some((rel.to_string(), std::fs::read(tree.disk_path(e)).unwrap()))
        })
        .collect()
}

/// The folder a chunk of `format` was extracted to (first match).
pub fn chunk_dir(u: &Unpacked, format: &str) -> String {
    u.summary
        .layout
        .iter()
        .find(|l| l.format == format && l.extracted_to.is_some())
        .and_then(|l| l.extracted_to.clone())
        .unwrap_or_else(|| {
            panic!(
                "no extracted {format} chunk in {:#?}",
                u.summary
                    .layout
                    .iter()
                    .map(|l| (&l.format, &l.description))
                    .collect::<Vec<_>>()
            )
        })
}

pub fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn lzma_opts(lc: u32, lp: u32, pb: u32, dict: u32) -> lzma_rust2::LzmaOptions {
    let mut o = lzma_rust2::LzmaOptions::with_preset(6);
    o.lc = lc;
    o.lp = lp;
    o.pb = pb;
    o.dict_size = dict;
    o
}

/// LZMA "alone" (13-byte header) with any properties, lc + lp > 4 included.
pub fn lzma_alone(data: &[u8], lc: u32, lp: u32, pb: u32) -> Vec<u8> {
    let mut w = lzma_rust2::LzmaWriter::new_use_header(
        Vec::new(),
        &lzma_opts(lc, lp, pb, 1 << 23),
        Some(data.len() as u64),
    )
    .unwrap();
    w.write_all(data).unwrap();
    w.finish().unwrap()
}

/// A raw LZMA stream with an end marker.
pub fn lzma_raw(data: &[u8], lc: u32, lp: u32, pb: u32, dict: u32) -> Vec<u8> {
    let mut w =
        lzma_rust2::LzmaWriter::new_no_header(Vec::new(), &lzma_opts(lc, lp, pb, dict), true)
            .unwrap();
    w.write_all(data).unwrap();
    w.finish().unwrap()
}

fn md5(parts: &[&[u8]]) -> [u8; 16] {
    use md5::{Digest, Md5};
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

fn crc32(d: &[u8]) -> u32 {
    crc32fast::hash(d)
}

/// TP-Link v1 header (512 bytes) + kernel at 0x200 + rootfs at `rootfs_ofs`.
pub fn tplink_v1(vendor: &str, kernel: &[u8], rootfs: &[u8], rootfs_ofs: usize) -> Vec<u8> {
    let fw_len = rootfs_ofs + rootfs.len();
    let mut h = vec![0u8; 0x200];
    h[0..4].copy_from_slice(&0x0100_0000u32.to_be_bytes());
    h[4..4 + vendor.len()].copy_from_slice(vendor.as_bytes());
    h[28..36].copy_from_slice(b"ver. 1.0");
    h[0x40..0x44].copy_from_slice(&0x0841_0009u32.to_be_bytes());
    h[0x44..0x48].copy_from_slice(&1u32.to_be_bytes());
    h[0x74..0x78].copy_from_slice(&0x8006_0000u32.to_be_bytes());
    h[0x78..0x7c].copy_from_slice(&0x8006_0000u32.to_be_bytes());
    h[0x7c..0x80].copy_from_slice(&(fw_len as u32).to_be_bytes());
    h[0x80..0x84].copy_from_slice(&0x200u32.to_be_bytes());
    h[0x84..0x88].copy_from_slice(&(kernel.len() as u32).to_be_bytes());
    h[0x88..0x8c].copy_from_slice(&(rootfs_ofs as u32).to_be_bytes());
    h[0x8c..0x90].copy_from_slice(&(rootfs.len() as u32).to_be_bytes());
    let mut img = h;
    img.extend_from_slice(kernel);
    img.resize(rootfs_ofs, 0xff);
    img.extend_from_slice(rootfs);
    img
}

/// TP-Link "ver. 2.0" header (version 3) + kernel at 0x200.
pub fn tplink_v2(kernel: &[u8]) -> Vec<u8> {
    let mut h = vec![0xffu8; 0x200];
    h[0..4].copy_from_slice(&3u32.to_le_bytes());
    h[4..0x34].fill(0);
    h[4..12].copy_from_slice(b"ver. 2.0");
    h[0x34..0x38].copy_from_slice(&0x0841_0014u32.to_be_bytes());
    h[0x38..0x3c].copy_from_slice(&1u32.to_be_bytes());
    h[0x68..0x6c].copy_from_slice(&0x8000_0000u32.to_le_bytes());
    h[0x6c..0x70].copy_from_slice(&0x8000_c150u32.to_le_bytes());
    let fw_len = 0x200 + kernel.len() + 0x1000;
    h[0x70..0x74].copy_from_slice(&(fw_len as u32).to_be_bytes());
    h[0x74..0x78].copy_from_slice(&0x200u32.to_be_bytes());
    h[0x78..0x7c].copy_from_slice(&(kernel.len() as u32).to_be_bytes());
    h[0x7c..0x80].copy_from_slice(&0u32.to_be_bytes());
    h[0x80..0x84].copy_from_slice(&0u32.to_be_bytes());
    h[0x8c..0x8e].copy_from_slice(&0x55aau16.to_be_bytes());
    h[0x90] = 0xa5;
    let mut img = h;
    img.extend_from_slice(kernel);
    img
}

/// D-Link "wrg" header (magic 0x20040220, MD5 over offset, device name and payload).
pub fn wrgg(sign: &str, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0u8; 0x60];
    h[..sign.len()].copy_from_slice(sign.as_bytes());
    h[0x20..0x24].copy_from_slice(&0x2004_0220u32.to_le_bytes());
    h[0x24..0x28].copy_from_slice(&0x2004_0220u32.to_le_bytes());
    h[0x28..0x2c].copy_from_slice(&(payload.len() as u32).to_be_bytes());
    h[0x30..0x3f].copy_from_slice(b"/dev/mtdblock/2");
    let digest = md5(&[&h[0x2c..0x50], payload]);
    h[0x50..0x60].copy_from_slice(&digest);
    h.extend_from_slice(payload);
    h
}

/// Broadcom TRX v1 with the given partitions (CRC-32 as Broadcom computes it).
pub fn trx(parts: &[&[u8]]) -> Vec<u8> {
    let mut img = vec![0u8; 28];
    let mut offsets = Vec::new();
    for p in parts {
        offsets.push(img.len() as u32);
        img.extend_from_slice(p);
        img.resize(img.len().div_ceil(4) * 4, 0);
    }
    img[0..4].copy_from_slice(b"HDR0");
    let len = img.len() as u32;
    img[4..8].copy_from_slice(&len.to_le_bytes());
    img[12..14].copy_from_slice(&0u16.to_le_bytes());
    img[14..16].copy_from_slice(&1u16.to_le_bytes());
    for (i, o) in offsets.iter().enumerate().take(3) {
        img[16 + 4 * i..20 + 4 * i].copy_from_slice(&o.to_le_bytes());
    }
    // Broadcom's CRC: the register without the final inversion.
    let crc = !crc32(&img[12..]);
    img[8..12].copy_from_slice(&crc.to_le_bytes());
    img
}

/// SEAMA header with metadata strings and an MD5 of the image.
pub fn seama(meta: &[&str], image: &[u8]) -> Vec<u8> {
    let mut m: Vec<u8> = meta.iter().flat_map(|s| s.bytes().chain([0])).collect();
    m.resize(m.len().div_ceil(4) * 4, 0);
    let mut h = Vec::new();
    h.extend_from_slice(&0x5ea3_a417u32.to_be_bytes());
    h.extend_from_slice(&0u16.to_be_bytes());
    h.extend_from_slice(&(m.len() as u16).to_be_bytes());
    h.extend_from_slice(&(image.len() as u32).to_be_bytes());
    h.extend_from_slice(&md5(&[image]));
    h.extend_from_slice(&m);
    h.extend_from_slice(image);
    h
}

/// Realtek header (signature, load address, flash address, length) with the 16-bit checksum.
pub fn realtek(sig: &[u8; 4], load: u32, payload: &[u8]) -> Vec<u8> {
    let mut body = payload.to_vec();
    if body.len() % 2 != 0 {
        body.push(0);
    }
    let sum = body.chunks_exact(2).fold(0u16, |a, w| {
        a.wrapping_add(u16::from_be_bytes([w[0], w[1]]))
    });
    body.extend_from_slice(&(0u16.wrapping_sub(sum)).to_be_bytes());
    let mut h = Vec::new();
    h.extend_from_slice(sig);
    h.extend_from_slice(&load.to_be_bytes());
    h.extend_from_slice(&0x0003_0000u32.to_be_bytes());
    h.extend_from_slice(&(body.len() as u32).to_be_bytes());
    h.extend_from_slice(&body);
    h
}

/// An ESP32-S2 application image: the given segments, checksum, SHA-256, and optionally a
/// Secure Boot v2 signature block (with a valid CRC; the signature bytes are not a real one).
pub fn esp_image(entry: u32, segments: &[(u32, Vec<u8>)], signed: bool) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut img = vec![0xe9, segments.len() as u8, 2, 0x1f];
    img.extend_from_slice(&entry.to_le_bytes());
    let mut ext = [0u8; 16];
    ext[0] = 0xee;
    ext[4..6].copy_from_slice(&2u16.to_le_bytes()); // ESP32-S2
    ext[15] = 1; // hash appended
    img.extend_from_slice(&ext);
    let mut sum = 0xefu8;
    for (load, data) in segments {
        img.extend_from_slice(&load.to_le_bytes());
        img.extend_from_slice(&(data.len() as u32).to_le_bytes());
        img.extend_from_slice(data);
        sum = data.iter().fold(sum, |a, &b| a ^ b);
    }
    while img.len() % 16 != 15 {
        img.push(0);
    }
    img.push(sum);
    let digest = Sha256::digest(&img);
    img.extend_from_slice(&digest);
    if signed {
        img.resize(img.len().div_ceil(4096) * 4096, 0xff);
        let mut block = vec![0u8; 1216];
        block[0] = 0xe7;
        block[1] = 0x02;
        block[4..36].copy_from_slice(&digest);
        let crc = crc32(&block[..1196]);
        block[1196..1200].copy_from_slice(&crc.to_le_bytes());
        img.extend_from_slice(&block);
    }
    img
}

/// An ESP8266 image: no extended header, no SHA-256.
pub fn esp8266_image(entry: u32, segments: &[(u32, Vec<u8>)]) -> Vec<u8> {
    let mut img = vec![0xe9, segments.len() as u8, 0, 0x20];
    img.extend_from_slice(&entry.to_le_bytes());
    let mut sum = 0xefu8;
    for (load, data) in segments {
        img.extend_from_slice(&load.to_le_bytes());
        img.extend_from_slice(&(data.len() as u32).to_le_bytes());
        img.extend_from_slice(data);
        sum = data.iter().fold(sum, |a, &b| a ^ b);
    }
    while img.len() % 16 != 15 {
        img.push(0);
    }
    img.push(sum);
    img
}

/// An `esp_app_desc_t` to put at the start of the first (DROM) segment.
pub fn esp_app_desc(project: &str, version: &str, idf: &str) -> Vec<u8> {
    let mut d = vec![0u8; 256];
    d[0..4].copy_from_slice(&0xabcd_5432u32.to_le_bytes());
    d[16..16 + version.len()].copy_from_slice(version.as_bytes());
    d[48..48 + project.len()].copy_from_slice(project.as_bytes());
    d[80..88].copy_from_slice(b"12:00:00");
    d[96..107].copy_from_slice(b"Jan  1 2024");
    d[112..112 + idf.len()].copy_from_slice(idf.as_bytes());
    d
}

/// A decompressed "kernel": code-like noise, the version banner, and an initramfs cpio.
pub fn fake_kernel(initramfs: &[u8]) -> Vec<u8> {
    let mut k = noise(200 * 1024, 99);
    k.extend_from_slice(b"Linux version 4.14.180 (builder@host) (gcc version 8.4.0) #1 SMP Tue Jan 1 00:00:00 UTC 2024\n\0");
    k.resize(k.len().div_ceil(512) * 512, 0);
    k.extend_from_slice(initramfs);
    k.extend(noise(4096, 5));
    k
}

/// The Linux kernel's legacy LZ4 format (8 MiB blocks with a size prefix).
pub fn lz4_legacy(data: &[u8]) -> Vec<u8> {
    let mut out = 0x184c_2102u32.to_le_bytes().to_vec();
    for block in data.chunks(8 << 20) {
        let c = lz4_flex::block::compress(block);
        out.extend_from_slice(&(c.len() as u32).to_le_bytes());
        out.extend_from_slice(&c);
    }
    out
}

pub mod squashfs_legacy {
    //! A SquashFS 2.x / 3.x writer, after the on-disk structures of squashfs-tools 3.x
    //! (squashfs_fs.h): bitfields are written as a bit stream in the image's order, like the
    //! reader reads them.

    use super::*;

    /// A block compressor.
    pub type Compress = fn(&[u8]) -> Vec<u8>;

    pub enum Node {
        Dir(&'static str, Vec<Node>),
        File(&'static str, Vec<u8>),
        Link(&'static str, &'static str),
    }

    pub struct Options {
        pub major: u16,
        pub minor: u16,
        pub be: bool,
        pub magic: Option<[u8; 4]>,
        pub block_size: u32,
        /// Block compressor (metadata and data); `None` stores everything uncompressed.
        pub compress: Option<Compress>,
    }

    struct BitWriter {
        bytes: Vec<u8>,
        bit: usize,
        be: bool,
    }

    impl BitWriter {
        fn new(be: bool) -> Self {
            BitWriter {
                bytes: Vec::new(),
                bit: 0,
                be,
            }
        }
        fn put(&mut self, v: u64, n: usize) -> &mut Self {
            for i in 0..n {
                let pos = self.bit + i;
                if pos / 8 >= self.bytes.len() {
                    self.bytes.push(0);
                }
                let b = if self.be {
                    (v >> (n - 1 - i)) & 1
                } else {
                    (v >> i) & 1
                };
                if b == 1 {
                    let shift = if self.be { 7 - pos % 8 } else { pos % 8 };
                    self.bytes[pos / 8] |= 1 << shift;
                }
            }
            self.bit += n;
            self
        }
        fn bytes(&mut self, b: &[u8]) -> &mut Self {
            assert_eq!(self.bit % 8, 0);
            self.bytes.extend_from_slice(b);
            self.bit += 8 * b.len();
            self
        }
    }

    /// Metadata blocks of 8 KiB, compressed as they fill, so references are known when needed.
    struct Meta {
        out: Vec<u8>,
        cur: Vec<u8>,
        be: bool,
        compress: Option<Compress>,
    }

    impl Meta {
        fn pos(&self) -> (u64, u64) {
            (self.out.len() as u64, self.cur.len() as u64)
        }
        fn write(&mut self, b: &[u8]) {
            self.cur.extend_from_slice(b);
            while self.cur.len() >= 8192 {
                let rest = self.cur.split_off(8192);
                self.flush_block();
                self.cur = rest;
            }
        }
        fn flush_block(&mut self) {
            let block = std::mem::take(&mut self.cur);
            let (data, flag) = match self.compress {
                Some(c) => {
                    let z = c(&block);
                    if z.len() < block.len() {
                        (z, 0)
                    } else {
                        (block, 0x8000)
                    }
                }
                None => (block, 0x8000),
            };
            let len = (data.len() as u16) | flag;
            self.out.extend_from_slice(&if self.be {
                len.to_be_bytes()
            } else {
                len.to_le_bytes()
            });
            self.out.extend_from_slice(&data);
        }
        fn finish(mut self) -> Vec<u8> {
            if !self.cur.is_empty() {
                self.flush_block();
            }
            self.out
        }
    }

    pub fn build(o: &Options, root: &[Node]) -> Vec<u8> {
        let v3 = o.major == 3;
        let sb_len = if v3 { 119 } else { 63 };
        let mut img = vec![0u8; sb_len];
        let mut inodes = Meta {
            out: Vec::new(),
            cur: Vec::new(),
            be: o.be,
            compress: o.compress,
        };
        let mut dirs = Meta {
            out: Vec::new(),
            cur: Vec::new(),
            be: o.be,
            compress: o.compress,
        };
        let mut frags: Vec<(u64, u32)> = Vec::new();
        let mut frag_buf: Vec<u8> = Vec::new();
        let mut next_ino = 1u32;

        fn put_u32(v: &mut Vec<u8>, x: u32, be: bool) {
            v.extend_from_slice(&if be { x.to_be_bytes() } else { x.to_le_bytes() });
        }
        fn flush_frag(
            img: &mut Vec<u8>,
            buf: &mut Vec<u8>,
            frags: &mut Vec<(u64, u32)>,
            o: &Options,
        ) {
            if buf.is_empty() {
                return;
            }
            let (data, flag) = block(o, buf);
            frags.push((img.len() as u64, data.len() as u32 | flag));
            img.extend_from_slice(&data);
            buf.clear();
        }
        fn block(o: &Options, data: &[u8]) -> (Vec<u8>, u32) {
            match o.compress {
                Some(c) => {
                    let z = c(data);
                    if z.len() < data.len() {
                        (z, 0)
                    } else {
                        (data.to_vec(), 1 << 24)
                    }
                }
                None => (data.to_vec(), 1 << 24),
            }
        }

        // Returns (inode reference, inode type for directory entries, inode number).
        #[allow(clippy::too_many_arguments)]
        fn write_node(
            n: &Node,
            o: &Options,
            img: &mut Vec<u8>,
            inodes: &mut Meta,
            dirs: &mut Meta,
            frags: &mut Vec<(u64, u32)>,
            frag_buf: &mut Vec<u8>,
            next_ino: &mut u32,
            parent_ino: u32,
        ) -> (u64, u32, u32) {
            let v3 = o.major == 3;
            let bs = o.block_size as usize;
            let ino = *next_ino;
            *next_ino += 1;
            let base = |w: &mut BitWriter, kind: u64, mode: u64| {
                w.put(kind, 4).put(mode, 12).put(0, 8).put(0, 8);
                if v3 {
                    w.put(1_700_000_000, 32).put(ino as u64, 32);
                }
            };
            let mut w = BitWriter::new(o.be);
            let kind = match n {
                Node::File(_, data) => {
                    let full = data.len() / bs;
                    let start = img.len() as u64;
                    let mut sizes = Vec::new();
                    for b in data[..full * bs].chunks(bs) {
                        let (d, flag) = block(o, b);
                        sizes.push(d.len() as u32 | flag);
                        img.extend_from_slice(&d);
                    }
                    let tail = &data[full * bs..];
                    let (frag, off) = if tail.is_empty() {
                        (0xffff_ffffu32, 0u32)
                    } else {
                        if frag_buf.len() + tail.len() > bs {
                            flush_frag(img, frag_buf, frags, o);
                        }
                        let off = frag_buf.len() as u32;
                        frag_buf.extend_from_slice(tail);
                        (frags.len() as u32, off)
                    };
                    base(&mut w, 2, 0o755);
                    if !v3 {
                        w.put(1_700_000_000, 32);
                    }
                    if v3 {
                        w.put(start, 64)
                    } else {
                        w.put(start, 32)
                    };
                    w.put(frag as u64, 32)
                        .put(off as u64, 32)
                        .put(data.len() as u64, 32);
                    for s in sizes {
                        w.put(s as u64, 32);
                    }
                    2
                }
                Node::Link(_, target) => {
                    base(&mut w, 3, 0o777);
                    if v3 {
                        w.put(1, 32);
                    }
                    w.put(target.len() as u64, 16).bytes(target.as_bytes());
                    3
                }
                Node::Dir(_, children) => {
                    let mut entries = Vec::new();
                    for c in children {
                        let (r, t, cino) =
                            write_node(c, o, img, inodes, dirs, frags, frag_buf, next_ino, ino);
                        let name = match c {
                            Node::Dir(n, _) | Node::File(n, _) | Node::Link(n, _) => *n,
                        };
                        entries.push((name, r, t, cino));
                    }
                    // The listing: one header per run of entries in the same inode block.
                    let (dblock, doff) = dirs.pos();
                    let mut listing = Vec::new();
                    let mut i = 0;
                    while i < entries.len() {
                        let blk = entries[i].1 >> 16;
                        let run: Vec<_> = entries[i..]
                            .iter()
                            .take_while(|e| e.1 >> 16 == blk)
                            .take(256)
                            .collect();
                        let mut h = BitWriter::new(o.be);
                        if v3 {
                            h.put(run.len() as u64 - 1, 8)
                                .put(blk, 32)
                                .put(run[0].3 as u64, 32);
                        } else {
                            h.put(run.len() as u64 - 1, 8).put(blk, 24);
                        }
                        listing.extend_from_slice(&h.bytes);
                        for (name, r, t, cino) in &run {
                            let mut e = BitWriter::new(o.be);
                            e.put(r & 0xffff, 13)
                                .put(*t as u64, 3)
                                .put(name.len() as u64 - 1, 8);
                            if v3 {
                                e.put((*cino as i64 - run[0].3 as i64) as u64 & 0xffff, 16);
                            }
                            e.bytes(name.as_bytes());
                            listing.extend_from_slice(&e.bytes);
                        }
                        i += run.len();
                    }
                    dirs.write(&listing);
                    let size = listing.len() + if v3 { 3 } else { 0 };
                    base(&mut w, 1, 0o755);
                    if v3 {
                        w.put(2, 32)
                            .put(size as u64, 19)
                            .put(doff, 13)
                            .put(dblock, 32)
                            .put(parent_ino as u64, 32);
                    } else {
                        w.put(size as u64, 19)
                            .put(doff, 13)
                            .put(1_700_000_000, 32)
                            .put(dblock, 24);
                    }
                    1
                }
            };
            let (b, off) = inodes.pos();
            inodes.write(&w.bytes);
            ((b << 16) | off, kind, ino)
        }

        let root_dir = Node::Dir("", root.iter().map(clone_node).collect());
        let (root_ref, _, _) = write_node(
            &root_dir,
            o,
            &mut img,
            &mut inodes,
            &mut dirs,
            &mut frags,
            &mut frag_buf,
            &mut next_ino,
            1,
        );
        flush_frag(&mut img, &mut frag_buf, &mut frags, o);
        let inode_table = img.len() as u64;
        img.extend_from_slice(&inodes.finish());
        let dir_table = img.len() as u64;
        img.extend_from_slice(&dirs.finish());
        // Fragment entries in metadata blocks, then their index.
        let mut fmeta = Meta {
            out: Vec::new(),
            cur: Vec::new(),
            be: o.be,
            compress: o.compress,
        };
        for (start, size) in &frags {
            let mut e = Vec::new();
            if v3 {
                e.extend_from_slice(&if o.be {
                    start.to_be_bytes()
                } else {
                    start.to_le_bytes()
                });
                put_u32(&mut e, *size, o.be);
                put_u32(&mut e, 0, o.be);
            } else {
                put_u32(&mut e, *start as u32, o.be);
                put_u32(&mut e, *size, o.be);
            }
            fmeta.write(&e);
        }
        let fmeta_at = img.len() as u64;
        let fbytes = fmeta.finish();
        // One index entry per 8 KiB of entries.
        let per_block = 8192 / if v3 { 16 } else { 8 };
        let mut index = Vec::new();
        let mut p = 0usize;
        for _ in 0..frags.len().div_ceil(per_block) {
            let at = fmeta_at + p as u64;
            if v3 {
                index.extend_from_slice(&if o.be {
                    at.to_be_bytes()
                } else {
                    at.to_le_bytes()
                });
            } else {
                put_u32(&mut index, at as u32, o.be);
            }
            let len = u16::from_le_bytes([fbytes[p], fbytes[p + 1]]);
            let len = if o.be {
                u16::from_be_bytes([fbytes[p], fbytes[p + 1]])
            } else {
                len
            };
            p += 2 + (len & 0x7fff) as usize;
        }
        img.extend_from_slice(&fbytes);
        let fragment_table = img.len() as u64;
        img.extend_from_slice(&index);
        let uid_start = img.len() as u64;
        put_u32(&mut img, 0, o.be);
        let guid_start = img.len() as u64;
        put_u32(&mut img, 0, o.be);
        let bytes_used = img.len() as u64;
        // Superblock.
        let mut sb = Vec::new();
        let put = |sb: &mut Vec<u8>, x: u32| put_u32(sb, x, o.be);
        sb.extend_from_slice(&o.magic.unwrap_or(if o.be { *b"sqsh" } else { *b"hsqs" }));
        put(&mut sb, next_ino - 1);
        put(&mut sb, bytes_used as u32);
        put(&mut sb, uid_start as u32);
        put(&mut sb, guid_start as u32);
        put(&mut sb, inode_table as u32);
        put(&mut sb, dir_table as u32);
        let u16e = |x: u16| {
            if o.be {
                x.to_be_bytes()
            } else {
                x.to_le_bytes()
            }
        };
        sb.extend_from_slice(&u16e(o.major));
        sb.extend_from_slice(&u16e(o.minor));
        sb.extend_from_slice(&u16e(o.block_size as u16));
        sb.extend_from_slice(&u16e(o.block_size.trailing_zeros() as u16));
        sb.extend_from_slice(&[0, 1, 1]); // flags, no_uids, no_guids
        put(&mut sb, 1_700_000_000);
        sb.extend_from_slice(&if o.be {
            root_ref.to_be_bytes()
        } else {
            root_ref.to_le_bytes()
        });
        put(&mut sb, o.block_size);
        put(&mut sb, frags.len() as u32);
        put(&mut sb, fragment_table as u32);
        if v3 {
            for x in [
                bytes_used,
                uid_start,
                guid_start,
                inode_table,
                dir_table,
                fragment_table,
                u64::MAX,
            ] {
                sb.extend_from_slice(&if o.be {
                    x.to_be_bytes()
                } else {
                    x.to_le_bytes()
                });
            }
        }
        assert_eq!(sb.len(), sb_len);
        img[..sb_len].copy_from_slice(&sb);
        img
    }

    fn clone_node(n: &Node) -> Node {
        match n {
            Node::Dir(name, c) => Node::Dir(name, c.iter().map(clone_node).collect()),
            Node::File(name, d) => Node::File(name, d.clone()),
            Node::Link(name, t) => Node::Link(name, t),
        }
    }

    /// The sample tree used by the tests: small and large files (fragments and full blocks),
    /// a symlink, nested and empty directories.
    pub fn sample() -> Vec<Node> {
        vec![
            Node::Dir(
                "etc",
                vec![
                    Node::File("shadow", b"root::0:0:99999:7:::\n".to_vec()),
                    Node::File("passwd", b"root:x:0:0:root:/root:/bin/sh\n".to_vec()),
                    Node::Dir(
                        "init.d",
                        vec![Node::File("rcS", b"#!/bin/sh\ntelnetd\n".to_vec())],
                    ),
                ],
            ),
            Node::Dir(
                "bin",
                vec![
                    Node::File("busybox", noise(150_000, 3)),
                    Node::Link("sh", "busybox"),
                ],
            ),
            Node::Dir(
                "usr",
                vec![Node::Dir(
                    "lib",
                    vec![Node::File(
                        "text.so",
                        "library text\n".repeat(9000).into_bytes(),
                    )],
                )],
            ),
            Node::Dir("var", vec![]),
        ]
    }
}
