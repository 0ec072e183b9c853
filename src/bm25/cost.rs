//! Planner cost estimate.
//!
//! Ordered scans (`ORDER BY body <&> q LIMIT k`): the first rows cost a WAND search, which reads a
//! fraction of the query terms' posting blocks — charged as a few percent of the index's pages,
//! cached, plus a little per row; far below a sequential scan that analyses and sorts every row.
//! Match scans (`WHERE body @@@ q`): the query terms' lists are read whole; with no statistics of
//! our own the operator's selectivity (its restriction estimator) decides the row count.
//!
//! A `bm25query` names the index whose statistics score it. When a column has two BM25 indexes
//! (say, English and simple analysis), a path through the index the query does not name would
//! score with the wrong statistics (the scan refuses it): such a path gets an infinite cost, so
//! the planner takes the named index.

use pgrx::pg_sys;
use pgrx::prelude::*;

#[pg_guard]
#[allow(clippy::too_many_arguments)] // the signature Postgres defines
pub unsafe extern "C-unwind" fn amcostestimate(
    root: *mut pg_sys::PlannerInfo,
    path: *mut pg_sys::IndexPath,
    _loop_count: f64,
    startup: *mut pg_sys::Cost,
    total: *mut pg_sys::Cost,
    selectivity: *mut pg_sys::Selectivity,
    correlation: *mut f64,
    pages: *mut f64,
) {
    let info = (*path).indexinfo;
    // Paths the scan cannot serve: no query at all (a partial index's predicate alone makes such a
    // path), several ORDER BY keys (the scan orders by one), or a query naming another index.
    let unusable = ((*path).indexorderbys.is_null() && (*path).indexclauses.is_null())
        || list_ptrs((*path).indexorderbys).len() > 1
        || names_another_index((*info).indexoid, path);
    if unusable {
        // Finite (a LIMIT above interpolates costs, and infinity would make NaN of them) but
        // beyond disable_cost, so even a disabled sequential scan is preferred.
        *startup = UNUSABLE_COST;
        *total = UNUSABLE_COST;
        *selectivity = 1.0;
        *correlation = 0.0;
        *pages = 0.0;
        #[cfg(feature = "pg18")]
        {
            (*path).path.disabled_nodes = 2;
        }
        return;
    }
    let tuples = (*info).tuples.max(1.0);
    let index_pages = ((*info).pages as f64).max(1.0);
    *correlation = 0.0;
    // The rows the conditions keep (all of them without a condition).
    let quals = pg_sys::get_quals_from_indexclauses((*path).indexclauses);
    let sel = if quals.is_null() {
        1.0
    } else {
        pg_sys::clauselist_selectivity(
            root,
            quals,
            (*(*info).rel).relid as i32,
            pg_sys::JoinType::JOIN_INNER,
            std::ptr::null_mut(),
        )
        .clamp(0.0, 1.0)
    };
    *selectivity = sel;
    if !(*path).indexorderbys.is_null() {
        let read = (index_pages * 0.02).clamp(1.0, index_pages);
        let cost = read * pg_sys::seq_page_cost + 2000.0 * pg_sys::cpu_operator_cost;
        *startup = cost;
        *total = cost + tuples * sel * pg_sys::cpu_index_tuple_cost * 0.01;
        *pages = read;
        return;
    }
    let read = (index_pages * sel * 4.0).clamp(1.0, index_pages);
    *startup = read * pg_sys::seq_page_cost;
    *total = *startup + tuples * sel * (pg_sys::cpu_index_tuple_cost + pg_sys::cpu_operator_cost);
    *pages = read;
}

/// The cost of a path the scan cannot serve.
const UNUSABLE_COST: f64 = 1.0e15;

/// The index a `bm25query` expression names, where the plan shows it: a constant, or a row whose
/// first field is a constant (`bm25_query('idx', $1)` inlined, in generic plans).
unsafe fn named_index(arg: *mut pg_sys::Node) -> Option<pg_sys::Oid> {
    match (*arg).type_ {
        pg_sys::NodeTag::T_Const => {
            let c = arg as *mut pg_sys::Const;
            if (*c).constisnull {
                return None;
            }
            super::query::read_query((*c).constvalue).map(|q| q.index)
        }
        pg_sys::NodeTag::T_RowExpr => {
            let first =
                *list_ptrs((*(arg as *mut pg_sys::RowExpr)).args).first()? as *mut pg_sys::Node;
            if (*first).type_ != pg_sys::NodeTag::T_Const {
                return None;
            }
            let c = first as *mut pg_sys::Const;
            (!(*c).constisnull).then(|| pg_sys::Oid::from((*c).constvalue.value() as u32))
        }
        _ => None,
    }
}

/// The elements of a `List` of pointers.
unsafe fn list_ptrs(list: *mut pg_sys::List) -> Vec<*mut std::ffi::c_void> {
    if list.is_null() {
        return Vec::new();
    }
    (0..(*list).length as usize)
        .map(|i| (*(*list).elements.add(i)).ptr_value)
        .collect()
}

/// Whether a constant `bm25query` of this path (ORDER BY or condition) names an index other than
/// `index` and its partitioned ancestors.
unsafe fn names_another_index(index: pg_sys::Oid, path: *mut pg_sys::IndexPath) -> bool {
    let mut exprs: Vec<*mut pg_sys::Node> = list_ptrs((*path).indexorderbys)
        .into_iter()
        .map(|p| p as *mut pg_sys::Node)
        .collect();
    for c in list_ptrs((*path).indexclauses) {
        let clause = c as *mut pg_sys::IndexClause;
        exprs.push((*(*clause).rinfo).clause as *mut pg_sys::Node);
    }
    exprs.into_iter().any(|e| {
        if e.is_null() || (*e).type_ != pg_sys::NodeTag::T_OpExpr {
            return false;
        }
        let args = list_ptrs((*(e as *mut pg_sys::OpExpr)).args);
        let Some(&arg) = args.get(1) else {
            return false;
        };
        let named = named_index(arg as *mut pg_sys::Node);
        named.is_some_and(|q| q != index && !super::scan::is_ancestor(index, q))
    })
}
