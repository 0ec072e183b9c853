//! Distances, norms, element-wise arithmetic and ordering for `halfvec`: `vector`'s functions on
//! the widened values (float4 accumulation, float8 results, as pgvector's halfvec functions), with
//! vector results rounded to half. Arithmetic is correctly rounded binary16 arithmetic (the float4
//! result rounded once to half), with pgvector's overflow and, for `*`, underflow errors.

use super::{arg_halves, arg_values, new_halfvec_with, two_values, NAME};
use crate::pg_fn;
use crate::pgfn::f8;
use crate::vector::ops::{compare, elementwise_into, overflow, subvector_range};
use embedrank_core::distance;
use embedrank_core::halfvec::narrow;
use pgrx::pg_sys;
use std::cmp::Ordering;

pg_fn!(er_halfvec_l2_distance, |fcinfo| {
    let (a, b) = two_values(fcinfo);
    f8((distance::l2_squared(&a, &b) as f64).sqrt())
});

pg_fn!(er_halfvec_l2_squared_distance, |fcinfo| {
    let (a, b) = two_values(fcinfo);
    f8(distance::l2_squared(&a, &b) as f64)
});

pg_fn!(er_halfvec_inner_product, |fcinfo| {
    let (a, b) = two_values(fcinfo);
    f8(distance::dot(&a, &b) as f64)
});

pg_fn!(er_halfvec_negative_inner_product, |fcinfo| {
    let (a, b) = two_values(fcinfo);
    f8(-(distance::dot(&a, &b) as f64))
});

pg_fn!(er_halfvec_cosine_distance, |fcinfo| {
    let (a, b) = two_values(fcinfo);
    f8(distance::cosine_distance_f64(&a, &b))
});

pg_fn!(er_halfvec_spherical_distance, |fcinfo| {
    let (a, b) = two_values(fcinfo);
    f8((distance::dot(&a, &b) as f64).clamp(-1.0, 1.0).acos() / std::f64::consts::PI)
});

pg_fn!(er_halfvec_l1_distance, |fcinfo| {
    let (a, b) = two_values(fcinfo);
    f8(distance::l1(&a, &b) as f64)
});

pg_fn!(er_halfvec_dims, |fcinfo| {
    pg_sys::Datum::from(arg_halves(fcinfo, 0).len() as i32)
});

pg_fn!(er_halfvec_l2_norm, |fcinfo| {
    f8(distance::norm_f64(&arg_values(fcinfo, 0)))
});

// Each value divided by the float8 norm in float8, rounded to float4, then to half; a zero vector
// stays zero.
pg_fn!(er_halfvec_l2_normalize, |fcinfo| {
    let v = arg_values(fcinfo, 0);
    let n = distance::norm_f64(&v);
    new_halfvec_with(v.len(), |out| {
        if n > 0.0 {
            for (o, &x) in out.iter_mut().zip(&v) {
                *o = narrow((x as f64 / n) as f32);
                if o.is_infinite() {
                    overflow();
                }
            }
        }
    })
});

pg_fn!(er_halfvec_subvector, |fcinfo| {
    let v = arg_halves(fcinfo, 0);
    let part = &v[subvector_range(fcinfo, v.len(), NAME)];
    new_halfvec_with(part.len(), |o| o.copy_from_slice(part))
});

unsafe fn elementwise(
    fcinfo: pg_sys::FunctionCallInfo,
    underflow: bool,
    op: impl Fn(f32, f32) -> f32,
) -> pg_sys::Datum {
    let (a, b) = two_values(fcinfo);
    let mut out = vec![0.0; a.len()];
    elementwise_into(&a, &b, &mut out, underflow, |x, y| {
        narrow(op(x, y)).to_f32()
    });
    new_halfvec_with(out.len(), |o| {
        for (h, &x) in o.iter_mut().zip(&out) {
            *h = narrow(x); // exact: x is already a half
        }
    })
}

pg_fn!(er_halfvec_add, |fcinfo| {
    elementwise(fcinfo, false, |x, y| x + y)
});
pg_fn!(er_halfvec_sub, |fcinfo| {
    elementwise(fcinfo, false, |x, y| x - y)
});
pg_fn!(er_halfvec_mul, |fcinfo| {
    elementwise(fcinfo, true, |x, y| x * y)
});

// a || b: the halves of `a` then those of `b` (16000 at most in all, 54000 beyond).
pg_fn!(er_halfvec_concat, |fcinfo| {
    let a = arg_halves(fcinfo, 0);
    let b = arg_halves(fcinfo, 1);
    new_halfvec_with(a.len() + b.len(), |o| {
        o[..a.len()].copy_from_slice(a);
        o[a.len()..].copy_from_slice(b);
    })
});

/// Values compared as floats (so -0 equals 0), then dimension counts: `vector`'s order.
unsafe fn cmp_args(fcinfo: pg_sys::FunctionCallInfo) -> Ordering {
    compare(&arg_values(fcinfo, 0), &arg_values(fcinfo, 1))
}

crate::pg_cmp_fns!(er_halfvec, cmp_args);
