//! Caps that keep a hostile image from filling the disk, exhausting memory or running forever.
//! Each cap, when hit, stops the work it bounds with a message naming the cap and its flag.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Limits {
    /// Total bytes written under the output folder.
    pub max_total_bytes: u64,
    /// Bytes one extracted file or decompressed stream may hold.
    pub max_file_bytes: u64,
    /// Entries (files, directories, links) created.
    pub max_files: u64,
    /// Nesting depth of containers (image → lzma → cpio is depth 2).
    pub max_depth: u32,
    /// Output/input ratio of one chunk, enforced once its output passes `ratio_floor` bytes.
    pub max_ratio: u64,
    pub ratio_floor: u64,
    /// Wall time for the whole unpack.
    pub max_time: Duration,
    /// Memory a single decompressor may use (liblzma memlimit and similar).
    pub max_decoder_memory: u64,
    /// Heap in use (as the binary's counting allocator reports it) past which extraction stops,
    /// checked before each write and each entry: a soft cap, one allocation may pass it.
    pub max_memory: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_total_bytes: 4 << 30,
            max_file_bytes: 1 << 30,
            max_files: 500_000,
            max_depth: 8,
            max_ratio: 1000,
            ratio_floor: 32 << 20,
            max_time: Duration::from_secs(600),
            max_decoder_memory: 512 << 20,
            max_memory: 2 << 30,
        }
    }
}
