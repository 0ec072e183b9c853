//! What an index's operator class means for the vectors it stores: the metric code kept in the meta
//! page (part of the on-disk format: the values never change), the core-crate metric the graph is
//! searched with, and the form a vector is stored in (unit length under cosine). Bit strings and
//! sparse vectors are searched in their packed forms, with the core's popcount and sparse kernels
//! (a bit index's Hamming distance is stored as the L1 code: it is L1 over the bits).

use super::pages::format::Encoding;
use crate::errors::{raise, Code};
use embedrank_core::distance;
use pgrx::pg_sys;

/// Metric codes stored in the meta page (on-disk format).
pub const METRIC_L2: u32 = 0;
pub const METRIC_IP: u32 = 1;
pub const METRIC_COSINE: u32 = 2;
pub const METRIC_L1: u32 = 3;
pub const METRIC_JACCARD: u32 = 4;

/// The core-crate metric an index with stored metric `code` and values in `enc` searches with:
/// cosine indexes store unit vectors and order by inner product.
pub fn search_metric(code: u32, enc: Encoding) -> distance::Metric {
    use distance::Metric::*;
    let sparse = enc == Encoding::Sparse;
    match code {
        METRIC_L2 if sparse => SparseL2,
        METRIC_L2 => L2,
        METRIC_L1 if sparse => SparseL1,
        METRIC_L1 if enc == Encoding::Bit => Hamming,
        METRIC_L1 => L1,
        METRIC_JACCARD => Jaccard,
        _ if sparse => SparseInnerProduct,
        _ => InnerProduct,
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
        "vector_negative_inner_product"
        | "halfvec_negative_inner_product"
        | "sparsevec_negative_inner_product" => METRIC_IP,
        "cosine_distance" => METRIC_COSINE,
        // Hamming distance is L1 over the bits (searched with the popcount kernel).
        "l1_distance" | "hamming_distance" => METRIC_L1,
        "jaccard_distance" => METRIC_JACCARD,
        other => raise(
            Code::ERRCODE_FEATURE_NOT_SUPPORTED,
            format!("operator class support function \"{other}\" is not a known distance"),
            None,
        ),
    }
}

/// The form in which `v` is stored and searched: unit length for cosine (None for a zero vector,
/// which has no cosine distance and is not indexed), then rounded as `enc` stores it (a unit halfvec
/// is rounded to halves, as pgvector's `l2_normalize` of a halfvec is); unchanged otherwise. The
/// norm and the division are in double precision, as pgvector's `l2_normalize`: a float4 norm
/// overflows past ~1.8e19 per element and underflows below ~1e-23, and such rows would silently
/// drop out of the index. A sparse vector (packed) has its values normalised, and entries that
/// underflow to zero dropped, as pgvector's `l2_normalize` of a sparsevec does.
pub fn prepare(metric: u32, enc: Encoding, v: &[f32]) -> Option<Vec<f32>> {
    if metric != METRIC_COSINE {
        return Some(v.to_vec());
    }
    if enc == Encoding::Sparse {
        let mut unit = v.to_vec();
        let values = embedrank_core::sparsevec::packed_values_mut(&mut unit);
        let n = distance::norm_f64(values);
        if n == 0.0 || !n.is_finite() {
            return None;
        }
        values
            .iter_mut()
            .for_each(|x| *x = (f64::from(*x) / n) as f32);
        return Some(embedrank_core::sparsevec::drop_zeros(&unit));
    }
    let n = distance::norm_f64(v);
    if n == 0.0 || !n.is_finite() {
        return None;
    }
    let mut unit: Vec<f32> = v.iter().map(|&x| (f64::from(x) / n) as f32).collect();
    enc.round(&mut unit);
    Some(unit)
}
