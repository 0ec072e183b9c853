//! `avg(halfvec)`: `vector`'s float8 state `[count, sum_1, …, sum_d]` and state checks, the
//! averages rounded to half at the end (checked: "out of range for type halfvec"). Combining two
//! states is `vector_combine` itself, as in pgvector (its messages say "vector"). `sum(halfvec)` is
//! `halfvec_add` over a halfvec state (see `sql/halfvec.sql`).

use super::{arg_values, check_finite_halves, narrow_checked, new_halfvec_with, NAME};
use crate::pg_fn;
use crate::vector::aggregates::{accum, state_arg};
use crate::vector::check_dims_of;
use embedrank_core::halfvec::f16;

pg_fn!(er_halfvec_accum, |fcinfo| {
    accum(fcinfo, &arg_values(fcinfo, 1), "halfvec_accum")
});

// Averages rounded to float4, then to half; NULL for a zero count (SQL's avg of no rows).
pg_fn!(er_halfvec_avg, |fcinfo| {
    let state = state_arg(fcinfo, 0, "halfvec_avg");
    let n = state[0];
    if n == 0.0 {
        return pgrx::pg_return_null(fcinfo);
    }
    check_dims_of(NAME, state.len() - 1);
    let halves: Vec<f16> = state[1..]
        .iter()
        .map(|s| narrow_checked((s / n) as f32))
        .collect();
    check_finite_halves(&halves);
    new_halfvec_with(halves.len(), |o| o.copy_from_slice(&halves))
});
