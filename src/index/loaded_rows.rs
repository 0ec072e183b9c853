//! What an in-memory build keeps per stored element besides the graph: the heap TIDs of its rows,
//! and the lookup that finds an element holding exactly a new row's vector (same float bits), so
//! exact duplicates share one element (up to `MAX_HEAP_TIDS` rows, then the next row starts a new
//! one). The lookup keeps, per vector hash, the newest element stored with it: the only one of a
//! run of copies that can have room. One check per row, however many copies a table holds (a
//! list of every element per hash made a table of one value repeated quadratic); two different
//! vectors whose hashes collide only lose sharing (a copy of the older one starts an element).
//!
//! Memory is counted against maintenance_work_mem with the graph ([`LoadedRows::bytes`]). Most
//! elements hold one row, so the layout keeps the per-element cost to flat arrays: the first TID
//! (6 bytes), a 32-bit hash of the vector (4 bytes) and the element's slot in a hash table of
//! element ids (5 bytes per bucket, buckets a power of two) — about 20 bytes. The rare element with
//! several rows keeps all its TIDs in a map of its own. (The first layout, a `Vec` of TIDs per
//! element and a map from 64-bit hashes to `Vec`s of ids, cost ~128 bytes per element — 10 % of a
//! 1M × 384 build set aside — and its map's resizes briefly held two 30–70 MB tables at once: the
//! 3 % by which that build overshot maintenance_work_mem.)

use super::pages::format as page;
use embedrank_core::hnsw::FxBuildHasher;
use hashbrown::HashTable;
use pgrx::pg_sys::ItemPointerData;
use std::collections::{HashMap, TryReserveError};
use std::hash::{BuildHasher, Hash, Hasher};

#[derive(Default)]
pub struct LoadedRows {
    /// Each element's first heap TID.
    first: Vec<ItemPointerData>,
    /// All the TIDs of the elements with more than one row (exact duplicates).
    more: HashMap<u32, Vec<ItemPointerData>, FxBuildHasher>,
    /// Each element's vector hash ([`LoadedRows::hash`]).
    hashes: Vec<u32>,
    /// Per vector hash, the newest element stored with it.
    by_hash: HashTable<u32>,
}

/// The table's 64-bit hash of a 32-bit vector hash (itself a fold of a well-mixed 64-bit hash):
/// hashbrown takes the bucket from the low bits and the tag from the top 7; the multiply by an odd
/// constant spreads the 32 bits into the top ones.
fn wide(hash: u32) -> u64 {
    u64::from(hash).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

impl LoadedRows {
    /// Estimated bytes per element (see the module's design); `bytes` counts what is held.
    pub const BYTES_PER_ELEMENT: usize = 6 + 4 + 12;

    /// The hash the lookup keys a vector by: of its float bits, so that only exact copies match.
    pub fn hash(v: &[f32]) -> u32 {
        let mut h = FxBuildHasher.build_hasher();
        v.iter().for_each(|x| x.to_bits().hash(&mut h));
        let h = h.finish();
        (h >> 32) as u32 ^ h as u32
    }

    /// Bytes held, by capacity.
    pub fn bytes(&self) -> usize {
        let tids = std::mem::size_of::<ItemPointerData>();
        let slot = std::mem::size_of::<(u32, Vec<ItemPointerData>)>() + 1;
        self.first.capacity() * tids
            + self.hashes.capacity() * 4
            + self.by_hash.allocation_size()
            + self.more.capacity() * slot * 8 / 7
            // Each list: its TIDs and the allocator's header.
            + self.more.values().map(|l| l.capacity() * tids + 16).sum::<usize>()
    }

    /// Room for `additional` more elements without growing (so `push` does not allocate); false
    /// when the allocator refuses.
    pub fn try_reserve(&mut self, additional: usize) -> bool {
        let hashes = &self.hashes;
        self.by_hash
            .try_reserve(additional, |&id| wide(hashes[id as usize]))
            .is_ok()
            && self.first.try_reserve_exact(additional).is_ok()
            && self.hashes.try_reserve_exact(additional).is_ok()
    }

    /// The newest element stored with vector hash `hash`, if `same` says its vector has the same
    /// bits and it has room for another row.
    pub fn duplicate(&self, hash: u32, same: impl FnOnce(u32) -> bool) -> Option<u32> {
        let &id = self
            .by_hash
            .find(wide(hash), |&id| self.hashes[id as usize] == hash)?;
        (self.tids(id).len() < page::MAX_HEAP_TIDS && same(id)).then_some(id)
    }

    /// Record element `id` (the next one: ids are dense from 0) with its first row `tid` and its
    /// vector's `hash`. Within the room `try_reserve` made.
    pub fn push(&mut self, id: u32, tid: ItemPointerData, hash: u32) {
        assert_eq!(
            id as usize,
            self.first.len(),
            "elements are recorded in id order"
        );
        assert!(
            self.first.len() < self.first.capacity()
                && self.by_hash.len() < self.by_hash.capacity(),
            "push beyond the reserved room"
        );
        self.first.push(tid);
        self.hashes.push(hash);
        let hashes = &self.hashes;
        match self
            .by_hash
            .find_mut(wide(hash), |&i| hashes[i as usize] == hash)
        {
            Some(newest) => *newest = id,
            None => {
                self.by_hash
                    .insert_unique(wide(hash), id, |&i| wide(hashes[i as usize]));
            }
        }
    }

    /// Add row `tid` to element `id` (an exact duplicate of its vector); an error when the
    /// allocator refuses.
    pub fn add(&mut self, id: u32, tid: ItemPointerData) -> Result<(), TryReserveError> {
        if let Some(list) = self.more.get_mut(&id) {
            list.try_reserve(1)?;
            list.push(tid);
            return Ok(());
        }
        let mut list = Vec::new();
        list.try_reserve_exact(2)?;
        list.extend([self.first[id as usize], tid]);
        self.more.try_reserve(1)?;
        self.more.insert(id, list);
        Ok(())
    }

    /// The heap TIDs of element `id`.
    pub fn tids(&self, id: u32) -> &[ItemPointerData] {
        match self.more.get(&id) {
            Some(list) => list,
            None => std::slice::from_ref(&self.first[id as usize]),
        }
    }
}
