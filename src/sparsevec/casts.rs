//! Casts of `sparsevec`: from `vector` and `halfvec` (implicit) and from `integer[]`, `real[]`,
//! `double precision[]`, `numeric[]` (assignment), to `vector` and `halfvec` (assignment) — with
//! pgvector's checks in its order (dimensions, typmod, non-zero count, then the values).

use super::{arg_sparse, check_nnz, new_sparsevec, NAME};
use crate::halfvec::{check_finite_halves, narrow_checked, new_halfvec_with};
use crate::pg_fn;
use crate::vector::casts::array_elements;
use crate::vector::io::{check_typmod, typmod_arg};
use crate::vector::{check_dims_of, check_dims_within, check_finite_of, new_vector_with};
use embedrank_core::halfvec::f16;
use embedrank_core::sparsevec::MAX_DIM;
use pgrx::pg_sys;

/// A sparsevec of the non-zero entries of dense `values` (typmod `typmod`); `check_values` says
/// whether NaN and infinities still need refusing (an array's elements do, a vector's cannot be).
fn sparse_from_dense(values: &[f32], typmod: i32, check_values: bool) -> pg_sys::Datum {
    check_dims_within(NAME, values.len() as i64, MAX_DIM);
    check_typmod(values.len(), typmod);
    let nnz = values.iter().filter(|&&x| x != 0.0).count();
    check_nnz(nnz);
    let (mut indices, mut kept) = (Vec::with_capacity(nnz), Vec::with_capacity(nnz));
    for (i, &x) in values.iter().enumerate() {
        if x != 0.0 {
            indices.push(i as i32);
            kept.push(x);
        }
    }
    if check_values {
        check_finite_of(NAME, &kept);
    }
    new_sparsevec(values.len() as i32, &indices, &kept)
}

pg_fn!(er_vector_to_sparsevec, |fcinfo| {
    sparse_from_dense(
        crate::vector::arg_slice(fcinfo, 0),
        typmod_arg(fcinfo, 1),
        false,
    )
});

pg_fn!(er_halfvec_to_sparsevec, |fcinfo| {
    sparse_from_dense(
        &crate::halfvec::arg_values(fcinfo, 0),
        typmod_arg(fcinfo, 1),
        false,
    )
});

pg_fn!(er_array_to_sparsevec, |fcinfo| {
    let typmod = typmod_arg(fcinfo, 1);
    sparse_from_dense(&array_elements(fcinfo, NAME, MAX_DIM), typmod, true)
});

pg_fn!(er_sparsevec_to_vector, |fcinfo| {
    let v = arg_sparse(fcinfo, 0);
    check_dims_of("vector", v.dim as usize);
    check_typmod(v.dim as usize, typmod_arg(fcinfo, 1));
    new_vector_with(v.dim as usize, |o| {
        for (&i, &x) in v.indices.iter().zip(v.values) {
            o[i as usize] = x;
        }
    })
});

pg_fn!(er_sparsevec_to_halfvec, |fcinfo| {
    let v = arg_sparse(fcinfo, 0);
    check_dims_of(crate::halfvec::NAME, v.dim as usize);
    check_typmod(v.dim as usize, typmod_arg(fcinfo, 1));
    let halves: Vec<f16> = v.values.iter().map(|&x| narrow_checked(x)).collect();
    check_finite_halves(&halves);
    new_halfvec_with(v.dim as usize, |o| {
        for (&i, &h) in v.indices.iter().zip(&halves) {
            o[i as usize] = h;
        }
    })
});
