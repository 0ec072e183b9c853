//! CREATE INDEX (ambuild) and the init fork of unlogged indexes (ambuildempty).
//!
//! Design: scan the table once, storing every vector in the in-memory HNSW graph of the core crate
//! (exact duplicates share an element, up to 10 heap TIDs); then link the stored elements into the
//! graph — on `1 + max_parallel_maintenance_workers` threads (at most one per core) when there are
//! at least 10,000 of them, serially (the same graph every time) otherwise, reading a half-precision
//! copy of the vectors when the budget has room for it (see [`link`]); then lay the graph out (an
//! element and its neighbour list on one page) and write each page once as a full-page GenericXLog
//! record, the meta page last. When the graph outgrows maintenance_work_mem, tell the user (NOTICE
//! with a HINT), link and write what is stored, and continue with on-disk inserts — slower, still
//! correct. Progress shows in pg_stat_progress_create_index (sub-phase; tuples done while loading
//! and while linking).
//!
//! Memory: the graph and the per-element build state grow in steps reserved exactly and fallibly
//! ([`make_room`]), each cut to what maintenance_work_mem has left, and the budget counts what is
//! reserved (capacity), not what is used: `Vec`'s own doubling would hold up to twice the budget, and
//! a Rust allocation the allocator refuses aborts the backend (SIGABRT, and the postmaster restarts
//! every session). A step the process cannot get is ERROR 53200 (out_of_memory) with a hint instead.
//! Linking threads add a visited bitset each (one bit per element) and 4,096 lock stripes.

use super::codec::Codec;
use super::graph::read_meta;
use super::insert::insert_vector;
use super::loaded_rows::LoadedRows;
use super::metric::{index_metric, prepare, search_metric};
use super::options::{self, index_options};
use super::pages::buffer::{block_count, ExclusiveBuffer};
use super::pages::format::{self as page, Meta, Node};
use super::pages::wal::{write_init_fork_page, WalWrite};
use super::spill::TempVectors;
use super::write;
use crate::errors::{out_of_memory, raise, reserve_exact, Code};
use embedrank_core::hnsw::{HnswParams, InMemoryGraph, VectorSpill};
use pgrx::prelude::*;
use pgrx::{pg_sys, PgBox};

pub const PHASE_LOAD: i64 = 2;
pub const PHASE_WRITE: i64 = 3;
pub const PHASE_LINK: i64 = 4;

/// Fewest elements worth linking on several threads; smaller graphs are linked serially (and so
/// come out the same on every build).
const PARALLEL_MIN_ELEMENTS: usize = 10_000;

/// Fewest elements linked on a half-precision copy: smaller stores sit in the CPU caches, where the
/// copy saves nothing, and the copy's check of its own error needs about a thousand inserts.
const HALF_COPY_MIN_ELEMENTS: usize = 10_000;

struct BuildState {
    index: pg_sys::Relation,
    metric: u32,
    encoding: page::Encoding,
    /// The encoding rows are prepared for: the `quantizer` option's, else the column's.
    prepare_as: page::Encoding,
    dims: usize,
    graph: Option<InMemoryGraph>,
    /// The stored elements' heap TIDs and the lookup of exact duplicates.
    rows: LoadedRows,
    memory_limit: usize,
    tuples: f64,
    on_disk: bool,
    /// The table's row estimate (planner statistics; 0 when never analyzed).
    expected_rows: f64,
    /// Where the float4 vectors went when the graph set them aside while loading (so that the
    /// copy's smaller rows fit where float4 ones no longer did).
    aside: Option<TempVectors>,
}

/// Dimensions declared by the indexed column (`vector(n)`); required.
unsafe fn column_dims(index: pg_sys::Relation) -> usize {
    let desc = pgrx::PgTupleDesc::from_pg_unchecked((*index).rd_att);
    let column = desc.get(0).expect("an index column");
    if column.atttypid == pg_sys::VARBITOID {
        // bit operator classes accept bit varying (binary coercible); a graph needs one length.
        raise(
            Code::ERRCODE_FEATURE_NOT_SUPPORTED,
            "type not supported for embedrank_hnsw index",
            Some(
                "Index a bit(n) column or expression, e.g. (binary_quantize(embedding)::bit(384)).",
            ),
        );
    }
    let typmod = column.atttypmod;
    if typmod < 1 {
        raise(
            Code::ERRCODE_INVALID_PARAMETER_VALUE,
            "column does not have dimensions",
            Some("Declare the column with its dimensions, e.g. vector(384), halfvec(384) or bit(384)."),
        );
    }
    let column_enc = super::column::encoding(index);
    let quantizer = options::index_quantizer(index);
    if quantizer.is_some() && !matches!(column_enc, page::Encoding::F32 | page::Encoding::F16) {
        raise(
            Code::ERRCODE_FEATURE_NOT_SUPPORTED,
            "quantizer applies only to vector and halfvec columns",
            Some("Index bit and sparsevec columns without the quantizer option."),
        );
    }
    // A quantized index holds as many dimensions as its codes fit a page.
    let enc = quantizer.unwrap_or(column_enc);
    let max = enc.max_dims();
    if typmod as usize > max {
        raise(
            Code::ERRCODE_PROGRAM_LIMIT_EXCEEDED,
            format!("column cannot have more than {max} dimensions for embedrank_hnsw index"),
            Some(match enc {
                page::Encoding::Bit => "Index a shorter bit string, e.g. (binary_quantize(subvector(embedding, 1, 4096))::bit(4096)).",
                page::Encoding::F32 | page::Encoding::F16 => "Index with WITH (quantizer = 'sq8') (up to 8,000 dimensions) or 'sq4' (16,000), or a shorter prefix with subvector() in an expression index (Matryoshka embeddings).",
                _ => "Index a shorter prefix with subvector() in an expression index (Matryoshka embeddings), or reduce dimensions.",
            }),
        );
    }
    typmod as usize
}

fn progress(param: u32, value: i64) {
    unsafe { pg_sys::pgstat_progress_update_param(param as i32, value) };
}

/// Create the meta page (block 0) of an empty index.
unsafe fn create_meta(index: pg_sys::Relation, fork: pg_sys::ForkNumber::Type, meta: &Meta) {
    let buf = ExclusiveBuffer::extend(index, fork);
    if fork == pg_sys::ForkNumber::INIT_FORKNUM {
        write_init_fork_page(buf, |p| {
            page::init_page(p, page::KIND_META);
            page::write_meta(p, meta);
        });
        return;
    }
    let mut wal = WalWrite::start(index);
    let p = wal.page(buf, true);
    page::init_page(p, page::KIND_META);
    page::write_meta(p, meta);
    wal.commit();
}

unsafe fn empty_meta(index: pg_sys::Relation) -> Meta {
    let dims = column_dims(index);
    let (m, efc) = index_options(index);
    Meta {
        magic: page::MAGIC,
        version: page::VERSION as u32,
        dims: dims as u32,
        m: m as u32,
        ef_construction: efc as u32,
        metric: index_metric(index),
        entry: 0,
        entry_level: -1,
        insert_block: page::META_BLOCK,
        free_block: page::META_BLOCK,
        encoding: super::column::encoding(index) as u32,
        quant_block: page::META_BLOCK,
        max_error: 0.0,
    }
}

#[pg_guard]
pub unsafe extern "C-unwind" fn ambuild(
    heap: pg_sys::Relation,
    index: pg_sys::Relation,
    index_info: *mut pg_sys::IndexInfo,
) -> *mut pg_sys::IndexBuildResult {
    if block_count(index) != 0 {
        raise(
            Code::ERRCODE_INTERNAL_ERROR,
            "index is not empty at build start",
            None,
        );
    }
    let meta = empty_meta(index);
    create_meta(index, pg_sys::ForkNumber::MAIN_FORKNUM, &meta);
    let m = meta.m as usize;
    let mut state = BuildState {
        index,
        metric: meta.metric,
        encoding: meta.encoding(),
        prepare_as: options::index_quantizer(index).unwrap_or(meta.encoding()),
        dims: meta.dims as usize,
        graph: Some(new_graph(&meta)),
        rows: LoadedRows::default(),
        memory_limit: pg_sys::maintenance_work_mem as usize * 1024,
        tuples: 0.0,
        on_disk: false,
        expected_rows: f64::from((*(*heap).rd_rel).reltuples).max(0.0),
        aside: None,
    };
    warn_if_too_big(heap, &state, m);
    progress(pg_sys::PROGRESS_CREATEIDX_SUBPHASE, PHASE_LOAD);
    let heap_tuples = pg_sys::table_index_build_scan(
        heap,
        index,
        index_info,
        true,
        true,
        Some(build_callback),
        &mut state as *mut BuildState as *mut std::ffi::c_void,
        std::ptr::null_mut(),
    );
    if let Some(graph) = state.graph.take() {
        finish_graph(&mut state, graph);
    }
    let mut result = PgBox::<pg_sys::IndexBuildResult>::alloc0();
    result.heap_tuples = heap_tuples;
    result.index_tuples = state.tuples;
    result.into_pg()
}

/// The empty in-memory graph for an index with `meta`: fixed-length vectors, or variable-length ones
/// (packed sparse vectors, up to the indexable number of entries).
fn new_graph(meta: &Meta) -> InMemoryGraph {
    let (m, efc, enc) = (
        meta.m as usize,
        meta.ef_construction as usize,
        meta.encoding(),
    );
    let params = HnswParams::new(m, efc, search_metric(meta.metric, enc), 0x5eed_1234)
        .levels(options::forced_level(m), page::max_level(m));
    match enc.values(meta.dims as usize) {
        Some(values) => InMemoryGraph::new(values, params),
        None => InMemoryGraph::new_variable(2 * page::MAX_SPARSE_NNZ, params),
    }
}

/// Makes room for more elements in the graph and the build state, reserved exactly and fallibly:
/// half the elements so far (at least 1024), cut to what maintenance_work_mem has left. False when
/// the budget is spent; ERROR 53200 when the process cannot allocate the step.
fn make_room(state: &mut BuildState) -> bool {
    let held = state.rows.bytes();
    let graph = state.graph.as_mut().expect("in-memory graph");
    let (values, m) = (graph.floats_per_element(), graph.params().m);
    let per = if graph.vectors_aside() {
        InMemoryGraph::bytes_per_element_aside(values, m)
    } else {
        InMemoryGraph::bytes_per_element(values, m)
    } + LoadedRows::BYTES_PER_ELEMENT;
    let used = graph.memory_bytes() + held;
    let left = state.memory_limit.saturating_sub(used);
    let step = (graph.len() / 2).max(1024).min(left / per);
    if step == 0 {
        return false;
    }
    // Besides the reservations, the small allocations until the next step (upper-layer lists, the
    // row's prepared vector, duplicates' TID lists) must find room: probe for a margin on top, so
    // the process refuses here — an ERROR — rather than in an allocation that would abort it.
    let margin = step
        .saturating_mul(LoadedRows::BYTES_PER_ELEMENT)
        .saturating_add(1 << 20);
    let refused = graph.try_reserve(step).is_err()
        || !state.rows.try_reserve(step)
        || Vec::<u8>::new().try_reserve_exact(margin).is_err();
    if refused {
        build_out_of_memory(state, step.saturating_mul(per), used);
    }
    true
}

/// ERROR 53200 for a build that could not get `bytes` more, holding `used`.
fn build_out_of_memory(state: &BuildState, bytes: usize, used: usize) -> ! {
    let mb = |b: usize| b.div_ceil(1 << 20);
    let len = state.graph.as_ref().map_or(0, |g| g.len());
    out_of_memory(
        format!(
            "Failed on request of about {} MB to grow the embedrank_hnsw build graph past {} tuples ({} MB held).",
            mb(bytes),
            len,
            mb(used)
        ),
        &format!(
            "maintenance_work_mem ({} MB) is more than this server process can allocate. Lower it: once the graph fills it, the build goes on with slower on-disk inserts.",
            mb(state.memory_limit)
        ),
    )
}

/// Before scanning: if the table's row estimate (from ANALYZE/VACUUM) says the graph will not fit in
/// maintenance_work_mem, say so up front with the setting that would fit, instead of only when the
/// budget runs out minutes into the build.
unsafe fn warn_if_too_big(heap: pg_sys::Relation, state: &BuildState, m: usize) {
    let rows = (*(*heap).rd_rel).reltuples;
    if rows <= 0.0 || state.encoding == page::Encoding::Sparse {
        return; // never analyzed, or sparse vectors of unknown length: no estimate
    }
    let values = state.encoding.values(state.dims).unwrap_or(0);
    let graph = state.graph.as_ref().expect("in-memory graph");
    // A graph that may set its vectors aside while loading needs memory for the copy instead.
    let per_element = if may_set_aside(state, graph, rows as usize) {
        InMemoryGraph::bytes_per_element_aside(values, m)
    } else {
        InMemoryGraph::bytes_per_element(values, m)
    };
    let per_row = per_element + LoadedRows::BYTES_PER_ELEMENT;
    let need = rows as f64 * per_row as f64;
    if need > state.memory_limit as f64 {
        let mb = |b: f64| (b / (1024.0 * 1024.0)).ceil() as u64;
        crate::errors::notice(
            format!(
                "embedrank_hnsw graph for about {} rows needs about {} MB, more than maintenance_work_mem ({} MB)",
                rows as u64,
                mb(need),
                mb(state.memory_limit as f64)
            ),
            "The build will fill maintenance_work_mem in memory, then continue with much slower on-disk inserts.",
            &format!(
                "SET maintenance_work_mem = '{}MB' before CREATE INDEX to build it entirely in memory.",
                mb(need * 1.1)
            ),
        );
    }
}

#[pg_guard]
unsafe extern "C-unwind" fn build_callback(
    index: pg_sys::Relation,
    tid: pg_sys::ItemPointer,
    values: *mut pg_sys::Datum,
    isnull: *mut bool,
    _alive: bool,
    state: *mut std::ffi::c_void,
) {
    let state = &mut *(state as *mut BuildState);
    if *isnull {
        return;
    }
    let raw = super::column::row_values(index, *values);
    if state
        .encoding
        .values(state.dims)
        .is_some_and(|n| raw.len() != n)
    {
        raise(
            Code::ERRCODE_DATA_EXCEPTION,
            format!("expected {} dimensions, not {}", state.dims, raw.len()),
            None,
        );
    }
    // A quantized index's unit vectors (cosine) stay float4 (not rounded to halves): the quantizer's
    // error bounds are relative to exactly them.
    let Some(v) = prepare(state.metric, state.prepare_as, &raw) else {
        return;
    };
    state.tuples += 1.0;
    if (state.tuples as u64).is_multiple_of(1024) {
        pg_sys::check_for_interrupts!();
        progress(pg_sys::PROGRESS_CREATEIDX_TUPLES_DONE, state.tuples as i64);
    }
    if state.on_disk {
        insert_vector(state.index, &v, *tid);
        return;
    }
    let hash = LoadedRows::hash(&v);
    if let Some(id) = stored_duplicate(state, hash, &v) {
        if state.rows.add(id, *tid).is_err() {
            build_out_of_memory(state, 64, state.rows.bytes());
        }
        return;
    }
    let graph = state.graph.as_ref().expect("in-memory graph");
    // Out of room for float4 rows: set the vectors aside (smaller rows) and try again.
    if graph.len() >= graph.capacity()
        && !make_room(state)
        && !(set_aside_while_loading(state) && make_room(state))
    {
        go_on_disk(state, &v, *tid);
        return;
    }
    // The graph and the rows' arrays have room (make_room).
    let graph = state.graph.as_mut().expect("in-memory graph");
    let id = match state.aside.as_mut() {
        Some(file) => match file
            .has_room_for(v.len())
            .then(|| graph.push_aside(&v, file))
        {
            Some(Some(id)) => id,
            // No room left in temp_file_limit, or beyond the copy's range: the graph takes no
            // more rows.
            _ => {
                go_on_disk(state, &v, *tid);
                return;
            }
        },
        None => graph.push(&v),
    };
    state.rows.push(id, *tid, hash);
}

/// The stored element whose vector has the same bits as `v` (hash `hash`) and room for one more
/// heap TID, if any ([`LoadedRows::duplicate`]): its vector read from the graph, or from the
/// temporary file when the vectors are set aside.
unsafe fn stored_duplicate(state: &mut BuildState, hash: u32, v: &[f32]) -> Option<u32> {
    let graph = state.graph.as_ref().expect("in-memory graph");
    let mut stored = Vec::new();
    state.rows.duplicate(hash, |id| match state.aside.as_mut() {
        Some(file) => {
            stored.resize(v.len(), 0.0);
            file.read_at(id as usize, &mut stored);
            same_bits(&stored, v)
        }
        None => same_bits(graph.vector(id), v),
    })
}

/// The graph no longer takes rows (maintenance_work_mem is spent): say so, link and write what is
/// stored, and go on with on-disk inserts, from row `v` (heap TID `tid`) on.
unsafe fn go_on_disk(state: &mut BuildState, v: &[f32], tid: pg_sys::ItemPointerData) {
    let graph = state.graph.take().expect("graph");
    crate::errors::notice(
        format!(
            "embedrank_hnsw graph no longer fits into maintenance_work_mem after {} tuples",
            graph.len()
        ),
        "Building will take significantly more time.",
        "Increase maintenance_work_mem to speed up builds.",
    );
    finish_graph(state, graph);
    state.rows = LoadedRows::default();
    state.on_disk = true;
    insert_vector(state.index, v, tid);
}

/// Whether a graph of about `rows` elements may set its vectors aside: it is big enough for the
/// copy ([`HALF_COPY_MIN_ELEMENTS`]), its metric has half kernels, and temp_file_limit leaves room
/// for the float4 vectors.
fn may_set_aside(state: &BuildState, graph: &InMemoryGraph, rows: usize) -> bool {
    rows >= HALF_COPY_MIN_ELEMENTS
        && graph.half_copy_aside_bytes() > 0
        && TempVectors::fits_temp_file_limit(rows.saturating_mul(state.dims * 4))
}

/// While loading, once float4 rows no longer fit maintenance_work_mem: sets the vectors aside to a
/// temporary file, so the graph holds their half-precision copy instead (about half the bytes per
/// row at 384 dimensions) and links on it. True when it did.
fn set_aside_while_loading(state: &mut BuildState) -> bool {
    let graph = state.graph.as_ref().expect("in-memory graph");
    let rows = (state.expected_rows as usize).max(graph.len());
    if state.aside.is_some() || !may_set_aside(state, graph, rows) {
        return false;
    }
    let graph = state.graph.as_mut().expect("in-memory graph");
    let mut file = TempVectors::create();
    match graph.set_vectors_aside(&mut file) {
        Ok(true) => {
            state.aside = Some(file);
            true
        }
        Ok(false) => {
            file.close();
            false
        }
        Err(_) => {
            let (bytes, used) = (graph.vector_bytes(), graph.memory_bytes());
            build_out_of_memory(state, bytes, used)
        }
    }
}

/// Whether two vectors hold the same bits (float `==` would call −0 and +0 equal — distinct bit
/// strings when the slots are packed words — and NaN patterns unequal).
pub fn same_bits(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

/// Threads that link the graph: the leader's share plus `max_parallel_maintenance_workers`, as many
/// as the machine has cores at most; 1 (serial, deterministic) for small graphs.
fn link_threads(elements: usize) -> usize {
    if elements < PARALLEL_MIN_ELEMENTS {
        return 1;
    }
    let workers = unsafe { pg_sys::max_parallel_maintenance_workers }.max(0) as usize;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (1 + workers).min(cores)
}

/// Bytes of maintenance_work_mem the build does not hold, with the graph taken out of `state`.
fn budget_left(state: &BuildState, graph: &InMemoryGraph) -> usize {
    state
        .memory_limit
        .saturating_sub(graph.memory_bytes() + state.rows.bytes())
}

/// Links the stored elements of `graph` and writes it to the pages: the quantizer (if any) is
/// trained on the float4 vectors first (from the graph, or from the temporary file where they were
/// set aside), since linking may set them aside ([`link`]). Elements linking could not take (see
/// [`Linked`]) are inserted on disk after the pages are written.
unsafe fn finish_graph(state: &mut BuildState, mut graph: InMemoryGraph) {
    let quantizer = options::index_quantizer(state.index);
    let metric = search_metric(state.metric, state.encoding);
    let codec = match state.aside.as_mut() {
        Some(file) => {
            file.rewind();
            let mut row = vec![0.0f32; graph.dims()];
            // Read only when there is a quantizer to train (`for_build_rows` returns first else).
            let rows = (0..graph.len()).map(|_| {
                file.read(&mut row);
                row.clone()
            });
            Codec::for_build_rows(state.encoding, quantizer, metric, rows, graph.dims())
        }
        None => Codec::for_build(state.encoding, quantizer, metric, &graph),
    };
    let left = budget_left(state, &graph);
    let mut spill = state.aside.take();
    if let Some(file) = spill.as_mut() {
        // Set aside while loading: copied around the mean of the rows stored by then.
        graph.recenter_aside(file);
    }
    let linked = link(state, &mut graph, left, spill);
    let mut aside = linked.aside;
    write_graph(state, &graph, &codec, aside.as_mut());
    // What linking could not take: on-disk inserts, their vectors next in the file.
    if let Some(file) = aside.as_mut() {
        let (first, dims) = (graph.len(), graph.dims());
        drop(graph);
        let mut v = vec![0.0f32; dims];
        for id in first..first + linked.left_over {
            file.read(&mut v);
            for &tid in state.rows.tids(id as u32) {
                insert_vector(state.index, &v, tid);
            }
        }
    }
    if let Some(file) = aside {
        file.close();
    }
}

/// What [`link`] leaves: the temporary file holding the float4 vectors when they were set aside,
/// and how many elements after the linked ones it could not link (the copy stepped aside, and the
/// vectors did not fit maintenance_work_mem to finish on them): their vectors follow the linked
/// elements' in the file.
struct Linked {
    aside: Option<TempVectors>,
    left_over: usize,
}

/// Links the stored elements into the graph (on several threads for a big graph). Threads run only
/// the core crate's Rust code, start with every signal blocked and never call Postgres; this thread
/// reports progress and takes interrupts meanwhile (an ERROR stops the threads first).
///
/// A graph of at least [`HALF_COPY_MIN_ELEMENTS`] elements is linked on a half-precision copy of
/// its vectors (half the memory traffic; see the core crate's `half_copy`): beside the float4
/// vectors when `budget_left` bytes hold it; else, when the copy fits in place of the vectors, with
/// the vectors set aside to a temporary file (core crate `aside`, [`TempVectors`]), which is
/// returned for the pages to be written from (`aside`: set aside while loading already). The copy
/// is freed before the pages are written; without room for it, or when the allocator refuses it,
/// linking reads the float4 vectors.
fn link(
    state: &BuildState,
    graph: &mut InMemoryGraph,
    budget_left: usize,
    aside: Option<TempVectors>,
) -> Linked {
    let total = graph.pending();
    let big = graph.len() >= HALF_COPY_MIN_ELEMENTS;
    let (beside, instead) = (graph.half_copy_bytes(), graph.half_copy_aside_bytes());
    let mut spill = aside;
    let mut left_over = 0;
    // A refused allocation only means linking without the copy.
    let made = if spill.is_some() {
        true
    } else if big && beside > 0 && beside <= budget_left {
        graph
            .make_half_copy(&mut || {
                pg_sys::check_for_interrupts!();
            })
            .unwrap_or(false)
    } else if big
        && instead > 0
        && instead <= budget_left + graph.vector_bytes()
        && TempVectors::fits_temp_file_limit(graph.vector_bytes())
    {
        let mut file = TempVectors::create();
        match graph.set_vectors_aside(&mut file) {
            Ok(true) => spill = Some(file),
            Ok(false) => file.close(),
            Err(_) => build_out_of_memory(state, graph.vector_bytes(), graph.memory_bytes()),
        }
        spill.is_some()
    } else {
        false
    };
    let set_aside = spill.is_some();
    progress(pg_sys::PROGRESS_CREATEIDX_SUBPHASE, PHASE_LINK);
    progress(pg_sys::PROGRESS_CREATEIDX_TUPLES_TOTAL, total as i64);
    progress(pg_sys::PROGRESS_CREATEIDX_TUPLES_DONE, 0);
    loop {
        let before = total - graph.pending();
        graph.link_pending(
            link_threads(graph.pending()),
            &|spawn| embedrank_infer::signals::with_signals_blocked(spawn),
            &mut |done| {
                progress(
                    pg_sys::PROGRESS_CREATEIDX_TUPLES_DONE,
                    (before + done) as i64,
                );
                pg_sys::check_for_interrupts!();
            },
        );
        if graph.pending() == 0 {
            break;
        }
        // Paused: the copy's check switched it off while the vectors were set aside. Read them
        // back if maintenance_work_mem has room once the copy is freed, and link the rest on
        // them; else stop here (the rest go in by on-disk inserts).
        graph.drop_half_copy();
        let need = graph.len() * graph.dims() * 4;
        if need
            > state
                .memory_limit
                .saturating_sub(graph.memory_bytes() + state.rows.bytes())
        {
            left_over = graph.truncate_pending();
            break;
        }
        let mut file = spill
            .take()
            .expect("linking pauses only with the vectors set aside");
        if graph.restore_vectors(&mut file).is_err() {
            build_out_of_memory(state, need, graph.memory_bytes());
        }
        file.close();
    }
    if made {
        let kept = if graph.searches_half_copy() {
            "to the end"
        } else {
            "until its error check switched it off"
        };
        let linked = total - left_over;
        let place = if set_aside {
            " (the float4 vectors set aside to a temporary file)"
        } else {
            ""
        };
        debug1!("embedrank_hnsw: linked {linked} elements on a half-precision copy of the vectors{place}, {kept}");
    }
    if left_over > 0 {
        crate::errors::notice(
            format!("embedrank_hnsw linked {} of {total} elements in memory: the half-precision copy of the vectors was too coarse for this data", total - left_over),
            "The other elements are added with much slower on-disk inserts: their float4 vectors do not fit maintenance_work_mem.",
            "Increase maintenance_work_mem to speed up builds.",
        );
    }
    graph.drop_half_copy();
    Linked {
        aside: spill,
        left_over,
    }
}

/// Fills pages in order: where the next item goes.
struct Packer {
    block: u32,
    used: usize,
    next_off: u16,
}

impl Packer {
    /// Start a new page unless `need` more bytes fit the current one (or it is empty).
    fn reserve(&mut self, need: usize) {
        if self.used + need > page::PAGE_USABLE && self.next_off > 1 {
            self.block += 1;
            self.used = 0;
            self.next_off = 1;
        }
    }

    /// Place an item of `size` bytes (on a new page if it does not fit the current one).
    fn place(&mut self, size: usize) -> Node {
        let need = page::item_footprint(size);
        self.reserve(need);
        self.used += need;
        self.next_off += 1;
        page::node(self.block, self.next_off - 1)
    }
}

/// Values of element `id`'s vector (known without it while the vectors are set aside: only
/// fixed-length vectors are).
fn values_of(graph: &InMemoryGraph, id: u32) -> usize {
    if graph.vectors_aside() {
        graph.dims()
    } else {
        graph.vector(id).len()
    }
}

/// Where each element and its neighbour list go: (element, neighbour item). A pair that fits one page
/// stays together; a larger one is placed item by item (the list may land on the next page).
fn layout(graph: &InMemoryGraph, enc: page::Encoding, m: usize) -> Vec<(Node, Node)> {
    let mut out = Vec::new();
    reserve_exact(
        &mut out,
        graph.len(),
        "the embedrank_hnsw page layout",
        "Lower maintenance_work_mem: the graph and its layout must fit this server process together.",
    );
    let mut packer = Packer {
        block: 1,
        used: 0,
        next_off: 1,
    };
    for id in 0..graph.len() as u32 {
        let (level, values) = (graph.level(id), values_of(graph, id));
        if page::pair_fits_one_page(values, enc, m, level) {
            packer.reserve(page::pair_footprint(values, enc, m, level));
        }
        let element = packer.place(page::element_size(values, enc));
        let neighbors = packer.place(page::neighbors_size(m, level));
        out.push((element, neighbors));
    }
    out
}

/// Write the in-memory graph after the meta page: one full-page WAL record per page, meta last. The
/// vectors come from the graph, or from `aside` (read in id order) when the build set them aside.
unsafe fn write_graph(
    state: &BuildState,
    graph: &InMemoryGraph,
    codec: &Codec,
    mut aside: Option<&mut TempVectors>,
) {
    progress(pg_sys::PROGRESS_CREATEIDX_SUBPHASE, PHASE_WRITE);
    let index = state.index;
    let mut meta = read_meta(index);
    let m = meta.m as usize;
    untrained_quantizer(index, codec, meta.dims as usize);
    let mut from_file = vec![0.0f32; if aside.is_some() { graph.dims() } else { 0 }];
    if let Some(file) = aside.as_mut() {
        file.rewind();
    }
    let places = layout(graph, codec.enc, m);
    // Items in page order: element 0, its list, element 1, its list, ...
    let item_at = |at: usize| {
        let (e, nb) = places[at / 2];
        let is_element = at.is_multiple_of(2);
        (if is_element { e } else { nb }, (at / 2) as u32, is_element)
    };
    let total = 2 * places.len();
    let mut at = 0usize;
    let mut lists: Vec<Vec<Node>> = Vec::new();
    while at < total {
        let block = page::node_block(item_at(at).0);
        let buf = ExclusiveBuffer::extend(index, pg_sys::ForkNumber::MAIN_FORKNUM);
        assert_eq!(buf.block(), block, "index grew during build");
        let mut wal = WalWrite::start(index);
        let p = wal.page(buf, true);
        page::init_page(p, page::KIND_DATA);
        while at < total && page::node_block(item_at(at).0) == block {
            let (place, id, is_element) = item_at(at);
            let level = graph.level(id);
            let item = if is_element {
                // Elements come in id order: the file is read straight through.
                let v = match aside.as_mut() {
                    Some(file) => {
                        file.read(&mut from_file);
                        &from_file[..]
                    }
                    None => graph.vector(id),
                };
                let payload = codec.payload(v);
                meta.max_error = meta.max_error.max(codec.error(&payload));
                page::make_element(
                    level,
                    state.rows.tids(id),
                    places[id as usize].1,
                    v.len(),
                    &payload,
                    codec.enc,
                )
            } else {
                lists.clear();
                lists.extend((0..=level).map(|l| {
                    graph
                        .neighbors_at(id, l)
                        .iter()
                        .map(|&x| places[x as usize].0)
                        .collect()
                }));
                page::make_neighbors(m, level, &lists)
            };
            let off = write::add_item(p, &item);
            assert_eq!(off, page::node_offset(place), "index page layout mismatch");
            at += 1;
        }
        wal.commit();
        if block.is_multiple_of(64) {
            pg_sys::check_for_interrupts!();
        }
        meta.insert_block = block;
    }
    if let Some((ep, level)) = graph.entry_point() {
        meta.entry = places[ep as usize].0;
        meta.entry_level = level as i32;
    }
    meta.encoding = codec.enc as u32;
    meta.quant_block = codec.write_pages(index);
    write::write_meta(index, &meta);
}

/// A `quantizer` option the build could not train (no rows): say so, and refuse when the column's
/// own form cannot hold its dimensions.
unsafe fn untrained_quantizer(index: pg_sys::Relation, codec: &Codec, dims: usize) {
    if options::index_quantizer(index).is_none() || codec.enc.is_quantized() {
        return;
    }
    if dims > codec.enc.max_dims() {
        raise(
            Code::ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
            format!(
                "cannot build a quantized embedrank_hnsw index of {dims} dimensions on an empty table"
            ),
            Some("The quantizer is trained on the rows present at CREATE INDEX: load rows first."),
        );
    }
    crate::errors::notice(
        format!(
            "embedrank_hnsw index \"{}\" stores full-precision vectors: its quantizer has no rows to train on",
            page::rel_name(index)
        ),
        "The quantizer is trained on the rows present at CREATE INDEX.",
        "REINDEX the index once the table holds representative rows.",
    );
}

#[pg_guard]
pub unsafe extern "C-unwind" fn ambuildempty(index: pg_sys::Relation) {
    let meta = empty_meta(index);
    create_meta(index, pg_sys::ForkNumber::INIT_FORKNUM, &meta);
}

#[pg_guard]
pub unsafe extern "C-unwind" fn ambuildphasename(phase: i64) -> *mut std::ffi::c_char {
    match phase {
        PHASE_LOAD => c"loading tuples".as_ptr() as *mut _,
        PHASE_WRITE => c"writing graph".as_ptr() as *mut _,
        PHASE_LINK => c"linking graph".as_ptr() as *mut _,
        _ => std::ptr::null_mut(),
    }
}
