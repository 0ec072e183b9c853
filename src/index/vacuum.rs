//! VACUUM: drop dead heap TIDs, then repair the graph around elements that lost all of theirs.
//!
//! Pass 1 asks the callback about every heap TID and rewrites elements whose list changed; an element
//! left with none is marked deleted. Pass 2 (only if something was deleted) gives every live element
//! that linked to a deleted one a new neighbour list, chosen with the HNSW heuristic among its live
//! neighbours and the live neighbours of the deleted ones, and moves the entry point off a deleted
//! element (to the live element of highest level). Deleted elements then are unreachable; the meta
//! page's `free_block` points inserts at the first page holding one, and inserts reuse their space.
//! Writers are locked out for the duration (scans are not).

use super::insert::WriterLock;
use super::page::{self, Node};
use super::storage::{all_elements, read_meta, PageGraph};
use super::write;
use embedrank_core::hnsw::{select_neighbors, Candidate, FxHashSet, GraphView};
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
    let _lock = WriterLock::take(index);
    let mut deleted: FxHashSet<Node> = FxHashSet::default();
    let elements = all_elements(index, vacuum_delay);
    for (n, _, was_deleted, tids) in &elements {
        if *was_deleted {
            deleted.insert(*n);
            continue;
        }
        let mut keep = tids.clone();
        keep.retain(|t| {
            let mut t = *t;
            !callback(&mut t, callback_state)
        });
        if keep.len() != tids.len() {
            (*stats).tuples_removed += (tids.len() - keep.len()) as f64;
            write::set_tids(index, *n, &keep);
            if keep.is_empty() {
                deleted.insert(*n);
            }
        }
    }
    if !deleted.is_empty() {
        repair(index, &elements, &deleted);
    }
    stats
}

/// Pass 2: relink live elements away from deleted ones; move the entry point if needed.
unsafe fn repair(
    index: pg_sys::Relation,
    elements: &[(Node, usize, bool, Vec<pg_sys::ItemPointerData>)],
    deleted: &FxHashSet<Node>,
) {
    let mut meta = read_meta(index);
    let m = meta.m as usize;
    let mut g = PageGraph::new(index, &meta, true);
    let mut list = Vec::new();
    let mut second = Vec::new();
    for (n, level, _, _) in elements.iter().filter(|e| !deleted.contains(&e.0)) {
        let nb = g.element(*n).neighbors;
        for l in 0..=*level {
            list.clear();
            g.neighbors(*n, l, &mut list);
            if !list.iter().any(|x| deleted.contains(x)) {
                continue;
            }
            let mut pool: FxHashSet<Node> = FxHashSet::default();
            for &x in &list {
                if deleted.contains(&x) {
                    second.clear();
                    g.neighbors(x, l, &mut second);
                    pool.extend(
                        second
                            .iter()
                            .copied()
                            .filter(|y| !deleted.contains(y) && y != n),
                    );
                } else {
                    pool.insert(x);
                }
            }
            let mut cands: Vec<Candidate<Node>> = pool
                .into_iter()
                .map(|x| Candidate {
                    distance: g.distance_between(*n, x),
                    node: x,
                })
                .collect();
            cands.sort_by(|a, b| a.distance.total_cmp(&b.distance).then(a.node.cmp(&b.node)));
            let chosen: Vec<Node> = select_neighbors(&cands, page::level_capacity(m, l), |a, b| {
                g.distance_between(a, b)
            })
            .iter()
            .map(|c| c.node)
            .collect();
            write::set_neighbors(index, m, nb, l, &chosen);
        }
        g.trim_cache(pg_sys::maintenance_work_mem as usize * 1024);
        pg_sys::check_for_interrupts!();
    }
    // Every live element now links around the deleted ones: inserts may reuse their space.
    let free = deleted.iter().map(|&n| page::node_block(n)).min();
    let mut changed = false;
    if let Some(b) = free.filter(|&b| b != meta.free_block) {
        meta.free_block = b;
        changed = true;
    }
    if meta.entry != 0 && deleted.contains(&meta.entry) {
        let best = elements
            .iter()
            .filter(|e| !deleted.contains(&e.0))
            .max_by_key(|e| (e.1, std::cmp::Reverse(e.0)));
        match best {
            Some((n, level, _, _)) => {
                meta.entry = *n;
                meta.entry_level = *level as i32;
            }
            None => {
                meta.entry = 0;
                meta.entry_level = -1;
            }
        }
        changed = true;
    }
    if changed {
        write::write_meta(index, &meta);
    }
}

#[pg_guard]
pub unsafe extern "C-unwind" fn amvacuumcleanup(
    info: *mut pg_sys::IndexVacuumInfo,
    stats: *mut pg_sys::IndexBulkDeleteResult,
) -> *mut pg_sys::IndexBulkDeleteResult {
    if (*info).analyze_only {
        return stats;
    }
    let index = (*info).index;
    let stats = if stats.is_null() {
        PgBox::<pg_sys::IndexBulkDeleteResult>::alloc0().into_pg()
    } else {
        stats
    };
    let live: usize = all_elements(index, vacuum_delay)
        .iter()
        .filter(|e| !e.2)
        .map(|e| e.3.len())
        .sum();
    (*stats).num_pages =
        pg_sys::RelationGetNumberOfBlocksInFork(index, pg_sys::ForkNumber::MAIN_FORKNUM);
    (*stats).num_index_tuples = live as f64;
    stats
}
