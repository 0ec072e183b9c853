//! Visited sets for graph search.
//!
//! A search must compute each node's distance at most once. For arbitrary
//! node types (page addresses) an Fx-hashed `HashSet` is used; for the dense
//! `u32` ids of the in-memory graph a bitset (`n / 8` bytes, cleared with a
//! `memset`) is several times faster and allocation-free once sized.

use super::FxHashSet;
use std::hash::Hash;

/// The operations a search needs from its visited set.
pub trait VisitedSet<N> {
    fn clear(&mut self);
    /// Marks `n`; returns true if it was not marked before.
    fn insert(&mut self, n: N) -> bool;
}

impl<N: Hash + Eq> VisitedSet<N> for FxHashSet<N> {
    #[inline]
    fn clear(&mut self) {
        FxHashSet::clear(self);
    }
    #[inline]
    fn insert(&mut self, n: N) -> bool {
        FxHashSet::insert(self, n)
    }
}

/// Growable bitset over `u32` ids.
#[derive(Default, Debug, Clone)]
pub(crate) struct BitSet {
    words: Vec<u64>,
}

impl BitSet {
    pub fn with_capacity(bits: usize) -> Self {
        BitSet {
            words: vec![0; bits.div_ceil(64)],
        }
    }
}

impl VisitedSet<u32> for BitSet {
    #[inline]
    fn clear(&mut self) {
        self.words.fill(0);
    }
    #[inline]
    fn insert(&mut self, n: u32) -> bool {
        let (w, bit) = ((n / 64) as usize, 1u64 << (n % 64));
        if w >= self.words.len() {
            self.words.resize(w + 1, 0);
        }
        let word = &mut self.words[w];
        let fresh = *word & bit == 0;
        *word |= bit;
        fresh
    }
}

impl BitSet {
    /// Whether `n` is marked (tests only; searches use `insert`).
    #[cfg(test)]
    pub fn contains(&self, n: u32) -> bool {
        self.words
            .get((n / 64) as usize)
            .is_some_and(|w| w & (1u64 << (n % 64)) != 0)
    }
}
