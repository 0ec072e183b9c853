//! Casts between `vector` and one-dimensional `real[]`, `double precision[]` and `integer[]`
//! (`numeric[]` is cast in SQL through `double precision[]`, see `sql/vector.sql`).
//!
//! Array → vector applies the target typmod like input does; NULL elements and multi-dimensional
//! arrays are errors; values must be finite and representable as float4.

use super::{arg_slice, check_finite, io::check_typmod, new_vector};
use crate::errors::{data_exception, raise, Code};
use crate::pg_fn;
use pgrx::datum::{Array, UnboxDatum};
use pgrx::{pg_sys, FromDatum, IntoDatum};

/// Read argument 0 as a 1-D array without NULLs and convert each element with `conv`.
unsafe fn array_arg<T>(fcinfo: pg_sys::FunctionCallInfo, conv: impl Fn(T) -> f64) -> Vec<f32>
where
    for<'a> T: UnboxDatum<As<'a> = T>,
{
    let raw = pg_sys::pg_detoast_datum(pgrx::pg_getarg_datum_raw(fcinfo, 0).cast_mut_ptr());
    let arr = raw as *mut pg_sys::ArrayType;
    if (*arr).ndim > 1 {
        data_exception("array must be 1-D");
    }
    let array = Array::<T>::from_datum(pg_sys::Datum::from(raw), false).expect("array datum");
    let mut out = Vec::with_capacity(array.len());
    for item in array.iter() {
        match item {
            None => raise(
                Code::ERRCODE_NULL_VALUE_NOT_ALLOWED,
                "array must not contain nulls",
                None,
            ),
            Some(x) => {
                let v = conv(x);
                if v.is_finite() && v.abs() > f32::MAX as f64 {
                    raise(
                        Code::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
                        format!("value {v} is out of range for type vector"),
                        None,
                    );
                }
                out.push(v as f32);
            }
        }
    }
    out
}

/// Finish an array → vector cast: check values and the target typmod, then build the vector.
unsafe fn to_vector(fcinfo: pg_sys::FunctionCallInfo, values: Vec<f32>) -> pg_sys::Datum {
    super::check_dims(values.len());
    check_finite(&values);
    let typmod = if (*fcinfo).nargs > 1 {
        pgrx::pg_getarg_datum_raw(fcinfo, 1).value() as i32
    } else {
        -1
    };
    check_typmod(values.len(), typmod);
    new_vector(&values)
}

pg_fn!(er_array_to_vector_f4, |fcinfo| {
    let v = array_arg::<f32>(fcinfo, |x| x as f64);
    to_vector(fcinfo, v)
});
pg_fn!(er_array_to_vector_f8, |fcinfo| {
    let v = array_arg::<f64>(fcinfo, |x| x);
    to_vector(fcinfo, v)
});
pg_fn!(er_array_to_vector_i4, |fcinfo| {
    let v = array_arg::<i32>(fcinfo, |x| x as f64);
    to_vector(fcinfo, v)
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
