//! `avg(vector)`: a parallel-safe aggregate over a `double precision[]` state `[count, sum_1, …,
//! sum_d]` (float8 sums keep precision over millions of rows; the combine function adds two states,
//! so partial aggregation in parallel workers works). `sum(vector)` needs no code here: as in
//! pgvector it is `vector_add` over a `vector` state (see `sql/vector.sql`).
//!
//! The state functions can be called directly from SQL, so every state is validated before use as
//! pgvector 0.8.6 validates it: a one-dimensional float8 array with at least one element and no
//! NULLs, else an internal error "<function>: expected state array" (SQLSTATE XX000). Then the
//! answers are pgvector's: `vector_accum` starts from any state with no sums and otherwise wants
//! as many dimensions as the state has ("expected 3 dimensions, not 4"); `vector_combine` takes the
//! other state when one has a zero count; `vector_avg` checks the dimension count and each average
//! like a new vector. One deliberate difference from 0.8.6: combining two states that both have no
//! sums (`'{0}'`, what a parallel worker that saw no rows hands on) gives `'{0}'` rather than
//! 0.8.6's "vector must have at least 1 dimension" — pgvector's own fix for issue #1012 (a
//! parallel `avg` over no matching rows failed), released after 0.8.6.

use super::{arg_slice, check_dims, check_finite, io::check_typmod, new_vector};
use crate::errors::{raise, Code};
use crate::pg_fn;
use pgrx::{pg_sys, IntoDatum};

/// Borrow the float8 values of state argument `n` after checking its shape; `caller` names the
/// function in the error.
///
/// # Safety
/// `fcinfo` must be a valid call whose argument `n` is a non-null `double precision[]`.
pub unsafe fn state_arg<'a>(fcinfo: pg_sys::FunctionCallInfo, n: usize, caller: &str) -> &'a [f64] {
    let raw = pgrx::pg_getarg_datum_raw(fcinfo, n);
    let arr = pg_sys::pg_detoast_datum(raw.cast_mut_ptr()) as *mut pg_sys::ArrayType;
    let ndim = (*arr).ndim;
    // ARR_DIMS: the int array right after the fixed header.
    let len = if ndim == 1 {
        *((arr as *const u8).add(std::mem::size_of::<pg_sys::ArrayType>()) as *const i32)
    } else {
        0
    };
    // ARR_HASNULL: a non-zero data offset means a null bitmap is present.
    if ndim != 1 || len < 1 || (*arr).dataoffset != 0 || (*arr).elemtype != pg_sys::FLOAT8OID {
        raise(
            Code::ERRCODE_INTERNAL_ERROR,
            format!("{caller}: expected state array"),
            None,
        );
    }
    // ARR_DATA_PTR without a null bitmap: header + dims + lower bounds, MAXALIGN'd.
    let overhead = std::mem::size_of::<pg_sys::ArrayType>() + 2 * std::mem::size_of::<i32>();
    let overhead = (overhead + 7) & !7;
    let data = (arr as *const u8).add(overhead) as *const f64;
    std::slice::from_raw_parts(data, len as usize)
}

fn overflow() -> ! {
    raise(
        Code::ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE,
        "value out of range: overflow",
        None,
    )
}

/// `a + b`, an error if it overflows float8.
fn add(a: f64, b: f64) -> f64 {
    let v = a + b;
    if v.is_infinite() {
        overflow();
    }
    v
}

pg_fn!(er_vector_accum, |fcinfo| {
    accum(fcinfo, arg_slice(fcinfo, 1), "vector_accum")
});

/// The new state after adding `v` to state argument 0 (`caller` names the function in errors).
///
/// # Safety
/// `fcinfo` must be a valid call whose argument 0 is a non-null `double precision[]`.
pub unsafe fn accum(fcinfo: pg_sys::FunctionCallInfo, v: &[f32], caller: &str) -> pg_sys::Datum {
    let state = state_arg(fcinfo, 0, caller);
    let dims = state.len() - 1;
    let mut out = Vec::with_capacity(v.len() + 1);
    out.push(state[0] + 1.0);
    if dims == 0 {
        out.extend(v.iter().map(|&x| x as f64));
    } else {
        check_typmod(v.len(), dims as i32);
        out.extend(state[1..].iter().zip(v).map(|(&s, &x)| add(s, x as f64)));
    }
    out.into_datum().unwrap()
}

pg_fn!(er_vector_combine, |fcinfo| {
    let a = state_arg(fcinfo, 0, "vector_combine");
    let b = state_arg(fcinfo, 1, "vector_combine");
    let (n1, n2) = (a[0], b[0]);
    let out: Vec<f64> = if n1 == 0.0 {
        // An empty partial state combined with an empty one stays empty (see the module docs).
        if b.len() > 1 {
            check_dims(b.len() - 1);
        }
        b.to_vec()
    } else if n2 == 0.0 {
        check_dims(a.len() - 1);
        a.to_vec()
    } else {
        let dims = a.len() - 1;
        check_dims(dims);
        check_typmod(b.len() - 1, dims as i32);
        std::iter::once(n1 + n2)
            .chain(a[1..].iter().zip(&b[1..]).map(|(&x, &y)| add(x, y)))
            .collect()
    };
    out.into_datum().unwrap()
});

// Averages rounded to float4; NULL for a zero count (SQL's avg of no rows).
pg_fn!(er_vector_avg, |fcinfo| {
    let state = state_arg(fcinfo, 0, "vector_avg");
    let n = state[0];
    if n == 0.0 {
        return pgrx::pg_return_null(fcinfo);
    }
    check_dims(state.len() - 1);
    let values: Vec<f32> = state[1..].iter().map(|s| (s / n) as f32).collect();
    check_finite(&values);
    new_vector(&values)
});
