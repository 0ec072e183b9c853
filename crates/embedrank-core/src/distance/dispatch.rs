//! One-time runtime selection of the kernel set.
//!
//! Design: a [`Kernels`] table of function pointers is built once, on first
//! use, and cached in a `OnceLock`. On x86-64 with AVX2, FMA, POPCNT and F16C the
//! table points at `#[target_feature(enable = "avx2,fma")]` instantiations of the
//! portable kernels (same source, compiled for 256-bit registers with fused
//! multiply-add), at POPCNT bit-string kernels and at the F16C kernels over half-precision values;
//! elsewhere it points at the baseline instantiations.
//!
//! The table stores `unsafe fn` pointers because feature-enabled functions
//! may only be called where the feature is known to be present. The only
//! way to obtain a table is [`kernels`] (or [`PORTABLE`], whose entries are
//! ordinary safe functions), and the AVX2 table is only ever returned after
//! `is_x86_feature_detected!` confirmed all four features, which is what makes
//! calling through these pointers sound.

use super::{half_kernels, kernels};
use half::f16;
use std::sync::OnceLock;

/// A two-input kernel; see the module docs for when calling it is sound.
pub(crate) type BinaryFn = unsafe fn(&[f32], &[f32]) -> f32;
/// The fused cosine kernel returning `(a·b, a·a, b·b)`.
pub(crate) type PartsFn = unsafe fn(&[f32], &[f32]) -> (f32, f32, f32);
/// A kernel between a float vector and scalar codes with their per-dimension minimum and step.
pub(crate) type CodesFn = unsafe fn(&[f32], &[u8], &[f32], &[f32]) -> f32;
/// A kernel between a query given as offsets from `center` and `center + half`
/// ([`super::half_kernels`]): `(center, query offsets, half)`.
pub(crate) type HalfFn = unsafe fn(&[f32], &[f32], &[f16]) -> f32;
/// A kernel between `center + a` and `center + b` (halves `a`, `b`).
pub(crate) type HalfPairFn = unsafe fn(&[f32], &[f16], &[f16]) -> f32;

/// One complete kernel set.
pub(crate) struct Kernels {
    pub name: &'static str,
    pub l2_squared: BinaryFn,
    pub dot: BinaryFn,
    pub l1: BinaryFn,
    pub cosine_parts: PartsFn,
    /// Over bit strings packed in words ([`super::bits`]).
    pub hamming: BinaryFn,
    pub jaccard: BinaryFn,
    /// Over scalar codes ([`super::code_distance`]).
    pub l2_squared_codes: CodesFn,
    pub dot_codes: CodesFn,
    pub l1_codes: CodesFn,
    /// Over a float4 center plus float16 offsets ([`super::half_distance`]).
    pub l2_squared_half: HalfFn,
    pub dot_half: HalfFn,
    pub l2_squared_half_pair: HalfPairFn,
    pub dot_half_pair: HalfPairFn,
}

/// Baseline instantiations (SSE2 on x86-64); safe to call everywhere.
mod portable {
    use super::super::bits;
    use super::kernels;

    pub fn hamming(a: &[f32], b: &[f32]) -> f32 {
        bits::hamming(a, b)
    }
    pub fn jaccard(a: &[f32], b: &[f32]) -> f32 {
        bits::jaccard(a, b)
    }

    pub fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
        kernels::l2_squared::<false>(a, b)
    }
    pub fn dot(a: &[f32], b: &[f32]) -> f32 {
        kernels::dot::<false>(a, b)
    }
    pub fn l1(a: &[f32], b: &[f32]) -> f32 {
        kernels::l1::<false>(a, b)
    }
    pub fn cosine_parts(a: &[f32], b: &[f32]) -> (f32, f32, f32) {
        kernels::cosine_parts::<false>(a, b)
    }
    pub fn l2_squared_codes(a: &[f32], c: &[u8], lo: &[f32], s: &[f32]) -> f32 {
        kernels::l2_squared_codes::<false>(a, c, lo, s)
    }
    pub fn dot_codes(a: &[f32], c: &[u8], lo: &[f32], s: &[f32]) -> f32 {
        kernels::dot_codes::<false>(a, c, lo, s)
    }
    pub fn l1_codes(a: &[f32], c: &[u8], lo: &[f32], s: &[f32]) -> f32 {
        kernels::l1_codes::<false>(a, c, lo, s)
    }
}

/// AVX2 + FMA instantiations. Each is a safe `#[target_feature]` function:
/// calling it from code not compiled with those features is `unsafe`, which
/// the table's `unsafe fn` pointer type carries to the call sites.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::super::bits;
    use super::kernels;

    // POPCNT for the bit-string kernels (every AVX2 CPU has it; checked all the same).
    #[target_feature(enable = "avx2,popcnt")]
    pub fn hamming(a: &[f32], b: &[f32]) -> f32 {
        bits::hamming(a, b)
    }
    #[target_feature(enable = "avx2,popcnt")]
    pub fn jaccard(a: &[f32], b: &[f32]) -> f32 {
        bits::jaccard(a, b)
    }

    #[target_feature(enable = "avx2,fma")]
    pub fn l2_squared(a: &[f32], b: &[f32]) -> f32 {
        kernels::l2_squared::<true>(a, b)
    }
    #[target_feature(enable = "avx2,fma")]
    pub fn dot(a: &[f32], b: &[f32]) -> f32 {
        kernels::dot::<true>(a, b)
    }
    #[target_feature(enable = "avx2,fma")]
    pub fn l1(a: &[f32], b: &[f32]) -> f32 {
        kernels::l1::<true>(a, b)
    }
    #[target_feature(enable = "avx2,fma")]
    pub fn cosine_parts(a: &[f32], b: &[f32]) -> (f32, f32, f32) {
        kernels::cosine_parts::<true>(a, b)
    }
    #[target_feature(enable = "avx2,fma")]
    pub fn l2_squared_codes(a: &[f32], c: &[u8], lo: &[f32], s: &[f32]) -> f32 {
        kernels::l2_squared_codes::<true>(a, c, lo, s)
    }
    #[target_feature(enable = "avx2,fma")]
    pub fn dot_codes(a: &[f32], c: &[u8], lo: &[f32], s: &[f32]) -> f32 {
        kernels::dot_codes::<true>(a, c, lo, s)
    }
    #[target_feature(enable = "avx2,fma")]
    pub fn l1_codes(a: &[f32], c: &[u8], lo: &[f32], s: &[f32]) -> f32 {
        kernels::l1_codes::<true>(a, c, lo, s)
    }
}

/// The baseline table; every entry is a safe function.
pub(crate) const PORTABLE: Kernels = Kernels {
    name: "portable",
    l2_squared: portable::l2_squared,
    dot: portable::dot,
    l1: portable::l1,
    cosine_parts: portable::cosine_parts,
    hamming: portable::hamming,
    jaccard: portable::jaccard,
    l2_squared_codes: portable::l2_squared_codes,
    dot_codes: portable::dot_codes,
    l1_codes: portable::l1_codes,
    l2_squared_half: half_kernels::l2_squared,
    dot_half: half_kernels::dot,
    l2_squared_half_pair: half_kernels::l2_squared_pair,
    dot_half_pair: half_kernels::dot_pair,
};

/// The AVX2 table. Private: it must only escape through [`avx2_if_supported`].
#[cfg(target_arch = "x86_64")]
const AVX2: Kernels = Kernels {
    name: "avx2+fma",
    l2_squared: avx2::l2_squared,
    dot: avx2::dot,
    l1: avx2::l1,
    cosine_parts: avx2::cosine_parts,
    hamming: avx2::hamming,
    jaccard: avx2::jaccard,
    l2_squared_codes: avx2::l2_squared_codes,
    dot_codes: avx2::dot_codes,
    l1_codes: avx2::l1_codes,
    l2_squared_half: half_kernels::avx2::l2_squared,
    dot_half: half_kernels::avx2::dot,
    l2_squared_half_pair: half_kernels::avx2::l2_squared_pair,
    dot_half_pair: half_kernels::avx2::dot_pair,
};

/// The AVX2 table, but only when this CPU supports AVX2, FMA, POPCNT and F16C (every AVX2 CPU
/// made has the last two; checked all the same).
pub(crate) fn avx2_if_supported() -> Option<&'static Kernels> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("fma")
        && std::arch::is_x86_feature_detected!("popcnt")
        && std::arch::is_x86_feature_detected!("f16c")
    {
        return Some(&AVX2);
    }
    None
}

static SELECTED: OnceLock<&'static Kernels> = OnceLock::new();

/// The best kernel set for this CPU, chosen on first call and cached.
#[inline]
pub(crate) fn kernels() -> &'static Kernels {
    SELECTED.get_or_init(|| avx2_if_supported().unwrap_or(&PORTABLE))
}
