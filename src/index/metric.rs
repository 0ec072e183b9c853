//! What an index's operator class means for the vectors it stores: the metric code kept in the meta
//! page (part of the on-disk format: the values never change), the core-crate metric the graph is
//! searched with, the form a vector is stored in (unit length under cosine), and how the indexed
//! column's values are read: a `vector` column's as they are, a `halfvec` column's widened to
//! float4 (exact; the graph stores float4, so a halfvec index is as large as a vector one and
//! limited to the same dimensions — pgvector stores halves and indexes up to 4000).

use crate::errors::{raise, Code};
use embedrank_core::distance;
use pgrx::pg_sys;
use std::borrow::Cow;

thread_local! {
    /// The last index column type looked up, and whether it is `halfvec`.
    static LAST_TYPE: std::cell::Cell<Option<(pg_sys::Oid, bool)>> = const { std::cell::Cell::new(None) };
}

/// The float4 values of `datum`, a value of `index`'s column (or a query for it): `vector` or
/// `halfvec`, told apart by the column's type.
///
/// # Safety
/// `datum` must be a non-null value of the index column's type.
pub unsafe fn column_values<'a>(index: pg_sys::Relation, datum: pg_sys::Datum) -> Cow<'a, [f32]> {
    let desc = pgrx::PgTupleDesc::from_pg_unchecked((*index).rd_att);
    let typ = desc.get(0).expect("an index column").atttypid;
    // One catalog lookup per column type a backend meets, not one per row.
    let half = LAST_TYPE.get().filter(|&(t, _)| t == typ).map(|(_, h)| h);
    let half = half.unwrap_or_else(|| {
        let h = typ == crate::halfvec::halfvec_type_oid();
        LAST_TYPE.set(Some((typ, h)));
        h
    });
    if half {
        Cow::Owned(crate::halfvec::datum_values(datum))
    } else {
        Cow::Borrowed(crate::vector::datum_slice(datum))
    }
}

/// Metric codes stored in the meta page (on-disk format).
pub const METRIC_L2: u32 = 0;
pub const METRIC_IP: u32 = 1;
pub const METRIC_COSINE: u32 = 2;
pub const METRIC_L1: u32 = 3;

/// The core-crate metric an index with stored metric `code` searches with: cosine indexes store unit
/// vectors and order by inner product.
pub fn search_metric(code: u32) -> distance::Metric {
    match code {
        METRIC_L2 => distance::Metric::L2,
        METRIC_L1 => distance::Metric::L1,
        _ => distance::Metric::InnerProduct,
    }
}

/// The metric of `index`, from the distance function its operator class declares as support 1.
pub unsafe fn index_metric(index: pg_sys::Relation) -> u32 {
    let proc = pg_sys::index_getprocid(index, 1, 1);
    let name = pg_sys::get_func_name(proc);
    let name = if name.is_null() {
        String::new()
    } else {
        std::ffi::CStr::from_ptr(name)
            .to_string_lossy()
            .into_owned()
    };
    match name.as_str() {
        "l2_distance" => METRIC_L2,
        "vector_negative_inner_product" | "halfvec_negative_inner_product" => METRIC_IP,
        "cosine_distance" => METRIC_COSINE,
        "l1_distance" => METRIC_L1,
        other => raise(
            Code::ERRCODE_FEATURE_NOT_SUPPORTED,
            format!("operator class support function \"{other}\" is not a known distance"),
            None,
        ),
    }
}

/// The form in which `v` is stored and searched: unit length for cosine (None for a zero vector,
/// which has no cosine distance and is not indexed), unchanged otherwise. The norm and the division
/// are in double precision, as pgvector's `l2_normalize`: a float4 norm overflows past ~1.8e19 per
/// element and underflows below ~1e-23, and such rows would silently drop out of the index.
pub fn prepare(metric: u32, v: &[f32]) -> Option<Vec<f32>> {
    if metric != METRIC_COSINE {
        return Some(v.to_vec());
    }
    let n = distance::norm_f64(v);
    if n == 0.0 || !n.is_finite() {
        return None;
    }
    Some(v.iter().map(|&x| (f64::from(x) / n) as f32).collect())
}
