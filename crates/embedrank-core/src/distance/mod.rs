//! Distance kernels: the hot path of every index scan and `ORDER BY <->`.
//!
//! Design:
//! * `kernels` holds one generic, auto-vectorisable implementation of each
//!   kernel (per-lane accumulators over fixed-size chunks, no bounds checks).
//! * `dispatch` instantiates it twice — baseline and AVX2+FMA — and picks
//!   one set once per process with `is_x86_feature_detected!`.
//! * `half_kernels` computes distances to vectors held as float16 offsets from a float4 center (the
//!   in-memory build's link copy, [`half_distance`]).
//! * This module is the safe public face: thin `#[inline]` wrappers that
//!   call through the selected table, plus [`Metric`], the ordering distance
//!   an HNSW index is built for.
//! * [`naive`] is the obvious scalar code, used as a test oracle and as the
//!   baseline of the `distance` benchmark.
//!
//! Callers guarantee equal lengths; this is `debug_assert!`ed. In release
//! builds mismatched inputs are truncated to the shorter length (never UB).
//! Cosine follows pgvector: sums are accumulated in `f32`, the similarity is
//! computed in `f64`, clamped to `[-1, 1]`, and a zero-norm input gives NaN.
//!
//! The index orders by the `f32` results above. The SQL functions answer
//! what pgvector's answer, which is not always the same number: pgvector's
//! `cosine_distance` returns its `f64` value unrounded
//! ([`cosine_distance_f64`]), and `vector_norm` / `l2_normalize` accumulate
//! in `f64` ([`norm_f64`]).

pub mod bits;
mod dispatch;
mod half_kernels;
mod kernels;
pub mod naive;
#[cfg(test)]
mod tests;

use crate::sparsevec as sparse;
use dispatch::kernels as selected;

/// Name of the kernel set chosen for this CPU (`"avx2+fma"` or `"portable"`).
pub fn kernel_set() -> &'static str {
    selected().name
}

/// Squared Euclidean distance.
#[inline]
pub fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    // SAFETY: `selected()` only returns the AVX2 table after runtime
    // detection of AVX2 and FMA (see `dispatch`), otherwise safe functions.
    unsafe { (selected().l2_squared)(a, b) }
}

/// Euclidean distance.
#[inline]
pub fn l2(a: &[f32], b: &[f32]) -> f32 {
    l2_squared(a, b).sqrt()
}

/// Inner product.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    // SAFETY: as in `l2_squared`.
    unsafe { (selected().dot)(a, b) }
}

/// Manhattan distance.
#[inline]
pub fn l1(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    // SAFETY: as in `l2_squared`.
    unsafe { (selected().l1)(a, b) }
}

/// `metric`'s index distance from `query` to the vector that scalar `codes` (one byte per
/// dimension) stand for, `min[i] + scale[i] · codes[i]` — bit for bit what decoding the codes and
/// calling [`Metric::index_distance`] gives, without the decoded copy. Defined for the metrics a
/// quantized index searches with (L2, inner product, L1); `None` for the others.
#[inline]
pub fn code_distance(
    metric: Metric,
    query: &[f32],
    codes: &[u8],
    min: &[f32],
    scale: &[f32],
) -> Option<f32> {
    debug_assert!(query.len() == codes.len() && min.len() == codes.len());
    let k = selected();
    // SAFETY: as in `l2_squared`.
    unsafe {
        match metric {
            Metric::L2 => Some((k.l2_squared_codes)(query, codes, min, scale)),
            Metric::InnerProduct => Some(-(k.dot_codes)(query, codes, min, scale)),
            Metric::L1 => Some((k.l1_codes)(query, codes, min, scale)),
            _ => None,
        }
    }
}

/// `metric`'s index distance between a query given as its float4 `offsets` from `center` and the
/// vector `center + half` (float16 offsets, widened exactly; see `half_kernels`). For a query whose
/// offsets are the widened halves of a copied vector `a`, bit for bit [`half_pair_distance`] of `a`
/// and `half`. Defined for L2 and inner product (a cosine index stores unit vectors and searches by
/// inner product); `None` for the others.
#[inline]
pub fn half_distance(
    metric: Metric,
    center: &[f32],
    offsets: &[f32],
    half: &[half::f16],
) -> Option<f32> {
    debug_assert!(offsets.len() == half.len() && center.len() == half.len());
    let k = selected();
    // SAFETY: as in `l2_squared`.
    unsafe {
        match metric {
            Metric::L2 => Some((k.l2_squared_half)(center, offsets, half)),
            Metric::InnerProduct => Some(-(k.dot_half)(center, offsets, half)),
            _ => None,
        }
    }
}

/// `metric`'s index distance between `center + a` and `center + b` (float16 offsets from a float4
/// center); `None` where [`half_distance`] is.
#[inline]
pub fn half_pair_distance(
    metric: Metric,
    center: &[f32],
    a: &[half::f16],
    b: &[half::f16],
) -> Option<f32> {
    debug_assert!(a.len() == b.len() && center.len() == b.len());
    let k = selected();
    // SAFETY: as in `l2_squared`.
    unsafe {
        match metric {
            Metric::L2 => Some((k.l2_squared_half_pair)(center, a, b)),
            Metric::InnerProduct => Some(-(k.dot_half_pair)(center, a, b)),
            _ => None,
        }
    }
}

/// Euclidean norm.
#[inline]
pub fn norm(a: &[f32]) -> f32 {
    dot(a, a).sqrt()
}

/// `1 - cos(a, b)`, similarity clamped to `[-1, 1]`; NaN if either vector has
/// zero norm (pgvector semantics).
#[inline]
pub fn cosine_distance(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    // SAFETY: as in `l2_squared`.
    let (ab, aa, bb) = unsafe { (selected().cosine_parts)(a, b) };
    cosine_from_parts(ab, aa, bb)
}

/// pgvector's `cosine_distance`: the three sums in `f32` (the kernels above),
/// then `1 - a·b / sqrt(|a|²·|b|²)` in `f64`, the similarity clamped to
/// `[-1, 1]`, never rounded to `f32`. No zero test: a zero vector gives
/// `0/0` = NaN, and so does an overflowed sum (`inf/inf`).
#[inline]
pub fn cosine_distance_f64(a: &[f32], b: &[f32]) -> f64 {
    debug_assert_eq!(a.len(), b.len());
    // SAFETY: as in `l2_squared`.
    let (ab, aa, bb) = unsafe { (selected().cosine_parts)(a, b) };
    let sim = f64::from(ab) / (f64::from(aa) * f64::from(bb)).sqrt();
    // `clamp` leaves NaN alone, as pgvector's two comparisons do.
    1.0 - sim.clamp(-1.0, 1.0)
}

/// Euclidean norm accumulated in `f64` (pgvector's `vector_norm` and
/// `l2_normalize`): each square is exact in `f64`, so `[3e37, 4e37]` gives
/// `5e37` where the `f32` [`norm`] overflows to infinity.
#[inline]
pub fn norm_f64(a: &[f32]) -> f64 {
    a.iter()
        .map(|&x| f64::from(x) * f64::from(x))
        .sum::<f64>()
        .sqrt()
}

/// Turns `(a·b, |a|², |b|²)` into the clamped cosine distance.
#[inline]
fn cosine_from_parts(ab: f32, aa: f32, bb: f32) -> f32 {
    if aa == 0.0 || bb == 0.0 {
        return f32::NAN;
    }
    let sim = f64::from(ab) / (f64::from(aa) * f64::from(bb)).sqrt();
    // `clamp` propagates NaN (e.g. from infinite inputs), as pgvector does.
    (1.0 - sim.clamp(-1.0, 1.0)) as f32
}

/// The distance an index orders by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    L2,
    InnerProduct,
    Cosine,
    L1,
    /// Hamming distance of two bit strings packed in words ([`bits`]; pgvector's `bit` `<~>`).
    Hamming,
    /// Jaccard distance of two bit strings packed in words (pgvector's `bit` `<%>`).
    Jaccard,
    /// Squared Euclidean distance of two sparse vectors in packed form ([`crate::sparsevec::pack`]).
    SparseL2,
    /// Negative inner product of two packed sparse vectors (cosine indexes store unit vectors).
    SparseInnerProduct,
    /// Manhattan distance of two packed sparse vectors.
    SparseL1,
}

impl Metric {
    /// Distance used for ordering in the index: L2 -> squared l2 (monotone),
    /// InnerProduct -> -dot, Cosine -> cosine_distance, L1 -> l1.
    #[inline]
    pub fn index_distance(self, a: &[f32], b: &[f32]) -> f32 {
        match self {
            Metric::L2 => l2_squared(a, b),
            Metric::InnerProduct => -dot(a, b),
            Metric::Cosine => cosine_distance(a, b),
            Metric::L1 => l1(a, b),
            // SAFETY (both): as in `l2_squared`.
            Metric::Hamming => unsafe { (selected().hamming)(a, b) },
            Metric::Jaccard => unsafe { (selected().jaccard)(a, b) },
            Metric::SparseL2 => sparse::l2_squared(sparse::unpack(a), sparse::unpack(b)),
            Metric::SparseInnerProduct => -sparse::dot(sparse::unpack(a), sparse::unpack(b)),
            Metric::SparseL1 => sparse::l1(sparse::unpack(a), sparse::unpack(b)),
        }
    }

    /// Whether the vectors are packed sparse vectors (of variable length) rather than dense ones.
    pub fn is_sparse(self) -> bool {
        matches!(
            self,
            Metric::SparseL2 | Metric::SparseInnerProduct | Metric::SparseL1
        )
    }
}
