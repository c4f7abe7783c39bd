//! A sparse flash image built from address/data records (Intel HEX, S-records): contiguous
//! regions, small holes filled with 0xFF (erased flash), large holes starting a new region so a
//! record at 0x0800_0000 does not produce a 128 MiB file.

use std::collections::BTreeMap;

/// Holes up to this size are filled; larger ones split the image into regions.
const MAX_FILL: u64 = 64 * 1024;

#[derive(Default)]
pub struct Flash {
    /// Start address → bytes, non-overlapping after `regions()`.
    records: BTreeMap<u64, Vec<u8>>,
    bytes: u64,
}

pub struct Region {
    pub start: u64,
    pub data: Vec<u8>,
}

impl Flash {
    /// Adds a record; refuses to hold more than `cap` bytes of data.
    pub fn add(&mut self, addr: u64, data: &[u8], cap: u64) -> Result<(), String> {
        self.bytes += data.len() as u64;
        if self.bytes > cap {
            return Err(format!("more than {cap} bytes of data records"));
        }
        self.records
            .entry(addr)
            .or_default()
            .extend_from_slice(data);
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.bytes == 0
    }

    /// Contiguous regions; a later record overwrites an earlier one where they overlap.
    pub fn regions(&self) -> Vec<Region> {
        let mut out: Vec<Region> = Vec::new();
        for (&addr, data) in &self.records {
            if data.is_empty() {
                continue;
            }
            match out.last_mut() {
                Some(r) if addr <= r.start + r.data.len() as u64 + MAX_FILL && addr >= r.start => {
                    let off = (addr - r.start) as usize;
                    if r.data.len() < off {
                        r.data.resize(off, 0xff);
                    }
                    let end = off + data.len();
                    if r.data.len() < end {
                        r.data.resize(end, 0xff);
                    }
                    r.data[off..end].copy_from_slice(data);
                }
                _ => out.push(Region {
                    start: addr,
                    data: data.clone(),
                }),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holes_fill_or_split() {
        let mut f = Flash::default();
        f.add(0, &[1, 2], 100).unwrap();
        f.add(4, &[3], 100).unwrap();
        f.add(0x0800_0000, &[9], 100).unwrap();
        let r = f.regions();
        assert_eq!(r.len(), 2);
        assert_eq!(r[0].data, vec![1, 2, 0xff, 0xff, 3]);
        assert_eq!(r[1].start, 0x0800_0000);
        assert!(f.add(8, &[0; 200], 100).is_err());
    }
}
