//! Adding one vector to the on-disk graph (aminsert, and builds that outgrow maintenance_work_mem).
//!
//! HNSW insertion over [`PageGraph`]: greedy descent to the new element's level, an
//! ef_construction-wide search per level, neighbour selection with the heuristic, then each chosen
//! neighbour gets a back link (re-pruned with the heuristic when its list is full). An exact duplicate
//! of an existing vector joins that element's heap TIDs instead (up to 10 per element). New elements
//! take the space of elements VACUUM removed when there is some (see [`place`]), so an index under
//! steady updates stays the same size instead of growing until REINDEX.
//!
//! Concurrency: writers (insert, vacuum) serialise on a page-level lock of the index (block 0's lock
//! tag, not a buffer lock), held to the end of the insert; scans never take it and read pages under
//! share buffer locks, so they run alongside. Every page change is its own GenericXLog record, so a
//! crash leaves at worst an element without back links — reachable through its own links' neighbours
//! once later inserts link to it, and never a dangling pointer.

use super::page::{self, Meta, Node};
use super::storage::{read_meta, PageGraph};
use super::write;
use crate::errors::{raise, Code};
use embedrank_core::hnsw::{
    random_level, search_layer, select_neighbors, Candidate, GraphView, LevelRng,
};
use pgrx::pg_sys;
use std::cell::RefCell;

thread_local! {
    /// (test seed, command, statement start) the generator was last restarted for (`TEST_LEVEL_SEED`).
    static SEEDED: std::cell::Cell<(i32, u32, i64)> = const { std::cell::Cell::new((0, 0, 0)) };
    static RNG: RefCell<LevelRng> = RefCell::new(LevelRng::new(
        (std::process::id() as u64) << 32 ^ std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(7),
    ));
}

/// Lock serialising index writers (insert, vacuum) against each other.
pub struct WriterLock(pg_sys::Relation);

impl WriterLock {
    pub fn take(index: pg_sys::Relation) -> Self {
        unsafe { pg_sys::LockPage(index, page::META_BLOCK, pg_sys::ExclusiveLock as i32) };
        WriterLock(index)
    }
}

impl Drop for WriterLock {
    fn drop(&mut self) {
        // On ERROR the lock is released by transaction abort instead.
        if !std::thread::panicking() {
            unsafe { pg_sys::UnlockPage(self.0, page::META_BLOCK, pg_sys::ExclusiveLock as i32) };
        }
    }
}

/// A level for a new element (capped so its neighbour list fits a page).
pub fn new_level(m: usize) -> usize {
    let seed = super::options::TEST_LEVEL_SEED.get();
    if seed != 0 {
        // Restart at the first insert of each SQL command, so every command run under the same
        // seed draws the same levels.
        let key = (
            seed,
            unsafe { pg_sys::GetCurrentCommandId(false) },
            unsafe { pg_sys::GetCurrentStatementStartTimestamp() },
        );
        if SEEDED.get() != key {
            SEEDED.set(key);
            RNG.with(|r| *r.borrow_mut() = LevelRng::new(seed as u64));
        }
    }
    RNG.with(|r| random_level(&mut r.borrow_mut(), m))
        .clamp(super::options::forced_level(m), page::max_level(m))
}

/// Insert `v` (already prepared for the metric) for heap row `tid`. The caller holds [`WriterLock`].
pub unsafe fn insert_vector(index: pg_sys::Relation, v: &[f32], tid: pg_sys::ItemPointerData) {
    let mut meta = read_meta(index);
    if v.len() != meta.dims as usize {
        raise(
            Code::ERRCODE_DATA_EXCEPTION,
            format!("expected {} dimensions, not {}", meta.dims, v.len()),
            None,
        );
    }
    let m = meta.m as usize;
    let level = new_level(m);
    if meta.entry == 0 {
        let n = place(index, &mut meta, level, tid, v, &[]);
        meta.entry = n;
        meta.entry_level = level as i32;
        write::write_meta(index, &meta);
        return;
    }
    let mut g = PageGraph::new(index, &meta, true);
    let (ep, ep_level) = (meta.entry, meta.entry_level as usize);
    let mut cur = vec![Candidate {
        distance: g.distance_to(v, ep),
        node: ep,
    }];
    for lc in (level + 1..=ep_level).rev() {
        cur = search_layer(&mut g, v, &cur, 1, lc);
    }
    let top = level.min(ep_level);
    let mut lists: Vec<Vec<Node>> = vec![Vec::new(); level + 1];
    for lc in (0..=top).rev() {
        let found = search_layer(&mut g, v, &cur, meta.ef_construction as usize, lc);
        if lc == 0 && try_join_duplicate(index, &mut g, v, &found, tid) {
            return;
        }
        let cap = page::level_capacity(m, lc);
        // Deleted elements help the search along but are never chosen as neighbours: VACUUM
        // relinks the graph around them and then frees their space for reuse.
        let live: Vec<Candidate<Node>> = found
            .iter()
            .filter(|c| !g.element(c.node).deleted)
            .copied()
            .collect();
        lists[lc] = select_neighbors(&live, cap, |a, b| g.distance_between(a, b))
            .iter()
            .map(|c| c.node)
            .collect();
        cur = found;
    }
    let before = (meta.insert_block, meta.free_block);
    let n = place(index, &mut meta, level, tid, v, &lists);
    g.forget(n); // a reused slot may have been read (as a deleted element) during the search
    for (lc, list) in lists.iter().enumerate() {
        for &e in list {
            connect(&mut g, &meta, e, n, lc);
        }
    }
    if level > ep_level || (meta.insert_block, meta.free_block) != before {
        if level > ep_level {
            meta.entry = n;
            meta.entry_level = level as i32;
        }
        write::write_meta(index, &meta);
    }
}

/// Pages an insert looks through for reusable space before it appends instead.
const FREE_SPACE_PAGES_PER_INSERT: u32 = 64;

/// Write the new element (and its neighbour lists) where it goes: into the space of a deleted element
/// from `meta.free_block` on, else at the end of the index. Moves `meta.free_block` past pages that
/// have no deleted element left (the caller writes the meta page when it changed).
unsafe fn place(
    index: pg_sys::Relation,
    meta: &mut Meta,
    level: usize,
    tid: pg_sys::ItemPointerData,
    v: &[f32],
    lists: &[Vec<Node>],
) -> Node {
    let m = meta.m as usize;
    let blocks = pg_sys::RelationGetNumberOfBlocksInFork(index, pg_sys::ForkNumber::MAIN_FORKNUM);
    for _ in 0..FREE_SPACE_PAGES_PER_INSERT {
        if meta.free_block == page::META_BLOCK {
            break;
        }
        if let Some(n) = write::reuse_deleted(index, m, meta.free_block, level, &[tid], v, lists) {
            return n;
        }
        if level > 0 {
            // The page may still have deleted level-0 elements: keep it for level-0 inserts.
            break;
        }
        meta.free_block += 1;
        if meta.free_block >= blocks {
            meta.free_block = page::META_BLOCK;
        }
    }
    write::add_pair(index, meta, level, &[tid], v, lists)
}

/// If the closest element holds exactly `v` and is live with room, add `tid` to it.
unsafe fn try_join_duplicate(
    index: pg_sys::Relation,
    g: &mut PageGraph,
    v: &[f32],
    found: &[Candidate<Node>],
    tid: pg_sys::ItemPointerData,
) -> bool {
    for c in found.iter().take_while(|c| c.distance <= found[0].distance) {
        if g.vector(c.node) == v && write::join_tid(index, c.node, tid) {
            return true;
        }
    }
    false
}

/// Add a link `e → new` at `level`, re-selecting `e`'s neighbours with the heuristic when full.
unsafe fn connect(g: &mut PageGraph, meta: &Meta, e: Node, new: Node, level: usize) {
    if e == new {
        // Only after a crash between vacuum's passes can a reused slot be its own candidate.
        return;
    }
    let m = meta.m as usize;
    let nb = g.element(e).neighbors;
    let mut list = Vec::new();
    g.neighbors(e, level, &mut list);
    if list.contains(&new) {
        return;
    }
    let cap = page::level_capacity(m, level);
    if list.len() < cap {
        list.push(new);
    } else {
        let mut cands: Vec<Candidate<Node>> = list
            .iter()
            .chain(std::iter::once(&new))
            .map(|&x| Candidate {
                distance: g.distance_between(e, x),
                node: x,
            })
            .collect();
        cands.sort_by(|a, b| a.distance.total_cmp(&b.distance));
        let chosen = select_neighbors(&cands, cap, |a, b| g.distance_between(a, b));
        if !chosen.iter().any(|c| c.node == new) {
            return;
        }
        list = chosen.iter().map(|c| c.node).collect();
    }
    write::set_neighbors(g.index, m, nb, level, &list);
}
