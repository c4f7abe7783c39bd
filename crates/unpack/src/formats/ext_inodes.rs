//! Inode numbers of ext2/3/4 directories, read from the raw image. `ext4-view` does not tell
//! them, and without them a directory loop (a hard link to an ancestor, which no real
//! filesystem has) cannot be told from a real `x/x/x` chain in an image built with fixed time
//! stamps. Only what that needs: the superblock, group descriptors (32- or 64-byte), inodes,
//! block maps and extent trees, and linear directory entries (an htree directory keeps them
//! too; its index blocks read as empty entries). The journal is not applied: where the tables
//! disagree with it, the lookup fails and the caller falls back to a weaker identity.

use std::collections::HashMap;

use super::bytes::{u16_le, u32_le};

/// A directory larger than this is not listed here (the caller falls back).
const MAX_DIR_BYTES: usize = 16 << 20;

pub struct Raw<'a> {
    d: &'a [u8],
    bs: usize,
    ipg: u32,
    inode_size: usize,
    gdt: usize,
    desc_size: usize,
    groups: u32,
    filetype: bool,
}

impl<'a> Raw<'a> {
    /// `img` starts at the filesystem's first byte.
    pub fn new(img: &'a [u8]) -> Option<Raw<'a>> {
        let sb = img.get(1024..2048)?;
        let inodes = u32_le(sb, 0)?;
        let first_data = u32_le(sb, 20)? as usize;
        let log = u32_le(sb, 24)?;
        let ipg = u32_le(sb, 40)?;
        let rev = u32_le(sb, 76)?;
        let incompat = u32_le(sb, 96)?;
        if log > 6 || ipg == 0 {
            return None;
        }
        let bs = 1024usize << log;
        let inode_size = if rev >= 1 {
            u16_le(sb, 88)? as usize
        } else {
            128
        };
        let desc_size = if incompat & 0x80 != 0 {
            (u16_le(sb, 254)? as usize).max(32)
        } else {
            32
        };
        if inode_size < 128 {
            return None;
        }
        Some(Raw {
            d: img,
            bs,
            ipg,
            inode_size,
            gdt: (first_data + 1) * bs,
            desc_size,
            groups: inodes.div_ceil(ipg),
            filetype: incompat & 0x2 != 0,
        })
    }

    fn inode(&self, n: u32) -> Option<&'a [u8]> {
        let g = n.checked_sub(1)? / self.ipg;
        if g >= self.groups {
            return None;
        }
        let i = ((n - 1) % self.ipg) as usize;
        let desc = self
            .gdt
            .checked_add((g as usize).checked_mul(self.desc_size)?)?;
        let lo = u32_le(self.d, desc + 8)? as u64;
        let hi = if self.desc_size >= 64 {
            u32_le(self.d, desc + 0x28)? as u64
        } else {
            0
        };
        let table = ((hi << 32) | lo).checked_mul(self.bs as u64)?;
        let at = usize::try_from(table)
            .ok()?
            .checked_add(i * self.inode_size)?;
        self.d.get(at..at + 128)
    }

    fn block(&self, b: u64) -> Option<&'a [u8]> {
        let at = usize::try_from(b.checked_mul(self.bs as u64)?).ok()?;
        self.d.get(at..at.checked_add(self.bs)?)
    }

    /// The inode's data blocks in order (0 = a hole), at most `max`.
    fn blocks(&self, ino: &[u8], max: usize) -> Option<Vec<u64>> {
        let flags = u32_le(ino, 32)?;
        if flags & 0x1000_0000 != 0 {
            return None; // inline data
        }
        let mut out = Vec::new();
        if flags & 0x8_0000 != 0 {
            self.extents(ino.get(40..100)?, 0, max, &mut out)?;
            return Some(out);
        }
        for k in 0..12 {
            out.push(u32_le(ino, 40 + 4 * k)? as u64);
        }
        for (level, at) in [(1u32, 88usize), (2, 92), (3, 96)] {
            self.indirect(u32_le(ino, at)? as u64, level, max, &mut out)?;
        }
        out.truncate(max);
        Some(out)
    }

    fn indirect(&self, b: u64, level: u32, max: usize, out: &mut Vec<u64>) -> Option<()> {
        if b == 0 || out.len() >= max {
            return Some(());
        }
        let blk = self.block(b)?;
        for k in 0..self.bs / 4 {
            if out.len() >= max {
                break;
            }
            let p = u32_le(blk, 4 * k)? as u64;
            if level == 1 {
                out.push(p);
            } else {
                self.indirect(p, level - 1, max, out)?;
            }
        }
        Some(())
    }

    /// An extent tree node (the inode's `i_block`, or a tree block), depth-first.
    fn extents(&self, node: &[u8], depth: u32, max: usize, out: &mut Vec<u64>) -> Option<()> {
        if u16_le(node, 0)? != 0xF30A || depth > 5 {
            return None;
        }
        let entries = u16_le(node, 2)? as usize;
        let leaf = u16_le(node, 6)? == 0;
        for k in 0..entries {
            if out.len() >= max {
                break;
            }
            let e = node.get(12 + 12 * k..24 + 12 * k)?;
            if leaf {
                let logical = u32_le(e, 0)? as usize;
                let mut len = u16_le(e, 4)? as usize;
                if len > 32768 {
                    len -= 32768; // uninitialised: reads as zeros, holds no entries
                }
                let start = (u16_le(e, 6)? as u64) << 32 | u32_le(e, 8)? as u64;
                // Holes before this extent.
                while out.len() < logical.min(max) {
                    out.push(0);
                }
                for j in 0..len.min(max.saturating_sub(out.len())) {
                    out.push(start + j as u64);
                }
            } else {
                let child = (u16_le(e, 8)? as u64) << 32 | u32_le(e, 4)? as u64;
                self.extents(self.block(child)?, depth + 1, max, out)?;
            }
        }
        Some(())
    }

    /// Name → inode number of every entry of directory `dir`.
    pub fn listing(&self, dir: u32) -> Option<HashMap<Vec<u8>, u32>> {
        let ino = self.inode(dir)?;
        if u16_le(ino, 0)? & 0o170000 != 0o040000 {
            return None;
        }
        let size = (u32_le(ino, 4)? as usize).min(MAX_DIR_BYTES);
        let mut names = HashMap::new();
        for b in self.blocks(ino, size.div_ceil(self.bs))? {
            if b == 0 {
                continue;
            }
            let blk = self.block(b)?;
            let mut p = 0;
            while p + 8 <= blk.len() {
                let child = u32_le(blk, p)?;
                let rec = u16_le(blk, p + 4)? as usize;
                let nlen = if self.filetype {
                    blk[p + 6] as usize
                } else {
                    u16_le(blk, p + 6)? as usize
                };
                if rec < 8 {
                    break;
                }
                if child != 0 {
                    if let Some(n) = blk.get(p + 8..p + 8 + nlen) {
                        names.insert(n.to_vec(), child);
                    }
                }
                p += rec;
            }
        }
        Some(names)
    }
}
