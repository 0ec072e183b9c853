//! # embedrank-core
//!
//! The Postgres-free cores of `pg_embedrank`. Nothing in this crate knows about
//! pgrx, pages or memory contexts; the extension crate wraps these pieces in
//! SQL types, operators and an index access method. Everything here is plain
//! `std` Rust and is unit-tested and benchmarked with ordinary `cargo`.
//!
//! ## Modules
//!
//! * [`distance`] — the hot distance kernels (`l2`, squared `l2`, inner
//!   product, `l1`, cosine, norm) and the [`distance::Metric`] an index is
//!   built for. Kernels are written so that rustc auto-vectorises them (many
//!   independent lane accumulators over fixed-size chunks); an AVX2+FMA copy of
//!   each kernel is selected once at runtime with `is_x86_feature_detected!`.
//!   The `distance::naive` module holds the obvious one-accumulator loops as a
//!   baseline for tests and benchmarks.
//! * [`text`] — the pgvector text format (`[1,2.5,-3e-07]`): a strict parser
//!   with precise error kinds and a formatter that prints the shortest string
//!   that round-trips every `f32` bit-exactly.
//! * [`hnsw`] — the HNSW graph algorithm (Malkov & Yashunin) behind a small
//!   storage seam: [`hnsw::GraphView`] (read) and [`hnsw::GraphStore`]
//!   (write). Layer search, full search, the neighbour selection heuristic,
//!   level sampling, a resumable [`hnsw::IterativeScan`] for filtered
//!   queries, and one insert / neighbour-repair algorithm,
//!   [`hnsw::Inserter`]. The in-memory graph [`hnsw::InMemoryGraph`] (used
//!   by `CREATE INDEX`) runs it over vectors in memory; the extension runs
//!   the same code over its index pages for inserts and VACUUM's repair.
//! * [`quantize`] — compact codes (8-bit scalar, 1-bit sign) for traversing
//!   the graph, and a search that re-ranks its candidates exactly: the
//!   measurement that chooses the index's compressed format.
//! * [`bm25`] — BM25 ranking: the formula (Lucene's), posting lists in blocks with score bounds,
//!   and a block-max WAND top-k search behind a cursor seam (the lexical index's search).
//! * [`synth`] — deterministic clustered test data and a brute-force k-NN
//!   oracle, shared by the tests and benchmarks.

pub mod bm25;
pub mod distance;
pub mod halfvec;
pub mod hnsw;
pub mod quantize;
pub mod sparsevec;
pub mod synth;
pub mod text;
