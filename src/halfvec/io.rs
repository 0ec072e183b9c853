//! Text and binary I/O for `halfvec`, its typmod, and the typmod coercion used on assignment —
//! `vector`'s code with halves: text `[1,2,3]` (each element rounded to half; printed as the
//! float4 of the half, so `0.1` reads back as `0.099975586`, as pgvector prints it); binary int16
//! dims, int16 zero, then each half's 16 bits, all big-endian.

use super::{arg_halves, check_finite_halves, new_halfvec, new_halfvec_with, NAME};
use crate::errors::data_exception;
use crate::pg_fn;
use crate::vector::check_dims_of;
use crate::vector::io::{check_typmod, parse_error, typmod_arg, typmod_in};
use embedrank_core::halfvec::{f16, parse_halfvec, widen};
use embedrank_core::text::format_vector;
use pgrx::pg_sys;
use std::ffi::CStr;

pg_fn!(er_halfvec_in, |fcinfo| {
    let lit = CStr::from_ptr(pgrx::pg_getarg_datum_raw(fcinfo, 0).cast_mut_ptr());
    let text = lit.to_string_lossy();
    let values = parse_halfvec(&text).unwrap_or_else(|e| parse_error(NAME, &text, e));
    check_typmod(values.len(), typmod_arg(fcinfo, 2));
    new_halfvec(&values)
});

pg_fn!(er_halfvec_out, |fcinfo| {
    crate::pgfn::cstring_datum(&format_vector(&widen(arg_halves(fcinfo, 0))))
});

pg_fn!(er_halfvec_typmod_in, |fcinfo| {
    typmod_in(fcinfo, NAME, crate::vector::MAX_DIMS as i64)
});

// Checked in pgvector's order: dimensions (read unsigned), typmod, the unused field, then each
// value as it is read (NaN and infinities refused; subnormals and -0 kept as sent).
pg_fn!(er_halfvec_recv, |fcinfo| {
    let buf = pgrx::pg_getarg_datum_raw(fcinfo, 0).cast_mut_ptr::<pg_sys::StringInfoData>();
    let dims = pg_sys::pq_getmsgint(buf, 2) as u16 as usize;
    let unused = pg_sys::pq_getmsgint(buf, 2) as u16;
    check_dims_of(NAME, dims);
    check_typmod(dims, typmod_arg(fcinfo, 2));
    if unused != 0 {
        data_exception(format!("expected unused to be 0, not {unused}"));
    }
    new_halfvec_with(dims, |d| {
        for h in d.iter_mut() {
            *h = f16::from_bits(pg_sys::pq_getmsgint(buf, 2) as u16);
            check_finite_halves(std::slice::from_ref(h));
        }
    })
});

pg_fn!(er_halfvec_send, |fcinfo| {
    let v = arg_halves(fcinfo, 0);
    let size = 4 + 4 + v.len() * 2;
    let out = pg_sys::palloc(size) as *mut u8;
    pgrx::set_varsize_4b(out as *mut pg_sys::varlena, size as i32);
    let body = std::slice::from_raw_parts_mut(out.add(4), size - 4);
    body[0..2].copy_from_slice(&(v.len() as i16).to_be_bytes());
    body[2..4].copy_from_slice(&0i16.to_be_bytes());
    for (i, h) in v.iter().enumerate() {
        body[4 + i * 2..6 + i * 2].copy_from_slice(&h.to_bits().to_be_bytes());
    }
    pg_sys::Datum::from(out)
});

// halfvec(halfvec, typmod, explicit): the length coercion applied on assignment to halfvec(n).
pg_fn!(er_halfvec_typmod_cast, |fcinfo| {
    check_typmod(arg_halves(fcinfo, 0).len(), typmod_arg(fcinfo, 1));
    pgrx::pg_getarg_datum_raw(fcinfo, 0)
});
