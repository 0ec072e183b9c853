//! Text and binary I/O for `sparsevec`, its typmod and the typmod coercion, with pgvector's checks
//! in pgvector's order: the literal's syntax and values, the dimension count, the typmod, then the
//! indices (sorted; out of range or repeated is an error). Binary: int32 dim, nnz, unused, then the
//! 0-based indices and the float4 values, big-endian; nothing is sorted on receipt.

use super::{arg_sparse, check_nnz, new_sparsevec, NAME};
use crate::errors::{data_exception, raise, raise_detail, Code};
use crate::pg_fn;
use crate::vector::check_dims_within;
use crate::vector::io::{check_typmod, typmod_arg, typmod_in};
use embedrank_core::sparsevec::{
    format_sparsevec, parse_sparsevec, sort_entries, SparseError, MAX_DIM, MAX_NNZ,
};
use pgrx::pg_sys;
use std::ffi::CStr;

fn parse_error(lit: &str, e: SparseError) -> ! {
    match e {
        SparseError::TooManyNnz => raise(
            Code::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
            format!("sparsevec cannot have more than {MAX_NNZ} non-zero elements"),
            None,
        ),
        SparseError::Malformed(detail) => {
            let message = format!("invalid input syntax for type {NAME}: \"{lit}\"");
            match detail {
                Some(d) => raise_detail(Code::ERRCODE_INVALID_TEXT_REPRESENTATION, message, d),
                None => raise(Code::ERRCODE_INVALID_TEXT_REPRESENTATION, message, None),
            }
        }
        SparseError::OutOfRange(tok) => raise(
            Code::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
            format!("\"{tok}\" is out of range for type {NAME}"),
            None,
        ),
        SparseError::NaN => data_exception("NaN not allowed in sparsevec"),
        SparseError::Infinite => data_exception("infinite value not allowed in sparsevec"),
        SparseError::IndexOutOfBounds => data_exception("sparsevec index out of bounds"),
        SparseError::Duplicate => data_exception("sparsevec indices must not contain duplicates"),
    }
}

pg_fn!(er_sparsevec_in, |fcinfo| {
    let lit = CStr::from_ptr(pgrx::pg_getarg_datum_raw(fcinfo, 0).cast_mut_ptr()).to_string_lossy();
    let parsed = parse_sparsevec(&lit).unwrap_or_else(|e| parse_error(&lit, e));
    check_dims_within(NAME, parsed.dim, MAX_DIM);
    check_typmod(parsed.dim as usize, typmod_arg(fcinfo, 2));
    let (indices, values) =
        sort_entries(parsed.entries, parsed.dim).unwrap_or_else(|e| parse_error(&lit, e));
    new_sparsevec(parsed.dim as i32, &indices, &values)
});

pg_fn!(er_sparsevec_out, |fcinfo| {
    let v = arg_sparse(fcinfo, 0);
    crate::pgfn::cstring_datum(&format_sparsevec(v.dim, v.indices, v.values))
});

pg_fn!(er_sparsevec_typmod_in, |fcinfo| {
    typmod_in(fcinfo, NAME, MAX_DIM)
});

pg_fn!(er_sparsevec_recv, |fcinfo| {
    let buf = pgrx::pg_getarg_datum_raw(fcinfo, 0).cast_mut_ptr::<pg_sys::StringInfoData>();
    let dim = pg_sys::pq_getmsgint(buf, 4) as i32;
    let nnz = pg_sys::pq_getmsgint(buf, 4) as i32;
    let unused = pg_sys::pq_getmsgint(buf, 4) as i32;
    check_dims_within(NAME, i64::from(dim), MAX_DIM);
    if nnz < 0 {
        data_exception("sparsevec cannot have negative number of elements");
    }
    check_nnz(nnz as usize);
    if nnz > dim {
        raise(
            Code::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
            "sparsevec cannot have more elements than dimensions",
            None,
        );
    }
    check_typmod(dim as usize, typmod_arg(fcinfo, 2));
    if unused != 0 {
        data_exception(format!("expected unused to be 0, not {unused}"));
    }
    let mut indices = Vec::with_capacity(nnz as usize);
    for k in 0..nnz as usize {
        let i = pg_sys::pq_getmsgint(buf, 4) as i32;
        if i < 0 || i >= dim {
            data_exception("sparsevec index out of bounds");
        }
        if k > 0 && i < indices[k - 1] {
            data_exception("sparsevec indices must be in ascending order");
        }
        if k > 0 && i == indices[k - 1] {
            data_exception("sparsevec indices must not contain duplicates");
        }
        indices.push(i);
    }
    let mut values = Vec::with_capacity(nnz as usize);
    for _ in 0..nnz {
        let x = pg_sys::pq_getmsgfloat4(buf);
        crate::vector::check_finite_of(NAME, std::slice::from_ref(&x));
        if x == 0.0 {
            data_exception("binary representation of sparsevec cannot contain zero values");
        }
        values.push(x);
    }
    new_sparsevec(dim, &indices, &values)
});

pg_fn!(er_sparsevec_send, |fcinfo| {
    let v = arg_sparse(fcinfo, 0);
    let nnz = v.indices.len();
    let size = 4 + 12 + nnz * 8;
    let out = pg_sys::palloc(size) as *mut u8;
    pgrx::set_varsize_4b(out as *mut pg_sys::varlena, size as i32);
    let body = std::slice::from_raw_parts_mut(out.add(4), size - 4);
    body[0..4].copy_from_slice(&v.dim.to_be_bytes());
    body[4..8].copy_from_slice(&(nnz as i32).to_be_bytes());
    body[8..12].copy_from_slice(&0i32.to_be_bytes());
    for (k, i) in v.indices.iter().enumerate() {
        body[12 + 4 * k..16 + 4 * k].copy_from_slice(&i.to_be_bytes());
    }
    let at = 12 + 4 * nnz;
    for (k, x) in v.values.iter().enumerate() {
        body[at + 4 * k..at + 4 + 4 * k].copy_from_slice(&x.to_be_bytes());
    }
    pg_sys::Datum::from(out)
});

pg_fn!(er_sparsevec_typmod_cast, |fcinfo| {
    check_typmod(arg_sparse(fcinfo, 0).dim as usize, typmod_arg(fcinfo, 1));
    pgrx::pg_getarg_datum_raw(fcinfo, 0)
});
