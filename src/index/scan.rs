//! Index scans: `ORDER BY embedding <op> $1 LIMIT k`.
//!
//! The first `ef_search` results come from an ordinary HNSW search (exact order among them); with
//! `embedrank.hnsw_iterative_scan` `relaxed_order` (the default) or `strict_order` the scan then
//! keeps expanding the graph frontier (core crate `IterativeScan`) so filtered queries still find
//! LIMIT rows, until
//! `embedrank.hnsw_max_scan_tuples` elements were visited. Rows beyond the first ef_search come in
//! approximate distance order (`strict_order` skips any nearer than one already returned, as
//! pgvector's does). HNSW graphs can leave a few elements without incoming links; so that
//! an iterative scan still reaches every row, a walk that exhausts the reachable graph within its
//! budget finishes with a sweep of the remaining elements (read in physical order, returned by
//! distance; at most what is left of the budget, the nearest). Deleted elements are walked through but never returned; each element
//! yields all its heap TIDs. A NULL query (or a zero one under cosine) returns the indexed rows in
//! graph order, as pgvector's does; a scan without ORDER BY or with a non-MVCC snapshot is an error. The scan state lives in Rust, owned by the scan's memory context, so it
//! is freed even if the query errors out.
//!
//! A quantized index (`codec`) walks the graph on decoded codes. When the index column is a table
//! column, the scan re-ranks the walk's elements in batches of ef_search by the exact ORDER BY value
//! computed from their rows (`rerank`): the first ef_search come back in exact order, as with full
//! precision. On an expression index each row is returned with a lower bound of its exact distance
//! ([`lower_bound`]) and `xs_recheckorderby`, so Postgres computes the exact distance from the row
//! and returns rows in exact order (its reorder queue holds a row until no later one can come before
//! it).
//!
//! Memory: the walk keeps ~50 bytes per element it visits and the sweep 16 per element it keeps, so
//! a scan holds at most about hnsw_max_scan_tuples × 100 bytes, whatever the index's size. Both grow
//! fallibly: an allocation this process cannot get is ERROR 53200 (out_of_memory) naming the
//! setting, never an abort of the backend.

use super::graph::{page_elements, read_meta, ElementInfo, PageGraph};
use super::metric::prepare;
use super::options;
use super::pages::buffer::block_count;
use super::pages::format::{self as page, Node};
use super::rerank::{HeapRerank, LazyOrder};
use crate::errors::{dims_mismatch, out_of_memory, raise, Code};
use embedrank_core::hnsw::{FxHashSet, GraphView, IterativeScan};
use pgrx::prelude::*;
use pgrx::{pg_sys, PgMemoryContexts};
use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

#[derive(Default)]
struct ScanState {
    query: Option<Vec<f32>>,
    /// The search width the query carries (`with_ef_search`), else embedrank.hnsw_ef_search.
    ef: Option<usize>,
    started: bool,
    /// Whether the ORDER BY had a (non-NULL) query.
    query_given: bool,
    graph: Option<PageGraph>,
    walk: Option<IterativeScan<Node>>,
    /// Heap TIDs to return, with their exact distance (`rerank`) or the lower bound of it (`recheck`).
    pending: VecDeque<(pg_sys::ItemPointerData, f64)>,
    /// A quantized index's exact re-rank from the rows, and the batch it is ordering.
    rerank: Option<HeapRerank>,
    order: Option<LazyOrder<pg_sys::ItemPointerData>>,
    /// A quantized index's lower bounds: for the re-rank, or (expression index, no `rerank`) for
    /// Postgres's exact re-sort.
    recheck: Option<Recheck>,
    /// The memory context the scan was begun in (where the re-rank's fetch state lives).
    context: Option<pg_sys::MemoryContext>,
    returned_elements: usize,
    limit_elements: usize,
    budget: usize,
    yielded: FxHashSet<Node>,
    sweep: Option<VecDeque<(Node, f32)>>,
    /// `strict_order`: rows nearer than the last one returned are skipped.
    strict: bool,
    /// `strict_order`: the largest distance returned so far (the index's, or with `rerank` the
    /// exact one).
    previous: f64,
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
    // Where a quantized index reports each row's exact distance (re-rank) or, on an expression
    // index, its lower bound for the executor's re-sort (an access method allocates these itself,
    // as GiST does).
    if norderbys > 0 {
        let n = norderbys as usize;
        (*scan).xs_orderbyvals =
            pg_sys::palloc0(n * std::mem::size_of::<pg_sys::Datum>()) as *mut pg_sys::Datum;
        (*scan).xs_orderbynulls = pg_sys::palloc(n) as *mut bool;
        std::ptr::write_bytes((*scan).xs_orderbynulls, 1, n);
    }
    let context = pg_sys::CurrentMemoryContext;
    (*scan).opaque = PgMemoryContexts::CurrentMemoryContext.leak_and_drop_on_delete(ScanState {
        context: Some(context),
        ..ScanState::default()
    }) as *mut std::ffi::c_void;
    scan
}

/// Release what a scan holds outside its memory context (the re-rank's buffer pin) and reset it.
unsafe fn reset(st: &mut ScanState) {
    if let Some(rerank) = st.rerank.take() {
        rerank.end();
    }
    *st = ScanState {
        context: st.context,
        ..ScanState::default()
    };
}

#[pg_guard]
pub unsafe extern "C-unwind" fn amrescan(
    scan: pg_sys::IndexScanDesc,
    _keys: pg_sys::ScanKey,
    _nkeys: i32,
    orderbys: pg_sys::ScanKey,
    norderbys: i32,
) {
    let st = state(scan);
    reset(st);
    if norderbys > 0 && !orderbys.is_null() {
        // The scan keeps its own copy of the key (as GiST does): the re-rank calls its function.
        if (*scan).orderByData != orderbys && !(*scan).orderByData.is_null() {
            std::ptr::copy(orderbys, (*scan).orderByData, 1);
        }
        let key = &*orderbys;
        if key.sk_flags & pg_sys::SK_ISNULL as i32 == 0 {
            let index = (*scan).indexRelation;
            st.query = Some(super::column::query_values(index, key.sk_argument).into_owned());
            st.query_given = true;
            st.ef = super::column::carried_ef(index, key.sk_argument);
        }
    }
}

/// Start the graph walk for the query; false if there is nothing to return.
unsafe fn start(scan: pg_sys::IndexScanDesc, st: &mut ScanState) -> bool {
    let index = (*scan).indexRelation;
    if (*scan).numberOfOrderBys == 0 || (*scan).orderByData.is_null() {
        raise(
            Code::ERRCODE_FEATURE_NOT_SUPPORTED,
            "cannot scan embedrank_hnsw index without order",
            Some("An embedrank_hnsw index only serves ORDER BY <column> <distance operator> <vector>."),
        );
    }
    if !is_mvcc((*scan).xs_snapshot) {
        raise(
            Code::ERRCODE_FEATURE_NOT_SUPPORTED,
            "non-MVCC snapshots are not supported with embedrank_hnsw",
            None,
        );
    }
    let meta = read_meta(index);
    // A NULL query, or a zero vector under cosine, has no distance to anything; as pgvector does, the
    // scan still returns the indexed rows (every distance the same, in graph order), so the row count
    // does not depend on whether the planner chose the index.
    let enc = meta.encoding();
    let values = enc.values(meta.dims as usize);
    // A sparse zero vector has no entries.
    let raw = st
        .query
        .take()
        .unwrap_or_else(|| vec![0.0; values.unwrap_or(0)]);
    if values.is_some_and(|n| raw.len() != n) {
        dims_mismatch(raw.len(), meta.dims as usize);
    }
    let had_query = st.query_given;
    let prepared = prepare(meta.metric, enc, &raw);
    if enc.is_quantized() && had_query && prepared.is_some() {
        let context = st.context.unwrap_or(pg_sys::CurrentMemoryContext);
        st.rerank = HeapRerank::begin(scan, context);
        st.recheck = Some(Recheck {
            metric: meta.metric,
            query_norm: embedrank_core::distance::norm_f64(&raw),
            max_error: meta.max_error,
            dims: meta.dims as usize,
        });
    }
    let q = prepared.unwrap_or(raw);
    if meta.entry == 0 {
        return false;
    }
    let ef = st
        .ef
        .unwrap_or_else(|| options::EF_SEARCH.get().max(1) as usize);
    st.ef = Some(ef);
    let mode = options::ITERATIVE_SCAN.get();
    let iterative = mode != options::IterativeScan::Off;
    st.strict = mode == options::IterativeScan::StrictOrder;
    st.previous = f64::NEG_INFINITY;
    let budget = if iterative {
        options::MAX_SCAN_TUPLES.get().max(1) as usize
    } else {
        usize::MAX
    };
    let mut g = PageGraph::new(index, &meta, false);
    let walk = IterativeScan::new(
        &mut g,
        &q,
        meta.entry,
        meta.entry_level as usize,
        ef,
        budget.max(ef),
    );
    st.limit_elements = if iterative { usize::MAX } else { ef };
    st.budget = if iterative { budget.max(ef) } else { 0 };
    st.query = Some(q);
    st.graph = Some(g);
    st.walk = Some(walk);
    true
}

/// Whether `snapshot` is an MVCC snapshot (IsMVCCSnapshot).
unsafe fn is_mvcc(snapshot: pg_sys::Snapshot) -> bool {
    !snapshot.is_null()
        && matches!(
            (*snapshot).snapshot_type,
            pg_sys::SnapshotType::SNAPSHOT_MVCC | pg_sys::SnapshotType::SNAPSHOT_HISTORIC_MVCC
        )
}

#[pg_guard]
pub unsafe extern "C-unwind" fn amgettuple(
    scan: pg_sys::IndexScanDesc,
    _dir: pg_sys::ScanDirection::Type,
) -> bool {
    let st = state(scan);
    if !st.started {
        st.started = true;
        if !start(scan, st) {
            return false;
        }
    }
    if st.rerank.is_some() {
        let Some((tid, value)) = next_reranked(st) else {
            return false;
        };
        (*scan).xs_heaptid = tid;
        (*scan).xs_recheck = false;
        (*scan).xs_recheckorderby = false;
        *(*scan).xs_orderbyvals = pg_sys::Datum::from(value.to_bits() as usize);
        *(*scan).xs_orderbynulls = false;
        return true;
    }
    loop {
        if let Some((tid, bound)) = st.pending.pop_front() {
            (*scan).xs_heaptid = tid;
            (*scan).xs_recheck = false;
            (*scan).xs_recheckorderby = st.recheck.is_some();
            if st.recheck.is_some() {
                *(*scan).xs_orderbyvals = pg_sys::Datum::from(bound.to_bits() as usize);
                *(*scan).xs_orderbynulls = false;
            }
            return true;
        }
        let Some((distance, info)) = next_element(st) else {
            return false;
        };
        // strict_order (as pgvector's): an element nearer than one already returned is skipped.
        // (A NaN distance is never "nearer", as in pgvector's comparison.)
        let in_order =
            !st.strict || f64::from(distance).partial_cmp(&st.previous) != Some(Ordering::Less);
        if !info.deleted && in_order {
            st.previous = f64::from(distance);
            let bound = st.recheck.as_ref().map_or(0.0, |r| {
                lower_bound(r, distance, info.error.max(r.max_error))
            });
            st.pending.extend(info.tids.iter().map(|&t| (t, bound)));
        }
    }
}

/// The next element of the walk (or of the sweep after it), with its index distance; `None` when
/// the scan has returned all it may.
unsafe fn next_element(st: &mut ScanState) -> Option<(f32, ElementInfo)> {
    if st.returned_elements >= st.limit_elements {
        return None;
    }
    let (walk, g, q) = (st.walk.as_mut()?, st.graph.as_mut()?, st.query.as_ref()?);
    let (n, distance) = match walk.next(g, q) {
        Ok(Some(c)) => (c.node, c.distance),
        Ok(None) if walk.distance_computations() < st.budget => {
            let room = st.budget - walk.distance_computations();
            next_unreached(st, room)?
        }
        Ok(None) => return None,
        Err(_) => scan_out_of_memory(walk.distance_computations()),
    };
    let info = st.graph.as_mut().expect("graph").element(n);
    st.returned_elements += 1;
    if st.yielded.try_reserve(1).is_err() {
        scan_out_of_memory(st.returned_elements);
    }
    st.yielded.insert(n);
    if st.returned_elements.is_multiple_of(256) {
        pg_sys::check_for_interrupts!();
    }
    Some((distance, info))
}

/// A re-ranked scan's next row in exact order within its batch, with its exact value; batches of
/// ef_search elements follow the walk (see [`LazyOrder`]).
unsafe fn next_reranked(st: &mut ScanState) -> Option<(pg_sys::ItemPointerData, f64)> {
    loop {
        if st.order.is_none() {
            st.order = Some(next_batch(st)?);
        }
        let (Some(order), Some(rerank)) = (st.order.as_mut(), st.rerank.as_mut()) else {
            return None;
        };
        let Some((value, tid)) = order.next(|tid| rerank.distance(*tid)) else {
            st.order = None;
            continue;
        };
        // strict_order: across batches, a row nearer than one already returned is skipped.
        if st.strict && value.partial_cmp(&st.previous) == Some(Ordering::Less) {
            continue;
        }
        st.previous = st.previous.max(value);
        return Some((tid, value));
    }
}

/// The walk's next ef_search live elements with the lower bounds of their exact values; `None` when
/// the walk has nothing more.
unsafe fn next_batch(st: &mut ScanState) -> Option<LazyOrder<pg_sys::ItemPointerData>> {
    let size = st.ef.unwrap_or(1).max(1);
    let mut elements = Vec::new();
    if elements.try_reserve_exact(size).is_err() {
        scan_out_of_memory(st.returned_elements);
    }
    let mut pulled = 0;
    while pulled < size {
        let Some((distance, info)) = next_element(st) else {
            break;
        };
        pulled += 1;
        if !info.deleted {
            let r = st.recheck.as_ref().expect("bounds");
            elements.push((lower_bound(r, distance, info.error), info.tids));
        }
    }
    if pulled == 0 {
        return None;
    }
    match LazyOrder::try_new(elements) {
        Ok(order) => Some(order),
        Err(_) => scan_out_of_memory(st.returned_elements),
    }
}

/// What the lower bounds of a quantized index's scan need: the metric and the query's norm.
struct Recheck {
    metric: u32,
    query_norm: f64,
    /// The index's largest error bound when the scan started.
    max_error: f32,
    dims: usize,
}

/// A lower bound of the exact distance operator's value for a row whose element is at index
/// distance `d` from the query (computed on its codes) and whose values are within `error` of what
/// the codes stand for (`codec`): the code distance's operator value less what the error allows,
/// by the triangle inequality (Cauchy–Schwarz for an inner product), less a margin for the float
/// rounding of the two computations (the index's over the codes, the operator's over the row).
/// For the executor's re-sort the caller passes the index's largest error unless the element's is
/// larger (it is not, unless the row came in after the scan started): the bounds then rise with
/// `d`, which is the order the walk returns rows in, and the re-sort can return each row once no
/// later one can precede it. The re-rank orders its batch itself and takes each element's own.
fn lower_bound(r: &Recheck, d: f32, error: f32) -> f64 {
    use super::metric::{METRIC_COSINE, METRIC_IP, METRIC_L2};
    let (d, e) = (f64::from(d), f64::from(error));
    let (value, slack) = match r.metric {
        // `<->` is the Euclidean distance; the index orders by its square.
        METRIC_L2 => (d.max(0.0).sqrt(), e),
        // `<=>` is 1 − cos: the index orders unit vectors by minus their inner product with the
        // unit query.
        METRIC_COSINE => (1.0 + d, e),
        // `<#>` is minus the inner product: |⟨q, x − x̂⟩| ≤ ‖q‖·‖x − x̂‖.
        METRIC_IP => (d, e * r.query_norm),
        // `<+>`: the error is an L1 norm.
        _ => (d, e),
    };
    // Rounding: relative to the value, and a sum of `dims` terms (products that may cancel, for
    // the inner products) up to about dims × float4 epsilon of its terms.
    let products = 1e-7 * r.dims as f64 * (1.0 + value.abs());
    value - slack - 1e-4 * (1.0 + value.abs() + slack) - products
}

/// ERROR 53200 for a scan whose state could not grow after visiting `visited` elements.
fn scan_out_of_memory(visited: usize) -> ! {
    out_of_memory(
        format!("An embedrank_hnsw index scan could not grow its state after visiting {visited} elements."),
        &format!(
            "Lower embedrank.hnsw_max_scan_tuples (now {}): an iterative scan keeps about {SCAN_BYTES_PER_ELEMENT} bytes per element it visits.",
            options::MAX_SCAN_TUPLES.get()
        ),
    )
}

/// What a scan keeps per visited element (walk heaps and visited set, the set of returned elements).
const SCAN_BYTES_PER_ELEMENT: usize = 100;

/// An element found by the sweep; ordered by distance, then position (the heap's top is the farthest).
#[derive(Clone, Copy)]
struct Swept(f32, Node);

impl Ord for Swept {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0).then(self.1.cmp(&other.1))
    }
}

impl PartialOrd for Swept {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Swept {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Swept {}

/// After the graph walk is exhausted: the elements it never reached, nearest first — at most `room`
/// of them (what is left of hnsw_max_scan_tuples). Pages are read one at a time and only the `room`
/// nearest are kept, so the sweep's memory is bounded by the setting, not by the index's size.
unsafe fn next_unreached(st: &mut ScanState, room: usize) -> Option<(Node, f32)> {
    if st.sweep.is_none() {
        let g = st.graph.as_mut().expect("graph");
        let q = st.query.as_ref().expect("query");
        let mut nearest: BinaryHeap<Swept> = BinaryHeap::new();
        let mut listed = Vec::new();
        for block in 1..block_count(g.index) {
            listed.clear();
            page_elements(g.index, block, &mut listed);
            for e in &listed {
                if e.deleted != page::LIVE || st.yielded.contains(&e.node) {
                    continue;
                }
                let found = Swept(g.distance_to(q, e.node), e.node);
                if nearest.len() < room {
                    if nearest.try_reserve(1).is_err() {
                        scan_out_of_memory(st.returned_elements + nearest.len());
                    }
                    nearest.push(found);
                } else if nearest.peek().is_some_and(|far| found < *far) {
                    nearest.pop();
                    nearest.push(found);
                }
            }
            pg_sys::check_for_interrupts!();
        }
        st.sweep = Some(
            nearest
                .into_sorted_vec()
                .into_iter()
                .map(|s| (s.1, s.0))
                .collect(),
        );
    }
    st.sweep.as_mut().and_then(|s| s.pop_front())
}

#[pg_guard]
pub unsafe extern "C-unwind" fn amendscan(scan: pg_sys::IndexScanDesc) {
    // The state is dropped with the scan's memory context; release the big parts now.
    reset(state(scan));
}
