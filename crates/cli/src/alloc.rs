//! The binary's allocator: the system's, counting the bytes in use for `--max-memory`
//! (`iotassure_core::memory`). Two relaxed atomic adds per allocation; nothing else changes.

use std::alloc::{GlobalAlloc, Layout, System};

use iotassure_core::memory;

pub struct Counting;

// SAFETY: every method forwards its arguments unchanged to `System`, which upholds the
// `GlobalAlloc` contract; the counter updates touch only atomics, never the memory, and do not
// allocate. A failed allocation (null) is not counted.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is; the caller upholds `alloc`'s contract for `layout`.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            memory::add(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            memory::add(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator (so from `System`) with this `layout`.
        unsafe { System.dealloc(ptr, layout) };
        memory::sub(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` and `layout` came from this allocator; `new_size` obeys the caller's
        // contract.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            memory::sub(layout.size());
            memory::add(new_size);
        }
        p
    }
}

#[cfg(test)]
mod tests {
    use iotassure_core::memory;

    #[test]
    fn the_count_follows_allocations() {
        let before = memory::live();
        let v = vec![7u8; 64 << 20];
        let during = memory::live();
        assert!(during >= before + (64 << 20), "{before} → {during}");
        drop(v);
        // Other tests allocate at the same time: allow their noise, not the 64 MiB.
        assert!(memory::live() < during - (32 << 20));
        assert!(memory::peak() >= during);
    }
}
