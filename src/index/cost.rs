//! Planner cost estimate: cheap for `ORDER BY vector <op> const LIMIT k`, prohibitive otherwise.
//!
//! The index answers only ordering by distance, so a path without ORDER BY operators gets a
//! prohibitive cost (plain WHERE queries never use it; on PG18 it also counts as disabled, so even
//! `enable_seqscan = off` does not make the planner pick it). For an ordered scan the work is roughly the
//! elements an HNSW search visits — about ef_search × m distance computations, growing slowly with
//! the table — and nearly all of it happens before the first row, so startup cost ≈ total cost.

use super::options;
use pgrx::pg_sys;
use pgrx::prelude::*;

#[pg_guard]
#[allow(clippy::too_many_arguments)] // the signature Postgres defines
pub unsafe extern "C-unwind" fn amcostestimate(
    _root: *mut pg_sys::PlannerInfo,
    path: *mut pg_sys::IndexPath,
    _loop_count: f64,
    startup: *mut pg_sys::Cost,
    total: *mut pg_sys::Cost,
    selectivity: *mut pg_sys::Selectivity,
    correlation: *mut f64,
    pages: *mut f64,
) {
    let info = (*path).indexinfo;
    *selectivity = 1.0;
    *correlation = 0.0;
    if (*path).indexorderbys.is_null() {
        // Finite (a LIMIT above interpolates costs, and infinity would make NaN of them, which
        // compares as neither better nor worse) but beyond disable_cost.
        *startup = 1.0e15;
        *total = 1.0e15;
        *pages = 0.0;
        // PG18 compares paths by their number of disabled nodes before cost, so with
        // enable_seqscan = off an infinitely costly index path would beat a disabled seq scan:
        // count this one as more disabled than that.
        #[cfg(feature = "pg18")]
        {
            (*path).path.disabled_nodes = 2;
        }
        return;
    }
    let tuples = (*info).tuples.max(1.0);
    let index_pages = ((*info).pages as f64).max(1.0);
    let ef = options::EF_SEARCH.get().max(1) as f64;
    // A search expands ~ef elements at level 0, each with up to 2m (m = 16 by default) neighbours,
    // many already visited: ~ef·m distance computations, growing slowly with the table.
    let visited = (ef * 16.0 * (1.0 + tuples.log10() / 4.0)).min(tuples);
    let pages_read = (visited * index_pages / tuples).clamp(1.0, index_pages);
    // The graph's pages are read over and over by every query, so they are nearly always cached:
    // charge them as sequential reads rather than random ones.
    let cost = pages_read * pg_sys::seq_page_cost
        + visited * (pg_sys::cpu_index_tuple_cost + 4.0 * pg_sys::cpu_operator_cost);
    *startup = cost;
    *total = cost;
    *pages = pages_read;
}
