//! Distances, norms and ordering for `sparsevec` (pgvector has no arithmetic on it): the merge
//! loops of `embedrank_core::sparsevec`, float4 sums returned as float8; `l2_norm` and
//! `l2_normalize` in float8 (values that become 0 when normalized are dropped).

use super::{arg_sparse, new_sparsevec, NAME};
use crate::errors::dims_mismatch_of;
use crate::pg_fn;
use crate::pgfn::f8;
use crate::vector::ops::overflow;
use embedrank_core::sparsevec::{self as sparse, Sparse};
use pgrx::pg_sys;
use std::cmp::Ordering;

unsafe fn two_args<'a>(fcinfo: pg_sys::FunctionCallInfo) -> (Sparse<'a>, Sparse<'a>) {
    let a = arg_sparse(fcinfo, 0);
    let b = arg_sparse(fcinfo, 1);
    if a.dim != b.dim {
        dims_mismatch_of(NAME, a.dim as usize, b.dim as usize);
    }
    (a, b)
}

pg_fn!(er_sparsevec_l2_distance, |fcinfo| {
    let (a, b) = two_args(fcinfo);
    f8(f64::from(sparse::l2_squared(a, b)).sqrt())
});

pg_fn!(er_sparsevec_l2_squared_distance, |fcinfo| {
    let (a, b) = two_args(fcinfo);
    f8(f64::from(sparse::l2_squared(a, b)))
});

pg_fn!(er_sparsevec_inner_product, |fcinfo| {
    let (a, b) = two_args(fcinfo);
    f8(f64::from(sparse::dot(a, b)))
});

pg_fn!(er_sparsevec_negative_inner_product, |fcinfo| {
    let (a, b) = two_args(fcinfo);
    f8(f64::from(-sparse::dot(a, b)))
});

pg_fn!(er_sparsevec_cosine_distance, |fcinfo| {
    let (a, b) = two_args(fcinfo);
    f8(sparse::cosine_distance(a, b))
});

pg_fn!(er_sparsevec_l1_distance, |fcinfo| {
    let (a, b) = two_args(fcinfo);
    f8(f64::from(sparse::l1(a, b)))
});

pg_fn!(er_sparsevec_l2_norm, |fcinfo| {
    f8(sparse::l2_norm(arg_sparse(fcinfo, 0).values))
});

pg_fn!(er_sparsevec_l2_normalize, |fcinfo| {
    let v = arg_sparse(fcinfo, 0);
    let n = sparse::l2_norm(v.values);
    let (mut indices, mut values) = (Vec::new(), Vec::new());
    if n > 0.0 {
        for (&i, &x) in v.indices.iter().zip(v.values) {
            let r = (f64::from(x) / n) as f32;
            if r.is_infinite() {
                overflow();
            }
            if r != 0.0 {
                indices.push(i);
                values.push(r);
            }
        }
    }
    new_sparsevec(v.dim, &indices, &values)
});

unsafe fn cmp_args(fcinfo: pg_sys::FunctionCallInfo) -> Ordering {
    sparse::compare(arg_sparse(fcinfo, 0), arg_sparse(fcinfo, 1))
}

crate::pg_cmp_fns!(er_sparsevec, cmp_args);
