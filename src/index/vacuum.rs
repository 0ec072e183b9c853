//! VACUUM: drop dead heap TIDs, repair the graph around elements that lost all of theirs, then free
//! their space for reuse — while inserts go on.
//!
//! 1. *Sweep* (page by page): each page's dead heap TIDs are removed under its exclusive buffer lock
//!    in one WAL record; an element left with none is marked deleted-but-linked
//!    ([`page::DELETED_LINKED`]). From then on inserts walk through it but never choose it as a
//!    neighbour. Elements an earlier VACUUM left in that state (it was cancelled) are picked up too.
//! 2. *Repair* (only if something is deleted): first wait for inserts already running (take and drop
//!    the update lock exclusively: an insert that started before step 1 may still link to a
//!    now-deleted element). Move the entry point off a deleted element. Then page by page, every live
//!    element linking to a deleted one has that list mended by the core crate's `Inserter::repair`,
//!    on the insert's own code, under that list's lock (as an insert's back link takes it): its live
//!    links stay, and the deleted links' slots go to the live elements beyond them (a walk through
//!    the deleted ones, so a region deleted as a whole is crossed; an ef_construction search only
//!    when that finds none), chosen with the heuristic, with back links. Elements that inserts add
//!    meanwhile never link to deleted ones, so when the pass ends nothing live does.
//! 3. *Free*: the deleted elements are marked free ([`page::DELETED_FREE`]) and the meta page's
//!    `free_block` points inserts at the first such page.
//!
//! A VACUUM stopped anywhere (cancel, statement_timeout, crash) leaves at worst deleted-but-linked
//! elements, which are never reused; the next VACUUM repairs and frees them. No lock is held across
//! vacuum_delay_point, so cost-based delays do not stall inserts. Memory: the set of deleted
//! elements, the page being worked on, and the repair's vector cache (bounded by
//! maintenance_work_mem).

use super::graph::{page_elements, read_meta, ListedElement, PageGraph};
use super::insert::UpdateLock;
use super::options::test_vacuum_stop;
use super::pages::buffer::block_count;
use super::pages::format::{self as page, Node};
use super::write;
use embedrank_core::hnsw::{FxHashSet, GraphView, Inserter};
use pgrx::prelude::*;
use pgrx::{pg_sys, PgBox};

fn vacuum_delay() {
    unsafe {
        #[cfg(feature = "pg18")]
        pg_sys::vacuum_delay_point(false);
        #[cfg(not(feature = "pg18"))]
        pg_sys::vacuum_delay_point();
    }
}

#[pg_guard]
pub unsafe extern "C-unwind" fn ambulkdelete(
    info: *mut pg_sys::IndexVacuumInfo,
    stats: *mut pg_sys::IndexBulkDeleteResult,
    callback: pg_sys::IndexBulkDeleteCallback,
    callback_state: *mut std::ffi::c_void,
) -> *mut pg_sys::IndexBulkDeleteResult {
    let index = (*info).index;
    let stats = if stats.is_null() {
        PgBox::<pg_sys::IndexBulkDeleteResult>::alloc0().into_pg()
    } else {
        stats
    };
    let callback = callback.expect("bulk delete callback");
    let mut dead = |t: &pg_sys::ItemPointerData| {
        let mut t = *t;
        callback(&mut t, callback_state)
    };

    // 1. Sweep.
    let mut deleted: FxHashSet<Node> = FxHashSet::default();
    let mut live_tids = 0usize;
    for block in 1..block_count(index) {
        let sweep = write::sweep_dead_tids(index, block, &mut dead);
        (*stats).tuples_removed += sweep.removed as f64;
        live_tids += sweep.live_tids;
        deleted.extend(sweep.linked_deleted);
        vacuum_delay();
    }
    (*stats).num_index_tuples = live_tids as f64;
    (*stats).num_pages = block_count(index);
    test_vacuum_stop(1);
    if deleted.is_empty() {
        return stats;
    }

    // 2. Repair.
    drop(UpdateLock::exclusive(index)); // inserts that may have chosen a now-deleted neighbour are done
    move_entry_point(index, &deleted);
    let blocks = block_count(index);
    let mut listed = Vec::new();
    // One vector cache for the pass (bounded by maintenance_work_mem). A slot an insert reuses
    // meanwhile may leave a stale cached vector: it only skews one neighbour choice, never a link's
    // target.
    let mut g = PageGraph::new(index, &read_meta(index), true);
    let mut inserter = Inserter::new();
    for block in 1..blocks {
        listed.clear();
        page_elements(index, block, &mut listed);
        repair_page(&mut g, &mut inserter, &listed, &deleted);
        if block == blocks / 2 {
            test_vacuum_stop(2);
        }
        vacuum_delay();
    }
    test_vacuum_stop(3);

    // 3. Free.
    let mut by_block: Vec<Node> = deleted.into_iter().collect();
    by_block.sort_unstable();
    for group in by_block.chunk_by(|a, b| page::node_block(*a) == page::node_block(*b)) {
        write::mark_free(index, page::node_block(group[0]), group);
        vacuum_delay();
    }
    if let Some(first) = by_block.first().map(|&n| page::node_block(n)) {
        write::update_meta(index, |m| {
            if m.free_block == page::META_BLOCK || first < m.free_block {
                m.free_block = first;
            }
        });
    }
    stats
}

/// If the entry point is deleted, make the tallest live element the entry (none left: empty graph).
///
/// The tallest is looked for over the whole index under the update lock, not taken from the sweep:
/// inserts ran alongside the sweep (on pages it had passed, and on pages appended after it started),
/// and an entry lower than a live element's level leaves that element's upper layers out of every
/// search's descent. One read of every page, only when the entry point itself was deleted.
unsafe fn move_entry_point(index: pg_sys::Relation, deleted: &FxHashSet<Node>) {
    let _lock = UpdateLock::exclusive(index);
    let meta = read_meta(index);
    if meta.entry == 0 || !deleted.contains(&meta.entry) {
        return;
    }
    let mut tallest: Option<(usize, Node)> = None;
    let mut listed = Vec::new();
    for block in 1..block_count(index) {
        listed.clear();
        page_elements(index, block, &mut listed);
        for e in listed.iter().filter(|e| e.deleted == page::LIVE) {
            if tallest.is_none_or(|(level, _)| e.level > level) {
                tallest = Some((e.level, e.node));
            }
        }
        pg_sys::check_for_interrupts!();
    }
    write::update_meta(index, |m| {
        (m.entry, m.entry_level) = match tallest {
            Some((level, n)) => (n, level as i32),
            None => (0, -1),
        };
    });
}

/// Give every live element of one page that links to a deleted element a new neighbour list at that
/// level (each list under its lock, taken by `Inserter::repair`).
unsafe fn repair_page(
    g: &mut PageGraph,
    inserter: &mut Inserter<Node, FxHashSet<Node>>,
    elements: &[ListedElement],
    deleted: &FxHashSet<Node>,
) {
    let meta = read_meta(g.index);
    if meta.entry == 0 {
        return;
    }
    let entry = (meta.entry, meta.entry_level as usize);
    let mut list = Vec::new();
    for e in elements.iter().filter(|e| e.deleted == page::LIVE) {
        for level in 0..=e.level {
            list.clear();
            g.neighbors(e.node, level, &mut list);
            if list.iter().any(|x| deleted.contains(x)) {
                inserter.repair(g, e.node, level, entry, meta.ef_construction as usize);
            }
        }
        g.trim_cache(pg_sys::maintenance_work_mem as usize * 1024);
    }
    pg_sys::check_for_interrupts!();
}

/// amvacuumcleanup: the statistics bulk-delete gathered; when it did not run (nothing to delete),
/// nothing to report and nothing read, as the other index access methods do.
#[pg_guard]
pub unsafe extern "C-unwind" fn amvacuumcleanup(
    info: *mut pg_sys::IndexVacuumInfo,
    stats: *mut pg_sys::IndexBulkDeleteResult,
) -> *mut pg_sys::IndexBulkDeleteResult {
    if (*info).analyze_only || stats.is_null() {
        return stats;
    }
    (*stats).num_pages = block_count((*info).index);
    stats
}
