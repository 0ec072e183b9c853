//! Text and binary I/O for `vector`, its typmod, and the typmod coercion used on assignment.
//!
//! Text: `[1,2,3]` parsed by `embedrank_core::text` (shared with unit tests); the error's detail
//! says what was wrong. Binary: int16 dims, int16 zero, float4 values, all big-endian (pgvector's
//! wire format, so its client adapters work unchanged). `vector(n)` stores `n` as the typmod.

use super::{arg_slice, check_dims, check_finite, new_vector, new_vector_with, MAX_DIMS};
use crate::errors::{data_exception, raise, raise_detail, Code};
use crate::pg_fn;
use embedrank_core::text::{format_vector, parse_vector, ParseError};
use pgrx::pg_sys;
use std::ffi::CStr;

/// Error unless `dims` matches the column's declared dimensions (`typmod`, -1 = any).
pub fn check_typmod(dims: usize, typmod: i32) {
    if typmod != -1 && dims != typmod as usize {
        data_exception(format!("expected {typmod} dimensions, not {dims}"));
    }
}

/// The typmod argument `n` of an input, receive or cast function (-1 when not passed).
///
/// # Safety
/// `fcinfo` must be a valid call.
pub unsafe fn typmod_arg(fcinfo: pg_sys::FunctionCallInfo, n: usize) -> i32 {
    if (*fcinfo).nargs as usize > n {
        pgrx::pg_getarg_datum_raw(fcinfo, n).value() as i32
    } else {
        -1
    }
}

pg_fn!(er_vector_in, |fcinfo| {
    let lit = CStr::from_ptr(pgrx::pg_getarg_datum_raw(fcinfo, 0).cast_mut_ptr());
    let typmod = typmod_arg(fcinfo, 2);
    let text = lit.to_string_lossy();
    let values = parse_vector(&text).unwrap_or_else(|e| parse_error("vector", &text, e));
    check_typmod(values.len(), typmod);
    new_vector(&values)
});

/// The ERROR for a literal of type `name` (vector, halfvec) that did not parse: pgvector's
/// messages and SQLSTATEs (see embedrank_core::text for the order they are found in).
pub fn parse_error(name: &str, text: &str, e: ParseError) -> ! {
    match e {
        ParseError::Empty => data_exception(format!("{name} must have at least 1 dimension")),
        ParseError::NaN => data_exception(format!("NaN not allowed in {name}")),
        ParseError::Infinite => data_exception(format!("infinite value not allowed in {name}")),
        ParseError::OutOfRange(tok) => raise(
            Code::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
            format!("\"{tok}\" is out of range for type {name}"),
            None,
        ),
        ParseError::TooManyDims => raise(
            Code::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
            format!("{name} cannot have more than {MAX_DIMS} dimensions"),
            None,
        ),
        ParseError::Malformed(detail) => raise_detail(
            Code::ERRCODE_INVALID_TEXT_REPRESENTATION,
            format!("invalid input syntax for type {name}: \"{text}\""),
            detail,
        ),
    }
}

pg_fn!(er_vector_out, |fcinfo| {
    crate::pgfn::cstring_datum(&format_vector(arg_slice(fcinfo, 0)))
});

pg_fn!(er_vector_typmod_in, |fcinfo| {
    typmod_in(fcinfo, "vector", MAX_DIMS as i64)
});

/// `typmod_in` of type `name` (vector, halfvec, sparsevec): one dimension count, 1 to `max`.
///
/// # Safety
/// `fcinfo` must be a valid call of a typmod_in function (argument 0 a `cstring[]`).
pub unsafe fn typmod_in(fcinfo: pg_sys::FunctionCallInfo, name: &str, max: i64) -> pg_sys::Datum {
    let arr = pgrx::pg_getarg_datum_raw(fcinfo, 0).cast_mut_ptr::<pg_sys::ArrayType>();
    let mut n = 0;
    let mods = pg_sys::ArrayGetIntegerTypmods(arr, &mut n);
    if n != 1 {
        raise(
            Code::ERRCODE_INVALID_PARAMETER_VALUE,
            "invalid type modifier",
            Some(&format!("Write {name}(n) with one dimension count.")),
        );
    }
    let dims = *mods;
    if dims < 1 {
        raise(
            Code::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("dimensions for type {name} must be at least 1"),
            None,
        );
    }
    if i64::from(dims) > max {
        raise(
            Code::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("dimensions for type {name} cannot exceed {max}"),
            None,
        );
    }
    pg_sys::Datum::from(dims)
}

// Read with Postgres' own pq_getmsg* (a short message is 08P01 "insufficient data left in
// message", as in pgvector), checking in pgvector's order: dimensions, typmod, the unused field,
// then each value as it is read.
pg_fn!(er_vector_recv, |fcinfo| {
    let buf = pgrx::pg_getarg_datum_raw(fcinfo, 0).cast_mut_ptr::<pg_sys::StringInfoData>();
    let typmod = typmod_arg(fcinfo, 2);
    let dims = pg_sys::pq_getmsgint(buf, 2) as u16 as i16;
    let unused = pg_sys::pq_getmsgint(buf, 2) as u16 as i16;
    check_dims(dims.max(0) as usize);
    check_typmod(dims as usize, typmod);
    if unused != 0 {
        data_exception(format!("expected unused to be 0, not {unused}"));
    }
    new_vector_with(dims as usize, |d| {
        for x in d.iter_mut() {
            *x = pg_sys::pq_getmsgfloat4(buf);
            check_finite(std::slice::from_ref(x));
        }
    })
});

pg_fn!(er_vector_send, |fcinfo| {
    let v = arg_slice(fcinfo, 0);
    let size = 4 + 4 + v.len() * 4; // varlena header + dims/unused + values
    let out = pg_sys::palloc(size) as *mut u8;
    pgrx::set_varsize_4b(out as *mut pg_sys::varlena, size as i32);
    let body = std::slice::from_raw_parts_mut(out.add(4), size - 4);
    body[0..2].copy_from_slice(&(v.len() as i16).to_be_bytes());
    body[2..4].copy_from_slice(&0i16.to_be_bytes());
    for (i, x) in v.iter().enumerate() {
        body[4 + i * 4..8 + i * 4].copy_from_slice(&x.to_be_bytes());
    }
    pg_sys::Datum::from(out)
});

// vector(vector, typmod, explicit): the length coercion Postgres applies on assignment to vector(n).
pg_fn!(er_vector_typmod_cast, |fcinfo| {
    let v = arg_slice(fcinfo, 0);
    check_typmod(v.len(), typmod_arg(fcinfo, 1));
    pgrx::pg_getarg_datum_raw(fcinfo, 0)
});
