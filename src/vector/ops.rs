//! Distances, norms, element-wise arithmetic and ordering for `vector`.
//!
//! The arithmetic lives in `embedrank_core::distance` (plain Rust, vectorized, unit-tested and
//! benchmarked without a server); these functions only unpack arguments, check dimensions and box
//! results. Each answers what pgvector 0.8.6 answers: distances accumulate in float4 and return
//! float8 (cosine's similarity is computed in float8 and never rounded back to float4), while
//! `vector_norm` and `l2_normalize` accumulate in float8. Element-wise arithmetic raises pgvector's
//! overflow (and, for `*`, underflow) errors. Comparison is lexicographic by value, then by dimension count (as pgvector), which gives
//! the btree operator class behind DISTINCT, GROUP BY, ORDER BY and UNIQUE.

use super::{arg_slice, check_same_dims, new_vector, new_vector_with};
use crate::errors::{data_exception, raise, Code};
use crate::pg_fn;
use crate::pgfn::f8;
use embedrank_core::distance;
use pgrx::pg_sys;
use std::cmp::Ordering;

/// Unpack two same-dimension vector arguments.
unsafe fn two_args<'a>(fcinfo: pg_sys::FunctionCallInfo) -> (&'a [f32], &'a [f32]) {
    let a = arg_slice(fcinfo, 0);
    let b = arg_slice(fcinfo, 1);
    check_same_dims(a, b);
    (a, b)
}

pg_fn!(er_l2_distance, |fcinfo| {
    let (a, b) = two_args(fcinfo);
    f8((distance::l2_squared(a, b) as f64).sqrt())
});

pg_fn!(er_l2_squared_distance, |fcinfo| {
    let (a, b) = two_args(fcinfo);
    f8(distance::l2_squared(a, b) as f64)
});

pg_fn!(er_inner_product, |fcinfo| {
    let (a, b) = two_args(fcinfo);
    f8(distance::dot(a, b) as f64)
});

pg_fn!(er_negative_inner_product, |fcinfo| {
    let (a, b) = two_args(fcinfo);
    f8(-(distance::dot(a, b) as f64))
});

pg_fn!(er_cosine_distance, |fcinfo| {
    let (a, b) = two_args(fcinfo);
    f8(distance::cosine_distance_f64(a, b))
});

// vector_spherical_distance: the angle between two unit vectors as a fraction of pi (pgvector uses
// it for spherical k-means); the float4 inner product is clamped to [-1, 1] before acos.
pg_fn!(er_spherical_distance, |fcinfo| {
    let (a, b) = two_args(fcinfo);
    f8((distance::dot(a, b) as f64).clamp(-1.0, 1.0).acos() / std::f64::consts::PI)
});

pg_fn!(er_l1_distance, |fcinfo| {
    let (a, b) = two_args(fcinfo);
    f8(distance::l1(a, b) as f64)
});

pg_fn!(er_vector_dims, |fcinfo| {
    pg_sys::Datum::from(arg_slice(fcinfo, 0).len() as i32)
});

pg_fn!(er_vector_norm, |fcinfo| {
    f8(distance::norm_f64(arg_slice(fcinfo, 0)))
});

// Each value divided by the float8 norm in float8, then rounded to float4; a zero vector stays zero.
pg_fn!(er_l2_normalize, |fcinfo| {
    let v = arg_slice(fcinfo, 0);
    let n = distance::norm_f64(v);
    let out = new_vector_with(v.len(), |out| {
        if n > 0.0 {
            for (o, &x) in out.iter_mut().zip(v) {
                *o = (x as f64 / n) as f32;
            }
        }
    });
    if super::datum_slice(out).iter().any(|r| r.is_infinite()) {
        overflow();
    }
    out
});

// subvector(v, start, count): `count` values from 1-based `start`, clamped to the vector.
pg_fn!(er_subvector, |fcinfo| {
    let v = arg_slice(fcinfo, 0);
    new_vector(&v[subvector_range(fcinfo, v.len(), "vector")])
});

/// The range subvector(v, start, count) takes from a vector of `len` values (arguments 1 and 2 of
/// the call): pgvector's rule, clamped like `substring`; nothing left is "<name> must have at
/// least 1 dimension".
///
/// # Safety
/// `fcinfo` must be a valid call of `subvector(_, integer, integer)`.
pub unsafe fn subvector_range(
    fcinfo: pg_sys::FunctionCallInfo,
    len: usize,
    name: &str,
) -> std::ops::Range<usize> {
    let start = pgrx::pg_getarg_datum_raw(fcinfo, 1).value() as i32 as i64;
    let count = pgrx::pg_getarg_datum_raw(fcinfo, 2).value() as i32 as i64;
    let empty = || data_exception(format!("{name} must have at least 1 dimension"));
    if count < 1 {
        empty();
    }
    let end = (start + count).min(len as i64 + 1);
    let begin = start.max(1);
    if end <= begin {
        empty();
    }
    (begin - 1) as usize..(end - 1) as usize
}

pub fn overflow() -> ! {
    raise(
        Code::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
        "value out of range: overflow",
        None,
    )
}

/// Element-wise binary op over two same-length inputs into `out`. Each result is checked in order:
/// infinite is an overflow, and (for `*` only, `underflow` set) zero from two non-zero operands is
/// an underflow. `op` includes the rounding to the stored element type (halfvec rounds to half).
pub fn elementwise_into(
    a: &[f32],
    b: &[f32],
    out: &mut [f32],
    underflow: bool,
    op: impl Fn(f32, f32) -> f32,
) {
    for ((r, &x), &y) in out.iter_mut().zip(a).zip(b) {
        *r = op(x, y);
    }
    for ((&r, &x), &y) in out.iter().zip(a).zip(b) {
        if r.is_infinite() {
            overflow();
        }
        if underflow && r == 0.0 && x != 0.0 && y != 0.0 {
            raise(
                Code::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
                "value out of range: underflow",
                None,
            );
        }
    }
}

unsafe fn elementwise(
    fcinfo: pg_sys::FunctionCallInfo,
    underflow: bool,
    op: impl Fn(f32, f32) -> f32,
) -> pg_sys::Datum {
    let (a, b) = two_args(fcinfo);
    new_vector_with(a.len(), |o| elementwise_into(a, b, o, underflow, op))
}

pg_fn!(er_vector_add, |fcinfo| {
    elementwise(fcinfo, false, |x, y| x + y)
});
pg_fn!(er_vector_sub, |fcinfo| {
    elementwise(fcinfo, false, |x, y| x - y)
});
pg_fn!(er_vector_mul, |fcinfo| {
    elementwise(fcinfo, true, |x, y| x * y)
});

// a || b: the values of `a` then those of `b`; the sum of dimensions is checked like any new vector
// (54000 beyond 16000).
pg_fn!(er_vector_concat, |fcinfo| {
    let a = arg_slice(fcinfo, 0);
    let b = arg_slice(fcinfo, 1);
    new_vector_with(a.len() + b.len(), |o| {
        o[..a.len()].copy_from_slice(a);
        o[a.len()..].copy_from_slice(b);
    })
});

/// Total order for btree: values lexicographically (finite, so partial_cmp never fails), then length.
pub fn compare(a: &[f32], b: &[f32]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        match x.partial_cmp(y).unwrap_or(Ordering::Equal) {
            Ordering::Equal => continue,
            o => return o,
        }
    }
    a.len().cmp(&b.len())
}

unsafe fn cmp_args(fcinfo: pg_sys::FunctionCallInfo) -> Ordering {
    compare(arg_slice(fcinfo, 0), arg_slice(fcinfo, 1))
}

crate::pg_cmp_fns!(er_vector, cmp_args);
