//! `bm25query` (an index and a query text) and what the operators compute from it.
//!
//! A BM25 score needs corpus statistics, which live in an index; so a query names its index:
//! `bm25_query('docs_body_bm25', 'negligent driver')`. The same [`Prepared`] query — the query's
//! lexemes, each weighted by its idf and its repeats, over the index's N and average length — backs
//! the ordered index scan and the operators evaluated row by row (a sequential scan, a recheck):
//! both sum the same f32 terms in the same order, so they give bit-equal scores.
//!
//! Reading an index's statistics reveals something of its table (whether a word occurs in it), so
//! the operators require SELECT on the index's table, as the table's own scan would.

use super::analyze::{analyze, analyze_str, Analyzed};
use super::dictionary::{lookup, read_meta};
use super::format::{Meta, TermEntry};
use crate::errors::{raise, Code};
use embedrank_core::bm25::Bm25;
use pgrx::pg_sys;
use pgrx::PgMemoryContexts;

/// A `bm25query` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    pub index: pg_sys::Oid,
    pub text: String,
}

/// Read a `bm25query` datum (a row of regclass and text); None if either field is NULL.
///
/// # Safety
/// `datum` must be a non-null `bm25query` value.
pub unsafe fn read_query(datum: pg_sys::Datum) -> Option<Query> {
    let tuple = pg_sys::pg_detoast_datum(datum.cast_mut_ptr()) as pg_sys::HeapTupleHeader;
    let mut null = false;
    let index = pg_sys::GetAttributeByNum(tuple, 1, &mut null);
    if null {
        return None;
    }
    let text = pg_sys::GetAttributeByNum(tuple, 2, &mut null);
    if null {
        return None;
    }
    let s = pg_sys::text_to_cstring(text.cast_mut_ptr());
    let text = std::ffi::CStr::from_ptr(s).to_string_lossy().into_owned();
    pg_sys::pfree(s as *mut _);
    Some(Query {
        index: pg_sys::Oid::from(index.value() as u32),
        text,
    })
}

/// A query term found in the index: its lexeme, weight (idf × repeats) and dictionary entry.
#[derive(Clone, Debug)]
pub struct Term {
    pub lexeme: Vec<u8>,
    pub weight: f32,
    pub entry: TermEntry,
}

/// A query prepared against one index's statistics.
#[derive(Clone, Debug)]
pub struct Prepared {
    pub config: pg_sys::Oid,
    pub bm25: Bm25,
    /// The query's lexemes the index holds (df > 0), in analysis order.
    pub terms: Vec<Term>,
    /// Documents with ids from here on were added after the statistics were read.
    pub next_doc: u32,
}

/// Prepare `text` against `index` (whose meta page is `meta`).
pub fn prepare(index: pg_sys::Relation, meta: &Meta, text: &str) -> Prepared {
    let config = pg_sys::Oid::from(meta.config);
    let bm25 = Bm25::new(meta.k1, meta.b, meta.docs, meta.total_len);
    let q = analyze_str(config, text);
    let mut terms = Vec::with_capacity(q.terms.len());
    for (lexeme, qtf) in q.terms {
        if let Some((_, entry)) = lookup(index, meta, &lexeme) {
            if entry.df > 0 {
                terms.push(Term {
                    weight: bm25.idf(entry.df as u64) * qtf as f32,
                    lexeme,
                    entry,
                });
            }
        }
    }
    Prepared {
        config,
        bm25,
        terms,
        next_doc: meta.next_doc,
    }
}

impl Prepared {
    /// The score of a document analysed as `doc` (0 if it holds no query term).
    pub fn score(&self, doc: &Analyzed) -> f32 {
        let mut s = 0.0f32;
        for t in &self.terms {
            if let Some((_, tf)) = doc.terms.iter().find(|(l, _)| *l == t.lexeme) {
                s += self
                    .bm25
                    .term_score(t.weight, (*tf).min(u16::MAX as u32), doc.len);
            }
        }
        s
    }

    /// Whether a document analysed as `doc` holds a query term.
    pub fn matches(&self, doc: &Analyzed) -> bool {
        self.terms
            .iter()
            .any(|t| doc.terms.iter().any(|(l, _)| *l == t.lexeme))
    }
}

/// The OID of the `embedrank_bm25` access method.
pub fn am_oid() -> pg_sys::Oid {
    unsafe { pg_sys::get_am_oid(c"embedrank_bm25".as_ptr(), false) }
}

/// Open the index a query names, checking it is an `embedrank_bm25` index with storage and that
/// the current role may read its table; the caller closes it.
unsafe fn open_index(oid: pg_sys::Oid) -> pg_sys::Relation {
    let heap = pg_sys::IndexGetRelation(oid, true);
    if heap == pg_sys::InvalidOid {
        raise(
            Code::ERRCODE_WRONG_OBJECT_TYPE,
            format!("relation with OID {} is not an index", oid.to_u32()),
            Some(
                "A bm25query names an embedrank_bm25 index: bm25_query('<index>', '<query text>').",
            ),
        );
    }
    if pg_sys::pg_class_aclcheck(
        heap,
        pg_sys::GetUserId(),
        pg_sys::ACL_SELECT as pg_sys::AclMode,
    ) != pg_sys::AclResult::ACLCHECK_OK
    {
        let name = std::ffi::CStr::from_ptr(pg_sys::get_rel_name(heap))
            .to_string_lossy()
            .into_owned();
        raise(
            Code::ERRCODE_INSUFFICIENT_PRIVILEGE,
            format!("permission denied for table {name}"),
            Some("BM25 scores read the index's statistics of the table: SELECT on the table is needed."),
        );
    }
    let index = pg_sys::index_open(oid, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
    let rel = &*(*index).rd_rel;
    let name = super::format::rel_name(index);
    if rel.relam != am_oid() {
        pg_sys::index_close(index, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        raise(
            Code::ERRCODE_WRONG_OBJECT_TYPE,
            format!("\"{name}\" is not an embedrank_bm25 index"),
            Some("Name an index created USING embedrank_bm25."),
        );
    }
    if rel.relkind as u8 == pg_sys::RELKIND_PARTITIONED_INDEX {
        pg_sys::index_close(index, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
        raise(
            Code::ERRCODE_FEATURE_NOT_SUPPORTED,
            format!("\"{name}\" is a partitioned index, which has no statistics of its own"),
            Some("Each partition's index scores its own rows: ORDER BY <column> <&> bm25_query(<partitioned index>, ...) uses them in an index scan; outside one, name a partition's index."),
        );
    }
    index
}

/// The prepared form of `q`, cached for the calling expression (`flinfo.fn_extra`) while the
/// query and index stay the same: a sequential scan prepares once, not once per row.
pub unsafe fn cached(flinfo: *mut pg_sys::FmgrInfo, q: &Query) -> &'static Prepared {
    type Cache = (Query, Prepared);
    let slot = (*flinfo).fn_extra as *mut Cache;
    if !slot.is_null() && (*slot).0 == *q {
        return &(*slot).1;
    }
    let index = open_index(q.index);
    let meta: Meta = read_meta(index);
    let prepared = prepare(index, &meta, &q.text);
    pg_sys::index_close(index, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
    if !slot.is_null() {
        // A new query for the same expression (a join feeding queries): replace, do not pile up.
        *slot = (q.clone(), prepared);
        return &(*slot).1;
    }
    let boxed =
        PgMemoryContexts::For((*flinfo).fn_mcxt).leak_and_drop_on_delete((q.clone(), prepared));
    (*flinfo).fn_extra = boxed as *mut std::ffi::c_void;
    &(*boxed).1
}

/// Analyse argument 0 (text) of `fcinfo` with the query's configuration.
pub unsafe fn analyze_arg(p: &Prepared, text: pg_sys::Datum) -> Analyzed {
    analyze(p.config, text)
}
