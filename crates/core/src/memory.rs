//! The heap in use, as a binary's counting allocator reports it ([`add`], [`sub`]), so that
//! long work can stop cleanly at `--max-memory` instead of being killed by the OS.
//!
//! A library linked without the counting allocator (the crates' own tests) sees 0 and never
//! stops: the cap is the binary's.

use std::sync::atomic::{AtomicUsize, Ordering};

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

pub fn add(n: usize) {
    let now = LIVE.fetch_add(n, Ordering::Relaxed) + n;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

pub fn sub(n: usize) {
    LIVE.fetch_sub(n, Ordering::Relaxed);
}

/// Bytes allocated and not yet freed.
pub fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// The most [`live`] has been.
pub fn peak() -> usize {
    PEAK.load(Ordering::Relaxed)
}
