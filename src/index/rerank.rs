//! A quantized index's exact re-rank from the table rows (issue 9 §2).
//!
//! A quantized index walks its graph on codes; the exact vectors live only in the table. Lower
//! bounds of the exact distance with the executor's re-sort (`xs_recheckorderby`, `scan.rs`) are
//! always correct, but a bound must allow for the code's worst error, which grows with √dims: with
//! 4-bit codes on 1M rows it exceeded the gaps between neighbours, the re-sort could return a row
//! only after reading almost every row whose bound was below it, and a query walked on to
//! `hnsw_max_scan_tuples` (~17 ms, 0.1–0.2× pgvector's speed; BENCHMARKS.md, session 9).
//!
//! So when the index column is a table column, the scan re-ranks what the walk finds the way
//! VectorChord and pgvectorscale do: it reads each candidate's row version visible to the scan's
//! snapshot (following HOT chains, as the executor's own fetch does), computes the ORDER BY
//! operator's own function on it — the executor's value, bit for bit, for every vector type and
//! metric — and returns the candidates in exact order with that value, no recheck. A candidate
//! without a visible row is dropped (the executor would drop it too). An expression index keeps the
//! lower bounds: its value cannot be had from the row without evaluating the expression.
//!
//! What this holds: a heap fetch state with its pinned buffer and a slot, both released by [`end`]
//! (amendscan, amrescan); on an ERROR the resource owner releases the pins and the memory goes with
//! the scan's context, so nothing here has a destructor. The operator's allocations (a detoasted
//! row value) go to a context of their own, reset after each row.
//!
//! [`end`]: HeapRerank::end

use pgrx::{pg_sys, PgMemoryContexts};
use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, TryReserveError};

/// One batch of the walk's elements (ef_search of them), returned in exact order while reading as
/// few rows as that order allows: elements are opened (their rows read) in order of their lower
/// bound, and a read row is returned once no unopened element's bound is below its exact value.
/// With tight bounds (8-bit codes) a LIMIT 10 reads 11–26 rows of 40 (measured on WordNet and the
/// synthetic 100k set); with loose ones (4-bit) all of them — never more than the batch. Generic
/// over what a row is, so the order is the same logic whatever reads the rows.
pub struct LazyOrder<R> {
    /// Elements by lower bound, with their rows; `opened` of them are read.
    elements: Vec<(f64, Vec<R>)>,
    opened: usize,
    read: BinaryHeap<Reverse<Read<R>>>,
    sequence: u64,
}

/// A read row: its exact value, then the order it was read in (ties keep the bounds' order).
struct Read<R>(f64, u64, R);

impl<R> PartialEq for Read<R> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl<R> Eq for Read<R> {}
impl<R> PartialOrd for Read<R> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<R> Ord for Read<R> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0).then(self.1.cmp(&other.1))
    }
}

impl<R> LazyOrder<R> {
    /// A batch of elements, each with the lower bound of its rows' exact values; the room for
    /// every row it can read is reserved here, fallibly (a scan's memory errors are ERRORs).
    pub fn try_new(mut elements: Vec<(f64, Vec<R>)>) -> Result<Self, TryReserveError> {
        // Unstable: sorts in place, without a buffer; equal bounds in any (deterministic) order.
        elements.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
        let mut read = BinaryHeap::new();
        read.try_reserve_exact(elements.iter().map(|e| e.1.len()).sum())?;
        Ok(LazyOrder {
            elements,
            opened: 0,
            read,
            sequence: 0,
        })
    }

    /// The batch's next row in exact order with its value; `exact` reads a row's value (`None`: the
    /// row is not visible and is dropped). `None` when the batch is done.
    pub fn next(&mut self, mut exact: impl FnMut(&R) -> Option<f64>) -> Option<(f64, R)> {
        loop {
            let bound = self.elements.get(self.opened).map(|e| e.0);
            if let Some(Reverse(top)) = self.read.peek() {
                // Every unopened row is at or above `bound`; past the last element, anything goes
                // (a NaN value included).
                if bound.is_none_or(|b| top.0 <= b) {
                    let Reverse(Read(value, _, row)) = self.read.pop().expect("peeked");
                    return Some((value, row));
                }
            }
            let (bound, rows) = self.elements.get_mut(self.opened)?;
            self.opened += 1;
            for row in std::mem::take(rows) {
                if let Some(value) = exact(&row) {
                    // A bound above its row's value would return rows out of order (where the
                    // executor's re-sort raised "index returned tuples in wrong order").
                    debug_assert!(
                        value.partial_cmp(bound) != Some(Ordering::Less),
                        "a row's exact value {value} is below its lower bound {bound}"
                    );
                    self.read.push(Reverse(Read(value, self.sequence, row)));
                    self.sequence += 1;
                }
            }
        }
    }
}

/// What a re-ranking scan reads rows with: a heap fetch state and a slot under the scan's
/// snapshot, and the ORDER BY operator's function with its query value.
pub struct HeapRerank {
    fetch: *mut pg_sys::IndexFetchTableData,
    slot: *mut pg_sys::TupleTableSlot,
    snapshot: pg_sys::Snapshot,
    /// The table column the index is on (1-based).
    attnum: i32,
    /// The ORDER BY operator's function, its collation and the query value, as the scan key has
    /// them.
    func: *mut pg_sys::FmgrInfo,
    collation: pg_sys::Oid,
    query: pg_sys::Datum,
    memory: pg_sys::MemoryContext,
    /// Rows read, for the interrupt checks.
    reads: usize,
}

impl HeapRerank {
    /// The re-rank for `scan`, ordered by its ORDER BY key (the copy `amrescan` keeps in the
    /// scan's `orderByData`, living as long as the scan), with the fetch state allocated in
    /// `context` (the scan's); `None` when the index column is an expression or the scan has no
    /// table.
    pub unsafe fn begin(
        scan: pg_sys::IndexScanDesc,
        context: pg_sys::MemoryContext,
    ) -> Option<Self> {
        let key = (*scan).orderByData;
        let heap = (*scan).heapRelation;
        let index = (*scan).indexRelation;
        if heap.is_null() || key.is_null() {
            return None;
        }
        let attnum = i32::from((*(*index).rd_index).indkey.values.as_slice(1)[0]);
        if attnum <= 0 {
            return None;
        }
        PgMemoryContexts::For(context).switch_to(|_| {
            Some(HeapRerank {
                fetch: pg_sys::table_index_fetch_begin(heap),
                slot: pg_sys::table_slot_create(heap, std::ptr::null_mut()),
                snapshot: (*scan).xs_snapshot,
                attnum,
                func: &mut (*key).sk_func,
                collation: (*key).sk_collation,
                query: (*key).sk_argument,
                memory: pg_sys::AllocSetContextCreateInternal(
                    context,
                    c"embedrank_hnsw re-rank".as_ptr(),
                    0,
                    8 * 1024,
                    8 * 1024 * 1024,
                ),
                reads: 0,
            })
        })
    }

    /// The ORDER BY value of the row at `tid` — its version visible to the scan's snapshot — or
    /// `None` when no version is visible (or its value is NULL).
    pub unsafe fn distance(&mut self, tid: pg_sys::ItemPointerData) -> Option<f64> {
        // A batch at a large ef_search reads thousands of rows, perhaps from disk.
        self.reads += 1;
        if self.reads.is_multiple_of(256) {
            pg_sys::check_for_interrupts!();
        }
        let mut tid = tid;
        let (mut call_again, mut all_dead) = (false, false);
        let value = PgMemoryContexts::For(self.memory).switch_to(|_| {
            if !pg_sys::table_index_fetch_tuple(
                self.fetch,
                &mut tid,
                self.snapshot,
                self.slot,
                &mut call_again,
                &mut all_dead,
            ) {
                return None;
            }
            let mut isnull = false;
            let row = pg_sys::slot_getattr(self.slot, self.attnum, &mut isnull);
            let value = (!isnull).then(|| {
                let d = pg_sys::FunctionCall2Coll(self.func, self.collation, row, self.query);
                let d = f64::from_bits(d.value() as u64);
                // Postgres sorts every NaN last; `total_cmp` would put a negative one first.
                if d.is_nan() {
                    f64::NAN
                } else {
                    d
                }
            });
            pg_sys::ExecClearTuple(self.slot);
            value
        });
        pg_sys::MemoryContextReset(self.memory);
        value
    }

    /// Release the fetch state's buffer pin, the slot and the memory.
    pub unsafe fn end(self) {
        pg_sys::table_index_fetch_end(self.fetch);
        pg_sys::ExecDropSingleTupleTableSlot(self.slot);
        pg_sys::MemoryContextDelete(self.memory);
    }
}
