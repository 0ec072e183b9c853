//! `avg(vector)` and `sum(vector)`: parallel-safe aggregates over a `double precision[]` state
//! `[count, sum_1, …, sum_d]` (float8 sums keep precision over millions of rows; the combine
//! function adds two states, so partial aggregation in parallel workers works).

use super::{arg_slice, new_vector};
use crate::errors::{dims_mismatch, raise, Code};
use crate::pg_fn;
use pgrx::{pg_sys, FromDatum, IntoDatum};

unsafe fn state_arg(fcinfo: pg_sys::FunctionCallInfo, n: usize) -> Vec<f64> {
    Vec::<f64>::from_datum(
        pgrx::pg_getarg_datum_raw(fcinfo, n),
        pgrx::pg_arg_is_null(fcinfo, n),
    )
    .unwrap_or_else(|| vec![0.0])
}

/// Add `src` (a state or a lone vector with count `n`) into `acc`.
fn accumulate(acc: &mut Vec<f64>, n: f64, values: impl ExactSizeIterator<Item = f64>) {
    if acc[0] == 0.0 && acc.len() == 1 {
        acc.resize(1 + values.len(), 0.0);
    } else if acc.len() - 1 != values.len() {
        dims_mismatch(acc.len() - 1, values.len());
    }
    acc[0] += n;
    for (a, v) in acc[1..].iter_mut().zip(values) {
        *a += v;
    }
}

pg_fn!(er_vector_accum, |fcinfo| {
    let mut acc = state_arg(fcinfo, 0);
    let v = arg_slice(fcinfo, 1);
    accumulate(&mut acc, 1.0, v.iter().map(|&x| x as f64));
    acc.into_datum().unwrap()
});

pg_fn!(er_vector_combine, |fcinfo| {
    let mut a = state_arg(fcinfo, 0);
    let b = state_arg(fcinfo, 1);
    if b[0] > 0.0 {
        accumulate(&mut a, b[0], b[1..].iter().copied());
    }
    a.into_datum().unwrap()
});

/// Final step shared by avg and sum: NULL for no rows, else the sums scaled by `scale(count)`.
unsafe fn finish(fcinfo: pg_sys::FunctionCallInfo, scale: impl Fn(f64) -> f64) -> pg_sys::Datum {
    let acc = state_arg(fcinfo, 0);
    if acc[0] == 0.0 {
        return pgrx::pg_return_null(fcinfo);
    }
    let k = scale(acc[0]);
    let values: Vec<f32> = acc[1..].iter().map(|s| (s * k) as f32).collect();
    if values.iter().any(|x| x.is_infinite()) {
        raise(
            Code::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
            "value out of range: overflow",
            None,
        );
    }
    new_vector(&values)
}

pg_fn!(er_vector_avg, |fcinfo| { finish(fcinfo, |n| 1.0 / n) });
pg_fn!(er_vector_sum, |fcinfo| { finish(fcinfo, |_| 1.0) });
