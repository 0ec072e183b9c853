//! Index options (`WITH (m = 16, ef_construction = 64, quantizer = 'sq8')`), search settings, and
//! what an index's operator class means for the vectors it stores.

use crate::errors::{raise, Code};
use pgrx::{pg_sys, GucContext, GucEnum, GucFlags, GucRegistry, GucSetting};
use std::ffi::CStr;
use std::sync::atomic::{AtomicU32, Ordering};

pub const DEFAULT_M: i32 = 16;
pub const DEFAULT_EF_CONSTRUCTION: i32 = 64;

pub static EF_SEARCH: GucSetting<i32> = GucSetting::<i32>::new(40);
pub static ITERATIVE_SCAN: GucSetting<IterativeScan> =
    GucSetting::<IterativeScan>::new(IterativeScan::RelaxedOrder);

/// `embedrank.hnsw_iterative_scan`: pgvector's `hnsw.iterative_scan` modes, so its settings port by
/// their name alone. `on`/`off` (and `true`, `yes`, `1`, `false`, `no`, `0`) are accepted too, as
/// `relaxed_order`/`off`: the setting was a boolean before. Default `relaxed_order` (pgvector's is
/// `off`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IterativeScan {
    /// At most ef_search rows per scan.
    Off,
    /// Keep walking; rows past the first ef_search in approximate order.
    RelaxedOrder,
    /// Keep walking, but never return a row nearer than one returned before (skip it instead).
    StrictOrder,
}

const fn mode(name: &'static CStr, val: i32, hidden: bool) -> pg_sys::config_enum_entry {
    pg_sys::config_enum_entry {
        name: name.as_ptr(),
        val,
        hidden,
    }
}

/// The names Postgres accepts (case-insensitively); hidden ones are not listed in errors and
/// pg_settings.
const ITERATIVE_SCAN_MODES: [pg_sys::config_enum_entry; 11] = [
    mode(c"off", 0, false),
    mode(c"relaxed_order", 1, false),
    mode(c"strict_order", 2, false),
    mode(c"on", 1, true),
    mode(c"true", 1, true),
    mode(c"yes", 1, true),
    mode(c"1", 1, true),
    mode(c"false", 0, true),
    mode(c"no", 0, true),
    mode(c"0", 0, true),
    pg_sys::config_enum_entry {
        name: std::ptr::null(),
        val: 0,
        hidden: false,
    },
];

// SAFETY: the pointer is to a constant (promoted to a 'static) terminated by a null name.
unsafe impl GucEnum for IterativeScan {
    fn from_ordinal(ordinal: i32) -> Self {
        match ordinal {
            0 => IterativeScan::Off,
            2 => IterativeScan::StrictOrder,
            _ => IterativeScan::RelaxedOrder,
        }
    }

    fn to_ordinal(&self) -> i32 {
        match self {
            IterativeScan::Off => 0,
            IterativeScan::RelaxedOrder => 1,
            IterativeScan::StrictOrder => 2,
        }
    }

    const CONFIG_ENUM_ENTRY: *const pg_sys::config_enum_entry =
        &ITERATIVE_SCAN_MODES as *const [pg_sys::config_enum_entry; 11] as *const _;
}
pub static MAX_SCAN_TUPLES: GucSetting<i32> = GucSetting::<i32>::new(20_000);
/// Test-only (superuser, hidden): every new element gets at least this level (capped per m), so
/// tests reach the tallest neighbour lists the format allows without millions of rows.
pub static TEST_MIN_LEVEL: GucSetting<i32> = GucSetting::<i32>::new(0);
/// Test-only (superuser, hidden): non-zero restarts this backend's level generator from this seed at
/// the first insert of every SQL command, so two runs of the same inserts draw the same levels.
pub static TEST_LEVEL_SEED: GucSetting<i32> = GucSetting::<i32>::new(0);
/// Test-only (superuser, hidden): VACUUM of an embedrank_hnsw index stops with an ERROR after this
/// phase (1: heap TIDs removed, 2: half the graph repaired, 3: graph repaired, before slots are
/// freed), as a cancel or crash at that point would; 0 = never.
pub static TEST_VACUUM_STOP_AFTER: GucSetting<i32> = GucSetting::<i32>::new(0);

static RELOPT_KIND: AtomicU32 = AtomicU32::new(0);

/// Parsed reloptions (a varlena, as build_reloptions lays it out).
#[repr(C)]
pub struct Options {
    vl_len: i32,
    pub m: i32,
    pub ef_construction: i32,
    /// Offset of the `quantizer` string from the struct's start (0: not set).
    quantizer_offset: i32,
}

/// `quantizer` values and the element encodings they stand for ("none": the column's own form).
const QUANTIZERS: [(&str, Option<super::pages::format::Encoding>); 3] = [
    ("none", None),
    ("sq8", Some(super::pages::format::Encoding::Sq8)),
    ("sq4", Some(super::pages::format::Encoding::Sq4)),
];

/// Validator of `quantizer` (called by Postgres with the value; raises on an unknown one).
#[pgrx::pg_guard]
unsafe extern "C-unwind" fn validate_quantizer(value: *const std::ffi::c_char) {
    if value.is_null() {
        return;
    }
    let v = CStr::from_ptr(value).to_string_lossy();
    if !QUANTIZERS.iter().any(|(name, _)| *name == v) {
        raise(
            Code::ERRCODE_INVALID_PARAMETER_VALUE,
            format!("invalid value for embedrank_hnsw option \"quantizer\": \"{v}\""),
            Some("Valid values are \"none\" (full precision), \"sq8\" (8 bits per dimension) and \"sq4\" (4 bits)."),
        );
    }
}

/// Register the reloptions and settings; called from `_PG_init`.
pub fn register() {
    unsafe {
        let kind = pg_sys::add_reloption_kind();
        RELOPT_KIND.store(kind as u32, Ordering::Relaxed);
        pg_sys::add_int_reloption(
            kind,
            c"m".as_ptr(),
            c"Max links per element per layer (2 to 100)".as_ptr(),
            DEFAULT_M,
            2,
            100,
            pg_sys::AccessExclusiveLock as i32,
        );
        pg_sys::add_int_reloption(
            kind,
            c"ef_construction".as_ptr(),
            c"Candidate list size during build (4 to 1000)".as_ptr(),
            DEFAULT_EF_CONSTRUCTION,
            4,
            1000,
            pg_sys::AccessExclusiveLock as i32,
        );
        pg_sys::add_string_reloption(
            kind,
            c"quantizer".as_ptr(),
            c"Codes the graph is traversed on: none, sq8 or sq4 (rows re-ranked by exact distance)"
                .as_ptr(),
            c"none".as_ptr(),
            Some(validate_quantizer),
            pg_sys::AccessExclusiveLock as i32,
        );
    }
    GucRegistry::define_int_guc(
        c"embedrank.hnsw_ef_search",
        c"Candidate list size of embedrank_hnsw index scans.",
        c"Larger finds more of the true nearest neighbours, slower. The first ef_search results are exact HNSW results.",
        &EF_SEARCH,
        1,
        1000,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_enum_guc(
        c"embedrank.hnsw_iterative_scan",
        c"Keep walking the graph after ef_search results (for filtered queries): off, relaxed_order or strict_order.",
        c"relaxed_order: a scan returns rows until the query has enough or embedrank.hnsw_max_scan_tuples is spent (results after the first ef_search are in approximate order). strict_order: the same, skipping rows nearer than one already returned. off: at most ef_search rows.",
        &ITERATIVE_SCAN,
        GucContext::Userset,
        GucFlags::default(),
    );
    GucRegistry::define_int_guc(
        c"embedrank.hnsw_max_scan_tuples",
        c"Most graph elements an iterative index scan visits.",
        c"",
        &MAX_SCAN_TUPLES,
        1,
        i32::MAX,
        GucContext::Userset,
        GucFlags::default(),
    );
    let hidden = GucFlags::NO_SHOW_ALL; // includes GUC_NOT_IN_SAMPLE
    GucRegistry::define_int_guc(
        c"embedrank.hnsw_test_min_level",
        c"Testing only: lowest level of new index elements.",
        c"",
        &TEST_MIN_LEVEL,
        0,
        embedrank_core::hnsw::MAX_LEVEL as i32,
        GucContext::Suset,
        hidden,
    );
    GucRegistry::define_int_guc(
        c"embedrank.hnsw_test_level_seed",
        c"Testing only: seed of the level generator of inserts (0 = random).",
        c"",
        &TEST_LEVEL_SEED,
        0,
        i32::MAX,
        GucContext::Suset,
        hidden,
    );
    GucRegistry::define_int_guc(
        c"embedrank.hnsw_test_vacuum_stop_after",
        c"Testing only: VACUUM stops with an ERROR after this phase (0 = never).",
        c"",
        &TEST_VACUUM_STOP_AFTER,
        0,
        3,
        GucContext::Suset,
        hidden,
    );
}

/// Lowest level for a new element in an index of this `m` (0 unless a test forces tall elements).
pub fn forced_level(m: usize) -> usize {
    (TEST_MIN_LEVEL.get().max(0) as usize).min(super::pages::format::max_level(m))
}

/// Stop the running VACUUM here if the test setting asks for it (`phase` 1..=3).
pub fn test_vacuum_stop(phase: i32) {
    if TEST_VACUUM_STOP_AFTER.get() == phase {
        raise(
            Code::ERRCODE_QUERY_CANCELED,
            format!("embedrank_hnsw vacuum stopped after phase {phase} (embedrank.hnsw_test_vacuum_stop_after)"),
            None,
        );
    }
}

/// The parse entry of an integer option stored at `offset` of [`Options`].
fn int_option(name: &'static std::ffi::CStr, offset: usize) -> pg_sys::relopt_parse_elt {
    option(name, pg_sys::relopt_type::RELOPT_TYPE_INT, offset)
}

/// The parse entry of an option of type `t` stored at `offset` of a parsed-options struct (this
/// access method's [`Options`], and embedrank_bm25's).
pub fn option(
    name: &'static std::ffi::CStr,
    t: pg_sys::relopt_type::Type,
    offset: usize,
) -> pg_sys::relopt_parse_elt {
    pg_sys::relopt_parse_elt {
        optname: name.as_ptr(),
        opttype: t,
        offset: offset as i32,
        // PG18: offset of a flag recording whether the option was set explicitly (0: none).
        #[cfg(feature = "pg18")]
        isset_offset: 0,
    }
}

/// amoptions: parse and validate `WITH (...)` (guarded: build_reloptions raises ERRORs).
#[pgrx::pg_guard]
pub unsafe extern "C-unwind" fn amoptions(
    reloptions: pg_sys::Datum,
    validate: bool,
) -> *mut pg_sys::bytea {
    let tab = [
        int_option(c"m", std::mem::offset_of!(Options, m)),
        int_option(
            c"ef_construction",
            std::mem::offset_of!(Options, ef_construction),
        ),
        option(
            c"quantizer",
            pg_sys::relopt_type::RELOPT_TYPE_STRING,
            std::mem::offset_of!(Options, quantizer_offset),
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

/// (m, ef_construction) of `index`, validated against each other.
pub unsafe fn index_options(index: pg_sys::Relation) -> (usize, usize) {
    let opts = (*index).rd_options as *const Options;
    let (m, efc) = if opts.is_null() {
        (DEFAULT_M, DEFAULT_EF_CONSTRUCTION)
    } else {
        ((*opts).m, (*opts).ef_construction)
    };
    if efc < 2 * m {
        // pgvector's message; the values go in a detail line.
        crate::errors::raise_detail(
            Code::ERRCODE_INVALID_PARAMETER_VALUE,
            "ef_construction must be greater than or equal to 2 * m",
            format!("m is {m} and ef_construction is {efc}."),
        );
    }
    (m as usize, efc as usize)
}

/// The encoding `index`'s `quantizer` option asks for (`None`: the column's own form).
pub unsafe fn index_quantizer(index: pg_sys::Relation) -> Option<super::pages::format::Encoding> {
    let opts = (*index).rd_options as *const Options;
    if opts.is_null() || (*opts).quantizer_offset == 0 {
        return None;
    }
    let name =
        CStr::from_ptr((opts as *const std::ffi::c_char).add((*opts).quantizer_offset as usize));
    let name = name.to_string_lossy();
    QUANTIZERS
        .iter()
        .find(|(n, _)| *n == name)
        .and_then(|(_, enc)| *enc)
}
