//! The `@@@` operator's restriction estimator: how many rows hold at least one query word.
//!
//! With a constant query, the estimate comes from the named index's own statistics: each query word
//! is in df / N of the rows with words, and words are taken as independent, so the fraction is
//! `1 − Π (1 − df / N)`. (GIN's estimator reads its meta page the same way.) Anything else — a
//! query only known at run time, a partitioned index, an index the role may not read — gets the
//! constant a containment operator gets (`contsel`'s 0.001).

use super::analyze::analyze_str;
use super::dictionary::{lookup, read_meta};
use super::query::read_query;
use crate::pg_fn;
use crate::pgfn::f8;
use pgrx::pg_sys;

const DEFAULT_SELECTIVITY: f64 = 0.001;

pg_fn!(er_bm25_match_sel, |fcinfo| {
    // (PlannerInfo *root, Oid operator, List *args, int varRelid)
    let args = (*fcinfo).args.as_slice(4);
    let list = args[2].value.cast_mut_ptr::<pg_sys::List>();
    f8(estimate(list).unwrap_or(DEFAULT_SELECTIVITY))
});

/// The estimate for the operator's arguments `args`, where the query is known.
unsafe fn estimate(args: *mut pg_sys::List) -> Option<f64> {
    if args.is_null() || (*args).length != 2 {
        return None;
    }
    let arg = (*(*args).elements.add(1)).ptr_value as *mut pg_sys::Node;
    if arg.is_null() || (*arg).type_ != pg_sys::NodeTag::T_Const {
        return None;
    }
    let c = arg as *mut pg_sys::Const;
    if (*c).constisnull {
        return Some(0.0);
    }
    let q = read_query((*c).constvalue)?;
    let heap = pg_sys::IndexGetRelation(q.index, true);
    if heap == pg_sys::InvalidOid
        || pg_sys::pg_class_aclcheck(
            heap,
            pg_sys::GetUserId(),
            pg_sys::ACL_SELECT as pg_sys::AclMode,
        ) != pg_sys::AclResult::ACLCHECK_OK
        || pg_sys::check_enable_rls(heap, pg_sys::InvalidOid, true)
            == pg_sys::CheckEnableRlsResult::RLS_ENABLED as i32
    {
        return None;
    }
    let index = pg_sys::index_open(q.index, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
    let rel = &*(*index).rd_rel;
    let usable = rel.relam == super::query::am_oid() && rel.relkind as u8 == pg_sys::RELKIND_INDEX;
    let sel = usable.then(|| {
        let meta = read_meta(index);
        let n = meta.docs.max(1) as f64;
        let none = analyze_str(pg_sys::Oid::from(meta.config), &q.text)
            .terms
            .iter()
            .map(|(lexeme, _)| lookup(index, &meta, lexeme).map_or(0, |(_, e)| e.df))
            .fold(1.0f64, |p, df| p * (1.0 - (df as f64 / n).min(1.0)));
        (1.0 - none).clamp(0.0, 1.0)
    });
    pg_sys::index_close(index, pg_sys::AccessShareLock as pg_sys::LOCKMODE);
    sel
}
