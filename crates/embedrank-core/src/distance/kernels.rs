//! Portable distance kernels, written for the auto-vectoriser.
//!
//! Design: every kernel walks the inputs in fixed-size array chunks
//! (`slice::as_chunks`, so the compiler sees constant lengths and emits no
//! bounds checks) and keeps one accumulator *per lane* in a `[f32; 32]`.
//! Lane `i` only ever combines element `i` of each chunk, so no
//! floating-point reassociation is needed and LLVM's SLP vectoriser turns the
//! lane loop into SIMD registers: four independent 8-wide AVX registers
//! (enough to hide FMA latency) or eight SSE registers. The `< 32` element
//! tail is scalar; the final lane sum is a tree of AVX additions in the AVX2
//! instantiations ([`lane_sum`]: summing 32 lanes in order took as long as
//! the whole main loop at 384 dimensions) and in order elsewhere.
//!
//! The shape matters: we checked the generated assembly, and richer variants
//! (a pairwise-tree lane reduction written in plain Rust, an extra 8-lane
//! tail pass, a fused three-output cosine loop) made LLVM fall back to 2-wide
//! or scalar code; the tree sum is therefore intrinsics, after the loop.
//! Cosine is therefore three vectorised passes (`a·b`, `a·a`, `b·b`); the
//! inputs are in L1 cache after the first pass.
//!
//! The `FMA` const parameter picks `mul_add` (one rounding, lowered to
//! `vfmadd` when the caller is compiled with the `fma` target feature) or a
//! separate multiply and add. Kernels are `#[inline(always)]` so that the
//! feature-enabled wrappers in `super::dispatch` get their own codegen; the
//! `FMA = true` instantiation must only be used from such a wrapper, since
//! without the feature `mul_add` becomes a slow libm call.

/// Lanes (independent accumulators) of the main loop.
const W: usize = 32;

/// `acc + x * y`, fused when `FMA`.
#[inline(always)]
fn madd<const FMA: bool>(acc: f32, x: f32, y: f32) -> f32 {
    if FMA {
        x.mul_add(y, acc)
    } else {
        acc + x * y
    }
}

/// The sum of the `W` lane accumulators. In the AVX2 instantiations (`AVX`, only ever run where
/// the CPU has AVX2, see `super::dispatch`) a tree: the four 8-lane registers added together, then
/// 8 → 4 → 2 → 1. Summing 32 lanes one after the other is a chain of 31 dependent additions — at
/// 384 dimensions as long as the whole main loop, measured (BENCHMARKS.md "Distance kernels").
/// Elsewhere the lanes are summed in order.
#[inline(always)]
fn lane_sum<const AVX: bool>(acc: &[f32; W]) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if AVX {
        // SAFETY: the `AVX` instantiations are only called from AVX2 + FMA wrappers.
        return unsafe { tree_sum(acc) };
    }
    acc.iter().sum::<f32>()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[inline]
unsafe fn tree_sum(acc: &[f32; W]) -> f32 {
    use std::arch::x86_64::*;
    let p = acc.as_ptr();
    let s = _mm256_add_ps(
        _mm256_add_ps(_mm256_loadu_ps(p), _mm256_loadu_ps(p.add(8))),
        _mm256_add_ps(_mm256_loadu_ps(p.add(16)), _mm256_loadu_ps(p.add(24))),
    );
    let h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps::<1>(s));
    let h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    let h = _mm_add_ss(h, _mm_shuffle_ps::<1>(h, h));
    _mm_cvtss_f32(h)
}

/// Folds `step(acc, a[i], b[i])` over both slices with per-lane
/// accumulators and returns the sum of all lanes.
#[inline(always)]
fn fold2<const AVX: bool>(a: &[f32], b: &[f32], step: impl Fn(f32, f32, f32) -> f32) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let n = a.len().min(b.len());
    let (ca, ra) = a[..n].as_chunks::<W>();
    let (cb, rb) = b[..n].as_chunks::<W>();
    let mut acc = [0.0f32; W];
    for (x, y) in ca.iter().zip(cb) {
        for i in 0..W {
            acc[i] = step(acc[i], x[i], y[i]);
        }
    }
    let mut tail = 0.0f32;
    for (&x, &y) in ra.iter().zip(rb) {
        tail = step(tail, x, y);
    }
    lane_sum::<AVX>(&acc) + tail
}

/// [`fold2`] with `b` given as scalar codes: `b[i] = min[i] + scale[i] · codes[i]`, computed with
/// the same two roundings as [`crate::quantize::Sq8::decode_into`] (a separate multiply and add,
/// never fused), in the same lanes and the same order as `fold2`, so the result is bit for bit
/// what decoding and then `fold2` gives — without writing the decoded vector anywhere. Reading one
/// byte per dimension instead of four is the point (a quantized index scan's hot path).
#[inline(always)]
fn fold_codes<const AVX: bool>(
    a: &[f32],
    codes: &[u8],
    min: &[f32],
    scale: &[f32],
    step: impl Fn(f32, f32, f32) -> f32,
) -> f32 {
    debug_assert!(a.len() == codes.len() && a.len() == min.len() && a.len() == scale.len());
    let n = a.len().min(codes.len()).min(min.len()).min(scale.len());
    let (ca, ra) = a[..n].as_chunks::<W>();
    let (cc, rc) = codes[..n].as_chunks::<W>();
    let (cm, rm) = min[..n].as_chunks::<W>();
    let (cs, rs) = scale[..n].as_chunks::<W>();
    let mut acc = [0.0f32; W];
    for (((x, c), lo), s) in ca.iter().zip(cc).zip(cm).zip(cs) {
        for i in 0..W {
            acc[i] = step(acc[i], x[i], lo[i] + s[i] * f32::from(c[i]));
        }
    }
    let mut tail = 0.0f32;
    for (((&x, &c), &lo), &s) in ra.iter().zip(rc).zip(rm).zip(rs) {
        tail = step(tail, x, lo + s * f32::from(c));
    }
    lane_sum::<AVX>(&acc) + tail
}

/// [`l2_squared`] of `a` and a decoded code vector ([`fold_codes`]).
#[inline(always)]
pub(super) fn l2_squared_codes<const FMA: bool>(
    a: &[f32],
    codes: &[u8],
    min: &[f32],
    scale: &[f32],
) -> f32 {
    fold_codes::<FMA>(a, codes, min, scale, |acc, x, y| {
        let d = x - y;
        madd::<FMA>(acc, d, d)
    })
}

/// [`dot`] of `a` and a decoded code vector ([`fold_codes`]).
#[inline(always)]
pub(super) fn dot_codes<const FMA: bool>(
    a: &[f32],
    codes: &[u8],
    min: &[f32],
    scale: &[f32],
) -> f32 {
    fold_codes::<FMA>(a, codes, min, scale, madd::<FMA>)
}

/// [`l1`] of `a` and a decoded code vector ([`fold_codes`]).
#[inline(always)]
pub(super) fn l1_codes<const AVX: bool>(
    a: &[f32],
    codes: &[u8],
    min: &[f32],
    scale: &[f32],
) -> f32 {
    fold_codes::<AVX>(a, codes, min, scale, |acc, x, y| acc + (x - y).abs())
}

/// Squared Euclidean distance.
#[inline(always)]
pub(super) fn l2_squared<const FMA: bool>(a: &[f32], b: &[f32]) -> f32 {
    fold2::<FMA>(a, b, |acc, x, y| {
        let d = x - y;
        madd::<FMA>(acc, d, d)
    })
}

/// Inner product.
#[inline(always)]
pub(super) fn dot<const FMA: bool>(a: &[f32], b: &[f32]) -> f32 {
    fold2::<FMA>(a, b, madd::<FMA>)
}

/// Manhattan distance.
#[inline(always)]
pub(super) fn l1<const AVX: bool>(a: &[f32], b: &[f32]) -> f32 {
    fold2::<AVX>(a, b, |acc, x, y| acc + (x - y).abs())
}

/// Returns `(a·b, a·a, b·b)`.
#[inline(always)]
pub(super) fn cosine_parts<const FMA: bool>(a: &[f32], b: &[f32]) -> (f32, f32, f32) {
    (dot::<FMA>(a, b), dot::<FMA>(a, a), dot::<FMA>(b, b))
}
