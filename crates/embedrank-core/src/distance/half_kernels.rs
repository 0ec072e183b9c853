//! Distances between vectors held as float16 offsets from a float4 center, `v = center + half`:
//! what the in-memory build links on when it keeps a half-precision copy of its vectors (half the
//! bytes from memory per distance: linking reads vectors scattered over a store far larger than the
//! CPU caches). The center (the vectors' mean) takes a common offset out of the halves, which would
//! otherwise use up their 11 significant bits.
//!
//! Two shapes, one arithmetic: between two copied vectors (`pair`), and between a query given as
//! its float4 offsets from the center and a copied vector (`query`: a search for an element being
//! linked, whose offsets are its widened halves). Each half is widened exactly (every float16 is a
//! float4). L2 is translation-invariant, so it subtracts the offsets directly; the inner product
//! adds the center back first (in float4). Both shapes do the same operations in the same lanes,
//! so a query whose offsets are the widened halves of element `a` gets, bit for bit, the pair
//! distance of `a` — the distances an insert searches by and the ones its heuristic compares agree
//! exactly, as the recorded-decision reuse of the build needs.
//!
//! The AVX2 instantiations widen eight halves per instruction (F16C's `vcvtph2ps`) into four
//! independent 8-lane accumulators with fused multiply-adds, written with intrinsics because the
//! `half` crate's slice widening picks F16C at run time per call and does not vectorise inside a
//! loop. Elsewhere each 32-value chunk is widened with the `half` crate and the portable float4
//! kernel of [`super::kernels`] runs on it.

use super::kernels;
use half::f16;

/// Values per chunk (the lanes of [`super::kernels`]).
const W: usize = 32;

/// Sums `fold(x, y)` over 32-value chunks, `x` and `y` filled per chunk by `fill(start, x, y)`.
#[inline(always)]
fn chunked(
    len: usize,
    fill: impl Fn(usize, &mut [f32], &mut [f32]),
    fold: impl Fn(&[f32], &[f32]) -> f32,
) -> f32 {
    let (mut x, mut y) = ([0.0f32; W], [0.0f32; W]);
    let mut sum = 0.0f32;
    for start in (0..len).step_by(W) {
        let n = W.min(len - start);
        let (x, y) = (&mut x[..n], &mut y[..n]);
        fill(start, x, y);
        sum += fold(x, y);
    }
    sum
}

fn widen(h: &[f16], out: &mut [f32]) {
    out.iter_mut().zip(h).for_each(|(o, h)| *o = h.to_f32());
}

fn rebuild(center: &[f32], h: &[f16], out: &mut [f32]) {
    out.iter_mut()
        .zip(center.iter().zip(h))
        .for_each(|(o, (&c, h))| *o = c + h.to_f32());
}

fn rebuild_f32(center: &[f32], q: &[f32], out: &mut [f32]) {
    out.iter_mut()
        .zip(center.iter().zip(q))
        .for_each(|(o, (&c, &q))| *o = c + q);
}

/// Squared Euclidean distance from the query with offsets `q` to `center + b`, portable.
pub(super) fn l2_squared(_center: &[f32], q: &[f32], b: &[f16]) -> f32 {
    debug_assert_eq!(q.len(), b.len());
    let len = q.len().min(b.len());
    chunked(
        len,
        |s, x, y| {
            x.copy_from_slice(&q[s..s + x.len()]);
            widen(&b[s..], y);
        },
        kernels::l2_squared::<false>,
    )
}

/// Inner product of `center + q` and `center + b`, portable.
pub(super) fn dot(center: &[f32], q: &[f32], b: &[f16]) -> f32 {
    debug_assert!(q.len() == b.len() && center.len() == b.len());
    let len = q.len().min(b.len()).min(center.len());
    chunked(
        len,
        |s, x, y| {
            rebuild_f32(&center[s..], &q[s..], x);
            rebuild(&center[s..], &b[s..], y);
        },
        kernels::dot::<false>,
    )
}

/// Squared Euclidean distance between `center + a` and `center + b`, portable.
pub(super) fn l2_squared_pair(_center: &[f32], a: &[f16], b: &[f16]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let len = a.len().min(b.len());
    chunked(
        len,
        |s, x, y| {
            widen(&a[s..], x);
            widen(&b[s..], y);
        },
        kernels::l2_squared::<false>,
    )
}

/// Inner product of `center + a` and `center + b`, portable.
pub(super) fn dot_pair(center: &[f32], a: &[f16], b: &[f16]) -> f32 {
    debug_assert!(a.len() == b.len() && center.len() == b.len());
    let len = a.len().min(b.len()).min(center.len());
    chunked(
        len,
        |s, x, y| {
            rebuild(&center[s..], &a[s..], x);
            rebuild(&center[s..], &b[s..], y);
        },
        kernels::dot::<false>,
    )
}

#[cfg(target_arch = "x86_64")]
pub(super) mod avx2 {
    use half::f16;
    use std::arch::x86_64::*;

    /// `step(acc, x, y)` over `n` values eight at a time in four independent accumulators (32 values
    /// per round), then eight at a time, then one at a time (`scalar` on `at(j)`); the lanes summed
    /// as a tree. `load(i)` gives values `i..i + 8` of both sides, only ever with `i + 8 <= n`.
    #[inline(always)]
    unsafe fn fold(
        n: usize,
        load: impl Fn(usize) -> (__m256, __m256),
        at: impl Fn(usize) -> (f32, f32),
        step: impl Fn(__m256, __m256, __m256) -> __m256,
        scalar: impl Fn(f32, f32, f32) -> f32,
    ) -> f32 {
        let mut acc = [_mm256_setzero_ps(); 4];
        let mut i = 0;
        while i + 32 <= n {
            for (k, acc) in acc.iter_mut().enumerate() {
                let (x, y) = load(i + 8 * k);
                *acc = step(*acc, x, y);
            }
            i += 32;
        }
        while i + 8 <= n {
            let (x, y) = load(i);
            acc[0] = step(acc[0], x, y);
            i += 8;
        }
        let s = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
        let h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps::<1>(s));
        let h = _mm_add_ps(h, _mm_movehl_ps(h, h));
        let h = _mm_add_ss(h, _mm_shuffle_ps::<1>(h, h));
        let mut tail = 0.0f32;
        for j in i..n {
            let (x, y) = at(j);
            tail = scalar(tail, x, y);
        }
        _mm_cvtss_f32(h) + tail
    }

    /// Values `i..i + 8` of `h`, widened. SAFETY: `h` holds at least `i + 8` values.
    #[inline(always)]
    unsafe fn widen8(h: &[f16], i: usize) -> __m256 {
        // `f16` is a transparent `u16`.
        _mm256_cvtph_ps(_mm_loadu_si128(h.as_ptr().add(i) as *const __m128i))
    }

    /// `center + v` for values `i..i + 8`. SAFETY: `center` holds at least `i + 8` values.
    #[inline(always)]
    unsafe fn plus_center(center: &[f32], v: __m256, i: usize) -> __m256 {
        _mm256_add_ps(_mm256_loadu_ps(center.as_ptr().add(i)), v)
    }

    #[inline(always)]
    unsafe fn l2_step(acc: __m256, x: __m256, y: __m256) -> __m256 {
        let d = _mm256_sub_ps(x, y);
        _mm256_fmadd_ps(d, d, acc)
    }

    #[inline(always)]
    fn l2_scalar(acc: f32, x: f32, y: f32) -> f32 {
        (x - y).mul_add(x - y, acc)
    }

    #[inline(always)]
    unsafe fn dot_step(acc: __m256, x: __m256, y: __m256) -> __m256 {
        _mm256_fmadd_ps(x, y, acc)
    }

    #[inline(always)]
    fn dot_scalar(acc: f32, x: f32, y: f32) -> f32 {
        x.mul_add(y, acc)
    }

    /// Squared Euclidean distance from the query with offsets `q` to `center + b`; only call where
    /// the CPU has AVX2, FMA and F16C (as every function here).
    #[target_feature(enable = "avx2,fma,f16c")]
    pub(in super::super) unsafe fn l2_squared(_center: &[f32], q: &[f32], b: &[f16]) -> f32 {
        debug_assert_eq!(q.len(), b.len());
        let n = q.len().min(b.len());
        fold(
            n,
            |i| (_mm256_loadu_ps(q.as_ptr().add(i)), widen8(b, i)),
            |j| (q[j], b[j].to_f32()),
            |s, x, y| l2_step(s, x, y),
            l2_scalar,
        )
    }

    /// Inner product of `center + q` and `center + b`.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub(in super::super) unsafe fn dot(center: &[f32], q: &[f32], b: &[f16]) -> f32 {
        debug_assert!(q.len() == b.len() && center.len() == b.len());
        let n = q.len().min(b.len()).min(center.len());
        fold(
            n,
            |i| {
                let x = plus_center(center, _mm256_loadu_ps(q.as_ptr().add(i)), i);
                (x, plus_center(center, widen8(b, i), i))
            },
            |j| (center[j] + q[j], center[j] + b[j].to_f32()),
            |s, x, y| dot_step(s, x, y),
            dot_scalar,
        )
    }

    /// Squared Euclidean distance between `center + a` and `center + b`.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub(in super::super) unsafe fn l2_squared_pair(_center: &[f32], a: &[f16], b: &[f16]) -> f32 {
        debug_assert_eq!(a.len(), b.len());
        let n = a.len().min(b.len());
        fold(
            n,
            |i| (widen8(a, i), widen8(b, i)),
            |j| (a[j].to_f32(), b[j].to_f32()),
            |s, x, y| l2_step(s, x, y),
            l2_scalar,
        )
    }

    /// Inner product of `center + a` and `center + b`.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub(in super::super) unsafe fn dot_pair(center: &[f32], a: &[f16], b: &[f16]) -> f32 {
        debug_assert!(a.len() == b.len() && center.len() == b.len());
        let n = a.len().min(b.len()).min(center.len());
        fold(
            n,
            |i| {
                (
                    plus_center(center, widen8(a, i), i),
                    plus_center(center, widen8(b, i), i),
                )
            },
            |j| (center[j] + a[j].to_f32(), center[j] + b[j].to_f32()),
            |s, x, y| dot_step(s, x, y),
            dot_scalar,
        )
    }
}
