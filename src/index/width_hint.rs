//! A search width that travels with the query: `with_ef_search(q, ef)` returns the query vector `q`
//! (a `vector` or `halfvec`) marked so that an `embedrank_hnsw` scan ordering by it searches with
//! `ef` instead of the session's `embedrank.hnsw_ef_search`.
//!
//! Why: settings do not travel. A query sent to another server — a `postgres_fdw` shard of a
//! partitioned table — runs with that server's `embedrank.hnsw_ef_search`, whatever the coordinator
//! set. An expression does travel: `with_ef_search` is IMMUTABLE and part of this extension, so
//! postgres_fdw ships `ORDER BY embedding <=> embedrank.with_ef_search($1, 200)` to each shard
//! (with the extension listed in the server's `extensions` option), and the shard's scan reads the
//! width from the value it computes there. `search()` writes its first stage this way. On one server
//! it is a per-query ef_search without a `SET`.
//!
//! The mark is the `unused` int16 of the shared vector/halfvec header (pgvector's layout, 0 in every
//! other value): the value is `q` under every operator and function; the binary output writes 0
//! there, as always, and the text output has no such field, so the mark never leaves the server it
//! was computed on. Only an index scan's query reads it.

use crate::errors::{raise, Code};
use pgrx::pg_sys;

/// Byte offset of the `unused` field: after the varlena header and `int16 dims`.
const MARK_AT: usize = 6;
/// Widest search a query may ask for (embedrank.hnsw_ef_search's maximum).
pub const MAX_EF: i32 = 1000;

crate::pg_fn!(er_with_ef_search, |fcinfo| {
    let ef = pgrx::pg_getarg::<i32>(fcinfo, 1).unwrap_or(0);
    if !(1..=MAX_EF).contains(&ef) {
        raise(
            Code::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("ef_search must be between 1 and {MAX_EF}, got {ef}"),
            None,
        );
    }
    let copy = pg_sys::pg_detoast_datum_copy(pgrx::pg_getarg_datum_raw(fcinfo, 0).cast_mut_ptr())
        as *mut u8;
    (copy.add(MARK_AT) as *mut i16).write_unaligned(ef as i16);
    pg_sys::Datum::from(copy)
});

/// The search width a query value of `vector` or `halfvec` carries, if any.
///
/// # Safety
/// `datum` must be a non-null `vector` or `halfvec` datum.
pub unsafe fn carried_ef(datum: pg_sys::Datum) -> Option<usize> {
    let p = pg_sys::pg_detoast_datum(datum.cast_mut_ptr()) as *const u8;
    let ef = (p.add(MARK_AT) as *const i16).read_unaligned();
    (ef > 0).then_some(ef as usize)
}
