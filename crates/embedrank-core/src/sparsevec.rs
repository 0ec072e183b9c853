//! `sparsevec` without a server: pgvector 0.8.6's text format (`{1:1.5,3:2}/5`, 1-based indices)
//! read and written, and the distances between two sparse vectors.
//!
//! A sparse vector is its dimension count and its non-zero entries: 0-based indices strictly
//! ascending, values finite and non-zero. Distances walk both entry lists in index order and sum
//! in float4, as pgvector does (so results match it to the last bit); `l2_norm` sums in float8.
//!
//! An HNSW index carries a sparse vector through its graph, which holds `&[f32]` slices, in the
//! *packed* form ([`pack`], [`unpack`]): the indices' bit patterns, then the values, `2·nnz` floats.
//! The packed floats are only ever copied, never computed with, so every bit pattern survives.
//!
//! Reading a literal follows pgvector's order of checks, split in two so the caller can check the
//! column's typmod in between: [`parse_sparsevec`] reads the syntax, the values and the dimension
//! count; [`sort_entries`] then sorts the entries and checks their indices.

use crate::text::{is_space, nonzero_mantissa, strtof, write_f32, Strtof};
use std::cmp::Ordering;

/// Most dimensions a sparsevec can have.
pub const MAX_DIM: i64 = 1_000_000_000;
/// Most non-zero entries a sparsevec can have.
pub const MAX_NNZ: usize = 16000;

/// Why a literal is not a sparsevec (pgvector's cases; the caller words the messages).
#[derive(Debug, Clone, PartialEq)]
pub enum SparseError {
    /// More than [`MAX_NNZ`] entries (counted from the commas before anything is read).
    TooManyNnz,
    /// Syntax error, with pgvector's detail when it gives one.
    Malformed(Option<&'static str>),
    /// A value outside `f32` (overflow or complete underflow), as written.
    OutOfRange(String),
    NaN,
    Infinite,
    /// An index outside `1..=dim`.
    IndexOutOfBounds,
    /// The same index twice.
    Duplicate,
}

/// A literal read by [`parse_sparsevec`]: the dimension count (clamped to `i32`) and the non-zero
/// entries as written (0-based index, value), not yet sorted or checked against the dimensions.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub dim: i64,
    pub entries: Vec<(i64, f32)>,
}

/// C `strtol` (base 10) at the start of `s`, saturated to `i64`: the value and the bytes taken.
fn strtol(s: &[u8]) -> Option<(i64, usize)> {
    let sign = usize::from(matches!(s.first(), Some(b'+' | b'-')));
    let n = s[sign..].iter().take_while(|b| b.is_ascii_digit()).count();
    if n == 0 {
        return None;
    }
    let neg = s[0] == b'-';
    let mut v: i64 = 0;
    for &d in &s[sign..sign + n] {
        v = v
            .saturating_mul(10)
            .saturating_add(i64::from(d - b'0') * if neg { -1 } else { 1 });
    }
    Some((v, sign + n))
}

/// Reads the syntax, values and dimension count of a sparsevec literal such as `{1:1.5,3:2}/5`.
/// Zero values are dropped here (their index is never checked, as in pgvector).
pub fn parse_sparsevec(lit: &str) -> Result<Parsed, SparseError> {
    if lit.bytes().filter(|&b| b == b',').count() + 1 > MAX_NNZ {
        return Err(SparseError::TooManyNnz);
    }
    let s = lit.as_bytes();
    let mut at = 0;
    let skip = |at: &mut usize| {
        while *at < s.len() && is_space(s[*at]) {
            *at += 1;
        }
    };
    skip(&mut at);
    if s.get(at) != Some(&b'{') {
        return Err(SparseError::Malformed(Some(
            "Vector contents must start with \"{\".",
        )));
    }
    at += 1;
    skip(&mut at);
    let mut entries = Vec::new();
    if s.get(at) == Some(&b'}') {
        at += 1;
    } else {
        loop {
            skip(&mut at);
            let (index, len) = strtol(&s[at..]).ok_or(SparseError::Malformed(None))?;
            at += len;
            let index = index.clamp(i64::from(i32::MIN) + 1, i64::from(i32::MAX));
            skip(&mut at);
            if s.get(at) != Some(&b':') {
                return Err(SparseError::Malformed(None));
            }
            at += 1;
            skip(&mut at);
            match strtof(&lit[at..]).ok_or(SparseError::Malformed(None))? {
                Strtof::NaN => return Err(SparseError::NaN),
                Strtof::Infinite => return Err(SparseError::Infinite),
                Strtof::Value(v, _) if v.is_nan() => return Err(SparseError::NaN),
                Strtof::Value(v, len) => {
                    let tok = &lit[at..at + len];
                    if v.is_infinite() || (v == 0.0 && nonzero_mantissa(tok)) {
                        return Err(SparseError::OutOfRange(tok.to_owned()));
                    }
                    if v != 0.0 {
                        entries.push((index - 1, v));
                    }
                    at += len;
                }
            }
            skip(&mut at);
            match s.get(at) {
                Some(b',') => at += 1,
                Some(b'}') => {
                    at += 1;
                    break;
                }
                _ => return Err(SparseError::Malformed(None)),
            }
        }
    }
    skip(&mut at);
    if s.get(at) != Some(&b'/') {
        return Err(SparseError::Malformed(Some("Unexpected end of input.")));
    }
    at += 1;
    skip(&mut at);
    let (dim, len) = strtol(&s[at..]).ok_or(SparseError::Malformed(None))?;
    at += len;
    skip(&mut at);
    if at != s.len() {
        return Err(SparseError::Malformed(Some("Junk after closing.")));
    }
    Ok(Parsed {
        dim: dim.clamp(i64::from(i32::MIN), i64::from(i32::MAX)),
        entries,
    })
}

/// The entries sorted by index and checked against `dim`: split into indices and values.
pub fn sort_entries(
    mut entries: Vec<(i64, f32)>,
    dim: i64,
) -> Result<(Vec<i32>, Vec<f32>), SparseError> {
    entries.sort_by_key(|e| e.0);
    for (i, &(index, _)) in entries.iter().enumerate() {
        if index < 0 || index >= dim {
            return Err(SparseError::IndexOutOfBounds);
        }
        if i > 0 && entries[i - 1].0 == index {
            return Err(SparseError::Duplicate);
        }
    }
    Ok(entries.into_iter().map(|(i, v)| (i as i32, v)).unzip())
}

/// pgvector's text form: `{i:v,...}/dim` with 1-based indices, values as Postgres prints a `real`.
pub fn format_sparsevec(dim: i32, indices: &[i32], values: &[f32]) -> String {
    let mut out = String::with_capacity(16 + indices.len() * 12);
    out.push('{');
    for (k, (&i, &v)) in indices.iter().zip(values).enumerate() {
        if k > 0 {
            out.push(',');
        }
        out.push_str(&(i64::from(i) + 1).to_string());
        out.push(':');
        write_f32(&mut out, v);
    }
    out.push_str("}/");
    out.push_str(&dim.to_string());
    out
}

/// A sparse vector borrowed from storage.
#[derive(Clone, Copy, Debug)]
pub struct Sparse<'a> {
    pub dim: i32,
    pub indices: &'a [i32],
    pub values: &'a [f32],
}

/// `f(a_i, b_i)` summed in float4 over the union of both index lists, in index order (an entry
/// missing on one side is 0 there).
fn merge_sum(a: Sparse, b: Sparse, f: impl Fn(f32, f32) -> f32) -> f32 {
    let (mut i, mut j, mut sum) = (0, 0, 0.0f32);
    while i < a.indices.len() || j < b.indices.len() {
        let ai = a.indices.get(i).copied().unwrap_or(i32::MAX);
        let bj = b.indices.get(j).copied().unwrap_or(i32::MAX);
        match ai.cmp(&bj) {
            Ordering::Equal => {
                sum += f(a.values[i], b.values[j]);
                i += 1;
                j += 1;
            }
            Ordering::Less => {
                sum += f(a.values[i], 0.0);
                i += 1;
            }
            Ordering::Greater => {
                sum += f(0.0, b.values[j]);
                j += 1;
            }
        }
    }
    sum
}

/// Squared Euclidean distance (float4 sum).
pub fn l2_squared(a: Sparse, b: Sparse) -> f32 {
    merge_sum(a, b, |x, y| (x - y) * (x - y))
}

/// Taxicab distance (float4 sum).
pub fn l1(a: Sparse, b: Sparse) -> f32 {
    merge_sum(a, b, |x, y| (x - y).abs())
}

/// Inner product over the common indices (float4 sum).
pub fn dot(a: Sparse, b: Sparse) -> f32 {
    let (mut i, mut j, mut sum) = (0, 0, 0.0f32);
    while i < a.indices.len() && j < b.indices.len() {
        match a.indices[i].cmp(&b.indices[j]) {
            Ordering::Equal => {
                sum += a.values[i] * b.values[j];
                i += 1;
                j += 1;
            }
            Ordering::Less => i += 1,
            Ordering::Greater => j += 1,
        }
    }
    sum
}

/// 1 − cosine similarity: float4 sums, the similarity in float8 clamped to [-1, 1] (NaN kept).
pub fn cosine_distance(a: Sparse, b: Sparse) -> f64 {
    let sq = |v: &[f32]| v.iter().fold(0.0f32, |s, x| s + x * x);
    let sim = f64::from(dot(a, b)) / (f64::from(sq(a.values)) * f64::from(sq(b.values))).sqrt();
    1.0 - if sim.is_nan() {
        sim
    } else {
        sim.clamp(-1.0, 1.0)
    }
}

/// Euclidean norm, summed in float8.
pub fn l2_norm(values: &[f32]) -> f64 {
    // From +0: `Iterator::sum` of no floats is -0, which would print as "-0".
    values
        .iter()
        .fold(0.0f64, |s, &x| s + f64::from(x) * f64::from(x))
        .sqrt()
}

/// pgvector's order: the vectors compared as if dense over the shorter dimension count (a missing
/// entry is 0), then the dimension counts.
pub fn compare(a: Sparse, b: Sparse) -> Ordering {
    let limit = a.dim.min(b.dim);
    let (mut i, mut j) = (0, 0);
    loop {
        let ai = a.indices.get(i).copied().filter(|&x| x < limit);
        let bj = b.indices.get(j).copied().filter(|&x| x < limit);
        let o = match (ai, bj) {
            (None, None) => break,
            (Some(x), Some(y)) if x == y => {
                let o = a.values[i].total_cmp(&b.values[j]);
                i += 1;
                j += 1;
                o
            }
            (Some(x), y) if y.is_none_or(|y| x < y) => {
                i += 1;
                a.values[i - 1].partial_cmp(&0.0).unwrap_or(Ordering::Equal)
            }
            _ => {
                j += 1;
                0.0f32
                    .partial_cmp(&b.values[j - 1])
                    .unwrap_or(Ordering::Equal)
            }
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    a.dim.cmp(&b.dim)
}

/// The packed form of `(indices, values)`: each index's bit pattern as a float, then the values.
pub fn pack(indices: &[i32], values: &[f32]) -> Vec<f32> {
    debug_assert_eq!(indices.len(), values.len());
    let mut out = Vec::with_capacity(2 * indices.len());
    out.extend(indices.iter().map(|&i| f32::from_bits(i as u32)));
    out.extend_from_slice(values);
    out
}

/// The entries of a packed sparse vector (its dimension count is not carried: 0).
#[inline]
pub fn unpack(packed: &[f32]) -> Sparse<'_> {
    let nnz = packed.len() / 2;
    // SAFETY: i32 and f32 have the same size and alignment, and every bit pattern is a valid i32.
    let indices = unsafe { std::slice::from_raw_parts(packed.as_ptr() as *const i32, nnz) };
    Sparse {
        dim: 0,
        indices,
        values: &packed[nnz..2 * nnz],
    }
}

/// The values of a packed sparse vector, to change in place (normalising for cosine).
pub fn packed_values_mut(packed: &mut [f32]) -> &mut [f32] {
    let nnz = packed.len() / 2;
    &mut packed[nnz..2 * nnz]
}

/// `packed` without the entries whose value is zero (normalising can underflow one, and a stored
/// sparse vector holds non-zero values only, as pgvector's `l2_normalize` leaves it).
pub fn drop_zeros(packed: &[f32]) -> Vec<f32> {
    let s = unpack(packed);
    let keep: Vec<usize> = (0..s.values.len())
        .filter(|&i| s.values[i] != 0.0)
        .collect();
    let indices: Vec<i32> = keep.iter().map(|&i| s.indices[i]).collect();
    let values: Vec<f32> = keep.iter().map(|&i| s.values[i]).collect();
    pack(&indices, &values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(lit: &str) -> Result<String, SparseError> {
        let p = parse_sparsevec(lit)?;
        let (i, v) = sort_entries(p.entries, p.dim)?;
        Ok(format_sparsevec(p.dim as i32, &i, &v))
    }

    #[test]
    fn literals_read_and_print_as_pgvector_does() {
        assert_eq!(read("{1:1.5,3:3.5}/5").unwrap(), "{1:1.5,3:3.5}/5");
        assert_eq!(
            read(" { 1 : 1.5 ,  3  :  3.5  } / 5 ").unwrap(),
            "{1:1.5,3:3.5}/5"
        );
        assert_eq!(
            read("{1:1.5e38,2:-1.5e38}/2").unwrap(),
            "{1:1.5e+38,2:-1.5e+38}/2"
        );
        assert_eq!(read("{1:0,2:1,3:0}/3").unwrap(), "{2:1}/3");
        assert_eq!(read("{2:1,1:1}/2").unwrap(), "{1:1,2:1}/2");
        assert_eq!(read("{ }/1").unwrap(), "{}/1");
        assert_eq!(read("{9:0}/1").unwrap(), "{}/1");
        assert_eq!(read("{+01:2}/1").unwrap(), "{1:2}/1");
    }

    #[test]
    fn malformed_and_out_of_range_literals() {
        use SparseError::*;
        assert_eq!(read("{1:4e38,2:1}/2"), Err(OutOfRange("4e38".into())));
        assert_eq!(read("{1:-1e-46,2:1}/2"), Err(OutOfRange("-1e-46".into())));
        assert_eq!(read("{1:NaN,2:1}/2"), Err(NaN));
        assert_eq!(read("{1:-Infinity}/2"), Err(Infinite));
        assert_eq!(
            read(""),
            Err(Malformed(Some("Vector contents must start with \"{\".")))
        );
        assert_eq!(read("{}"), Err(Malformed(Some("Unexpected end of input."))));
        assert_eq!(read("{}/1a"), Err(Malformed(Some("Junk after closing."))));
        for bad in [
            "{",
            "{}/",
            "{1,}/1",
            "{1:}/1",
            "{1a:1}/1",
            "{1:1,}/1",
            "{1:hello,2:1}/2",
        ] {
            assert_eq!(read(bad), Err(Malformed(None)), "{bad}");
        }
        assert_eq!(read("{1:1,2:1,1:1}/2"), Err(Duplicate));
        assert_eq!(read("{0:1}/1"), Err(IndexOutOfBounds));
        assert_eq!(read("{2147483648:1}/1"), Err(IndexOutOfBounds));
        assert_eq!(
            read(&format!("{{{}}}/1", vec!["1:1"; 16001].join(","))),
            Err(TooManyNnz)
        );
        assert_eq!(
            parse_sparsevec("{}/-9223372036854775809").unwrap().dim,
            i64::from(i32::MIN)
        );
    }

    #[test]
    fn distances_and_order_as_pgvector() {
        let v = |dim, i: &'static [i32], x: &'static [f32]| Sparse {
            dim,
            indices: i,
            values: x,
        };
        assert_eq!(l2_squared(v(2, &[0], &[3.0]), v(2, &[1], &[4.0])), 25.0);
        assert_eq!(
            dot(
                v(5, &[0, 2, 4], &[1.0, 3.0, 5.0]),
                v(5, &[1, 2, 3], &[4.0, 6.0, 8.0])
            ),
            18.0
        );
        assert_eq!(
            l1(
                v(9, &[0, 2, 4, 6, 8], &[1.0, 3.0, 5.0, 7.0, 9.0]),
                v(9, &[1, 3, 5, 7], &[2.0, 4.0, 6.0, 8.0])
            ),
            45.0
        );
        assert_eq!(
            cosine_distance(v(2, &[0, 1], &[1.0, 1.0]), v(2, &[0, 1], &[-1.1, -1.1])),
            2.0
        );
        assert!(cosine_distance(v(2, &[0, 1], &[1.0, 2.0]), v(2, &[], &[])).is_nan());
        assert_eq!(
            compare(v(3, &[], &[]), v(3, &[0, 1, 2], &[1.0, 2.0, 3.0])),
            Ordering::Less
        );
        assert_eq!(
            compare(
                v(2, &[0, 1], &[1.0, 2.0]),
                v(3, &[0, 1, 2], &[2.0, 3.0, 4.0])
            ),
            Ordering::Less
        );
        assert_eq!(
            compare(
                v(2, &[0, 1], &[2.0, 3.0]),
                v(3, &[0, 1, 2], &[1.0, 2.0, 3.0])
            ),
            Ordering::Greater
        );
        assert_eq!(
            compare(
                v(3, &[0, 1, 2], &[1.0, 2.0, 3.0]),
                v(2, &[0, 1], &[1.0, 2.0])
            ),
            Ordering::Greater
        );
        assert_eq!(compare(v(3, &[1], &[-1.0]), v(3, &[], &[])), Ordering::Less);
    }

    #[test]
    fn packed_form_keeps_every_index_and_value() {
        let indices = [0, 1, 7, 1 << 23, 999_999_999];
        let values = [1.5, -2.0, 1e-40, f32::MAX, -0.25];
        let p = pack(&indices, &values);
        assert_eq!(p.len(), 10);
        let copy = p.clone(); // copied as floats, as the graph stores them
        let s = unpack(&copy);
        assert_eq!(s.indices, &indices);
        assert_eq!(s.values, &values);
        assert_eq!(unpack(&[]).indices.len(), 0);
        let mut z = pack(&[2, 5, 9], &[1.0, 0.0, 3.0]);
        packed_values_mut(&mut z)[0] = 4.0;
        assert_eq!(drop_zeros(&z), pack(&[2, 9], &[4.0, 3.0]));
    }
}
