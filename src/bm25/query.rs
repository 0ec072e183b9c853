//! `bm25query` (an index and a query text) and what the operators compute from it.
//!
//! A BM25 score needs corpus statistics, which live in an index; so a query names its index:
//! `bm25_query('docs_body_bm25', 'negligent driver')`. The same [`Prepared`] query — the query's
//! lexemes, each weighted by its idf and its repeats, over the index's N and average length — backs
//! the ordered index scan and the operators evaluated row by row (a sequential scan, a recheck):
//! both sum the same f32 terms in the same order, so they give bit-equal scores.
//!
//! Reading an index's statistics reveals something of its table (whether a word occurs in it), so
//! scoring requires SELECT on the index's table, and is refused where row-level security hides
//! rows from the current role (the statistics count every row), as `pg_stats` hides statistics.

use super::analyze::{analyze, analyze_str, Analyzed};
use super::dictionary::{lookup, read_meta};
use super::format::{Meta, TermEntry};
use crate::errors::{raise, Code};
use embedrank_core::bm25::Bm25;
use pgrx::pg_sys;
use pgrx::PgMemoryContexts;
use std::cell::RefCell;
use std::rc::Rc;

/// A `bm25query` value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    pub index: pg_sys::Oid,
    /// The query text's bytes, in the database encoding.
    pub text: Vec<u8>,
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
    let text = std::ffi::CStr::from_ptr(s).to_bytes().to_vec();
    pg_sys::pfree(s as *mut _);
    Some(Query {
        index: pg_sys::Oid::from(index.value() as u32),
        text,
    })
}

/// A query term some document holds: its lexeme, weight (idf × repeats) and, where the scanned
/// index holds it, its dictionary entry there.
#[derive(Clone, Debug)]
pub struct Term {
    pub lexeme: Vec<u8>,
    pub weight: f32,
    pub entry: Option<TermEntry>,
}

/// A query prepared against the statistics of one index, or of all partitions' indexes of a
/// partitioned index (N, total length and document frequencies summed: one global idf, so scores
/// from different partitions compare, as a merge of their ordered scans needs).
#[derive(Clone, Debug)]
pub struct Prepared {
    pub config: pg_sys::Oid,
    pub bm25: Bm25,
    /// The query's lexemes with df > 0, in analysis order.
    pub terms: Vec<Term>,
    /// Documents of the scanned index with ids from here on came after the statistics were read.
    pub next_doc: u32,
}

/// What a query's scores depend on: the configuration, BM25's N and average length, and each query
/// lexeme's weight (idf × repeats) — read from the indexes once per statement and shared by every
/// scan and operator of the statement, so an ordered scan and the scores shown beside it agree
/// even while other sessions insert (which changes the statistics).
#[derive(Debug)]
struct QueryStats {
    config: pg_sys::Oid,
    bm25: Bm25,
    terms: Vec<(Vec<u8>, f32)>,
}

#[derive(Debug, PartialEq, Eq)]
struct StatsKey {
    /// The query's memory context (the executor's): one per running query.
    context: usize,
    indexes: Vec<pg_sys::Oid>,
    text: Vec<u8>,
}

thread_local! {
    /// The statistics read by the running queries, by query context. A context's entries go when
    /// the context is deleted (the query ends), so no later query sees them.
    static QUERY_STATS: RefCell<Vec<(StatsKey, Rc<QueryStats>)>> = const { RefCell::new(Vec::new()) };
}

/// Most (query, index) statistics kept at once.
const MAX_CACHED: usize = 64;

/// Allocated in a query's context: its deletion drops that query's statistics.
struct ForgetOnDelete(usize);

impl Drop for ForgetOnDelete {
    fn drop(&mut self) {
        let _ = QUERY_STATS.try_with(|c| {
            if let Ok(mut c) = c.try_borrow_mut() {
                c.retain(|(k, _)| k.context != self.0);
            }
        });
    }
}

/// The options the index is scored with: its text configuration as built, and k1 / b as its
/// reloptions say now (they only weigh the scores, so `ALTER INDEX … SET (k1 = …)` applies at
/// once; a different text_config would need the text analysed again: REINDEX).
fn scoring_options(index: pg_sys::Relation, meta: &Meta) -> (pg_sys::Oid, f32, f32) {
    let (config, k1, b) = unsafe { super::options::index_options(index) };
    if config.to_u32() != meta.config {
        raise(
            Code::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!(
                "the text_config of embedrank_bm25 index \"{}\" changed after it was built",
                unsafe { super::format::rel_name(index) }
            ),
            Some("REINDEX the index: its text must be analysed with the new configuration."),
        );
    }
    (config, k1, b)
}

fn query_stats(stats: &[pg_sys::Relation], text: &[u8]) -> QueryStats {
    let metas: Vec<Meta> = stats.iter().map(|&i| read_meta(i)).collect();
    let options: Vec<(pg_sys::Oid, f32, f32)> = stats
        .iter()
        .zip(&metas)
        .map(|(&i, m)| scoring_options(i, m))
        .collect();
    let (config, k1, b) = options
        .first()
        .copied()
        .unwrap_or((pg_sys::InvalidOid, 0.0, 0.0));
    if options.iter().any(|&o| o != (config, k1, b)) {
        raise(
            Code::ERRCODE_FEATURE_NOT_SUPPORTED,
            "the partitions' embedrank_bm25 indexes have different options",
            Some("Give every partition's index the same text_config, k1 and b (create it on the partitioned table)."),
        );
    }
    let bm25 = Bm25::new(
        k1,
        b,
        metas.iter().map(|m| m.docs).sum(),
        metas.iter().map(|m| m.total_len).sum(),
    );
    let mut terms = Vec::new();
    if config != pg_sys::InvalidOid {
        for (lexeme, qtf) in analyze_str(config, text).terms {
            let df: u64 = stats
                .iter()
                .zip(&metas)
                .filter_map(|(&i, m)| lookup(i, m, &lexeme))
                .map(|(_, e)| e.df as u64)
                .sum();
            if df > 0 {
                terms.push((lexeme, bm25.idf(df) * qtf as f32));
            }
        }
    }
    QueryStats {
        config,
        bm25,
        terms,
    }
}

/// Prepare `text` against the statistics of `stats` (one index, or a partitioned index's leaves)
/// for a scan of `scanned` (one of them), if any.
pub fn prepare(
    stats: &[pg_sys::Relation],
    scanned: Option<pg_sys::Relation>,
    text: &[u8],
    context: pg_sys::MemoryContext,
) -> Prepared {
    let key = StatsKey {
        context: context as usize,
        indexes: stats.iter().map(|&i| unsafe { (*i).rd_id }).collect(),
        text: text.to_vec(),
    };
    let found = QUERY_STATS.with(|c| {
        c.borrow()
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, s)| s.clone())
    });
    let st = found.unwrap_or_else(|| {
        let s = Rc::new(query_stats(stats, text));
        let first_of_query = QUERY_STATS.with(|c| {
            let mut c = c.borrow_mut();
            let first = !c.iter().any(|(k, _)| k.context == key.context);
            // Bounded: a join feeding many query texts to one query keeps the latest 64 (an
            // evicted pair asked again reads the statistics again).
            if c.len() >= MAX_CACHED {
                c.remove(0);
            }
            c.push((key, s.clone()));
            first
        });
        if first_of_query && !context.is_null() {
            PgMemoryContexts::For(context)
                .leak_and_drop_on_delete(ForgetOnDelete(context as usize));
        }
        s
    });
    let scanned_meta = scanned.map(|i| (i, read_meta(i)));
    let terms = st
        .terms
        .iter()
        .map(|(lexeme, weight)| Term {
            lexeme: lexeme.clone(),
            weight: *weight,
            entry: scanned_meta
                .as_ref()
                .and_then(|(i, m)| lookup(*i, m, lexeme))
                .map(|(_, e)| e)
                .filter(|e| e.df > 0),
        })
        .collect();
    let (config, bm25) = (st.config, st.bm25);
    Prepared {
        config,
        bm25,
        terms,
        next_doc: scanned_meta.map_or(0, |(_, m)| m.next_doc),
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

unsafe extern "C-unwind" {
    /// pg_inherits.h: `relid` and every relation (or index) under it (not in pgrx's bindings).
    #[link_name = "find_all_inheritors"]
    fn raw_find_all_inheritors(
        relid: pg_sys::Oid,
        lockmode: pg_sys::LOCKMODE,
        parents: *mut *mut pg_sys::List,
    ) -> *mut pg_sys::List;
}

/// The OIDs of a `List` of OIDs.
unsafe fn list_oids(list: *mut pg_sys::List) -> Vec<pg_sys::Oid> {
    if list.is_null() {
        return Vec::new();
    }
    (0..(*list).length as usize)
        .map(|i| (*(*list).elements.add(i)).oid_value)
        .collect()
}

/// The leaf indexes under partitioned index `oid`, opened (AccessShareLock); the caller closes them.
pub unsafe fn open_leaves(oid: pg_sys::Oid) -> Vec<pg_sys::Relation> {
    let lock = pg_sys::AccessShareLock as pg_sys::LOCKMODE;
    let all = pg_sys::submodules::ffi::pg_guard_ffi_boundary(|| {
        raw_find_all_inheritors(oid, lock, std::ptr::null_mut())
    });
    list_oids(all)
        .into_iter()
        .filter(|&o| pg_sys::get_rel_relkind(o) as u8 == pg_sys::RELKIND_INDEX)
        .map(|o| pg_sys::index_open(o, lock))
        .collect()
}

pub unsafe fn close_all(indexes: Vec<pg_sys::Relation>) {
    for i in indexes {
        pg_sys::index_close(i, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
    }
}

/// The OID of the `embedrank_bm25` access method.
pub fn am_oid() -> pg_sys::Oid {
    unsafe { pg_sys::get_am_oid(c"embedrank_bm25".as_ptr(), false) }
}

/// Error unless the current role may read BM25 statistics of table `heap`: it needs SELECT on the
/// table, and no row-level security may hide rows from it (the statistics count every row).
pub unsafe fn check_may_read(heap: pg_sys::Oid) {
    let name = || {
        let n = pg_sys::get_rel_name(heap);
        if n.is_null() {
            format!("OID {}", heap.to_u32())
        } else {
            std::ffi::CStr::from_ptr(n).to_string_lossy().into_owned()
        }
    };
    if pg_sys::pg_class_aclcheck(
        heap,
        pg_sys::GetUserId(),
        pg_sys::ACL_SELECT as pg_sys::AclMode,
    ) != pg_sys::AclResult::ACLCHECK_OK
    {
        raise(
            Code::ERRCODE_INSUFFICIENT_PRIVILEGE,
            format!("permission denied for table {}", name()),
            Some("BM25 scores read the index's statistics of the table: SELECT on the table is needed."),
        );
    }
    if pg_sys::check_enable_rls(heap, pg_sys::InvalidOid, true)
        == pg_sys::CheckEnableRlsResult::RLS_ENABLED as i32
    {
        raise(
            Code::ERRCODE_INSUFFICIENT_PRIVILEGE,
            format!("BM25 scoring of table {} is not available under its row-level security", name()),
            Some("BM25 statistics count every row, including rows the policies hide from this role. The table's owner, or a role with BYPASSRLS, can score it."),
        );
    }
}

/// Open the index a query names, checking it is an `embedrank_bm25` index and that the current
/// role may read its table; the caller closes it.
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
    check_may_read(heap);
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
    let prepared = if (*(*index).rd_rel).relkind as u8 == pg_sys::RELKIND_PARTITIONED_INDEX {
        let leaves = open_leaves(q.index);
        let p = prepare(&leaves, None, &q.text, (*flinfo).fn_mcxt);
        close_all(leaves);
        p
    } else {
        prepare(&[index], None, &q.text, (*flinfo).fn_mcxt)
    };
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
