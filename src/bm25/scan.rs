//! Index scans: `ORDER BY body <&> q LIMIT k` (best BM25 score first) and `WHERE body @@@ q`.
//!
//! Ordered: the query is prepared once (its statistics and the documents that exist are fixed for
//! the scan), then the core's block-max WAND finds the rows in pages: the best 10, then the next
//! 40, 160, … (at most [`MAX_BATCH`]) ranked after the last row returned (the order is total:
//! score, then document id), so the scan's memory is bounded by a page however many rows match.
//! When every matching row has been returned, the rows no query word reaches follow (score 0,
//! document order; found by walking the document table beside the query words' lists), then the
//! rows whose text is NULL (NULL score): the index returns exactly the rows a sort of a sequential
//! scan returns, with ASC NULLS LAST — only faster.
//!
//! Match: the union of the query terms' posting lists, in document order.
//!
//! Either way the scan returns each heap TID once, takes no lock between calls, and skips entries
//! VACUUM has marked deleted. A `@@@` condition on another query than the scan's is rechecked by
//! the executor.

use super::dictionary::read_meta;
use super::docs;
use super::postings::PageCursor;
use super::query::{check_may_read, close_all, open_leaves, prepare, read_query, Prepared, Query};
use crate::errors::{raise, Code};
use embedrank_core::bm25::{top_k_after, wand::Stats, Cursor, Scored};
use pgrx::prelude::*;
use pgrx::{pg_sys, PgMemoryContexts};
use std::collections::{HashMap, VecDeque};

/// First page of an ordered scan, how much each next page grows, and the largest page.
const FIRST_BATCH: usize = 10;
const GROWTH: usize = 4;
pub const MAX_BATCH: usize = 10_000;

/// Where the ordered scan's sweep over the document table is.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum Sweep {
    /// Not started.
    #[default]
    Before,
    /// Rows with text no query word reaches, from this document page.
    Unmatched(u32),
    /// Rows whose text is NULL, from this document page.
    Nulls(u32),
    Done,
}

#[derive(Default)]
struct ScanState {
    /// The query (from the ORDER BY, else the first condition); None with a NULL query.
    query: Option<Query>,
    ordered: bool,
    conditions: usize,
    /// The executor must recheck the conditions; the ordered scan ends with the sweep.
    recheck: bool,
    sweep_wanted: bool,
    started: bool,
    /// The memory context the scan began in (the query's): statistics are shared within it.
    context: usize,
    prepared: Option<Prepared>,
    /// Rows ready to return: TID, score, NULL score.
    ready: VecDeque<(pg_sys::ItemPointerData, f32, bool)>,
    /// Ordered: size of the last page, and the last row returned from the lists.
    batch: usize,
    after: Option<Scored>,
    matches_done: bool,
    sweep: Sweep,
    /// The sweep skips documents before this id (later inserts) and those these cursors hold.
    sweep_limit: u32,
    sweep_union: Vec<PageCursor>,
    /// Match: the term cursors.
    union: Vec<PageCursor>,
}

unsafe fn state<'a>(scan: pg_sys::IndexScanDesc) -> &'a mut ScanState {
    &mut *((*scan).opaque as *mut ScanState)
}

#[pg_guard]
pub unsafe extern "C-unwind" fn ambeginscan(
    index: pg_sys::Relation,
    nkeys: i32,
    norderbys: i32,
) -> pg_sys::IndexScanDesc {
    let scan = pg_sys::RelationGetIndexScan(index, nkeys, norderbys);
    // The AM owns the ORDER BY value arrays (as GiST's beginscan allocates them).
    if norderbys > 0 {
        let n = norderbys as usize;
        (*scan).xs_orderbyvals =
            pg_sys::palloc0(n * std::mem::size_of::<pg_sys::Datum>()) as *mut _;
        (*scan).xs_orderbynulls = pg_sys::palloc0(n * std::mem::size_of::<bool>()) as *mut bool;
    }
    let state = ScanState {
        context: pg_sys::CurrentMemoryContext as usize,
        ..Default::default()
    };
    (*scan).opaque = PgMemoryContexts::CurrentMemoryContext.leak_and_drop_on_delete(state)
        as *mut std::ffi::c_void;
    scan
}

#[pg_guard]
pub unsafe extern "C-unwind" fn amrescan(
    scan: pg_sys::IndexScanDesc,
    keys: pg_sys::ScanKey,
    nkeys: i32,
    orderbys: pg_sys::ScanKey,
    norderbys: i32,
) {
    let st = state(scan);
    *st = ScanState {
        context: st.context,
        ..Default::default()
    };
    // Postgres copies the keys into the scan descriptor only if the AM does.
    if !keys.is_null() && nkeys > 0 {
        std::ptr::copy(keys, (*scan).keyData, nkeys as usize);
    }
    if !orderbys.is_null() && norderbys > 0 {
        std::ptr::copy(orderbys, (*scan).orderByData, norderbys as usize);
    }
    let query_of = |k: &pg_sys::ScanKeyData| {
        if k.sk_flags & pg_sys::SK_ISNULL as i32 == 0 {
            read_query(k.sk_argument)
        } else {
            None
        }
    };
    let conditions: Vec<Option<Query>> = (0..nkeys.max(0) as usize)
        .map(|i| query_of(&*(*scan).keyData.add(i)))
        .collect();
    st.conditions = conditions.len();
    st.ordered = norderbys > 0;
    st.query = if st.ordered {
        query_of(&*(*scan).orderByData)
    } else {
        conditions.first().cloned().flatten()
    };
    // Conditions on the scan's own query are answered exactly (its rows are those holding a query
    // word); a condition on another query is rechecked by the executor, and then rows holding
    // none of the ORDER BY query's words must come too (the sweep).
    let own = |c: &Option<Query>| c.is_some() && *c == st.query;
    st.recheck = conditions.iter().any(|c| !own(c));
    st.sweep_wanted = st.ordered && (conditions.is_empty() || st.recheck);
}

unsafe extern "C-unwind" {
    /// partition.h: the OIDs of a partition's ancestors, nearest first (not in pgrx's bindings).
    #[link_name = "get_partition_ancestors"]
    fn raw_get_partition_ancestors(relid: pg_sys::Oid) -> *mut pg_sys::List;
}

/// [`raw_get_partition_ancestors`] behind the FFI guard (it can raise an ERROR).
unsafe fn get_partition_ancestors(relid: pg_sys::Oid) -> *mut pg_sys::List {
    pg_sys::submodules::ffi::pg_guard_ffi_boundary(|| raw_get_partition_ancestors(relid))
}

/// Whether `ancestor` is a partitioned index above partition index `index`.
pub unsafe fn is_ancestor(index: pg_sys::Oid, ancestor: pg_sys::Oid) -> bool {
    let ancestors = get_partition_ancestors(index);
    !ancestors.is_null() && pg_sys::list_member_oid(ancestors, ancestor)
}

/// Whether the query names this index (false), or a partitioned index above it (true, its
/// statistics are all partitions'); an ERROR if it names another index.
unsafe fn names_ancestor(index: pg_sys::Relation, q: &Query) -> bool {
    let own = (*index).rd_id;
    if q.index == own {
        return false;
    }
    if is_ancestor(own, q.index) {
        return true;
    }
    let named = pg_sys::get_rel_name(q.index);
    let named = if named.is_null() {
        format!("OID {}", q.index.to_u32())
    } else {
        std::ffi::CStr::from_ptr(named)
            .to_string_lossy()
            .into_owned()
    };
    raise(
        Code::ERRCODE_INVALID_PARAMETER_VALUE,
        format!(
            "the bm25query names index \"{named}\", but the scan uses index \"{}\"",
            super::format::rel_name(index)
        ),
        Some("Scores come from the named index's statistics: name the index on this column."),
    );
}

unsafe fn start(scan: pg_sys::IndexScanDesc, st: &mut ScanState) {
    let index = (*scan).indexRelation;
    if !st.ordered && st.conditions == 0 {
        raise(
            Code::ERRCODE_FEATURE_NOT_SUPPORTED,
            "cannot scan embedrank_bm25 index without a query",
            Some("An embedrank_bm25 index serves ORDER BY <column> <&> <bm25query> and WHERE <column> @@@ <bm25query>."),
        );
    }
    let Some(q) = st.query.clone() else {
        // A NULL query: no row matches; ordered, every row comes back (all scores NULL).
        st.matches_done = true;
        if !st.ordered {
            st.sweep = Sweep::Done;
        }
        return;
    };
    let context = st.context as pg_sys::MemoryContext;
    let p = if names_ancestor(index, &q) {
        // The named partitioned index's table: its privileges and policies decide.
        check_may_read(pg_sys::IndexGetRelation(q.index, false));
        let leaves = open_leaves(q.index);
        let p = prepare(&leaves, Some(index), &q.text, context);
        close_all(leaves);
        p
    } else {
        check_may_read((*(*index).rd_index).indrelid);
        prepare(&[index], Some(index), &q.text, context)
    };
    if !st.ordered {
        st.union = cursors(index, &p);
    }
    st.prepared = Some(p);
}

/// One cursor per query term the index holds.
fn cursors(index: pg_sys::Relation, p: &Prepared) -> Vec<PageCursor> {
    p.terms
        .iter()
        .filter_map(|t| Some((t, t.entry.as_ref()?)))
        .map(|(t, e)| {
            PageCursor::new(
                index,
                e.head,
                t.weight,
                (e.max_tf, e.min_len),
                p.bm25,
                p.next_doc,
            )
        })
        .collect()
}

/// The next page of an ordered scan: the best `batch` rows ranked after the last one returned.
unsafe fn next_batch(index: pg_sys::Relation, st: &mut ScanState) {
    let p = st.prepared.as_ref().expect("prepared");
    st.batch = if st.batch == 0 {
        FIRST_BATCH
    } else {
        st.batch.saturating_mul(GROWTH).min(MAX_BATCH)
    };
    let mut stats = Stats::default();
    let top = top_k_after(
        &mut cursors(index, p),
        &p.bm25,
        st.batch,
        st.after,
        &mut stats,
    );
    if top.len() < st.batch {
        st.matches_done = true;
    }
    st.after = top.last().copied().or(st.after);
    // The rows' heap TIDs: walk fresh cursors to the documents, in id order.
    let mut docs: Vec<u32> = top.iter().map(|s| s.doc).collect();
    docs.sort_unstable();
    let mut cs = cursors(index, p);
    let mut tids = HashMap::with_capacity(docs.len());
    for d in docs {
        for c in cs.iter_mut() {
            c.seek(d);
            if c.doc() == d {
                tids.insert(d, c.tid());
                break;
            }
        }
    }
    for s in top {
        // A document missing now lost its postings to a VACUUM since it was ranked: VACUUM only
        // removes rows no snapshot sees, so the scan would not have returned it anyway.
        if let Some(&tid) = tids.get(&s.doc) {
            st.ready.push_back((tid, s.score, false));
        }
    }
}

/// Ordered scan, after the matches: first the rows no query word reaches, then the rows whose
/// text is NULL, in document order, one document page at a time.
unsafe fn sweep_page(index: pg_sys::Relation, st: &mut ScanState) {
    use super::format::NONE;
    if st.sweep == Sweep::Before {
        let meta = read_meta(index);
        st.sweep_limit = st.prepared.as_ref().map_or(meta.next_doc, |p| p.next_doc);
        st.sweep_union = st
            .prepared
            .as_ref()
            .map_or(Vec::new(), |p| cursors(index, p));
        st.sweep = Sweep::Unmatched(meta.docs_head);
    }
    let (block, nulls) = match st.sweep {
        Sweep::Unmatched(b) => (b, false),
        Sweep::Nulls(b) => (b, true),
        _ => return,
    };
    if block == NONE {
        st.sweep = if nulls {
            Sweep::Done
        } else {
            Sweep::Nulls(read_meta(index).docs_head)
        };
        return;
    }
    let (entries, next) = docs::read_page(index, block);
    for (_, e) in entries {
        if e.deleted || e.doc >= st.sweep_limit || e.null != nulls {
            continue;
        }
        // Documents come in id order, as the lists' do: a merge tells which hold a query word.
        let matched = !nulls
            && st.sweep_union.iter_mut().any(|c| {
                c.seek(e.doc);
                c.doc() == e.doc
            });
        if !matched {
            st.ready
                .push_back((e.tid, 0.0, nulls || st.query.is_none()));
        }
    }
    st.sweep = if nulls {
        Sweep::Nulls(next)
    } else {
        Sweep::Unmatched(next)
    };
}

/// Match scan: the next document in the union of the terms' lists.
fn next_union(st: &mut ScanState) -> Option<pg_sys::ItemPointerData> {
    let doc = st.union.iter().map(|c| c.doc()).min()?;
    if doc == PageCursor::END {
        return None;
    }
    let mut tid = None;
    for c in st.union.iter_mut() {
        if c.doc() == doc {
            tid.get_or_insert(c.tid());
            c.next();
        }
    }
    tid
}

#[pg_guard]
pub unsafe extern "C-unwind" fn amgettuple(
    scan: pg_sys::IndexScanDesc,
    _dir: pg_sys::ScanDirection::Type,
) -> bool {
    let st = state(scan);
    let index = (*scan).indexRelation;
    if !st.started {
        st.started = true;
        start(scan, st);
    }
    (*scan).xs_recheck = st.recheck;
    (*scan).xs_recheckorderby = false;
    if !st.ordered {
        let Some(tid) = next_union(st) else {
            return false;
        };
        (*scan).xs_heaptid = tid;
        return true;
    }
    loop {
        if let Some((tid, score, null)) = st.ready.pop_front() {
            (*scan).xs_heaptid = tid;
            if !(*scan).xs_orderbyvals.is_null() {
                *(*scan).xs_orderbyvals = crate::pgfn::f8(0.0 - score as f64);
                *(*scan).xs_orderbynulls = null;
            }
            return true;
        }
        if !st.matches_done {
            next_batch(index, st);
            continue;
        }
        // With a match condition on the ORDER BY's own query, only matching rows qualify.
        if st.sweep == Sweep::Done || !st.sweep_wanted {
            return false;
        }
        sweep_page(index, st);
    }
}

#[pg_guard]
pub unsafe extern "C-unwind" fn amendscan(scan: pg_sys::IndexScanDesc) {
    let st = state(scan);
    st.union.clear();
    st.sweep_union.clear();
    st.ready.clear();
}
