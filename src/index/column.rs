//! What the indexed column holds, read as the float4 values the graph searches with: a `vector` as
//! it is, a `halfvec` widened (exact), a `sparsevec` packed, a `bit` string packed 32 bits to a
//! word (Hamming and Jaccard distances are popcounts over the words) — and the [`Encoding`] the
//! index pages keep them in: halves for `halfvec` (up to 4,000 dimensions, half a vector index's
//! size), bits for `bit` (up to 64,000), float4 for `vector` (2,000). A `sparsevec` is read as its
//! non-zero entries in packed form ([`embedrank_core::sparsevec::pack`]) and stored so, as pgvector
//! stores it: up to 10^9 dimensions, at most 1,000 of them non-zero in an indexed row (a query may
//! have any number).

use super::pages::format::{Encoding, MAX_SPARSE_NNZ};
use embedrank_core::distance::bits;
use pgrx::pg_sys;
use std::borrow::Cow;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Vector,
    Halfvec,
    Sparsevec,
    Bit,
}

thread_local! {
    /// The last index column type looked up, and its kind: one catalog lookup per column type a
    /// backend meets, not one per row.
    static LAST_TYPE: std::cell::Cell<Option<(pg_sys::Oid, Kind)>> = const { std::cell::Cell::new(None) };
}

unsafe fn kind(index: pg_sys::Relation) -> Kind {
    let desc = pgrx::PgTupleDesc::from_pg_unchecked((*index).rd_att);
    let typ = desc.get(0).expect("an index column").atttypid;
    if let Some((t, k)) = LAST_TYPE.get() {
        if t == typ {
            return k;
        }
    }
    let k = if typ == pg_sys::BITOID {
        Kind::Bit
    } else if typ == crate::halfvec::halfvec_type_oid() {
        Kind::Halfvec
    } else if typ == pgrx::regtypein("embedrank.sparsevec") {
        Kind::Sparsevec
    } else {
        Kind::Vector
    };
    LAST_TYPE.set(Some((typ, k)));
    k
}

/// How `index`'s pages store its column's values.
///
/// # Safety
/// `index` must be an open embedrank_hnsw index.
pub unsafe fn encoding(index: pg_sys::Relation) -> Encoding {
    match kind(index) {
        Kind::Halfvec => Encoding::F16,
        Kind::Bit => Encoding::Bit,
        Kind::Sparsevec => Encoding::Sparse,
        Kind::Vector => Encoding::F32,
    }
}

/// The search width a query for `index` carries (`with_ef_search`), if any: `vector` and
/// `halfvec` queries can carry one.
///
/// # Safety
/// `datum` must be a non-null value of the index column's type.
pub unsafe fn carried_ef(index: pg_sys::Relation, datum: pg_sys::Datum) -> Option<usize> {
    match kind(index) {
        Kind::Vector | Kind::Halfvec => super::width_hint::carried_ef(datum),
        Kind::Sparsevec | Kind::Bit => None,
    }
}

/// The dimensions the index column declares (its typmod; the build refused a column without one).
unsafe fn column_dims(index: pg_sys::Relation) -> usize {
    let desc = pgrx::PgTupleDesc::from_pg_unchecked((*index).rd_att);
    desc.get(0).expect("an index column").atttypmod.max(0) as usize
}

/// The float4 values of `datum`, a row's value of `index`'s column, to store: [`query_values`],
/// and a sparse vector must have at most [`MAX_SPARSE_NNZ`] non-zero entries (pgvector's error).
///
/// # Safety
/// `datum` must be a non-null value of the index column's type.
pub unsafe fn row_values<'a>(index: pg_sys::Relation, datum: pg_sys::Datum) -> Cow<'a, [f32]> {
    let v = query_values(index, datum);
    if kind(index) == Kind::Sparsevec && v.len() / 2 > MAX_SPARSE_NNZ {
        crate::errors::raise(
            crate::errors::Code::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
            format!(
                "sparsevec cannot have more than {MAX_SPARSE_NNZ} non-zero elements for embedrank_hnsw index"
            ),
            Some("Keep the largest entries of each vector (SPLADE-style models emit a few hundred), or store it unindexed."),
        );
    }
    v
}

/// The float4 values of `datum`, a value of `index`'s column or a query for it.
///
/// # Safety
/// `datum` must be a non-null value of the index column's type.
pub unsafe fn query_values<'a>(index: pg_sys::Relation, datum: pg_sys::Datum) -> Cow<'a, [f32]> {
    match kind(index) {
        Kind::Vector => Cow::Borrowed(crate::vector::datum_slice(datum)),
        Kind::Halfvec => Cow::Owned(crate::halfvec::datum_values(datum)),
        Kind::Sparsevec => {
            let v = crate::sparsevec::datum_sparse(datum);
            let dims = column_dims(index);
            if v.dim as usize != dims {
                crate::errors::dims_mismatch_of(crate::sparsevec::NAME, v.dim as usize, dims);
            }
            Cow::Owned(embedrank_core::sparsevec::pack(v.indices, v.values))
        }
        Kind::Bit => {
            let (len, bytes) = crate::bit::bits(datum);
            let dims = column_dims(index);
            if len != dims {
                crate::errors::data_exception(format!("different bit lengths {len} and {dims}"));
            }
            Cow::Owned(bits::pack(&bytes[..len.div_ceil(8)]))
        }
    }
}
