//! HNSW benchmark: build 20k x 128 clustered vectors (m = 16,
//! ef_construction = 64), then queries/s and recall@10 at ef 10/40/160
//! against brute force, with the speedup ratio. Criterion additionally
//! times single queries at each ef.
//!
//! A second case builds 20k x 384 clustered vectors (the shape of the
//! `CREATE INDEX` workload) and prints build inserts/s and recall@10 at
//! ef 40; set `HNSW_BENCH_BUILD_ONLY=1` to run only that case.
//!
//! Run: `cargo bench -p embedrank-core --bench hnsw -- --quick`.

use criterion::{black_box, BenchmarkId, Criterion};
use embedrank_core::distance::Metric;
use embedrank_core::hnsw::{Candidate, HnswParams, InMemoryGraph};
use embedrank_core::synth::{brute_force, clustered, recall};
use std::time::{Duration, Instant};

const N: usize = 20_000;
const DIMS: usize = 128;
const QUERIES: usize = 500;
const K: usize = 10;
const EFS: [usize; 3] = [10, 40, 160];

/// Build an m=16, ef_construction=64 graph over `data` (rows of `dims`), timing the inserts.
fn build(data: &[f32], dims: usize, metric: Metric) -> (InMemoryGraph, Duration) {
    let params = HnswParams::new(16, 64, metric, 1);
    let t = Instant::now();
    let mut g = InMemoryGraph::new(dims, params);
    for v in data.chunks_exact(dims) {
        g.insert(v);
    }
    (g, t.elapsed())
}

/// Build throughput on 384-dim vectors (the m=16, ef_construction=64 L2
/// build that `CREATE INDEX` runs), with recall@10 at ef 40: serially, then linked on
/// `HNSW_BENCH_THREADS` threads (default 2) in the same run, with the speed-up.
fn build_384() {
    const N: usize = 20_000;
    const DIMS: usize = 384;
    const QUERIES: usize = 200;
    let metric = Metric::L2;
    let all = clustered(N + QUERIES, DIMS, 100, 0.15, 384);
    let (data, queries) = all.split_at(N * DIMS);
    let recall_at_40 = |g: &InMemoryGraph| {
        let mut total = 0.0;
        for q in queries.chunks_exact(DIMS) {
            let truth = brute_force(data, DIMS, q, K, metric);
            total += recall(&g.search(q, K, 40), &truth);
        }
        total / QUERIES as f64
    };
    println!("\n== hnsw build: {N} x {DIMS} clustered, m=16, ef_construction=64, L2 ==");
    let (g, serial) = build(data, DIMS, metric);
    println!(
        "serial build: {:.2} s ({:.0} inserts/s), recall@10 at ef 40: {:.4}",
        serial.as_secs_f64(),
        N as f64 / serial.as_secs_f64(),
        recall_at_40(&g)
    );
    drop(g);
    let threads: usize = std::env::var("HNSW_BENCH_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(2);
    let t = Instant::now();
    let mut g = InMemoryGraph::new(DIMS, HnswParams::new(16, 64, metric, 1));
    for v in data.chunks_exact(DIMS) {
        g.push(v);
    }
    g.link_pending(threads, &|spawn| spawn(), &mut |_| {});
    let parallel = t.elapsed();
    println!(
        "{threads}-thread build: {:.2} s ({:.0} inserts/s), recall@10 at ef 40: {:.4}; speed-up {:.2}x",
        parallel.as_secs_f64(),
        N as f64 / parallel.as_secs_f64(),
        recall_at_40(&g),
        serial.as_secs_f64() / parallel.as_secs_f64()
    );
}

fn main() {
    build_384();
    if std::env::var_os("HNSW_BENCH_BUILD_ONLY").is_some() {
        return;
    }
    let metric = Metric::L2;
    let all = clustered(N + QUERIES, DIMS, 100, 0.15, 2024);
    let (data, queries) = all.split_at(N * DIMS);
    let (g, build) = build(data, DIMS, metric);

    let t = Instant::now();
    let truth: Vec<Vec<Candidate<u32>>> = queries
        .chunks_exact(DIMS)
        .map(|q| brute_force(data, DIMS, q, K, metric))
        .collect();
    let brute_qps = QUERIES as f64 / t.elapsed().as_secs_f64();

    println!("\n== hnsw summary: {N} x {DIMS} clustered, m=16, ef_construction=64, L2 ==");
    println!(
        "build: {:.2} s ({:.0} inserts/s), memory ~{:.1} MiB",
        build.as_secs_f64(),
        N as f64 / build.as_secs_f64(),
        g.memory_bytes() as f64 / (1 << 20) as f64
    );
    println!("brute force: {brute_qps:.0} queries/s");
    println!(
        "{:>5} {:>12} {:>10} {:>9}",
        "ef", "queries/s", "recall@10", "speedup"
    );
    for ef in EFS {
        let t = Instant::now();
        let mut total = 0.0;
        for (q, truth) in queries.chunks_exact(DIMS).zip(&truth) {
            total += recall(&g.search(q, K, ef), truth);
        }
        let qps = QUERIES as f64 / t.elapsed().as_secs_f64();
        println!(
            "{ef:>5} {qps:>12.0} {:>10.3} {:>8.1}x",
            total / QUERIES as f64,
            qps / brute_qps
        );
    }

    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(20)
        .configure_from_args();
    let mut group = c.benchmark_group("hnsw_search_20k_128");
    for ef in EFS {
        let mut i = 0;
        group.bench_with_input(BenchmarkId::new("ef", ef), &ef, |b, &ef| {
            b.iter(|| {
                i = (i + 1) % QUERIES;
                black_box(g.search(&queries[i * DIMS..(i + 1) * DIMS], K, ef))
            })
        });
    }
    group.bench_function("brute_force", |b| {
        b.iter(|| black_box(brute_force(data, DIMS, &queries[..DIMS], K, metric)))
    });
    group.finish();
    c.final_summary();
}
