//! Casts of `halfvec`: from and to `vector`, from one-dimensional `integer[]`, `real[]`,
//! `double precision[]` and `numeric[]`, and to `real[]` (pgvector has no other array casts for
//! halfvec). Arrays are read by `vector`'s code (same checks, same order); every value is then
//! rounded to half with pgvector's checked conversion ("out of range for type halfvec"), and only
//! after all of them are NaN and infinities refused — pgvector's order.

use super::{arg_halves, check_finite_halves, new_halfvec_with, NAME};
use crate::pg_fn;
use crate::vector::casts::array_elements;
use crate::vector::io::{check_typmod, typmod_arg};
use crate::vector::{check_dims_of, new_vector_with};
use embedrank_core::halfvec::{f16, widen, widen_into};
use pgrx::{pg_sys, IntoDatum};

/// A halfvec of `values` rounded to half (checked), typmod `typmod`.
fn halfvec_from(values: &[f32], typmod: i32) -> pg_sys::Datum {
    check_dims_of(NAME, values.len());
    check_typmod(values.len(), typmod);
    let halves: Vec<f16> = values.iter().map(|&x| super::narrow_checked(x)).collect();
    check_finite_halves(&halves);
    new_halfvec_with(halves.len(), |o| o.copy_from_slice(&halves))
}

unsafe fn array_to_halfvec(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    let typmod = typmod_arg(fcinfo, 1);
    halfvec_from(
        &array_elements(fcinfo, NAME, crate::vector::MAX_DIMS as i64),
        typmod,
    )
}

pg_fn!(er_array_to_halfvec, |fcinfo| { array_to_halfvec(fcinfo) });

pg_fn!(er_vector_to_halfvec, |fcinfo| {
    halfvec_from(crate::vector::arg_slice(fcinfo, 0), typmod_arg(fcinfo, 1))
});

pg_fn!(er_halfvec_to_vector, |fcinfo| {
    let h = arg_halves(fcinfo, 0);
    let out = new_vector_with(h.len(), |o| widen_into(h, o));
    check_typmod(h.len(), typmod_arg(fcinfo, 1));
    out
});

pg_fn!(er_halfvec_to_float4, |fcinfo| {
    widen(arg_halves(fcinfo, 0)).into_datum().unwrap()
});
