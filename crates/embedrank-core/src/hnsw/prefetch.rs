//! Asking memory for a vector before it is read.
//!
//! A search computes distances to every unvisited neighbour of the node it expands: vectors
//! scattered over a store far larger than the CPU caches (150 MB at 100k × 384). Reading them one
//! after the other waits for memory once per vector; asking for the next few while computing the
//! current one overlaps those waits (hnswlib does the same).

/// Bytes per cache line (x86-64 and most ARM cores).
pub const LINE: usize = 64;
/// The most bytes of one vector asked for ahead (the hardware prefetcher streams the rest).
const MAX_BYTES: usize = 2048;
/// How many vectors ahead of the one computed are asked for.
const AHEAD: usize = 4;

/// Calls `compute(n)` for each of `nodes` in order, having called `ask` for the node [`AHEAD`] places
/// further on (and for the first [`AHEAD`] before starting): the shape of every batched distance, over
/// the in-memory store and over index pages, where `ask` issues the prefetches.
pub fn ahead<N: Copy>(nodes: &[N], mut ask: impl FnMut(N), mut compute: impl FnMut(N)) {
    nodes.iter().take(AHEAD).for_each(|&n| ask(n));
    for (i, &n) in nodes.iter().enumerate() {
        if let Some(&further) = nodes.get(i + AHEAD) {
            ask(further);
        }
        compute(n);
    }
}

/// Ask the CPU to start loading `v` into its caches (a hint: nothing is read, nothing can fault).
#[inline]
pub(crate) fn prefetch<T>(v: &[T]) {
    prefetch_bytes(
        v.as_ptr() as *const u8,
        std::mem::size_of_val(v).min(MAX_BYTES),
    );
}

/// Ask the CPU to start loading every cache line that the `len` bytes from `start` touch (hints:
/// nothing is read, and a prefetch cannot fault wherever it points). Also for index pages.
#[inline]
pub fn prefetch_bytes(start: *const u8, len: usize) {
    let skew = start as usize % LINE;
    let first = start.wrapping_sub(skew);
    for at in (0..skew + len).step_by(LINE) {
        prefetch_line(first.wrapping_add(at));
    }
}

/// Ask the CPU to start loading the cache line holding `p` (a hint: it never faults).
#[inline]
pub fn prefetch_line(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch reads nothing architecturally and cannot fault.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(p as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
