//! Index options: `WITH (text_config = 'english', k1 = 0.9, b = 0.4)`.
//!
//! `text_config` names a text search configuration (checked when the index is created; its OID is
//! kept in the meta page, so a later change of search_path does not change what the index means).
//! `k1` (0 to 10) and `b` (0 to 1) are BM25's parameters, Lucene's and Anserini's defaults.

use crate::errors::{raise, Code};
use crate::index::options::option;
use embedrank_core::bm25::{DEFAULT_B, DEFAULT_K1};
use pgrx::{pg_sys, GucContext, GucFlags, GucRegistry, GucSetting};
use std::sync::atomic::{AtomicU32, Ordering};

static RELOPT_KIND: AtomicU32 = AtomicU32::new(0);

/// Test-only (superuser, hidden): VACUUM of an embedrank_bm25 index stops with an ERROR after it
/// removed postings and before it marked documents deleted, as a cancel or crash there would.
pub static TEST_VACUUM_STOP: GucSetting<bool> = GucSetting::<bool>::new(false);

/// Stop the running VACUUM here if the test setting asks for it.
pub fn test_vacuum_stop() {
    if TEST_VACUUM_STOP.get() {
        raise(
            Code::ERRCODE_QUERY_CANCELED,
            "embedrank_bm25 vacuum stopped after removing postings (embedrank.bm25_test_vacuum_stop)",
            None,
        );
    }
}

pub const DEFAULT_CONFIG: &std::ffi::CStr = c"english";

/// Parsed reloptions (a varlena, as build_reloptions lays it out; the string follows the struct).
#[repr(C)]
struct Options {
    vl_len: i32,
    config_offset: i32,
    k1: f64,
    b: f64,
}

/// Register the reloptions; called from `_PG_init`.
pub fn register() {
    unsafe {
        let kind = pg_sys::add_reloption_kind();
        RELOPT_KIND.store(kind as u32, Ordering::Relaxed);
        pg_sys::add_string_reloption(
            kind,
            c"text_config".as_ptr(),
            c"Text search configuration documents and queries are analysed with".as_ptr(),
            DEFAULT_CONFIG.as_ptr(),
            Some(validate_config),
            pg_sys::AccessExclusiveLock as i32,
        );
        pg_sys::add_real_reloption(
            kind,
            c"k1".as_ptr(),
            c"BM25 term frequency saturation (0 to 10)".as_ptr(),
            DEFAULT_K1 as f64,
            0.0,
            10.0,
            pg_sys::AccessExclusiveLock as i32,
        );
        pg_sys::add_real_reloption(
            kind,
            c"b".as_ptr(),
            c"BM25 document length normalisation (0 to 1)".as_ptr(),
            DEFAULT_B as f64,
            0.0,
            1.0,
            pg_sys::AccessExclusiveLock as i32,
        );
    }
    GucRegistry::define_bool_guc(
        c"embedrank.bm25_test_vacuum_stop",
        c"Testing only: VACUUM of an embedrank_bm25 index stops after removing postings.",
        c"",
        &TEST_VACUUM_STOP,
        GucContext::Suset,
        GucFlags::NO_SHOW_ALL,
    );
}

/// The configuration named `name` (ERROR 42704 if there is none).
pub unsafe fn config_oid(name: *const std::ffi::c_char) -> pg_sys::Oid {
    let d = pg_sys::OidFunctionCall1Coll(
        pg_sys::Oid::from(pg_sys::F_REGCONFIGIN),
        pg_sys::InvalidOid,
        pg_sys::Datum::from(name),
    );
    pg_sys::Oid::from(d.value() as u32)
}

/// `text_config` must name a configuration that every later resolution (REINDEX, a restore
/// under `search_path = ''`) finds again: one in pg_catalog, or a schema-qualified name.
#[pgrx::pg_guard]
unsafe extern "C-unwind" fn validate_config(value: *const std::ffi::c_char) {
    if value.is_null() {
        return;
    }
    let oid = config_oid(value);
    let name = std::ffi::CStr::from_ptr(value).to_string_lossy();
    if !name.contains('.')
        && config_namespace(oid) != pg_sys::Oid::from(pg_sys::PG_CATALOG_NAMESPACE)
    {
        raise(
            Code::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("text_config \"{name}\" must be schema-qualified"),
            Some("A configuration outside pg_catalog is named with its schema, e.g. text_config = 'public.my_config', so that REINDEX and pg_restore find the same one."),
        );
    }
}

/// The schema of text search configuration `oid`.
unsafe fn config_namespace(oid: pg_sys::Oid) -> pg_sys::Oid {
    let tuple = pg_sys::SearchSysCache1(
        pg_sys::SysCacheIdentifier::TSCONFIGOID as i32,
        pg_sys::Datum::from(oid),
    );
    if tuple.is_null() {
        return pg_sys::InvalidOid;
    }
    // The leading columns of pg_ts_config (catalog/pg_ts_config.h; not in pgrx's bindings).
    #[repr(C)]
    struct TsConfigHead {
        oid: pg_sys::Oid,
        cfgname: pg_sys::NameData,
        cfgnamespace: pg_sys::Oid,
    }
    let form = pg_sys::GETSTRUCT(tuple) as *const TsConfigHead;
    let ns = (*form).cfgnamespace;
    pg_sys::ReleaseSysCache(tuple);
    ns
}

/// pg_ts_config's catalog OID (TSConfigRelationId).
const TS_CONFIG_RELATION_ID: pg_sys::Oid = pg_sys::Oid::from_u32(3602);

/// Record that `index` depends on its text search configuration, so the configuration cannot be
/// dropped from under it (DROP … CASCADE drops the index too). Replaces an earlier record (REINDEX).
pub unsafe fn record_config_dependency(index: pg_sys::Relation, config: pg_sys::Oid) {
    let me = pg_sys::ObjectAddress {
        classId: pg_sys::RelationRelationId,
        objectId: (*index).rd_id,
        objectSubId: 0,
    };
    let cfg = pg_sys::ObjectAddress {
        classId: TS_CONFIG_RELATION_ID,
        objectId: config,
        objectSubId: 0,
    };
    pg_sys::deleteDependencyRecordsForClass(
        pg_sys::RelationRelationId,
        (*index).rd_id,
        TS_CONFIG_RELATION_ID,
        pg_sys::DependencyType::DEPENDENCY_NORMAL as std::ffi::c_char,
    );
    pg_sys::recordDependencyOn(&me, &cfg, pg_sys::DependencyType::DEPENDENCY_NORMAL);
}

/// amoptions: parse and validate `WITH (...)`.
#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn amoptions(
    reloptions: pg_sys::Datum,
    validate: bool,
) -> *mut pg_sys::bytea {
    let tab = [
        option(
            c"text_config",
            pg_sys::relopt_type::RELOPT_TYPE_STRING,
            std::mem::offset_of!(Options, config_offset),
        ),
        option(
            c"k1",
            pg_sys::relopt_type::RELOPT_TYPE_REAL,
            std::mem::offset_of!(Options, k1),
        ),
        option(
            c"b",
            pg_sys::relopt_type::RELOPT_TYPE_REAL,
            std::mem::offset_of!(Options, b),
        ),
    ];
    pg_sys::build_reloptions(
        reloptions,
        validate,
        RELOPT_KIND.load(Ordering::Relaxed) as pg_sys::relopt_kind::Type,
        std::mem::size_of::<Options>(),
        tab.as_ptr(),
        tab.len() as i32,
    ) as *mut pg_sys::bytea
}

/// (configuration, k1, b) of `index` as created.
pub unsafe fn index_options(index: pg_sys::Relation) -> (pg_sys::Oid, f32, f32) {
    let opts = (*index).rd_options as *const Options;
    if opts.is_null() {
        return (config_oid(DEFAULT_CONFIG.as_ptr()), DEFAULT_K1, DEFAULT_B);
    }
    let name = if (*opts).config_offset == 0 {
        DEFAULT_CONFIG.as_ptr()
    } else {
        (opts as *const std::ffi::c_char).add((*opts).config_offset as usize)
    };
    (config_oid(name), (*opts).k1 as f32, (*opts).b as f32)
}
