//! `embedrank_bm25`: a BM25 ranking index access method for `text`.
//!
//! ```sql
//! CREATE INDEX docs_body_bm25 ON docs USING embedrank_bm25 (body) WITH (text_config = 'english');
//! SELECT id FROM docs ORDER BY body <&> bm25_query('docs_body_bm25', 'negligent driver') LIMIT 10;
//! SELECT count(*) FROM docs WHERE body @@@ bm25_query('docs_body_bm25', 'negligent driver');
//! ```
//!
//! The ranking (the BM25 formula, block-max WAND top-k) is the Postgres-free core
//! (`embedrank_core::bm25`), run here over index pages through its `Cursor` seam; text is analysed
//! by Postgres's own text search configurations. Modules:
//! - `format`     — the on-disk format (meta, document table, dictionary, posting blocks);
//! - `analyze`    — `to_tsvector` read back as lexemes and frequencies;
//! - `dictionary` — the hashed term dictionary and the meta page;
//! - `postings`   — the page-backed cursor, block placement and appends;
//! - `docs`       — the document table;
//! - `query`      — `bm25query`, a query prepared against an index's statistics;
//! - `operators`  — `<&>`, `@@@`, `bm25_score()` row by row; `selectivity` — `@@@`'s estimator;
//! - `build`, `insert`, `scan`, `vacuum`, `cost`, `options` — the access-method callbacks.
//!
//! Pages are read and written only through the index wing's pages layer (`crate::index::pages`:
//! RAII buffer guards, every write a GenericXLog record), so the index is crash-safe and replicates.
//! Writers (inserts, VACUUM) serialise on the index's writer lock; scans take no lock between rows.
#![allow(clippy::missing_safety_doc, clippy::not_unsafe_ptr_arg_deref)]

pub mod analyze;
pub mod build;
pub mod cost;
pub mod dictionary;
pub mod docs;
pub mod format;
pub mod insert;
pub mod operators;
pub mod options;
pub mod postings;
pub mod query;
pub mod scan;
pub mod selectivity;
pub mod vacuum;

use crate::index::pages::lock::PageLock;
use crate::pg_fn;
use pgrx::prelude::*;
use pgrx::{pg_sys, PgBox};

pg_fn!(er_bm25_handler, |_fcinfo| {
    let mut am = PgBox::<pg_sys::IndexAmRoutine>::alloc_node(pg_sys::NodeTag::T_IndexAmRoutine);
    am.amstrategies = 2;
    am.amsupport = 0;
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
    am.amusemaintenanceworkmem = false;
    am.amkeytype = pg_sys::InvalidOid;
    am.ambuild = Some(build::ambuild);
    am.ambuildempty = Some(build::ambuildempty);
    am.aminsert = Some(aminsert);
    am.ambulkdelete = Some(vacuum::ambulkdelete);
    am.amvacuumcleanup = Some(vacuum::amvacuumcleanup);
    am.amcostestimate = Some(cost::amcostestimate);
    am.amoptions = Some(options::amoptions);
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

/// aminsert: index one row's text.
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
    // Analyse before taking the writer lock (the configuration never changes). A NULL text is
    // indexed without words, so that ordered scans return its row (NULLs last).
    let a = if *isnull {
        None
    } else {
        let config = pg_sys::Oid::from(dictionary::read_meta(index).config);
        Some(analyze::analyze(config, *values))
    };
    let _lock = PageLock::exclusive(index, format::META_BLOCK); // the writer lock
    let meta = dictionary::read_meta(index);
    insert::insert_document(index, meta, a, *heap_tid);
    false
}

extension_sql!(
    r#"
CREATE FUNCTION embedrank_bm25_handler(internal) RETURNS index_am_handler
    AS 'MODULE_PATHNAME', 'er_bm25_handler' LANGUAGE C;
CREATE ACCESS METHOD embedrank_bm25 TYPE INDEX HANDLER embedrank_bm25_handler;
COMMENT ON ACCESS METHOD embedrank_bm25 IS 'BM25 ranking index for text (ORDER BY <&>, WHERE @@@)';

-- A BM25 query: the index whose statistics score it, and the query text.
CREATE TYPE bm25query AS (index regclass, query text);

CREATE FUNCTION bm25_query(index regclass, query text) RETURNS bm25query
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN ROW(index, query)::@extschema@.bm25query;

-- COST 100, as to_tsvector's: each call analyses its text (the planner then prefers the index).
CREATE FUNCTION bm25_distance(text, bm25query) RETURNS float8
    AS 'MODULE_PATHNAME', 'er_bm25_distance' LANGUAGE C STABLE STRICT PARALLEL SAFE COST 100;
CREATE FUNCTION bm25_score(text, bm25query) RETURNS float8
    AS 'MODULE_PATHNAME', 'er_bm25_score' LANGUAGE C STABLE STRICT PARALLEL SAFE COST 100;
CREATE FUNCTION bm25_match(text, bm25query) RETURNS boolean
    AS 'MODULE_PATHNAME', 'er_bm25_match' LANGUAGE C STABLE STRICT PARALLEL SAFE COST 100;

CREATE OPERATOR <&> (LEFTARG = text, RIGHTARG = bm25query, FUNCTION = bm25_distance);
-- The fraction of rows holding a query word, from the named index's document frequencies.
CREATE FUNCTION bm25_match_sel(internal, oid, internal, integer) RETURNS float8
    AS 'MODULE_PATHNAME', 'er_bm25_match_sel' LANGUAGE C STABLE STRICT PARALLEL SAFE;
CREATE OPERATOR @@@ (LEFTARG = text, RIGHTARG = bm25query, FUNCTION = bm25_match,
                     RESTRICT = bm25_match_sel, JOIN = contjoinsel);

CREATE OPERATOR CLASS text_bm25_ops DEFAULT FOR TYPE text USING embedrank_bm25 AS
    OPERATOR 1 @@@ (text, bm25query),
    OPERATOR 2 <&> (text, bm25query) FOR ORDER BY float_ops;
"#,
    name = "bm25_access_method",
);
