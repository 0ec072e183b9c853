//! The `halfvec` type: pgvector's half-precision vector (IEEE binary16 elements).
//!
//! Layout, as pgvector's: the 4-byte varlena header, `int16 dims`, `int16 unused` (always 0), then
//! `dims` binary16 values; `1 <= dims <= 16000` and every value finite, checked by every
//! constructor. The wire format is the same sequence in network byte order.
//!
//! Every computation widens the halves to float4 (exactly) and runs the `vector` code on them —
//! pgvector computes halfvec distances in float4 from widened halves too — and results that are
//! vectors are rounded back to half (ties to even) with pgvector's overflow and underflow checks.
//! The element conversions and the text format live in `embedrank_core::halfvec`. Submodules: `io`
//! (text/binary I/O, typmod), `ops` (distances, arithmetic, ordering), `casts`, `aggregates`.

pub mod aggregates;
pub mod casts;
pub mod io;
pub mod ops;

use crate::errors::{dims_mismatch_of, raise, Code};
use crate::vector::{check_dims_of, check_finite_of};
use embedrank_core::halfvec::{f16, narrow, widen_into};
use pgrx::pg_sys;

/// The type's name in messages.
pub const NAME: &str = "halfvec";

/// Bytes before the first value: varlena header + dims + unused.
pub const HEADER_BYTES: usize = 8;

/// Borrow the halves of a `halfvec` datum, detoasting it if needed.
///
/// # Safety
/// `datum` must be a non-null `halfvec` datum; the result lives as long as the current memory context.
pub unsafe fn datum_halves<'a>(datum: pg_sys::Datum) -> &'a [f16] {
    crate::vector::dense_elements(datum, NAME)
}

/// Borrow the halves of halfvec argument `n`.
///
/// # Safety
/// `fcinfo` must be a valid call whose argument `n` is a non-null `halfvec` datum.
pub unsafe fn arg_halves<'a>(fcinfo: pg_sys::FunctionCallInfo, n: usize) -> &'a [f16] {
    datum_halves(pgrx::pg_getarg_datum_raw(fcinfo, n))
}

/// The values of a `halfvec` datum widened to float4.
///
/// # Safety
/// As [`datum_halves`].
pub unsafe fn datum_values(datum: pg_sys::Datum) -> Vec<f32> {
    let h = datum_halves(datum);
    let mut out = vec![0.0; h.len()];
    widen_into(h, &mut out);
    out
}

/// The values of halfvec argument `n` widened to float4.
///
/// # Safety
/// As [`arg_halves`].
pub unsafe fn arg_values(fcinfo: pg_sys::FunctionCallInfo, n: usize) -> Vec<f32> {
    datum_values(pgrx::pg_getarg_datum_raw(fcinfo, n))
}

/// Two same-dimension halfvec arguments, widened.
///
/// # Safety
/// `fcinfo` must be a valid call whose arguments 0 and 1 are non-null `halfvec` datums.
pub unsafe fn two_values(fcinfo: pg_sys::FunctionCallInfo) -> (Vec<f32>, Vec<f32>) {
    let a = arg_values(fcinfo, 0);
    let b = arg_values(fcinfo, 1);
    if a.len() != b.len() {
        dims_mismatch_of(NAME, a.len(), b.len());
    }
    (a, b)
}

/// Allocate a halfvec of `dims` values in the current memory context and let `fill` write them.
/// The caller guarantees the values end up finite.
pub fn new_halfvec_with(dims: usize, fill: impl FnOnce(&mut [f16])) -> pg_sys::Datum {
    check_dims_of(NAME, dims);
    let size = HEADER_BYTES + dims * 2;
    unsafe {
        let ptr = pg_sys::palloc0(size) as *mut u8;
        pgrx::set_varsize_4b(ptr as *mut pg_sys::varlena, size as i32);
        (ptr.add(4) as *mut i16).write(dims as i16);
        fill(std::slice::from_raw_parts_mut(
            ptr.add(HEADER_BYTES) as *mut f16,
            dims,
        ));
        pg_sys::Datum::from(ptr)
    }
}

/// A halfvec holding `values`, after checking they are finite.
pub fn new_halfvec(values: &[f16]) -> pg_sys::Datum {
    check_finite_halves(values);
    new_halfvec_with(values.len(), |d| d.copy_from_slice(values))
}

/// Error unless every half is finite (pgvector's messages).
pub fn check_finite_halves(values: &[f16]) {
    for h in values {
        if !h.is_finite() {
            check_finite_of(NAME, &[h.to_f32()]);
        }
    }
}

/// pgvector's checked float4 → half (`Float4ToHalf`): a finite value past the largest half is
/// 22003 naming the value as Postgres prints a `real`. NaN and infinities pass (callers check).
pub fn narrow_checked(x: f32) -> f16 {
    let h = narrow(x);
    if h.is_infinite() && x.is_finite() {
        let mut shown = String::new();
        embedrank_core::text::write_f32(&mut shown, x);
        raise(
            Code::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
            format!("\"{shown}\" is out of range for type {NAME}"),
            None,
        );
    }
    h
}

/// Look up the OID of `embedrank.halfvec`.
pub fn halfvec_type_oid() -> pg_sys::Oid {
    pgrx::regtypein("embedrank.halfvec")
}
