//! Traversal on compact codes with exact re-ranking, against full precision, on one in-memory graph:
//! recall@10 and queries/s per ef_search for float4, 8-bit scalar (Sq8) and 1-bit sign (Binary)
//! codes, with the bytes per vector each traversal reads. The measurement behind the index's
//! compressed format (issue 9 §2).
//!
//! Data: 20k × 384 clustered vectors (L2), and the same set normalised (cosine as inner product
//! on unit vectors, as a cosine index stores it); 200 queries each.
//! Run: `cargo bench -p embedrank-core --bench quantize`.

use embedrank_core::distance::Metric;
use embedrank_core::hnsw::{HnswParams, InMemoryGraph};
use embedrank_core::quantize::{encode_graph, search_with_codes, Binary, Quantizer, Sq8};
use embedrank_core::synth::{brute_force, clustered, recall};
use std::time::Instant;

const N: usize = 20_000;
const DIMS: usize = 384;
const QUERIES: usize = 200;
const EFS: [usize; 5] = [10, 20, 40, 80, 160];

fn run(name: &str, data: &[f32], queries: &[f32], metric: Metric) {
    let mut g = InMemoryGraph::new(DIMS, HnswParams::new(16, 64, metric, 1));
    for v in data.chunks_exact(DIMS) {
        g.insert(v);
    }
    let truth: Vec<_> = queries
        .chunks_exact(DIMS)
        .map(|q| brute_force(data, DIMS, q, 10, metric))
        .collect();
    let sq8 = Sq8::train(data, DIMS, metric);
    let sq8_codes = encode_graph(&g, &sq8);
    let binary = Binary::new(DIMS);
    let binary_codes = encode_graph(&g, &binary);
    println!("\n== {name}: {N} x {DIMS}, m=16, ef_construction=64, {QUERIES} queries ==");
    println!(
        "codes: float4 {} B, sq8 {} B, binary {} B per vector",
        4 * DIMS,
        sq8.code_len(),
        binary.code_len()
    );
    println!(
        "| ef | recall float4 | recall sq8 | recall binary | q/s float4 | q/s sq8 | q/s binary |"
    );
    println!("|---|---|---|---|---|---|---|");
    for ef in EFS {
        let time = |f: &dyn Fn(&[f32]) -> Vec<embedrank_core::hnsw::Candidate<u32>>| {
            let t = Instant::now();
            let r: f64 = queries
                .chunks_exact(DIMS)
                .zip(&truth)
                .map(|(q, t)| recall(&f(q), t))
                .sum();
            (
                r / QUERIES as f64,
                QUERIES as f64 / t.elapsed().as_secs_f64(),
            )
        };
        let (r0, q0) = time(&|q| g.search(q, 10, ef));
        let (r1, q1) = time(&|q| search_with_codes(&g, &sq8_codes, &sq8, metric, q, 10, ef));
        let (r2, q2) = time(&|q| search_with_codes(&g, &binary_codes, &binary, metric, q, 10, ef));
        println!("| {ef} | {r0:.3} | {r1:.3} | {r2:.3} | {q0:.0} | {q1:.0} | {q2:.0} |");
    }
}

fn main() {
    let all = clustered(N + QUERIES, DIMS, 100, 0.15, 384);
    let (data, queries) = all.split_at(N * DIMS);
    run("clustered, L2", data, queries, Metric::L2);
    let unit: Vec<f32> = all
        .chunks_exact(DIMS)
        .flat_map(|v| {
            let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.iter().map(move |x| x / n).collect::<Vec<_>>()
        })
        .collect();
    let (data, queries) = unit.split_at(N * DIMS);
    run(
        "clustered, unit vectors, inner product",
        data,
        queries,
        Metric::InnerProduct,
    );
}
