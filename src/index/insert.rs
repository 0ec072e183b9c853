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
//! Concurrency, as pgvector's: writers do not serialise on one lock.
//! - The index's *update lock* ([`UpdateLock`], a page-level lock on block 0's tag, not a buffer
//!   lock) is held by every insert in share mode, so inserts run side by side; an insert that sets
//!   the entry point (the first element, or one above the entry's level — rare: 1 in m^level) holds it
//!   exclusively. VACUUM takes it exclusively for a moment to wait out the inserts that started
//!   before its sweep, and to move the entry point.
//! - A neighbour list's read-modify-write (a back link, a repair) holds the list's page-level lock
//!   (the tag of the block the list is on; [`PageGraph`]'s `lock_list`), so two writers never lose
//!   each other's links; a writer holds at most one list lock at a time, so they cannot deadlock.
//! - Everything else is decided under a page's exclusive buffer lock: taking free space, joining a
//!   duplicate's TIDs, and the meta page's hints (the insert page and the first page with free
//!   space, changed only if no other writer moved them first).
//!
//! Scans take none of these locks: they read pages under share buffer locks. Every page change is its
//! own GenericXLog record, so a crash leaves at worst an element without back links — reachable
//! through its own links' neighbours once later inserts link to it, and never a dangling pointer.

use super::codec::Codec;
use super::graph::{read_meta, PageGraph};
use super::pages::format::{self as page, Meta, Node};
use super::pages::lock::PageLock;
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

/// The index's update lock (see the module comment).
pub struct UpdateLock;

impl UpdateLock {
    /// Held by inserts (which may run together).
    pub fn share(index: pg_sys::Relation) -> PageLock {
        PageLock::share(index, page::META_BLOCK)
    }

    /// Held alone: to change the entry point, or to wait for the inserts under way.
    pub fn exclusive(index: pg_sys::Relation) -> PageLock {
        PageLock::exclusive(index, page::META_BLOCK)
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

/// Insert `v` (already prepared for the metric) for heap row `tid`, under the update lock it takes.
pub unsafe fn insert_vector(index: pg_sys::Relation, v: &[f32], tid: pg_sys::ItemPointerData) {
    let mut lock = UpdateLock::share(index);
    let mut meta = read_meta(index);
    let values = meta.encoding().values(meta.dims as usize);
    if values.is_some_and(|n| v.len() != n) {
        raise(
            Code::ERRCODE_DATA_EXCEPTION,
            format!("expected {} dimensions, not {}", meta.dims, v.len()),
            None,
        );
    }
    if meta.dims as usize > meta.encoding().max_dims() {
        // Only an index left untrained (built on an empty table, or an unlogged one reset after a
        // crash) with a quantizer for more dimensions than its column's own form holds.
        raise(
            Code::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!(
                "index \"{}\" has no trained quantizer for {} dimensions",
                page::rel_name(index),
                meta.dims
            ),
            Some("REINDEX the index once the table holds rows: the quantizer is trained on them."),
        );
    }
    let level = new_level(meta.m as usize);
    if meta.entry == 0 || level as i32 > meta.entry_level {
        // Sets the entry point: alone, on the meta page as it is once the others are done.
        drop(lock);
        lock = UpdateLock::exclusive(index);
        meta = read_meta(index);
    }
    if meta.entry == 0 {
        let codec = Codec::load(index, &meta);
        let payload = codec.payload(v);
        raise_max_error(index, &meta, codec.error(&payload));
        let (n, hints) = place(index, level, tid, v.len(), &payload, &[]);
        write::update_meta(index, |m| {
            hints.apply(m);
            m.entry = n;
            m.entry_level = level as i32;
        });
        drop(lock);
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
    let payload = g.codec.payload(v);
    if try_join_duplicate(index, &g, &payload, inserter.nearest(), tid) {
        return;
    }
    raise_max_error(index, &meta, g.codec.error(&payload));
    let lists: Vec<Vec<Node>> = inserter
        .planned()
        .iter()
        .map(|l| l.iter().map(|x| x.node).collect())
        .collect();
    let (n, hints) = place(index, level, tid, v.len(), &payload, &lists);
    g.forget(n); // a reused slot may have been read (as a deleted element) during the search
    inserter.link_back(&mut g, n);
    let sets_entry = level > ep_level; // only ever under the exclusive lock
    if sets_entry || hints.changed() {
        write::update_meta(index, |m| {
            hints.apply(m);
            if sets_entry {
                m.entry = n;
                m.entry_level = level as i32;
            }
        });
    }
    drop(lock);
}

/// Before an element with error bound `error` is written: raise the meta page's largest bound to it
/// (scans read it when they start; one that started before reports this element with its own).
unsafe fn raise_max_error(index: pg_sys::Relation, meta: &Meta, error: f32) {
    if error > meta.max_error {
        write::update_meta(index, |m| m.max_error = m.max_error.max(error));
    }
}

/// The meta page's placement hints as an insert found them and as it leaves them.
struct Hints {
    found: (u32, u32),
    left: (u32, u32),
}

impl Hints {
    fn changed(&self) -> bool {
        self.found != self.left
    }

    /// Moves each hint of `m` to where this insert left it, unless another writer moved it first
    /// (an insert that extended the index too, or a VACUUM that freed space further back).
    fn apply(&self, m: &mut Meta) {
        if m.insert_block == self.found.0 {
            m.insert_block = self.left.0;
        }
        if m.free_block == self.found.1 {
            m.free_block = self.left.1;
        }
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
/// fit its slots). Returns the node and the hints for the caller to write to the meta page.
unsafe fn place(
    index: pg_sys::Relation,
    level: usize,
    tid: pg_sys::ItemPointerData,
    values: usize,
    payload: &[u8],
    lists: &[Vec<Node>],
) -> (Node, Hints) {
    // The hints as they are now: another insert may have moved them while this one searched.
    let mut meta = read_meta(index);
    let found = (meta.insert_block, meta.free_block);
    let n = find_place(index, &mut meta, level, tid, values, payload, lists);
    let left = (meta.insert_block, meta.free_block);
    (n, Hints { found, left })
}

/// [`place`] with the hints in `meta`, which it moves.
unsafe fn find_place(
    index: pg_sys::Relation,
    meta: &mut Meta,
    level: usize,
    tid: pg_sys::ItemPointerData,
    values: usize,
    payload: &[u8],
    lists: &[Vec<Node>],
) -> Node {
    let tids = [tid];
    let new = write::NewElement {
        level,
        tids: &tids,
        values,
        payload,
        lists,
    };
    let blocks = pg_sys::RelationGetNumberOfBlocksInFork(index, pg_sys::ForkNumber::MAIN_FORKNUM);
    let (mut block, mut unfitting) = (meta.free_block, 0);
    for _ in 0..FREE_SPACE_PAGES_PER_INSERT {
        if block == page::META_BLOCK {
            break;
        }
        match write::reuse_deleted(index, meta, block, &new) {
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
    write::add_pair(index, meta, &new)
}

/// If one of the closest elements stores exactly `payload` (the new row's) and is live with room,
/// add `tid` to it.
unsafe fn try_join_duplicate(
    index: pg_sys::Relation,
    g: &PageGraph,
    payload: &[u8],
    found: &[Candidate<Node>],
    tid: pg_sys::ItemPointerData,
) -> bool {
    for c in found.iter().take_while(|c| c.distance <= found[0].distance) {
        if g.stores(c.node, payload) && write::join_tid(index, c.node, tid) {
            return true;
        }
    }
    false
}
