//! pgvector's functions on Postgres's own `bit` type: Hamming and Jaccard distances (operators
//! `<~>` and `<%>`) and `binary_quantize`, which turns a `vector` or `halfvec` into one bit per
//! dimension (1 where the value is > 0; 0, -0 and negatives give 0) — the first pass of a
//! "binary quantize, then re-score with full vectors" search.
//!
//! A `bit`/`varbit` value is a varlena: int32 bit count, then the bits, leftmost first (most
//! significant bit of each byte); the pad bits of the last byte are zero, so byte-wise popcounts
//! need no masking.

use crate::errors::data_exception;
use crate::pg_fn;
use crate::pgfn::f8;
use pgrx::pg_sys;

/// The bit count and data bytes of a `bit` datum.
///
/// # Safety
/// `datum` must be a non-null `bit` or `varbit` datum.
pub unsafe fn bits<'a>(datum: pg_sys::Datum) -> (usize, &'a [u8]) {
    let ptr = pg_sys::pg_detoast_datum(datum.cast_mut_ptr()) as *const u8;
    let len = (ptr.add(4) as *const i32).read_unaligned().max(0) as usize;
    (len, std::slice::from_raw_parts(ptr.add(8), len.div_ceil(8)))
}

/// The two bit arguments, which must be as long as each other.
unsafe fn two_bits<'a>(fcinfo: pg_sys::FunctionCallInfo) -> (&'a [u8], &'a [u8]) {
    let (la, a) = bits(pgrx::pg_getarg_datum_raw(fcinfo, 0));
    let (lb, b) = bits(pgrx::pg_getarg_datum_raw(fcinfo, 1));
    if la != lb {
        data_exception(format!("different bit lengths {la} and {lb}"));
    }
    (a, b)
}

/// Number of positions where the two bit strings differ.
pub fn hamming(a: &[u8], b: &[u8]) -> u64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x ^ y).count_ones() as u64)
        .sum()
}

/// 1 − |a ∧ b| / |a ∨ b|; 1 when the strings share no set bit (two all-zero strings included).
pub fn jaccard(a: &[u8], b: &[u8]) -> f64 {
    let (mut both, mut ones_a, mut ones_b) = (0u64, 0u64, 0u64);
    for (x, y) in a.iter().zip(b) {
        both += (x & y).count_ones() as u64;
        ones_a += x.count_ones() as u64;
        ones_b += y.count_ones() as u64;
    }
    if both == 0 {
        1.0
    } else {
        1.0 - both as f64 / (ones_a + ones_b - both) as f64
    }
}

pg_fn!(er_hamming_distance, |fcinfo| {
    let (a, b) = two_bits(fcinfo);
    f8(hamming(a, b) as f64)
});

pg_fn!(er_jaccard_distance, |fcinfo| {
    let (a, b) = two_bits(fcinfo);
    f8(jaccard(a, b))
});

/// A `bit(values.len())` with bit i set where value i is > 0.
fn quantize(values: impl ExactSizeIterator<Item = f32>) -> pg_sys::Datum {
    let n = values.len();
    let size = 8 + n.div_ceil(8);
    unsafe {
        let ptr = pg_sys::palloc0(size) as *mut u8;
        pgrx::set_varsize_4b(ptr as *mut pg_sys::varlena, size as i32);
        (ptr.add(4) as *mut i32).write_unaligned(n as i32);
        let data = std::slice::from_raw_parts_mut(ptr.add(8), n.div_ceil(8));
        for (i, x) in values.enumerate() {
            if x > 0.0 {
                data[i / 8] |= 0x80 >> (i % 8);
            }
        }
        pg_sys::Datum::from(ptr)
    }
}

pg_fn!(er_binary_quantize, |fcinfo| {
    quantize(crate::vector::arg_slice(fcinfo, 0).iter().copied())
});

pg_fn!(er_halfvec_binary_quantize, |fcinfo| {
    quantize(
        crate::halfvec::arg_halves(fcinfo, 0)
            .iter()
            .map(|h| h.to_f32()),
    )
});
