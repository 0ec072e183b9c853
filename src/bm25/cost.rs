//! Planner cost estimate.
//!
//! Ordered scans (`ORDER BY body <&> q LIMIT k`): the first rows cost a WAND search, which reads a
//! fraction of the query terms' posting blocks — charged as a few percent of the index's pages,
//! cached, plus a little per row; far below a sequential scan that analyses and sorts every row.
//! Match scans (`WHERE body @@@ q`): the query terms' lists are read whole; with no statistics of
//! our own the operator's selectivity (its restriction estimator) decides the row count.

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
    let tuples = (*info).tuples.max(1.0);
    let index_pages = ((*info).pages as f64).max(1.0);
    *correlation = 0.0;
    if !(*path).indexorderbys.is_null() {
        let read = (index_pages * 0.02).clamp(1.0, index_pages);
        let cost = read * pg_sys::seq_page_cost + 2000.0 * pg_sys::cpu_operator_cost;
        *selectivity = 1.0;
        *startup = cost;
        *total = cost + tuples * pg_sys::cpu_index_tuple_cost * 0.01;
        *pages = read;
        return;
    }
    let quals = pg_sys::get_quals_from_indexclauses((*path).indexclauses);
    let sel = pg_sys::clauselist_selectivity(
        root,
        quals,
        (*(*info).rel).relid as i32,
        pg_sys::JoinType::JOIN_INNER,
        std::ptr::null_mut(),
    )
    .clamp(0.0, 1.0);
    let read = (index_pages * sel * 4.0).clamp(1.0, index_pages);
    *selectivity = sel;
    *startup = read * pg_sys::seq_page_cost;
    *total = *startup + tuples * sel * (pg_sys::cpu_index_tuple_cost + pg_sys::cpu_operator_cost);
    *pages = read;
}
