//! Adding one vector to the on-disk graph (aminsert, and builds that outgrow maintenance_work_mem).
//!
//! The HNSW insert is the core crate's [`Inserter`] over [`PageGraph`] — the same code the in-memory
//! build runs: `plan` finds the new element's neighbours per level (deleted elements help the search
//! along but are never chosen), then this module stores the element, then `link_back` adds the back
//! links (re-pruning full lists with the heuristic). Between the two, an exact duplicate of an
//! existing vector joins that element's heap TIDs instead (up to 10 per element), and a new element
//! takes the space of one VACUUM freed when there is some (see [`place`]), so an index under steady
//! updates stays the same size instead of growing until REINDEX.
//!
//! Concurrency: writers (insert, vacuum's repair) serialise on a page-level lock of the index
//! (block 0's lock tag, not a buffer lock), held to the end of the insert; scans never take it and
//! read pages under share buffer locks, so they run alongside. Every page change is its own
//! GenericXLog record, so a crash leaves at worst an element without back links — reachable through
//! its own links' neighbours once later inserts link to it, and never a dangling pointer.

use super::graph::{read_meta, PageGraph};
use super::pages::format::{self as page, Meta, Node};
use super::write;
use crate::errors::{raise, Code};
use embedrank_core::hnsw::{random_level, Candidate, Inserter, LevelRng};
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
    let values = meta.encoding().values(meta.dims as usize);
    if values.is_some_and(|n| v.len() != n) {
        raise(
            Code::ERRCODE_DATA_EXCEPTION,
            format!("expected {} dimensions, not {}", meta.dims, v.len()),
            None,
        );
    }
    let level = new_level(meta.m as usize);
    if meta.entry == 0 {
        let n = place(index, &mut meta, level, tid, v, &[]);
        meta.entry = n;
        meta.entry_level = level as i32;
        write::write_meta(index, &meta);
        return;
    }
    let mut g = PageGraph::new(index, &meta, true);
    let mut inserter = Inserter::new();
    let ep_level = meta.entry_level as usize;
    inserter.plan(
        &mut g,
        v,
        level,
        (meta.entry, ep_level),
        meta.ef_construction as usize,
    );
    if try_join_duplicate(index, &mut g, v, inserter.nearest(), tid) {
        return;
    }
    let lists: Vec<Vec<Node>> = inserter
        .planned()
        .iter()
        .map(|l| l.iter().map(|x| x.node).collect())
        .collect();
    let before = (meta.insert_block, meta.free_block);
    let n = place(index, &mut meta, level, tid, v, &lists);
    g.forget(n); // a reused slot may have been read (as a deleted element) during the search
    inserter.link_back(&mut g, n);
    if level > ep_level || (meta.insert_block, meta.free_block) != before {
        if level > ep_level {
            meta.entry = n;
            meta.entry_level = level as i32;
        }
        write::write_meta(index, &meta);
    }
}

/// Pages an insert looks through for reusable space before it appends instead (each under a share
/// lock, exclusive only to take a slot).
const FREE_SPACE_PAGES_PER_INSERT: u32 = 64;
/// Of those, pages with free slots none of which fits this element (too low a neighbour list, or a
/// sparse slot too short) that it looks past.
const UNFITTING_PAGES_PER_INSERT: u32 = 8;

/// Write the new element (and its neighbour lists) where it goes: into the space of a deleted element
/// from `meta.free_block` on, else at the end of the index. Moves `meta.free_block` past pages that
/// have no deleted element left, up to the first that still has some (kept for the elements that
/// fit its slots; the caller writes the meta page when it changed).
unsafe fn place(
    index: pg_sys::Relation,
    meta: &mut Meta,
    level: usize,
    tid: pg_sys::ItemPointerData,
    v: &[f32],
    lists: &[Vec<Node>],
) -> Node {
    let blocks = pg_sys::RelationGetNumberOfBlocksInFork(index, pg_sys::ForkNumber::MAIN_FORKNUM);
    let (mut block, mut unfitting) = (meta.free_block, 0);
    for _ in 0..FREE_SPACE_PAGES_PER_INSERT {
        if block == page::META_BLOCK {
            break;
        }
        match write::reuse_deleted(index, meta, block, level, &[tid], v, lists) {
            Ok(n) => return n,
            Err(page::FreeSlot::NoneFits) => {
                unfitting += 1;
                if unfitting == UNFITTING_PAGES_PER_INSERT {
                    break;
                }
            }
            Err(_) => {}
        }
        block += 1;
        if block >= blocks {
            block = page::META_BLOCK;
        }
        if unfitting == 0 {
            meta.free_block = block;
        }
    }
    write::add_pair(index, meta, level, &[tid], v, lists)
}

/// If one of the closest elements holds exactly `v` and is live with room, add `tid` to it.
unsafe fn try_join_duplicate(
    index: pg_sys::Relation,
    g: &mut PageGraph,
    v: &[f32],
    found: &[Candidate<Node>],
    tid: pg_sys::ItemPointerData,
) -> bool {
    for c in found.iter().take_while(|c| c.distance <= found[0].distance) {
        if super::build::same_bits(&g.vector(c.node), v) && write::join_tid(index, c.node, tid) {
            return true;
        }
    }
    false
}
