//! `embedrank_hnsw`: an HNSW index access method for `vector`, `halfvec` and `bit`.
//!
//! The graph algorithm (search, insert and neighbour repair, selection, levels, iterative scan, the
//! in-memory graph) lives in the Postgres-free core crate behind the `GraphView` / `GraphStore` seam;
//! this module stores it in pages:
//! - `pages/`  — the pages layer: on-disk `format`, typed `buffer` guards, the `wal` record guard;
//!   no raw buffer leaves it, no page write escapes WAL;
//! - `graph`   — `PageGraph`, the seam implemented on pages, and the meta page;
//! - `write`   — page writes (element placement, neighbour and TID updates, meta);
//! - `metric`  — the metric codes of the on-disk format and how each metric stores vectors;
//! - `column`  — the indexed column's values (vector, halfvec, bit) as the float4 the graph stores;
//! - `codec`   — how elements hold those values: the column's form, or a trained quantizer's codes;
//! - `spill`   — the build's temporary file of vectors set aside while it links on their copy;
//! - `build`, `insert`, `scan`, `vacuum`, `cost`, `options` — the access-method callbacks.
//!
//! Operator classes (named as pgvector's, so DDL ports by changing only the access method):
//! `vector_l2_ops` (<->), `vector_ip_ops` (<#>), `vector_cosine_ops` (<=>), `vector_l1_ops` (<+>),
//! the same four `halfvec_*_ops` and `sparsevec_*_ops`, and `bit_hamming_ops` (<~>) and
//! `bit_jaccard_ops` (<%>).
//!
//! Lints: the functions here take Postgres handles (Relation, Buffer, Page) that are only ever
//! obtained from the access-method callbacks' arguments and valid for the call; every unsafe function
//! shares that one contract, so it is stated here once instead of on each function.
#![allow(clippy::missing_safety_doc, clippy::not_unsafe_ptr_arg_deref)]

pub mod build;
pub mod codec;
pub mod column;
pub mod cost;
pub mod graph;
pub mod insert;
pub mod loaded_rows;
pub mod metric;
pub mod options;
pub mod pages;
pub mod rerank;
pub mod scan;
pub mod spill;
pub mod vacuum;
pub mod width_hint;
pub mod write;

use crate::pg_fn;
use pgrx::prelude::*;
use pgrx::{pg_sys, PgBox};

pg_fn!(er_hnsw_handler, |_fcinfo| {
    let mut am = PgBox::<pg_sys::IndexAmRoutine>::alloc_node(pg_sys::NodeTag::T_IndexAmRoutine);
    am.amstrategies = 0;
    am.amsupport = 1;
    am.amcanorder = false;
    am.amcanorderbyop = true;
    am.amcanbackward = false;
    am.amcanunique = false;
    am.amcanmulticol = false;
    am.amoptionalkey = true;
    am.amsearcharray = false;
    am.amsearchnulls = false;
    am.amstorage = false;
    am.amclusterable = false;
    am.ampredlocks = false;
    am.amcanparallel = false;
    am.amcaninclude = false;
    am.amusemaintenanceworkmem = true;
    am.amkeytype = pg_sys::InvalidOid;
    am.ambuild = Some(build::ambuild);
    am.ambuildempty = Some(build::ambuildempty);
    am.aminsert = Some(aminsert);
    am.ambulkdelete = Some(vacuum::ambulkdelete);
    am.amvacuumcleanup = Some(vacuum::amvacuumcleanup);
    am.amcostestimate = Some(cost::amcostestimate);
    am.amoptions = Some(options::amoptions);
    am.ambuildphasename = Some(build::ambuildphasename);
    am.amvalidate = Some(amvalidate);
    am.ambeginscan = Some(scan::ambeginscan);
    am.amrescan = Some(scan::amrescan);
    am.amgettuple = Some(scan::amgettuple);
    am.amendscan = Some(scan::amendscan);
    pg_sys::Datum::from(am.into_pg())
});

#[pg_guard]
unsafe extern "C-unwind" fn amvalidate(_opclass: pg_sys::Oid) -> bool {
    true
}

/// aminsert: add one row's vector (NULLs and, for cosine, zero vectors are not indexed).
#[pg_guard]
#[allow(clippy::too_many_arguments)]
unsafe extern "C-unwind" fn aminsert(
    index: pg_sys::Relation,
    values: *mut pg_sys::Datum,
    isnull: *mut bool,
    heap_tid: pg_sys::ItemPointer,
    _heap: pg_sys::Relation,
    _check_unique: pg_sys::IndexUniqueCheck::Type,
    _index_unchanged: bool,
    _index_info: *mut pg_sys::IndexInfo,
) -> bool {
    if *isnull {
        return false;
    }
    let raw = column::row_values(index, *values);
    let meta = graph::read_meta(index);
    let Some(v) = metric::prepare(meta.metric, meta.encoding(), &raw) else {
        return false;
    };
    insert::insert_vector(index, &v, *heap_tid);
    false
}

extension_sql!(
    r#"
CREATE FUNCTION embedrank_hnsw_handler(internal) RETURNS index_am_handler
    AS 'MODULE_PATHNAME', 'er_hnsw_handler' LANGUAGE C;
CREATE ACCESS METHOD embedrank_hnsw TYPE INDEX HANDLER embedrank_hnsw_handler;
COMMENT ON ACCESS METHOD embedrank_hnsw IS 'HNSW approximate nearest-neighbour index for embedrank.vector';

CREATE OPERATOR CLASS vector_l2_ops FOR TYPE vector USING embedrank_hnsw AS
    OPERATOR 1 <-> (vector, vector) FOR ORDER BY float_ops,
    FUNCTION 1 l2_distance(vector, vector);
CREATE OPERATOR CLASS vector_ip_ops FOR TYPE vector USING embedrank_hnsw AS
    OPERATOR 1 <#> (vector, vector) FOR ORDER BY float_ops,
    FUNCTION 1 vector_negative_inner_product(vector, vector);
CREATE OPERATOR CLASS vector_cosine_ops FOR TYPE vector USING embedrank_hnsw AS
    OPERATOR 1 <=> (vector, vector) FOR ORDER BY float_ops,
    FUNCTION 1 cosine_distance(vector, vector);
CREATE OPERATOR CLASS vector_l1_ops FOR TYPE vector USING embedrank_hnsw AS
    OPERATOR 1 <+> (vector, vector) FOR ORDER BY float_ops,
    FUNCTION 1 l1_distance(vector, vector);

CREATE OPERATOR CLASS halfvec_l2_ops FOR TYPE halfvec USING embedrank_hnsw AS
    OPERATOR 1 <-> (halfvec, halfvec) FOR ORDER BY float_ops,
    FUNCTION 1 l2_distance(halfvec, halfvec);
CREATE OPERATOR CLASS halfvec_ip_ops FOR TYPE halfvec USING embedrank_hnsw AS
    OPERATOR 1 <#> (halfvec, halfvec) FOR ORDER BY float_ops,
    FUNCTION 1 halfvec_negative_inner_product(halfvec, halfvec);
CREATE OPERATOR CLASS halfvec_cosine_ops FOR TYPE halfvec USING embedrank_hnsw AS
    OPERATOR 1 <=> (halfvec, halfvec) FOR ORDER BY float_ops,
    FUNCTION 1 cosine_distance(halfvec, halfvec);
CREATE OPERATOR CLASS halfvec_l1_ops FOR TYPE halfvec USING embedrank_hnsw AS
    OPERATOR 1 <+> (halfvec, halfvec) FOR ORDER BY float_ops,
    FUNCTION 1 l1_distance(halfvec, halfvec);

CREATE OPERATOR CLASS sparsevec_l2_ops FOR TYPE sparsevec USING embedrank_hnsw AS
    OPERATOR 1 <-> (sparsevec, sparsevec) FOR ORDER BY float_ops,
    FUNCTION 1 l2_distance(sparsevec, sparsevec);
CREATE OPERATOR CLASS sparsevec_ip_ops FOR TYPE sparsevec USING embedrank_hnsw AS
    OPERATOR 1 <#> (sparsevec, sparsevec) FOR ORDER BY float_ops,
    FUNCTION 1 sparsevec_negative_inner_product(sparsevec, sparsevec);
CREATE OPERATOR CLASS sparsevec_cosine_ops FOR TYPE sparsevec USING embedrank_hnsw AS
    OPERATOR 1 <=> (sparsevec, sparsevec) FOR ORDER BY float_ops,
    FUNCTION 1 cosine_distance(sparsevec, sparsevec);
CREATE OPERATOR CLASS sparsevec_l1_ops FOR TYPE sparsevec USING embedrank_hnsw AS
    OPERATOR 1 <+> (sparsevec, sparsevec) FOR ORDER BY float_ops,
    FUNCTION 1 l1_distance(sparsevec, sparsevec);

CREATE OPERATOR CLASS bit_hamming_ops FOR TYPE bit USING embedrank_hnsw AS
    OPERATOR 1 <~> (bit, bit) FOR ORDER BY float_ops,
    FUNCTION 1 hamming_distance(bit, bit);
CREATE OPERATOR CLASS bit_jaccard_ops FOR TYPE bit USING embedrank_hnsw AS
    OPERATOR 1 <%> (bit, bit) FOR ORDER BY float_ops,
    FUNCTION 1 jaccard_distance(bit, bit);
"#,
    name = "hnsw_access_method",
    requires = ["vector_type", "halfvec_type", "sparsevec_type"],
);
