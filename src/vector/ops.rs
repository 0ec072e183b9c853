//! Distances, norms, element-wise arithmetic and ordering for `vector`.
//!
//! The arithmetic lives in `embedrank_core::distance` (plain Rust, vectorized, unit-tested and
//! benchmarked without a server); these functions only unpack arguments, check dimensions and box
//! results. Comparison is lexicographic by value, then by dimension count (as pgvector), which gives
//! the btree operator class behind DISTINCT, GROUP BY, ORDER BY and UNIQUE.

use super::{arg_slice, check_same_dims, new_vector, new_vector_with};
use crate::errors::{data_exception, raise, Code};
use crate::pg_fn;
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

fn f8(x: f64) -> pg_sys::Datum {
    pg_sys::Datum::from(x.to_bits())
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
    f8(distance::cosine_distance(a, b) as f64)
});

pg_fn!(er_l1_distance, |fcinfo| {
    let (a, b) = two_args(fcinfo);
    f8(distance::l1(a, b) as f64)
});

pg_fn!(er_vector_dims, |fcinfo| {
    pg_sys::Datum::from(arg_slice(fcinfo, 0).len() as i32)
});

pg_fn!(er_vector_norm, |fcinfo| {
    f8(distance::norm(arg_slice(fcinfo, 0)) as f64)
});

pg_fn!(er_l2_normalize, |fcinfo| {
    let v = arg_slice(fcinfo, 0);
    let n = distance::norm(v);
    new_vector_with(v.len(), |out| {
        if n > 0.0 {
            for (o, x) in out.iter_mut().zip(v) {
                *o = x / n;
            }
        }
    })
});

// subvector(v, start, count): `count` values from 1-based `start`, clamped to the vector (pgvector's rule).
pg_fn!(er_subvector, |fcinfo| {
    let v = arg_slice(fcinfo, 0);
    let start = pgrx::pg_getarg_datum_raw(fcinfo, 1).value() as i32 as i64;
    let count = pgrx::pg_getarg_datum_raw(fcinfo, 2).value() as i32 as i64;
    if count < 1 {
        data_exception("vector must have at least 1 dimension");
    }
    let end = (start + count).min(v.len() as i64 + 1);
    let begin = start.max(1);
    if end <= begin {
        data_exception("vector must have at least 1 dimension");
    }
    new_vector(&v[(begin - 1) as usize..(end - 1) as usize])
});

/// Element-wise binary op with pgvector's overflow check.
unsafe fn elementwise(
    fcinfo: pg_sys::FunctionCallInfo,
    op: impl Fn(f32, f32) -> f32,
) -> pg_sys::Datum {
    let (a, b) = two_args(fcinfo);
    let out = new_vector_with(a.len(), |o| {
        for ((r, x), y) in o.iter_mut().zip(a).zip(b) {
            *r = op(*x, *y);
        }
    });
    for r in super::datum_slice(out) {
        if r.is_infinite() {
            raise(
                Code::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
                "value out of range: overflow",
                None,
            );
        }
        if r.is_nan() {
            data_exception("NaN not allowed in vector");
        }
    }
    out
}

pg_fn!(er_vector_add, |fcinfo| {
    elementwise(fcinfo, |x, y| x + y)
});
pg_fn!(er_vector_sub, |fcinfo| {
    elementwise(fcinfo, |x, y| x - y)
});
pg_fn!(er_vector_mul, |fcinfo| {
    elementwise(fcinfo, |x, y| x * y)
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

pg_fn!(er_vector_cmp, |fcinfo| {
    pg_sys::Datum::from(cmp_args(fcinfo) as i32)
});
pg_fn!(er_vector_lt, |fcinfo| {
    pg_sys::Datum::from(cmp_args(fcinfo).is_lt())
});
pg_fn!(er_vector_le, |fcinfo| {
    pg_sys::Datum::from(cmp_args(fcinfo).is_le())
});
pg_fn!(er_vector_eq, |fcinfo| {
    pg_sys::Datum::from(cmp_args(fcinfo).is_eq())
});
pg_fn!(er_vector_ne, |fcinfo| {
    pg_sys::Datum::from(cmp_args(fcinfo).is_ne())
});
pg_fn!(er_vector_ge, |fcinfo| {
    pg_sys::Datum::from(cmp_args(fcinfo).is_ge())
});
pg_fn!(er_vector_gt, |fcinfo| {
    pg_sys::Datum::from(cmp_args(fcinfo).is_gt())
});
