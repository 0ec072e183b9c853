//! Traversal on compact codes with exact re-ranking, against full precision, on one in-memory graph:
//! recall@10 per ef_search for float4, 8-bit and 4-bit scalar (Sq8), RaBitQ and 1-bit sign (Binary)
//! codes, with the bytes per vector each traversal reads. The measurement behind the index's
//! compressed format (issue 9 §2).
//!
//! Data: 20k × 384 clustered vectors (L2), and the same set normalised (cosine as inner product on
//! unit vectors, as a cosine index stores it); 200 queries each. With `QUANTIZE_SETS=DIR`, also the
//! real bge-small embeddings `bench/export_embeddings.py DIR` wrote (WordNet glosses, DL19 passages
//! and queries), cosine.
//! Run: `cargo bench -p embedrank-core --bench quantize`. In-memory queries/s are not shown: the
//! code kernels are plain loops, and what codes buy an index is page density, not in-memory speed.

use embedrank_core::distance::Metric;
use embedrank_core::hnsw::{Candidate, HnswParams, InMemoryGraph};
use embedrank_core::quantize::{encode_graph, search_with_codes, Binary, Quantizer, RaBitQ, Sq8};
use embedrank_core::synth::{brute_force, clustered, recall};

const DIMS: usize = 384;
const EFS: [usize; 5] = [10, 20, 40, 80, 160];

fn run(name: &str, data: &[f32], queries: &[f32], metric: Metric) {
    let (n, nq) = (data.len() / DIMS, queries.len() / DIMS);
    let mut g = InMemoryGraph::new(DIMS, HnswParams::new(16, 64, metric, 1));
    for v in data.chunks_exact(DIMS) {
        g.push(v);
    }
    g.link_pending(2, &|spawn| spawn(), &mut |_| {});
    let truth: Vec<_> = queries
        .chunks_exact(DIMS)
        .map(|q| brute_force(data, DIMS, q, 10, metric))
        .collect();
    let sq8 = Sq8::train(data, DIMS, metric);
    let sq4 = Sq8::train_bits(data, DIMS, metric, 4);
    let rabitq = RaBitQ::train(data, DIMS, metric, 11);
    let binary = Binary::new(DIMS);
    let codes = (
        encode_graph(&g, &sq8),
        encode_graph(&g, &sq4),
        encode_graph(&g, &rabitq),
        encode_graph(&g, &binary),
    );
    println!("\n== {name}: {n} x {DIMS}, m=16, ef_construction=64, {nq} queries ==");
    println!(
        "bytes per vector: float4 {}, sq8 {}, sq4 {}, rabitq {}, binary {}",
        4 * DIMS,
        sq8.code_len(),
        sq4.code_len(),
        rabitq.code_len(),
        binary.code_len()
    );
    println!("| ef | float4 | sq8 | sq4 | rabitq | binary |");
    println!("|---|---|---|---|---|---|");
    for ef in EFS {
        let score = |f: &dyn Fn(&[f32]) -> Vec<Candidate<u32>>| {
            let r: f64 = queries
                .chunks_exact(DIMS)
                .zip(&truth)
                .map(|(q, t)| recall(&f(q), t))
                .sum();
            r / nq as f64
        };
        let r0 = score(&|q| g.search(q, 10, ef));
        let r1 = score(&|q| search_with_codes(&g, &codes.0, &sq8, metric, q, 10, ef));
        let r2 = score(&|q| search_with_codes(&g, &codes.1, &sq4, metric, q, 10, ef));
        let r3 = score(&|q| search_with_codes(&g, &codes.2, &rabitq, metric, q, 10, ef));
        let r4 = score(&|q| search_with_codes(&g, &codes.3, &binary, metric, q, 10, ef));
        println!("| {ef} | {r0:.3} | {r1:.3} | {r2:.3} | {r3:.3} | {r4:.3} |");
    }
}

fn unit(v: &[f32]) -> Vec<f32> {
    v.chunks_exact(DIMS)
        .flat_map(|v| {
            let n = v
                .iter()
                .map(|x| x * x)
                .sum::<f32>()
                .sqrt()
                .max(f32::MIN_POSITIVE);
            v.iter().map(move |x| x / n).collect::<Vec<_>>()
        })
        .collect()
}

fn read_f32(path: &str) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
        .collect()
}

fn main() {
    let (n, nq) = (20_000, 200);
    let all = clustered(n + nq, DIMS, 100, 0.15, 384);
    let (data, queries) = all.split_at(n * DIMS);
    run("clustered, L2", data, queries, Metric::L2);
    let normalised = unit(&all);
    let (data, queries) = normalised.split_at(n * DIMS);
    run(
        "clustered, unit vectors, inner product",
        data,
        queries,
        Metric::InnerProduct,
    );
    let Ok(dir) = std::env::var("QUANTIZE_SETS") else {
        println!("\n(real embeddings: set QUANTIZE_SETS to what bench/export_embeddings.py wrote)");
        return;
    };
    for set in ["dl19", "wordnet"] {
        let rows = format!("{dir}/{set}.rows.f32");
        if !std::path::Path::new(&rows).exists() {
            println!("\n{set}: {rows} missing (bench/export_embeddings.py {dir})");
            continue;
        }
        let data = unit(&read_f32(&rows));
        let queries = unit(&read_f32(&format!("{dir}/{set}.queries.f32")));
        run(
            &format!("{set}, bge-small-en-v1.5, cosine (unit vectors)"),
            &data,
            &queries,
            Metric::InnerProduct,
        );
    }
}
