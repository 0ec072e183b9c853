//! Casts between `vector` and one-dimensional `real[]`, `double precision[]`, `integer[]` and
//! `numeric[]` (vector → `numeric[]` is cast in SQL through `double precision[]`, see
//! `sql/vector.sql`).
//!
//! Array → vector answers as pgvector's `array_to_vector` does, check for check: more than one
//! dimension (22000), then NULL elements (22004), then the dimension count and the target typmod,
//! then each value is converted to float4 (a `numeric` by Postgres' own `numeric_float4`, so an
//! out-of-range numeric fails with its "out of range for type real") and must be finite (so a
//! `double precision` beyond float4's range is an "infinite value", as in pgvector).

use super::{arg_slice, check_dims_within, check_finite, io::check_typmod, new_vector, MAX_DIMS};
use crate::errors::{data_exception, raise, Code};
use crate::pg_fn;
use pgrx::{pg_sys, FromDatum, IntoDatum};

/// The array → vector cast for every element type (`array_to_vector(anyarray, typmod, explicit)`).
unsafe fn array_to_vector(fcinfo: pg_sys::FunctionCallInfo) -> pg_sys::Datum {
    let values = array_elements(fcinfo, "vector", MAX_DIMS as i64);
    check_finite(&values);
    new_vector(&values)
}

/// The elements of the array argument 0 of a cast to type `name` (vector, halfvec) as float4, with
/// pgvector's checks in its order up to the conversion (not whether the values are finite).
///
/// # Safety
/// `fcinfo` must be a valid call of a cast function whose argument 0 is a non-null array.
pub unsafe fn array_elements(
    fcinfo: pg_sys::FunctionCallInfo,
    name: &str,
    max_dims: i64,
) -> Vec<f32> {
    let raw = pgrx::pg_getarg_datum_raw(fcinfo, 0);
    let arr = pg_sys::pg_detoast_datum(raw.cast_mut_ptr()) as *mut pg_sys::ArrayType;
    let typmod = if (*fcinfo).nargs > 1 {
        pgrx::pg_getarg_datum_raw(fcinfo, 1).value() as i32
    } else {
        -1
    };
    if (*arr).ndim > 1 {
        data_exception("array must be 1-D");
    }
    if pg_sys::array_contains_nulls(arr) {
        raise(
            Code::ERRCODE_NULL_VALUE_NOT_ALLOWED,
            "array must not contain nulls",
            None,
        );
    }
    let elemtype = (*arr).elemtype;
    let (mut typlen, mut byval, mut align) = (0i16, false, 0 as std::ffi::c_char);
    pg_sys::get_typlenbyvalalign(elemtype, &mut typlen, &mut byval, &mut align);
    let mut elems: *mut pg_sys::Datum = std::ptr::null_mut();
    let mut n = 0;
    pg_sys::deconstruct_array(
        arr,
        elemtype,
        typlen as i32,
        byval,
        align,
        &mut elems,
        std::ptr::null_mut(),
        &mut n,
    );
    let n = n.max(0) as usize;
    check_dims_within(name, n as i64, max_dims);
    check_typmod(n, typmod);
    let datums = std::slice::from_raw_parts(elems, n); // n >= 1 after check_dims
                                                       // Up to 10^9 elements for sparsevec: grow fallibly (ERROR 53200, never an abort).
    let mut values: Vec<f32> = Vec::new();
    crate::errors::reserve_exact(
        &mut values,
        n,
        "the array's values",
        "Cast a smaller array.",
    );
    match elemtype {
        pg_sys::INT4OID => values.extend(datums.iter().map(|&d| d.value() as i32 as f32)),
        pg_sys::FLOAT8OID => values.extend(
            datums
                .iter()
                .map(|&d| f64::from_datum(d, false).unwrap_or_default() as f32),
        ),
        pg_sys::FLOAT4OID => values.extend(
            datums
                .iter()
                .map(|&d| f32::from_datum(d, false).unwrap_or_default()),
        ),
        pg_sys::NUMERICOID => values.extend(datums.iter().map(|&d| {
            pgrx::direct_function_call::<f32>(pg_sys::numeric_float4, &[Some(d)])
                .unwrap_or_default()
        })),
        _ => data_exception("unsupported array type"),
    }
    values
}

pg_fn!(er_array_to_vector_f4, |fcinfo| { array_to_vector(fcinfo) });
pg_fn!(er_array_to_vector_f8, |fcinfo| { array_to_vector(fcinfo) });
pg_fn!(er_array_to_vector_i4, |fcinfo| { array_to_vector(fcinfo) });
pg_fn!(er_array_to_vector_numeric, |fcinfo| {
    array_to_vector(fcinfo)
});

pg_fn!(er_vector_to_f4, |fcinfo| {
    arg_slice(fcinfo, 0).to_vec().into_datum().unwrap()
});
pg_fn!(er_vector_to_f8, |fcinfo| {
    arg_slice(fcinfo, 0)
        .iter()
        .map(|&x| x as f64)
        .collect::<Vec<f64>>()
        .into_datum()
        .unwrap()
});
// vector → integer[] rounds to nearest; values outside int4 are an error.
pg_fn!(er_vector_to_i4, |fcinfo| {
    let v = arg_slice(fcinfo, 0);
    let mut out = Vec::with_capacity(v.len());
    for &x in v {
        let r = x.round();
        if r < i32::MIN as f32 || r >= i32::MAX as f32 {
            raise(
                Code::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
                "integer out of range",
                None,
            );
        }
        out.push(r as i32);
    }
    out.into_datum().unwrap()
});
