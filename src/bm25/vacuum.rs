//! VACUUM: drop the postings of deleted rows and keep the statistics exact.
//!
//! 1. Ask the heap about each live document's TID once (the document table);
//! 2. rewrite every posting block holding one of those documents without it, and recompute each
//!    term's document frequency and bounds from what its list still holds;
//! 3. mark the documents deleted and take them off N and the total length, page by page, each page's
//!    marks and the statistics in one WAL record.
//!
//! Every step can be repeated: a VACUUM cancelled or crashed anywhere leaves documents unmarked
//! whose postings may already be gone; the next VACUUM finds them again (their TIDs are still dead in
//! the heap, which keeps them until its index passes finish), recomputes the same frequencies and
//! marks them then. Inserts wait on the writer lock meanwhile; scans go on (a block rewritten under
//! them only loses rows their snapshot cannot see).

use super::dictionary::{self, read_meta};
use super::docs;
use super::format::{self, Ptr};
use super::postings::{read_block, read_header, rewrite_block};
use crate::index::pages::buffer::block_count;
use crate::index::pages::lock::PageLock;
use pgrx::prelude::*;
use pgrx::{pg_sys, PgBox};

/// Dead documents of one document page.
struct DeadOnPage {
    block: u32,
    offsets: Vec<u16>,
    with_terms: u64,
    len: u64,
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
    let Some(callback) = callback else {
        return stats;
    };
    let _lock = PageLock::exclusive(index, format::META_BLOCK); // the writer lock
    let meta = read_meta(index);

    // 1. Dead documents.
    let mut dead_docs: Vec<u32> = Vec::new();
    let mut pages: Vec<DeadOnPage> = Vec::new();
    let mut live = 0u64;
    docs::for_each_page(index, &meta, |block, entries| {
        let mut here = DeadOnPage {
            block,
            offsets: Vec::new(),
            with_terms: 0,
            len: 0,
        };
        for (off, e) in entries {
            if e.deleted {
                continue;
            }
            let mut tid = e.tid;
            if callback(&mut tid, callback_state) {
                dead_docs.push(e.doc);
                here.offsets.push(*off);
                if e.len > 0 {
                    here.with_terms += 1;
                    here.len += e.len as u64;
                }
            } else {
                live += 1;
            }
        }
        if !here.offsets.is_empty() {
            pages.push(here);
        }
    });
    (*stats).num_index_tuples = live as f64;
    (*stats).num_pages = block_count(index);
    if dead_docs.is_empty() {
        return stats;
    }
    dead_docs.sort_unstable();

    // 2. Postings and document frequencies.
    dictionary::for_each_page(index, &meta, |block, entries| {
        let mut changed = Vec::new();
        for (off, mut e) in entries {
            let (mut df, mut max_tf, mut min_len) = (0u32, 0u16, u32::MAX);
            let mut at: Ptr = e.head;
            // Blocks hold ascending ids: one holds a dead document only if a dead id lies between
            // the previous block's last document and its own; others are counted from their header.
            let mut after: Option<u32> = None;
            while !at.is_none() {
                let h = read_header(index, at);
                let first_dead = after.map_or(0, |a| dead_docs.partition_point(|&d| d <= a));
                let may_hold_dead =
                    h.count > 0 && dead_docs.get(first_dead).is_some_and(|&d| d <= h.last_doc);
                if h.count > 0 {
                    after = Some(h.last_doc);
                }
                if !may_hold_dead {
                    df += h.count as u32;
                    if h.count > 0 {
                        max_tf = max_tf.max(h.max_tf);
                        min_len = min_len.min(h.min_len);
                    }
                    at = h.next;
                    continue;
                }
                let (h, postings) = read_block(index, at);
                let kept: Vec<_> = postings
                    .iter()
                    .copied()
                    .filter(|p| dead_docs.binary_search(&p.doc).is_err())
                    .collect();
                if kept.len() != postings.len() {
                    rewrite_block(index, at, &kept);
                }
                df += kept.len() as u32;
                for p in &kept {
                    max_tf = max_tf.max(p.tf);
                    min_len = min_len.min(p.len);
                }
                at = h.next;
            }
            let min_len = if df == 0 { 0 } else { min_len };
            if (df, max_tf, min_len) != (e.df, e.max_tf, e.min_len) {
                e.df = df;
                e.max_tf = max_tf;
                e.min_len = min_len;
                changed.push((off, e));
            }
        }
        if !changed.is_empty() {
            dictionary::update_entries(index, block, &changed);
        }
    });
    super::options::test_vacuum_stop();

    // 3. Marks and statistics.
    for p in &pages {
        let mut meta = read_meta(index);
        meta.docs = meta.docs.saturating_sub(p.with_terms);
        meta.total_len = meta.total_len.saturating_sub(p.len);
        docs::mark_deleted(index, p.block, &p.offsets, &meta);
    }
    (*stats).tuples_removed += dead_docs.len() as f64;
    stats
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
        let s = PgBox::<pg_sys::IndexBulkDeleteResult>::alloc0().into_pg();
        let meta = read_meta(index);
        let mut live = 0u64;
        docs::for_each_page(index, &meta, |_, entries| {
            live += entries.iter().filter(|(_, e)| !e.deleted).count() as u64;
        });
        (*s).num_index_tuples = live as f64;
        s
    } else {
        stats
    };
    (*stats).num_pages = block_count(index);
    stats
}
