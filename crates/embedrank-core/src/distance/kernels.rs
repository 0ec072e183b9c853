//! Portable distance kernels, written for the auto-vectoriser.
//!
//! Design: every kernel walks the inputs in fixed-size array chunks
//! (`slice::as_chunks`, so the compiler sees constant lengths and emits no
//! bounds checks) and keeps one accumulator *per lane*. Lane `i` only ever
//! combines element `i` of each chunk, so no floating-point reassociation is
//! needed and LLVM turns the lane loop into SIMD registers (`W = 32` lanes is
//! four independent AVX registers, enough to hide FMA latency). The leftover
//! `< W` elements go through an 8-lane pass and then a scalar tail.
//!
//! The `FMA` const parameter picks `mul_add` (one rounding, lowered to
//! `vfmadd` when the caller is compiled with the `fma` target feature) or a
//! separate multiply and add. Kernels are `#[inline(always)]` so that the
//! feature-enabled wrappers in `super::dispatch` get their own codegen; the
//! `FMA = true` instantiation must only be used from such a wrapper, since
//! without the feature `mul_add` becomes a slow libm call.

/// Lanes of the main loop of the single-output kernels.
const W: usize = 32;
/// Lanes of the main loop of the cosine kernel (three outputs, so fewer lanes
/// keep all accumulators in registers).
const WC: usize = 16;

/// `acc + x * y`, fused when `FMA`.
#[inline(always)]
fn madd<const FMA: bool>(acc: f32, x: f32, y: f32) -> f32 {
    if FMA {
        x.mul_add(y, acc)
    } else {
        acc + x * y
    }
}

/// Sums lane accumulators pairwise (a short balanced tree, also vectorised).
#[inline(always)]
fn hsum<const N: usize>(acc: [f32; N]) -> f32 {
    let mut v = acc;
    let mut n = N;
    while n > 1 {
        let half = n / 2;
        for i in 0..half {
            v[i] += v[i + half];
        }
        if n % 2 == 1 {
            v[0] += v[n - 1];
        }
        n = half;
    }
    v[0]
}

/// Folds `step(acc, a[i], b[i])` over both slices with per-lane
/// accumulators and returns the sum of all lanes.
#[inline(always)]
fn fold2(a: &[f32], b: &[f32], step: impl Fn(f32, f32, f32) -> f32) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);

    let (ca, ra) = a.as_chunks::<W>();
    let (cb, rb) = b.as_chunks::<W>();
    let mut acc = [0.0f32; W];
    for (x, y) in ca.iter().zip(cb) {
        for i in 0..W {
            acc[i] = step(acc[i], x[i], y[i]);
        }
    }

    let (ca, ra) = ra.as_chunks::<8>();
    let (cb, rb) = rb.as_chunks::<8>();
    let mut acc8 = [0.0f32; 8];
    for (x, y) in ca.iter().zip(cb) {
        for i in 0..8 {
            acc8[i] = step(acc8[i], x[i], y[i]);
        }
    }

    let mut tail = 0.0f32;
    for (&x, &y) in ra.iter().zip(rb) {
        tail = step(tail, x, y);
    }
    hsum(acc) + hsum(acc8) + tail
}

/// Squared Euclidean distance.
#[inline(always)]
pub(super) fn l2_squared<const FMA: bool>(a: &[f32], b: &[f32]) -> f32 {
    fold2(a, b, |acc, x, y| {
        let d = x - y;
        madd::<FMA>(acc, d, d)
    })
}

/// Inner product.
#[inline(always)]
pub(super) fn dot<const FMA: bool>(a: &[f32], b: &[f32]) -> f32 {
    fold2(a, b, madd::<FMA>)
}

/// Manhattan distance.
#[inline(always)]
pub(super) fn l1(a: &[f32], b: &[f32]) -> f32 {
    fold2(a, b, |acc, x, y| acc + (x - y).abs())
}

/// Returns `(a·b, a·a, b·b)` in one pass over both inputs.
#[inline(always)]
pub(super) fn cosine_parts<const FMA: bool>(a: &[f32], b: &[f32]) -> (f32, f32, f32) {
    debug_assert_eq!(a.len(), b.len());
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);

    let (ca, ra) = a.as_chunks::<WC>();
    let (cb, rb) = b.as_chunks::<WC>();
    let mut ab = [0.0f32; WC];
    let mut aa = [0.0f32; WC];
    let mut bb = [0.0f32; WC];
    for (x, y) in ca.iter().zip(cb) {
        for i in 0..WC {
            ab[i] = madd::<FMA>(ab[i], x[i], y[i]);
            aa[i] = madd::<FMA>(aa[i], x[i], x[i]);
            bb[i] = madd::<FMA>(bb[i], y[i], y[i]);
        }
    }
    let (mut tab, mut taa, mut tbb) = (0.0f32, 0.0f32, 0.0f32);
    for (&x, &y) in ra.iter().zip(rb) {
        tab = madd::<FMA>(tab, x, y);
        taa = madd::<FMA>(taa, x, x);
        tbb = madd::<FMA>(tbb, y, y);
    }
    (hsum(ab) + tab, hsum(aa) + taa, hsum(bb) + tbb)
}
