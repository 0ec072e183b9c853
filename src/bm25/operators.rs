//! The SQL operators on `text` and `bm25query`, evaluated row by row (sequential scans, rechecks):
//! - `text <&> bm25query → float8`: minus the BM25 score (ascending order = best first, as an
//!   ordered index scan returns rows), 0 for a text holding no query term;
//! - `bm25_score(text, bm25query) → float8`: the score itself;
//! - `text @@@ bm25query → boolean`: whether the text holds at least one of the query's lexemes.
//!
//! Scores are computed exactly as the index scan computes them (same prepared query, same f32
//! sums), so `ORDER BY body <&> q` gives the same values with or without the index.

use super::query::{analyze_arg, cached, read_query};
use crate::pg_fn;
use crate::pgfn::f8;
use pgrx::pg_sys;

/// The score of argument 0 for the query in argument 1, or None for a NULL query field.
unsafe fn score(fcinfo: pg_sys::FunctionCallInfo) -> Option<f32> {
    let args = (*fcinfo).args.as_slice(2);
    let q = read_query(args[1].value)?;
    let p = cached((*fcinfo).flinfo, &q);
    if p.terms.is_empty() {
        return Some(0.0);
    }
    let doc = analyze_arg(p, args[0].value);
    Some(p.score(&doc))
}

pg_fn!(er_bm25_distance, |fcinfo| {
    match score(fcinfo) {
        Some(s) => f8(0.0 - s as f64),
        None => {
            (*fcinfo).isnull = true;
            pg_sys::Datum::from(0)
        }
    }
});

pg_fn!(er_bm25_score, |fcinfo| {
    match score(fcinfo) {
        Some(s) => f8(s as f64),
        None => {
            (*fcinfo).isnull = true;
            pg_sys::Datum::from(0)
        }
    }
});

pg_fn!(er_bm25_match, |fcinfo| {
    let args = (*fcinfo).args.as_slice(2);
    let Some(q) = read_query(args[1].value) else {
        (*fcinfo).isnull = true;
        return pg_sys::Datum::from(0);
    };
    let p = cached((*fcinfo).flinfo, &q);
    if p.terms.is_empty() {
        return pg_sys::Datum::from(false);
    }
    let doc = analyze_arg(p, args[0].value);
    pg_sys::Datum::from(p.matches(&doc))
});
